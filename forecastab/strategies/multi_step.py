"""Multi-step loss over the free-running rollout, with the pushforward trick.

A sequence-level loss: the decoder runs free over the whole horizon (fed its own predictions,
as at evaluation) and the loss is a weighted sum of the per-step losses, backpropagated
through the rollout, so the network is trained on the states it will visit.

- Benechehab, Paolo, Thomas, Filippone and Kégl (2024), "Multi-timestep models for model-based
  reinforcement learning", train a dynamics model with a weighted multi-step loss over its own
  rollout, ``sum_h alpha_h * loss_h``; ``weights: uniform`` is ``alpha_h = 1 / n`` and
  ``weights: exponential`` is ``alpha_h`` proportional to ``decay ** (h - 1)`` (the near steps
  count most), normalised to sum to one.
- Brandstetter, Worrall and Welling (ICLR 2022), "Message passing neural PDE solvers",
  unroll the solver ``k`` steps *without gradient* and train on the step after, from the
  solver's own output (the pushforward trick): the model learns to correct the distribution
  shift of its own errors without backpropagating through a long, unstable unroll.
  ``pushforward: k`` rolls ``k`` steps free under ``torch.no_grad()``, appends these (detached)
  predictions to the context (keeping its last ``L`` values), and from that window rolls the
  remaining ``H - k`` steps free with gradient; the loss covers those ``H - k`` steps only.

The per-step loss is the forecaster's own (:func:`~forecastab.models.distributions.per_step_loss`):
the squared error for a point head, the negative log-likelihood for a distribution head, whose
free run feeds back its mean (the point forecast), as the free-running evaluation does.

Deviations: (1) Brandstetter et al. draw the number of pushforward steps at random per batch and
train one step after it; here ``k`` is fixed and the steps after it all carry the (weighted)
loss; ``pushforward: H - 1`` is their one-step setting. (2) A recurrent network re-encodes the
shifted window after the no-gradient part instead of carrying its hidden state over, which
makes the window the model's whole state, as in the paper's solver (whose input is the last
few time steps). (3) Benechehab et al. also learn the weights; here they are fixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from forecastab.errors import ConfigError, unknown_name
from forecastab.strategies.base import Batch, Strategy, split_batch
from forecastab.teacher_forcing.rollout import rollout

WEIGHTS = ("uniform", "exponential")
"""How the multi-step loss weighs the steps."""


@dataclass
class MultiStepConfig:
    """Parameters of the multi-step loss.

    Attributes:
        weights: ``uniform`` (every trained step alike) or ``exponential`` (step ``h`` after
            the pushforward part weighs ``decay ** (h - 1)``); normalised to sum to one.
        decay: the factor per step of ``exponential`` weights, in ``(0, 1]`` (1 is uniform);
            None is 0.9 for ``exponential``; not allowed with ``uniform``.
        pushforward: ``k``, steps rolled free without gradient before the trained ones
            (0 trains on the whole rollout); must be below the horizon.
    """

    weights: str = "uniform"
    decay: float | None = None
    pushforward: int = 0

    def __post_init__(self) -> None:
        if self.weights not in WEIGHTS:
            raise ConfigError(unknown_name("weights", str(self.weights), WEIGHTS))
        if self.decay is not None:
            if self.weights != "exponential":
                raise ConfigError(
                    f"multi_step: decay applies to weights: exponential, not {self.weights}; "
                    "remove decay or set weights: exponential"
                )
            if not (math.isfinite(self.decay) and 0 < self.decay <= 1):
                raise ConfigError(
                    f"multi_step: decay must lie in (0, 1] (1 is uniform), got {self.decay!r}"
                )
        if self.pushforward < 0:
            raise ConfigError(
                f"multi_step: pushforward must be an integer >= 0 (0: no pushforward), "
                f"got {self.pushforward}"
            )


class MultiStep(Strategy):
    """Weighted loss of the free-running rollout, after ``pushforward`` steps without gradient.

    >>> strategy = MultiStep(MultiStepConfig(weights="exponential", decay=0.5))
    >>> strategy.step_weights(4).tolist()
    [0.5333333611488342, 0.2666666805744171, 0.13333334028720856, 0.06666667014360428]
    """

    method = "multi_step"
    config_class = MultiStepConfig
    needs_autoregressive = True

    config: MultiStepConfig

    def attach(self, module: Any) -> None:
        if self.config.pushforward >= module.horizon:
            raise ConfigError(
                f"multi_step: pushforward ({self.config.pushforward}) must be below the horizon "
                f"({module.horizon}) of model '{module.name}': at least one step must be trained"
            )
        super().attach(module)

    def step_weights(self, steps: int) -> Tensor:
        """``(steps,)`` the weight of each trained step, summing to one."""
        if self.config.weights == "uniform":
            return torch.full((steps,), 1.0 / steps)
        decay = 0.9 if self.config.decay is None else float(self.config.decay)
        weights = decay ** torch.arange(steps, dtype=torch.float64)
        return (weights / weights.sum()).float()

    def training_step(self, module: Any, batch: Batch, batch_idx: int) -> Tensor:
        # imported here: forecastab.models imports the strategies
        from forecastab.models.distributions import per_step_loss

        context, targets, covariates = split_batch(batch)
        k = self.config.pushforward
        if k:
            with torch.no_grad():
                pushed = rollout(module.network, context, k, covariates=covariates).predictions
            # the model's own (gradient-free) forecasts become the newest values of its window
            context = torch.cat([context, pushed], dim=1)[:, -context.shape[1] :]  # (B, L, C)
            targets = targets[:, k:]  # (B, H - k, C)
            covariates = None if covariates is None else covariates.shifted(k)
        # free running, with gradient
        out = rollout(module.network, context, targets.shape[1], covariates=covariates)
        per_step = per_step_loss(module.network, out, targets)  # (H - k,)
        loss = (self.step_weights(len(per_step)).to(per_step) * per_step).sum()
        self.log_train_loss(module, loss, len(context))
        return loss
