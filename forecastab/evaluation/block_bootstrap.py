"""Block bootstrap over forecast origins.

Consecutive origins share target rows, so their errors are strongly correlated: resampling
origins one by one (the i.i.d. bootstrap) treats ``N`` correlated errors as ``N`` independent
ones and gives bands that are far too narrow. A block bootstrap resamples runs of
``block_length`` consecutive origins instead, which keeps the dependence within each block
(Kuensch 1989; Politis & Romano 1992 for the circular variant).

Methods (:data:`BOOTSTRAP_METHODS`):

- ``circular`` (the default): blocks start anywhere and wrap around the end, so every origin is
  drawn equally often and the resampled mean is centred on the sample mean;
- ``moving``: blocks start anywhere in ``[0, N - block_length]``;
- ``iid``: blocks of one origin, kept for comparison.

Block lengths are counted in **origins**, not time steps: with an evaluation ``stride`` (origins
every ``stride`` steps) the ``h``-step windows of two origins overlap when they are fewer than
``ceil(h / stride)`` origins apart. The default, :func:`automatic_block_lengths`, is chosen per
step from the data: the Politis-White (2004, corrected by Patton, Politis & White 2009)
automatic length of the ``arch`` package, at least three times that overlap span, and longer
where the values are persistent (see :func:`dependence_ratio`).
"""

from __future__ import annotations

import math

import numpy as np

from forecastab.errors import ConfigError, unknown_name

BOOTSTRAP_METHODS = ("circular", "moving", "iid")
"""Ways to resample origins: blocks that stay inside the series, wrap around, or single origins."""

METHOD_LABELS = {
    "moving": "moving-block bootstrap",
    "circular": "circular-block bootstrap",
    "iid": "i.i.d. bootstrap",
}
"""How a chart legend or a table names each method."""


OVERLAP_FACTOR = 3
"""The automatic block is at least this many times the overlap span ``ceil(h / stride)``."""

BLOCK_BIAS = 0.25
"""The automatic block keeps the bias of the block-bootstrap variance near this share."""

RHO_MARGIN = 5.0
"""Standard errors (``1 / sqrt(N)`` each) added to an autocorrelation before it sets a block."""


