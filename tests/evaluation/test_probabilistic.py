"""Probabilistic metrics against independent oracles: closed forms, hand tables, slow loops."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from forecastab.errors import ConfigError, DataError
from forecastab.evaluation.probabilistic import (
    GaussianForecast,
    SampleForecast,
    gaussian_crps,
    pit_values,
    probabilistic_metrics,
    sample_crps,
)


def per_step(forecast, targets, name, **kwargs):
    return probabilistic_metrics(forecast, targets, [name], **kwargs)[name].per_step


def test_sample_crps_matches_closed_form_gaussian_crps_with_20000_samples():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(4, 3, 1))
    std = rng.uniform(0.5, 2.0, size=(4, 3, 1))
    targets = mean + std * rng.normal(size=(4, 3, 1)) * 1.5
    samples = mean[:, None] + std[:, None] * rng.normal(size=(4, 20_000, 3, 1))
    ours = per_step(SampleForecast(samples), targets, "crps")
    closed = gaussian_crps(mean, std, targets).mean(axis=(0, 2))
    np.testing.assert_allclose(ours, closed, rtol=0.01)


def test_pairwise_term_is_unbiased_for_few_samples():
    # 5 draws per forecast, 40,000 forecasts of N(0, 1) at y = 0.3: the estimator's mean is the
    # closed form; the biased 1 / (2 m^2) version would be 0.11 too high
    rng = np.random.default_rng(1)
    samples = rng.normal(size=(40_000, 5, 1, 1))
    targets = np.full((40_000, 1, 1), 0.3)
    estimate = sample_crps(np.sort(samples, axis=1), targets).mean()
    closed = float(gaussian_crps(np.zeros(1), np.ones(1), np.full(1, 0.3))[0])
    assert estimate == pytest.approx(closed, rel=0.01)


def test_sorted_crps_equals_the_obvious_pairwise_loop():
    rng = np.random.default_rng(2)
    samples = rng.normal(size=(3, 7, 2, 1))
    targets = rng.normal(size=(3, 2, 1))
    fast = sample_crps(np.sort(samples, axis=1), targets)
    slow = np.zeros_like(targets)
    m = samples.shape[1]
    for n, h in itertools.product(range(3), range(2)):
        x, y = samples[n, :, h, 0], targets[n, h, 0]
        pairs = sum(abs(a - b) for i, a in enumerate(x) for j, b in enumerate(x) if i != j)
        slow[n, h, 0] = np.mean(np.abs(x - y)) - pairs / (2 * m * (m - 1))
    np.testing.assert_allclose(fast, slow)


def test_gaussian_crps_known_values():
    # CRPS of N(0, 1) at 0 is 2 phi(0) - 1/sqrt(pi) = (sqrt(2) - 1) / sqrt(pi)
    assert gaussian_crps(np.zeros(1), np.ones(1), np.zeros(1))[0] == pytest.approx(
        (np.sqrt(2) - 1) / np.sqrt(np.pi)
    )
    # scale equivariance and the zero-variance limit (absolute error)
    assert gaussian_crps(np.zeros(1), np.full(1, 3.0), np.full(1, 6.0))[0] == pytest.approx(
        3 * gaussian_crps(np.zeros(1), np.ones(1), np.full(1, 2.0))[0]
    )
    assert gaussian_crps(np.ones(1), np.zeros(1), np.full(1, 4.0))[0] == 3.0


# samples 0, 1, ..., 10 (numpy linear quantiles: q_tau = 10 tau)
ELEVEN = np.arange(11.0).reshape(1, 11, 1, 1)


@pytest.mark.parametrize(
    ("truth", "levels", "expected"),
    [
        # q_0.5 = 5: |y - 5| / 2
        (7.0, [0.5], 1.0),
        # q_0.1 = 1, q_0.9 = 9 at y = 0: 0.9 * 1 and 0.1 * 9 -> mean 0.9
        (0.0, [0.1, 0.9], 0.9),
        # y = 10: 0.1 * 9 and 0.9 * 1 -> mean 0.9
        (10.0, [0.1, 0.9], 0.9),
        # y = 2.5 between q_0.2 = 2 (0.2 * 0.5) and q_0.3 = 3 (0.7 * 0.5)
        (2.5, [0.2, 0.3], 0.225),
    ],
)
def test_quantile_loss_hand_table(truth, levels, expected):
    value = per_step(
        SampleForecast(ELEVEN), np.full((1, 1, 1), truth), "quantile_loss", quantiles=levels
    )
    assert value[0] == pytest.approx(expected)


# samples 0, 1, ..., 18: interval ends at the Weibull positions (S + 1) p = 20 p, so the 50%
# interval is [x_(5), x_(15)] = [4, 14] and the 90% one [x_(1), x_(19)] = [0, 18]
NINETEEN = np.arange(19.0).reshape(1, 19, 1, 1)


@pytest.mark.parametrize(
    ("truth", "coverage_50", "coverage_90", "width_90"),
    [
        (9.0, 1.0, 1.0, 18.0),
        (3.0, 0.0, 1.0, 18.0),
        (14.0, 1.0, 1.0, 18.0),  # an edge counts as inside
        (18.5, 0.0, 0.0, 18.0),
        (-0.5, 0.0, 0.0, 18.0),
    ],
)
def test_coverage_and_width_hand_table(truth, coverage_50, coverage_90, width_90):
    metrics = probabilistic_metrics(
        SampleForecast(NINETEEN),
        np.full((1, 1, 1), truth),
        ["coverage_50", "coverage_90", "interval_width_90"],
    )
    assert metrics["coverage_50"].per_step[0] == coverage_50
    assert metrics["coverage_90"].per_step[0] == coverage_90
    assert metrics["interval_width_90"].per_step[0] == pytest.approx(width_90)


@pytest.mark.parametrize("n_samples", [19, 100])
def test_a_calibrated_sampler_covers_the_nominal_level(n_samples):
    # truth and samples from the same N(0, 1): 20,000 outcomes, so the Monte Carlo standard
    # error of a 90% rate is 0.2 points. Linear interpolation (numpy's default) would cover
    # (S - 1) 0.9 / (S + 1): 80.0% at S = 19, 88.2% at S = 100.
    rng = np.random.default_rng(7)
    samples = rng.normal(size=(20_000, n_samples, 1, 1))
    truth = rng.normal(size=(20_000, 1, 1))
    metrics = probabilistic_metrics(SampleForecast(samples), truth, ["coverage_90", "coverage_50"])
    assert metrics["coverage_90"].per_step[0] == pytest.approx(0.90, abs=0.006)
    assert metrics["coverage_50"].per_step[0] == pytest.approx(0.50, abs=0.01)
    linear = np.quantile(samples[:, :, 0, 0], [0.05, 0.95], axis=1)  # (2, N)
    inside = (truth[:, 0, 0] >= linear[0]) & (truth[:, 0, 0] <= linear[1])
    assert inside.mean() == pytest.approx((n_samples - 1) * 0.9 / (n_samples + 1), abs=0.006)


def test_pit_is_uniform_for_a_calibrated_forecast_and_u_shaped_for_an_overconfident_one():
    rng = np.random.default_rng(8)
    truth = rng.normal(size=(4000, 2, 1))
    calibrated = pit_values(SampleForecast(rng.normal(size=(4000, 49, 2, 1))), truth)
    counts = np.histogram(calibrated, bins=5, range=(0, 1))[0] / calibrated.size
    np.testing.assert_allclose(counts, 0.2, atol=0.015)
    narrow = pit_values(SampleForecast(0.5 * rng.normal(size=(4000, 49, 2, 1))), truth)
    tails = np.mean((narrow < 0.1) | (narrow > 0.9))
    # N(0, 0.25) as the forecast of N(0, 1): P(|Z| > 1.2816 * 0.5) = 0.52
    assert tails == pytest.approx(2 * (1 - 0.7390), abs=0.02)
    # by hand: samples 0, 1, 2, 3 and truth 1 (one below, one tie): (1 + 1) / 5
    assert pit_values(
        SampleForecast(np.arange(4.0).reshape(1, 4, 1, 1)), np.ones((1, 1, 1))
    )[0, 0, 0] == pytest.approx(0.4)
    gaussian = pit_values(GaussianForecast(np.zeros((1, 1, 1)), np.ones((1, 1, 1))),
                          np.full((1, 1, 1), 1.6448536))  # fmt: skip
    assert gaussian[0, 0, 0] == pytest.approx(0.95, abs=1e-6)


def test_path_coverage_against_product_of_per_step_coverages():
    # 4 origins, 3 steps; band [0.5, 9.5] at every step; inside (1) / outside (0):
    # origin 0: 1 1 1 ; origin 1: 0 1 1 ; origin 2: 1 0 1 ; origin 3: 1 1 0
    inside, outside = 5.0, 20.0
    truth = np.array(
        [
            [inside, inside, inside],
            [outside, inside, inside],
            [inside, outside, inside],
            [inside, inside, outside],
        ]
    )[..., None]  # (4, 3, 1)
    samples = np.broadcast_to(ELEVEN.reshape(1, 11, 1, 1), (4, 11, 3, 1))
    metrics = probabilistic_metrics(
        SampleForecast(samples), truth, ["coverage_90", "path_coverage_90", "coverage_product_90"]
    )
    np.testing.assert_allclose(metrics["coverage_90"].per_step, [0.75, 0.75, 0.75])
    # whole path 1..h inside: h=1 origins 0,2,3; h=2 origins 0,3; h=3 origin 0
    np.testing.assert_allclose(metrics["path_coverage_90"].per_step, [0.75, 0.5, 0.25])
    np.testing.assert_allclose(metrics["coverage_product_90"].per_step, [0.75, 0.75**2, 0.75**3])


def test_gaussian_forecast_metrics_use_its_quantiles():
    forecast = GaussianForecast(np.zeros((2, 1, 1)), np.ones((2, 1, 1)))
    truth = np.array([1.6, 1.7]).reshape(2, 1, 1)  # the 95% quantile is 1.6449
    metrics = probabilistic_metrics(forecast, truth, ["coverage_90", "interval_width_90"])
    assert metrics["coverage_90"].per_step[0] == 0.5
    assert metrics["interval_width_90"].per_step[0] == pytest.approx(2 * 1.6448536, rel=1e-6)


def test_many_origins_are_chunked_without_changing_the_result():
    # 600 origins span three chunks; the oracle is the definition, E|X - y| minus the unbiased
    # pairwise term, by broadcasting over all pairs (no sorting, no chunks)
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(600, 9, 2, 1))
    targets = rng.normal(size=(600, 2, 1))
    spread = np.abs(samples - targets[:, None]).mean(axis=1)  # (N, H, C)
    pairs = np.abs(samples[:, :, None] - samples[:, None, :]).sum(axis=(1, 2))  # (N, H, C)
    expected = (spread - pairs / (2 * 9 * 8)).mean(axis=(0, 2))
    np.testing.assert_allclose(per_step(SampleForecast(samples), targets, "crps"), expected)


def test_bad_input_is_a_one_line_error():
    with pytest.raises(ConfigError, match="unknown probabilistic metric 'crsp'"):
        probabilistic_metrics(SampleForecast(ELEVEN), np.zeros((1, 1, 1)), ["crsp"])
    with pytest.raises(ConfigError, match=r"quantile levels must be a non-empty list in \(0, 1\)"):
        probabilistic_metrics(
            SampleForecast(ELEVEN), np.zeros((1, 1, 1)), ["quantile_loss"], quantiles=[0.5, 1.0]
        )
    with pytest.raises(DataError, match="does not match targets"):
        probabilistic_metrics(SampleForecast(ELEVEN), np.zeros((2, 1, 1)), ["crps"])
