"""Uncertainty of per-step metrics: block bootstrap over origins, spread over seeds.

The band of a metric at step ``h`` (:func:`metric_band`) resamples blocks of consecutive
origins (circular blocks by default, the same draw for every step that shares a block length).
Its block length is counted in origins and chosen per step from the data
(:func:`~forecastab.evaluation.block_bootstrap.automatic_block_lengths`: at least twice the
overlap span ``ceil(h / stride)``). The default interval is a **bootstrap-t** interval: the
metric's mean contribution plus or minus Student's ``t`` quantile with ``N / block - 1``
degrees of freedom times the bootstrap standard error, mapped through the metric (``sqrt`` for
RMSE). Plain percentile intervals of a block bootstrap under-cover when few blocks fit in the
origins (a long-run variance estimated from ``N / block`` blocks is noisy and biased low);
``experiments/benchmarks/calibration.py`` measures both. With fewer than
:data:`~forecastab.evaluation.block_bootstrap.MIN_BLOCKS` blocks in ``N`` origins the band is
NaN with a warning: no resampling of so few independent stretches gives a band that holds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from forecastab.errors import ConfigError, unknown_name
from forecastab.evaluation.block_bootstrap import (
    MIN_BLOCKS,
    block_lengths_from,
    bootstrap_means,
    check_bootstrap,
    dependence_ratio,
)
from forecastab.evaluation.metrics import MetricValues

SPREAD_KEYS = ["dataset", "model", "strategy", "mode", "step", "metric"]

INTERVALS = ("t", "percentile")
"""Band constructions: bootstrap-t (standard error and Student's t, the default) or percentile."""


@dataclass(frozen=True)
class Band:
    """A band per step and how it was made.

    Attributes:
        lower, upper: ``(H,)`` the band; NaN where it was refused or the values are broken.
        block_length: ``(H,)`` origins per block at each step.
        refused: ``(H,)`` True where ``N`` holds fewer than ``MIN_BLOCKS`` blocks.
        note: a sentence saying which steps were refused and why, or None.
    """

    lower: np.ndarray
    upper: np.ndarray
    block_length: np.ndarray
    refused: np.ndarray
    note: str | None = None


def metric_band(
    values: MetricValues,
    *,
    n_bootstrap: int,
    confidence: float = 0.95,
    seed: int = 0,
    method: str = "circular",
    block_length: int | None = None,
    stride: int = 1,
    steps: np.ndarray | None = None,
    interval: str = "t",
    warn: bool = True,
) -> Band:
    """Block-bootstrap band of a metric at each step, over origins.

    Args:
        values: per-origin contributions of one metric (:class:`MetricValues`), origins in
            time order.
        n_bootstrap: number of resamples (positive).
        confidence: coverage of the band, in ``(0, 1)``.
        seed: seed of the resampling.
        method: ``circular``, ``moving`` or ``iid``.
        block_length: origins per block at every step; None: automatic per step.
        stride: forecast steps between consecutive origins (the evaluation stride).
        steps: ``(H,)`` the forecast step of each column; None: ``1..H``.
        interval: ``t`` (bootstrap-t, the default) or ``percentile``.
        warn: warn when steps are refused.

    Returns:
        A :class:`Band`.

    Raises:
        ConfigError: ``n_bootstrap < 1``, ``confidence`` outside ``(0, 1)``, an unknown method
            or interval, or a block length below 1.
    """
    if n_bootstrap < 1:
        raise ConfigError(f"n_bootstrap must be a positive integer, got {n_bootstrap}")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must lie in (0, 1), got {confidence}")
    if interval not in INTERVALS:
        raise ConfigError(unknown_name("interval", interval, INTERVALS))
    check_bootstrap(method, block_length)
    per_origin = np.asarray(values.per_origin, dtype=np.float64)  # (N, H)
    n, horizon = per_origin.shape
    steps = np.arange(1, horizon + 1) if steps is None else np.asarray(steps, dtype=np.int64)
    politis_white, ratio = dependence_ratio(per_origin, steps, stride)  # (H,) each
    if method == "iid":
        lengths = np.ones(horizon, dtype=np.int64)
    elif block_length is not None:
        lengths = np.full(horizon, int(block_length), dtype=np.int64)
    else:
        lengths = block_lengths_from(politis_white, ratio, steps, stride)  # (H,)
    if values.cumulative_product:  # steps are chained: one draw for all of them
        lengths = np.full(horizon, int(lengths.max()), dtype=np.int64)
    refused = n < MIN_BLOCKS * lengths  # (H,)
    # the block variance is biased low by about q / block (dependence beyond the block) and
    # by block / N (the mean is estimated from the same origins, Kiefer-Vogelsang's fixed-b
    # bias of Bartlett weights): the standard error is divided by the square root of both
    fraction = lengths / n  # (H,)
    shrink = np.clip((1.0 - ratio / lengths) * (1.0 - fraction + fraction**2 / 3.0), 0.25, 1.0)
    if method == "iid":
        shrink = np.ones(horizon)
    lower, upper = np.full(horizon, np.nan), np.full(horizon, np.nan)
    alpha = (1.0 - confidence) / 2.0
    groups = [np.flatnonzero((lengths == length) & ~refused) for length in np.unique(lengths)]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for columns in groups:
            if len(columns) == 0:
                continue
            length = int(lengths[columns[0]])
            means = bootstrap_means(
                per_origin[:, columns] if not values.cumulative_product else per_origin,
                n_bootstrap=n_bootstrap,
                block_length=length,
                method=method,
                seed=seed,
            )  # (B, K)
            if values.cumulative_product:
                resampled = values.finalize(means)[:, columns]  # (B, K)
                centre = values.per_step[columns]
            else:
                resampled, centre = means, per_origin[:, columns].mean(axis=0)  # (B, K), (K,)
            if interval == "percentile":
                finalized = resampled if values.cumulative_product else values.finalize(resampled)
                low, high = np.quantile(finalized, [alpha, 1.0 - alpha], axis=0)
            else:
                quantile = stats.t.ppf(1.0 - alpha, df=max(n // length - 1, 1))
                low, high = _t_interval(
                    resampled, centre, quantile / np.sqrt(shrink[columns])
                )
                if not values.cumulative_product:
                    low, high = values.finalize(low), values.finalize(high)
            lower[columns], upper[columns] = low, high
    broken = ~np.all(np.isfinite(per_origin), axis=0)  # (H,)
    lower[broken], upper[broken] = np.nan, np.nan
    note = None
    if refused.any():
        note = (
            f"no band at step(s) {_ranges(steps[refused])}: {n} origins hold fewer than "
            f"{MIN_BLOCKS} blocks of {int(lengths[refused].min())}+ origins (windows overlap "
            f"for ceil(h / stride) origins at stride {stride}); evaluate more origins"
        )
        if warn:
            warnings.warn(note, RuntimeWarning, stacklevel=2)
    return Band(lower, upper, lengths, refused, note)


def _t_interval(
    resampled: np.ndarray, centre: np.ndarray, quantile: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``centre -+ quantile * standard error`` per column, on the log scale where it can be.

    Means of positive contributions (squared or absolute errors) are right-skewed when few
    blocks fit in the origins; the interval of their logarithm (standard error
    ``se / centre``, the delta method) is nearly symmetric, so its exponentiated ends cover
    better. Columns that hold a negative or zero resampled mean use the plain scale.
    """
    spread = resampled.std(axis=0, ddof=1)  # (K,) bootstrap standard error
    positive = (resampled > 0).all(axis=0) & (centre > 0)  # (K,)
    safe = np.where(positive, centre, 1.0)
    relative = quantile * spread / safe
    low = np.where(positive, safe * np.exp(-relative), centre - quantile * spread)
    high = np.where(positive, safe * np.exp(relative), centre + quantile * spread)
    return low, high


def _ranges(steps: np.ndarray) -> str:
    """Steps as compact ranges.

    >>> _ranges(np.array([1, 2, 3, 5]))
    '1-3, 5'
    """
    runs: list[list[int]] = []
    for step in (int(s) for s in steps):
        if runs and step == runs[-1][-1] + 1:
            runs[-1].append(step)
        else:
            runs.append([step])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs) or "none"


def bootstrap_interval(
    values: MetricValues,
    *,
    n_bootstrap: int,
    confidence: float = 0.95,
    seed: int = 0,
    method: str = "circular",
    block_length: int | None = None,
    stride: int = 1,
    interval: str = "t",
) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` of :func:`metric_band`, each of shape ``(H,)``.

    >>> from forecastab.evaluation.metrics import mae
    >>> values = mae(np.arange(40.0).reshape(40, 1, 1), np.zeros((40, 1, 1)))
    >>> lower, upper = bootstrap_interval(values, n_bootstrap=200, seed=0, block_length=2)
    >>> bool(lower[0] < 19.5 < upper[0])
    True
    """
    band = metric_band(
        values,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        seed=seed,
        method=method,
        block_length=block_length,
        stride=stride,
        interval=interval,
    )
    return band.lower, band.upper


def seed_spread(table: pd.DataFrame) -> pd.DataFrame:
    """Spread of each per-step metric over seeds.

    Args:
        table: a tidy results table (columns ``dataset, model, strategy, seed, mode, step,
            metric, value``), typically the concatenation of several runs' tables.

    Returns:
        One row per ``dataset, model, strategy, mode, [target,] step, metric`` with ``mean, std,
        min, max, n_seeds``; ``std`` is the sample standard deviation (NaN for one seed).

    >>> table = pd.DataFrame({"dataset": "d", "model": "gru", "strategy": "tf", "seed": [0, 1],
    ...                       "mode": "free_running", "step": 1, "metric": "mae",
    ...                       "value": [1.0, 3.0]})
    >>> seed_spread(table)[["mean", "std", "min", "max", "n_seeds"]].values.tolist()
    [[2.0, 1.4142135623730951, 1.0, 3.0, 2.0]]
    """
    missing = [c for c in [*SPREAD_KEYS, "seed", "value"] if c not in table.columns]
    if missing:
        raise ConfigError(f"seed_spread needs a tidy results table; missing columns {missing}")
    keys = [*SPREAD_KEYS[:4], "target", *SPREAD_KEYS[4:]] if "target" in table else SPREAD_KEYS
    grouped = table.groupby(keys, sort=False)["value"]
    spread = grouped.agg(["mean", "std", "min", "max"])
    spread["n_seeds"] = table.groupby(keys, sort=False)["seed"].nunique()
    return spread.reset_index()
