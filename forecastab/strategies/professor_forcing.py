"""Professor forcing (Lamb, Goyal, Zhang, Zhang, Courville, Bengio, NeurIPS 2016).

Lamb et al. (2016), "Professor Forcing: A New Algorithm for Training Recurrent Networks", run
the network twice per batch, teacher-forced and free-running, and let a discriminator learn to
tell the two *behaviours* apart (the sequences of hidden states and outputs). The forecaster
is trained on its teacher-forced likelihood plus an adversarial term that makes its free-running
behaviour indistinguishable from the teacher-forced one, so that what it sees when free-running
stays in the region it was trained on. The discriminator is a bidirectional RNN with an MLP on
top. Two gates keep the game balanced: the discriminator is trained only while its accuracy is
below 99%, and its gradient reaches the forecaster only while its accuracy is above 75%.

Here, per batch: a teacher-forced rollout and a free-running rollout start from the same
encoder state (the same context; neither continues the other); the behaviour is each step's
top decoder hidden state concatenated with its prediction, ``(B, H, D + C)``; the discriminator
is a bidirectional GRU whose final states feed an MLP giving one logit (1 = teacher-forced).
The discriminator loss is binary cross-entropy on both behaviours (detached); the forecaster's
loss is the teacher-forced MSE plus ``weight`` times ``-log D(free-running behaviour)``, so the
adversarial gradient reaches the forecaster only through the free-running pass. Lightning manual
optimization steps two Adam optimizers; ``discriminator_accuracy``, ``discriminator_loss``,
``adversarial_loss`` and ``train_loss`` (the teacher-forced MSE) are logged.

The free-running pass feeds its predictions back detached (``detach``, default true), the
continuous counterpart of the paper's sampled tokens, which carry no gradient: the adversarial
gradient reaches the forecaster through its hidden states and outputs, not back through a chain
of 32 fed-back values of a chaotic series.

Deviations: the paper's forecaster loss is a negative log-likelihood of discrete tokens (here the
MSE of real values, or the NLL of a distribution head) and it optionally adds the symmetric term
that pulls the teacher-forced behaviour towards the free-running one (left out, as in the paper's
main experiments). The gates use the accuracy on the current batch, measured before the
discriminator's update. The defaults (``weight`` 0.1, the discriminator at a tenth of the
forecaster's learning rate) are not the paper's (it gives none for real values): they were
chosen on the validation MMD of a 40-epoch Mackey-Glass sweep (experiments/professor_forcing/), where an
adversarial term of weight 1 against a scaled MSE of order 0.01, or a discriminator learning as
fast as the forecaster, made the free-running states drift further from the teacher-forced ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forecastab.errors import ConfigError
from forecastab.strategies.base import (
    Batch,
    Strategy,
    decoder_width,
    detached_feed,
    split_batch,
)
from forecastab.teacher_forcing.rollout import rollout


@dataclass
class ProfessorForcingConfig:
    """Parameters of professor forcing.

    Attributes:
        weight: weight of the adversarial term in the forecaster's loss.
        discriminator_hidden: hidden units of the discriminator's GRU (per direction) and MLP;
            None (the default) is the forecaster's decoder width ``D``, so that the two
            players are matched (and the discriminator costs about what the forecaster does:
            at 64 units for a 32-unit GRU it made an epoch 3.6x a free-running one, at 32
            units 2.0x; experiments/benchmarks/strategies.py).
        discriminator_learning_rate: the discriminator's Adam learning rate; None is a tenth
            of the forecaster's (a discriminator as fast as the forecaster wins the game and its
            gradient drags the forecaster away from the data; experiments/professor_forcing/).
        train_below: train the discriminator only while its accuracy is below this.
        pass_above: pass its gradient to the forecaster only while its accuracy is above this;
            below ``train_below`` (1 turns the adversarial term off).
        detach: feed the free-running pass's predictions back without their gradient, as the
            paper's sampled discrete tokens are, so that the adversarial gradient reaches the
            forecaster through its hidden states and outputs only, not back through the chain
            of its own inputs.
        warmup_epochs: plain teacher-forced epochs (the discriminator still learns, its
            gradient does not reach the forecaster) before the adversarial term is switched on.
    """

    weight: float = 0.1
    discriminator_hidden: int | None = None
    discriminator_learning_rate: float | None = None
    train_below: float = 0.99
    pass_above: float = 0.75
    detach: bool = True
    warmup_epochs: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight) and self.weight >= 0):
            raise ConfigError(
                f"professor_forcing: weight must be a number >= 0, got {self.weight!r}"
            )
        if self.discriminator_hidden is not None and not (
            isinstance(self.discriminator_hidden, int) and self.discriminator_hidden >= 1
        ):
            raise ConfigError(
                "professor_forcing: discriminator_hidden must be a positive integer, "
                f"got {self.discriminator_hidden}"
            )
        rate = self.discriminator_learning_rate
        if rate is not None and not rate > 0:
            raise ConfigError(
                f"professor_forcing: discriminator_learning_rate must be positive, got {rate!r}"
            )
        # types (detach a bool, warmup_epochs an integer) are checked by build_config
        if self.warmup_epochs < 0:
            raise ConfigError(
                "professor_forcing: warmup_epochs must be an integer >= 0, "
                f"got {self.warmup_epochs!r}"
            )
        for key in ("train_below", "pass_above"):
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"professor_forcing: {key} must lie in [0, 1], got {value!r}")
        # The discriminator stops learning at train_below accuracy, so a pass_above at or above
        # it is (almost) never reached: the gates are swapped. pass_above 1 and train_below 0
        # are the documented off switches and stay allowed.
        off = self.pass_above == 1.0 or self.train_below == 0.0
        if self.pass_above >= self.train_below and not off:
            raise ConfigError(
                f"professor_forcing: pass_above ({self.pass_above!r}) must be below train_below "
                f"({self.train_below!r}): the discriminator stops learning at train_below "
                "accuracy, so the forecaster would almost never get its adversarial gradient; "
                "swap the two values (pass_above: 1 turns the adversarial term off)"
            )


class Discriminator(nn.Module):
    """A bidirectional GRU over a behaviour sequence and an MLP on its final states -> a logit.

    >>> Discriminator(5, hidden=8)(torch.zeros(3, 7, 5)).shape
    torch.Size([3])
    """

    def __init__(self, width: int, *, hidden: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(width, hidden, batch_first=True, bidirectional=True)
        self.mlp = nn.Sequential(
            nn.Linear(2 * hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, behaviour: Tensor) -> Tensor:
        """``(B, H, W)`` behaviour -> ``(B,)`` logits (positive: teacher-forced)."""
        _, last = self.rnn(behaviour)  # (2, B, hidden): forward and backward final states
        both = torch.cat([last[0], last[1]], dim=-1)  # (B, 2 * hidden)
        return self.mlp(both)[:, 0]


@dataclass
class Behaviours:
    """The two passes of one batch: predictions and ``(B, H, D + C)`` behaviours."""

    teacher_forced: Tensor
    free_running: Tensor
    teacher_forced_output: Any


class ProfessorForcing(Strategy):
    """Teacher-forced loss (MSE, or the NLL of a distribution head) plus an adversarial term
    on free-running behaviour; two optimizers."""

    method = "professor_forcing"
    config_class = ProfessorForcingConfig
    needs_autoregressive = True
    automatic_optimization = False

    config: ProfessorForcingConfig

    def attach(self, module: Any) -> None:
        """Build the discriminator for the network's behaviour width ``D + C``."""
        super().attach(module)
        decoder = decoder_width(module)
        hidden = self.config.discriminator_hidden or decoder
        self.discriminator = Discriminator(decoder + module.n_targets, hidden=hidden)

    def configure_optimizers(self, module: Any) -> list[torch.optim.Optimizer]:
        """Adam for the forecaster's network, Adam for the discriminator."""
        rate = self.config.discriminator_learning_rate or module.learning_rate / 10
        return [
            torch.optim.Adam(module.network.parameters(), lr=module.learning_rate),
            torch.optim.Adam(self.discriminator.parameters(), lr=rate),
        ]

    def behaviours(self, module: Any, batch: Batch) -> Behaviours:
        """Teacher-forced and free-running behaviour from the same context (same encoder state)."""
        context, targets, covariates = split_batch(batch)
        forced = rollout(
            module.network,
            context,
            module.horizon,
            targets=targets,
            ratio=1.0,
            return_hidden=True,
            covariates=covariates,
        )
        feed = detached_feed if self.config.detach else None
        free = rollout(
            module.network, context, module.horizon, ratio=0.0, return_hidden=True, feed=feed,
            covariates=covariates,
        )  # fmt: skip
        return Behaviours(
            teacher_forced=torch.cat([forced.hidden, forced.predictions], dim=-1),  # (B, H, D+C)
            free_running=torch.cat([free.hidden, free.predictions], dim=-1),  # (B, H, D+C)
            teacher_forced_output=forced,
        )

    def discriminator_loss(self, behaviours: Behaviours) -> tuple[Tensor, Tensor]:
        """BCE of telling teacher-forced (1) from free-running (0), on detached behaviours,
        and the accuracy."""
        both = torch.cat([behaviours.teacher_forced, behaviours.free_running]).detach()
        forced, free = self.discriminator(both).chunk(2)  # (B,) each: one pass over 2B
        loss = F.binary_cross_entropy_with_logits(
            forced, torch.ones_like(forced)
        ) + F.binary_cross_entropy_with_logits(free, torch.zeros_like(free))
        accuracy = torch.cat([forced > 0, free <= 0]).float().mean()
        return loss, accuracy

    def adversarial_loss(self, behaviours: Behaviours) -> Tensor:
        """``-log D(free-running)``: small when free-running behaviour looks teacher-forced.

        Only the free-running behaviour enters, so its gradient reaches the forecaster only
        through the free-running pass; the discriminator's weights get none.
        """
        for parameter in self.discriminator.parameters():
            parameter.requires_grad_(False)
        try:
            free = self.discriminator(behaviours.free_running)  # (B,)
        finally:
            for parameter in self.discriminator.parameters():
                parameter.requires_grad_(True)
        return F.binary_cross_entropy_with_logits(free, torch.ones_like(free))

    def training_step(self, module: Any, batch: Batch, batch_idx: int) -> None:
        forecaster_optimizer, discriminator_optimizer = module.optimizers()
        context, targets, _ = split_batch(batch)
        behaviours = self.behaviours(module, batch)

        discriminator_loss, accuracy = self.discriminator_loss(behaviours)
        if accuracy < self.config.train_below:
            discriminator_optimizer.zero_grad()
            module.manual_backward(discriminator_loss)
            discriminator_optimizer.step()

        # teacher-forced likelihood: MSE for a point network, NLL for a distribution head
        forced_loss = module.loss(behaviours.teacher_forced_output, targets)
        loss = forced_loss
        adversarial = torch.zeros((), device=forced_loss.device)
        warm = self.progress(module, "epoch") >= self.config.warmup_epochs
        if warm and accuracy > self.config.pass_above:
            adversarial = self.adversarial_loss(behaviours)
            loss = forced_loss + self.config.weight * adversarial
        forecaster_optimizer.zero_grad()
        module.manual_backward(loss)
        forecaster_optimizer.step()

        self.log_train_loss(module, forced_loss, len(context))
        module.log_dict(
            {
                "discriminator_accuracy": accuracy,
                "discriminator_loss": discriminator_loss.detach(),
                "adversarial_loss": adversarial.detach(),
            },
            on_step=True,
            on_epoch=True,
            batch_size=len(context),
        )
