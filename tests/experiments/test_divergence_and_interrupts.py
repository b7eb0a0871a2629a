"""Exploding training is recorded as diverged; Ctrl-C during training exits 130 with its line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import torch

from forecastab import cli
from forecastab.experiments.config import validate_config
from forecastab.experiments.runner import run_experiment
from forecastab.models.divergence import DivergenceMonitor, TrainingDiverged

INTERRUPTED = "forecastab: interrupted; completed runs are kept, rerun to continue\n"


class _Losses(pl.LightningModule):
    """A module whose training losses are given: the monitor sees exactly these."""

    def __init__(self, losses: list[float]) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(()))
        self.losses = losses

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        return self.weight * 0 + self.losses[self.global_step]

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(torch.zeros(len(self.losses), 1), batch_size=1)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


@pytest.mark.parametrize(
    ("losses", "step", "what"),
    [
        ([1.0, 0.5, float("nan"), 1.0], 2, "train loss nan is not finite"),
        ([1.0, float("inf")], 1, "train loss inf is not finite"),
        ([1.0, 2.0, 3e12], 2, "train loss 3e+12 exceeds the bound 1e+12"),
    ],
)
def test_divergence_monitor_names_the_step(losses: list[float], step: int, what: str) -> None:
    trainer = pl.Trainer(
        max_epochs=1,
        callbacks=[DivergenceMonitor()],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    with pytest.raises(TrainingDiverged) as raised:
        trainer.fit(_Losses(losses))
    assert raised.value.step == step
    assert str(raised.value).startswith(f"training diverged at step {step} (epoch 0): {what}; ")


def test_exploding_training_is_recorded_as_diverged(
    tmp_path: Path,
    make_config: Callable[..., dict],
    config_file: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Values near 1e30 unscaled: the loss is inf from the first step (the issue's case)."""
    csv = tmp_path / "huge.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "date": pd.date_range("2020-01-01", periods=160, freq="D"),
            "y": 1e30 * (1 + rng.random(160)),
        }
    ).to_csv(csv, index=False)
    config = make_config(strategies=make_config()["strategies"][:1])
    config["data"].update(source=str(csv), scaling="none")
    out = tmp_path / "out"
    status = cli.main(["run", str(config_file(config)), "--out", str(out), "--quiet"])
    assert status == 1
    assert "0 skipped, 1 failed (1 diverged)" in capsys.readouterr().out
    error = (out / "runs" / "gru__tf__seed0" / "error.txt").read_text().strip().splitlines()[-1]
    assert error.startswith(
        "forecastab.models.divergence.TrainingDiverged: training diverged at step 0"
    )
    summary = (out / "summary.md").read_text()
    assert "## Diverged runs" in summary and "training diverged at step 0 (epoch 0)" in summary
    assert "## Failed runs" not in summary
    # recorded in results.csv too: every row of the run, each NaN
    results = pd.read_csv(out / "results.csv")
    rows = results[results["model"] == "gru"]
    assert set(rows["mode"]) == set(config["evaluation"]["modes"])
    assert len(rows) > 0 and rows["value"].isna().all()
    assert (out / "runs" / "gru__tf__seed0" / "DONE").exists()
    # the same config diverges the same way: a rerun keeps the record instead of retraining
    assert cli.main(["run", str(config_file(config)), "--out", str(out), "--quiet"]) == 0
    assert "training diverged at step 0" in (out / "summary.md").read_text()
    capsys.readouterr()
    # U9: compare said "no series shares a dataset and seeds"; it names the diverged run
    for extra in ([], ["--reference", "naive/baseline"]):
        assert cli.main(["compare", str(out), *extra]) == 2
        assert capsys.readouterr().err.strip() == (
            f"forecastab: error: nothing to compare in '{out}': 1 run(s) diverged "
            "(gru__tf__seed0); a diverged run keeps no errors to compare (see summary.md): "
            "lower the learning rate or add gradient clipping and rerun"
        )


def test_failures_of_an_earlier_grid_are_not_reported_again(
    tmp_path: Path, make_config: Callable[..., dict]
) -> None:
    """A run that failed under an earlier grid of the same --out and is not in this one."""
    out = tmp_path / "out"
    config = validate_config(make_config(strategies=make_config()["strategies"][:1], baselines=[]))
    stale = out / "runs" / "dropped__tf__seed0"
    stale.mkdir(parents=True)
    (stale / "error.txt").write_text("Traceback ...\nValueError: an earlier grid's failure\n")
    run_experiment(config, out, progress=False)
    summary = (out / "summary.md").read_text()
    assert "dropped" not in summary and "## Failed runs" not in summary
    assert (stale / "error.txt").exists()  # nothing outside the grid is touched
    (out / "grid.txt").unlink()  # no record of the grid (an older folder): everything is listed
    from forecastab.experiments.report import write_summary

    assert "an earlier grid's failure" in write_summary(out).read_text()


def test_infinite_learning_rate_diverges_on_the_second_step(
    tmp_path: Path, make_config: Callable[..., dict]
) -> None:
    config = make_config(strategies=make_config()["strategies"][:1], baselines=[])
    config["models"][0]["learning_rate"] = 1e30  # Adam moves every weight by 1e30 at once
    result = run_experiment(validate_config(config), tmp_path / "out", progress=False)
    [outcome] = result.outcomes
    assert outcome.status == "diverged"
    assert "training diverged at step 1 (epoch 0)" in (outcome.error or "")


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_during_training_exits_130_with_the_line(
    tmp_path: Path,
    make_config: Callable[..., dict],
    config_file: Callable[..., Path],
    workers: int,
) -> None:
    config = make_config(
        baselines=[],
        trainer={"max_epochs": 500, "accelerator": "cpu"},
        executor={"workers": workers},
    )
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "forecastab",
        "run",
        str(config_file(config)),
        "--out",
        str(out),
        "--quiet",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # a finished epoch's checkpoint: training is under way
    _wait_for(out / "runs" / "gru__tf__seed0" / "checkpoints" / "model.ckpt", process)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole process group
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert stderr.endswith(INTERRUPTED) and "Traceback" not in stderr
    assert not list((out / "runs").glob("*/error.txt"))  # no misleading error files
    deadline = time.monotonic() + 10
    while True:  # no worker left behind (the group is the parent, its workers and helpers)
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        left = subprocess.run(
            ["ps", "-o", "pid,args", "-g", str(process.pid)], capture_output=True, text=True
        ).stdout
        assert time.monotonic() < deadline, left
        time.sleep(0.1)
