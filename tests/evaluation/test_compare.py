"""Paired comparisons: Diebold-Mariano against a hand computation and a published example."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forecastab.errors import ConfigError, DataError
from forecastab.evaluation.compare import (
    _hac_test,
    diebold_mariano,
    diebold_mariano_tests,
    hac_variance,
    holm,
    paired_comparison,
    seed_level_comparison,
)

# Out-of-sample one-step errors of ets and auto.arima on WWWusage[81:100], the example of R's
# forecast::dm.test, whose output (two-sided p-values 0.8871 at h = 1 and 0.9362 at h = 10)
# is reproduced by Julia's HypothesisTests.jl test suite.
E_ETS = np.array(
    [0.002241270, -0.000661906, -1.200002613, -4.000218178, 3.799373533,
     3.401005111, -1.199692125, -0.800490048, -1.200048999, 3.399847229,
     7.000708948, 2.200989241, -4.800165569, -1.201043375, 3.400167556,
     3.000709085, 0.400267950, -6.800169207, -2.401259050, 1.200112198]
)  # fmt: skip
E_ARIMA = np.array(
    [0.1209998, 8.0622269, -0.9189429, -1.7952436, 5.3431277, 2.0459823,
     -0.6073261, 0.5516816, -0.7633238, 4.1229472, 5.8785333, 1.2828331,
     -3.4854233, 1.1971370, 3.1709314, 2.3408457, 0.4962286, -5.9841362,
     0.1537114, 0.4207951]
)  # fmt: skip


def test_hand_computed_example():
    # d = (0.5, 1.2, -0.3, 0.8, 1.1, 0.4, -0.2, 0.9): mean 0.55, sum of squared deviations
    # 2.22, so gamma_0 = 2.22 / 8 = 0.2775 and DM = 0.55 / sqrt(0.2775 / 8) = 2.953087;
    # HLN at h = 1 multiplies by sqrt((8 + 1 - 2) / 8) = sqrt(0.875): 2.762360, t with 7 df.
    d = np.array([0.5, 1.2, -0.3, 0.8, 1.1, 0.4, -0.2, 0.9])
    statistic, p_value = diebold_mariano(d, horizon=1, kernel="rectangular")
    assert statistic == pytest.approx(0.55 / math.sqrt(0.2775 / 8) * math.sqrt(0.875), rel=1e-12)
    assert statistic == pytest.approx(2.762360, abs=1e-6)
    assert p_value == pytest.approx(0.028001, abs=1e-6)
    raw, p_normal = diebold_mariano(d, horizon=1, kernel="rectangular", hln=False)
    assert raw == pytest.approx(2.953087, abs=1e-6)
    assert p_normal == pytest.approx(0.003146, abs=1e-6)


def test_hac_variance_by_hand():
    d = np.array([1.0, 2.0, 0.0, 3.0])  # mean 1.5, deviations -0.5, 0.5, -1.5, 1.5
    gamma0 = (0.25 + 0.25 + 2.25 + 2.25) / 4  # 1.25
    gamma1 = (-0.5 * 0.5 + 0.5 * -1.5 + -1.5 * 1.5) / 4  # -0.8125
    assert hac_variance(d, lag=0) == pytest.approx(gamma0)
    assert hac_variance(d, lag=1) == pytest.approx(gamma0 + 2 * 0.5 * gamma1)
    assert hac_variance(d, lag=1, kernel="rectangular") == pytest.approx(gamma0 + 2 * gamma1)


def test_published_example_of_r_dm_test():
    # R's dm.test at h = 1 (p 0.8871); at h = 10 on 20 origins it prints 0.9362, which the HAC
    # formula reproduces, but 20 origins overlapping for 10 are too few for a valid test, so
    # the public test refuses with a reason instead of that confident p-value
    d = E_ETS**2 - E_ARIMA**2
    _, p_value = diebold_mariano(d, horizon=1, kernel="rectangular")
    assert p_value == pytest.approx(0.8871, abs=1e-3)
    assert _hac_test(d, 9, "rectangular")[1] == pytest.approx(0.9362, abs=1e-3)
    tests = diebold_mariano_tests(d[:, None], steps=np.array([10]), kernel="rectangular")
    assert np.isnan(tests.p_value[0])
    assert tests.reason[0] == "20 origins are fewer than 10 x (lag 9 + 1): no valid test"


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 -> 0.03, 0.06, 0.06 -> monotone 0.03, 0.06, 0.06
    assert holm(np.array([0.04, 0.01, 0.03])).tolist() == pytest.approx([0.06, 0.03, 0.06])


def _null_errors(rng, simulations: int, n: int, horizon: int, stride: int) -> np.ndarray:
    """``(S, 2, N, H)`` errors of two exchangeable forecasters on overlapping windows."""
    length = (n - 1) * stride + horizon + 1
    walks = np.cumsum(rng.normal(size=(simulations, 3, length)), axis=2)
    walks = np.concatenate([np.zeros((simulations, 3, 1)), walks], axis=2)
    origins = np.arange(n)[:, None] * stride
    steps = np.arange(1, horizon + 1)[None, :]
    errors = walks[:, :, origins + steps] - walks[:, :, origins]  # (S, 3, N, H)
    return errors[:, :2] + errors[:, 2:]  # own plus a shared part


@pytest.mark.parametrize(("n", "horizon", "stride"), [(74, 4, 1), (60, 24, 6)])
def test_null_rejection_rate_is_five_percent(n, horizon, stride):
    # 1,500 simulations of two exchangeable forecasters; the rate at the last step is within
    # 3 Monte Carlo standard errors (0.56 points each) of 5%. With the lag in time steps
    # instead of origins (stride 6: lag 23 of 60 origins) or equal weights at small N, the
    # rate is 10-60%.
    rng = np.random.default_rng(0)
    errors = _null_errors(rng, 1500, n, horizon, stride)
    differential = errors[:, 0, :, -1] ** 2 - errors[:, 1, :, -1] ** 2  # (S, N)
    p = np.array(
        [
            diebold_mariano(d, horizon=horizon, stride=stride)[1]
            for d in differential
        ]
    )
    tested = np.isfinite(p)
    assert tested.mean() > 0.9  # a refusal is the exception here
    assert 0.033 <= np.mean(p[tested] < 0.05) <= 0.067


def test_lag_counts_origins_not_steps():
    tests = diebold_mariano_tests(
        np.random.default_rng(0).normal(size=(500, 4)), steps=np.array([1, 24, 25, 720]), stride=24
    )
    assert tests.lag.tolist() == [0, 0, 1, 29]


def test_horizon_at_or_beyond_the_origins_is_refused_with_a_reason():
    # 20 origins, steps up to 30: the windows of every pair of origins overlap at the late
    # steps; no estimator can test that, so the answer is NaN with a reason
    rng = np.random.default_rng(1)
    errors = _null_errors(rng, 1, 20, 30, 1)[0]
    table = paired_comparison(errors[0][..., None], errors[1][..., None], n_bootstrap=50)
    late = table[table["step"] >= 20]
    assert late["p_value"].isna().all() and late["p_holm"].isna().all()
    assert late["lower"].isna().all()
    assert late["note"].str.startswith("20 origins are too few for a valid test").all()
    for kernel in ("rectangular", "bartlett"):
        _, p = diebold_mariano(errors[0][:, -1] - errors[1][:, -1], horizon=30, kernel=kernel)
        assert np.isnan(p)


def test_seed_level_comparison_tests_the_seeds_means():
    rng = np.random.default_rng(4)
    reference = {seed: rng.normal(size=(40, 2, 1)) for seed in range(5)}
    shrink = {0: 0.5, 1: 0.6, 2: 0.7, 3: 0.8, 4: 1.1}  # four seeds better, one worse
    errors = {seed: reference[seed] * shrink[seed] for seed in range(5)}
    table = seed_level_comparison(errors, reference)
    per_seed = np.array(
        [(errors[s] ** 2 - reference[s] ** 2)[:, :, 0].mean(axis=0) for s in range(5)]
    )  # (5, H)
    expected_t = per_seed.mean(axis=0) / (per_seed.std(axis=0, ddof=1) / np.sqrt(5))
    np.testing.assert_allclose(table["t_statistic"][:2], expected_t)
    assert table["wins"].tolist() == [4, 4, 4]
    # sign test: 4 of 5 lower, two-sided: 2 * (5 + 1) / 32
    assert table["p_sign"].tolist() == pytest.approx([0.375, 0.375, 0.375])
    assert table["step"].tolist() == [1, 2, 0]


def test_paired_comparison_finds_the_better_steps():
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(400, 6, 1))
    errors = reference.copy()
    errors[:, :3] *= 0.6  # better at steps 1-3, the same after
    errors[:, 3:] += 0.05 * rng.normal(size=(400, 3, 1))
    table = paired_comparison(errors, reference, n_bootstrap=300)
    assert table["step"].tolist() == [1, 2, 3, 4, 5, 6]
    assert (table["note"] == "").all()
    significant = table["p_holm"] < 0.05
    assert significant[:3].all() and not significant[3:].any()
    assert (table["mean_difference"][:3] < 0).all()
    assert (table["upper"][:3] < 0).all()
    assert (table["lower"][3:] < 0).all() and (table["upper"][3:] > 0).all()
    assert (table["n_seeds"] == 1).all()


def test_paired_comparison_without_resamples_gives_the_same_tests_and_no_interval():
    rng = np.random.default_rng(3)
    reference = rng.normal(size=(120, 4, 1))
    errors = 0.8 * reference + 0.1 * rng.normal(size=(120, 4, 1))
    with_interval = paired_comparison(errors, reference, n_bootstrap=100)
    tests_only = paired_comparison(errors, reference, n_bootstrap=0)
    for column in ("mean_difference", "statistic", "p_value", "p_holm"):
        np.testing.assert_array_equal(tests_only[column], with_interval[column])
    assert tests_only[["lower", "upper"]].isna().all().all()
    assert with_interval[["lower", "upper"]].notna().all().all()
    with pytest.raises(ConfigError, match="n_bootstrap"):
        paired_comparison(errors, reference, n_bootstrap=-1)


def test_paired_over_seeds_averages_the_differential():
    rng = np.random.default_rng(2)
    reference = {seed: rng.normal(size=(50, 2, 1)) for seed in (0, 1, 2)}
    errors = {seed: reference[seed] * 0.9 for seed in (0, 1)}  # seed 2 not run
    table = paired_comparison(errors, reference, n_bootstrap=50)
    expected = np.mean(
        [(errors[s] ** 2 - reference[s] ** 2)[:, :, 0] for s in (0, 1)], axis=0
    ).mean(axis=0)
    np.testing.assert_allclose(table["mean_difference"], expected)
    assert (table["n_seeds"] == 2).all()


def test_paired_comparison_rejects_bad_input():
    with pytest.raises(DataError, match="same origins and steps"):
        paired_comparison(np.zeros((10, 3, 1)), np.zeros((9, 3, 1)))
    with pytest.raises(DataError, match="no seed in common"):
        paired_comparison({0: np.zeros((10, 3, 1))}, {1: np.zeros((10, 3, 1))})
    with pytest.raises(ConfigError, match="unknown loss 'mape'"):
        paired_comparison(np.zeros((10, 3, 1)), np.zeros((10, 3, 1)), loss="mape")
    with pytest.raises(ConfigError, match="unknown bootstrap method 'block'"):
        paired_comparison(np.zeros((10, 3, 1)), np.zeros((10, 3, 1)), method="block")


def test_the_panel_aggregate_weighs_each_series_once_and_sums_deviations_per_time() -> None:
    from forecastab.evaluation.compare import PanelLayout, panel_series

    rng = np.random.default_rng(0)
    # series a: 6 origins at times 0..5; series b: 3 origins at times 2..4 (shorter, later)
    d = rng.normal(size=(9, 2))
    layout = PanelLayout(np.array(["a"] * 6 + ["b"] * 3), np.array([0, 1, 2, 3, 4, 5, 2, 3, 4]))
    y, stride = panel_series(d, layout)
    assert stride == 1 and y.shape == (6, 2)
    series_mean = (d[:6].mean(axis=0) + d[6:].mean(axis=0)) / 2
    np.testing.assert_allclose(y.mean(axis=0), series_mean)
    # a time where only series a has an origin carries only a's deviation, at weight 1 / (2 * 6)
    np.testing.assert_allclose(y[0], series_mean + 6 * (d[0] - series_mean) / 12)
    strided = PanelLayout(layout.series, layout.steps * 24)
    assert panel_series(d, strided)[1] == 24


def test_the_panel_test_keeps_its_size_when_the_series_move_together() -> None:
    from forecastab.evaluation.compare import PanelLayout, diebold_mariano_tests, panel_series

    # 7 series sharing 120 origins, their differentials driven by one common factor (like
    # ETTh1's channels): pooling the 840 origins as if independent rejects a true null far too
    # often; the aggregate series keeps the test near its level
    rng = np.random.default_rng(1)
    n, series = 120, 7
    layout = PanelLayout(np.repeat(np.arange(series), n), np.tile(np.arange(n), series))
    ours = naive = 0
    sims = 400
    for _ in range(sims):
        common = rng.normal(size=n)
        d = (common[None, :] + 0.3 * rng.normal(size=(series, n))).reshape(-1, 1)
        y, stride = panel_series(d, layout)
        ours += diebold_mariano_tests(y, stride=stride).p_value[0] < 0.05
        naive += diebold_mariano_tests(d).p_value[0] < 0.05
    assert ours / sims < 0.09
    assert naive / sims > 0.3  # the check above could fail: pooling is mis-sized here
