"""The base every training strategy derives from: how a batch becomes a loss.

A strategy is a small ``nn.Module`` that :class:`~forecastab.models.ForecastModule` holds as
``module.strategy`` and delegates to. Being a module, whatever it adds (a discriminator's
weights, a buffer of rollouts in ``get_extra_state``) travels in the forecaster's
``state_dict`` and so in every checkpoint; its spec travels in the hyperparameters, so
``ForecastModule.load_from_checkpoint`` rebuilds it and a resumed fit continues it exactly.
The strategy never keeps a reference to the forecaster: every hook receives it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from pytorch_lightning.callbacks import Callback
from torch import Tensor, nn

from forecastab.errors import ConfigError
from forecastab.teacher_forcing.covariates import Batch, Covariates, split_batch
from forecastab.teacher_forcing.rollout import rollout


class Strategy(nn.Module):
    """How a forecaster is trained: which inputs the decoder is fed, the loss, extra parts.

    Subclasses set the class attributes, take their typed config in ``__init__`` and implement
    :meth:`training_step`; everything else has a default that matches plain training (one Adam
    over the network, automatic optimization, no callbacks, no state).

    Attributes:
        method: the registry name, also the YAML ``method`` and the key of its parameters.
        config_class: the dataclass of its parameters.
        top_level_keys: parameters that may also sit at the top of a YAML strategy entry (the
            scheduled-sampling keys ``teacher_forcing``, ``sampling``, ``detach``).
        needs_autoregressive: True when the method feeds values back, so that a direct network
            (which feeds nothing back) is refused before training.
        needs_distribution: True when the method needs a probabilistic network (a distribution
            head), so that a point network is refused before training.
        automatic_optimization: False when :meth:`training_step` steps its own optimizers
            (Lightning manual optimization).
    """

    method: ClassVar[str] = ""
    config_class: ClassVar[type] = object
    top_level_keys: ClassVar[tuple[str, ...]] = ()
    needs_autoregressive: ClassVar[bool] = True
    needs_distribution: ClassVar[bool] = False
    automatic_optimization: ClassVar[bool] = True

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self._attached = False

    # -- building -------------------------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        """The plain mapping :func:`~forecastab.strategies.strategy_from_spec` rebuilds it from."""
        return {"method": self.method, self.method: dataclasses.asdict(self.config)}

    def attach(self, module: Any) -> None:
        """Check that the forecaster suits this strategy and build any extra modules for it.

        Called once by ``ForecastModule.__init__``, after the network is built.

        Raises:
            ConfigError: a direct network for a method that feeds values back, a point network
                for a method that needs a distribution, or a strategy object already attached
                to another forecaster.
        """
        if self._attached:
            raise ConfigError(
                f"this {self.method} strategy already trains another forecaster; "
                "build a new one (strategy_from_spec) for each model"
            )
        if self.needs_autoregressive and not getattr(module.network, "autoregressive", True):
            raise ConfigError(
                f"model '{module.name}' is direct (it feeds nothing back), so strategy method "
                f"'{self.method}' cannot train it; use scheduled_sampling for it, or list only "
                "that strategy under the model's 'strategies' key"
            )
        if self.needs_distribution and getattr(module.network, "distribution", None) is None:
            raise ConfigError(
                f"model '{module.name}' is a point forecaster, so strategy method "
                f"'{self.method}' cannot train it; set distribution: gaussian (or student_t) "
                "on the model"
            )
        self._attached = True

    def callbacks(self) -> list[Callback]:
        """Lightning callbacks the strategy needs (a schedule); the forecaster adds them."""
        return []

    # -- training -------------------------------------------------------------------------

    def training_step(self, module: Any, batch: Batch, batch_idx: int) -> Tensor | None:
        """The loss of one batch (or None after stepping its own optimizers)."""
        raise NotImplementedError

    def configure_optimizers(self, module: Any) -> Any:
        """One Adam over the network at the forecaster's learning rate."""
        return torch.optim.Adam(module.network.parameters(), lr=module.learning_rate)

    def on_train_epoch_start(self, module: Any) -> None:
        """Called at the start of every training epoch (after the callbacks)."""

    # -- helpers for subclasses -------------------------------------------------------------

    @staticmethod
    def progress(module: Any, unit: str) -> int:
        """Training progress in ``unit`` (``epoch`` or ``step``), 0 outside a fit."""
        trainer = getattr(module, "_trainer", None)
        if trainer is None:
            return 0
        return trainer.current_epoch if unit == "epoch" else trainer.global_step

    @staticmethod
    def teacher_forced_loss(module: Any, batch: Batch) -> Tensor:
        """MSE of the teacher-forced rollout: every input is the true previous value."""
        context, targets, covariates = split_batch(batch)
        out = rollout(
            module.network, context, module.horizon, targets=targets, ratio=1.0,
            covariates=covariates,
        )  # fmt: skip
        return module.loss(out, targets)

    @staticmethod
    def log_train_loss(module: Any, loss: Tensor, batch_size: int) -> None:
        """Log ``train_loss`` per step and per epoch, as every strategy does."""
        module.log("train_loss", loss, on_step=True, on_epoch=True, batch_size=batch_size)


def detached_feed(prediction: Tensor, truth: Tensor | None, step: int) -> Tensor:
    """A ``rollout`` feed hook that feeds a prediction back without its gradient."""
    return prediction.detach()


def decoder_width(module: Any) -> int:
    """``D``, the width of the decoder's hidden state, found by a one-step rollout of zeros (one
    patch of a patched network)."""
    network = module.network
    was_training = network.training
    network.eval()
    patch = getattr(network, "patch", 1)
    try:
        with torch.no_grad():
            context = torch.zeros(1, patch, module.n_targets)
            channels = getattr(module, "channels", None)
            covariates = (
                Covariates.zeros(channels, batch_size=1, rows=2 * patch)
                if channels is not None and channels.has_covariates
                else None
            )
            hidden = rollout(
                network, context, patch, return_hidden=True, covariates=covariates
            ).hidden
    finally:
        network.train(was_training)
    if hidden is None:
        raise ConfigError(f"model '{module.name}' has no decoder hidden states to compare")
    return int(hidden.shape[-1])
