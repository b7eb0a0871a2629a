"""Windows over a series as zero-copy views, and the window dataset the loaders draw from.

A window at origin ``t`` is the context ``values[t-L+1 : t+1]`` followed by the horizon
``values[t+1 : t+H+1]``. Every window is a strided view into the one series array: building all
windows of a long series costs no copy and no Python loop over origins.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch import Tensor
from torch.utils.data import Dataset


def window_view(values: np.ndarray, length: int) -> np.ndarray:
    """All windows of ``length`` consecutive rows, as a read-only view.

    Args:
        values: the series, shape ``(T, C)``.
        length: rows per window.

    Returns:
        An array of shape ``(T - length + 1, length, C)`` sharing memory with ``values``.

    >>> x = np.arange(10.0).reshape(5, 2)
    >>> w = window_view(x, 3)
    >>> w.shape, np.shares_memory(w, x)
    ((3, 3, 2), True)
    >>> w[1].tolist()
    [[2.0, 3.0], [4.0, 5.0], [6.0, 7.0]]
    """
    if values.ndim != 2:
        raise ValueError(f"expected a (T, C) array, got shape {values.shape}")
    return sliding_window_view(values, length, axis=0).transpose(0, 2, 1)  # (T-length+1, length, C)


def origin_windows(
    values: np.ndarray, origins: np.ndarray, context_length: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Contexts and targets at the given origins.

    The whole-window view is zero-copy; indexing it with an array of origins gathers only the
    requested windows (use :func:`window_view` directly when every origin is wanted).

    Args:
        values: the series, shape ``(T, C)``.
        origins: row indices of the last observed value of each forecast, shape ``(N,)``.
        context_length: ``L``, rows of context.
        horizon: ``H``, rows ahead.

    Returns:
        ``(contexts, targets)`` of shapes ``(N, L, C)`` and ``(N, H, C)``.

    >>> x = np.arange(8.0)[:, None]
    >>> c, y = origin_windows(x, np.array([2, 4]), context_length=2, horizon=3)
    >>> c[:, :, 0].tolist(), y[:, :, 0].tolist()
    ([[1.0, 2.0], [3.0, 4.0]], [[3.0, 4.0, 5.0], [5.0, 6.0, 7.0]])
    """
    origins = np.asarray(origins, dtype=np.int64)
    windows = window_view(values, context_length + horizon)  # (T-L-H+1, L+H, C)
    starts = origins - context_length + 1
    if len(origins) and (starts.min() < 0 or starts.max() >= len(windows)):
        raise IndexError(
            f"origins must lie in [{context_length - 1}, {len(values) - horizon - 1}] "
            f"for context {context_length} and horizon {horizon} on {len(values)} rows"
        )
    if len(origins) and np.all(np.diff(starts) == 1):
        picked = windows[starts[0] : starts[-1] + 1]  # contiguous origins: still a view
    else:
        picked = windows[starts]  # (N, L+H, C)
    return picked[:, :context_length], picked[:, context_length:]


class WindowDataset(Dataset):
    """``(context, target)`` pairs at fixed origins, drawn from one tensor by batched indexing.

    ``__getitems__`` lets a DataLoader fetch a whole batch with a single gather instead of
    collating ``batch_size`` small tensors.
    """

    def __init__(self, values: np.ndarray, origins: np.ndarray, context_length: int, horizon: int):
        self.series = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
        self.origins = torch.as_tensor(np.asarray(origins, dtype=np.int64))
        self.context_length = context_length
        self.horizon = horizon
        # (T-L-H+1, C, L+H) view of the series tensor, no copy
        self.windows = self.series.unfold(0, context_length + horizon, 1)

    def __len__(self) -> int:
        return len(self.origins)

    def _gather(self, index: Tensor) -> tuple[Tensor, Tensor]:
        starts = self.origins[index] - self.context_length + 1
        batch = self.windows[starts].transpose(1, 2)  # (B, L+H, C)
        return batch[:, : self.context_length], batch[:, self.context_length :]

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        context, target = self._gather(torch.tensor([i]))
        return context[0], target[0]

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        return self._gather(torch.as_tensor(indices))


