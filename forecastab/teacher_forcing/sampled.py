"""Sampled rollouts: many paths per origin from a probabilistic network, as ONE rollout.

Each of the ``S`` paths of an origin feeds back its own draws (ancestral sampling, as DeepAR
forecasts), so it is exposed to its own noise and its spread widens honestly over the horizon.
Each context is encoded once and its state repeated ``S`` times, and the one
:func:`~forecastab.teacher_forcing.rollout` decodes ``B x S`` rows with ``draw=True``: no loop
over samples, no copy of the loop.
A seed makes the draws reproducible without touching the caller's random state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from forecastab.errors import ConfigError
from forecastab.teacher_forcing.covariates import Covariates
from forecastab.teacher_forcing.rollout import FeedHook, Rollout, rollout


@contextmanager
def seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Run the block on torch's global generator seeded with ``seed``, restoring it afterwards.

    ``seed=None`` uses (and advances) the global generator as it is.
    """
    if seed is None:
        yield
        return
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type):
        torch.manual_seed(seed)
        yield


def sample_paths(
    net: nn.Module,
    context: Tensor,
    horizon: int,
    *,
    num_samples: int,
    feedback: str = "sample",
    seed: int | None = None,
    targets: Tensor | None = None,
    ratio: float = 0.0,
    feed: FeedHook | None = None,
    covariates: Covariates | None = None,
) -> Rollout:
    """``num_samples`` sampled paths per context in one batched rollout over contexts x samples.

    Args:
        net: a probabilistic network (``distribution`` set).
        context: ``(B, L, C)`` the observed past.
        horizon: ``H``, steps per path.
        num_samples: ``S``, paths per context (at least 1).
        feedback: ``sample`` (each path feeds back its own draws) or ``mean`` (the decoder is
            fed the mean path; the draws are then independent per step).
        seed: makes the draws reproducible; None uses torch's global generator.
        targets: ``(B, H, C)`` the true future, for a teacher-forced sampled rollout.
        ratio: the teacher forcing ratio (1 samples the one-step-ahead predictive of each step).
        feed: rewrites each fed-back value (see :func:`~forecastab.teacher_forcing.rollout`),
            e.g. to detach the draws (REINFORCE) or to feed a teacher-forced prefix.
        covariates: the contexts' covariates (each repeated for its ``S`` paths).

    Returns:
        A :class:`Rollout` whose ``predictions`` are ``(B, S, H, C)`` paths and ``params``
        ``(B, S, H, C, P)`` the distribution parameters along them.

    Raises:
        ConfigError: ``num_samples < 1``, an unknown feedback, or a point network.

    >>> from forecastab.models import RNNConfig, RNNNetwork
    >>> net = RNNNetwork(RNNConfig(hidden_size=8, distribution="gaussian"), n_targets=1)
    >>> paths = sample_paths(net, torch.zeros(2, 6, 1), 4, num_samples=3, seed=0).predictions
    >>> tuple(paths.shape)
    (2, 3, 4, 1)
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ConfigError(f"num_samples must be a positive integer, got {num_samples!r}")
    batch_size = context.shape[0]
    rows = context.repeat_interleave(num_samples, dim=0)  # (B*S, L, C)
    truth = None if targets is None else targets.repeat_interleave(num_samples, dim=0)
    repeated = None if covariates is None else covariates.repeat_interleave(num_samples)
    encoded = None
    sequential = getattr(net, "autoregressive", True) and not (ratio == 1.0 and feed is None)
    if sequential and hasattr(net, "repeat_state") and getattr(net, "patch", 1) == 1:
        # the S paths of a context share its encoding: encode B rows, not B*S (with dropout
        # on, they share its mask too)
        first = context if covariates is None else covariates.context_inputs(context)
        encoded = net.repeat_state(net.encode(first), num_samples)
    with seeded(seed, context.device):
        out = rollout(
            net,
            rows,
            horizon,
            targets=truth,
            ratio=ratio,
            draw=True,
            feedback=feedback,
            feed=feed,
            encoded=encoded,
            covariates=repeated,
        )
    paths = out.predictions.unflatten(0, (batch_size, num_samples))  # (B, S, H, C)
    params = out.params.unflatten(0, (batch_size, num_samples))  # (B, S, H, C, P)
    mask = out.teacher_mask.unflatten(0, (batch_size, num_samples))  # (B, S, H)
    return Rollout(predictions=paths, teacher_mask=mask, params=params)
