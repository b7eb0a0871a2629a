"""The one decoding loop: training, validation and free-running evaluation all go through it.

``rollout`` drives any autoregressive network that offers ``encode``, ``step``,
``teacher_forced`` and ``hidden`` (see :mod:`forecastab.models`). At every horizon step the
network predicts the next value; a coin with probability ``ratio`` (the teacher forcing ratio)
decides whether the *true* previous value or the network's *own* prediction is fed back as the
next input. ``ratio = 1`` is teacher forcing, ``ratio = 0`` is free running.

Strategies change what goes into the loop, never copy it:

- ``sampling`` picks how the coins are flipped (per step, per sequence, a teacher-forced
  prefix, or two parallel passes for transformers); ``coins`` passes draws made elsewhere
  (once per epoch, shared by every batch, as Teutsch & Mader's curricula do) instead of fresh
  ones per sample;
- ``feed`` rewrites the value fed back where the coin picked the model's own prediction
  (noise injection, generalized teacher forcing mixing, detaching for Data-as-Demonstrator);
- ``return_hidden`` exposes the decoder's per-step hidden states (distribution-shift
  diagnostics, professor forcing);
- ``draw`` samples each step from a probabilistic network's predictive distribution (ancestral
  sampling) and ``feedback`` says whether that sample or the mean is fed back (see
  :mod:`forecastab.teacher_forcing.sampled` for many paths per origin).

A probabilistic network (``net.distribution`` set) emits distribution parameters at every
step: the rollout keeps them in ``Rollout.params`` and its ``predictions`` are the point
forecasts (the mean), or the draws when ``draw`` is set.

A direct (non-autoregressive) network has no loop: its rollout is ``net(context)`` with an
all-False teacher mask.

``covariates`` (:class:`~forecastab.teacher_forcing.covariates.Covariates`) adds covariate
channels: the network encodes context rows ``[targets, past, future, static]`` and the input
of every decoder step is ``(fed-back targets, that step's future covariates, static)``; only
targets are ever fed back. The loop is the same loop.

A network with ``patch = P > 1`` (segment-wise autoregression) predicts ``P`` rows per step:
the rollout cuts the context, the targets and the covariates into patches of ``P`` rows
(``(B, L, C)`` -> ``(B, L/P, P*C)``), runs the same loop over ``H/P`` steps (so every fed-back
input is a whole patch: the truth or the network's own predictions), and returns the usual
shapes: predictions ``(B, H, C)``, params ``(B, H, C, P)``, the teacher mask and hidden states
repeated over the ``P`` rows of each patch. The coins are flipped per patch (``coins`` of shape
``(H,)`` use the draw of each patch's first row), a ``feed`` hook sees whole patches
``(B, P*C)`` and the patch index, and context length and horizon must be multiples of ``P``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from forecastab.errors import ConfigError, DataError, unknown_name
from forecastab.teacher_forcing.covariates import Covariates, patches, unpatch

SAMPLING_MODES = ("per_step", "per_sequence", "prefix", "two_pass")

FEEDBACKS = ("sample", "mean")
"""What a sampled rollout feeds back: its own draw (ancestral sampling) or the mean."""

FeedHook = Callable[[Tensor, "Tensor | None", int], Tensor]
"""``feed(prediction (B, C), truth (B, C) | None, step) -> value (B, C)`` fed back as the next
input wherever the coin picked the model's own prediction; ``truth`` is None without targets."""


@dataclass
class Rollout:
    """The outcome of one rollout.

    Attributes:
        predictions: ``(B, H, C)`` the network's prediction of every horizon step.
        teacher_mask: ``(B, H)`` bool; column ``h`` is True where the true value of step
            ``h + 1`` was fed as the input for the next step. The last column has no effect.
        hidden: ``(B, H, D)`` the decoder's top hidden state at every step, or None when not
            requested (or for a direct network, which has no decoder).
        params: ``(B, H, C, P)`` a probabilistic network's distribution parameters at every
            step, or None for a point network.
    """

    predictions: Tensor
    teacher_mask: Tensor
    hidden: Tensor | None = None
    params: Tensor | None = None


