"""The direct multi-output control: all ``H`` steps at once, no feedback loop.

A recurrent encoder reads the context and a linear head emits the whole horizon. No prediction
is ever fed back as an input, so this model has no exposure bias by construction: it is the
control the autoregressive forecasters are compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from forecastab.models.distributions import Distribution, output_head
from forecastab.models.rnn import RecurrentConfig, recurrent_layers
from forecastab.teacher_forcing.covariates import Channels


class HorizonCovariates(nn.Module):
    """A causal linear map from the horizon's future covariates to a direct forecast's steps.

    Step ``h``'s output reads the future covariates of steps ``1..h`` only (a lower-triangular
    weight), so a covariate at step ``h`` changes forecasts at step ``h`` and later, as in the
    autoregressive networks.

    >>> term = HorizonCovariates(horizon=3, n_future=1, n_outputs=1)
    >>> tuple(term(torch.zeros(2, 3, 1)).shape)
    (2, 3, 1)
    """

    def __init__(self, *, horizon: int, n_future: int, n_outputs: int) -> None:
        super().__init__()
        scale = (horizon * n_future) ** -0.5
        self.weight = nn.Parameter(scale * torch.randn(horizon, horizon, n_future, n_outputs))
        self.register_buffer("mask", torch.ones(horizon, horizon).tril()[:, :, None, None])

    def forward(self, future: Tensor) -> Tensor:
        """``(B, H, Kf)`` future covariates -> ``(B, H, outputs)`` additive terms."""
        weight = self.weight * self.mask  # (H_out, H_in, Kf, O)
        return torch.einsum("bjk,hjko->bho", future, weight)  # (B, H, O)


@dataclass(kw_only=True)
class DirectConfig(RecurrentConfig):
    """Hyperparameters of :class:`DirectNetwork`.

    Attributes:
        cell: ``gru`` or ``lstm`` encoder.
        hidden_size: ``D``, units per encoder layer.
        num_layers: stacked encoder layers.
        dropout: dropout between stacked layers and before the output head.
        distribution: ``gaussian`` or ``student_t`` for a probabilistic head; None (the
            default) for a point forecast.
    """


class DirectNetwork(nn.Module):
    """Recurrent encoder + linear head that forecasts every horizon step in one shot.

    Args:
        config: the architecture.
        n_targets: ``C``, the number of target columns.
        horizon: ``H``, the steps the head emits (fixed at construction).
        channels: covariate channels besides the targets (None: targets only): the encoder
            reads context rows with covariates, the horizon's future covariates enter through
            a causal :class:`HorizonCovariates` term.

    >>> import torch
    >>> net = DirectNetwork(DirectConfig(hidden_size=8), n_targets=2, horizon=5)
    >>> tuple(net(torch.zeros(3, 12, 2)).shape)
    (3, 5, 2)
    """

    autoregressive = False

    def __init__(
        self,
        config: DirectConfig,
        *,
        n_targets: int,
        horizon: int,
        channels: Channels | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.n_targets = n_targets
        self.horizon = horizon
        self.channels = channels or Channels(n_targets=n_targets)
        self.encoder = recurrent_layers(
            config.cell,
            input_size=self.channels.context_width,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = output_head(config.hidden_size, horizon * n_targets, config.distribution)
        self.future_term = (
            HorizonCovariates(
                horizon=horizon, n_future=self.channels.n_future, n_outputs=n_targets
            )
            if self.channels.n_future
            else None
        )

    @property
    def distribution(self) -> Distribution | None:
        """The head's distribution family, or None for a point forecast."""
        return getattr(self.head, "distribution", None)

    def forward(self, context: Tensor, future: Tensor | None = None) -> Tensor:
        """Forecast ``(B, H, C)`` from the context ``(B, L, C)`` (rows with covariates) and the
        horizon's future covariates ``(B, H, Kf)``.

        A probabilistic network returns distribution parameters ``(B, H, C, P)`` (the
        covariate term shifts their location).
        """
        _, state = self.encoder(context)
        top = (state[0] if isinstance(state, tuple) else state)[-1]  # (B, D)
        flat = self.head(self.dropout(top))  # (B, H*C) or (B, H*C, P)
        output = flat.unflatten(1, (self.horizon, self.n_targets))  # (B, H, C) or (B, H, C, P)
        return add_future_term(output, self.future_term, future)


def add_future_term(output: Tensor, term: HorizonCovariates | None, future: Tensor | None) -> Tensor:
    """``output`` ``(B, H, C)`` (or parameters ``(B, H, C, P)``: the location) plus the causal
    covariate term of the horizon's future covariates."""
    if term is None or future is None:
        return output
    shift = term(future.to(output.dtype))  # (B, H, C)
    if output.ndim == 4:
        return torch.cat([output[..., :1] + shift[..., None], output[..., 1:]], dim=-1)
    return output + shift
