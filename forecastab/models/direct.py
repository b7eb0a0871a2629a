"""The direct multi-output control: all ``H`` steps at once, no feedback loop.

A recurrent encoder reads the context and a linear head emits the whole horizon. No prediction
is ever fed back as an input, so this model has no exposure bias by construction: it is the
control the autoregressive forecasters are compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from forecastab.models.distributions import Distribution, output_head
from forecastab.models.rnn import RecurrentConfig, recurrent_layers


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

    >>> import torch
    >>> net = DirectNetwork(DirectConfig(hidden_size=8), n_targets=2, horizon=5)
    >>> tuple(net(torch.zeros(3, 12, 2)).shape)
    (3, 5, 2)
    """

    autoregressive = False

    def __init__(self, config: DirectConfig, *, n_targets: int, horizon: int) -> None:
        super().__init__()
        self.config = config
        self.n_targets = n_targets
        self.horizon = horizon
        self.encoder = recurrent_layers(
            config.cell,
            input_size=n_targets,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = output_head(config.hidden_size, horizon * n_targets, config.distribution)

    @property
    def distribution(self) -> Distribution | None:
        """The head's distribution family, or None for a point forecast."""
        return getattr(self.head, "distribution", None)

    def forward(self, context: Tensor) -> Tensor:
        """Forecast ``(B, H, C)`` from the context ``(B, L, C)``.

        A probabilistic network returns distribution parameters ``(B, H, C, P)``.
        """
        _, state = self.encoder(context)
        top = (state[0] if isinstance(state, tuple) else state)[-1]  # (B, D)
        flat = self.head(self.dropout(top))  # (B, H*C) or (B, H*C, P)
        return flat.unflatten(1, (self.horizon, self.n_targets))  # (B, H, C) or (B, H, C, P)
