"""TeacherForcingScheduler with a real Trainer: per epoch, per step, and across a resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from forecastab.errors import ConfigError
from forecastab.teacher_forcing.callback import TeacherForcingScheduler
from forecastab.teacher_forcing.schedules import (
    CallableSchedule,
    Exponential,
    InverseSigmoid,
    Linear,
)

BATCHES_PER_EPOCH = 4


class RatioRecorder(pl.LightningModule):
    """A one-layer linear model that records the ratio it trains with at every batch."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(3, 1)
        self.teacher_forcing_ratio = 1.0
        # (epoch, global step, ratio) per training batch
        self.seen: list[tuple[int, int, float]] = []

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        self.seen.append((self.current_epoch, self.global_step, self.teacher_forcing_ratio))
        features, target = batch
        return nn.functional.mse_loss(self.layer(features), target)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(0)
        features = torch.randn(4 * BATCHES_PER_EPOCH, 3, generator=generator)  # (16, 3)
        target = torch.randn(4 * BATCHES_PER_EPOCH, 1, generator=generator)  # (16, 1)
        return DataLoader(TensorDataset(features, target), batch_size=4)


def test_epoch_schedule_sets_and_logs_the_ratio(fast_trainer_kwargs: dict) -> None:
    schedule = Linear(k=1.0, c=0.3, floor=0.05)
    scheduler = TeacherForcingScheduler(schedule)
    model = RatioRecorder()
    trainer = pl.Trainer(max_epochs=4, callbacks=[scheduler], **fast_trainer_kwargs)
    trainer.fit(model)

    assert len(model.seen) == 4 * BATCHES_PER_EPOCH
    for epoch, _, ratio in model.seen:
        assert isinstance(ratio, float)
        assert ratio == schedule(epoch)
    assert [r for _, _, r in model.seen[::BATCHES_PER_EPOCH]] == pytest.approx([1.0, 0.7, 0.4, 0.1])
    assert scheduler.history == [(epoch, schedule(epoch)) for epoch in range(4)]
    assert (scheduler.last_index, scheduler.last_ratio) == (3, schedule(3))
    assert trainer.callback_metrics["teacher_forcing_ratio"].item() == pytest.approx(schedule(3))


def test_step_schedule_follows_the_global_step(fast_trainer_kwargs: dict) -> None:
    schedule = Exponential(0.8, unit="step")
    scheduler = TeacherForcingScheduler(schedule)
    model = RatioRecorder()
    trainer = pl.Trainer(max_steps=6, callbacks=[scheduler], **fast_trainer_kwargs)
    trainer.fit(model)

    assert [step for _, step, _ in model.seen] == list(range(6))
    assert [ratio for _, _, ratio in model.seen] == pytest.approx([0.8**i for i in range(6)])
    assert scheduler.history == [(i, 0.8**i) for i in range(6)]
    assert trainer.callback_metrics["teacher_forcing_ratio"].item() == pytest.approx(0.8**5)


def test_plain_function_with_a_unit(fast_trainer_kwargs: dict) -> None:
    scheduler = TeacherForcingScheduler(lambda i: 1.0 if i < 1 else 0.25, unit="epoch")
    assert isinstance(scheduler.schedule, CallableSchedule)
    model = RatioRecorder()
    trainer = pl.Trainer(max_epochs=2, callbacks=[scheduler], **fast_trainer_kwargs)
    trainer.fit(model)
    assert [ratio for _, _, ratio in model.seen] == [1.0] * 4 + [0.25] * 4


@pytest.mark.parametrize("unit", ["epoch", "step"])
def test_resume_continues_the_schedule(
    unit: str, fast_trainer_kwargs: dict, tmp_path: Path
) -> None:
    schedule = InverseSigmoid(2, unit=unit)
    first = TeacherForcingScheduler(schedule)
    trainer = pl.Trainer(max_epochs=2, callbacks=[first], **fast_trainer_kwargs)
    trainer.fit(RatioRecorder())
    checkpoint = tmp_path / "two_epochs.ckpt"
    trainer.save_checkpoint(checkpoint)
    stopped_at = 1 if unit == "epoch" else 2 * BATCHES_PER_EPOCH - 1
    assert first.last_index == stopped_at

    resumed = TeacherForcingScheduler(schedule)
    model = RatioRecorder()
    trainer = pl.Trainer(max_epochs=4, callbacks=[resumed], **fast_trainer_kwargs)
    trainer.fit(model, ckpt_path=checkpoint)

    assert {epoch for epoch, _, _ in model.seen} == {2, 3}
    for epoch, step, ratio in model.seen:
        assert ratio == schedule(epoch if unit == "epoch" else step)
    if unit == "epoch":
        assert [ratio for _, _, ratio in model.seen[::BATCHES_PER_EPOCH]] == [
            schedule(2),
            schedule(3),
        ]
    else:
        assert [step for _, step, _ in model.seen] == list(range(8, 16))
    # The history from before the checkpoint came back with the callback's state.
    last = 3 if unit == "epoch" else 4 * BATCHES_PER_EPOCH - 1
    assert resumed.history == [(i, schedule(i)) for i in range(last + 1)]
    assert resumed.history[: len(first.history)] == first.history
    assert (resumed.last_index, resumed.last_ratio) == (last, schedule(last))


def test_state_dict_round_trip() -> None:
    scheduler = TeacherForcingScheduler(Exponential(0.5))
    scheduler.history = [(0, 1.0), (1, 0.5)]
    scheduler.last_index, scheduler.last_ratio = 1, 0.5
    restored = TeacherForcingScheduler(Exponential(0.5))
    restored.load_state_dict(scheduler.state_dict())
    assert restored.history == [(0, 1.0), (1, 0.5)]
    assert (restored.last_index, restored.last_ratio) == (1, 0.5)

    stepwise = TeacherForcingScheduler(Exponential(0.5, unit="step"))
    with pytest.raises(ConfigError) as excinfo:
        stepwise.load_state_dict(scheduler.state_dict())
    assert str(excinfo.value) == (
        "the checkpoint's teacher forcing schedule counts 'epoch's but this one counts "
        "'step's; resume with a schedule of the same unit"
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: TeacherForcingScheduler(Exponential(0.5), unit="step"),
            "unit 'step' contradicts the schedule's own unit 'epoch'; "
            "leave unit out when passing a Schedule",
        ),
        (
            lambda: TeacherForcingScheduler(lambda i: 0.5, unit="epochs"),
            "unknown unit 'epochs' (did you mean 'epoch'?); valid: epoch, step",
        ),
        (
            lambda: TeacherForcingScheduler(0.5),
            "TeacherForcingScheduler needs a Schedule or a function of training progress, got 0.5",
        ),
    ],
)
def test_invalid_arguments_fail_at_construction(build, message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        build()
    assert str(excinfo.value) == message


def test_module_without_a_ratio_is_refused(fast_trainer_kwargs: dict) -> None:
    class NoRatio(RatioRecorder):
        def __init__(self) -> None:
            super().__init__()
            del self.teacher_forcing_ratio

    trainer = pl.Trainer(
        max_epochs=1, callbacks=[TeacherForcingScheduler(Exponential(0.5))], **fast_trainer_kwargs
    )
    with pytest.raises(ConfigError) as excinfo:
        trainer.fit(NoRatio())
    assert str(excinfo.value) == (
        "TeacherForcingScheduler needs a module with a teacher_forcing_ratio attribute; "
        "NoRatio has none"
    )
