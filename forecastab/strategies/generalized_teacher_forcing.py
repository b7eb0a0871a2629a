"""Generalized teacher forcing (Hess, Monfared, Brenner, Durstewitz, ICML 2023).

Hess et al. (2023), "Generalized Teacher Forcing for Learning Chaotic Dynamics", feed the model
a convex mix of its own state and the state inferred from data, ``(1 - alpha) * z + alpha * d``,
at every step: ``alpha = 1`` is teacher forcing, ``alpha = 0`` free running. Gradients flow
through the model's part, so the loss sees the whole rollout while the forcing keeps the
Jacobian products (and so the gradients) from exploding on chaotic data. Their adaptive rule
sets ``alpha = max(0, 1 - 1 / G)`` where ``G`` estimates the growth rate of the rollout's
Jacobian product, re-estimated during training and smoothed with ``gamma``.

Here the decoder is fed ``(1 - alpha) * prediction + alpha * truth`` at every step through the
rollout's ``feed`` hook (gradients flow through the prediction part; the truth has none).
``alpha`` is a constant, any teacher-forcing schedule (its ratio is alpha), or ``adaptive``.

Deviations: (1) the paper forces the latent state of a (PL)RNN with its data-inferred value;
forecastab's networks have no data-inferred latent state, so this is the paper's variant that
forces the fed-back *observation* (the value the decoder reads next). (2) For ``adaptive``,
``G`` is the per-step geometric growth of the norm of the free-running rollout's own Jacobian
product ``d y_H / d x_1`` (from the first fed-back value to the last prediction, spectral norm
per window, geometric mean over windows), measured every ``update_every`` training steps by
``C`` backward passes, instead of the paper's bound from the product of per-step latent
Jacobian norms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from pytorch_lightning.callbacks import Callback
from torch import Tensor

from forecastab.errors import ConfigError
from forecastab.strategies.base import Batch, Strategy, split_batch
from forecastab.teacher_forcing.callback import TeacherForcingScheduler
from forecastab.teacher_forcing.rollout import rollout
from forecastab.teacher_forcing.schedules import schedule_from_spec

ADAPTIVE = "adaptive"


@dataclass
class GeneralizedTeacherForcingConfig:
    """Parameters of generalized teacher forcing.

    Attributes:
        alpha: the weight of the truth in the fed value: a number in [0, 1], a teacher-forcing
            schedule mapping (``{schedule: linear, k: 1, c: 0.05}``, its ratio is alpha), or
            ``adaptive`` (Hess et al.'s rule from the rollout's Jacobian growth).
        update_every: for ``adaptive``, training steps between two estimates of alpha.
        gamma: for ``adaptive``, smoothing: ``alpha <- gamma * alpha + (1 - gamma) * estimate``.
    """

    alpha: float | str | dict[str, Any]
    update_every: int = 5
    gamma: float = 0.9

    def __post_init__(self) -> None:
        alpha = self.alpha
        if isinstance(alpha, dict):
            schedule_from_spec(alpha)
        elif isinstance(alpha, str):
            if alpha != ADAPTIVE:
                raise ConfigError(
                    f"generalized_teacher_forcing: alpha must be a number in [0, 1], "
                    f"'{ADAPTIVE}' or a schedule mapping, got {alpha!r}"
                )
        elif not (isinstance(alpha, int | float) and 0.0 <= alpha <= 1.0):
            raise ConfigError(
                "generalized_teacher_forcing: alpha must lie in [0, 1] (1 is teacher forcing, "
                f"0 free running), or be '{ADAPTIVE}' or a schedule mapping; got {alpha!r}"
            )
        if self.update_every < 1:
            raise ConfigError(
                f"generalized_teacher_forcing: update_every must be >= 1, got {self.update_every}"
            )
        if not 0.0 <= self.gamma < 1.0:
            raise ConfigError(
                f"generalized_teacher_forcing: gamma must lie in [0, 1), got {self.gamma!r}"
            )


class GeneralizedTeacherForcing(Strategy):
    """MSE of a rollout fed ``(1 - alpha) * prediction + alpha * truth`` at every step.

    >>> strategy = GeneralizedTeacherForcing(GeneralizedTeacherForcingConfig(alpha=0.3))
    >>> strategy.alpha(module=None)
    0.3
    """

    method = "generalized_teacher_forcing"
    config_class = GeneralizedTeacherForcingConfig
    needs_autoregressive = True

    config: GeneralizedTeacherForcingConfig

    def __init__(self, config: GeneralizedTeacherForcingConfig) -> None:
        super().__init__(config)
        self.adaptive_alpha: float | None = None  # the smoothed estimate, in checkpoints

    def callbacks(self) -> list[Callback]:
        """A schedule of alpha runs as a teacher-forcing-ratio callback (its ratio is alpha)."""
        if isinstance(self.config.alpha, dict):
            return [TeacherForcingScheduler(schedule_from_spec(self.config.alpha))]
        return []

    def alpha(self, module: Any) -> float:
        """The current alpha: constant, the schedule's ratio, or the adaptive estimate."""
        alpha = self.config.alpha
        if isinstance(alpha, dict):
            return float(module.teacher_forcing_ratio)
        if alpha == ADAPTIVE:
            return 1.0 if self.adaptive_alpha is None else self.adaptive_alpha
        return float(alpha)

    def training_step(self, module: Any, batch: Batch, batch_idx: int) -> Tensor:
        context, targets, covariates = split_batch(batch)
        if self.config.alpha == ADAPTIVE and module.global_step % self.config.update_every == 0:
            self._update_alpha(module, context, covariates)
        alpha = self.alpha(module)

        def mix(prediction: Tensor, truth: Tensor | None, step: int) -> Tensor:
            return (1.0 - alpha) * prediction + alpha * truth

        # ratio 0: every coin picks the model's own value, which the feed hook then mixes.
        out = rollout(
            module.network, context, module.horizon, targets=targets, ratio=0.0, feed=mix,
            covariates=covariates,
        )  # fmt: skip
        loss = module.loss(out, targets)
        self.log_train_loss(module, loss, len(context))
        module.log("gtf_alpha", alpha, on_step=True, on_epoch=True, batch_size=len(context))
        return loss

    def _update_alpha(self, module: Any, context: Tensor, covariates: Any = None) -> None:
        growth = jacobian_growth(module.network, context, module.horizon, covariates=covariates)
        if growth is None:
            return
        estimate = max(0.0, 1.0 - 1.0 / growth) if growth > 0 else 0.0
        gamma = self.config.gamma
        previous = self.adaptive_alpha
        self.adaptive_alpha = (
            estimate if previous is None else gamma * previous + (1 - gamma) * estimate
        )

    def get_extra_state(self) -> dict[str, Any]:
        return {"adaptive_alpha": self.adaptive_alpha}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.adaptive_alpha = state.get("adaptive_alpha")


