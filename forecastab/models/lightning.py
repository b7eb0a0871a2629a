"""The Lightning wrapper: one thin ``ForecastModule`` around any forecasting network.

The module holds a plain network (recurrent, transformer or direct) and a training strategy
(:mod:`forecastab.strategies`) that it delegates training to: by default scheduled sampling
through the one rollout loop at the current teacher forcing ratio (which a
``TeacherForcingScheduler`` callback sets). It validates the network both free-running and
teacher-forced, and forecasts through the uniform ``predict_origins`` interface the evaluation
calls.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, fields
from typing import Any

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forecastab import checks
from forecastab.checkpoints import CHECKPOINT_KEY, checkpoint_entry, restore_entry
from forecastab.data.spec import DataSpec
from forecastab.data.windows import window_view
from forecastab.errors import ConfigError, DataError, unknown_name
from forecastab.forecasting import predict_frame
from forecastab.models.direct import DirectConfig, DirectNetwork
from forecastab.models.distributions import Distribution, rollout_loss
from forecastab.models.linear import LinearConfig, LinearNetwork
from forecastab.models.normalization import wrap_normalization
from forecastab.models.progress import origin_progress
from forecastab.models.rnn import RNNConfig, RNNNetwork, check_patch_lengths
from forecastab.models.transformer import TransformerConfig, TransformerNetwork
from forecastab.strategies import Strategy, strategy_from_spec, strategy_label
from forecastab.teacher_forcing.callback import TeacherForcingScheduler
from forecastab.teacher_forcing.covariates import Batch, Channels, Covariates, split_batch
from forecastab.teacher_forcing.rollout import SAMPLING_MODES, rollout
from forecastab.teacher_forcing.sampled import sample_paths, seeded

NetworkConfig = RNNConfig | TransformerConfig | DirectConfig | LinearConfig

NETWORK_CONFIGS: dict[str, type[NetworkConfig]] = {
    "rnn": RNNConfig,
    "transformer": TransformerConfig,
    "direct": DirectConfig,
    "linear": LinearConfig,
}
"""The YAML ``type:`` of a model entry -> its config dataclass."""

MODES = ("free_running", "teacher_forced")

SPEC_KEYS = ("name", "type", "learning_rate", "learning_rate_decay")
"""Keys of a YAML model entry besides the fields of its config dataclass."""


def network_type(config: NetworkConfig) -> str:
    """The YAML ``type`` of a network config.

    >>> network_type(RNNConfig(cell="lstm"))
    'rnn'
    """
    for kind, config_class in NETWORK_CONFIGS.items():
        if type(config) is config_class:
            return kind
    raise ConfigError(
        f"network must be one of {', '.join(c.__name__ for c in NETWORK_CONFIGS.values())}, "
        f"got {type(config).__name__}"
    )


def build_network(
    config: NetworkConfig,
    *,
    context_length: int,
    horizon: int,
    n_targets: int,
    channels: Channels | None = None,
) -> nn.Module:
    """The plain network a config describes, sized for the given windows, targets and
    covariate channels (None: targets only).

    >>> net = build_network(DirectConfig(hidden_size=8), context_length=10, horizon=4, n_targets=1)
    >>> type(net).__name__, net.autoregressive
    ('DirectNetwork', False)
    """
    kind = network_type(config)
    if kind == "rnn":
        check_patch_lengths(config.patch, context_length=context_length, horizon=horizon)
        network = RNNNetwork(config, n_targets=n_targets, channels=channels)
    elif kind == "transformer":
        check_patch_lengths(config.patch, context_length=context_length, horizon=horizon)
        positions = (context_length + horizon) // config.patch
        network = TransformerNetwork(
            config, n_targets=n_targets, max_length=positions, channels=channels
        )
    elif kind == "linear":
        network = LinearNetwork(
            config, context_length=context_length, horizon=horizon, n_targets=n_targets,
            channels=channels,
        )  # fmt: skip
    else:
        network = DirectNetwork(config, n_targets=n_targets, horizon=horizon, channels=channels)
    # per-window normalization wraps the network's own operations: every rollout path sees it
    return wrap_normalization(network, config, n_targets=n_targets)


def network_fields(config: NetworkConfig) -> dict[str, Any]:
    """A config's fields as plain values, for checkpoints and a run's identity.

    ``patch`` is left out at its default 1 (the point-wise network), so checkpoints and run
    folders written before the option existed keep their identity (a rerun skips them).

    >>> "patch" in network_fields(RNNConfig()), network_fields(RNNConfig(patch=4))["patch"]
    (False, 4)
    """
    values = asdict(config)
    if values.get("patch") == 1:
        del values["patch"]
    return values


def _config_from_dict(network: Mapping[str, Any]) -> NetworkConfig:
    """Rebuild a config from ``{"type": ..., **fields}`` (how checkpoints store it)."""
    fields_ = dict(network)
    kind = fields_.pop("type", None)
    if kind not in NETWORK_CONFIGS:
        raise ConfigError(unknown_name("model type", str(kind), NETWORK_CONFIGS))
    return NETWORK_CONFIGS[kind](**fields_)


def _channels(n_targets: int, covariates: Mapping[str, int] | None) -> Channels:
    """The channels of a forecaster from its covariate counts ``{past, future, static}``."""
    counts = dict(covariates or {})
    unknown = [k for k in counts if k not in ("past", "future", "static")]
    if unknown:
        raise ConfigError(unknown_name("covariate count", unknown[0], ("past", "future", "static")))
    return Channels(
        n_targets=n_targets,
        n_past=int(counts.get("past", 0)),
        n_future=int(counts.get("future", 0)),
        n_static=int(counts.get("static", 0)),
    )


def _window_covariates(
    covariates: Any, origins: np.ndarray, context_length: int, horizon: int, device: Any
) -> Covariates:
    """A chunk's :class:`Covariates` from one series' covariates (``SeriesCovariates``)."""
    past, future, static = covariates.windows(origins, context_length, horizon)

    def tensor(array: np.ndarray | None) -> Tensor | None:
        if array is None:
            return None
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(device)

    return Covariates(past=tensor(past), future=tensor(future), static=tensor(static))


def _default_name(config: NetworkConfig) -> str:
    kind = network_type(config)
    if kind == "rnn":
        return config.cell
    if kind == "direct":
        return f"direct_{config.cell}"
    if kind == "linear":
        return config.variant
    return kind


SAMPLED_ROWS_PER_PASS = {"cpu": 2048, "other": 32768}
"""Rows (origins x samples) per forward pass of a sampled ``predict_origins``, by device.

