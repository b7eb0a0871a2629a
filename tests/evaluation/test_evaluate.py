"""evaluate(): batched horizon evaluation against a slow per-origin loop, modes, divergence."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecastab.errors import ConfigError, DataError
from forecastab.evaluation import evaluate
from forecastab.evaluation.evaluate import INTERVAL_COLUMNS, TABLE_COLUMNS


def slow_per_step(forecaster, data, mode: str, units: str) -> dict[str, np.ndarray]:
    """MAE and RMSE per step and target column ``(C, H)``, one origin at a time."""
    L, H = data.context_length, data.horizon
    absolute, squared = [], []
    for t in data.origins("test"):
        scaled = forecaster.predict_origins(
            data.values, np.array([t]), context_length=L, horizon=H, mode=mode
        )[0]  # (H, C)
        if units == "original":
            forecast, truth = (
                data.scaler.inverse_transform(scaled),
                data.raw_values[t + 1 : t + H + 1],
            )
        else:
            forecast, truth = scaled, data.values[t + 1 : t + H + 1]
        error = np.asarray(forecast, dtype=np.float64) - truth  # (H, C)
        absolute.append(np.abs(error).T)  # (C, H)
        squared.append((error**2).T)  # (C, H)
    return {"mae": np.mean(absolute, axis=0), "rmse": np.sqrt(np.mean(squared, axis=0))}


def values_of(table: pd.DataFrame, mode: str, metric: str, target: str = "x0") -> np.ndarray:
    rows = table[(table["mode"] == mode) & (table["metric"] == metric)]
    return rows[rows["target"] == target].sort_values("step")["value"].to_numpy()


@pytest.mark.parametrize("units", ["original", "scaled"])
@pytest.mark.parametrize("mode", ["free_running", "teacher_forced"])
def test_batched_evaluation_equals_a_slow_per_origin_loop(standin_data, drift, units, mode):
    result = evaluate(drift, standin_data, modes=(mode,), units=units)
    expected = slow_per_step(drift, standin_data, mode, units)
    for metric in ("mae", "rmse"):
        for column, target in enumerate(standin_data.target_columns):
            np.testing.assert_allclose(
                values_of(result.table, mode, metric, target), expected[metric][column], rtol=1e-5
            )


def test_table_is_tidy_with_the_contract_columns(standin_data, drift):
    result = evaluate(
        drift,
        standin_data,
        modes=("free_running", "teacher_forced"),
        metrics=("mae", "rmse", "smape", "mase", "nrmse"),
        labels={"strategy": "teacher_forcing", "seed": 3},
    )
    table = result.table
    assert list(table.columns) == TABLE_COLUMNS
    H, N = standin_data.horizon, len(standin_data.origins("test"))
    assert len(table) == 2 * 5 * 2 * H  # modes x metrics x targets x steps
    assert set(table["step"]) == set(range(1, H + 1))
    assert table[["dataset", "model", "strategy", "seed"]].drop_duplicates().values.tolist() == [
        ["standin", "drift", "teacher_forcing", 3]
    ]
    assert result.errors["free_running"].shape == (N, H, 2)
    assert result.origins.tolist() == list(range(199, 300 - H))
    assert not result.diverged
    assert result.intervals.empty and list(result.intervals.columns) == INTERVAL_COLUMNS
    # teacher forced, the drift forecaster is the one-step naive forecast: its step-1 MAE is
    # the mean |y_t - y_{t-1}| over the targets of step 1, rows 200 .. 300-H
    raw = standin_data.raw_values
    for column, target in enumerate(standin_data.target_columns):
        assert values_of(table, "teacher_forced", "mae", target)[0] == pytest.approx(
            np.abs(raw[200 : 300 - H + 1, column] - raw[199 : 299 - H + 1, column]).mean(),
            rel=1e-5,
        )


def test_scaled_units_divide_the_original_errors_by_the_training_std(standin_data, drift):
    original = evaluate(drift, standin_data, units="original")
    scaled = evaluate(drift, standin_data, units="scaled")
    np.testing.assert_allclose(
        scaled.errors["free_running"] * standin_data.scaler.std,
        original.errors["free_running"],
        rtol=1e-4,
        atol=1e-4,
    )


def test_modes_a_forecaster_lacks_are_skipped_and_free_running_always_runs(standin_data, naive):
    result = evaluate(naive, standin_data, modes=("teacher_forced",))
    assert result.modes == ("free_running",)
    assert set(result.table["mode"]) == {"free_running"}
    assert set(result.table["strategy"]) == {"baseline"}
    assert set(result.table["model"]) == {"naive"}


def test_diverging_forecaster_is_reported_not_raised(standin_data, diverging):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate(
            diverging,
            standin_data,
            modes=("free_running", "teacher_forced"),
            metrics=("mae", "rmse", "smape", "mase"),
            n_bootstrap=20,
        )
    messages = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert [m for m in messages if "no band" not in m] == [
        f"diverging diverged in {mode} mode: 30 of 89 rollouts hold inf or NaN; "
        "their metrics are reported as NaN or inf"
        for mode in ("free_running", "teacher_forced")
    ]
    # 89 origins are too few for bands at the later steps: warnings say which (one per
    # distinct set of steps, not one per metric and mode)
    refusals = [m for m in messages if "no band" in m]
    assert 1 <= len(refusals) <= 3 and len(set(refusals)) == len(refusals)
    assert all(m.startswith("diverging: no band at step(s) ") for m in refusals)
    assert all("89 origins hold fewer than 10 blocks" in m for m in refusals)
    assert result.diverged
    assert result.diverged_modes == ("free_running", "teacher_forced")
    H = standin_data.horizon
    for mode in ("free_running", "teacher_forced"):
        curve = values_of(result.table, mode, "mae")
        assert np.isfinite(curve[: H // 2]).all()
        assert not np.isfinite(curve[H // 2 :]).any()
    late = result.intervals[result.intervals["step"] > H // 2]
    assert late[["lower", "upper"]].isna().all().all()


def test_bootstrap_intervals_bracket_the_value_and_are_seeded(standin_data, drift):
    first = evaluate(drift, standin_data, n_bootstrap=200, seed=1).intervals
    again = evaluate(drift, standin_data, n_bootstrap=200, seed=1).intervals
    other = evaluate(drift, standin_data, n_bootstrap=200, seed=2).intervals
    assert list(first.columns) == INTERVAL_COLUMNS
    assert len(first) == 2 * 2 * standin_data.horizon  # metrics x targets x steps
    banded = first[first["lower"].notna()]  # 89 origins: bands at the first steps only
    assert set(banded["step"]) >= {1, 2}
    assert (banded["lower"] <= banded["value"]).all()
    assert (banded["value"] <= banded["upper"]).all()
    assert (banded["lower"] < banded["upper"]).all()
    pd.testing.assert_frame_equal(first, again)
    assert not first["lower"].equals(other["lower"])


def test_stride_takes_every_kth_origin(standin_data, drift):
    every = evaluate(drift, standin_data)
    strided = evaluate(drift, standin_data, stride=4)
    assert strided.origins.tolist() == every.origins[::4].tolist()
    np.testing.assert_allclose(strided.errors["free_running"], every.errors["free_running"][::4])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"metrics": ("maee",)}, ConfigError, "unknown metric 'maee' (did you mean 'mae'?)"),
        ({"modes": ("free_runing",)}, ConfigError, "unknown evaluation mode 'free_runing'"),
        ({"units": "raw"}, ConfigError, "unknown units 'raw'"),
        (
            {"labels": {"datset": "x"}},
            ConfigError,
            "unknown label 'datset' (did you mean 'dataset'?)",
        ),
        ({"stride": 0}, ConfigError, "stride must be a positive integer, got 0"),
    ],
)
def test_bad_arguments_raise_one_clear_line(standin_data, drift, kwargs, error, message):
    with pytest.raises(error) as raised:
        evaluate(drift, standin_data, **kwargs)
    assert str(raised.value).startswith(message)


def test_wrong_prediction_shape_is_a_data_error(standin_data, drift):
    class Short(type(drift)):
        def predict_origins(self, values, origins, **kwargs):
            return super().predict_origins(values, origins, **kwargs)[:, :-1]

    with pytest.raises(DataError, match=r"returned predictions of shape \(89, 11, 2\)"):
        evaluate(Short(), standin_data)


def test_real_window_data_module(drift):
    from forecastab.data import WindowDataModule
    from forecastab.data.synthetic import sine

    data = WindowDataModule(
        sine(400, seed=1), context_length=24, horizon=8, split={"train": 0.7, "test": 0.3}
    )
    result = evaluate(
        drift, data, modes=("free_running", "teacher_forced"), metrics=("mae", "mase")
    )
    origins = data.origins("test")
    assert result.origins.tolist() == origins.tolist()
    expected = slow_per_step(drift, data, "free_running", "original")["mae"][0]
    (target,) = data.target_columns
    np.testing.assert_allclose(
        values_of(result.table, "free_running", "mae", target), expected, rtol=1e-5
    )
    assert set(result.table["dataset"]) == {data.name}


def test_smape_in_scaled_units_is_a_one_line_error(standin_data, drift):
    with pytest.raises(ConfigError) as caught:
        evaluate(drift, standin_data, metrics=("mae", "smape"), units="scaled")
    assert str(caught.value) == (
        "metric 'smape' is meaningless with units: scaled (z-scores cross zero, so the "
        "percentage explodes); use units: original, or mae, rmse or mase"
    )
    assert "\n" not in str(caught.value)