def collate_batch(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """Collate function for :class:`WindowDataset`, whose ``__getitems__`` already batches."""
    return batch


def split_origins(
    borders: Any, split: str, context_length: int, horizon: int, stride: int
) -> np.ndarray:
    """Origins (row indices) of one series' split: the rule every data module shares.

    Training origins keep context and horizon inside the training rows; validation and test
    contexts may reach back before their border.
    """
    bounds = borders.get(split)
    if bounds is None:
        return np.empty(0, dtype=np.int64)
    start, stop = bounds
    first = context_length - 1 if split == "train" else max(start - 1, context_length - 1)
    last = stop - horizon - 1
    return np.arange(first, last + 1, stride, dtype=np.int64)


class PanelWindowDataset(Dataset):
    """Windows of many series, indexed by (series, origin), never materialized.

    Each series contributes an arithmetic run of origins ``first[i] + k * stride``; window
    ``j`` of the dataset is found by a binary search over the cumulative counts, so memory is
    the concatenated data plus a few numbers per series. Batches are gathered from strided
    views (``unfold``) of the concatenated arrays: no window crosses a series' border because
    only origins inside a series are ever indexed.

    A batch is ``(context (B, L, C), targets (B, H, C))``, plus a
    :class:`~forecastab.teacher_forcing.covariates.Covariates` when the panel has covariates.
    """

    def __init__(
        self,
        values: np.ndarray,
        *,
        indptr: np.ndarray,
        first_origins: np.ndarray,
        counts: np.ndarray,
        stride: int,
        context_length: int,
        horizon: int,
        past: np.ndarray | None = None,
        future: np.ndarray | None = None,
        static: np.ndarray | None = None,
    ) -> None:
        length = context_length + horizon
        self.context_length = context_length
        self.horizon = horizon
        self.stride = stride
        self.counts = torch.as_tensor(np.asarray(counts, dtype=np.int64))
        self.cumulative = torch.cumsum(torch.cat([torch.zeros(1, dtype=torch.int64), self.counts]), 0)
        # global row of the first window start of each series
        self.base = torch.as_tensor(
            np.asarray(indptr[:-1], dtype=np.int64) + np.asarray(first_origins) - context_length + 1
        )
        self.series = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
        self.windows = self.series.unfold(0, length, 1)  # (N-L-H+1, C, L+H) view, no copy
        self.past = None if past is None else torch.from_numpy(np.ascontiguousarray(past))
        self.past_windows = None if past is None else self.past.unfold(0, context_length, 1)
        self.future = None if future is None else torch.from_numpy(np.ascontiguousarray(future))
        self.future_windows = None if future is None else self.future.unfold(0, length, 1)
        self.static = None if static is None else torch.from_numpy(np.ascontiguousarray(static))
        self.has_covariates = any(x is not None for x in (past, future, static))

    def __len__(self) -> int:
        return int(self.cumulative[-1])

    def locate(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """``(series, global window start)`` of dataset positions ``index`` ``(B,)``."""
        series = torch.searchsorted(self.cumulative, index, right=True) - 1  # (B,)
        local = index - self.cumulative[series]
        return series, self.base[series] + local * self.stride

    def _gather(self, index: Tensor) -> tuple[Tensor, ...]:
        from forecastab.teacher_forcing.covariates import Covariates

        series, starts = self.locate(index)
        batch = self.windows[starts].transpose(1, 2)  # (B, L+H, C)
        context, targets = batch[:, : self.context_length], batch[:, self.context_length :]
        if not self.has_covariates:
            return context, targets
        covariates = Covariates(
            past=None if self.past_windows is None else self.past_windows[starts].transpose(1, 2),
            future=None
            if self.future_windows is None
            else self.future_windows[starts].transpose(1, 2),  # (B, L+H, Kf)
            static=None if self.static is None else self.static[series],  # (B, S)
        )
        return context, targets, covariates

    def __getitem__(self, i: int) -> tuple[Tensor, ...]:
        return tuple(
            part[0] if isinstance(part, Tensor) else part
            for part in self._gather(torch.tensor([i]))
        )

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, ...]:
        return self._gather(torch.as_tensor(indices))


class SeriesBalancedSampler(torch.utils.data.Sampler[int]):
    """Draws windows so that every series is picked equally often (``window_sampling: per_series``):
    a series uniformly, then one of its windows uniformly; an epoch has as many draws as windows."""

    def __init__(self, counts: np.ndarray, generator: torch.Generator) -> None:
        self.counts = torch.as_tensor(np.asarray(counts, dtype=np.int64))
        self.starts = torch.cumsum(torch.cat([torch.zeros(1, dtype=torch.int64), self.counts]), 0)
        self.generator = generator
        self.total = int(self.counts.sum())

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[int]:
        usable = torch.nonzero(self.counts > 0).flatten()
        picks = usable[torch.randint(len(usable), (self.total,), generator=self.generator)]
        offsets = (torch.rand(self.total, generator=self.generator) * self.counts[picks]).long()
        yield from (self.starts[picks] + offsets).tolist()
