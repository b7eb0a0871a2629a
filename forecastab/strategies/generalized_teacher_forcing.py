"""Generalized teacher forcing (Hess, Monfared, Brenner, Durstewitz, ICML 2023).

Hess et al. (2023), "Generalized Teacher Forcing for Learning Chaotic Dynamics", feed a
(PL)RNN a convex mix of its own latent state and the state inferred from data,
``(1 - alpha) * z + alpha * d``, at every step: ``alpha = 1`` is teacher forcing, ``alpha = 0``
free running. Gradients flow through the model's part, so the loss sees the whole rollout while
the forcing keeps the Jacobian products (and so the gradients) from exploding on chaotic data.

**What forecastab forces is the fed-back observation, not a latent state.** Its networks have
no data-inferred latent state, so the decoder is fed ``(1 - alpha) * prediction + alpha *
truth`` at every step through the rollout's ``feed`` hook (gradients flow through the
prediction part; the truth has none), while the hidden state runs free. ``alpha`` is a
constant, any teacher-forcing schedule (its ratio is alpha), or an adaptive rule:

- ``product_bound`` (Hess et al.'s rule, the ``product_upper_bound`` estimate of the authors'
  GTF-shPLRNN code): per window, the geometric mean over steps of the spectral norms of the
  per-step Jacobians, evaluated on the data (teacher-forced) path; ``G`` is the largest over
  the windows of a batch and ``alpha = max(0, 1 - 1 / G)``, which bounds the norm of the
  forced Jacobian product ``prod (1 - alpha) J_t`` by 1. Here the per-step Jacobian is that
  of the prediction with respect to the value fed at that step (``d y_{t+1} / d x_t``, the
  hidden state held), the observation-space counterpart of the paper's latent Jacobian. In a
  latent model the product of the per-step norms bounds the rollout's Jacobian product; here
  the free hidden state carries influence these partial derivatives do not see, so it is no
  bound (on an untrained GRU it can be 10 times smaller than the rollout's growth).
  Every ``update_every`` training steps; a larger estimate replaces alpha at once, a smaller
  one is blended in, ``alpha <- gamma * alpha + (1 - gamma) * estimate`` (as the authors'
  training loop does).
- ``rollout_growth`` (forecastab's earlier rule, called ``adaptive`` before; that name still
  selects it, with a warning): ``G`` is the per-step geometric growth of the norm of the
  free-running rollout's whole Jacobian product ``d y_H / d x_1``. On a trained contracting
  model it is often below 1 and then sets ``alpha = 0`` (free running): the mitigations
  studies' ``gtf_adaptive`` runs were bit-for-bit free running for that reason.
"""

from __future__ import annotations

import math
import warnings
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

PRODUCT_BOUND = "product_bound"
ROLLOUT_GROWTH = "rollout_growth"
ADAPTIVE_RULES = (PRODUCT_BOUND, ROLLOUT_GROWTH)
"""Adaptive rules for alpha: Hess et al.'s per-step product bound, or the rollout's growth."""
LEGACY_ADAPTIVE = "adaptive"
"""The earlier name of ``rollout_growth``; still accepted, with a warning."""


