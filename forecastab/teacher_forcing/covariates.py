"""Covariate channels as the rollout sees them: tensors, never ids or column names.

A window at origin ``t`` with context ``L`` and horizon ``H`` carries, besides its targets:

- ``past`` ``(B, L, Kp)``: observed only up to the origin, read by the encoder only;
- ``future`` ``(B, L + H, Kf)``: known ahead (calendar features, planned prices), for the
  context rows ``t-L+1 .. t`` and the horizon rows ``t+1 .. t+H``;
- ``static`` ``(B, S)``: one vector per series (real values, one-hot categories).

The inputs a network reads are built here, in one place:

- context input at row ``s``: ``[y_s, past_s, future_s, static]`` (width ``C+Kp+Kf+S``);
- decoder input of step ``h`` (predicting ``y_{t+h}``): ``[y_{t+h-1}, future_{t+h}, static]``
  (width ``C+Kf+S``), where ``y_{t+h-1}`` is whatever the rollout feeds back.

So only targets are ever fed back, and a future covariate at horizon step ``h`` reaches the
forecasts of step ``h`` and later only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Channels:
    """How many channels of each kind a network reads.

    >>> Channels(n_targets=1, n_past=2, n_future=3, n_static=1).context_width
    7
    >>> Channels(n_targets=1, n_past=2, n_future=3, n_static=1).decoder_width
    5
    """

    n_targets: int
    n_past: int = 0
    n_future: int = 0
    n_static: int = 0

    @property
    def context_width(self) -> int:
        """Width of a context row: targets, past, future and static channels."""
        return self.n_targets + self.n_past + self.n_future + self.n_static

    @property
    def decoder_width(self) -> int:
        """Width of a decoder input: fed-back targets, that step's future covariates, static."""
        return self.n_targets + self.n_future + self.n_static

    @property
    def has_covariates(self) -> bool:
        return bool(self.n_past or self.n_future or self.n_static)

    def patched(self, patch: int) -> Channels:
        """The channels of one step of ``patch`` rows: every per-row channel ``patch`` times, the
        static vector once (see :func:`~forecastab.teacher_forcing.rollout.rollout`).

        >>> Channels(n_targets=2, n_future=1, n_static=3).patched(4).decoder_width
        15
        """
        if patch == 1:
            return self
        return Channels(
            n_targets=patch * self.n_targets,
            n_past=patch * self.n_past,
            n_future=patch * self.n_future,
            n_static=self.n_static,
        )

    def counts(self) -> dict[str, int]:
        """The covariate counts as plain ints (for hyperparameters and checkpoints)."""
        return {"past": self.n_past, "future": self.n_future, "static": self.n_static}


