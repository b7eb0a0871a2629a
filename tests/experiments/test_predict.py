"""Self-contained runs: a checkpoint reloaded in a fresh process forecasts a raw CSV like the run did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import forecastab
from forecastab.cli import main
from forecastab.data import WindowDataModule
from forecastab.errors import DataError
from forecastab.experiments.config import ExperimentConfig
from forecastab.experiments.runner import run_experiment

FRESH_PROCESS = """
import sys
import pandas as pd
import forecastab
model = forecastab.load(sys.argv[1])
origins = pd.read_csv(sys.argv[3])["origin"].tolist()
model.predict_frame(sys.argv[2], origins).to_csv(sys.argv[4], index=False)
"""


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    folder = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(0)
    steps = np.arange(160)
    csv = folder / "series.csv"
    pd.DataFrame({
        "date": pd.date_range("2020-01-01", periods=160, freq="D"),
        "y": 50 + 20 * np.sin(2 * np.pi * steps / 12) + rng.standard_normal(160),
    }).to_csv(csv, index=False)
    config = {
        "name": "predict",
        "data": {"source": str(csv), "target": "y", "time_column": "date", "context_length": 12,
                 "horizon": 6, "split": {"train": 0.6, "val": 0.1, "test": 0.3}, "batch_size": 32},
        "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
        "strategies": [{"name": "ss", "teacher_forcing": {
            "schedule": "linear", "k": 1.0, "c": 0.5, "floor": 0.0, "unit": "epoch"}}],
        "seeds": [0],
        "trainer": {"max_epochs": 2, "accelerator": "cpu"},
        "evaluation": {"modes": ["free_running"], "metrics": ["mae"]},
    }
    result = run_experiment(ExperimentConfig.model_validate(config), folder / "out", progress=False)
    assert not result.failed
    return folder / "out" / "runs" / "gru__ss__seed0", csv, config


def test_fresh_process_reload_forecasts_like_the_run(finished_run, tmp_path: Path) -> None:
    run_dir, csv, config = finished_run
    data = config["data"]
    dm = WindowDataModule(csv, target="y", time_column="date", context_length=data["context_length"],
                          horizon=data["horizon"], split=data["split"])
    origins = pd.DataFrame({"origin": dm.index[dm.origins("test")].strftime("%Y-%m-%d")})
    origins.to_csv(tmp_path / "origins.csv", index=False)
    out = tmp_path / "fresh.csv"
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(run_dir), str(csv), str(tmp_path / "origins.csv"),
         str(out)], capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    fresh = pd.read_csv(out, parse_dates=["origin", "timestamp"])
    assert len(fresh) == len(origins) * data["horizon"]
    # the run's own free-running MAE per step, recomputed from the fresh process's forecasts
    metrics = pd.read_csv(run_dir / "metrics.csv")
    run_mae = metrics.query("mode == 'free_running' and metric == 'mae'").sort_values("step")
    fresh_mae = (fresh["forecast"] - fresh["actual"]).abs().groupby(fresh["step"]).mean()
    np.testing.assert_allclose(fresh_mae.to_numpy(), run_mae["value"].to_numpy(), rtol=1e-5)
    # and the same numbers in original units as an in-process evaluation of the checkpoint
    model = forecastab.load(run_dir)
    assert model.data_spec.target_columns == ("y",) and model.data_spec.frequency == "D"
    assert model.strategy_spec["name"] == "ss"
    assert model.teacher_forcing_ratio == 0.5  # the ratio at the end of epoch 2, not 1.0
    view = forecastab.evaluation.evaluate(model, dm).frame()
    np.testing.assert_allclose(fresh["forecast"], view["forecast"], rtol=1e-6)

    # `forecastab predict` writes the same frame
    cli_out = tmp_path / "cli.csv"
    argv = ["predict", str(run_dir), "--data", str(csv), "--out", str(cli_out)]
    for origin in origins["origin"]:
        argv += ["--origin", origin]
    assert main(argv) == 0
    pd.testing.assert_frame_equal(pd.read_csv(cli_out), pd.read_csv(out))


def test_predict_without_origin_forecasts_the_next_days(finished_run, tmp_path, capsys) -> None:
    run_dir, csv, config = finished_run
    assert main(["predict", str(run_dir / "checkpoints" / "model.ckpt"), "--data", str(csv)]) == 0
    frame = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    last = pd.read_csv(csv)["date"].iloc[-1]
    assert (frame["origin"] == last).all()
    expected = pd.date_range(last, periods=config["data"]["horizon"] + 1, freq="D")[1:]
    assert frame["timestamp"].tolist() == expected.strftime("%Y-%m-%d").tolist()


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("forecastab: error: "), err
    return err[0]


def test_predict_bad_input_is_one_line_with_status_2(finished_run, tmp_path, capsys) -> None:
    run_dir, csv, _ = finished_run
    frame = pd.read_csv(csv)
    frame.rename(columns={"y": "load"}).to_csv(tmp_path / "no_target.csv", index=False)
    frame.drop(columns="date").to_csv(tmp_path / "no_time.csv", index=False)
    frame.head(5).to_csv(tmp_path / "short.csv", index=False)
    not_ckpt = tmp_path / "model.ckpt"
    not_ckpt.write_text("not a checkpoint\n")
    cases = [
        ([str(run_dir), "--data", str(tmp_path / "no_target.csv")], "unknown target column 'y'"),
        ([str(run_dir), "--data", str(tmp_path / "no_time.csv")], "unknown time column 'date'"),
        ([str(run_dir), "--data", str(tmp_path / "short.csv")], "has 5 rows but the model needs at least 12"),
        ([str(not_ckpt), "--data", str(csv)], "is not a readable forecastab checkpoint"),
        ([str(run_dir.parent.parent), "--data", str(csv)], "is an experiment folder with 1 trained run"),
        ([str(run_dir), "--data", str(csv), "--origin", "1990-01-01"], "is not a time in the data"),
    ]
    for argv, message in cases:
        assert main(["predict", *argv]) == 2
        assert message in _error(capsys)


def test_load_never_unpickles_arbitrary_objects(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self):
            return (print, ("unpickled!",))

    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "x": Payload()}, path)
    with pytest.raises(DataError, match="is not a readable forecastab checkpoint"):
        forecastab.load(path)


def test_old_checkpoint_names_what_is_missing(finished_run, tmp_path: Path) -> None:
    run_dir, _, _ = finished_run
    checkpoint = torch.load(run_dir / "checkpoints" / "model.ckpt", weights_only=True)
    old = {k: v for k, v in checkpoint.items() if k != "forecastab"}
    torch.save(old, tmp_path / "old.ckpt")
    with pytest.raises(DataError, match="has no 'forecastab' entry with the data settings"):
        forecastab.load(tmp_path / "old.ckpt")
    partial = dict(checkpoint, forecastab={**checkpoint["forecastab"]})
    partial["forecastab"]["data"] = {
        k: v for k, v in checkpoint["forecastab"]["data"].items() if k not in ("scaler_mean", "time_column")
    }
    torch.save(partial, tmp_path / "partial.ckpt")
    with pytest.raises(DataError, match="lacks the data settings time_column, scaler_mean"):
        forecastab.load(tmp_path / "partial.ckpt")


def test_predict_refuses_another_frequency_and_horizon_0(finished_run, tmp_path, capsys) -> None:
    """W4: hourly data for a daily-trained model; W5: ``--horizon 0`` used the trained one."""
    run_dir, csv, _ = finished_run
    hourly = pd.read_csv(csv)
    hourly["date"] = pd.date_range("2020-01-01", periods=len(hourly), freq="h")
    hourly.to_csv(tmp_path / "hourly.csv", index=False)
    assert main(["predict", str(run_dir), "--data", str(tmp_path / "hourly.csv")]) == 2
    assert "the data's time step is 'h' but the model was trained on 'D' data" in _error(capsys)
    for horizon in ("0", "-3"):
        assert main(["predict", str(run_dir), "--data", str(csv), "--horizon", horizon]) == 2
        assert f"horizon must be a positive integer, got {horizon}" in _error(capsys)


def test_predict_refuses_an_unfinished_run_unless_allowed(finished_run, tmp_path, capsys) -> None:
    """W8: a run without DONE holds a mid-training checkpoint."""
    import shutil

    run_dir, csv, _ = finished_run
    unfinished = tmp_path / "gru__ss__seed0"
    shutil.copytree(run_dir, unfinished)
    (unfinished / "DONE").unlink()
    for model in (unfinished, unfinished / "checkpoints" / "model.ckpt"):
        assert main(["predict", str(model), "--data", str(csv)]) == 2
        assert "has not finished (no DONE)" in _error(capsys)
    assert main(["predict", str(unfinished), "--data", str(csv), "--allow-unfinished"]) == 0
    captured = capsys.readouterr()
    assert "forecastab: warning: forecasting with the unfinished run" in captured.err
    assert captured.out.startswith("origin,")


def test_predict_out_never_replaces_a_device_fifo_or_link(finished_run, tmp_path, capsys) -> None:
    """S3: ``--out /dev/full`` replaced the device node; a FIFO and a link stand in for it."""
    import os
    import stat

    run_dir, csv, _ = finished_run
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me\n")
    link = tmp_path / "forecast.csv"
    link.symlink_to(outside)
    for target, kind in ((fifo, "a FIFO"), (link, "a symbolic link"), (tmp_path, "a folder")):
        assert main(["predict", str(run_dir), "--data", str(csv), "--out", str(target)]) == 2
        assert f"is {kind}; forecastab writes only regular files" in _error(capsys)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink()
    assert outside.read_text() == "keep me\n"


def test_a_panel_fitted_on_a_bundled_set_predicts_from_its_csv_file(fast_trainer_kwargs) -> None:
    # bundled ETTh1 keeps its timestamps in the index; its CSV has them in the `date` column
    import pytorch_lightning as pl

    from forecastab.data.registry import datasets_dir
    from forecastab.models import ForecastModule, LinearConfig

    data = WindowDataModule(
        "etth1", target=["HUFL", "OT"], series="columns", context_length=24, horizon=6,
        split="informer",
    )  # fmt: skip
    torch.manual_seed(0)
    model = ForecastModule(LinearConfig(variant="nlinear"), context_length=24, horizon=6)
    pl.Trainer(max_epochs=1, limit_train_batches=2, **fast_trainer_kwargs).fit(model, data)
    assert model.data_spec.time_column == "date"
    frame = model.predict_frame(datasets_dir() / "ETTh1.csv")
    assert sorted(set(frame["unique_id"])) == ["HUFL", "OT"]
    assert frame["timestamp"].min() == pd.Timestamp("2018-06-26 20:00")
