"""Block bootstrap over forecast origins.

Consecutive origins share ``H - 1`` target rows, so their errors are strongly correlated:
resampling origins one by one (the i.i.d. bootstrap) treats ``N`` correlated errors as ``N``
independent ones and gives bands that are far too narrow. A block bootstrap resamples runs of
``block_length`` consecutive origins instead, which keeps the dependence within each block
(Kuensch 1989; Politis & Romano 1992 for the circular variant).

Methods (:data:`BOOTSTRAP_METHODS`):

- ``moving``: blocks start anywhere in ``[0, N - block_length]``;
- ``circular``: blocks start anywhere and wrap around the end, so every origin is drawn
  equally often;
- ``iid``: blocks of one origin (the old behaviour), kept for comparison.

The default block length is :func:`default_block_length`: at least the horizon ``H`` (the span
of the overlap between windows) and at least ``N ** (1/3)``, never more than ``N``.
"""

from __future__ import annotations

import math

import numpy as np

from forecastab.errors import ConfigError, unknown_name

BOOTSTRAP_METHODS = ("moving", "circular", "iid")
"""Ways to resample origins: blocks that stay inside the series, wrap around, or single origins."""

METHOD_LABELS = {
    "moving": "moving-block bootstrap",
    "circular": "circular-block bootstrap",
    "iid": "i.i.d. bootstrap",
}
"""How a chart legend or a table names each method."""


def default_block_length(n_origins: int, horizon: int) -> int:
    """The default block length: ``max(H, ceil(N ** (1/3)))``, at most ``N``.

    >>> default_block_length(2857, 24), default_block_length(74, 20), default_block_length(5, 20)
    (24, 20, 5)
    """
    return int(max(1, min(n_origins, max(horizon, math.ceil(n_origins ** (1.0 / 3.0))))))


def band_label(method: str, block_length: int, confidence: float = 0.95) -> str:
    """How a chart legend and the intervals table name a band over origins.

    >>> band_label("moving", 24)
    '95% moving-block bootstrap over origins (blocks of 24)'
    >>> band_label("iid", 1, 0.9)
    '90% i.i.d. bootstrap over origins'
    """
    text = f"{100 * confidence:g}% {METHOD_LABELS[method]} over origins"
    return text if method == "iid" else f"{text} (blocks of {block_length})"


def check_bootstrap(method: str, block_length: int | None) -> None:
    """Raise a ConfigError for an unknown method or a block length below 1."""
    if method not in BOOTSTRAP_METHODS:
        raise ConfigError(unknown_name("bootstrap method", method, BOOTSTRAP_METHODS))
    if block_length is not None and (
        isinstance(block_length, bool) or int(block_length) != block_length or block_length < 1
    ):
        raise ConfigError(f"block_length must be a positive integer or null, got {block_length!r}")


def resample_counts(
    n_origins: int,
    *,
    n_bootstrap: int,
    block_length: int,
    method: str = "moving",
    rng: np.random.Generator,
) -> np.ndarray:
    """How often each origin is drawn in each resample, ``(n_bootstrap, N)`` float64.

    Each resample concatenates ``ceil(N / block_length)`` blocks of consecutive origins and
    keeps the first ``N`` draws, so every resample has exactly ``N`` origins. A statistic that
    is a mean over origins is then ``counts @ values / N`` for all resamples at once.

    Args:
        n_origins: ``N``.
        n_bootstrap: resamples.
        block_length: origins per block (1 with ``iid``); clipped to ``N``.
        method: one of :data:`BOOTSTRAP_METHODS`.
        rng: the random generator.

    Returns:
        ``(n_bootstrap, N)`` counts; each row sums to ``N``.

    >>> counts = resample_counts(10, n_bootstrap=3, block_length=4, rng=np.random.default_rng(0))
    >>> counts.shape, counts.sum(axis=1).tolist()
    ((3, 10), [10.0, 10.0, 10.0])
    """
    check_bootstrap(method, block_length)
    if n_bootstrap < 1:
        raise ConfigError(f"n_bootstrap must be a positive integer, got {n_bootstrap}")
    length = 1 if method == "iid" else int(min(block_length, n_origins))
    n_blocks = math.ceil(n_origins / length)
    if method == "moving":
        starts = rng.integers(0, n_origins - length + 1, size=(n_bootstrap, n_blocks))
    else:
        starts = rng.integers(0, n_origins, size=(n_bootstrap, n_blocks))
    draws = starts[:, :, None] + np.arange(length)[None, None, :]  # (B, blocks, length)
    draws = draws.reshape(n_bootstrap, -1)[:, :n_origins] % n_origins  # (B, N) origin indices
    rows = np.arange(n_bootstrap)[:, None] * n_origins
    counts = np.bincount((draws + rows).ravel(), minlength=n_bootstrap * n_origins)
    return counts.reshape(n_bootstrap, n_origins).astype(np.float64)  # (B, N)


def bootstrap_means(
    per_origin: np.ndarray,
    *,
    n_bootstrap: int,
    block_length: int | None = None,
    method: str = "moving",
    seed: int = 0,
    horizon: int | None = None,
) -> np.ndarray:
    """Resampled means over origins of ``per_origin`` ``(N, ...)``: shape ``(n_bootstrap, ...)``.

    Non-finite entries count as 0 (callers mark those columns as broken). The same draw of
    origins serves every column, so the joint dependence across steps is kept.

    Args:
        per_origin: ``(N, ...)`` one value per origin (and step, ...), origins in time order.
        n_bootstrap: resamples.
        block_length: origins per block; None: :func:`default_block_length` with ``horizon``
            (or the second dimension of ``per_origin`` when ``horizon`` is None).
        method: one of :data:`BOOTSTRAP_METHODS`.
        seed: seed of the resampling.
        horizon: ``H`` for the default block length.

    Returns:
        ``(n_bootstrap, ...)`` means.
    """
    per_origin = np.asarray(per_origin, dtype=np.float64)
    n_origins = len(per_origin)
    if horizon is None:
        horizon = per_origin.shape[1] if per_origin.ndim > 1 else 1
    if block_length is None:
        block_length = default_block_length(n_origins, horizon)
    counts = resample_counts(
        n_origins,
        n_bootstrap=n_bootstrap,
        block_length=block_length,
        method=method,
        rng=np.random.default_rng(seed),
    )
    flat = per_origin.reshape(n_origins, -1)  # (N, K)
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.where(np.isfinite(flat), flat, 0.0)
        means = counts @ finite / n_origins  # (B, K)
    return means.reshape(n_bootstrap, *per_origin.shape[1:])
