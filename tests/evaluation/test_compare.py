"""Paired comparisons: Diebold-Mariano against a hand computation and a published example."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forecastab.errors import ConfigError, DataError
from forecastab.evaluation.compare import (
    diebold_mariano,
    hac_variance,
    holm,
    paired_comparison,
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
    statistic, p_value = diebold_mariano(d, horizon=1)
    assert statistic == pytest.approx(0.55 / math.sqrt(0.2775 / 8) * math.sqrt(0.875), rel=1e-12)
    assert statistic == pytest.approx(2.762360, abs=1e-6)
    assert p_value == pytest.approx(0.028001, abs=1e-6)
    raw, p_normal = diebold_mariano(d, horizon=1, hln=False)
    assert raw == pytest.approx(2.953087, abs=1e-6)
    assert p_normal == pytest.approx(0.003146, abs=1e-6)


def test_hac_variance_by_hand():
    d = np.array([1.0, 2.0, 0.0, 3.0])  # mean 1.5, deviations -0.5, 0.5, -1.5, 1.5
    gamma0 = (0.25 + 0.25 + 2.25 + 2.25) / 4  # 1.25
    gamma1 = (-0.5 * 0.5 + 0.5 * -1.5 + -1.5 * 1.5) / 4  # -0.8125
    assert hac_variance(d, lag=0) == pytest.approx(gamma0)
    assert hac_variance(d, lag=1) == pytest.approx(gamma0 + 2 * 0.5 * gamma1)
    assert hac_variance(d, lag=1, kernel="rectangular") == pytest.approx(gamma0 + 2 * gamma1)


@pytest.mark.parametrize(("horizon", "expected"), [(1, 0.8871), (10, 0.9362)])
def test_published_example_of_r_dm_test(horizon, expected):
    d = E_ETS**2 - E_ARIMA**2
    _, p_value = diebold_mariano(d, horizon=horizon, kernel="rectangular")
    assert p_value == pytest.approx(expected, abs=1e-3)


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 -> 0.03, 0.06, 0.04 -> monotone 0.03, 0.06, 0.06
    assert holm(np.array([0.04, 0.01, 0.03])).tolist() == pytest.approx([0.06, 0.03, 0.06])


def test_null_rejection_rate_is_near_the_level():
    # Two forecasts whose errors are exchangeable, on overlapping windows (MA(H-1) errors):
    # 120 simulations here (the benchmark runs 500); the rate must be near 5%.
    rng = np.random.default_rng(0)
    n, horizon, rejections, tests = 300, 4, 0, 0
    for _ in range(120):
        shocks = rng.normal(size=(2, n + horizon))
        kernel = np.ones(horizon)
        errors = np.stack(
            [np.convolve(s, kernel, mode="valid")[:n] for s in shocks]
        )  # (2, N) overlapping-window errors
        common = rng.normal(size=n)  # a shared component keeps the pair correlated
        _, p = diebold_mariano(
            (errors[0] + common) ** 2 - (errors[1] + common) ** 2, horizon=horizon
        )
        rejections += p < 0.05
        tests += 1
    assert 0.01 <= rejections / tests <= 0.11


def test_paired_comparison_finds_the_better_steps():
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(400, 6, 1))
    errors = reference.copy()
    errors[:, :3] *= 0.6  # better at steps 1-3, the same after
    errors[:, 3:] += 0.05 * rng.normal(size=(400, 3, 1))
    table = paired_comparison(errors, reference, n_bootstrap=300)
    assert table["step"].tolist() == [1, 2, 3, 4, 5, 6]
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
