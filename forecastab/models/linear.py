"""The linear direct controls NLinear and DLinear (Zeng et al., AAAI 2023).

Both map the context to the whole horizon with one linear layer over time (shared by the target
columns), so, like the direct network, they feed nothing back and have no exposure bias. They
are the published bar of the long-horizon literature ("Are Transformers Effective for Time
Series Forecasting?"):

- ``nlinear``: subtract the context's last value, apply the layer, add the last value back;
- ``dlinear``: split the context into a moving-average trend (replicate padding at both ends,
  so the trend is as long as the context) and the remainder, apply one layer to each, sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forecastab.errors import ConfigError, unknown_name
from forecastab.models.direct import HorizonCovariates, add_future_term
from forecastab.models.normalization import check_normalization
from forecastab.teacher_forcing.covariates import Channels

VARIANTS = ("nlinear", "dlinear")


@dataclass(kw_only=True)
class LinearConfig:
    """Hyperparameters of :class:`LinearNetwork`.

    Attributes:
        variant: ``nlinear`` or ``dlinear``.
        kernel_size: DLinear's moving-average window (25 in the paper); at most the context
            length.
        normalization: per-window ``none``, ``last`` or ``revin`` on top of the variant's own
            treatment (NLinear already subtracts the last value).
        revin_affine: learnable affine parameters with ``revin``.
    """

    variant: str = "nlinear"
    kernel_size: int = 25
    normalization: str = "none"
    revin_affine: bool = False

    def __post_init__(self) -> None:
        check_normalization(self.normalization, self.revin_affine)
        if self.variant not in VARIANTS:
            raise ConfigError(unknown_name("linear variant", str(self.variant), VARIANTS))
        if isinstance(self.kernel_size, bool) or not isinstance(self.kernel_size, int):
            raise ConfigError(f"kernel_size must be a positive integer, got {self.kernel_size!r}")
        if self.kernel_size < 1:
            raise ConfigError(f"kernel_size must be a positive integer, got {self.kernel_size!r}")


def moving_average(values: Tensor, kernel_size: int) -> Tensor:
    """The moving average over time of ``(B, L, C)``, same length, replicate padding.

    The series is extended by ``(k - 1) // 2`` copies of its first value in front and
    ``k - 1 - (k - 1) // 2`` copies of its last value behind (symmetric for odd ``k``, as in
    the paper's code), then averaged over windows of ``k`` consecutive values.

    >>> moving_average(torch.tensor([[[0.0], [3.0], [6.0]]]), 3)[0, :, 0]
    tensor([1., 3., 5.])
    """
    front = (kernel_size - 1) // 2
    back = kernel_size - 1 - front
    padded = torch.cat(
        [
            values[:, :1].expand(-1, front, -1),
            values,
            values[:, -1:].expand(-1, back, -1),
        ],
        dim=1,
    )  # (B, L+k-1, C)
    averaged = F.avg_pool1d(padded.transpose(1, 2), kernel_size, stride=1)  # (B, C, L)
    return averaged.transpose(1, 2)  # (B, L, C)


class LinearNetwork(nn.Module):
    """NLinear or DLinear: one linear layer over the context's time axis per component.

    Args:
        config: the variant and its moving-average kernel.
        context_length: ``L``, the input length of the layer.
        horizon: ``H``, the output length of the layer.
        n_targets: ``C``, target columns (the layer is shared across them).
        channels: covariate channels besides the targets (None: targets only). The context's
            covariate rows enter through one more linear layer (flattened context covariates
            to ``H x C``), the horizon's future covariates through a causal
            :class:`~forecastab.models.direct.HorizonCovariates` term.

    Raises:
        ConfigError: a moving-average kernel longer than the context.

    >>> net = LinearNetwork(LinearConfig(variant="dlinear", kernel_size=5), context_length=12,
    ...                     horizon=4, n_targets=2)
    >>> tuple(net(torch.zeros(3, 12, 2)).shape)
    (3, 4, 2)
    """

    autoregressive = False

    def __init__(
        self,
        config: LinearConfig,
        *,
        context_length: int,
        horizon: int,
        n_targets: int,
        channels: Channels | None = None,
    ) -> None:
        super().__init__()
        if config.variant == "dlinear" and config.kernel_size > context_length:
            raise ConfigError(
                f"dlinear kernel_size {config.kernel_size} is longer than the context "
                f"({context_length}); use kernel_size <= {context_length}"
            )
        self.config = config
        self.horizon = horizon
        self.n_targets = n_targets
        if config.variant == "nlinear":
            self.layer = nn.Linear(context_length, horizon)
        else:
            self.seasonal = nn.Linear(context_length, horizon)
            self.trend = nn.Linear(context_length, horizon)
        self.channels = channels or Channels(n_targets=n_targets)
        extra = self.channels.context_width - n_targets
        self.context_term = (
            nn.Linear(context_length * extra, horizon * n_targets) if extra else None
        )
        self.future_term = (
            HorizonCovariates(
                horizon=horizon, n_future=self.channels.n_future, n_outputs=n_targets
            )
            if self.channels.n_future
            else None
        )

    def forward(self, context: Tensor, future: Tensor | None = None) -> Tensor:
        """Forecast ``(B, H, C)`` from the context ``(B, L, C)`` (rows with covariates after
        the ``C`` target channels) and the horizon's future covariates ``(B, H, Kf)``."""
        covariates = context[..., self.n_targets :]  # (B, L, K)
        output = self._targets_only(context[..., : self.n_targets])  # (B, H, C)
        if self.context_term is not None:
            flat = self.context_term(covariates.flatten(1))  # (B, H*C)
            output = output + flat.unflatten(1, (self.horizon, self.n_targets))  # (B, H, C)
        return add_future_term(output, self.future_term, future)

    def _targets_only(self, context: Tensor) -> Tensor:
        if self.config.variant == "nlinear":
            last = context[:, -1:]  # (B, 1, C)
            change = (context - last).transpose(1, 2)  # (B, C, L)
            return self.layer(change).transpose(1, 2) + last  # (B, H, C)
        trend = moving_average(context, self.config.kernel_size)  # (B, L, C)
        seasonal = context - trend  # (B, L, C)
        output = self.seasonal(seasonal.transpose(1, 2)) + self.trend(trend.transpose(1, 2))
        return output.transpose(1, 2)  # (B, H, C)
