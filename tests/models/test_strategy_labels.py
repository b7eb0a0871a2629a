"""Models trained from Python carry their strategy into result rows and legends, and a fit from
Python prints neither Lightning's model summary nor its checkpoint chatter."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import pytorch_lightning as pl

from forecastab.data import WindowDataModule
from forecastab.evaluation import evaluate
from forecastab.models import ForecastModule, RNNConfig
from forecastab.plotting import plot_horizon_error
from forecastab.teacher_forcing import TeacherForcingScheduler, linear

NOISE = {"method": "noise_injection", "noise_injection": {"std": 0.1}}


def _module(strategy=None, **kwargs) -> ForecastModule:
    return ForecastModule(
        RNNConfig(hidden_size=4), context_length=12, horizon=4, strategy=strategy, **kwargs
    )


@pytest.mark.parametrize(
    ("strategy", "ratio", "label"),
    [
        (NOISE, 1.0, "noise_injection"),
        ({"name": "noisy", **NOISE}, 1.0, "noisy"),
        ({"teacher_forcing": {"schedule": "linear", "k": 1.0, "c": 0.5}}, 1.0,
         "scheduled_sampling_linear"),
        ({"teacher_forcing": {"schedule": "constant", "ratio": 1.0}}, 0.3, "teacher_forcing"),
        ({"teacher_forcing": {"schedule": "constant", "ratio": 0.0}}, 1.0, "free_running"),
        (None, 1.0, "teacher_forcing"),
        (None, 0.0, "free_running"),
        (None, 0.5, "scheduled_sampling_ratio_0.5"),
    ],
)
def test_label_comes_from_the_strategy_spec(strategy, ratio, label) -> None:
    assert _module(strategy, teacher_forcing_ratio=ratio).strategy_label == label


def test_an_external_schedule_names_the_label(fast_trainer_kwargs) -> None:
    dm = WindowDataModule("sine", context_length=12, horizon=4, batch_size=256)
    model = _module()
    trainer = pl.Trainer(
        max_epochs=1, callbacks=[TeacherForcingScheduler(linear(k=1.0, c=0.5))],
        **fast_trainer_kwargs,
    )
    trainer.fit(model, dm)
    assert model.strategy_label == "scheduled_sampling_linear"


def test_two_results_concatenate_and_the_legend_names_the_strategy() -> None:
    dm = WindowDataModule("sine", context_length=12, horizon=4, batch_size=256)
    tables = [
        evaluate(_module(spec), dm, metrics=("rmse",), stride=50).table
        for spec in ({"teacher_forcing": {"schedule": "constant", "ratio": 1.0}}, NOISE)
    ]
    table = pd.concat(tables, ignore_index=True)
    assert sorted(table["strategy"].unique()) == ["noise_injection", "teacher_forcing"]
    figure = plot_horizon_error(table, metric="rmse")
    legends = [*figure.legends, *(ax.get_legend() for ax in figure.axes if ax.get_legend())]
    entries = [text.get_text() for legend in legends for text in legend.get_texts()]
    plt.close(figure)
    assert "trained with noise_injection" in entries, entries


def test_labels_override_the_defaults() -> None:
    dm = WindowDataModule("sine", context_length=12, horizon=4, batch_size=256)
    table = evaluate(_module(NOISE), dm, metrics=("rmse",), stride=50,
                     labels={"strategy": "noise 0.1", "seed": 3}).table
    assert set(table["strategy"]) == {"noise 0.1"} and set(table["seed"]) == {3}


QUIET_FIT = """
import pytorch_lightning as pl
import forecastab
from forecastab.data import WindowDataModule
from forecastab.evaluation import evaluate
from forecastab.models import ForecastModule, RNNConfig
dm = WindowDataModule("sine", context_length=12, horizon=4, batch_size=256)
model = ForecastModule(RNNConfig(hidden_size=4), context_length=12, horizon=4,
                       strategy={"method": "noise_injection", "noise_injection": {"std": 0.1}})
trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False)  # the model summary left at Lightning's default
trainer.fit(model, dm)
trainer.save_checkpoint("model.ckpt")
loaded = forecastab.load("model.ckpt")
print("LABELS", sorted(evaluate(loaded, dm, metrics=("rmse",), stride=50).table["strategy"].unique()))
"""


def test_fit_and_save_from_python_are_quiet(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", QUIET_FIT], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "Total params" not in output and "Trainable params" not in output, output
    assert "weights_only" not in output, output
    assert done.stdout.strip().splitlines()[-1] == "LABELS ['noise_injection']"
