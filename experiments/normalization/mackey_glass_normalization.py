"""Does per-window normalization hurt a stationary series? tests/models/test_learning.py's setup.

Mackey-Glass (1,500 points, seed 0, split 70/30), a GRU of 32 units, context 20, horizon 15,
8 epochs at learning rate 0.01, teacher forcing and linear scheduled sampling (ratio 1 -> 0), for
each normalization given. Prints the squared error at the last step (scaled units, mean over the
test origins), free-running and teacher-forced: the number test_learning.py asserts on. One of
the measurements behind the choice of the ``normalization`` default (README).

Run: ``python experiments/normalization/mackey_glass_normalization.py none last revin``.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pytorch_lightning as pl

from forecastab.data import WindowDataModule
from forecastab.data.synthetic import mackey_glass
from forecastab.models import ForecastModule, RNNConfig
from forecastab.teacher_forcing.callback import TeacherForcingScheduler
from forecastab.teacher_forcing.schedules import Linear

L, H, EPOCHS = 20, 15, 8


def last_step_errors(data: WindowDataModule, normalization: str, scheduled: bool) -> dict:
    """Squared error at step H over the test origins, per evaluation mode."""
    pl.seed_everything(0, verbose=False)
    module = ForecastModule(
        RNNConfig(cell="gru", hidden_size=32, normalization=normalization),
        context_length=L,
        horizon=H,
        learning_rate=0.01,
    )
    schedule = Linear(k=1.0, c=1.0 / (EPOCHS - 1), floor=0.0, unit="epoch")
    trainer = pl.Trainer(
        max_epochs=EPOCHS,
        callbacks=[TeacherForcingScheduler(schedule)] if scheduled else [],
        limit_val_batches=0,
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
    )
    trainer.fit(module, datamodule=data)
    origins = data.origins("test")
    truth = np.stack([data.values[t + 1 : t + H + 1] for t in origins])  # (N, H, C)
    errors = {}
    for mode in ("free_running", "teacher_forced"):
        forecast = module.predict_origins(
            data.values, origins, context_length=L, horizon=H, mode=mode
        )
        errors[mode] = float(((forecast[:, -1] - truth[:, -1]) ** 2).mean())
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("normalizations", nargs="+", choices=["none", "last", "revin"])
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    data = WindowDataModule(
        mackey_glass(1500, seed=0),
        context_length=L,
        horizon=H,
        split={"train": 0.7, "test": 0.3},
        batch_size=128,
    )
    print("| normalization | strategy | free-running, step 15 | teacher-forced, step 15 |")
    print("|---|---|---|---|")
    for normalization in args.normalizations:
        for scheduled in (False, True):
            errors = last_step_errors(data, normalization, scheduled)
            strategy = "scheduled_sampling" if scheduled else "teacher_forcing"
            print(
                f"| {normalization} | {strategy} | {errors['free_running']:.4f} "
                f"| {errors['teacher_forced']:.4f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
