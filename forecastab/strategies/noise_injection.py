"""Noise injection: teacher forcing on corrupted inputs (Wikner et al. 2024).

Wikner, Harvey, Girvan, Hunt, Pomerance, Antonsen and Ott (2024), "Stabilizing machine learning
prediction of dynamics: novel noise-inspired regularization tested with reservoir computing",
train a forecaster teacher-forced on inputs with Gaussian noise added while the targets stay
clean, so that the model learns to pull a perturbed state back towards the data, which is what
its own slightly wrong predictions look like when it later runs free.

Here every decoder input is the true previous value plus ``N(0, std^2)`` noise (in the scaled
units the model is trained in), optionally the context too, and the loss is the MSE against the
clean targets. ``schedule`` (any teacher-forcing schedule) multiplies ``std`` over training,
e.g. to anneal it. Noise is only ever drawn in ``training_step``: validation, evaluation and
forecasts never see it.

Deviations: the paper trains reservoir computers by linear regression and also proposes a
linearized multi-noise variant (LMNT); forecastab implements the plain noisy-input training on
any network and optimizer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from forecastab.errors import ConfigError
from forecastab.strategies.base import Batch, Strategy, split_batch
from forecastab.teacher_forcing.rollout import rollout
from forecastab.teacher_forcing.schedules import schedule_from_spec


@dataclass
class NoiseInjectionConfig:
    """Parameters of noise injection.

    Attributes:
        std: standard deviation of the Gaussian noise on the fed true values, in scaled units;
            ``0`` is plain teacher forcing.
        context: also corrupt the context (the encoder's input).
        schedule: a teacher-forcing schedule mapping (``{schedule: linear, k: 1, c: 0.1}``)
            whose value multiplies ``std`` over training; None keeps ``std`` constant.
    """

    std: float
    context: bool = False
    schedule: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.std) and self.std >= 0):
            raise ConfigError(
                f"noise_injection: std must be a finite number >= 0 (0 is teacher forcing), "
                f"got {self.std!r}"
            )
        if self.schedule is not None:
            schedule_from_spec(self.schedule)


class NoiseInjection(Strategy):
    """Teacher-forced MSE with Gaussian noise on the decoder's (and optionally encoder's) inputs.

    >>> strategy = NoiseInjection(NoiseInjectionConfig(std=0.1, context=True))
    >>> strategy.spec()
    {'method': 'noise_injection', 'noise_injection': {'std': 0.1, 'context': True, 'schedule': None}}
    """

    method = "noise_injection"
    config_class = NoiseInjectionConfig
    needs_autoregressive = True

    config: NoiseInjectionConfig

    def current_std(self, module: Any) -> float:
        """``std`` times the schedule's value at the current training progress."""
        if self.config.schedule is None:
            return float(self.config.std)
        schedule = schedule_from_spec(self.config.schedule)
        return float(self.config.std) * schedule(self.progress(module, schedule.unit))

    def training_step(self, module: Any, batch: Batch, batch_idx: int) -> Tensor:
        context, targets, covariates = split_batch(batch)
        std = self.current_std(module)
        inputs, encoded = targets, context
        if std > 0:
            inputs = targets + std * torch.randn_like(targets)  # (B, H, C)
            if self.config.context:
                encoded = context + std * torch.randn_like(context)  # (B, L, C)
        # The corrupted values are what the rollout feeds; the loss compares with the clean truth.
        out = rollout(
            module.network, encoded, module.horizon, targets=inputs, ratio=1.0,
            covariates=covariates,
        )  # fmt: skip
        loss = module.loss(out, targets)
        self.log_train_loss(module, loss, len(context))
        if self.config.schedule is not None:
            module.log("noise_std", std, on_step=True, on_epoch=False, batch_size=len(context))
        return loss
