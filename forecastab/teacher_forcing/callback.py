"""The Lightning callback that applies a teacher forcing schedule during training."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from forecastab.errors import ConfigError, unknown_name
from forecastab.teacher_forcing.schedules import UNITS, CallableSchedule, Schedule


class TeacherForcingScheduler(Callback):
    """Set ``pl_module.teacher_forcing_ratio`` from a schedule as training progresses.

    With ``unit="epoch"`` the ratio is set at the start of every training epoch from
    ``i = trainer.current_epoch``; with ``unit="step"`` at the start of every training batch from
    ``i = trainer.global_step`` (optimizer steps, so batches accumulated into one step share a
    ratio). Each time it is applied the ratio is logged as ``teacher_forcing_ratio``. The last
    ``i`` and ratio and the history travel in checkpoints, and since ``i`` is read from the
    trainer's own counters a run resumed with ``trainer.fit(model, ckpt_path=...)`` continues the
    schedule where it stopped.

    Args:
        schedule: A :class:`~forecastab.teacher_forcing.schedules.Schedule`, or a plain function
            of training progress returning a ratio in [0, 1].
        unit: For a plain function, ``"step"`` or ``"epoch"`` (default ``"epoch"``). For a
            Schedule, leave it out (or repeat the schedule's own unit).

    Raises:
        ConfigError: If ``schedule`` is not callable, ``unit`` is unknown, or ``unit`` contradicts
            the schedule's own unit.

    >>> from forecastab.teacher_forcing.schedules import InverseSigmoid
    >>> scheduler = TeacherForcingScheduler(InverseSigmoid(5))
    >>> scheduler.unit, round(scheduler.schedule(0), 3)
    ('epoch', 0.833)
    >>> TeacherForcingScheduler(lambda i: 0.9**i, unit="step").unit
    'step'
    """

    def __init__(
        self, schedule: Schedule | Callable[[float], float], *, unit: str | None = None
    ) -> None:
        super().__init__()
        if unit is not None and unit not in UNITS:
            raise ConfigError(unknown_name("unit", str(unit), UNITS))
        if isinstance(schedule, Schedule):
            if unit is not None and unit != schedule.unit:
                raise ConfigError(
                    f"unit '{unit}' contradicts the schedule's own unit '{schedule.unit}'; "
                    "leave unit out when passing a Schedule"
                )
        elif callable(schedule):
            schedule = CallableSchedule(schedule, unit=unit or "epoch")
        else:
            raise ConfigError(
                "TeacherForcingScheduler needs a Schedule or a function of training progress, "
                f"got {schedule!r}"
            )
        self.schedule: Schedule = schedule
        self.last_index: int | None = None
        self.last_ratio: float | None = None
        self.history: list[tuple[int, float]] = []

    @property
    def unit(self) -> str:
        """What ``i`` counts: ``"step"`` (optimizer steps) or ``"epoch"``."""
        return self.schedule.unit

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Check that the module has a ``teacher_forcing_ratio`` to set, before any training."""
        if not hasattr(pl_module, "teacher_forcing_ratio"):
            raise ConfigError(
                f"TeacherForcingScheduler needs a module with a teacher_forcing_ratio attribute; "
                f"{type(pl_module).__name__} has none"
            )

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Apply an epoch schedule at ``i = trainer.current_epoch``."""
        if self.unit == "epoch":
            self._apply(pl_module, trainer.current_epoch)

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        """Apply a step schedule at ``i = trainer.global_step``."""
        if self.unit == "step":
            self._apply(pl_module, trainer.global_step)

    def _apply(self, pl_module: pl.LightningModule, i: int) -> None:
        ratio = self.schedule(i)
        pl_module.teacher_forcing_ratio = ratio
        on_step = self.unit == "step"
        pl_module.log("teacher_forcing_ratio", ratio, on_step=on_step, on_epoch=not on_step)
        # Accumulated batches share a global step: record each i once.
        if i != self.last_index:
            self.history.append((i, ratio))
        self.last_index, self.last_ratio = i, ratio

    def state_dict(self) -> dict[str, Any]:
        """The unit, the last ``i`` and ratio applied, and the history of ``(i, ratio)``."""
        return {
            "unit": self.unit,
            "last_index": self.last_index,
            "last_ratio": self.last_ratio,
            "history": [list(entry) for entry in self.history],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict` (Lightning calls this on resume).

        Raises:
            ConfigError: If the checkpoint's schedule counted a different unit.
        """
        unit = state_dict.get("unit", self.unit)
        if unit not in UNITS or unit != self.unit:
            raise ConfigError(
                f"the checkpoint's teacher forcing schedule counts {unit!r}s but this one counts "
                f"{self.unit!r}s; resume with a schedule of the same unit"
            )
        self.last_index = state_dict["last_index"]
        self.last_ratio = state_dict["last_ratio"]
        self.history = [(int(i), float(ratio)) for i, ratio in state_dict["history"]]
