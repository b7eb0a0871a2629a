"""sMAPE as dysts defines it, valid fraction and valid prediction time (VPT), by hand."""

from __future__ import annotations

import numpy as np
import pytest

from forecastab.errors import ConfigError
from forecastab.evaluation.metrics import check_metric_units, smape, valid_fraction, vpt


def dysts_smape(x: np.ndarray, y: np.ndarray) -> float:
    """dysts.metrics.smape as the 2021-2023 papers used it: 200 mean(|x - y| / (|x| + |y|))."""
    return float(200 * np.mean(np.abs(x - y) / (np.abs(x) + np.abs(y) + 1e-10)))


def test_smape_per_step_is_the_dysts_definition() -> None:
    rng = np.random.default_rng(0)
    predictions, targets = rng.normal(size=(5, 4, 3)), rng.normal(size=(5, 4, 3))
    got = smape(predictions, targets).per_origin  # (N, H)
    for n in range(5):
        for h in range(4):
            assert got[n, h] == pytest.approx(
                dysts_smape(predictions[n, h], targets[n, h]), rel=1e-8
            )


# smape per step of origin 0: [20, 40, 0]; of origin 1: [0, 0, 100]
PREDICTIONS = np.array([[[0.9], [2.0], [5.0]], [[4.0], [1.0], [1.0]]])
TARGETS = np.array([[[1.1], [3.0], [5.0]], [[4.0], [1.0], [3.0]]])


def test_hand_example_smape() -> None:
    np.testing.assert_allclose(
        smape(PREDICTIONS, TARGETS).per_origin, [[20.0, 40.0, 0.0], [0.0, 0.0, 100.0]]
    )


def test_valid_fraction_by_hand() -> None:
    # origin 0 exceeds 30 at step 2 and stays invalid though step 3 is exact; origin 1 at step 3
    values = valid_fraction(PREDICTIONS, TARGETS)
    np.testing.assert_array_equal(values.per_origin, [[1, 0, 0], [1, 1, 0]])
    np.testing.assert_allclose(values.per_step, [1.0, 0.5, 0.0])


def test_vpt_in_lyapunov_times_by_hand() -> None:
    # 4 steps per Lyapunov time: origin 0 is valid 1 step (0.25), origin 1 two steps (0.5)
    values = vpt(PREDICTIONS, TARGETS, lyapunov_time_steps=4.0)
    np.testing.assert_allclose(values.per_origin, [[0.25, 0.25, 0.25], [0.25, 0.5, 0.5]])
    np.testing.assert_allclose(values.per_step, [0.25, 0.375, 0.375])


def test_vpt_threshold_and_censoring() -> None:
    # with threshold 50 origin 0 never fails: censored at the horizon, 3 steps = 1.5 times
    values = vpt(PREDICTIONS, TARGETS, lyapunov_time_steps=2.0, threshold=50.0)
    np.testing.assert_allclose(values.per_origin[:, -1], [1.5, 1.0])


def test_diverged_rollout_is_invalid_from_its_first_nan() -> None:
    predictions = PREDICTIONS.copy()
    predictions[1, 1, 0] = np.nan
    np.testing.assert_array_equal(valid_fraction(predictions, TARGETS).per_origin[1], [1, 0, 0])


def test_vpt_without_lyapunov_time_names_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        vpt(PREDICTIONS, TARGETS)
    assert str(caught.value) == (
        "metric 'vpt' needs each series' Lyapunov time in steps: use the chaos135 dataset, or "
        "set lyapunov_time_steps on the data (samples per 1 / lambda_max)"
    )


@pytest.mark.parametrize("name", ["vpt", "valid_fraction"])
def test_vpt_refuses_scaled_units(name: str) -> None:
    with pytest.raises(ConfigError, match=f"metric '{name}' is meaningless with units: scaled"):
        check_metric_units([name], "scaled")


def test_panel_evaluation_reports_vpt_per_system() -> None:
    """Naive forecasts over chaos135: each system's VPT from its own Lyapunov time, the
    panel row the mean over systems."""
    from forecastab.baselines import baseline_from_spec
    from forecastab.data import WindowDataModule
    from forecastab.data.chaos import lyapunov_time_steps
    from forecastab.evaluation import evaluate

    dm = WindowDataModule("chaos135", context_length=20, horizon=10, stride=25)
    evaluation = evaluate(
        baseline_from_spec("naive"), dm, metrics=["smape", "valid_fraction", "vpt"]
    )
    table = evaluation.table
    last = table[(table["metric"] == "vpt") & (table["step"] == 10)].set_index("series")["value"]
    lorenz = evaluation.per_series["Lorenz"]
    expected = vpt(
        lorenz.predictions["free_running"], lorenz.targets,
        lyapunov_time_steps=lyapunov_time_steps()["Lorenz"],
    ).per_step[-1]  # fmt: skip
    assert last["Lorenz"] == pytest.approx(expected)
    assert last["all"] == pytest.approx(last.drop("all").mean())
    assert 0 < last.drop("all").median() and (last.drop("all") >= 0).all()