Measured on CPU (GRU 64, context 96, horizon 96, 100 paths of 400 origins, one thread):
2,048 rows per pass took 8.1 s, 32,768 rows 25.7 s; the larger passes spill out of the caches
(the encoder alone holds rows x context x hidden floats). An accelerator wants large passes.
"""


class ForecastModule(pl.LightningModule):
    """A forecaster: a network trained through the rollout loop, behind the uniform interface.

    Args:
        network: the network's config, or ``{"type": ..., **fields}`` (as checkpoints store it).
        context_length: ``L``, rows of context per window.
        horizon: ``H``, steps forecast.
        n_targets: ``C``, target columns; when None, taken from the data module at fit time
            (1 for a forecast before any fit). A given value that the data contradicts is a
            ConfigError before training.
        learning_rate: Adam's learning rate.
        learning_rate_decay: the factor the learning rate is multiplied by after every epoch
            (1: constant; 0.5 halves it each epoch, as the LTSF-Linear experiments train).
        strategy: how it is trained: a :class:`~forecastab.strategies.Strategy` or its spec
            (``{"method": "noise_injection", "noise_injection": {"std": 0.1}}``, as in YAML);
            None is scheduled sampling with ``sampling`` at ``teacher_forcing_ratio``.
        sampling: how scheduled sampling flips the teacher forcing coins (see
            :func:`forecastab.teacher_forcing.rollout`) when no ``strategy`` is given; None
            is ``per_step``.
        teacher_forcing_ratio: the ratio training starts with; a ``TeacherForcingScheduler``
            callback (the strategy's, or one of your own) updates it during training.
        name: the model's name in results; defaults to ``gru``/``lstm``/``transformer``/
            ``direct_<cell>``.
        covariates: covariate channel counts ``{past, future, static}``; when None, taken
            from the data module at fit time (none for a forecast before any fit).

    Raises:
        ConfigError: an invalid size, learning rate, sampling mode, ratio or strategy, or a
            strategy that cannot train this network.

    >>> module = ForecastModule(RNNConfig(hidden_size=8), context_length=10, horizon=4)
    >>> module.name, module.supported_modes, module.monitor
    ('gru', ('free_running', 'teacher_forced'), 'val_loss_free_running')
    >>> module.forecast(np.zeros((2, 10, 1), dtype=np.float32)).shape
    (2, 4, 1)
    """

    monitor = "val_loss_free_running"
    """The validation metric to monitor (early stopping, checkpointing): the honest one."""

    accepts_covariates = True
    """``predict_origins`` takes a series' covariates (baselines do not)."""

    def __init__(
        self,
        network: NetworkConfig | Mapping[str, Any],
        *,
        context_length: int,
        horizon: int,
        n_targets: int | None = None,
        learning_rate: float = 1e-3,
        learning_rate_decay: float = 1.0,
        strategy: Strategy | Mapping[str, Any] | None = None,
        sampling: str | None = None,
        teacher_forcing_ratio: float = 1.0,
        name: str | None = None,
        covariates: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__()
        config = _config_from_dict(network) if isinstance(network, Mapping) else network
        self.n_targets_given = n_targets is not None
        n_targets = 1 if n_targets is None else n_targets  # from the data at fit time
        context_length = checks.positive_int(context_length, "context_length")
        horizon = checks.positive_int(horizon, "horizon")
        n_targets = checks.positive_int(n_targets, "n_targets")
        learning_rate = checks.learning_rate(learning_rate)
        if not 0 < learning_rate_decay <= 1:
            raise ConfigError(
                f"learning_rate_decay must lie in (0, 1], got {learning_rate_decay!r}"
            )
        if sampling is not None and sampling not in SAMPLING_MODES:
            raise ConfigError(unknown_name("sampling mode", sampling, SAMPLING_MODES))
        given_name = strategy.get("name") if isinstance(strategy, Mapping) else None
        strategy = _strategy(strategy, sampling)
        if not 0.0 <= teacher_forcing_ratio <= 1.0:
            raise ConfigError(
                f"teacher_forcing_ratio must lie in [0, 1], got {teacher_forcing_ratio!r}"
            )
        # Plain types only, so that load_from_checkpoint can rebuild the network from them.
        self.save_hyperparameters(
            {
                "network": {"type": network_type(config), **network_fields(config)},
                "context_length": context_length,
                "horizon": horizon,
                "n_targets": n_targets,
                "learning_rate": learning_rate,
                "learning_rate_decay": learning_rate_decay,
                # the entry's name travels with the spec (strategy_from_spec ignores it)
                "strategy": {**({"name": given_name} if given_name else {}), **strategy.spec()},
                "teacher_forcing_ratio": teacher_forcing_ratio,
                "name": name,
                "covariates": None if covariates is None else dict(covariates),
            }
        )
        self.config = config
        self.channels = _channels(n_targets, covariates)
        self.network = build_network(
            config, context_length=context_length, horizon=horizon, n_targets=n_targets,
            channels=self.channels,
        )  # fmt: skip
        self.context_length = context_length
        self.horizon = horizon
        self.n_targets = n_targets
        self.learning_rate = learning_rate
        self.learning_rate_decay = float(learning_rate_decay)
        self.teacher_forcing_ratio = float(teacher_forcing_ratio)
        self.name = name or _default_name(config)
        self.data_spec: DataSpec | None = None  # set at fit time from the data module
        self.strategy_spec: dict[str, Any] | None = None  # set by the experiment runner
        strategy.attach(self)
        self.strategy = strategy

    @property
    def strategy_label(self) -> str:
        """The ``strategy`` label of this model's evaluation rows and chart legends.

        The strategy's name (the runner's entry name, or ``name`` in the spec given to the
        constructor); otherwise its method and schedule (:func:`~forecastab.strategies.
        strategy_label`), e.g. ``noise_injection``, ``scheduled_sampling_linear``, or for the
        default method ``teacher_forcing`` / ``free_running`` at a fixed ratio of 1 / 0 and
        ``scheduled_sampling_<schedule>`` when a ``TeacherForcingScheduler`` drove the fit.
        """
        if self.strategy_spec and self.strategy_spec.get("name"):
            return str(self.strategy_spec["name"])
        spec = self.hparams.get("strategy") or self.strategy.spec()
        trainer = self._trainer  # None when never fitted
        schedulers = [
            callback.schedule.name
            for callback in (getattr(trainer, "callbacks", None) or [])
            if isinstance(callback, TeacherForcingScheduler)
        ]
        return strategy_label(
            spec,
            ratio=self.teacher_forcing_ratio,
            schedule=schedulers[0] if schedulers else None,
        )

    @property
    def sampling(self) -> str | None:
        """The sampling mode of a scheduled-sampling strategy (None for other methods)."""
        return getattr(self.strategy.config, "sampling", None)

    @property
    def automatic_optimization(self) -> bool:
        """False when the strategy steps its own optimizers (Lightning manual optimization)."""
        return self.strategy.automatic_optimization

    @automatic_optimization.setter
    def automatic_optimization(self, value: bool) -> None:
        if value != self.strategy.automatic_optimization:
            raise ConfigError("the strategy decides automatic_optimization; choose another method")

    # -- self-contained checkpoints (forecastab.checkpoints) ---------------------------------

    def setup(self, stage: str) -> None:
        """Learn the data settings (scaler, columns, frequency) from the Trainer's data module."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or not hasattr(datamodule, "target_columns"):
            return
        self.data_spec = DataSpec.from_datamodule(datamodule)
        n_targets = self.data_spec.n_targets
        channels = getattr(datamodule, "channels", None) or Channels(n_targets=n_targets)
        if n_targets == self.n_targets and channels == self.channels:
            return
        if self.n_targets_given and n_targets != self.n_targets:
            raise ConfigError(
                f"model '{self.name}' was built for n_targets={self.n_targets} but the data has "
                f"{n_targets} target column(s) ({', '.join(self.data_spec.target_columns)}); "
                f"leave n_targets out to take it from the data, or pass n_targets={n_targets}"
            )
        # the network was sized provisionally: size it for the data before any training step
        self.network = build_network(
            self.config,
            context_length=self.context_length,
            horizon=self.horizon,
            n_targets=n_targets,
            channels=channels,
        )
        self.n_targets = n_targets
        self.channels = channels
        self.hparams["n_targets"] = n_targets
        self.hparams["covariates"] = channels.counts() if channels.has_covariates else None
        self.n_targets_given = True
        # a fresh strategy sizes its own modules (a discriminator) for the resized network
        self.strategy = strategy_from_spec(self.strategy.spec())
        self.strategy.attach(self)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CHECKPOINT_KEY] = checkpoint_entry(self)
        if "hyper_parameters" in checkpoint:
            checkpoint["hyper_parameters"]["n_targets"] = self.n_targets

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        restore_entry(self, checkpoint)

    def predict_frame(
        self,
        data: Any,
        origin: Any = None,
        *,
        horizon: int | None = None,
        quantiles: Sequence[float] | None = None,
        future: Any = None,
        ids: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Free-running forecasts as a tidy frame in original units.

        Args:
            data: a DataFrame, CSV path or bundled dataset name in original units (read with
                the data settings learned at fit time or loaded from the checkpoint), or a
                ``WindowDataModule``.
            origin: None forecasts from the last row into the future; a time of the data's
                index, or a list of them, forecasts from there.
            horizon: steps ahead; the trained horizon when None.
            quantiles: quantile levels, for probabilistic models.
            future: the future covariates of the forecast dates (a DataFrame or CSV path), for
                a model fitted with named future covariates (calendar ones are derived).
            ids: the series to forecast, for a model fitted on a panel (None: all).

        Returns:
            One row per ``(origin, step, target)``: ``origin, timestamp, step, target,
            forecast, actual`` (see :func:`forecastab.forecasting.forecast_frame`); a panel's
            frame starts with ``unique_id``.
        """
        return predict_frame(
            self, data, spec=self.data_spec, origin=origin, horizon=horizon, quantiles=quantiles,
            future=future, ids=ids,
        )  # fmt: skip

    def on_fit_start(self) -> None:
        """Refuse a data module whose windows differ from the lengths this model was built for."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "context_length"):
            checks.lengths_agree(
                self, datamodule.context_length, datamodule.horizon, "the data module"
            )

    @property
    def distribution(self) -> Distribution | None:
        """The network's predictive distribution family, or None for a point forecaster."""
        return getattr(self.network, "distribution", None)

    @property
    def supported_modes(self) -> tuple[str, ...]:
        """Evaluation modes: a direct network has no teacher-forced mode (it feeds nothing back)."""
        return MODES if self.network.autoregressive else ("free_running",)

    # -- training -------------------------------------------------------------------------

    def loss(self, out: Any, targets: Tensor) -> Tensor:
        """The loss of a rollout against the truth: MSE for a point network, else the mean NLL
        of its distribution head (every strategy scores its rollouts through this)."""
        return rollout_loss(self.network, out, targets)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor | None:
        return self.strategy.training_step(self, batch, batch_idx)

    def on_train_epoch_start(self) -> None:
        self.strategy.on_train_epoch_start(self)

    def configure_callbacks(self) -> list[pl.Callback]:
        return self.strategy.callbacks()

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._log_losses("val", batch)

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._log_losses("test", batch)

    def _log_losses(self, stage: str, batch: Batch) -> None:
        context, targets, covariates = split_batch(batch)
        free_running = F.mse_loss(self._forecast(context, self.horizon, covariates), targets)
        if self.network.autoregressive:
            teacher_forced = F.mse_loss(
                rollout(
                    self.network, context, self.horizon, targets=targets, ratio=1.0,
                    covariates=covariates,
                ).predictions,
                targets,
            )  # fmt: skip
        else:
            # Nothing is fed back, so the teacher-forced forecast is the forecast itself.
            teacher_forced = free_running
        self.log_dict(
            {
                f"{stage}_loss_free_running": free_running,
                f"{stage}_loss_teacher_forced": teacher_forced,
                f"{stage}_exposure_gap": free_running - teacher_forced,
            },
            on_step=False,
            on_epoch=True,
            batch_size=len(context),
        )

    def predict_step(self, batch: Tensor | tuple[Tensor, ...], batch_idx: int) -> Tensor:
        """Free-running forecast ``(B, H, C)`` of a batch of contexts (or context-target pairs)."""
        if not isinstance(batch, list | tuple):
            return self._forecast(batch, self.horizon)
        covariates = batch[2] if len(batch) == 3 else None
        return self._forecast(batch[0], self.horizon, covariates)

    def configure_optimizers(self) -> Any:
        optimizers = self.strategy.configure_optimizers(self)
        if self.learning_rate_decay == 1.0 or not isinstance(optimizers, torch.optim.Optimizer):
            return optimizers
        # the per-epoch decay applies to a strategy's single optimizer (automatic optimization)
        decay = torch.optim.lr_scheduler.ExponentialLR(optimizers, gamma=self.learning_rate_decay)
        return {"optimizer": optimizers, "lr_scheduler": {"scheduler": decay, "interval": "epoch"}}

    # -- forecasting ----------------------------------------------------------------------

    def _forecast(
        self, context: Tensor, horizon: int, covariates: Covariates | None = None
    ) -> Tensor:
        return rollout(self.network, context, horizon, ratio=0.0, covariates=covariates).predictions

    @contextmanager
    def _inference(self) -> Iterator[None]:
        """No gradients and no dropout for the duration; the previous train/eval mode returns."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.train(was_training)

    def forecast(self, context: np.ndarray | Tensor, *, horizon: int | None = None) -> np.ndarray:
        """Free-running forecast of a batch of contexts.

        Args:
            context: ``(B, L, C)`` contexts in the units the model was fitted in.
            horizon: steps to forecast; defaults to the trained horizon.

        Returns:
            ``(B, H, C)`` float32 predictions.

        Raises:
            DataError: a context that is not ``(B, L, C)`` with ``C`` target columns.
        """
        horizon = checks.forecast_horizon(horizon, self.horizon)
        self._check_horizon(horizon)
        context = checks.context_tensor(context, device=self.device)  # a copy, real numbers
        if context.ndim != 3 or context.shape[2] != self.n_targets:
            raise DataError(
                f"context must have shape (B, L, {self.n_targets}), got {tuple(context.shape)}"
            )
        checks.finite_context(context)
        with self._inference():
            return self._forecast(context, horizon).cpu().numpy()

    def predict_origins(
        self,
        values: np.ndarray,
        origins: np.ndarray,
        *,
        context_length: int,
        horizon: int,
        mode: str = "free_running",
        batch_size: int = 1024,
        num_samples: int | None = None,
        feedback: str = "sample",
        seed: int | None = 0,
        progress: bool | None = None,
        covariates: Any = None,
    ) -> np.ndarray:
        """Forecasts at many origins of one series, batched, without gradients.

        Args:
            values: ``(T, C)`` the full series in the units the model was fitted in.
            origins: ``(N,)`` row index of the last observed value of each forecast.
            context_length: ``L``, context rows per forecast.
            horizon: ``H``, steps per forecast.
            mode: ``free_running`` (feeds back its own predictions) or ``teacher_forced``
                (one-step-ahead at every horizon position, fed the true previous values).
            batch_size: origins per forward pass (sampled: rows, origins x samples, per pass
                are at most ``max(batch_size, SAMPLED_ROWS_PER_PASS[device])``).
            num_samples: ``S`` sampled paths per origin from a probabilistic model (see
                :func:`~forecastab.teacher_forcing.sample_paths`); None: the point forecast.
            feedback: what sampled paths feed back, ``sample`` or ``mean``.
            seed: seed of the draws (None: torch's global generator).
            batch_size: origins per forward pass.
            progress: a progress bar over the origins; None shows it on a terminal when there
                is more than one batch (long horizons).
            covariates: the series' covariates (a ``SeriesCovariates``: past and future rows
                aligned with ``values``, future rows reaching at least ``H`` past the last
                origin), for a model fitted with covariates.

        Returns:
            ``(N, H, C)`` float32 predictions of ``values[t+1 : t+H+1]`` for each origin ``t``,
            or ``(N, S, H, C)`` sampled paths when ``num_samples`` is given.

        Raises:
            ConfigError: a mode this model does not support, a horizon it cannot forecast, or
                samples asked of a point model.
            DataError: values that are not ``(T, C)``, or origins without a full context (or,
                teacher-forced, without the true values to feed).
        """
        if mode not in self.supported_modes:
            raise ConfigError(
                f"model '{self.name}': " + unknown_name("mode", mode, self.supported_modes)
            )
        self._check_horizon(horizon)
        values = np.asarray(values, dtype=np.float32)
        origins = checks.whole_origins(origins)
        if values.ndim != 2 or values.shape[1] != self.n_targets:
            raise DataError(f"values must have shape (T, {self.n_targets}), got {values.shape}")
        last = len(values) - 1 - (horizon if mode == "teacher_forced" else 0)
        if len(origins) and (origins.min() < context_length - 1 or origins.max() > last):
            raise DataError(
                f"origins must lie in [{context_length - 1}, {last}] for context "
                f"{context_length}, horizon {horizon}, mode {mode} on {len(values)} rows; "
                f"got [{origins.min()}, {origins.max()}]"
            )
        self._check_covariates(covariates, origins, horizon)
        if num_samples is not None:
            self._check_sampling(num_samples)
            rows = SAMPLED_ROWS_PER_PASS["cpu" if self.device.type == "cpu" else "other"]
            batch_size = max(1, max(batch_size, rows) // num_samples)
        contexts = window_view(values, context_length)  # (T-L+1, L, C), row t-L+1 ends at t
        futures = (
            window_view(values, horizon) if mode == "teacher_forced" else None
        )  # (T-H+1, H, C)
        chunks = []
        with (
            self._inference(),
            seeded(seed if num_samples else None, self.device),
            origin_progress(len(origins), batch_size, mode, progress) as bar,
        ):
            for start in range(0, len(origins), batch_size):
                chunk = origins[start : start + batch_size]
                context = self._tensor(contexts[chunk - context_length + 1])  # (n, L, C)
                targets = None if futures is None else self._tensor(futures[chunk + 1])  # (n, H, C)
                extra = (
                    {}
                    if covariates is None
                    else {"covariates": _window_covariates(
                        covariates, chunk, context_length, horizon, self.device
                    )}
                )  # fmt: skip
                if num_samples is not None:
                    paths = sample_paths(
                        self.network,
                        context,
                        horizon,
                        num_samples=num_samples,
                        feedback=feedback,
                        targets=targets,
                        ratio=0.0 if targets is None else 1.0,
                        **extra,
                    )
                    chunks.append(paths.predictions)  # (n, S, H, C)
                elif targets is None:
                    chunks.append(self._forecast(context, horizon, extra.get("covariates")))
                else:
                    chunks.append(
                        rollout(
                            self.network, context, horizon, targets=targets, ratio=1.0, **extra
                        ).predictions
                    )
                bar.update(len(chunk))
        if not chunks:
            shape = (0, horizon, self.n_targets)
            return np.zeros(shape if num_samples is None else (0, num_samples, *shape[1:]))
        return torch.cat(chunks).cpu().numpy()  # (N, H, C) or (N, S, H, C)

    def predict_quantiles(
        self,
        values: np.ndarray,
        origins: np.ndarray,
        *,
        context_length: int,
        horizon: int,
        quantiles: Sequence[float],
        num_samples: int = 200,
        seed: int | None = 0,
        covariates: Any = None,
    ) -> dict[float, np.ndarray]:
        """Forecast quantiles ``level -> (N, H, C)`` from ``num_samples`` sampled paths per origin.

        Raises:
            ConfigError: a point model, or a level outside ``(0, 1)``.
        """
        from forecastab.evaluation.probabilistic import check_quantiles

        if self.distribution is None:
            raise ConfigError(
                f"model '{self.name}' gives point forecasts only; quantiles need a "
                "probabilistic model (add 'distribution: gaussian' or student_t to it)"
            )
        levels = check_quantiles(quantiles)
        paths = self.predict_origins(
            values, origins, context_length=context_length, horizon=horizon,
            num_samples=num_samples, seed=seed, covariates=covariates,
        )  # fmt: skip
        values_at = np.quantile(paths, levels, axis=1)  # (Q, N, H, C)
        return {level: values_at[i].astype(np.float32) for i, level in enumerate(levels)}

    def _check_covariates(self, covariates: Any, origins: np.ndarray, horizon: int) -> None:
        """A model fitted with covariates needs them, and the future ones for every step."""
        if not self.channels.has_covariates:
            if covariates is not None:
                raise DataError(
                    f"model '{self.name}' was fitted without covariates; leave them out"
                )
            return
        if covariates is None:
            raise DataError(
                f"model '{self.name}' was fitted with covariates "
                f"({self.channels.counts()}); pass the series' covariates"
            )
        future = getattr(covariates, "future", None)
        if future is not None and len(origins) and origins.max() + horizon >= len(future):
            raise DataError(
                f"model '{self.name}' needs future covariates {horizon} steps past origin row "
                f"{int(origins.max())}, the data has them up to row {len(future) - 1}; "
                "give the future covariates of the forecast dates"
            )

    def _check_sampling(self, num_samples: int) -> None:
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ConfigError(f"num_samples must be a positive integer, got {num_samples!r}")
        if self.distribution is None:
            raise ConfigError(
                f"model '{self.name}' is a point forecaster and cannot sample paths; "
                "add 'distribution: gaussian' (or student_t) to its model entry"
            )

    def _tensor(self, array: np.ndarray) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def _check_horizon(self, horizon: int) -> None:
        if not self.network.autoregressive and horizon != self.horizon:
            raise ConfigError(
                f"model '{self.name}' is direct and forecasts exactly {self.horizon} steps, "
                f"got horizon {horizon}; train it with horizon {horizon}"
            )


def _strategy(strategy: Strategy | Mapping[str, Any] | None, sampling: str | None) -> Strategy:
    """The strategy object of ``ForecastModule``'s arguments (a spec is built from the registry)."""
    if strategy is None:
        return strategy_from_spec({"sampling": sampling or "per_step"})
    if sampling is not None:
        raise ConfigError(
            "give the sampling mode inside the strategy ({sampling: ...}), not beside it"
        )
    if isinstance(strategy, Strategy):
        return strategy
    return strategy_from_spec(strategy)


def model_from_spec(
    spec: Mapping[str, Any],
    *,
    context_length: int,
    horizon: int,
    n_targets: int,
    sampling: str | None = None,
    strategy: Strategy | Mapping[str, Any] | None = None,
) -> ForecastModule:
    """The forecaster a YAML model entry describes.

    Args:
        spec: a mapping with ``type`` (``rnn``, ``transformer`` or ``direct``), optionally
            ``name``, ``learning_rate`` and ``learning_rate_decay``, and any fields of that type's config dataclass.
        context_length: ``L`` of the data it will see.
        horizon: ``H`` it forecasts.
        n_targets: ``C``, target columns.
        sampling: how scheduled sampling flips the coins (when no ``strategy`` is given).
        strategy: how it is trained: a strategy or its spec (a YAML strategy entry).

    Returns:
        An untrained :class:`ForecastModule`.

    Raises:
        ConfigError: a missing or unknown ``type``, an unknown key (naming the nearest valid
            one), or an invalid value.

    >>> model = model_from_spec({"name": "gru", "type": "rnn", "cell": "gru", "hidden_size": 8},
    ...                         context_length=10, horizon=4, n_targets=1)
    >>> model.name, model.config
    ('gru', RNNConfig(cell='gru', hidden_size=8, num_layers=1, dropout=0.0, distribution=None, normalization='none', revin_affine=False, patch=1))
    >>> model_from_spec({"type": "rnn", "hiden_size": 8}, context_length=10, horizon=4, n_targets=1)
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: model 'rnn': unknown key 'hiden_size' (did you mean 'hidden_size'?); valid: cell, distribution, dropout, hidden_size, learning_rate, learning_rate_decay, name, normalization, num_layers, patch, revin_affine, type
    """
    entry = dict(spec)
    label = entry.get("name") or entry.get("type") or "?"
    if "type" not in entry:
        raise ConfigError(
            f"model '{label}' needs a 'type' key; valid: {', '.join(sorted(NETWORK_CONFIGS))}"
        )
    kind = entry.pop("type")
    if kind not in NETWORK_CONFIGS:
        raise ConfigError(
            f"model '{label}': " + unknown_name("model type", str(kind), NETWORK_CONFIGS)
        )
    config_class = NETWORK_CONFIGS[kind]
    valid = [field.name for field in fields(config_class)]
    for key in entry:
        if key not in valid and key not in SPEC_KEYS:
            raise ConfigError(f"model '{label}': " + unknown_name("key", key, [*valid, *SPEC_KEYS]))
    name = entry.pop("name", None)
    learning_rate = entry.pop("learning_rate", 1e-3)
    learning_rate_decay = entry.pop("learning_rate_decay", 1.0)
    try:
        return ForecastModule(
            config_class(**entry),
            context_length=context_length,
            horizon=horizon,
            n_targets=n_targets,
            learning_rate=learning_rate,
            learning_rate_decay=learning_rate_decay,
            strategy=strategy,
            sampling=sampling,
            name=name,
        )
    except ConfigError as error:
        message = str(error)
        # an error that already names the model (a strategy's) is not prefixed twice
        prefix = "" if message.startswith(f"model '{label}'") else f"model '{label}': "
        raise ConfigError(prefix + message) from None
