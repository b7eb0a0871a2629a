"""Distribution heads: a network that forecasts a predictive distribution instead of a number.

A model entry with ``distribution: gaussian`` or ``distribution: student_t`` gets a
:class:`DistributionHead` in place of its linear output layer. The head emits the parameters of
one distribution per target column and step, ``(..., C, P)``: location, scale and (Student-t)
degrees of freedom. The scale is ``softplus(raw) + min_scale`` and the degrees of freedom
``2.1 + softplus(raw)``, so no input can make either invalid. Without ``distribution`` the network
keeps its point head, unchanged.

The :class:`Distribution` objects are stateless: the one rollout asks them for the point
forecast (the mean; for Student-t the location, which is the median and, for ``df > 1``, also
the mean), for a sample to feed back, and for the log-likelihood that training minimizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forecastab.errors import ConfigError, DataError, unknown_name

MIN_SCALE = 1e-3
"""Floor of every predicted scale, in the units the network sees (train-fitted z-scores)."""

MIN_DF = 2.1
"""Floor of the Student-t degrees of freedom: above 2, so the variance is finite."""


@dataclass(frozen=True)
class Distribution:
    """A family of predictive distributions over one value per target column.

    Attributes:
        name: the YAML name.
        n_params: ``P``, parameters per value (the last axis of the head's output).
        min_scale: the floor added to every scale.
    """

    name: str = "gaussian"
    n_params: int = 2
    min_scale: float = MIN_SCALE

    def constrain(self, raw: Tensor) -> Tensor:
        """Unconstrained head outputs ``(..., P)`` -> valid parameters ``(..., P)``."""
        loc = raw[..., :1]
        scale = F.softplus(raw[..., 1:2]) + self.min_scale
        return torch.cat([loc, scale, *self._extra(raw)], dim=-1)  # (..., P)

    def _extra(self, raw: Tensor) -> list[Tensor]:
        return []

    def point(self, params: Tensor) -> Tensor:
        """The point forecast ``(...,)`` of parameters ``(..., P)``: the location."""
        return params[..., 0]

    def scale(self, params: Tensor) -> Tensor:
        """The scale ``(...,)`` of parameters ``(..., P)``."""
        return params[..., 1]

    def sample(self, params: Tensor) -> Tensor:
        """One draw ``(...,)`` per parameter set ``(..., P)``, from torch's global generator."""
        noise = torch.randn_like(params[..., 0])
        return params[..., 0] + params[..., 1] * noise

    def log_prob(self, params: Tensor, values: Tensor) -> Tensor:
        """``log p(values)`` ``(...,)`` under parameters ``(..., P)`` (written out, not looked up).

        ``-log sigma - log(2 pi) / 2 - z^2 / 2`` with ``z = (y - mu) / sigma``.
        """
        loc, scale = params[..., 0], params[..., 1]
        z = (values - loc) / scale
        return -torch.log(scale) - 0.5 * math.log(2.0 * math.pi) - 0.5 * z.square()


@dataclass(frozen=True)
class StudentT(Distribution):
    """Student-t with location, scale and degrees of freedom ``df = 2.1 + softplus(raw)``.

    ``df > 2`` keeps the variance finite (and the mean, the location, defined), so sampled
    paths cannot explode from one draw.
    """

    name: str = "student_t"
    n_params: int = 3

    def _extra(self, raw: Tensor) -> list[Tensor]:
        return [MIN_DF + F.softplus(raw[..., 2:3])]

    def sample(self, params: Tensor) -> Tensor:
        loc, scale, df = params[..., 0], params[..., 1], params[..., 2]
        return torch.distributions.StudentT(df, loc, scale).rsample()

    def log_prob(self, params: Tensor, values: Tensor) -> Tensor:
        """``lgamma((v+1)/2) - lgamma(v/2) - log(sqrt(v pi) sigma) - (v+1)/2 log(1 + z^2/v)``."""
        loc, scale, df = params[..., 0], params[..., 1], params[..., 2]
        z = (values - loc) / scale
        return (
            torch.lgamma((df + 1.0) / 2.0)
            - torch.lgamma(df / 2.0)
            - 0.5 * torch.log(df * math.pi)
            - torch.log(scale)
            - (df + 1.0) / 2.0 * torch.log1p(z.square() / df)
        )


DISTRIBUTIONS: dict[str, Distribution] = {
    "gaussian": Distribution(),
    "student_t": StudentT(),
}
"""The YAML ``distribution:`` of a model entry -> its family."""


def get_distribution(name: str) -> Distribution:
    """The distribution family registered under ``name``.

    Raises:
        ConfigError: an unknown name, with the nearest valid one.

    >>> get_distribution("student_t").n_params
    3
    >>> get_distribution("gausian")
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: unknown distribution 'gausian' (did you mean 'gaussian'?); valid: gaussian, student_t
    """
    if name not in DISTRIBUTIONS:
        raise ConfigError(unknown_name("distribution", str(name), DISTRIBUTIONS))
    return DISTRIBUTIONS[name]


def check_distribution(name: str | None) -> None:
    """Validate a config's ``distribution`` key (None: a point forecast)."""
    if name is not None:
        get_distribution(name)


class DistributionHead(nn.Module):
    """Linear layer from the hidden width to ``n_outputs`` distributions' parameters.

    Args:
        in_features: ``D``, the hidden width.
        n_outputs: values forecast per position (``C``; ``H * C`` for the direct network).
        distribution: the family.

    >>> head = DistributionHead(8, 2, get_distribution("gaussian"))
    >>> params = head(torch.zeros(3, 8))
    >>> tuple(params.shape), bool((params[..., 1] > 0).all())
    ((3, 2, 2), True)
    """

    def __init__(self, in_features: int, n_outputs: int, distribution: Distribution) -> None:
        super().__init__()
        self.distribution = distribution
        self.n_outputs = n_outputs
        self.linear = nn.Linear(in_features, n_outputs * distribution.n_params)

    def forward(self, hidden: Tensor) -> Tensor:
        """Hidden ``(..., D)`` -> parameters ``(..., n_outputs, P)``."""
        raw = self.linear(hidden)  # (..., n_outputs * P)
        raw = raw.unflatten(-1, (self.n_outputs, self.distribution.n_params))  # (..., n, P)
        return self.distribution.constrain(raw)


def output_head(in_features: int, n_outputs: int, distribution: str | None) -> nn.Module:
    """The network's output layer: linear for a point forecast, else a distribution head."""
    if distribution is None:
        return nn.Linear(in_features, n_outputs)
    return DistributionHead(in_features, n_outputs, get_distribution(distribution))


def negative_log_likelihood(distribution: Distribution, params: Tensor, targets: Tensor) -> Tensor:
    """Mean negative log-likelihood of ``targets`` ``(B, H, C)`` under ``params`` ``(B, H, C, P)``.

    Raises:
        DataError: parameters of the wrong shape, or a scale that is not positive (a head never
            emits one; parameters built by hand can).

    >>> params = torch.tensor([[[[0.0, 1.0]]]])
    >>> round(float(negative_log_likelihood(get_distribution("gaussian"), params,
    ...                                     torch.zeros(1, 1, 1))), 4)
    0.9189
    """
    if params.shape[:-1] != targets.shape or params.shape[-1] != distribution.n_params:
        raise DataError(
            f"{distribution.name} parameters must have shape (B, H, C, {distribution.n_params}) "
            f"matching targets {tuple(targets.shape)}, got {tuple(params.shape)}"
        )
    if not bool((distribution.scale(params) > 0).all()):
        raise DataError(
            f"{distribution.name} scale must be positive everywhere; build parameters with "
            "DistributionHead (softplus + floor) instead of by hand"
        )
    return -distribution.log_prob(params, targets).mean()


def rollout_loss(net: nn.Module, out: Any, targets: Tensor) -> Tensor:
    """The training loss of a rollout: MSE for a point network, else the mean NLL.

    Args:
        net: the network that produced ``out``.
        out: a :class:`~forecastab.teacher_forcing.rollout.Rollout` (predictions, params).
        targets: ``(B, H, C)`` the true future.
    """
    distribution = getattr(net, "distribution", None)
    if distribution is None:
        return F.mse_loss(out.predictions, targets)
    return negative_log_likelihood(distribution, out.params, targets)


def per_step_loss(net: nn.Module, out: Any, targets: Tensor) -> Tensor:
    """The training loss of a rollout at each step ``(H,)``: squared error or NLL, averaged
    over windows and target columns (so ``per_step_loss(...).mean() == rollout_loss(...)``)."""
    distribution = getattr(net, "distribution", None)
    if distribution is None:
        return (out.predictions - targets).square().mean(dim=(0, 2))  # (H,)
    negative_log_likelihood(distribution, out.params, targets)  # the shape and scale checks
    return -distribution.log_prob(out.params, targets).mean(dim=(0, 2))  # (H,)
