"""Issue 21's acceptance demo, small: a long CSV of 3 ids of different lengths and a calendar
covariate trains one global GRU and one transformer from Python and from YAML, evaluates free
running per series and over the panel, charts it, and ``forecastab predict`` returns future
forecasts per id in original units equal to the in-process forecasts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import torch

import forecastab
from forecastab.cli import main
from forecastab.data import WindowDataModule
from forecastab.evaluation import evaluate
from forecastab.experiments.config import ExperimentConfig
from forecastab.experiments.runner import run_experiment
from forecastab.models import ForecastModule, RNNConfig, TransformerConfig

LENGTHS = {"north": 150, "south": 120, "west": 96}
L, H = 24, 6


def write_panel(path: Path) -> Path:
    """Hourly daily-cycle series of different lengths, starts and levels, as a long CSV."""
    rng = np.random.default_rng(0)
    parts = []
    for i, (name, length) in enumerate(LENGTHS.items()):
        ds = pd.date_range("2024-03-01", periods=length, freq="h") + pd.Timedelta(hours=5 * i)
        y = 20.0 * (i + 1) + 3.0 * (i + 1) * np.sin(2 * np.pi * ds.hour / 24)
        parts.append(pd.DataFrame({"unique_id": name, "ds": ds, "y": y + rng.normal(size=length)}))
    pd.concat(parts).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_panel(tmp_path_factory.mktemp("panel") / "long.csv")


@pytest.mark.parametrize(
    "network", [RNNConfig(hidden_size=8), TransformerConfig(d_model=8, nhead=2, num_layers=1)]
)
def test_a_global_model_from_python_evaluates_per_series_and_over_the_panel(
    panel_csv: Path, network, fast_trainer_kwargs
) -> None:
    data = WindowDataModule(
        panel_csv, time_column="ds", target="y", context_length=L, horizon=H,
        calendar=["hour", "dayofweek"], split={"train": 0.7, "test": 0.3},
    )  # fmt: skip
    assert data.series_ids == sorted(LENGTHS)
    torch.manual_seed(0)
    model = ForecastModule(network, context_length=L, horizon=H)
    pl.Trainer(max_epochs=1, **fast_trainer_kwargs).fit(model, data)
    assert model.channels.n_future == 2
    table = evaluate(model, data, metrics=["mae", "mase"]).table
    assert set(table["series"]) == {*LENGTHS, "all"}
    assert np.isfinite(table["value"]).all()
    frame = model.predict_frame(data, origin=[data.series_data("west").index[50]], ids=["west"])
    assert set(frame["unique_id"]) == {"west"} and len(frame) == H


@pytest.fixture(scope="module")
def yaml_run(panel_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("panel_run") / "out"
    config = {
        "name": "panel",
        "data": {
            "source": str(panel_csv), "target": "y", "time_column": "ds", "context_length": L,
            "horizon": H, "calendar": ["hour"], "split": {"train": 0.7, "test": 0.3},
        },
        "models": [
            {"name": "gru", "type": "rnn", "hidden_size": 8},
            {"name": "transformer", "type": "transformer", "d_model": 8, "nhead": 2,
             "num_layers": 1},
        ],
        "strategies": [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}],
        "baselines": ["seasonal_naive"],
        "seeds": [0],
        "trainer": {"max_epochs": 1, "accelerator": "cpu"},
        "evaluation": {"modes": ["free_running", "teacher_forced"], "metrics": ["mae", "mase"]},
    }  # fmt: skip
    result = run_experiment(ExperimentConfig.model_validate(config), out, progress=False)
    assert not result.failed
    return out


def test_yaml_results_have_a_series_column_and_a_panel_chart(yaml_run: Path) -> None:
    results = pd.read_csv(yaml_run / "results.csv")
    assert list(results.columns[:2]) == ["dataset", "series"]
    assert set(results["series"]) == {*LENGTHS, "all"}
    assert set(results["model"]) == {"gru", "transformer", "seasonal_naive"}
    assert (yaml_run / "horizon_error.png").stat().st_size > 10_000
    assert "transformer" in (yaml_run / "summary.md").read_text()


def test_predict_gives_future_forecasts_per_id_equal_to_in_process_ones(
    yaml_run: Path, panel_csv: Path, tmp_path: Path
) -> None:
    run_dir = yaml_run / "runs" / "gru__tf__seed0"
    out = tmp_path / "forecast.csv"
    assert main(["predict", str(run_dir), "--data", str(panel_csv), "--out", str(out)]) == 0
    printed = pd.read_csv(out, parse_dates=["origin", "timestamp"])
    assert list(printed.columns[:3]) == ["unique_id", "origin", "timestamp"]
    assert printed.groupby("unique_id").size().to_dict() == {name: H for name in LENGTHS}
    in_process = forecastab.load(run_dir).predict_frame(panel_csv)
    np.testing.assert_allclose(printed["forecast"], in_process["forecast"], rtol=1e-6)
    long = pd.read_csv(panel_csv, parse_dates=["ds"])
    for name, rows in printed.groupby("unique_id"):
        history = long[long["unique_id"] == name]
        last = history["ds"].max()
        assert rows["timestamp"].min() == last + pd.Timedelta(hours=1)  # the future
        level = history["y"].mean()
        assert abs(rows["forecast"].mean() - level) < 0.5 * level  # original units
    chosen = forecastab.load(run_dir).predict_frame(panel_csv, ids=["south"])
    assert set(chosen["unique_id"]) == {"south"}


def test_one_series_with_covariates_keeps_the_single_series_outputs(
    panel_csv: Path, tmp_path: Path, fast_trainer_kwargs
) -> None:
    # the MS setting: one target, past covariates, calendar future covariates, no ids
    long = pd.read_csv(panel_csv)
    one = long[long["unique_id"] == "north"].drop(columns="unique_id")
    one = one.assign(load=np.random.default_rng(0).normal(size=len(one)))
    data = WindowDataModule(
        one, time_column="ds", target="y", context_length=L, horizon=H,
        covariates={"past": ["load"]}, calendar=["hour"], split={"train": 0.7, "test": 0.3},
    )  # fmt: skip
    assert not data.has_ids and data.channels.n_past == 1 and data.channels.n_future == 1
    model = ForecastModule(RNNConfig(hidden_size=4), context_length=L, horizon=H)
    pl.Trainer(max_epochs=1, limit_train_batches=2, **fast_trainer_kwargs).fit(model, data)
    from forecastab.evaluation.evaluate import TABLE_COLUMNS

    assert list(evaluate(model, data).table.columns) == TABLE_COLUMNS
    frame = model.predict_frame(one)
    assert list(frame.columns[:2]) == ["origin", "timestamp"] and len(frame) == H


def test_compare_tests_the_panel_aggregate_against_a_baseline(yaml_run: Path) -> None:
    # the pooled origins of 3 series are not one time line: compare pairs them per time
    assert main(["compare", str(yaml_run), "--reference", "seasonal_naive/baseline"]) == 0
    table = pd.read_csv(yaml_run / "comparisons.csv")
    assert set(table["model"]) == {"gru", "transformer"}
    assert len(table) == 2 * H and table["p_value"].notna().all()
    errors = np.load(yaml_run / "runs" / "gru__tf__seed0" / "errors.npz")
    assert sorted(set(errors["series"])) == sorted(LENGTHS)
    per_series = [errors["errors"][errors["series"] == name] for name in LENGTHS]
    baseline = np.load(next((yaml_run / "runs").glob("seasonal_naive*")) / "errors.npz")
    theirs = [baseline["errors"][baseline["series"] == name] for name in LENGTHS]
    step1 = np.mean([(o[:, 0] ** 2 - t[:, 0] ** 2).mean() for o, t in zip(per_series, theirs)])
    row = table[(table["model"] == "gru") & (table["step"] == 1)]
    np.testing.assert_allclose(row["mean_difference"], step1, rtol=1e-5)