def jacobian_growth(
    network: Any, context: Tensor, horizon: int, *, covariates: Any = None
) -> float | None:
    """Per-step growth ``G`` of the free-running rollout's Jacobian product ``d y_H / d x_1``.

    ``G = ||d y_H / d x_1||_2 ** (1 / (H - 1))`` per window (spectral norm of the ``C x C``
    Jacobian from the first fed-back value to the last prediction), geometric mean over windows.
    None when ``H = 1`` (nothing is fed back). The network's parameters receive no gradient.

    Args:
        network: an autoregressive network.
        context: ``(B, L, C)`` contexts.
        horizon: ``H``.
        covariates: the windows' covariates, for a network that reads them.
    """
    if horizon < 2:
        return None
    first: list[Tensor] = []

    def leaf_at_first_step(prediction: Tensor, truth: Tensor | None, step: int) -> Tensor:
        if step == 0:
            leaf = prediction.detach().requires_grad_(True)  # (B, C)
            first.append(leaf)
            return leaf
        return prediction

    with torch.enable_grad():
        last = rollout(
            network, context.detach(), horizon, feed=leaf_at_first_step, covariates=covariates
        ).predictions[:, -1]  # (B, C)
        rows = [
            torch.autograd.grad(last[:, c].sum(), first[0], retain_graph=c + 1 < last.shape[1])[0]
            for c in range(last.shape[1])
        ]
    jacobian = torch.stack(rows, dim=1)  # (B, C, C): d y_H[c] / d x_1[c']
    norms = torch.linalg.matrix_norm(jacobian, ord=2).clamp_min(1e-12)  # (B,)
    log_growth = torch.log(norms) / (horizon - 1)
    value = float(torch.exp(log_growth.mean()))
    return value if math.isfinite(value) else None
