"""The contract every forecaster meets, through the path a user takes.

Fit with a real Trainer, forecast through the uniform interface, save a checkpoint, reload it,
and get the identical forecast back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
from strategy_examples import example

from forecastab.data import WindowDataModule
from forecastab.models import ForecastModule, model_from_spec
from forecastab.strategies import METHODS, STRATEGIES

L, H = 24, 12

FORECASTERS = {
    "gru": {"type": "rnn", "cell": "gru", "hidden_size": 16},
    "lstm": {"type": "rnn", "cell": "lstm", "hidden_size": 16, "num_layers": 2, "dropout": 0.1},
    "transformer": {"type": "transformer", "d_model": 16, "nhead": 2, "dim_feedforward": 32},
    "direct": {"type": "direct", "cell": "gru", "hidden_size": 16},
    "gru_gaussian": {"type": "rnn", "cell": "gru", "hidden_size": 16, "distribution": "gaussian"},
    "transformer_student_t": {
        "type": "transformer",
        "d_model": 16,
        "nhead": 2,
        "dim_feedforward": 32,
        "distribution": "student_t",
    },
    "direct_gaussian": {"type": "direct", "cell": "gru", "hidden_size": 16,
                        "distribution": "gaussian"},
}


def sine_frame(n_targets: int) -> pd.DataFrame:
    """300 seeded points of sine plus noise, one column per target."""
    rng = np.random.default_rng(0)
    t = np.arange(300)
    return pd.DataFrame(
        {
            f"x{c}": np.sin(2 * np.pi * t / (20 + 5 * c)) + 0.1 * rng.standard_normal(300)
            for c in range(n_targets)
        }
    )


@pytest.mark.parametrize(
    ("model", "n_targets", "sampling"),
    [
        ("gru", 1, "per_step"),
        ("gru", 2, "per_sequence"),
        ("lstm", 1, "prefix"),
        ("transformer", 1, "two_pass"),
        ("direct", 1, "per_step"),
        ("gru_gaussian", 2, "per_step"),
        ("transformer_student_t", 1, "two_pass"),
        ("direct_gaussian", 1, "per_step"),
    ],
)
def test_forecaster_contract(model, n_targets, sampling, fast_trainer_kwargs, tmp_path):
    pl.seed_everything(0, verbose=False)
    data = WindowDataModule(
        sine_frame(n_targets),
        context_length=L,
        horizon=H,
        split={"train": 0.6, "val": 0.2, "test": 0.2},
        batch_size=32,
    )
    module = model_from_spec(
        {"name": model, **FORECASTERS[model], "learning_rate": 0.01},
        context_length=L,
        horizon=H,
        n_targets=n_targets,
        sampling=sampling,
    )
    module.teacher_forcing_ratio = 0.5
    initial = {k: v.clone() for k, v in module.state_dict().items()}
    trainer = pl.Trainer(max_epochs=2, **fast_trainer_kwargs)
    trainer.fit(module, datamodule=data)

    assert any(not torch.equal(initial[k], v) for k, v in module.state_dict().items())
    logged = trainer.callback_metrics
    for key in (
        "train_loss",
        "val_loss_free_running",
        "val_loss_teacher_forced",
        "val_exposure_gap",
    ):
        assert torch.isfinite(logged[key]), key
    torch.testing.assert_close(
        logged["val_exposure_gap"],
        logged["val_loss_free_running"] - logged["val_loss_teacher_forced"],
    )
    assert module.monitor == "val_loss_free_running"

    origins = data.origins("test")
    forecasts = {
        mode: module.predict_origins(data.values, origins, context_length=L, horizon=H, mode=mode)
        for mode in module.supported_modes
    }
    assert forecasts["free_running"].shape == (len(origins), H, n_targets)
    assert all(np.isfinite(f).all() for f in forecasts.values())
    direct = model.startswith("direct")
    expected_modes = ("free_running",) if direct else ("free_running", "teacher_forced")
    assert module.supported_modes == expected_modes
    # the Lightning predict loop and the uniform interface give the same free-running forecast
    predicted = torch.cat(trainer.predict(module, dataloaders=data.test_dataloader())).numpy()
    np.testing.assert_allclose(predicted, forecasts["free_running"], atol=1e-5)

    path = tmp_path / f"{model}.ckpt"
    trainer.save_checkpoint(path)
    reloaded = ForecastModule.load_from_checkpoint(path)
    assert (reloaded.name, reloaded.config, reloaded.sampling) == (model, module.config, sampling)
    for mode, forecast in forecasts.items():
        again = reloaded.predict_origins(
            data.values, origins, context_length=L, horizon=H, mode=mode
        )
        np.testing.assert_array_equal(again, forecast)
    if module.distribution is not None:
        paths = module.predict_origins(
            data.values, origins, context_length=L, horizon=H, num_samples=8, seed=1
        )
        assert paths.shape == (len(origins), 8, H, n_targets) and np.isfinite(paths).all()
        np.testing.assert_array_equal(
            reloaded.predict_origins(
                data.values, origins, context_length=L, horizon=H, num_samples=8, seed=1
            ),
            paths,
        )


# point networks: the strategies of issue 10 train on the point loss; a method that needs a
# distribution head (reinforce) trains the probabilistic autoregressive networks instead
AUTOREGRESSIVE = [
    name for name, spec in FORECASTERS.items()
    if spec["type"] != "direct" and "distribution" not in spec
]
PROBABILISTIC = [
    name for name, spec in FORECASTERS.items()
    if spec["type"] != "direct" and "distribution" in spec
]
STRATEGY_PAIRS = [
    (model, method)
    for method in METHODS
    for model in (PROBABILISTIC if STRATEGIES[method].needs_distribution else AUTOREGRESSIVE)
]


@pytest.mark.parametrize(("model", "method"), STRATEGY_PAIRS)
def test_every_strategy_trains_every_autoregressive_network(
    model, method, fast_trainer_kwargs, tmp_path
):
    """Fit with the method, forecast, save, reload (strategy rebuilt), identical forecast."""
    pl.seed_everything(0, verbose=False)
    data = WindowDataModule(
        sine_frame(1), context_length=L, horizon=H, split={"train": 0.7, "test": 0.3}, batch_size=32
    )
    module = model_from_spec(
        {"name": model, **FORECASTERS[model], "learning_rate": 0.01},
        context_length=L,
        horizon=H,
        n_targets=1,
        strategy=example(method),
    )
    initial = {k: v.clone() for k, v in module.network.state_dict().items()}
    trainer = pl.Trainer(max_epochs=2, limit_train_batches=3, **fast_trainer_kwargs)
    trainer.fit(module, datamodule=data)
    assert any(not torch.equal(initial[k], v) for k, v in module.network.state_dict().items())
    assert torch.isfinite(trainer.callback_metrics["train_loss"])

    origins = data.origins("test")
    forecast = module.predict_origins(data.values, origins, context_length=L, horizon=H)
    assert forecast.shape == (len(origins), H, 1) and np.isfinite(forecast).all()
    path = tmp_path / f"{model}-{method}.ckpt"
    trainer.save_checkpoint(path)
    reloaded = ForecastModule.load_from_checkpoint(path)
    assert type(reloaded.strategy) is type(module.strategy)
    assert reloaded.strategy.spec() == module.strategy.spec()
    again = reloaded.predict_origins(data.values, origins, context_length=L, horizon=H)
    np.testing.assert_array_equal(again, forecast)
