"""Evaluation of a panel: every series on its own origins, then aggregates fair across scales.

Each series is evaluated exactly as a single series is (its own scaler, origins, training rows
for MASE's seasonal-naive scale), so baselines run per series on the very same origins. A
statsmodels baseline with ``n_jobs`` other than 1 fits and evaluates the series in that many
worker processes, one series a task (each worker single-threaded, the same numbers as one
process). The panel aggregate (``series == 'all'``) of a metric is, per step:

- for ``nd`` and ``nrmse_deepar``, the metric over every origin of every series pooled, as
  DeepAR reports them (series weigh by their magnitude);
- for every other metric, the mean over series of the per-series values: each series counts
  once, so scale-free metrics (``mase``, ``smape``, any metric with ``units: scaled``) are fair
  across series of different scales.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pandas as pd

from forecastab.evaluation.evaluate import INTERVAL_COLUMNS, TABLE_COLUMNS, Evaluation, evaluate
from forecastab.evaluation.metrics import MetricValues, get_metric

POOLED_METRICS = frozenset({"nd", "nrmse_deepar"})
"""Metrics whose panel aggregate pools every origin of every series (DeepAR's convention)."""

BASELINE_WARNING = "BaselineWarning: "
"""How a worker records a baseline's own warning (see ``run_captured``)."""

PANEL = "all"
"""The ``series`` value of the panel aggregate rows."""


def series_columns(columns: list[str]) -> list[str]:
    """A table's columns with ``series`` after ``dataset``.

    >>> series_columns(["dataset", "model", "value"])
    ['dataset', 'series', 'model', 'value']
    """
    return [columns[0], "series", *columns[1:]]


def evaluate_panel(forecaster: Any, data: Any, options: dict[str, Any]) -> Evaluation:
    """:func:`~forecastab.evaluation.evaluate` over every series of a panel data module.

    Returns:
        An :class:`Evaluation` whose ``table`` has a ``series`` column (the ids, and ``all``
        for the aggregate) when the data has ids, whose ``per_series`` holds each series'
        evaluation, and whose ``errors``/``predictions``/``targets`` concatenate the series.
        Data without ids (one series with covariates) gives that series' evaluation as is.
    """
    per_series = _evaluate_each_series(forecaster, data, options)
    if not data.has_ids:
        return next(iter(per_series.values()))
    evaluations = list(per_series.values())
    first = evaluations[0]
    aggregate = _aggregate(per_series)
    table = pd.concat(
        [e.table.assign(series=name) for name, e in per_series.items()] + [aggregate],
        ignore_index=True,
    )[series_columns(TABLE_COLUMNS)]
    intervals = pd.concat(
        [e.intervals.assign(series=name) for name, e in per_series.items()]
        + [_series_bootstrap(per_series, aggregate, options)],
        ignore_index=True,
    )[series_columns(INTERVAL_COLUMNS)]
    modes = first.modes
    diverged = tuple(m for m in modes if any(m in e.diverged_modes for e in evaluations))
    return Evaluation(
        table=table,
        intervals=intervals,
        errors={m: np.concatenate([e.errors[m] for e in evaluations]) for m in modes},
        predictions={m: np.concatenate([e.predictions[m] for e in evaluations]) for m in modes},
        targets=np.concatenate([e.targets for e in evaluations]),
        origins=np.concatenate([e.origins for e in evaluations]),
        diverged=bool(diverged),
        diverged_modes=diverged,
        units=first.units,
        labels=first.labels,
        skipped=first.skipped,
        index=None,
        target_columns=first.target_columns,
        per_series=per_series,
    )


def _evaluate_each_series(
    forecaster: Any, data: Any, options: dict[str, Any]
) -> dict[str, Evaluation]:
    """Every series' evaluation by id: in worker processes for a baseline with ``n_jobs > 1``."""
    names = list(data.series_ids)
    workers = _series_workers(forecaster, len(names))
    if workers == 1:
        return {name: _evaluate_series(forecaster, data.series_data(name), options) for name in names}
    from forecastab.baselines.base import BaselineWarning, run_tasks

    single = copy.deepcopy(forecaster)
    single.n_jobs, single.progress = 1, False  # one series a worker: no pools inside pools
    results = run_tasks(
        _evaluate_series,
        [(single, data.series_data(name), options) for name in names],
        n_jobs=workers,
        progress=getattr(forecaster, "progress", True),
        description=f"{forecaster.name} series",
    )
    per_series = {}
    for name, result in zip(names, results, strict=True):
        for message in dict.fromkeys(result.warnings):  # each distinct one once, in order
            if message.startswith(BASELINE_WARNING):  # what the baseline itself reports
                text = message.removeprefix(BASELINE_WARNING)
                warnings.warn(f"series '{name}': {text}", BaselineWarning, stacklevel=3)
        if result.error is None:
            per_series[name] = result.output
        else:  # rerun here so the real exception, with its type, reaches the caller
            per_series[name] = _evaluate_series(forecaster, data.series_data(name), options)
    return per_series


def _series_workers(forecaster: Any, n_series: int) -> int:
    """Worker processes for a panel's series: a baseline's ``n_jobs`` (-1: every core), else 1."""
    n_jobs = getattr(forecaster, "n_jobs", 1) if getattr(forecaster, "is_baseline", False) else 1
    if n_series < 2 or n_jobs == 1:
        return 1
    from forecastab.baselines.base import resolve_n_jobs

    return min(resolve_n_jobs(n_jobs), n_series)


def _evaluate_series(forecaster: Any, series: Any, options: dict[str, Any]) -> Evaluation:
    """One series' evaluation (a baseline fitted on its training rows first); also what a
    worker process runs."""
    return evaluate(_for_series(forecaster, series), series, **options)


def _for_series(forecaster: Any, series: Any) -> Any:
    """A baseline fitted on this series' training rows (a copy); a neural model as it is."""
    if not getattr(forecaster, "is_baseline", False):
        return forecaster
    fitted = copy.deepcopy(forecaster)
    fitted.fit(series)
    return fitted


def origin_steps(per_series: dict[str, Evaluation]) -> np.ndarray | None:
    """Each pooled origin's time in steps on the grid every series shares, or None.

    The grid is the union of the series' timestamps; None when a series' consecutive rows
    are not consecutive on it (same frequency, different phases) or a series has no index.
    """
    if any(e.index is None for e in per_series.values()):
        return None
    indexes = [pd.Index(e.index) for e in per_series.values()]
    grid = indexes[0].append(indexes[1:]).unique().sort_values()
    positions = [grid.get_indexer(index) for index in indexes]
    if not all((np.diff(position) == 1).all() for position in positions):
        return None
    return np.concatenate(
        [position[e.origins] for position, e in zip(positions, per_series.values(), strict=True)]
    ).astype(np.int64)


def origin_series(per_series: dict[str, Evaluation]) -> np.ndarray:
    """The id of each pooled origin, in the order the panel's arrays concatenate them."""
    counts = [len(e.origins) for e in per_series.values()]
    return np.repeat(np.array(list(per_series), dtype=str), counts)


def panel_layout(per_series: dict[str, Evaluation]) -> Any:
    """The :class:`~forecastab.evaluation.compare.PanelLayout` of a panel's pooled origins, or
    None when the series share no time grid."""
    from forecastab.evaluation.compare import PanelLayout

    steps = origin_steps(per_series)
    return None if steps is None else PanelLayout(origin_series(per_series), steps)


def _linear(values: Any) -> np.ndarray:
    """Per-origin contributions whose mean is the metric: a root metric linearized around its
    value (``v + (c - m) / 2v``, the delta method), a mean metric as it is."""
    contributions = np.asarray(values.per_origin, dtype=np.float64)  # (n, H)
    if not values.root:
        return contributions
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = contributions.mean(axis=0)  # (H,)
        value = np.sqrt(mean)
        slope = np.where(value > 0, 0.5 / value, 0.0)
    return value + slope * (contributions - mean)


def _series_bootstrap(
    per_series: dict[str, Evaluation], aggregate: pd.DataFrame, options: dict[str, Any]
) -> pd.DataFrame:
    """Bands of the aggregate rows whose value is the series mean; none for pooled metrics.

    Where the series share a time grid, a block bootstrap over time of the aggregate series
    of :func:`~forecastab.evaluation.compare.panel_series` (each time's deviations summed over
    the series, Driscoll-Kraay), so dependence within and across series is kept; otherwise,
    and for metrics chained over steps, the mean over series resampled i.i.d.
    """
    from forecastab.evaluation.block_bootstrap import band_label
    from forecastab.evaluation.compare import panel_series
    from forecastab.evaluation.uncertainty import metric_band

    n_bootstrap = int(options.get("n_bootstrap") or 0)
    if not n_bootstrap or len(per_series) < 2:
        return pd.DataFrame(columns=[*INTERVAL_COLUMNS, "series"])
    confidence = float(options.get("confidence", 0.95))
    method = options.get("bootstrap_method", "circular")
    layout = panel_layout(per_series)
    rng = np.random.default_rng(options.get("seed", 0))
    tables = pd.concat([e.table.assign(series=n) for n, e in per_series.items()])
    keys = ["mode", "target", "metric"]
    frames = []
    count = len(per_series)
    picks = rng.integers(count, size=(n_bootstrap, count))  # (R, S)
    tail = (1 - confidence) / 2
    label = f"{confidence:.0%} i.i.d. bootstrap over {count} series"
    for (mode, target, metric), rows in aggregate.groupby(keys, sort=False):
        if metric in POOLED_METRICS:
            continue
        found = [e.contributions.get((mode, target, metric)) for e in per_series.values()]
        if layout is not None and all(v is not None and not v.cumulative_product for v in found):
            series, stride = panel_series(np.concatenate([_linear(v) for v in found]), layout)
            band = metric_band(
                MetricValues(series),
                n_bootstrap=n_bootstrap,
                confidence=confidence,
                seed=options.get("seed", 0),
                method=method,
                block_length=options.get("block_length"),
                stride=stride,
                warn=False,
            )
            steps = np.arange(1, len(band.lower) + 1)
            bounds = pd.DataFrame({"step": steps, "lower": band.lower, "upper": band.upper})
            over_time = (
                band_label(method, band.block_length, confidence, over="time")
                + f", {count} series summed per time"
            )
            frames.append(rows.merge(bounds, on="step").assign(band=over_time))
            continue
        part = tables[(tables["mode"] == mode) & (tables["target"] == target)]
        matrix = part[part["metric"] == metric].pivot(
            index="series", columns="step", values="value"
        )
        values = matrix.to_numpy()  # (S, H)
        means = values[picks].mean(axis=1)  # (R, H)
        lower, upper = np.quantile(means, [tail, 1 - tail], axis=0)  # (H,) each
        steps = matrix.columns.to_numpy()
        bounds = pd.DataFrame({"step": steps, "lower": lower, "upper": upper})
        frames.append(rows.merge(bounds, on="step").assign(band=label))
    if not frames:
        return pd.DataFrame(columns=[*INTERVAL_COLUMNS, "series"])
    return pd.concat(frames, ignore_index=True)


def _aggregate(per_series: dict[str, Evaluation]) -> pd.DataFrame:
    """The ``series == 'all'`` rows: pooled for :data:`POOLED_METRICS`, else the series mean."""
    tables = pd.concat([e.table for e in per_series.values()], ignore_index=True)
    keys = ["dataset", "model", "strategy", "seed", "mode", "target", "metric", "step"]
    mean = tables.groupby(keys, sort=False, dropna=False)["value"].mean().reset_index()
    pooled = mean["metric"].isin(POOLED_METRICS)
    if pooled.any():
        evaluations = list(per_series.values())
        columns = list(evaluations[0].target_columns)
        for (mode, target, metric), rows in mean[pooled].groupby(["mode", "target", "metric"]):
            column = columns.index(target) if target in columns else 0
            part = slice(column, column + 1)
            predictions = np.concatenate([e.predictions[mode][..., part] for e in evaluations])
            targets = np.concatenate([e.targets[..., part] for e in evaluations])
            per_step = get_metric(metric)(predictions, targets).per_step  # (H,)
            mean.loc[rows.index, "value"] = per_step[rows["step"].to_numpy() - 1]
    return mean.assign(series=PANEL)
