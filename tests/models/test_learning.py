"""Exposure bias is real and scheduled sampling reduces it: a small learning test on Mackey-Glass.

A GRU trained with teacher forcing predicts one step ahead well, but its errors compound once it
runs free. Linear scheduled sampling (ratio 1 -> 0 over training) lowers the error at the last
horizon step. Measured margins over seeds 0-3 with these settings: free-running / teacher-forced
last-step error 170-410x; scheduled / teacher-forced free-running last-step error 0.28-0.61.
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl

from forecastab.data import WindowDataModule
from forecastab.data.synthetic import mackey_glass
from forecastab.models import ForecastModule, RNNConfig
from forecastab.teacher_forcing.callback import TeacherForcingScheduler
from forecastab.teacher_forcing.schedules import Linear

L, H, EPOCHS = 20, 15, 8


def last_step_errors(
    data: WindowDataModule, trainer_kwargs: dict, callbacks: list[pl.Callback]
) -> dict[str, float]:
    """Mean squared error at step H over the test origins, per evaluation mode."""
    pl.seed_everything(0, verbose=False)
    module = ForecastModule(
        RNNConfig(cell="gru", hidden_size=32), context_length=L, horizon=H, learning_rate=0.01
    )
    # no validation split here, so no validation loop either
    trainer = pl.Trainer(
        max_epochs=EPOCHS, callbacks=callbacks, limit_val_batches=0, **trainer_kwargs
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


def test_scheduled_sampling_reduces_compounding_error(fast_trainer_kwargs):
    data = WindowDataModule(
        mackey_glass(1500, seed=0),
        context_length=L,
        horizon=H,
        split={"train": 0.7, "test": 0.3},
        batch_size=128,
    )
    teacher_forcing = last_step_errors(data, fast_trainer_kwargs, callbacks=[])
    assert teacher_forcing["free_running"] >= 3 * teacher_forcing["teacher_forced"]

    schedule = Linear(k=1.0, c=1.0 / (EPOCHS - 1), floor=0.0, unit="epoch")
    scheduled = last_step_errors(
        data, fast_trainer_kwargs, callbacks=[TeacherForcingScheduler(schedule)]
    )
    assert scheduled["free_running"] < 0.8 * teacher_forcing["free_running"]