@dataclass
class GeneralizedTeacherForcingConfig:
    """Parameters of generalized teacher forcing.

    Attributes:
        alpha: the weight of the truth in the fed value: a number in [0, 1], a teacher-forcing
            schedule mapping (``{schedule: linear, k: 1, c: 0.05}``, its ratio is alpha),
            ``product_bound`` (Hess et al.'s rule) or ``rollout_growth`` (the earlier rule,
            also spelled ``adaptive``).
        update_every: for an adaptive rule, training steps between two estimates of alpha.
        gamma: for an adaptive rule, smoothing: ``alpha <- gamma * alpha + (1 - gamma) *
            estimate`` (``product_bound`` takes a larger estimate at once).
    """

    alpha: float | str | dict[str, Any]
    update_every: int = 5
    gamma: float = 0.9

    def __post_init__(self) -> None:
        alpha = self.alpha
        if isinstance(alpha, dict):
            schedule_from_spec(alpha)
        elif isinstance(alpha, str):
            if alpha == LEGACY_ADAPTIVE:
                warnings.warn(
                    "generalized_teacher_forcing: alpha 'adaptive' is the rollout-growth rule "
                    "(renamed 'rollout_growth'), not Hess et al.'s; write 'rollout_growth' to "
                    "keep it or 'product_bound' for the paper's rule",
                    UserWarning,
                    stacklevel=2,
                )
            elif alpha not in ADAPTIVE_RULES:
                raise ConfigError(
                    f"generalized_teacher_forcing: alpha must be a number in [0, 1], "
                    f"'{PRODUCT_BOUND}', '{ROLLOUT_GROWTH}' or a schedule mapping, got {alpha!r}"
                )
        elif not (isinstance(alpha, int | float) and 0.0 <= alpha <= 1.0):
            raise ConfigError(
                "generalized_teacher_forcing: alpha must lie in [0, 1] (1 is teacher forcing, "
                f"0 free running), or be '{PRODUCT_BOUND}', '{ROLLOUT_GROWTH}' or a schedule "
                f"mapping; got {alpha!r}"
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

    @property
    def rule(self) -> str | None:
        """The adaptive rule in use, or None for a constant or scheduled alpha."""
        alpha = self.config.alpha
        if not isinstance(alpha, str):
            return None
        return ROLLOUT_GROWTH if alpha == LEGACY_ADAPTIVE else alpha

    def alpha(self, module: Any) -> float:
        """The current alpha: constant, the schedule's ratio, or the adaptive estimate."""
        alpha = self.config.alpha
        if isinstance(alpha, dict):
            return float(module.teacher_forcing_ratio)
        if self.rule is not None:
            return 1.0 if self.adaptive_alpha is None else self.adaptive_alpha
        return float(alpha)

    def training_step(self, module: Any, batch: Batch, batch_idx: int) -> Tensor:
        context, targets, covariates = split_batch(batch)
        if self.rule is not None and module.global_step % self.config.update_every == 0:
            self._update_alpha(module, context, targets, covariates)
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

    def _update_alpha(
        self, module: Any, context: Tensor, targets: Tensor, covariates: Any = None
    ) -> None:
        if self.rule == PRODUCT_BOUND:
            growth = jacobian_product_bound(
                module.network, context, targets, covariates=covariates
            )
        else:
            growth = jacobian_growth(
                module.network, context, module.horizon, covariates=covariates
            )
        if growth is None:
            return
        estimate = max(0.0, 1.0 - 1.0 / growth) if growth > 0 else 0.0
        gamma = self.config.gamma
        previous = self.adaptive_alpha
        if previous is None or (self.rule == PRODUCT_BOUND and estimate > previous):
            self.adaptive_alpha = estimate
        else:
            self.adaptive_alpha = gamma * previous + (1 - gamma) * estimate

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
    A patched network (``patch = P``) feeds back whole patches: ``x_1`` and ``y_H`` are then the
    first fed-back and the last predicted patch, and ``H / P - 1`` the steps between them.

    Args:
        network: an autoregressive network.
        context: ``(B, L, C)`` contexts.
        horizon: ``H``.
        covariates: the windows' covariates, for a network that reads them.
    """
    patch = getattr(network, "patch", 1)
    steps = horizon // patch  # the rollout's steps (one per patch)
    if steps < 2:
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
        ).predictions[:, -patch:].flatten(1)  # (B, C), or the last patch (B, P*C)
        rows = [
            torch.autograd.grad(last[:, c].sum(), first[0], retain_graph=c + 1 < last.shape[1])[0]
            for c in range(last.shape[1])
        ]
    jacobian = torch.stack(rows, dim=1)  # (B, C, C): d y_H[c] / d x_1[c']
    norms = torch.linalg.matrix_norm(jacobian, ord=2).clamp_min(1e-12)  # (B,)
    log_growth = torch.log(norms) / (steps - 1)
    value = float(torch.exp(log_growth.mean()))
    return value if math.isfinite(value) else None


def jacobian_product_bound(
    network: Any, context: Tensor, targets: Tensor, *, covariates: Any = None
) -> float | None:
    """Hess et al.'s ``G``: per window, the geometric mean of per-step Jacobian norms; the max.

    On the teacher-forced path (the true values fed at every step), the per-step Jacobian is
    ``J_t = d y_{t+1} / d x_t``: how the prediction after step ``t`` moves with the value fed
    at step ``t``, the hidden state held. ``G = max_windows (prod_t ||J_t||_2) ** (1 / (H - 1))``
    over the ``H - 1`` fed values. None when ``H = 1``. The parameters receive no gradient.
    For a patched network (``patch = P``) ``x_t`` and ``y_{t+1}`` are whole patches and there
    are ``H / P - 1`` fed patches.

    Args:
        network: an autoregressive network.
        context: ``(B, L, C)`` contexts.
        targets: ``(B, H, C)`` the true future (the values fed).
        covariates: the batch's covariate channels, when the data has any.
    """
    horizon = targets.shape[1]
    patch = getattr(network, "patch", 1)
    if horizon // patch < 2:
        return None
    leaves: list[Tensor] = []

    def true_leaf(prediction: Tensor, truth: Tensor | None, step: int) -> Tensor:
        leaf = truth.detach().clone().requires_grad_(True)  # (B, C)
        leaves.append(leaf)
        return leaf

    with torch.enable_grad():
        predictions = rollout(
            network,
            context.detach(),
            horizon,
            targets=targets.detach(),
            feed=true_leaf,
            covariates=covariates,
        ).predictions  # (B, H, C)
        if patch > 1:  # one row per patch: (B, H/P, P*C)
            predictions = predictions.reshape(predictions.shape[0], horizon // patch, -1)
        channels = predictions.shape[2]
        log_norms = []
        for step in range(len(leaves)):
            rows = [
                torch.autograd.grad(
                    predictions[:, step + 1, c].sum(), leaves[step], retain_graph=True
                )[0]
                for c in range(channels)
            ]
            jacobian = torch.stack(rows, dim=1)  # (B, C, C): d y_{t+1}[c] / d x_t[c']
            norms = torch.linalg.matrix_norm(jacobian, ord=2).clamp_min(1e-12)  # (B,)
            log_norms.append(torch.log(norms))
    per_window = torch.stack(log_norms, dim=1).mean(dim=1)  # (B,) log geometric means
    value = float(torch.exp(per_window.max()))
    return value if math.isfinite(value) else None
