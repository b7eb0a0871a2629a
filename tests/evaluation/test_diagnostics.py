"""Exposure-bias diagnostics, each on a synthetic case with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from forecastab.errors import ConfigError, DataError
from forecastab.evaluation.diagnostics import (
    compounding,
    context_sensitivity,
    crossover_step,
    exposure_gap,
    fit_error_growth,
    gap_area,
    hidden_state_shift,
    mmd2,
    mmd_per_step,
    rollout_flags,
    valid_prediction_time,
)
from forecastab.models import ForecastModule, RNNConfig

STEPS = np.arange(1, 31, dtype=float)

# --- exposure gap, growth, crossover -------------------------------------------------------


def tidy(model: str, mode: str, values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"dataset": "d", "model": model, "strategy": "tf", "seed": 0, "mode": mode,
         "step": np.arange(1, len(values) + 1), "metric": "mae", "value": values}
    )  # fmt: skip


def test_exposure_gap_from_tables_matches_the_arrays():
    free = tidy("gru", "free_running", [1.0, 2.0, 4.0])
    forced = tidy("gru", "teacher_forced", [1.0, 1.5, 1.5])
    naive = tidy("naive", "free_running", [3.0, 3.0, 3.0])  # no teacher-forced run: dropped
    gap = exposure_gap(pd.concat([free, naive]), forced)
    assert gap["gap"].tolist() == [0.0, 0.5, 2.5]
    assert set(gap["model"]) == {"gru"}
    one_table = exposure_gap(pd.concat([free, forced, naive]))
    pd.testing.assert_frame_equal(gap, one_table)
    np.testing.assert_allclose(
        exposure_gap(np.array([1.0, 2.0, 4.0]), [1.0, 1.5, 1.5]), [0, 0.5, 2.5]
    )


def test_gap_area_rules():
    gap = np.array([0.0, 0.5, 2.5])
    assert gap_area(gap) == pytest.approx(0.25 + 1.5)  # trapezoids of unit width
    assert gap_area(gap, rule="sum") == 3.0
    with pytest.raises(
        ConfigError, match=r"unknown area rule 'trapz' \(did you mean 'trapezoid'\?\)"
    ):
        gap_area(gap, rule="trapz")


@pytest.mark.parametrize(
    ("form", "curve", "rate"),
    [
        ("exponential", 0.05 * np.exp(0.15 * STEPS), 0.15),
        ("linear", 0.3 + 0.07 * STEPS, 0.07),
        ("power", 0.2 * STEPS**0.5, 0.5),
    ],
)
def test_error_growth_recovers_the_form_and_rate(form, curve, rate):
    noise = 1 + 0.01 * np.random.default_rng(0).standard_normal(len(curve))
    fit = fit_error_growth(curve * noise)
    assert fit.form == form
    assert fit.growth_rate == pytest.approx(rate, rel=0.05)
    assert set(fit.aic) == {"linear", "exponential", "power"}
    np.testing.assert_allclose(fit.predict(STEPS), curve, rtol=0.05)


def test_error_growth_refuses_a_diverged_curve():
    with pytest.raises(DataError, match="needs finite errors"):
        fit_error_growth(np.array([1.0, 2.0, np.inf]))


@pytest.mark.parametrize(
    ("model", "baseline", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], [2.5, 2.5, 2.5, 2.5], 3),
        ([3.0, 1.0, 1.0], [2.0, 2.0, 2.0], 1),
        ([1.0, 2.0], [1.0, 2.0], None),  # equal is not behind
        ([1.0, np.nan], [2.0, 2.0], 2),  # diverged counts as behind
    ],
)
def test_crossover_step(model, baseline, expected):
    assert crossover_step(np.array(model), np.array(baseline)) == expected


# --- compounding and valid prediction time --------------------------------------------------


def test_independent_errors_survive_as_the_product_of_hit_rates():
    errors = np.random.default_rng(0).standard_normal((20000, 8))
    result = compounding(errors, tolerance=1.0)
    np.testing.assert_allclose(result.hit_rate, 0.6827, atol=0.01)
    np.testing.assert_allclose(result.survival, result.independent, atol=0.006)
    assert result.survival[-1] < 0.06


def test_perfectly_correlated_errors_survive_as_the_worst_hit_rate():
    z = np.random.default_rng(1).standard_normal(5000)
    scales = np.array([1.0, 3.0, 2.0, 0.5, 4.0])
    result = compounding(z[:, None] * scales, tolerance=1.5)  # (N, H): one shock, all steps
    np.testing.assert_allclose(result.survival, np.minimum.accumulate(result.hit_rate))
    assert result.survival[-1] > 2 * result.independent[-1]
    assert list(result.to_frame().columns) == ["step", "hit_rate", "survival", "independent"]


def test_a_step_is_a_hit_only_when_every_column_is():
    errors = np.array([[[0.1, 0.9]], [[0.1, 0.1]], [[np.nan, 0.0]]])  # (N=3, H=1, C=2)
    assert compounding(errors, tolerance=0.5).hit_rate.tolist() == [1 / 3]


def test_valid_prediction_time_of_doubling_errors():
    growth = 0.01 * 2.0 ** np.arange(1, 11)  # exceeds 0.4 first at step 6 (0.64)
    errors = np.stack([growth, 2 * growth, np.zeros(10), np.r_[0.0, np.nan, np.zeros(8)]])
    vpt = valid_prediction_time(errors, threshold=0.4)
    assert vpt.per_origin.tolist() == [5, 4, 10, 1]
    assert vpt.mean == 5.0 and vpt.median == 4.5


def test_valid_prediction_time_normalizes_each_column():
    errors = np.array([[[1.0, 10.0], [3.0, 30.0]]])  # (N=1, H=2, C=2)
    assert valid_prediction_time(errors, scale=[2.0, 20.0], threshold=1.0).per_origin.tolist() == [
        1
    ]


# --- stability ------------------------------------------------------------------------------


def test_context_sensitivity_of_a_linear_map_grows_as_its_gain():
    gain = 1.5

    def forecast(contexts):  # the last value times gain**h
        return contexts[:, -1:, :] * gain ** np.arange(1, 7)[None, :, None]

    contexts = np.random.default_rng(0).standard_normal((500, 10, 1))
    divergence = context_sensitivity(forecast, contexts, noise_std=0.01, n_repeats=8, seed=3)
    np.testing.assert_allclose(divergence / divergence[0], gain ** np.arange(6), rtol=1e-9)
    np.testing.assert_allclose(divergence, 0.01 * gain ** np.arange(1, 7), rtol=0.05)
    again = context_sensitivity(forecast, contexts, noise_std=0.01, n_repeats=8, seed=3)
    np.testing.assert_array_equal(divergence, again)


def test_a_model_that_ignores_its_context_has_zero_sensitivity():
    def forecast(contexts):
        return np.ones((len(contexts), 4, 1))

    assert context_sensitivity(forecast, np.zeros((5, 3, 1)), noise_std=0.1).tolist() == [0.0] * 4


def test_rollout_flags_known_cases():
    train = np.sin(np.linspace(0, 20, 400))[:, None]  # range [-1, 1]
    h = np.arange(24)
    rollouts = np.stack(
        [
            np.full(24, 0.2),  # collapsed to a constant
            np.linspace(0.0, 3.0, 24),  # ramps out of the range
            np.where(h % 2 == 0, 0.5, -0.5),  # period-2 cycle
            np.tile([0.1, 0.4, -0.3], 8),  # period-3 cycle
            0.8 * np.sin(h / 3.0),  # a healthy oscillation, no flag
            np.r_[np.zeros(23), np.nan],  # NaN counts as drift
        ]
    )[:, :, None]  # (N, H, 1)
    flags = rollout_flags(rollouts, train)
    assert flags.constant.tolist() == [True, False, False, False, False, False]
    assert flags.cycle.tolist() == [False, False, True, True, False, False]
    assert flags.period.tolist() == [1, 0, 2, 3, 0, 0]
    assert flags.repetition.tolist() == [True, False, True, True, False, False]
    assert flags.drift.tolist() == [False, True, False, False, False, True]
    assert flags.summary()["repetition"] == 0.5


# --- distribution shift ----------------------------------------------------------------------


def slow_mmd2(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    def k(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * sigma**2))

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_mmd2_equals_the_textbook_unbiased_estimate():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(0.5, 1.0, size=(9, 3))
    assert mmd2(x, y, bandwidth=1.3)[0] == pytest.approx(slow_mmd2(x, y, 1.3), rel=1e-10)


def test_mmd_per_step_finds_the_step_where_the_states_shift():
    rng = np.random.default_rng(0)
    forced = rng.normal(size=(120, 3, 4))
    free = rng.normal(size=(120, 3, 4))
    free[:, 2] += 1.0  # only the last step shifts
    result = mmd_per_step(forced, free, n_permutations=100)
    assert result["step"].tolist() == [1, 2, 3]
    assert abs(result["mmd2"][0]) < 0.02 and abs(result["mmd2"][1]) < 0.02
    assert result["mmd2"][2] > 0.1
    assert result["p_value"][0] > 0.05 and result["p_value"][2] < 0.02


def test_paired_mmd_p_values_are_calibrated_under_the_paired_null():
    # Pairs (x_i, y_i) from one origin share a large common part; under the null the two
    # members are exchangeable. Swapping within pairs gives exact p-values; relabelling the
    # pooled sample ignores the pairing and almost never rejects.
    rng = np.random.default_rng(1)
    p_values = []
    for i in range(200):
        common = rng.normal(size=(30, 2))
        x = common + 0.1 * rng.normal(size=(30, 2))
        y = common + 0.1 * rng.normal(size=(30, 2))
        p_values.append(mmd2(x, y, n_permutations=50, seed=i, paired=True)[1])
    assert 0.02 <= np.mean(np.array(p_values) < 0.05) <= 0.10
    assert 0.40 <= np.mean(np.array(p_values) < 0.5) <= 0.60


def test_mmd_per_step_tests_the_origins_as_pairs():
    rng = np.random.default_rng(0)
    forced = rng.normal(size=(60, 2, 2))
    free = forced + 0.1 * rng.normal(size=(60, 2, 2))
    free[:, 1] = 1.3 * forced[:, 1] + 0.1 * rng.normal(size=(60, 2))  # step 2 spreads out
    result = mmd_per_step(forced, free, n_permutations=200, max_samples=50)
    assert result["p_value"][1] < 0.02  # the pooled relabelling gives about 0.4 here
    assert result["p_value"][0] > 0.05
    with pytest.raises(DataError, match="same N origins"):
        mmd_per_step(forced, free[:50])


class EchoNetwork(nn.Module):
    """A decoder whose hidden state is its last input and whose prediction is half of it.

    Its hidden states are known in closed form: teacher-forced, step h's state is the true
    value of step h - 1; free-running, it is ``0.5**(h - 1)`` times the last context value.
    """

    autoregressive = True

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def encode(self, context):
        return None

    def step(self, x, state):
        return 0.5 * x, x

    def hidden(self, state):
        return state  # (B, C)

    def teacher_forced(self, context, targets, *, return_hidden=False):
        inputs = torch.cat([context[:, -1:], targets[:, :-1]], dim=1)  # (B, H, C)
        # the hidden state of each step is its input, as in `step`
        return (0.5 * inputs, inputs) if return_hidden else 0.5 * inputs


def median_heuristic(x: np.ndarray, y: np.ndarray) -> float:
    pooled = np.concatenate([x, y])
    distances = [
        np.sum((a - b) ** 2) for i, a in enumerate(pooled) for j, b in enumerate(pooled) if i != j
    ]
    return float(np.sqrt(np.median(distances)))


def test_hidden_state_shift_compares_the_rollouts_hidden_states():
    rng = np.random.default_rng(0)
    contexts = rng.normal(size=(30, 6, 1)).astype(np.float32)
    targets = rng.normal(size=(30, 4, 1)).astype(np.float32)
    result = hidden_state_shift(EchoNetwork(), contexts, targets)
    last = contexts[:, -1].astype(np.float64)  # (N, 1)
    assert result["step"].tolist() == [1, 2, 3, 4]
    assert result["mmd2"][0] == pytest.approx(slow_mmd2(last, last, median_heuristic(last, last)))
    for h in range(1, 4):
        forced = targets[:, h - 1].astype(np.float64)  # the truth fed at step h
        free = 0.5**h * last  # the model's own prediction fed at step h
        expected = slow_mmd2(forced, free, median_heuristic(forced, free))
        assert result["mmd2"][h] == pytest.approx(expected, rel=1e-6)


def test_hidden_state_shift_takes_a_forecast_module():

    module = ForecastModule(RNNConfig(hidden_size=8), context_length=12, horizon=5)
    rng = np.random.default_rng(0)
    contexts = rng.normal(size=(30, 12, 1)).astype(np.float32)
    targets = rng.normal(size=(30, 5, 1)).astype(np.float32)
    result = hidden_state_shift(module, contexts, targets, n_permutations=20)
    assert result.shape == (5, 3) and result["p_value"].between(0, 1).all()
    assert module.training  # the module's mode is restored
