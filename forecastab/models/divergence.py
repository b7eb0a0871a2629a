"""Stop a training run whose loss explodes, and say at which step.

A training loss that is NaN or infinite, or larger than :data:`MAX_TRAIN_LOSS`, means the run
diverged: its checkpoint and metrics would be garbage. :class:`DivergenceMonitor` checks the loss
of every training step and raises :class:`TrainingDiverged` naming the step, so the runner
records the run as ``diverged`` instead of evaluating it.
"""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl

from forecastab.errors import ForecastabError

MAX_TRAIN_LOSS = 1e12
"""The bound on a training step's loss. Losses are MSEs (or likelihoods) of scaled data, of
order 1; 1e12 is only reached by a run that blew up (or by unscaled data with values near 1e6,
where ``scaling: zscore`` is the fix)."""


class TrainingDiverged(ForecastabError):
    """The training loss became non-finite or exceeded the bound.

    Attributes:
        step: The global training step (0-based) whose loss diverged.
        epoch: Its epoch.
        loss: The loss value.
    """

    def __init__(self, *, step: int, epoch: int, loss: float, bound: float) -> None:
        self.step, self.epoch, self.loss = step, epoch, loss
        what = "is not finite" if not math.isfinite(loss) else f"exceeds the bound {bound:g}"
        super().__init__(
            f"training diverged at step {step} (epoch {epoch}): train loss {loss:g} {what}; "
            "lower learning_rate, set trainer.gradient_clip_val, or use scaling: zscore"
        )


class DivergenceMonitor(pl.Callback):
    """Raise :class:`TrainingDiverged` at the first training step whose loss diverges.

    Args:
        max_loss: Losses above this count as diverged (default :data:`MAX_TRAIN_LOSS`).

    >>> DivergenceMonitor(max_loss=0)
    Traceback (most recent call last):
    ...
    forecastab.errors.ForecastabError: max_loss must be a positive number, got 0
    """

    def __init__(self, max_loss: float = MAX_TRAIN_LOSS) -> None:
        if isinstance(max_loss, bool) or not isinstance(max_loss, int | float) or not max_loss > 0:
            raise ForecastabError(f"max_loss must be a positive number, got {max_loss!r}")
        self.max_loss = float(max_loss)

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Check the loss of the step that just ran."""
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        value = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
        if math.isfinite(value) and value <= self.max_loss:
            return
        step = max(trainer.global_step - 1, 0)  # global_step already counts this step
        raise TrainingDiverged(
            step=step, epoch=trainer.current_epoch, loss=value, bound=self.max_loss
        )
