"""Bootstrap over origins and spread over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecastab.errors import ConfigError
from forecastab.evaluation import bootstrap_interval, seed_spread
from forecastab.evaluation.metrics import MetricValues
from forecastab.evaluation.uncertainty import metric_band


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
        values, n_bootstrap=50, confidence=0.8, seed=7, method="iid", interval="percentile"
    )
    draws = np.random.default_rng(7).integers(0, 30, size=(50, 30))
    resampled = [np.sqrt(values.per_origin[draw].mean(axis=0)) for draw in draws]  # (B, H)
    np.testing.assert_allclose(lower, np.quantile(resampled, 0.1, axis=0))
    np.testing.assert_allclose(upper, np.quantile(resampled, 0.9, axis=0))


@pytest.mark.parametrize("method", ["moving", "circular"])
def test_block_bootstrap_equals_a_slow_loop_over_blocks(method):
    rng = np.random.default_rng(3)
    values = MetricValues(rng.exponential(size=(53, 2)))  # (N, H): 10 blocks of 5 fit
    lower, upper = bootstrap_interval(
        values, n_bootstrap=40, confidence=0.8, seed=5, method=method, block_length=5,
        interval="percentile",
    )
    draw = np.random.default_rng(5)
    n_blocks = 11  # ceil(53 / 5)
    high = 53 - 5 + 1 if method == "moving" else 53
    starts = draw.integers(0, high, size=(40, n_blocks))
    resampled = []
    for row in starts:
        picked: list[int] = []
        for start in row:
            picked += [(start + k) % 53 for k in range(5)]
        resampled.append(values.per_origin[picked[:53]].mean(axis=0))  # (H,)
    np.testing.assert_allclose(lower, np.quantile(resampled, 0.1, axis=0))
    np.testing.assert_allclose(upper, np.quantile(resampled, 0.9, axis=0))


def _walk_errors(rng, simulations: int, n: int, horizon: int, stride: int = 1) -> np.ndarray:
    """``(S, N, H)``: step ``h`` error at origin ``t`` sums shocks ``t+1 .. t+h`` (a random walk)."""
    length = (n - 1) * stride + horizon + 1
    walks = np.concatenate(
        [np.zeros((simulations, 1)), np.cumsum(rng.normal(size=(simulations, length - 1)), 1)],
        axis=1,
    )
    origins = np.arange(n)[:, None] * stride
    return walks[:, origins + np.arange(1, horizon + 1)] - walks[:, origins]


def test_default_band_covers_the_mse_of_overlapping_windows():
    # 300 simulations of random-walk h-step errors on 800 consecutive origins; the default
    # 95% band of the MSE (automatic blocks, bootstrap-t) holds the true MSE h at >= 90% of
    # them at the first, middle and last step (Monte Carlo standard error 1.3 points). The old
    # default (blocks of max(H, N^(1/3)) = 12 for every step, percentile) covers less than 90%
    # at step 12, and the i.i.d. bootstrap far less.
    rng = np.random.default_rng(11)
    steps = np.array([1, 6, 12])
    errors = _walk_errors(rng, 300, 800, 12)[:, :, steps - 1]  # (S, N, 3)
    hits, returned, iid_hits = np.zeros(3), np.zeros(3), np.zeros(3)
    for index, sample in enumerate(errors):
        values = MetricValues(sample**2)
        band = metric_band(values, n_bootstrap=200, seed=index, steps=steps, warn=False)
        returned += ~band.refused
        hits += ~band.refused & (band.lower <= steps) & (steps <= band.upper)
        lower, upper = bootstrap_interval(values, n_bootstrap=200, seed=index, method="iid")
        iid_hits += (lower <= steps) & (steps <= upper)
    assert (returned / 300 >= 0.95).all(), returned / 300
    assert (hits / returned >= 0.90).all(), hits / returned
    assert iid_hits[-1] / 300 < 0.7  # single origins ignore the overlap


def test_block_lengths_count_origins_and_the_stride():
    # stride 24: the 24-step windows of neighbouring origins do not overlap, so the block is
    # the floor of 3 origins; at stride 1 the same step needs at least 3 x 24
    rng = np.random.default_rng(12)
    strided = _walk_errors(rng, 1, 400, 24, stride=24)[0]  # (N, H)
    band = metric_band(MetricValues(strided**2), n_bootstrap=100, stride=24)
    assert band.block_length[-1] < 10 and not band.refused.any()
    dense = _walk_errors(rng, 1, 400, 24, stride=1)[0]
    band = metric_band(MetricValues(dense**2), n_bootstrap=100, stride=1, warn=False)
    assert band.block_length[-1] >= 72 and band.block_length[0] < 10


def test_horizon_beyond_the_origins_gives_no_band_and_a_warning():
    # 20 origins, steps up to 30: the old rule capped the block at N and drew a zero-width
    # band; now every step whose block does not fit 10 times is NaN, and the warning says so
    errors = _walk_errors(np.random.default_rng(13), 1, 20, 30)[0]
    with pytest.warns(RuntimeWarning, match=r"no band at step\(s\) 1-30: 20 origins hold fewer"):
        band = metric_band(MetricValues(errors**2), n_bootstrap=100)
    assert np.isnan(band.lower).all() and np.isnan(band.upper).all()
    assert band.refused.all()


def test_constant_contributions_give_a_zero_width_interval():
    lower, upper = bootstrap_interval(
        MetricValues(np.full((40, 2), 4.0), root=True), n_bootstrap=9, block_length=2
    )
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
    # A fast check in the spirit of experiments/benchmarks/calibration.py's AR 0.9 cells:
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
