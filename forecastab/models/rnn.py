"""A recurrent (GRU or LSTM) encoder-decoder forecaster.

The encoder reads the context; its final state starts the decoder. The decoder's first input is
the last context value, and each later input is whatever the rollout feeds back: the true
previous value (teacher forcing) or the decoder's own previous prediction (free running).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from forecastab.errors import ConfigError, unknown_name
from forecastab.models.distributions import Distribution, check_distribution, output_head
from forecastab.models.normalization import check_normalization
from forecastab.teacher_forcing.covariates import Channels

CELLS = ("gru", "lstm")

RNNState = Tensor | tuple[Tensor, Tensor]
"""A GRU's hidden state ``(layers, B, D)``, or an LSTM's ``(h, c)`` pair of them."""


@dataclass(kw_only=True)
class RecurrentConfig:
    """The fields every recurrent config shares, validated once.

    Attributes:
        cell: ``gru`` or ``lstm``.
        hidden_size: ``D``, units per layer.
        num_layers: stacked recurrent layers.
        dropout: dropout between stacked layers and before the output head.
        distribution: ``gaussian`` or ``student_t`` for a probabilistic head; None (the
            default) for a point forecast.
        normalization: per-window ``none``, ``last`` or ``revin`` (see
            :mod:`forecastab.models.normalization`).
        revin_affine: learnable affine parameters with ``revin``.
    """

    cell: str = "gru"
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    distribution: str | None = None
    normalization: str = "none"
    revin_affine: bool = False

    def __post_init__(self) -> None:
        check_recurrent_config(self.cell, self.hidden_size, self.num_layers, self.dropout)
        check_distribution(self.distribution)
        check_normalization(self.normalization, self.revin_affine)


@dataclass(kw_only=True)
class RNNConfig(RecurrentConfig):
    """Hyperparameters of :class:`RNNNetwork`.

    Attributes:
        cell: ``gru`` or ``lstm``.
        hidden_size: ``D``, units per layer.
        num_layers: stacked recurrent layers in the encoder and in the decoder.
        dropout: dropout between stacked layers and before the output head.
        patch: ``P``, values per autoregressive step (segment-wise autoregression, as
            SegRNN's recurrent variant): the encoder reads the context in patches of ``P`` rows,
            every decoder step predicts the next ``P`` rows and is fed back a whole patch (the
            truth or its own predictions). ``1`` (the default) is the point-wise network.
            Context length and horizon must be multiples of ``P``.
    """

    patch: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_patch(self.patch)


def check_patch(patch: object) -> None:
    """``patch`` must be a positive integer.

    Raises:
        ConfigError: naming the value.
    """
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1:
        raise ConfigError(f"patch must be a positive integer (1: one value per step), got {patch!r}")


def check_patch_lengths(patch: int, *, context_length: int, horizon: int) -> None:
    """A patched network needs a context and a horizon made of whole patches.

    Raises:
        ConfigError: naming the lengths and the fix.

    >>> check_patch_lengths(24, context_length=336, horizon=100)
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: patch 24 needs a horizon that is a multiple of 24, got 100; use horizon 96 or 120, or a patch that divides 100
    """
    for name, length in (("context length", context_length), ("horizon", horizon)):
        if length % patch:
            below, above = length // patch * patch, (length // patch + 1) * patch
            options = f"{below} or {above}" if below else f"{above}"
            raise ConfigError(
                f"patch {patch} needs a {name} that is a multiple of {patch}, got {length}; "
                f"use {name} {options}, or a patch that divides {length}"
            )


def check_recurrent_config(cell: str, hidden_size: int, num_layers: int, dropout: float) -> None:
    """Validate the fields shared by every recurrent config.

    Raises:
        ConfigError: an unknown cell, a non-positive size or layer count, or dropout outside
            ``[0, 1)``.
    """
    if cell not in CELLS:
        raise ConfigError(unknown_name("cell", cell, CELLS))
    if not isinstance(hidden_size, int) or hidden_size < 1:
        raise ConfigError(f"hidden_size must be a positive integer, got {hidden_size!r}")
    if not isinstance(num_layers, int) or num_layers < 1:
        raise ConfigError(f"num_layers must be a positive integer, got {num_layers!r}")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must lie in [0, 1), got {dropout!r}")


def recurrent_layers(
    cell: str, *, input_size: int, hidden_size: int, num_layers: int, dropout: float
) -> nn.GRU | nn.LSTM:
    """A batch-first stack of GRU or LSTM layers."""
    layer = nn.GRU if cell == "gru" else nn.LSTM
    # torch only applies (and warns about) dropout between stacked layers
    between = dropout if num_layers > 1 else 0.0
    return layer(input_size, hidden_size, num_layers, batch_first=True, dropout=between)


class RNNNetwork(nn.Module):
    """GRU/LSTM encoder-decoder with a linear head; one decoder step predicts one value (or,
    with ``config.patch = P``, one patch of ``P`` values).

    Args:
        config: the architecture.
        n_targets: ``C``, the number of target columns (the output width).
        channels: the covariate channels it reads besides the targets (None: targets only):
            the encoder reads context rows of ``channels.context_width``, the decoder inputs
            of ``channels.decoder_width`` (see :mod:`forecastab.teacher_forcing.covariates`).

    With ``config.patch = P > 1`` the network works on patches: its operations take rows of
    ``P`` time steps flattened to ``P * C`` values (``channels.patched(P)`` wide) and the head
    emits ``P * C`` values per step; :func:`~forecastab.teacher_forcing.rollout.rollout` makes
    the patches from ``(B, L, C)`` windows and returns forecasts in the usual shapes.

    >>> net = RNNNetwork(RNNConfig(cell="lstm", hidden_size=8), n_targets=2)
    >>> context, targets = torch.zeros(3, 12, 2), torch.zeros(3, 5, 2)
    >>> tuple(net.teacher_forced(context, targets).shape)
    (3, 5, 2)
    """

    autoregressive = True

    def __init__(
        self, config: RNNConfig, *, n_targets: int, channels: Channels | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.n_targets = n_targets
        self.channels = channels or Channels(n_targets=n_targets)
        self.patch = config.patch
        # what one step reads and emits: P rows of the channels (the same as them for P = 1)
        widths = self.channels.patched(self.patch)
        sizes = dict(
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout,
        )
        self.encoder = recurrent_layers(
            config.cell, input_size=widths.context_width, **sizes
        )
        self.decoder = recurrent_layers(
            config.cell, input_size=widths.decoder_width, **sizes
        )
        self.dropout = nn.Dropout(config.dropout)
        # (B, C) point forecasts, or (B, C, P) distribution parameters
        self.head = output_head(config.hidden_size, widths.n_targets, config.distribution)

    @property
    def distribution(self) -> Distribution | None:
        """The head's distribution family, or None for a point forecast."""
        return getattr(self.head, "distribution", None)

    def encode(self, context: Tensor) -> RNNState:
        """Read the context ``(B, L, C)``; the final state starts the decoder."""
        _, state = self.encoder(context)
        return state

    @staticmethod
    def repeat_state(state: RNNState, repeats: int) -> RNNState:
        """Each window's state ``repeats`` times in a row (``(layers, B * repeats, D)``), as if
        each context had been repeated before :meth:`encode`."""
        if isinstance(state, tuple):
            return tuple(s.repeat_interleave(repeats, dim=1) for s in state)  # type: ignore[return-value]
        return state.repeat_interleave(repeats, dim=1)

    def step(self, x_prev: Tensor, state: RNNState) -> tuple[Tensor, RNNState]:
        """One decoder step: input ``(B, C)`` -> prediction ``(B, C)`` and the next state.

        A probabilistic network predicts distribution parameters ``(B, C, P)`` instead.
        """
        output, state = self.decoder(x_prev.unsqueeze(1), state)  # (B, 1, D)
        return self.head(self.dropout(output[:, 0])), state

    def hidden(self, state: RNNState) -> Tensor:
        """The top decoder layer's hidden state ``(B, D)`` after the last step."""
        h = state[0] if isinstance(state, tuple) else state
        return h[-1]

    def teacher_forced(
        self,
        context: Tensor,
        targets: Tensor,
        *,
        return_hidden: bool = False,
        inputs: Tensor | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """All ``H`` one-step-ahead predictions ``(B, H, C)`` in one pass, fed the true values.

        A probabilistic network returns distribution parameters ``(B, H, C, P)``.

        Args:
            context: ``(B, L, C)`` the observed past (context rows with covariates).
            targets: ``(B, H, C)``; ``targets[:, h]`` is the input of step ``h + 1`` (the last
                row is never an input).
            return_hidden: also return the top decoder hidden states ``(B, H, D)``.
            inputs: the decoder inputs ``(B, H, C+Kf+S)`` when the network reads covariates
                (built by the rollout); None shifts the targets behind the last context value.
        """
        if inputs is None:
            inputs = torch.cat([context[:, -1:], targets[:, :-1]], dim=1)  # (B, H, C)
        output, _ = self.decoder(inputs, self.encode(context))  # (B, H, D)
        predictions = self.head(self.dropout(output))  # (B, H, C) or (B, H, C, P)
        return (predictions, output) if return_hidden else predictions
