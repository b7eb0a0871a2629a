"""Scheduled sampling (Bengio et al. 2015): feed the truth with a scheduled probability.

The default strategy. At every decoder step a coin with probability ``r`` (the teacher forcing
ratio) decides whether the true previous value or the model's own prediction is fed; a
:class:`~forecastab.teacher_forcing.TeacherForcingScheduler` moves ``r`` along its schedule.
``r = 1`` throughout is teacher forcing and ``r = 0`` free running.

``detach: true`` stops gradients through the fed-back predictions, as Bengio et al. (2015) do:
the sampled token is an input, not a path for the gradient. Without it (the default, and the
behaviour of every earlier forecastab release) gradients flow back through the fed-back
prediction into the steps that made it (backpropagation through the rollout).

``coins: per_epoch`` draws the coins once per epoch and shares them by every batch and window
of it, as the curricula of Teutsch & Mader (2022) do: with ``per_step`` sampling one draw per
decoder step (the epoch trains on one mask over the horizon), with ``per_sequence`` one draw
for the whole epoch (it is all teacher-forced or all free-running). The default ``per_batch``
flips fresh coins per window in every batch. ``prefix`` sampling flips no coins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytorch_lightning.callbacks import Callback
from torch import Tensor

from forecastab.errors import ConfigError, unknown_name
from forecastab.strategies.base import Batch, Strategy, detached_feed, split_batch
from forecastab.teacher_forcing.callback import TeacherForcingScheduler
from forecastab.teacher_forcing.coins import COIN_DRAWS, EpochCoins
from forecastab.teacher_forcing.rollout import SAMPLING_MODES, rollout
from forecastab.teacher_forcing.schedules import schedule_from_spec


@dataclass
class ScheduledSamplingConfig:
    """Parameters of scheduled sampling.

    Attributes:
        teacher_forcing: the ratio schedule (``{schedule: constant, ratio: 1.0}``); None keeps
            the forecaster's ``teacher_forcing_ratio`` as it is set.
        sampling: how the coins are flipped: ``per_step``, ``per_sequence``, ``prefix`` or
            ``two_pass`` (see :func:`~forecastab.teacher_forcing.rollout`).
        detach: stop gradients through the fed-back predictions (Bengio et al. 2015).
        coins: ``per_batch`` (fresh coins per window in every batch) or ``per_epoch`` (drawn
            once per epoch and shared by every batch, Teutsch & Mader 2022).
    """

    teacher_forcing: dict[str, Any] | None = None
    sampling: str = "per_step"
    detach: bool = False
    coins: str = "per_batch"

    def __post_init__(self) -> None:
        if self.sampling not in SAMPLING_MODES:
            raise ConfigError(unknown_name("sampling mode", self.sampling, SAMPLING_MODES))
        if self.coins not in COIN_DRAWS:
            raise ConfigError(unknown_name("coins", str(self.coins), COIN_DRAWS))
        if self.teacher_forcing is not None:
            schedule_from_spec(self.teacher_forcing)


class ScheduledSampling(Strategy):
    """MSE of a rollout at the scheduled teacher forcing ratio.

    >>> from forecastab.models import ForecastModule, RNNConfig
    >>> strategy = ScheduledSampling(ScheduledSamplingConfig(sampling="per_sequence"))
    >>> module = ForecastModule(RNNConfig(hidden_size=8), context_length=10, horizon=4,
    ...                         strategy=strategy)
    >>> module.strategy.spec()["scheduled_sampling"]
    {'teacher_forcing': None, 'sampling': 'per_sequence', 'detach': False, 'coins': 'per_batch'}
    """

    method = "scheduled_sampling"
    config_class = ScheduledSamplingConfig
    top_level_keys = ("teacher_forcing", "sampling", "detach")
    needs_autoregressive = False  # a direct network simply ignores the ratio

    config: ScheduledSamplingConfig

    def __init__(self, config: ScheduledSamplingConfig) -> None:
        super().__init__(config)
        # a submodule only when used, so that other checkpoints keep their state_dict keys
        if config.coins == "per_epoch" and config.sampling != "prefix":
            self.epoch_coins = EpochCoins()

    def callbacks(self) -> list[Callback]:
        """The ratio schedule's callback, when the strategy has a schedule."""
        if self.config.teacher_forcing is None:
            return []
        return [TeacherForcingScheduler(schedule_from_spec(self.config.teacher_forcing))]

    def training_step(self, module: Any, batch: Batch, batch_idx: int) -> Tensor:
        context, targets, covariates = split_batch(batch)
        ratio = module.teacher_forcing_ratio
        # At ratio 1 nothing is fed back; leaving feed out keeps the fast parallel path.
        feed = detached_feed if self.config.detach and ratio < 1.0 else None
        out = rollout(
            module.network,
            context,
            module.horizon,
            targets=targets,
            ratio=ratio,
            sampling=self.config.sampling,
            feed=feed,
            coins=self._coins(module),
            covariates=covariates,
        )
        loss = module.loss(out, targets)
        self.log_train_loss(module, loss, len(context))
        return loss

    def _coins(self, module: Any) -> Tensor | None:
        """This epoch's shared draws with ``coins: per_epoch``; None draws fresh coins."""
        if not hasattr(self, "epoch_coins"):
            return None
        columns = 1 if self.config.sampling == "per_sequence" else module.horizon
        return self.epoch_coins.for_epoch(self.progress(module, "epoch"), columns)
