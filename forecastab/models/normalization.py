"""Per-window normalization around any network: ``normalization: none | last | revin``.

A global z-score fitted on the training rows leaves windows of a later period off-centre when
the series' level drifts (ETTh1's test months sit well above its training months); a network
that never saw that level cannot extrapolate to it. Normalizing each window by statistics of
its own context removes the drift (Kim et al., ICLR 2022, "RevIN"; Zeng et al., AAAI 2023,
NLinear's last-value subtraction).

:class:`NormalizedNetwork` wraps a network and applies the normalization in the network's own
operations, ``encode``/``step``/``teacher_forced`` (autoregressive) or ``forward`` (direct), so
every path through the one rollout loop is normalized the same way: the context, every value fed
back (the truth under teacher forcing, the model's own prediction free-running, a strategy's
``feed`` output), the parallel teacher-forced pass and two-pass sampling. The loop itself sees
values in the data's units and never changes.

- ``last``: subtract the context's last value from every input and add it back to every output.
- ``revin``: subtract the context mean and divide by the context standard deviation
  ``sqrt(var + eps)`` (population variance, ``eps = 1e-5``), optionally followed by a learnable
  per-column affine map ``x * weight + bias``; outputs are mapped back exactly. A constant
  context has variance 0 and standard deviation ``sqrt(eps)``: its normalized values are 0,
  never a division by zero, and the forecast is restored to the constant's level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from forecastab.errors import ConfigError, unknown_name

NORMALIZATIONS = ("none", "last", "revin")
"""The values of the model key ``normalization``."""

REVIN_EPSILON = 1e-5
"""Added to the context variance before the square root (a constant context stays finite)."""


def check_normalization(normalization: object, revin_affine: object) -> None:
    """Validate the normalization keys every network config carries.

    ``normalization``: ``none``, ``last`` (subtract the context's last value) or ``revin``
    (context mean and standard deviation); ``revin_affine``: with ``revin``, learn a per-column
    scale and shift applied after the normalization (and inverted before the output).

    Raises:
        ConfigError: an unknown normalization, or ``revin_affine`` that is not a boolean or is
            set without ``revin``.

    >>> check_normalization("revn", False)
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: unknown normalization 'revn' (did you mean 'revin'?); valid: last, none, revin
    """
    if normalization not in NORMALIZATIONS:
        raise ConfigError(unknown_name("normalization", str(normalization), NORMALIZATIONS))
    if not isinstance(revin_affine, bool):
        raise ConfigError(f"revin_affine must be true or false, got {revin_affine!r}")
    if revin_affine and normalization != "revin":
        raise ConfigError(
            f"revin_affine needs normalization 'revin', got '{normalization}'; "
            "set normalization: revin or drop revin_affine"
        )


@dataclass
class WindowStatistics:
    """Per-window location and scale, each ``(B, 1, C)``."""

    location: Tensor
    scale: Tensor


@dataclass
class NormalizedState:
    """The wrapped network's decoding state plus the statistics of the window it decodes."""

    inner: Any
    statistics: WindowStatistics


class NormalizedNetwork(nn.Module):
    """A network whose every input is normalized per window and every output restored.

    Args:
        network: an autoregressive network (``encode``/``step``/``teacher_forced``/``hidden``)
            or a direct one (``forward``).
        normalization: ``last`` or ``revin``.
        n_targets: ``C``, the number of target columns (the size of the affine parameters).
        revin_affine: learn a per-column scale and shift (``revin`` only).
        patch: ``P`` of a patched network (see :class:`~forecastab.models.rnn.RNNConfig`):
            its operations take rows of ``P`` time steps (``P * C`` target values first); the
            statistics are those of the ``C`` columns over the context's time steps, applied
            to each of the ``P`` rows.

    >>> from forecastab.models.rnn import RNNConfig, RNNNetwork
    >>> net = NormalizedNetwork(RNNNetwork(RNNConfig(hidden_size=4), n_targets=1),
    ...                         normalization="revin", n_targets=1)
    >>> tuple(net.teacher_forced(torch.zeros(2, 6, 1), torch.zeros(2, 3, 1)).shape)
    (2, 3, 1)
    """

    def __init__(
        self,
        network: nn.Module,
        *,
        normalization: str,
        n_targets: int,
        revin_affine: bool = False,
        patch: int = 1,
    ) -> None:
        super().__init__()
        check_normalization(normalization, revin_affine)
        if normalization == "none":
            raise ConfigError("NormalizedNetwork needs normalization 'last' or 'revin'")
        self.inner = network
        self.n_targets = n_targets
        self.patch = patch
        self.width = n_targets * patch  # target values in one row the network reads
        self.normalization = normalization
        self.autoregressive = bool(getattr(network, "autoregressive", True))
        self.affine_weight: nn.Parameter | None = None
        self.affine_bias: nn.Parameter | None = None
        if revin_affine:
            self.affine_weight = nn.Parameter(torch.ones(n_targets))
            self.affine_bias = nn.Parameter(torch.zeros(n_targets))

    # -- the statistics and the two maps --------------------------------------------------

    def statistics(self, context: Tensor) -> WindowStatistics:
        """Location and scale ``(B, 1, C)`` of each window, from its context ``(B, L, C)``
        (only the ``C`` target channels of context rows that carry covariates)."""
        if self.patch > 1:
            statistics = self._statistics(
                context[..., : self.width].reshape(context.shape[0], -1, self.n_targets)
            )  # of the (B, L, C) rows, each row of P steps takes them P times: (B, 1, P*C)
            return WindowStatistics(
                statistics.location.repeat(1, 1, self.patch),
                statistics.scale.repeat(1, 1, self.patch),
            )
        return self._statistics(context[..., : self.n_targets])

    def _statistics(self, context: Tensor) -> WindowStatistics:
        """Location and scale ``(B, 1, C)`` of target rows ``(B, L, C)``."""
        if self.normalization == "last":
            location = context[:, -1:]  # (B, 1, C)
            return WindowStatistics(location, torch.ones_like(location))
        location = context.mean(dim=1, keepdim=True)  # (B, 1, C)
        variance = context.var(dim=1, keepdim=True, unbiased=False)  # (B, 1, C)
        return WindowStatistics(location, torch.sqrt(variance + REVIN_EPSILON))

    def _affine(self) -> tuple[Tensor, Tensor]:
        """The affine weight and bias, one per target value of a row (``P * C``)."""
        if self.patch > 1:
            return self.affine_weight.repeat(self.patch), self.affine_bias.repeat(self.patch)
        return self.affine_weight, self.affine_bias

    def normalize(self, values: Tensor, statistics: WindowStatistics) -> Tensor:
        """Map ``(B, T, C)`` or ``(B, C)`` values of a window into its normalized units.

        Rows wider than ``C`` carry covariates after the targets: those pass unchanged.
        """
        if values.shape[-1] > self.width:
            targets = self.normalize(values[..., : self.width], statistics)
            return torch.cat([targets, values[..., self.width :]], dim=-1)
        location, scale = _aligned(values, statistics)
        normalized = (values - location) / scale
        if self.affine_weight is not None:
            weight, bias = self._affine()
            normalized = normalized * weight + bias
        return normalized

    def denormalize(self, values: Tensor, statistics: WindowStatistics) -> Tensor:
        """Map ``(B, T, C)`` or ``(B, C)`` normalized values back to the window's units."""
        location, scale = _aligned(values, statistics)
        if self.affine_weight is not None:
            # RevIN's guard: a weight driven to zero must not divide by zero
            weight, bias = self._affine()
            values = (values - bias) / (weight + REVIN_EPSILON**2)
        return values * scale + location

    def restore(self, output: Tensor, statistics: WindowStatistics) -> Tensor:
        """Restore a network's output: values ``(B, T, C)`` / ``(B, C)``, or a probabilistic
        network's parameters ``(..., C, P)``, whose location maps like a value, whose scale is
        multiplied by the window's scale, and whose other parameters (Student-t's degrees of
        freedom) do not depend on units."""
        if self.distribution is None:
            return self.denormalize(output, statistics)
        location = self.denormalize(output[..., 0], statistics)  # (..., C)
        _, scale = _aligned(output[..., 0], statistics)
        spread = output[..., 1] * scale  # (..., C)
        if self.affine_weight is not None:
            spread = spread / (self._affine()[0].abs() + REVIN_EPSILON**2)
        return torch.cat([location[..., None], spread[..., None], output[..., 2:]], dim=-1)

    @property
    def distribution(self) -> Any:
        """The wrapped network's predictive distribution family (None: point forecasts)."""
        return getattr(self.inner, "distribution", None)

    # -- the network's operations, normalized ---------------------------------------------

    def forward(self, context: Tensor, future: Tensor | None = None) -> Tensor:
        """A direct network's forecast ``(B, H, C)`` from the context ``(B, L, C)`` and the
        horizon's future covariates ``(B, H, Kf)`` (None without covariates)."""
        statistics = self.statistics(context)
        normalized = self.normalize(context, statistics)
        output = self.inner(normalized) if future is None else self.inner(normalized, future)
        return self.restore(output, statistics)

    def encode(self, context: Tensor) -> NormalizedState:
        """Encode the normalized context; the state remembers the window's statistics."""
        statistics = self.statistics(context)
        return NormalizedState(self.inner.encode(self.normalize(context, statistics)), statistics)

    def repeat_state(self, state: NormalizedState, repeats: int) -> NormalizedState:
        """The wrapped state and the window statistics, each window ``repeats`` times in a row."""
        statistics = WindowStatistics(
            state.statistics.location.repeat_interleave(repeats, dim=0),
            state.statistics.scale.repeat_interleave(repeats, dim=0),
        )
        return NormalizedState(self.inner.repeat_state(state.inner, repeats), statistics)

    def step(self, x_prev: Tensor, state: NormalizedState) -> tuple[Tensor, NormalizedState]:
        """One decoder step on the normalized input ``(B, C)``; the prediction is restored."""
        y, inner = self.inner.step(self.normalize(x_prev, state.statistics), state.inner)
        return self.restore(y, state.statistics), NormalizedState(inner, state.statistics)

    def hidden(self, state: NormalizedState) -> Tensor:
        """The wrapped network's top hidden state ``(B, D)``."""
        return self.inner.hidden(state.inner)

    def teacher_forced(
        self,
        context: Tensor,
        targets: Tensor,
        *,
        return_hidden: bool = False,
        inputs: Tensor | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """The parallel teacher-forced pass on normalized context and targets, restored."""
        statistics = self.statistics(context)
        extra = {} if inputs is None else {"inputs": self.normalize(inputs, statistics)}
        result = self.inner.teacher_forced(
            self.normalize(context, statistics),
            self.normalize(targets, statistics),
            return_hidden=return_hidden,
            **extra,
        )
        if return_hidden:
            predictions, hidden = result
            return self.restore(predictions, statistics), hidden
        return self.restore(result, statistics)


def _aligned(values: Tensor, statistics: WindowStatistics) -> tuple[Tensor, Tensor]:
    """The statistics shaped to broadcast against ``(B, T, C)`` or a single step ``(B, C)``."""
    if values.ndim == 2:
        return statistics.location[:, 0], statistics.scale[:, 0]  # (B, C)
    return statistics.location, statistics.scale  # (B, 1, C)


def wrap_normalization(network: nn.Module, config: Any, *, n_targets: int) -> nn.Module:
    """``network`` wrapped in its config's normalization, or itself for ``none``."""
    normalization = getattr(config, "normalization", "none")
    if normalization == "none":
        return network
    return NormalizedNetwork(
        network,
        normalization=normalization,
        n_targets=n_targets,
        revin_affine=getattr(config, "revin_affine", False),
        patch=getattr(config, "patch", 1),
    )
