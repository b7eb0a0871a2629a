"""Forecast frames: timestamps continue the data's frequency, values are inverse-scaled forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl

from forecastab.baselines import baseline_from_spec
from forecastab.data import WindowDataModule
from forecastab.errors import ConfigError, DataError
from forecastab.evaluation import evaluate
from forecastab.forecasting import FRAME_COLUMNS, forecast_frame, future_index
from forecastab.models import ForecastModule, RNNConfig

L, H = 8, 4


def _series(freq: str, n: int = 96, columns: tuple[str, ...] = ("y",)) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    steps = np.arange(n)
    data = {
        c: 100 * (k + 1) + 10 * np.sin(steps / 3 + k) + rng.standard_normal(n)
        for k, c in enumerate(columns)
    }
    return pd.DataFrame({"when": pd.date_range("2021-01-01", periods=n, freq=freq), **data})


@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        ("D", ["2021-04-07", "2021-04-08", "2021-04-09", "2021-04-10"]),
        ("h", ["2021-01-05 00:00", "2021-01-05 01:00", "2021-01-05 02:00", "2021-01-05 03:00"]),
        ("MS", ["2029-01-01", "2029-02-01", "2029-03-01", "2029-04-01"]),
    ],
)
def test_future_forecast_continues_daily_hourly_monthly(freq: str, expected: list[str]) -> None:
    frame = _series(freq)
    dm = WindowDataModule(frame, time_column="when", context_length=L, horizon=H)
    naive = baseline_from_spec("naive").fit(dm)
    forecast = naive.predict_frame(frame)  # raw frame, origin None: the end of the data
    assert list(forecast.columns) == FRAME_COLUMNS
    assert (forecast["origin"] == frame["when"].iloc[-1]).all()
    assert list(forecast["timestamp"]) == list(pd.DatetimeIndex(expected))
    assert list(forecast["step"]) == [1, 2, 3, 4]
    assert np.allclose(forecast["forecast"], frame["y"].iloc[-1])  # naive, original units
    assert forecast["actual"].isna().all()  # the future is not in the data


def test_future_index_month_ends_and_numbers() -> None:
    ends = pd.date_range("2023-10-31", periods=3, freq="ME")
    assert future_index(ends, 2).strftime("%Y-%m-%d").tolist() == ["2024-01-31", "2024-02-29"]
    assert future_index(pd.Index([1700, 1701, 1702]), 3).tolist() == [1703, 1704, 1705]
    assert future_index(pd.RangeIndex(10), 1).tolist() == [10]


def test_forecast_frame_layout_rows_per_origin_step_target() -> None:
    index = pd.date_range("2024-01-01", periods=6, freq="D")
    forecasts = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)  # (N, H, C)
    actuals = np.arange(12, dtype=float).reshape(6, 2) * 10
    frame = forecast_frame(forecasts, np.array([2, 4]), index, ["a", "b"], actuals=actuals,
                           quantiles={0.9: forecasts + 1, 0.1: forecasts - 1})
    assert list(frame.columns) == [*FRAME_COLUMNS, "q0.1", "q0.9"]
    assert len(frame) == 12
    row = frame.iloc[7]  # origin 4, step 1, target b
    assert row["origin"] == index[4] and row["timestamp"] == index[5]
    assert (row["step"], row["target"], row["forecast"]) == (1, "b", forecasts[1, 0, 1])
    assert row["actual"] == actuals[5, 1] and row["q0.9"] == forecasts[1, 0, 1] + 1
    assert np.isnan(frame.iloc[8]["actual"])  # origin 4, step 2 is past the data's end


@pytest.fixture(scope="module")
def trained() -> tuple[ForecastModule, WindowDataModule, pd.DataFrame]:
    torch_threads = __import__("torch").get_num_threads()
    frame = _series("h", n=160, columns=("load", "temp"))
    dm = WindowDataModule(frame, time_column="when", context_length=L, horizon=H, batch_size=32)
    pl.seed_everything(0, verbose=False)
    model = ForecastModule(RNNConfig(hidden_size=8), context_length=L, horizon=H, n_targets=2)
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, dm)
    assert __import__("torch").get_num_threads() == torch_threads
    return model, dm, frame


def test_predict_frame_equals_inverse_scaled_forecast(trained) -> None:
    model, dm, frame = trained
    origins = dm.index[[20, 50, 159]]
    forecast = model.predict_frame(frame, origins)
    contexts = np.stack([dm.values[o - L + 1 : o + 1] for o in (20, 50, 159)])  # (3, L, C)
    expected = dm.scaler.inverse_transform(model.forecast(contexts))  # (3, H, C)
    assert np.allclose(forecast["forecast"].to_numpy().reshape(3, H, 2), expected, rtol=1e-6)
    assert list(forecast["target"].unique()) == ["load", "temp"]
    first = forecast[forecast["origin"] == origins[0]]
    assert np.allclose(first["actual"], dm.raw_values[21:25].ravel())
    # values are in original units, about 100 and 200, not z-scores
    assert forecast.groupby("target")["forecast"].mean().round(-2).tolist() == [100.0, 200.0]


def test_predict_frame_from_datamodule_and_evaluation_view_agree(trained) -> None:
    model, dm, frame = trained
    result = evaluate(model, dm, modes=("free_running", "teacher_forced"), metrics=("mae",))
    view = result.frame()
    direct = model.predict_frame(dm, list(dm.index[dm.origins("test")]))
    assert list(view.columns) == FRAME_COLUMNS
    pd.testing.assert_frame_equal(view, direct, check_exact=False, rtol=1e-6)
    assert len(result.frame("teacher_forced")) == len(view)
    with pytest.raises(ConfigError, match="unknown evaluated mode 'scaled'"):
        result.frame("scaled")


def test_predict_frame_errors_are_one_line(trained) -> None:
    model, dm, frame = trained
    with pytest.raises(DataError, match="unknown target column 'temp'"):
        model.predict_frame(frame.drop(columns="temp"))
    with pytest.raises(DataError, match="has 5 rows but the model needs at least 8"):
        model.predict_frame(frame.head(5))
    with pytest.raises(DataError, match="origin '1999-01-01' is not a time in the data"):
        model.predict_frame(frame, "1999-01-01")
    with pytest.raises(DataError, match="has only 3 rows of context but the model needs 8"):
        model.predict_frame(frame, frame["when"].iloc[2])
    with pytest.raises(ConfigError, match="point forecasts only"):
        model.predict_frame(frame, quantiles=[0.1, 0.9])
    untrained = ForecastModule(RNNConfig(hidden_size=4), context_length=L, horizon=H)
    with pytest.raises(ConfigError, match="has no data settings"):
        untrained.predict_frame(frame)


def test_baseline_learns_season_and_settings_from_the_datamodule() -> None:
    frame = _series("h", n=120)
    dm = WindowDataModule(frame, time_column="when", context_length=L, horizon=H)
    seasonal = baseline_from_spec("seasonal_naive").fit(dm)
    assert seasonal.season_length == dm.season_length == 24
    forecast = seasonal.predict_frame(frame)
    assert np.allclose(forecast["forecast"], frame["y"].iloc[-24:-20])
    evaluate(seasonal, dm)  # evaluates without a season_length in the spec
