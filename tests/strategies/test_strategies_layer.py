"""The strategy layer: the registry and its one-line errors, the spec saved in checkpoints, and a
resumed fit that continues every method exactly."""

from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from strategy_examples import EXAMPLES, example
from torch.utils.data import DataLoader, TensorDataset

from forecastab.errors import ConfigError
from forecastab.models import ForecastModule, RNNConfig, model_from_spec
from forecastab.strategies import METHODS, STRATEGIES, ScheduledSampling, strategy_from_spec
from forecastab.teacher_forcing import TeacherForcingScheduler, rollout

L, H = 12, 6


def test_every_method_has_an_example_and_a_config() -> None:
    assert set(EXAMPLES) == set(METHODS)
    for method, cls in STRATEGIES.items():
        assert cls.method == method
        strategy = strategy_from_spec(example(method))
        assert type(strategy) is cls
        # the spec a checkpoint saves rebuilds the same parameters
        assert strategy_from_spec(strategy.spec()).config == strategy.config


def test_legacy_entries_are_scheduled_sampling() -> None:
    strategy = strategy_from_spec(
        {
            "name": "ss",
            "teacher_forcing": {"schedule": "constant", "ratio": 0.5},
            "sampling": "prefix",
        }
    )
    assert isinstance(strategy, ScheduledSampling)
    assert strategy.config.sampling == "prefix" and strategy.config.detach is False
    assert strategy.spec() == {
        "method": "scheduled_sampling",
        "scheduled_sampling": {
            "teacher_forcing": {"schedule": "constant", "ratio": 0.5},
            "sampling": "prefix",
            "detach": False,
            "coins": "per_batch",
        },
    }
    # the same parameters under the method's own key build the same strategy
    block = strategy_from_spec(
        {
            "method": "scheduled_sampling",
            "scheduled_sampling": strategy.spec()["scheduled_sampling"],
        }
    )
    assert block.config == strategy.config


BAD_SPECS = [
    (
        {"method": "profesor_forcing"},
        "unknown strategy method 'profesor_forcing' (did you mean 'professor_forcing'?); valid: "
        + ", ".join(sorted(METHODS)),
    ),
    (
        {"teacher_forcing": {"schedule": "constant", "ratio": 1.0}, "detatch": True},
        "unknown key 'detatch' in strategy (did you mean 'detach'?); valid: ",
    ),
    (
        {"method": "scheduled_sampling", "scheduled_sampling": {"detatch": True}},
        "unknown key 'detatch' in scheduled_sampling (did you mean 'detach'?); valid: coins, "
        "detach, sampling, teacher_forcing",
    ),
    (
        {"detach": "yes"},
        "scheduled_sampling: detach must be true or false, got 'yes'",
    ),
    (
        {"sampling": "per_stepp"},
        "scheduled_sampling: unknown sampling mode 'per_stepp' (did you mean 'per_step'?); "
        "valid: per_sequence, per_step, prefix, two_pass",
    ),
    (
        {
            "scheduled_sampling": {
                "teacher_forcing": {"schedule": "constant", "ratio": 0.5},
                "coins": "per_epch",
            }
        },
        "scheduled_sampling: unknown coins 'per_epch' (did you mean 'per_epoch'?); "
        "valid: per_batch, per_epoch",
    ),
    (
        {"detach": True, "scheduled_sampling": {"detach": False}},
        "'detach' is given twice, at the top of the strategy and under 'scheduled_sampling'; "
        "keep one",
    ),
    (
        {"method": "professor_forcing", "professor_forcing": {"warmup_epochs": -1}},
        "professor_forcing: warmup_epochs must be an integer >= 0, got -1",
    ),
    (
        {"method": "professor_forcing", "professor_forcing": {"detach": "yes"}},
        "professor_forcing: detach must be true or false, got 'yes'",
    ),
    ([1, 2], "a strategy must be a mapping such as {method: scheduled_sampling}, got [1, 2]"),
]


@pytest.mark.parametrize(("spec", "message"), BAD_SPECS)
def test_bad_specs_are_one_line_errors(spec, message) -> None:
    with pytest.raises(ConfigError) as caught:
        strategy_from_spec(spec)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_module_delegates_to_its_strategy() -> None:
    spec = {"teacher_forcing": {"schedule": "exponential", "k": 0.5}, "detach": True}
    module = ForecastModule(RNNConfig(hidden_size=4), context_length=L, horizon=H, strategy=spec)
    assert isinstance(module.strategy, ScheduledSampling) and module.strategy.config.detach
    assert module.hparams["strategy"] == module.strategy.spec()
    (callback,) = module.configure_callbacks()
    assert isinstance(callback, TeacherForcingScheduler) and callback.schedule(1) == 0.5
    assert isinstance(module.configure_optimizers(), torch.optim.Adam)
    with pytest.raises(ConfigError, match="give the sampling mode inside the strategy"):
        ForecastModule(
            RNNConfig(hidden_size=4), context_length=L, horizon=H, strategy=spec, sampling="prefix"
        )
    with pytest.raises(ConfigError, match="already trains another forecaster"):
        ForecastModule(
            RNNConfig(hidden_size=4), context_length=L, horizon=H, strategy=module.strategy
        )


def _loader(seed: int = 0) -> DataLoader:
    """Windows of a noisy sine in a fixed order (a shuffled loader's order is not resumable)."""
    rng = np.random.default_rng(seed)
    t = np.arange(160 + L + H)
    series = np.sin(2 * np.pi * t / 17) + 0.1 * rng.standard_normal(len(t))
    windows = np.lib.stride_tricks.sliding_window_view(series, L + H)[..., None]  # (N, L+H, 1)
    windows = torch.tensor(windows, dtype=torch.float32)
    return DataLoader(TensorDataset(windows[:, :L], windows[:, L:]), batch_size=32)