@dataclass
class Covariates:
    """A batch's covariate tensors (any of them may be None).

    Attributes:
        past: ``(B, L, Kp)`` past covariates over the context rows.
        future: ``(B, L + H', Kf)`` future covariates over the context and at least ``H'``
            horizon rows.
        static: ``(B, S)`` one vector per window's series.
    """

    past: Tensor | None = None
    future: Tensor | None = None
    static: Tensor | None = None

    @classmethod
    def zeros(cls, channels: Channels, *, batch_size: int, rows: int) -> Covariates:
        """All-zero covariates of ``rows`` context + horizon rows (probing a network's widths)."""
        return cls(
            past=torch.zeros(batch_size, rows, channels.n_past) if channels.n_past else None,
            future=torch.zeros(batch_size, rows, channels.n_future) if channels.n_future else None,
            static=torch.zeros(batch_size, channels.n_static) if channels.n_static else None,
        )

    @property
    def batch_size(self) -> int:
        for part in (self.past, self.future, self.static):
            if part is not None:
                return part.shape[0]
        return 0

    def _parts(self, rows: int | None) -> list[Tensor]:
        """Static vector expanded to ``rows`` rows ``(B, rows, S)``, or ``(B, S)`` for None."""
        if self.static is None:
            return []
        if rows is None:
            return [self.static]
        return [self.static[:, None].expand(-1, rows, -1)]  # (B, rows, S)

    def context_inputs(self, context: Tensor) -> Tensor:
        """``(B, L, C)`` targets -> ``(B, L, C+Kp+Kf+S)`` context rows."""
        length = context.shape[1]
        parts = [context]
        if self.past is not None:
            parts.append(self.past[:, -length:].to(context.dtype))
        if self.future is not None:
            parts.append(self.future[:, :length].to(context.dtype))
        parts += [p.to(context.dtype) for p in self._parts(length)]
        return torch.cat(parts, dim=-1)  # (B, L, C+Kp+Kf+S)

    def step_input(self, fed: Tensor, step: int, context_length: int) -> Tensor:
        """Decoder input of 0-based ``step`` (predicting horizon row ``step``): ``(B, C+Kf+S)``."""
        parts = [fed]
        if self.future is not None:
            parts.append(self.future[:, context_length + step].to(fed.dtype))  # (B, Kf)
        parts += [p.to(fed.dtype) for p in self._parts(None)]
        return torch.cat(parts, dim=-1)  # (B, C+Kf+S)

    def decoder_inputs(self, fed: Tensor, context_length: int) -> Tensor:
        """``(B, H, C)`` fed-back values -> all decoder inputs ``(B, H, C+Kf+S)`` at once."""
        horizon = fed.shape[1]
        parts = [fed]
        if self.future is not None:
            rows = self.future[:, context_length : context_length + horizon]  # (B, H, Kf)
            parts.append(rows.to(fed.dtype))
        parts += [p.to(fed.dtype) for p in self._parts(horizon)]
        return torch.cat(parts, dim=-1)  # (B, H, C+Kf+S)

    def horizon_future(self, context_length: int, horizon: int) -> Tensor | None:
        """The future covariates of the horizon rows ``(B, H, Kf)``, or None."""
        if self.future is None:
            return None
        return self.future[:, context_length : context_length + horizon]  # (B, H, Kf)

    def map(self, fn: Callable[[Tensor], Tensor]) -> Covariates:
        """The same covariates with ``fn`` applied to every tensor (repeat, select, move)."""
        return Covariates(
            *(None if part is None else fn(part) for part in (self.past, self.future, self.static))
        )

    def repeat_interleave(self, repeats: int) -> Covariates:
        """Every window ``repeats`` times in a row (as sampled paths repeat their context)."""
        return self.map(lambda part: part.repeat_interleave(repeats, dim=0))

    def shifted(self, steps: int) -> Covariates:
        """The covariates of windows whose origin lies ``steps`` rows later (same context length):
        past covariates are unknown beyond the origin and repeat the last row."""
        past = self.past
        if past is not None and steps:
            tail = past[:, -1:].expand(-1, steps, -1)  # (B, steps, Kp)
            past = torch.cat([past[:, steps:], tail], dim=1)
        future = None if self.future is None else self.future[:, steps:]
        return Covariates(past, future, self.static)

    def patched(self, patch: int, context_length: int, horizon: int) -> Covariates:
        """The covariates of a patched rollout: ``patch`` consecutive rows flattened into one
        (past ``(B, L/P, P*Kp)``, future ``(B, (L+H)/P, P*Kf)``), static unchanged. Row ``j``
        of the patched future covers rows ``jP .. jP+P-1``, so the decoder step predicting a
        patch reads the future covariates of exactly that patch's rows."""
        past = None if self.past is None else patches(self.past[:, -context_length:], patch)
        future = self.future
        if future is not None:
            future = patches(future[:, : context_length + horizon], patch)
        return Covariates(past, future, self.static)

    def to(self, device: torch.device | str) -> Covariates:
        return self.map(lambda part: part.to(device))


def patches(values: Tensor, patch: int) -> Tensor:
    """``(B, T, K)`` rows -> ``(B, T/P, P*K)``: row ``j`` holds rows ``jP .. jP+P-1`` in time
    order (``T`` a multiple of ``P``); :func:`unpatch` inverts it.

    >>> patches(torch.arange(6.0).reshape(1, 6, 1), 3)[0].tolist()
    [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """
    batch, rows, width = values.shape
    return values.reshape(batch, rows // patch, patch * width)


def unpatch(values: Tensor, patch: int) -> Tensor:
    """``(B, T/P, P*K, ...)`` -> ``(B, T, K, ...)``, the inverse of :func:`patches` (trailing
    dimensions, e.g. distribution parameters, are kept)."""
    batch, steps, width, *rest = values.shape
    return values.reshape(batch, steps * patch, width // patch, *rest)


def concat_covariates(parts: list[Covariates]) -> Covariates:
    """The covariates of several batches, one after the other (along the batch)."""

    def cat(kind: str) -> Tensor | None:
        tensors = [getattr(part, kind) for part in parts]
        return None if tensors[0] is None else torch.cat(tensors)

    return Covariates(cat("past"), cat("future"), cat("static"))


Batch = tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Covariates]
"""A training batch: ``(context, targets)`` or ``(context, targets, covariates)``."""


def split_batch(batch: Batch) -> tuple[Tensor, Tensor, Covariates | None]:
    """``(context, targets, covariates or None)`` of a batch with or without covariates."""
    if len(batch) == 3:
        return batch[0], batch[1], batch[2]
    context, targets = batch
    return context, targets, None