def rollout(
    net: nn.Module,
    context: Tensor,
    horizon: int,
    *,
    targets: Tensor | None = None,
    ratio: float = 0.0,
    sampling: str = "per_step",
    generator: torch.Generator | None = None,
    return_hidden: bool = False,
    feed: FeedHook | None = None,
    draw: bool = False,
    feedback: str = "sample",
    coins: Tensor | None = None,
    encoded: Any = None,
    covariates: Covariates | None = None,
) -> Rollout:
    """Forecast ``horizon`` steps from ``context``, feeding back truth with probability ``ratio``.

    Args:
        net: an autoregressive network (``encode``/``step``/``teacher_forced``/``hidden``) or a
            direct one (``autoregressive = False``, ``net(context) -> (B, H, C)``).
        context: ``(B, L, C)`` the observed past.
        horizon: ``H``, steps to forecast.
        targets: ``(B, H, C)`` the true future; required when ``ratio > 0`` or for ``two_pass``.
        ratio: teacher forcing ratio in ``[0, 1]``: the probability that the input of a step is
            the true previous value.
        sampling: ``per_step`` (a coin per sample and step, Bengio et al. 2015),
            ``per_sequence`` (one coin per window), ``prefix`` (the first ``round(ratio * (H - 1))``
            of the ``H - 1`` fed-back inputs teacher-forced, the rest free, and at least one
            free whenever ``ratio < 1``; Teutsch & Mader 2022) or ``two_pass`` (a
            parallel teacher-forced pass, then a parallel pass on inputs mixing truth and
            first-pass predictions, Mihaylova & Martins 2019).
        generator: makes the coins reproducible; None uses torch's global generator.
        return_hidden: also return the decoder's per-step hidden states ``(B, H, D)``.
        feed: ``feed(prediction, truth_or_None, step) -> value`` fed back wherever the coin
            picked the model's own prediction (see :data:`FeedHook`).
        draw: sample every step from a probabilistic network's distribution (torch's global
            generator); the draws are the predictions.
        feedback: with ``draw``, feed back the ``sample`` (ancestral sampling) or the ``mean``.
        coins: uniform draws in ``[0, 1)`` shared by every window of the batch, in place of
            fresh coins per sample: ``(H,)`` for ``per_step`` and ``two_pass``, ``(1,)`` for
            ``per_sequence``; the true value is fed where a draw is below ``ratio``. ``prefix``
            flips no coins and takes none.
        encoded: the decoder's starting state when the caller already has it (``net.encode``
            of ``context``, e.g. one encoding repeated for many sampled paths); None encodes
            ``context`` here. The sequential loop uses it; the parallel teacher-forced pass
            encodes for itself.
        covariates: the windows' covariates (past over the context, future over context and
            horizon, static), for a network built to read them; None: targets only.

    Returns:
        A :class:`Rollout` with predictions ``(B, H, C)``, teacher mask ``(B, H)`` and hidden
        states ``(B, H, D)`` or None.

    Raises:
        ConfigError: an unknown sampling mode or feedback, a ratio outside ``[0, 1]``, truth
            needed but no targets given, ``draw`` asked of a point network, or ``coins`` of the
            wrong shape (or given to ``prefix``).
        DataError: targets whose shape does not match ``(B, horizon, C)``.

    >>> from forecastab.models import RNNConfig, RNNNetwork
    >>> net = RNNNetwork(RNNConfig(hidden_size=8), n_targets=1)
    >>> out = rollout(net, torch.zeros(4, 10, 1), horizon=5)
    >>> tuple(out.predictions.shape), bool(out.teacher_mask.any())
    ((4, 5, 1), False)
    """
    _check_arguments(context, horizon, targets, ratio, sampling)
    _check_coins(coins, horizon, sampling)
    distribution = getattr(net, "distribution", None)
    _check_draw(distribution, draw, feedback)
    patch = getattr(net, "patch", 1)
    if patch > 1 and getattr(net, "autoregressive", True):
        return _patched(
            net, context, horizon, patch, targets=targets, ratio=ratio, sampling=sampling,
            generator=generator, return_hidden=return_hidden, feed=feed, draw=draw,
            feedback=feedback, coins=coins, encoded=encoded, covariates=covariates,
        )  # fmt: skip
    return _loop(
        net, context, horizon, targets=targets, ratio=ratio, sampling=sampling,
        generator=generator, return_hidden=return_hidden, feed=feed, draw=draw,
        feedback=feedback, coins=coins, encoded=encoded, covariates=covariates,
    )  # fmt: skip


