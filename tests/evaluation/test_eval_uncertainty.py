"""Bootstrap over origins and spread over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecastab.errors import ConfigError
from forecastab.evaluation import bootstrap_interval, seed_spread
from forecastab.evaluation.metrics import MetricValues


def test_bootstrap_width_matches_the_standard_error_of_the_mean():
    rng = np.random.default_rng(0)
    values = MetricValues(rng.normal(5.0, 1.0, size=(400, 3)))  # (N, H)
    lower, upper = bootstrap_interval(
        values, n_bootstrap=2000, confidence=0.95, seed=0, method="iid"
    )
    expected_width = 2 * 1.96 * 1.0 / np.sqrt(400)
    np.testing.assert_allclose(upper - lower, expected_width, rtol=0.15)
    assert np.all(lower < values.per_step) and np.all(values.per_step < upper)


def test_bootstrap_equals_a_slow_resampling_loop_over_the_same_draws():
    rng = np.random.default_rng(1)
    values = MetricValues(rng.exponential(size=(30, 4)), root=True)  # squared errors, RMSE
    lower, upper = bootstrap_interval(
        values, n_bootstrap=50, confidence=0.8, seed=7, method="iid"
    )
    draws = np.random.default_rng(7).integers(0, 30, size=(50, 30))
    resampled = [np.sqrt(values.per_origin[draw].mean(axis=0)) for draw in draws]  # (B, H)
    np.testing.assert_allclose(lower, np.quantile(resampled, 0.1, axis=0))
    np.testing.assert_allclose(upper, np.quantile(resampled, 0.9, axis=0))


@pytest.mark.parametrize("method", ["moving", "circular"])
def test_block_bootstrap_equals_a_slow_loop_over_blocks(method):
    rng = np.random.default_rng(3)
    values = MetricValues(rng.exponential(size=(23, 2)))  # (N, H)
    lower, upper = bootstrap_interval(
        values, n_bootstrap=40, confidence=0.8, seed=5, method=method, block_length=5
    )
    draw = np.random.default_rng(5)
    n_blocks = 5  # ceil(23 / 5)
    high = 23 - 5 + 1 if method == "moving" else 23
    starts = draw.integers(0, high, size=(40, n_blocks))
    resampled = []
    for row in starts:
        picked: list[int] = []
        for start in row:
            picked += [(start + k) % 23 for k in range(5)]
        resampled.append(values.per_origin[picked[:23]].mean(axis=0))  # (H,)
    np.testing.assert_allclose(lower, np.quantile(resampled, 0.1, axis=0))
    np.testing.assert_allclose(upper, np.quantile(resampled, 0.9, axis=0))


def test_block_bands_are_wider_than_iid_bands_on_overlapping_windows():
    # Errors of overlapping windows: a moving sum of H shocks, so neighbours share H-1 shocks.
    rng = np.random.default_rng(4)
    horizon = 12
    shocks = rng.normal(size=3000 + horizon)
    errors = np.convolve(shocks, np.ones(horizon), mode="valid")[:3000]  # (N,)
    values = MetricValues(errors[:, None])  # signed errors: the band of their mean
    iid = np.subtract(*bootstrap_interval(values, n_bootstrap=500, method="iid")[::-1])
    block = np.subtract(*bootstrap_interval(values, n_bootstrap=500, block_length=48)[::-1])
    # the true standard error is sqrt(H) times the i.i.d. one (long-run variance H^2 vs H)
    assert block[0] / iid[0] == pytest.approx(np.sqrt(horizon), rel=0.3)


def test_constant_contributions_give_a_zero_width_interval():
    lower, upper = bootstrap_interval(MetricValues(np.full((10, 2), 4.0), root=True), n_bootstrap=9)
    assert lower.tolist() == upper.tolist() == [2.0, 2.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_bootstrap": 0}, "n_bootstrap must be a positive integer, got 0"),
        ({"n_bootstrap": 10, "confidence": 1.5}, "confidence must lie in (0, 1), got 1.5"),
        (
            {"n_bootstrap": 10, "method": "stationary"},
            "unknown bootstrap method 'stationary'; valid: circular, iid, moving",
        ),
        (
            {"n_bootstrap": 10, "block_length": 0},
            "block_length must be a positive integer or null, got 0",
        ),
    ],
)
def test_bad_bootstrap_arguments(kwargs, message):
    with pytest.raises(ConfigError) as raised:
        bootstrap_interval(MetricValues(np.ones((3, 1))), **kwargs)
    assert str(raised.value) == message


def test_seed_spread_summarises_each_curve_over_seeds():
    rows = []
    for seed, scale in [(0, 1.0), (1, 2.0), (2, 3.0)]:
        for step in (1, 2):
            rows.append(("d", "gru", "tf", seed, "free_running", step, "mae", scale * step))
    rows.append(("d", "naive", "baseline", 0, "free_running", 1, "mae", 7.0))
    table = pd.DataFrame(
        rows, columns=["dataset", "model", "strategy", "seed", "mode", "step", "metric", "value"]
    )
    spread = seed_spread(table).set_index(["model", "step"])
    assert spread.loc[("gru", 2), ["mean", "std", "min", "max", "n_seeds"]].tolist() == [
        4.0, 2.0, 2.0, 6.0, 3
    ]  # fmt: skip
    assert spread.loc[("naive", 1), "mean"] == 7.0
    assert np.isnan(spread.loc[("naive", 1), "std"])


def test_seed_spread_rejects_a_table_without_the_tidy_columns():
    with pytest.raises(ConfigError, match=r"missing columns \['seed'\]"):
        seed_spread(
            pd.DataFrame(
                columns=["dataset", "model", "strategy", "mode", "step", "metric", "value"]
            )
        )


def test_block_band_covers_the_mean_of_ar1_errors_where_iid_does_not():
    # A fast version of experiments/benchmarks/bootstrap_coverage.py (500 simulations there):
    # AR(1) errors with phi 0.8 around a known mean; nominal 95%.
    rng = np.random.default_rng(0)
    phi, n, simulations = 0.8, 600, 80
    hits = {"moving": 0, "iid": 0}
    for simulation in range(simulations):
        shocks = rng.normal(size=n)
        errors = np.empty(n)
        errors[0] = shocks[0] / np.sqrt(1 - phi**2)
        for t in range(1, n):
            errors[t] = phi * errors[t - 1] + shocks[t]
        values = MetricValues(errors[:, None])  # true mean 0
        for method in hits:
            lower, upper = bootstrap_interval(
                values, n_bootstrap=300, seed=simulation, method=method, block_length=24
            )
            hits[method] += bool(lower[0] <= 0.0 <= upper[0])
    assert hits["moving"] / simulations >= 0.82
    assert hits["iid"] / simulations <= 0.65