def overlap_span(step: int | np.ndarray, stride: int = 1) -> int | np.ndarray:
    """Origins whose ``step``-ahead windows share a target row with one origin's, itself included.

    ``ceil(step / stride)``: the errors at step ``h`` of origins that many apart or more share
    no target row. The Diebold-Mariano lag is this minus one.

    >>> overlap_span(24, 1), overlap_span(24, 24), overlap_span(720, 24), overlap_span(1, 24)
    (24, 1, 30, 1)
    """
    if isinstance(step, np.ndarray):
        return -(-step // stride)
    return -(-int(step) // int(stride))


def dependence_ratio(
    per_origin: np.ndarray, steps: np.ndarray | None = None, stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The Politis-White block and the ratio ``q = sum |k| gamma_k / sum gamma_k`` per column.

    A block of ``ell`` origins underestimates the long-run variance by about ``q / ell``. ``q``
    is the larger of two estimates: the one the Politis-White automatic circular-block length
    ``b_PW`` (``arch.bootstrap.optimal_block_length``) is made of, ``sqrt(b_PW^3 / (1.5 N))``,
    and the one of an AR(1), ``2 rho / (1 - rho^2)``, with ``rho`` the column's lag-1
    autocorrelation plus :data:`RHO_MARGIN` standard errors ``(1 - rho^2) / sqrt(N)``: a
    persistent series is often not recognised as one from a few dozen origins, and a band made
    as if it were not is far too narrow. For overlapping windows the AR(1) value is about twice
    the true ratio (conservative). Columns that are constant or hold non-finite values get
    ``(1, 0)``.

    Args:
        per_origin: ``(N, K)`` values per origin, origins in time order.
        steps: ``(K,)`` the forecast step of each column; None: ``1..K``.
        stride: forecast steps between consecutive origins.

    Returns:
        ``(b_PW, q)``, each ``(K,)``.
    """
    from arch.bootstrap import optimal_block_length

    values = np.asarray(per_origin, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]  # (N, 1)
    n, k = values.shape
    steps = np.arange(1, k + 1) if steps is None else np.asarray(steps, dtype=np.int64)
    usable = np.isfinite(values).all(axis=0) & (np.ptp(values, axis=0) > 0)  # (K,)
    block, ratio = np.ones(k), np.zeros(k)
    if usable.any() and n >= 9:
        estimate = optimal_block_length(values[:, usable])["circular"].to_numpy()
        estimate = np.where(np.isfinite(estimate), estimate, 1.0)
        rho = np.clip(_autocorrelation(values[:, usable], 1), 0.0, 0.99)  # (K',)
        rho = np.minimum(rho + RHO_MARGIN * (1.0 - rho**2) / np.sqrt(n), 0.99)
        block[usable] = estimate
        ratio[usable] = np.maximum(np.sqrt(estimate**3 / (1.5 * n)), 2.0 * rho / (1.0 - rho**2))
    return block, ratio


def automatic_block_lengths(
    per_origin: np.ndarray, steps: np.ndarray | None = None, stride: int = 1
) -> np.ndarray:
    """A block length per column of ``per_origin`` ``(N, K)``, in origins, chosen from the data.

    ``max(3 * ceil(h / stride), ceil(b_PW), ceil(q / BLOCK_BIAS))`` with ``b_PW`` and ``q``
    from :func:`dependence_ratio`: at least three times the overlap span, at least the Politis-White
    length, and long enough to keep the bias of the block variance below :data:`BLOCK_BIAS`
    (the band then corrects what is left, see :func:`~forecastab.evaluation.uncertainty.metric_band`).

    Args:
        per_origin: ``(N, K)`` values per origin, origins in time order.
        steps: ``(K,)`` the forecast step of each column; None: ``1..K``.
        stride: forecast steps between consecutive origins.

    Returns:
        ``(K,)`` block lengths (not capped at ``N``: a caller refuses a band when ``N`` holds
        fewer than :data:`MIN_BLOCKS` blocks).

    >>> rng = np.random.default_rng(0)
    >>> automatic_block_lengths(rng.normal(size=(500, 2)), np.array([1, 24])).tolist()
    [3, 72]
    """
    values = np.asarray(per_origin, dtype=np.float64)
    k = values.shape[1] if values.ndim == 2 else 1
    steps = np.arange(1, k + 1) if steps is None else np.asarray(steps, dtype=np.int64)
    return block_lengths_from(*dependence_ratio(values, steps, stride), steps, stride)


def block_lengths_from(
    politis_white: np.ndarray, ratio: np.ndarray, steps: np.ndarray, stride: int
) -> np.ndarray:
    """:func:`automatic_block_lengths` from :func:`dependence_ratio`'s ``(b_PW, q)``."""
    floor = OVERLAP_FACTOR * overlap_span(np.asarray(steps, dtype=np.int64), int(stride))
    automatic = np.ceil(np.maximum(politis_white, ratio / BLOCK_BIAS))  # (K,)
    return np.maximum(floor, automatic).astype(np.int64)  # (K,)


def _autocorrelation(values: np.ndarray, lag: int) -> np.ndarray:
    """The sample autocorrelation at ``lag`` of each column of ``(N, K)``: ``(K,)``."""
    centered = values - values.mean(axis=0)  # (N, K)
    products = (centered[lag:] * centered[: len(centered) - lag]).sum(axis=0)  # (K,)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(products / (centered * centered).sum(axis=0))


MIN_BLOCKS = 10
"""A band needs at least this many blocks in ``N`` origins; fewer gives NaN and a warning."""


def band_label(
    method: str,
    block_length: int | np.ndarray,
    confidence: float = 0.95,
    interval: str = "t",
    over: str = "origins",
) -> str:
    """How a chart legend and the intervals table name a band over origins.

    >>> band_label("circular", 24)
    '95% circular-block bootstrap t over origins (blocks of 24)'
    >>> band_label("circular", np.array([2, 4, 40]), interval="percentile")
    '95% circular-block bootstrap percentile over origins (blocks of 2-40, automatic)'
    >>> band_label("iid", 1, 0.9)
    '90% i.i.d. bootstrap t over origins'
    """
    text = f"{100 * confidence:g}% {METHOD_LABELS[method]} {interval} over {over}"
    if method == "iid":
        return text
    lengths = np.atleast_1d(np.asarray(block_length))
    low, high = int(lengths.min()), int(lengths.max())
    if lengths.size == 1:
        return f"{text} (blocks of {low})"
    return f"{text} (blocks of {low}-{high}, automatic)" if low != high else (
        f"{text} (blocks of {low}, automatic)"
    )


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
    method: str = "circular",
    seed: int = 0,
    steps: np.ndarray | None = None,
    stride: int = 1,
) -> np.ndarray:
    """Resampled means over origins of ``per_origin`` ``(N, ...)``: shape ``(n_bootstrap, ...)``.

    Non-finite entries count as 0 (callers mark those columns as broken). The same draw of
    origins serves every column, so the joint dependence across steps is kept.

    Args:
        per_origin: ``(N, ...)`` one value per origin (and step, ...), origins in time order.
        n_bootstrap: resamples.
        block_length: origins per block; None: the longest of
            :func:`automatic_block_lengths` over the columns.
        method: one of :data:`BOOTSTRAP_METHODS`.
        seed: seed of the resampling.
        steps: the forecast step of each column for the automatic length; None: ``1..K``.
        stride: forecast steps between consecutive origins.

    Returns:
        ``(n_bootstrap, ...)`` means.
    """
    per_origin = np.asarray(per_origin, dtype=np.float64)
    n_origins = len(per_origin)
    flat = per_origin.reshape(n_origins, -1)  # (N, K)
    if block_length is None:
        block_length = int(automatic_block_lengths(flat, steps, stride).max())
    counts = resample_counts(
        n_origins,
        n_bootstrap=n_bootstrap,
        block_length=block_length,
        method=method,
        rng=np.random.default_rng(seed),
    )
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.where(np.isfinite(flat), flat, 0.0)
        means = counts @ finite / n_origins  # (B, K)
    return means.reshape(n_bootstrap, *per_origin.shape[1:])