def _patched(
    net: nn.Module, context: Tensor, horizon: int, patch: int, **options: Any
) -> Rollout:
    """The rollout of a patched network: the same loop over ``H/P`` steps of ``P`` rows each,
    its outcome in the usual per-row shapes (see the module docstring)."""
    from forecastab.models.rnn import check_patch_lengths

    check_patch_lengths(patch, context_length=context.shape[1], horizon=horizon)
    if options["encoded"] is not None:
        raise ConfigError(
            f"a network with patch {patch} encodes patches itself; leave encoded out"
        )
    targets, coins, covariates = options["targets"], options["coins"], options["covariates"]
    if targets is not None:
        options["targets"] = patches(targets, patch)  # (B, H/P, P*C)
    if coins is not None and coins.shape[0] == horizon:
        options["coins"] = coins[::patch]  # one draw per patch: its first row's
    if covariates is not None:
        options["covariates"] = covariates.patched(patch, context.shape[1], horizon)
    out = _loop(net, patches(context, patch), horizon // patch, **options)
    return Rollout(
        predictions=unpatch(out.predictions, patch),  # (B, H, C)
        teacher_mask=out.teacher_mask.repeat_interleave(patch, dim=1),  # (B, H)
        hidden=None if out.hidden is None else out.hidden.repeat_interleave(patch, dim=1),
        params=None if out.params is None else unpatch(out.params, patch),  # (B, H, C, P)
    )


def _loop(
    net: nn.Module,
    context: Tensor,
    horizon: int,
    *,
    targets: Tensor | None,
    ratio: float,
    sampling: str,
    generator: torch.Generator | None,
    return_hidden: bool,
    feed: FeedHook | None,
    draw: bool,
    feedback: str,
    coins: Tensor | None,
    encoded: Any,
    covariates: Covariates | None,
) -> Rollout:
    """:func:`rollout` once its arguments are checked (for a patched network: on patches)."""
    distribution = getattr(net, "distribution", None)
    batch_size = context.shape[0]
    length = context.shape[1]
    # context rows as the network reads them: targets, then any covariate channels
    context_rows = context if covariates is None else covariates.context_inputs(context)
    if not getattr(net, "autoregressive", True):
        # A direct network emits all H steps at once: nothing is ever fed back.
        mask = torch.zeros(batch_size, horizon, dtype=torch.bool, device=context.device)
        if covariates is None:
            return _whole(distribution, net(context), mask, None, draw)
        output = net(context_rows, covariates.horizon_future(length, horizon))
        return _whole(distribution, output, mask, None, draw)
    if targets is not None:
        targets = targets.to(context.dtype)
    if coins is None:
        mask = _teacher_mask(batch_size, horizon, ratio, sampling, generator, context.device)
    else:
        # one draw per column for the whole batch: every window sees the same mask
        shared = coins.to(context.device) < ratio  # (H,) or (1,)
        mask = shared.expand(batch_size, horizon).contiguous()  # (B, H)
    if sampling == "two_pass":
        return _two_pass(net, context, targets, mask, return_hidden, feed, draw, covariates)
    if ratio == 1.0 and feed is None:
        # Every input is the truth: one parallel pass computes the same thing as the loop.
        extra = _decoder_inputs(context, targets, covariates)
        if return_hidden:
            output, hidden = net.teacher_forced(context_rows, targets, return_hidden=True, **extra)
            return _whole(distribution, output, mask, hidden, draw)
        output = net.teacher_forced(context_rows, targets, **extra)
        return _whole(distribution, output, mask, None, draw)

    state = net.encode(context_rows) if encoded is None else encoded
    x = context[:, -1]  # (B, C) the decoder's first input is the last context value
    predictions: list[Tensor] = []
    params: list[Tensor] = []
    hidden: list[Tensor] = []
    for step in range(horizon):
        # the step's input: the fed-back targets and, with covariates, that step's future ones
        x_in = x if covariates is None else covariates.step_input(x, step, length)
        output, state = net.step(x_in, state)
        if distribution is None:
            y = fed = output  # (B, C)
        else:
            params.append(output)  # (B, C, P)
            y, fed = _emit(distribution, output, draw, feedback)
        predictions.append(y)
        if return_hidden:
            hidden.append(net.hidden(state))
        if step + 1 == horizon:
            break  # the last prediction is never fed back
        truth = None if targets is None else targets[:, step]
        # Gradients flow through the fed-back prediction (backprop through the rollout); a
        # feed hook that detaches gives Data-as-Demonstrator-style training instead.
        own = fed if feed is None else feed(fed, truth, step)
        x = own if truth is None else torch.where(mask[:, step, None], truth, own)
    return Rollout(
        predictions=torch.stack(predictions, dim=1),  # (B, H, C)
        teacher_mask=mask,
        hidden=torch.stack(hidden, dim=1) if return_hidden else None,  # (B, H, D)
        params=torch.stack(params, dim=1) if params else None,  # (B, H, C, P)
    )


def _emit(distribution: Any, params: Tensor, draw: bool, feedback: str) -> tuple[Tensor, Tensor]:
    """A probabilistic step's prediction and the value it feeds back, both ``(B, C)``."""
    mean = distribution.point(params)  # (B, C)
    if not draw:
        return mean, mean
    sample = distribution.sample(params)  # (B, C)
    return sample, sample if feedback == "sample" else mean


def _whole(
    distribution: Any, output: Tensor, mask: Tensor, hidden: Tensor | None, draw: bool
) -> Rollout:
    """The rollout of a parallel pass: point outputs ``(B, H, C)`` or parameters ``(B, H, C, P)``."""
    if distribution is None:
        return Rollout(predictions=output, teacher_mask=mask, hidden=hidden)
    # nothing of a parallel pass is fed back, so each step's draw is its own
    values = distribution.sample(output) if draw else distribution.point(output)  # (B, H, C)
    return Rollout(predictions=values, teacher_mask=mask, hidden=hidden, params=output)


def _decoder_inputs(
    context: Tensor, fed: Tensor, covariates: Covariates | None
) -> dict[str, Tensor]:
    """``{"inputs": (B, H, C+Kf+S)}`` for a teacher-forced pass fed ``fed`` ``(B, H, C)``, or
    nothing without covariates (the network then shifts ``fed`` itself)."""
    if covariates is None:
        return {}
    shifted = torch.cat([context[:, -1:], fed[:, :-1]], dim=1)  # (B, H, C)
    return {"inputs": covariates.decoder_inputs(shifted, context.shape[1])}


def _two_pass(
    net: nn.Module,
    context: Tensor,
    targets: Tensor,
    mask: Tensor,
    return_hidden: bool,
    feed: FeedHook | None,
    draw: bool,
    covariates: Covariates | None = None,
) -> Rollout:
    """Two-pass scheduled sampling: both passes are the network's parallel teacher-forced path."""
    distribution = getattr(net, "distribution", None)
    rows = context if covariates is None else covariates.context_inputs(context)
    with torch.no_grad():
        # Mihaylova & Martins (2019) do not backpropagate through the first pass.
        first = net.teacher_forced(
            rows, targets, **_decoder_inputs(context, targets, covariates)
        )  # (B, H, C) or (B, H, C, P)
        if distribution is not None:
            first = distribution.point(first)  # (B, H, C)
    if feed is not None:
        first = torch.stack(
            [feed(first[:, h], targets[:, h], h) for h in range(targets.shape[1])], dim=1
        )  # (B, H, C)
    # teacher_forced feeds targets[:, h] as the input of step h + 1, so mixing the targets per
    # position with the first-pass predictions mixes the decoder's inputs.
    mixed = torch.where(mask[:, :, None], targets, first)  # (B, H, C)
    extra = _decoder_inputs(context, mixed, covariates)
    if return_hidden:
        output, hidden = net.teacher_forced(rows, mixed, return_hidden=True, **extra)
        return _whole(distribution, output, mask, hidden, draw)
    return _whole(distribution, net.teacher_forced(rows, mixed, **extra), mask, None, draw)


def _teacher_mask(
    batch_size: int,
    horizon: int,
    ratio: float,
    sampling: str,
    generator: torch.Generator | None,
    device: torch.device,
) -> Tensor:
    """``(B, H)`` bool: True where the true value of a step is fed as the next input."""
    if sampling == "prefix":
        # Only the first H - 1 columns feed an input (the last prediction is never fed back),
        # so the prefix is a fraction of those: any ratio < 1 feeds back some predictions.
        forced = horizon if ratio == 1.0 else min(round(ratio * (horizon - 1)), horizon - 2)
        mask = torch.zeros(batch_size, horizon, dtype=torch.bool, device=device)
        mask[:, : max(forced, 0)] = True
        return mask
    if ratio in (0.0, 1.0):
        # No coin to flip; skipping the draw keeps the generator's stream for real coins.
        return torch.full((batch_size, horizon), ratio == 1.0, dtype=torch.bool, device=device)
    columns = 1 if sampling == "per_sequence" else horizon
    draw_device = generator.device if generator is not None else device
    coins = torch.rand(batch_size, columns, generator=generator, device=draw_device)
    return (coins < ratio).to(device).expand(batch_size, horizon).contiguous()  # (B, H)


def _check_coins(coins: Tensor | None, horizon: int, sampling: str) -> None:
    if coins is None:
        return
    if sampling == "prefix":
        raise ConfigError("sampling 'prefix' flips no coins; leave coins out")
    columns = 1 if sampling == "per_sequence" else horizon
    if tuple(coins.shape) != (columns,):
        raise ConfigError(
            f"coins for sampling '{sampling}' must have shape ({columns},), "
            f"got {tuple(coins.shape)}"
        )


def _check_draw(distribution: Any, draw: bool, feedback: str) -> None:
    if feedback not in FEEDBACKS:
        raise ConfigError(unknown_name("feedback", feedback, FEEDBACKS))
    if draw and distribution is None:
        raise ConfigError(
            "sampled rollouts need a probabilistic network; set 'distribution: gaussian' "
            "(or student_t) on the model"
        )


def _check_arguments(
    context: Tensor, horizon: int, targets: Tensor | None, ratio: float, sampling: str
) -> None:
    if sampling not in SAMPLING_MODES:
        raise ConfigError(unknown_name("sampling mode", sampling, SAMPLING_MODES))
    if not 0.0 <= ratio <= 1.0:
        raise ConfigError(f"teacher forcing ratio must lie in [0, 1], got {ratio}")
    if context.ndim != 3:
        raise DataError(f"context must have shape (B, L, C), got {tuple(context.shape)}")
    if horizon < 1:
        raise ConfigError(f"horizon must be at least 1, got {horizon}")
    if targets is None:
        if ratio > 0.0:
            raise ConfigError(f"teacher forcing ratio {ratio} > 0 needs targets to feed back")
        if sampling == "two_pass":
            raise ConfigError("sampling 'two_pass' needs targets for its teacher-forced pass")
        return
    expected = (context.shape[0], horizon, context.shape[2])
    if tuple(targets.shape) != expected:
        raise DataError(
            f"targets must have shape (B, H, C) = {expected}, got {tuple(targets.shape)}"
        )