class _Recorder(Callback):
    """Reseeds torch before every batch (so random draws match) and records step losses."""

    def __init__(self) -> None:
        self.losses: list[tuple[int, float]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        torch.manual_seed(1000 * trainer.current_epoch + batch_idx)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append(
            (trainer.current_epoch, float(trainer.callback_metrics["train_loss_step"]))
        )


PER_EPOCH = {
    "method": "scheduled_sampling",
    "scheduled_sampling": {
        "teacher_forcing": {"schedule": "linear", "k": 1.0, "c": 0.3, "flipped": True},
        "coins": "per_epoch",
    },
}
"""An increasing curriculum whose coins are drawn once per epoch (Teutsch & Mader 2022)."""

RESUMED = {**{method: example(method) for method in METHODS}, "per_epoch_coins": PER_EPOCH}


def _module(method: str) -> ForecastModule:
    pl.seed_everything(0, verbose=False)
    # a method that needs a distribution head (reinforce) gets a Gaussian one
    strategy = STRATEGIES[RESUMED[method].get("method", "scheduled_sampling")]
    head = {"distribution": "gaussian"} if strategy.needs_distribution else {}
    return model_from_spec(
        {"type": "rnn", "hidden_size": 8, "learning_rate": 0.01, **head},
        context_length=L,
        horizon=H,
        n_targets=1,
        strategy=RESUMED[method],
    )


@pytest.mark.parametrize("method", list(RESUMED))
def test_checkpoint_resumes_to_the_same_next_loss(method, fast_trainer_kwargs, tmp_path) -> None:
    kwargs = {**fast_trainer_kwargs, "enable_checkpointing": False}
    straight = _Recorder()
    module = _module(method)
    pl.Trainer(max_epochs=4, callbacks=[straight], **kwargs).fit(module, _loader())

    first = _Recorder()
    interrupted = _module(method)
    trainer = pl.Trainer(max_epochs=2, callbacks=[first], **kwargs)
    trainer.fit(interrupted, _loader())
    path = tmp_path / f"{method}.ckpt"
    trainer.save_checkpoint(path)

    resumed_recorder = _Recorder()
    resumed = ForecastModule.load_from_checkpoint(path)
    assert resumed.strategy.spec() == module.strategy.spec()
    pl.Trainer(max_epochs=4, callbacks=[resumed_recorder], **kwargs).fit(
        resumed, _loader(), ckpt_path=path
    )
    assert first.losses == straight.losses[: len(first.losses)]
    assert [e for e, _ in resumed_recorder.losses][0] == 2
    np.testing.assert_allclose(
        [loss for _, loss in resumed_recorder.losses],
        [loss for e, loss in straight.losses if e >= 2],
        rtol=1e-6,
    )
    for key, value in module.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=1e-6, atol=1e-7)


def _masks_per_batch(monkeypatch, spec, fast_trainer_kwargs, epochs: int = 2):
    """Train ``spec`` for ``epochs`` and return ``[(epoch, teacher mask (B, H))]`` per batch."""
    from forecastab.strategies import scheduled_sampling

    seen: list[tuple[int, torch.Tensor]] = []
    module = None

    def recording_rollout(*args, **kwargs):
        out = rollout(*args, **kwargs)
        seen.append((module.current_epoch, out.teacher_mask.clone()))
        return out

    monkeypatch.setattr(scheduled_sampling, "rollout", recording_rollout)
    pl.seed_everything(0, verbose=False)
    module = model_from_spec(
        {"type": "rnn", "hidden_size": 8}, context_length=L, horizon=H, n_targets=1, strategy=spec
    )
    pl.Trainer(max_epochs=epochs, **fast_trainer_kwargs).fit(module, _loader())
    return seen


def _constant_half(coins: str, sampling: str = "per_step") -> dict:
    return {
        "scheduled_sampling": {
            "teacher_forcing": {"schedule": "constant", "ratio": 0.5},
            "sampling": sampling,
            "coins": coins,
        }
    }


@pytest.mark.parametrize("sampling", ["per_step", "per_sequence"])
def test_per_epoch_coins_are_one_mask_per_epoch(monkeypatch, fast_trainer_kwargs, sampling):
    seen = _masks_per_batch(
        monkeypatch, _constant_half("per_epoch", sampling), fast_trainer_kwargs, epochs=4
    )
    by_epoch: dict[int, list[torch.Tensor]] = {}
    for epoch, mask in seen:
        by_epoch.setdefault(epoch, []).append(mask)
    assert sorted(by_epoch) == [0, 1, 2, 3] and all(len(m) == 6 for m in by_epoch.values())
    firsts = []
    for masks in by_epoch.values():
        first = masks[0][0]
        # every window of every batch of the epoch sees the epoch's one mask
        assert all((mask == first).all() for mask in masks)
        if sampling == "per_sequence":
            assert first.all() or not first.any()
        firsts.append(tuple(first.tolist()))
    assert len(set(firsts)) > 1  # the mask is drawn anew each epoch

    again = _masks_per_batch(
        monkeypatch, _constant_half("per_epoch", sampling), fast_trainer_kwargs, epochs=4
    )
    assert all(torch.equal(a[1], b[1]) for a, b in zip(seen, again, strict=True))


def test_per_batch_coins_differ_between_windows(monkeypatch, fast_trainer_kwargs) -> None:
    seen = _masks_per_batch(monkeypatch, _constant_half("per_batch"), fast_trainer_kwargs, epochs=1)
    assert len({tuple(row.tolist()) for _, mask in seen for row in mask}) > 10
