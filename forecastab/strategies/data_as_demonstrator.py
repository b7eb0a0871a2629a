"""Data as Demonstrator (Venkatraman, Hebert, Bagnell, AAAI 2015).

Venkatraman et al. (2015), "Improving Multi-step Prediction of Learned Time Series Models",
treat the training data as a demonstrator that corrects the learner's own rollouts: after an
ordinary (teacher-forced) fit, roll the model out over the training trajectories, pair each
*predicted* state with the *true* next value, add these pairs to the training set, refit on the
aggregate, and repeat (DAgger-style aggregation). Their Algorithm 1 also drops corrections from
rollouts that have left the data's range far behind (their predictions blow up), since those
teach nothing about states the model will visit.

Here, after ``warmup_epochs`` teacher-forced epochs, at the start of every ``every``-th epoch
the current model rolls out free-running, without gradient and without dropout, over all
training windows; each window becomes a demonstration ``(context, inputs = its own
predictions, targets = the true values)``: the decoder is fed its own earlier predictions and
must output the truth. A demonstration whose RMSE exceeds ``max_error`` times the standard
deviation of the true values is dropped (the paper's filter). Every batch is then the original
windows (teacher-forced) plus as many demonstrations drawn uniformly from the aggregate, in one
pass through the rollout. The aggregate lives in the strategy's state, so it is part of every
checkpoint.

Deviations: the paper refits a model from scratch on the aggregate at each iteration; here the
network keeps training (one gradient step per batch), and each batch mixes originals and
demonstrations one to one (``demonstrations_per_batch``) instead of weighting them by their
counts in the aggregate; ``capacity`` can bound the aggregate (oldest dropped first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from forecastab.errors import ConfigError
from forecastab.strategies.base import Batch, Strategy, split_batch
from forecastab.teacher_forcing.covariates import Covariates, concat_covariates
from forecastab.teacher_forcing.rollout import rollout


@dataclass
class DataAsDemonstratorConfig:
    """Parameters of Data as Demonstrator.

    Attributes:
        warmup_epochs: teacher-forced epochs before the first rollout over the training windows.
        every: epochs between two rollouts (aggregations).
        max_error: drop a demonstration whose RMSE exceeds this many standard deviations of
            the true values (the paper's filter of runaway rollouts).
        demonstrations_per_batch: demonstrations drawn per original window in a batch.
        capacity: the most demonstrations kept (oldest dropped); None keeps all.
    """

    warmup_epochs: int = 5
    every: int = 2
    max_error: float = 5.0
    demonstrations_per_batch: float = 1.0
    capacity: int | None = None

    def __post_init__(self) -> None:
        if self.warmup_epochs < 0:
            raise ConfigError(
                f"data_as_demonstrator: warmup_epochs must be >= 0, got {self.warmup_epochs}"
            )
        if self.every < 1:
            raise ConfigError(f"data_as_demonstrator: every must be >= 1, got {self.every}")
        if not (math.isfinite(self.max_error) and self.max_error > 0):
            raise ConfigError(
                f"data_as_demonstrator: max_error must be a positive number, got {self.max_error!r}"
            )
        if not self.demonstrations_per_batch > 0:
            raise ConfigError(
                "data_as_demonstrator: demonstrations_per_batch must be positive, "
                f"got {self.demonstrations_per_batch!r}"
            )
        if self.capacity is not None and self.capacity < 1:
            raise ConfigError(
                f"data_as_demonstrator: capacity must be >= 1 or null, got {self.capacity}"
            )


class DataAsDemonstrator(Strategy):
    """Teacher forcing on the original windows plus the model's own corrected rollouts.

    Attributes:
        contexts, inputs, targets: the aggregate of demonstrations, ``(N, L, C)``,
            ``(N, H, C)`` and ``(N, H, C)`` on the CPU (None before the first rollout).
        kept, dropped: demonstrations added and filtered out so far.
    """

    method = "data_as_demonstrator"
    config_class = DataAsDemonstratorConfig
    needs_autoregressive = True

    config: DataAsDemonstratorConfig

    def __init__(self, config: DataAsDemonstratorConfig) -> None:
        super().__init__(config)
        self.contexts: Tensor | None = None
        self.inputs: Tensor | None = None
        self.targets: Tensor | None = None
        self.covariates: Covariates | None = None  # of each demonstration, with covariates
        self.kept = 0
        self.dropped = 0

    @property
    def size(self) -> int:
        """Demonstrations in the aggregate."""
        return 0 if self.inputs is None else len(self.inputs)

    def aggregates_at(self, epoch: int) -> bool:
        """Whether the model rolls out over the training windows at the start of ``epoch``."""
        since = epoch - self.config.warmup_epochs
        return since >= 0 and since % self.config.every == 0

    def on_train_epoch_start(self, module: Any) -> None:
        if not self.aggregates_at(module.current_epoch):
            return
        loader = module.trainer.train_dataloader
        if loader is None:
            raise ConfigError("data_as_demonstrator needs a training DataLoader")
        # one pass over every training window (in the loader's own order: any order will do)
        self.aggregate(module, loader)

    def aggregate(self, module: Any, batches: Any) -> None:
        """Roll the model out free-running over ``batches`` and add the demonstrations.

        Args:
            module: the forecaster.
            batches: an iterable of ``(context, targets)`` batches (all training windows).
        """
        contexts, inputs, targets, covariates = [], [], [], []
        was_training = module.network.training
        module.network.eval()
        try:
            with torch.no_grad():
                for batch in batches:
                    context, target, window = split_batch(batch)
                    context = context.to(module.device)
                    window = None if window is None else window.to(module.device)
                    own = rollout(
                        module.network, context, module.horizon, covariates=window
                    ).predictions
                    if window is not None:
                        covariates.append(window.to("cpu"))
                    contexts.append(context.cpu())
                    inputs.append(own.cpu())  # (B, H, C) detached: no gradient was recorded
                    targets.append(target.cpu())
        finally:
            module.network.train(was_training)
        if not contexts:
            return
        context, own, truth = torch.cat(contexts), torch.cat(inputs), torch.cat(targets)
        scale = truth.std().clamp_min(1e-12)
        error = ((own - truth) ** 2).mean(dim=(1, 2)).sqrt()  # (N,) RMSE per window
        keep = torch.isfinite(error) & (error <= self.config.max_error * scale)
        self.kept += int(keep.sum())
        self.dropped += int((~keep).sum())
        new = (context[keep], own[keep], truth[keep])
        kept_covariates = (
            concat_covariates(covariates).map(lambda part: part[keep]) if covariates else None
        )
        if self.inputs is None:
            self.contexts, self.inputs, self.targets = new
            self.covariates = kept_covariates
        else:
            self.contexts = torch.cat([self.contexts, new[0]])
            self.inputs = torch.cat([self.inputs, new[1]])
            self.targets = torch.cat([self.targets, new[2]])
            if kept_covariates is not None and self.covariates is not None:
                self.covariates = concat_covariates([self.covariates, kept_covariates])
        if self.config.capacity is not None and self.size > self.config.capacity:
            start = self.size - self.config.capacity
            self.contexts = self.contexts[start:]
            self.inputs = self.inputs[start:]
            self.targets = self.targets[start:]
            if self.covariates is not None:
                self.covariates = self.covariates.map(lambda part: part[start:])
        module.log("dad_demonstrations", float(self.size), on_step=False, on_epoch=True)

    def training_step(self, module: Any, batch: Batch, batch_idx: int) -> Tensor:
        context, targets, covariates = split_batch(batch)
        fed, truth, encoded = targets, targets, context
        if self.size:
            count = max(1, round(self.config.demonstrations_per_batch * len(context)))
            pick = torch.randint(self.size, (count,))
            encoded = torch.cat([context, self.contexts[pick].to(context)])  # (B + n, L, C)
            fed = torch.cat([targets, self.inputs[pick].to(targets)])  # (B + n, H, C)
            truth = torch.cat([targets, self.targets[pick].to(targets)])  # (B + n, H, C)
            if covariates is not None and self.covariates is not None:
                picked = self.covariates.map(lambda part: part[pick].to(context.device))
                covariates = concat_covariates([covariates, picked])
        # The rollout feeds `fed` as the decoder's inputs: the truth for the original windows,
        # the model's own earlier predictions for the demonstrations; the loss is against truth.
        out = rollout(
            module.network, encoded, module.horizon, targets=fed, ratio=1.0,
            covariates=covariates,
        )  # fmt: skip
        loss = module.loss(out, truth)
        self.log_train_loss(module, loss, len(context))
        return loss

    def get_extra_state(self) -> dict[str, Any]:
        return {
            "contexts": self.contexts,
            "inputs": self.inputs,
            "targets": self.targets,
            "covariates": None
            if self.covariates is None
            else [self.covariates.past, self.covariates.future, self.covariates.static],
            "kept": self.kept,
            "dropped": self.dropped,
        }

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.contexts = state.get("contexts")
        self.inputs = state.get("inputs")
        self.targets = state.get("targets")
        parts = state.get("covariates")
        self.covariates = None if parts is None else Covariates(*parts)
        self.kept = int(state.get("kept", 0))
        self.dropped = int(state.get("dropped", 0))

