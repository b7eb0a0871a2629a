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


@pytest.mark.parametrize(
    ("truth", "coverage_50", "coverage_90", "width_90"),
    [
        (5.0, 1.0, 1.0, 9.0),  # 50%: [2.5, 7.5], 90%: [0.5, 9.5]
        (2.0, 0.0, 1.0, 9.0),
        (7.5, 1.0, 1.0, 9.0),  # an edge counts as inside
        (9.7, 0.0, 0.0, 9.0),
        (0.2, 0.0, 0.0, 9.0),
    ],
)
def test_coverage_and_width_hand_table(truth, coverage_50, coverage_90, width_90):
    metrics = probabilistic_metrics(
        SampleForecast(ELEVEN),
        np.full((1, 1, 1), truth),
        ["coverage_50", "coverage_90", "interval_width_90"],
    )
    assert metrics["coverage_50"].per_step[0] == coverage_50
    assert metrics["coverage_90"].per_step[0] == coverage_90
    assert metrics["interval_width_90"].per_step[0] == pytest.approx(width_90)


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
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(600, 9, 2, 1))
    targets = rng.normal(size=(600, 2, 1))
    whole = sample_crps(np.sort(samples, axis=1), targets).mean(axis=(0, 2))
    np.testing.assert_allclose(per_step(SampleForecast(samples), targets, "crps"), whole)


def test_bad_input_is_a_one_line_error():
    with pytest.raises(ConfigError, match="unknown probabilistic metric 'crsp'"):
        probabilistic_metrics(SampleForecast(ELEVEN), np.zeros((1, 1, 1)), ["crsp"])
    with pytest.raises(ConfigError, match=r"quantile levels must be a non-empty list in \(0, 1\)"):
        probabilistic_metrics(
            SampleForecast(ELEVEN), np.zeros((1, 1, 1)), ["quantile_loss"], quantiles=[0.5, 1.0]
        )
    with pytest.raises(DataError, match="does not match targets"):
        probabilistic_metrics(SampleForecast(ELEVEN), np.zeros((2, 1, 1)), ["crps"])
