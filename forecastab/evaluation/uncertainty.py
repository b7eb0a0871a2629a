"""Uncertainty of per-step metrics: bootstrap over origins, spread over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecastab.errors import ConfigError
from forecastab.evaluation.metrics import MetricValues

SPREAD_KEYS = ["dataset", "model", "strategy", "mode", "step", "metric"]


def bootstrap_interval(
    values: MetricValues,
    *,
    n_bootstrap: int,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap confidence interval of a metric at each step, resampling origins.

    Each resample draws ``N`` origins with replacement (the same draw for every step, so the
    band respects the correlation between steps of one rollout) and recomputes the metric from
    the per-origin contributions. The draws are counted per origin and one matrix product
    averages every resample, without materialising ``n_bootstrap`` copies of the errors.

    Overlapping windows make neighbouring origins correlated, so the band is narrower than an
    interval that accounted for that dependence; read it as a lower bound on the uncertainty.

    Args:
        values: per-origin contributions of one metric (:class:`MetricValues`).
        n_bootstrap: number of resamples (positive).
        confidence: coverage of the interval, in ``(0, 1)``.
        seed: seed of the resampling.

    Returns:
        ``(lower, upper)``, each of shape ``(H,)``; NaN at steps whose contributions hold NaN.

    Raises:
        ConfigError: ``n_bootstrap < 1`` or ``confidence`` outside ``(0, 1)``.

    >>> from forecastab.evaluation.metrics import mae
    >>> values = mae(np.arange(10.0).reshape(10, 1, 1), np.zeros((10, 1, 1)))
    >>> lower, upper = bootstrap_interval(values, n_bootstrap=200, seed=0)
    >>> bool(lower[0] < 4.5 < upper[0])
    True
    """
    if n_bootstrap < 1:
        raise ConfigError(f"n_bootstrap must be a positive integer, got {n_bootstrap}")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must lie in (0, 1), got {confidence}")
    per_origin = values.per_origin  # (N, H)
    n_origins = len(per_origin)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_origins, size=(n_bootstrap, n_origins))  # (B, N) origin indices
    rows = np.arange(n_bootstrap)[:, None] * n_origins
    counts = np.bincount((draws + rows).ravel(), minlength=n_bootstrap * n_origins)
    counts = counts.reshape(n_bootstrap, n_origins).astype(np.float64)  # (B, N) times drawn
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.where(np.isfinite(per_origin), per_origin, 0.0)
        means = counts @ finite / n_origins  # (B, H)
        resampled = values.finalize(means)  # (B, H)
        alpha = (1.0 - confidence) / 2.0
        lower, upper = np.quantile(resampled, [alpha, 1.0 - alpha], axis=0)  # (H,) each
    broken = ~np.all(np.isfinite(per_origin), axis=0)  # (H,)
    lower[broken] = np.nan
    upper[broken] = np.nan
    return lower, upper


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
