"""n_targets comes from the data at fit time; a contradicting value fails before training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl

from forecastab.data import WindowDataModule
from forecastab.errors import ConfigError
from forecastab.models import ForecastModule, TransformerConfig


def _two_targets() -> WindowDataModule:
    steps = np.arange(120)
    frame = pd.DataFrame({"load": 110 + np.sin(steps / 4), "temp": 17 + np.cos(steps / 5)})
    return WindowDataModule(frame, context_length=8, horizon=4, batch_size=32)


def test_n_targets_left_out_is_taken_from_the_data(fast_trainer_kwargs) -> None:
    dm = _two_targets()
    model = ForecastModule(TransformerConfig(d_model=8, nhead=2, num_layers=1), context_length=8,
                           horizon=4)
    pl.Trainer(max_steps=2, **fast_trainer_kwargs).fit(model, dm)
    assert model.n_targets == 2 and model.hparams["n_targets"] == 2
    assert model.predict_frame(dm)["target"].tolist() == ["load", "temp"] * 4


def test_given_n_targets_that_the_data_contradicts_fails_before_training(fast_trainer_kwargs) -> None:
    model = ForecastModule(TransformerConfig(d_model=8, nhead=2, num_layers=1), context_length=8,
                           horizon=4, n_targets=1)
    trainer = pl.Trainer(max_steps=2, **fast_trainer_kwargs)
    with pytest.raises(ConfigError) as caught:
        trainer.fit(model, _two_targets())
    assert str(caught.value) == (
        "model 'transformer' was built for n_targets=1 but the data has 2 target column(s) "
        "(load, temp); leave n_targets out to take it from the data, or pass n_targets=2"
    )
    assert trainer.global_step == 0
