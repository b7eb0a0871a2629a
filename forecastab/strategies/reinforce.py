"""REINFORCE with a sequence-level reward: self-critical training and the MIXER schedule.

A probabilistic forecaster is a stochastic policy: at every step it draws the next value from its
predictive distribution and feeds the draw back. REINFORCE (Williams 1992) raises the
likelihood of whole sampled rollouts in proportion to how much better than a baseline they
score on a *sequence-level* metric, which need not be differentiable (sMAPE, the worst step's
error, the valid prediction time).

- Rennie, Marcheret, Mroueh, Ross and Goel (CVPR 2017), "Self-critical sequence training for
  image captioning" (SCST): the baseline is the reward of the model's own greedy decode, the
  rollout it is evaluated with. Here: ``samples`` (``K``) ancestral rollouts per window, each
  feeding back its own draws; the greedy rollout feeds back the mean (the point forecast, what
  the free-running evaluation scores), without gradient and with dropout off. The loss is
  ``-(1 / (B K)) sum_{b,k} (R_bk - R_b^greedy) * sum_{h,c} log p(y_bkhc | params_bkhc)``.
- Ranzato, Chopra, Auli and Zaremba (ICLR 2016), "Sequence level training with recurrent
  neural networks" (MIXER): the first ``H - delta`` steps are trained teacher-forced by
  likelihood and the last ``delta`` by REINFORCE, rolling free from the teacher-forced prefix;
  ``delta`` grows by ``step`` every ``every`` epochs until it covers the horizon.

The gradient flows only through the log-probabilities: the draws are constants (the heads draw
by reparameterization, ``loc + scale * noise``, so every fed-back draw and every scored draw is
detached), the rewards and the baseline are computed without gradient.

Rewards (``reward:``) are minus a sequence-level error over the REINFORCE steps of each
sampled path, with the formulas of :mod:`forecastab.evaluation.metrics`: ``mae``, ``mse``,
``rmse``, ``smape`` (in original units when the forecaster knows its training scaler, that is
when it is fit on a ``WindowDataModule``; else in the units it is given), ``mase`` (scaled by
the naive forecast's mean absolute error over the window's own context), ``max_error`` (the
worst step's mean absolute error) and ``valid_prediction_time`` (a reward, not minus: the
number of steps before the root-mean-square error over the target columns first exceeds
``threshold``, in the scaled units the model trains in, that is in training standard deviations,
as Pathak et al. 2018 normalise it). Other rewards are computed in those scaled units too.

Deviations: (1) MIXER uses a learned linear regressor of the reward as its baseline; here it is
SCST's greedy rollout for both. (2) Ranzato et al. count ``delta`` in tokens and anneal per
epoch; here it is horizon steps and ``every`` epochs. (3) The likelihood of the teacher-forced
prefix is summed over its steps and divided by ``H`` (so ``delta = 0`` would be the ordinary
mean likelihood loss); ``nll_weight`` adds the teacher-forced likelihood of the whole window on
top, to keep the predictive scale calibrated (REINFORCE alone is free to shrink it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from forecastab.errors import ConfigError, unknown_name
from forecastab.evaluation.metrics import get_metric
from forecastab.registry import build_config
from forecastab.strategies.base import Batch, Strategy, split_batch
from forecastab.teacher_forcing.rollout import rollout
from forecastab.teacher_forcing.sampled import sample_paths

REWARDS = ("mae", "mse", "rmse", "smape", "mase", "max_error", "valid_prediction_time")
"""The sequence-level rewards of ``reward:``."""


@dataclass
class MixerConfig:
    """The MIXER schedule: ``delta`` REINFORCE steps at the end of the horizon, growing.

    Attributes:
        delta: REINFORCE steps in the first epoch (between 1 and the horizon).
        step: steps added every ``every`` epochs (0 keeps ``delta`` fixed).
        every: epochs between two increments.
    """

    delta: int
    step: int = 1
    every: int = 1

    def __post_init__(self) -> None:
        if self.delta < 1:
            raise ConfigError(f"reinforce.mixer: delta must be an integer >= 1, got {self.delta}")
        if self.step < 0:
            raise ConfigError(f"reinforce.mixer: step must be an integer >= 0, got {self.step}")
        if self.every < 1:
            raise ConfigError(f"reinforce.mixer: every must be an integer >= 1, got {self.every}")


@dataclass
class ReinforceConfig:
    """Parameters of self-critical REINFORCE.

    Attributes:
        samples: ``K``, sampled rollouts per window.
        reward: the sequence-level reward, one of :data:`REWARDS`.
        nll_weight: weight of the teacher-forced likelihood loss added to the REINFORCE loss
            (0: none).
        mixer: the MIXER schedule ``{delta, step, every}``; None trains every step by
            REINFORCE from the start.
        threshold: for ``valid_prediction_time``, the error (in training standard deviations)
            at which a forecast stops being valid.
    """

    samples: int = 4
    reward: str = "smape"
    nll_weight: float = 0.0
    mixer: dict[str, Any] | None = None
    threshold: float = 0.4

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ConfigError(f"reinforce: samples must be an integer >= 1, got {self.samples}")
        if self.reward not in REWARDS:
            raise ConfigError(unknown_name("reward", str(self.reward), REWARDS))
        if not (math.isfinite(self.nll_weight) and self.nll_weight >= 0):
            raise ConfigError(
                f"reinforce: nll_weight must be a finite number >= 0, got {self.nll_weight!r}"
            )
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise ConfigError(
                f"reinforce: threshold must be a positive number, got {self.threshold!r}"
            )
        if self.mixer is not None:
            build_config(MixerConfig, self.mixer, where="reinforce.mixer")

    @property
    def mixer_config(self) -> MixerConfig | None:
        """The MIXER schedule as its dataclass, or None."""
        if self.mixer is None:
            return None
        return build_config(MixerConfig, self.mixer, where="reinforce.mixer")


def sequence_reward(
    name: str,
    predictions: Tensor,
    targets: Tensor,
    *,
    context: Tensor | None = None,
    scaler: Any = None,
    threshold: float = 0.4,
) -> Tensor:
    """The reward of each forecast path: minus a sequence-level error (higher is better).

    Args:
        name: one of :data:`REWARDS`.
        predictions: ``(N, h, C)`` paths (no gradient is taken).
        targets: ``(N, h, C)`` the true values.
        context: ``(N, L, C)`` each path's context (needed by ``mase``).
        scaler: the training scaler; ``smape`` is computed in original units when given.
        threshold: the error at which ``valid_prediction_time`` stops counting.

    Returns:
        ``(N,)`` rewards, float32, on the predictions' device.

    >>> sequence_reward("max_error", torch.tensor([[[1.0], [3.0]]]), torch.zeros(1, 2, 1))
    tensor([-3.])
    >>> sequence_reward("valid_prediction_time", torch.tensor([[[0.1], [0.2], [0.9]]]),
    ...                 torch.zeros(1, 3, 1))
    tensor([2.])
    """
    prediction = predictions.detach().double().cpu().numpy()  # (N, h, C)
    truth = targets.detach().double().cpu().numpy()  # (N, h, C)
    if name == "smape" and scaler is not None:
        prediction, truth = scaler.inverse_transform(prediction), scaler.inverse_transform(truth)
    if name == "max_error":
        values = -get_metric("mae")(prediction, truth).per_origin.max(axis=1)  # (N,)
    elif name == "valid_prediction_time":
        error = np.sqrt(np.square(prediction - truth).mean(axis=2))  # (N, h)
        exceeded = ~(error <= threshold)  # a NaN (diverged) step is not valid
        values = np.where(exceeded.any(axis=1), exceeded.argmax(axis=1), error.shape[1])
    elif name == "mase":
        if context is None:
            raise ConfigError("reward 'mase' needs each window's context")
        past = context.detach().double().cpu().numpy()  # (N, L, C)
        scale = np.abs(np.diff(past, axis=1)).mean(axis=1, keepdims=True)  # (N, 1, C)
        values = -(np.abs(prediction - truth) / np.maximum(scale, 1e-8)).mean(axis=(1, 2))
    else:
        metric = get_metric(name)(prediction, truth)
        per_window = metric.per_origin.mean(axis=1)  # (N,)
        values = -metric.finalize(per_window)
    return torch.as_tensor(values, dtype=torch.float32, device=predictions.device)


class Reinforce(Strategy):
    """Self-critical REINFORCE on sampled free-running rollouts, with an optional MIXER schedule.

    Attributes:
        horizon: the forecaster's horizon (set when attached).

    >>> strategy = Reinforce(ReinforceConfig(mixer={"delta": 2, "step": 3, "every": 2}))
    >>> strategy.horizon = 10
    >>> [strategy.delta_at(epoch) for epoch in range(6)]
    [2, 2, 5, 5, 8, 8]
    """

    method = "reinforce"
    config_class = ReinforceConfig
    needs_autoregressive = True
    needs_distribution = True

    config: ReinforceConfig

    def __init__(self, config: ReinforceConfig) -> None:
        super().__init__(config)
        self.horizon: int | None = None

    def attach(self, module: Any) -> None:
        mixer = self.config.mixer_config
        if mixer is not None and mixer.delta > module.horizon:
            raise ConfigError(
                f"reinforce.mixer: delta ({mixer.delta}) must not exceed the horizon "
                f"({module.horizon}) of model '{module.name}'"
            )
        super().attach(module)
        self.horizon = module.horizon

    def delta_at(self, epoch: int) -> int:
        """Steps trained by REINFORCE (the last ones of the horizon) in ``epoch``."""
        if self.horizon is None:
            raise ConfigError("attach the reinforce strategy to a forecaster first")
        mixer = self.config.mixer_config
        if mixer is None:
            return self.horizon
        return min(self.horizon, mixer.delta + mixer.step * (epoch // mixer.every))

    def on_train_epoch_start(self, module: Any) -> None:
        if self.config.mixer is not None:
            delta = float(self.delta_at(module.current_epoch))
            module.log("reinforce_delta", delta, on_step=False, on_epoch=True)

    def training_step(self, module: Any, batch: Batch, batch_idx: int) -> Tensor:
        context, targets, covariates = split_batch(batch)
        network, horizon = module.network, module.horizon
        distribution = network.distribution
        prefix = horizon - self.delta_at(self.progress(module, "epoch"))

        def feed(value: Tensor, truth: Tensor | None, step: int) -> Tensor:
            # the teacher-forced prefix feeds the truth; a draw is an action, a constant
            return truth if step < prefix and truth is not None else value.detach()

        paths = sample_paths(
            network, context, horizon, num_samples=self.config.samples, targets=targets, feed=feed,
            covariates=covariates,
        )  # fmt: skip
        draws = paths.predictions[:, :, prefix:].detach()  # (B, K, delta, C)
        log_prob = distribution.log_prob(paths.params[:, :, prefix:], draws)  # (B, K, delta, C)
        with torch.no_grad():
            truth = targets[:, prefix:]  # (B, delta, C)
            reward = self._reward(module, context, draws, truth)  # (B, K)
            greedy = self._greedy(module, context, targets, feed, covariates)[:, None, prefix:]  # (B, 1, d, C)
            baseline = self._reward(module, context, greedy, truth)  # (B, 1)
        advantage = reward - baseline  # (B, K)
        loss = -(advantage * log_prob.sum(dim=(2, 3))).mean()
        if prefix:
            forced = distribution.log_prob(paths.params[:, :, :prefix], targets[:, None, :prefix])
            loss = loss - forced.mean(dim=(0, 1, 3)).sum() / horizon  # (prefix,) summed
        if self.config.nll_weight:
            loss = loss + self.config.nll_weight * self.teacher_forced_loss(module, batch)
        self.log_train_loss(module, loss, len(context))
        module.log("reward", reward.mean(), on_step=False, on_epoch=True, batch_size=len(context))
        module.log(
            "reward_greedy", baseline.mean(), on_step=False, on_epoch=True, batch_size=len(context)
        )
        return loss

    def _reward(self, module: Any, context: Tensor, paths: Tensor, truth: Tensor) -> Tensor:
        """``(B, K)`` rewards of paths ``(B, K, h, C)`` against ``truth`` ``(B, h, C)``."""
        samples = paths.shape[1]
        spec = getattr(module, "data_spec", None)
        flat = sequence_reward(
            self.config.reward,
            paths.flatten(0, 1),  # (B*K, h, C)
            truth.repeat_interleave(samples, dim=0),  # (B*K, h, C)
            context=context.repeat_interleave(samples, dim=0),  # (B*K, L, C)
            scaler=None if spec is None else spec.scaler,
            threshold=self.config.threshold,
        )
        return flat.unflatten(0, (len(paths), samples))  # (B, K)

    @staticmethod
    def _greedy(
        module: Any, context: Tensor, targets: Tensor, feed: Any, covariates: Any = None
    ) -> Tensor:
        """``(B, H, C)`` the rollout feeding back the mean, as evaluated (dropout off)."""
        network = module.network
        was_training = network.training
        network.eval()
        try:
            return rollout(
                network, context, module.horizon, targets=targets, feed=feed,
                covariates=covariates,
            ).predictions  # fmt: skip
        finally:
            network.train(was_training)
