"""From the tidy results table to the curves a chart draws: one per model/strategy and mode.

No matplotlib here: a :class:`Curve` holds the centre line over forecast steps (the mean over
seeds), an optional band (spread over seeds, or a bootstrap interval over origins) and how many
seeds diverged. Non-finite values are a diverged run, never an error: they are left out of the
mean and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecastab.errors import DataError, unknown_name

COLUMNS = ("dataset", "model", "strategy", "seed", "mode", "step", "metric", "value")
KEY = COLUMNS[:-1]
BASELINE = "baseline"
FREE_RUNNING = "free_running"
TEACHER_FORCED = "teacher_forced"
EXPOSURE_GAP = "exposure_gap"
BANDS = ("range", "std", "none")

METRIC_NAMES = {"mae": "MAE", "rmse": "RMSE", "mse": "MSE", "mape": "MAPE", "smape": "sMAPE"}


@dataclass(frozen=True)
class Curve:
    """One line of a chart: a model/strategy in one mode, over forecast steps.

    Attributes:
        model: Model name (a baseline's name for baselines).
        strategy: Training strategy, ``"baseline"`` for baselines.
        mode: ``"free_running"``, ``"teacher_forced"`` or ``"exposure_gap"``.
        steps: Forecast steps, shape ``(H,)``.
        center: Mean over the seeds with a finite value, ``(H,)``; NaN where there is none.
        lower: Lower edge of the band ``(H,)``, or None without a band.
        upper: Upper edge of the band ``(H,)``, or None without a band.
        n_seeds: Number of seeds (runs) behind the curve.
        n_diverged: Seeds with a non-finite value at some step.
        band_label: What the band shows (for the legend), or None without a band.
        diverged_at: Index into ``steps`` of the first step where some seed is non-finite,
            or None when every seed stayed finite.
    """

    model: str
    strategy: str
    mode: str
    steps: np.ndarray
    center: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    n_seeds: int
    n_diverged: int
    band_label: str | None = None
    diverged_at: int | None = None

    @property
    def is_baseline(self) -> bool:
        """Whether the curve is a classical baseline."""
        return self.strategy == BASELINE

    @property
    def diverged(self) -> bool:
        """Whether any seed behind the curve produced a non-finite value."""
        return self.n_diverged > 0


def metric_name(metric: str) -> str:
    """How a metric is written on an axis.

    >>> metric_name("rmse"), metric_name("crps")
    ('RMSE', 'CRPS')
    """
    return METRIC_NAMES.get(metric.lower(), metric.upper())


def units_suffix(units_label: str | None) -> str:
    """The units part of an axis label: ``"original"`` and ``"scaled"`` are spelled out.

    >>> units_suffix("original"), units_suffix("scaled"), units_suffix("°C"), units_suffix(None)
    (' (original units)', ' (scaled)', ' (°C)', '')
    """
    if not units_label:
        return ""
    spelled = {"original": "original units", "scaled": "scaled"}.get(units_label, units_label)
    return f" ({spelled})"


def check_table(table: pd.DataFrame, *, name: str, extra: tuple[str, ...] = ()) -> None:
    """Raise DataError unless ``table`` is a non-empty tidy results table.

    Raises:
        DataError: When a column is missing, the table is empty or a row is duplicated.
    """
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"{name} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [column for column in (*COLUMNS, *extra) if column not in table.columns]
    if missing:
        raise DataError(
            f"{name} table lacks column(s) {', '.join(missing)}; "
            f"expected columns {', '.join((*COLUMNS, *extra))}"
        )
    if table.empty:
        raise DataError(f"{name} table is empty; evaluate at least one forecaster first")
    key = [*KEY, "target"] if "target" in table.columns else list(KEY)
    duplicated = table.duplicated(subset=key)
    if duplicated.any():
        row = table.loc[duplicated].iloc[0]
        where = ", ".join(f"{k}={row[k]}" for k in key)
        raise DataError(f"{name} table has more than one row for {where}; keep one row per key")


def targets_of(table: pd.DataFrame) -> list[str]:
    """The target columns a results table holds, in order (``[]`` without a target column)."""
    return [str(t) for t in pd.unique(table["target"])] if "target" in table.columns else []


def select(
    results: pd.DataFrame,
    *,
    metric: str,
    dataset: str | None,
    name: str = "results",
    target: str | None = None,
    all_targets: bool = False,
) -> tuple[pd.DataFrame, str]:
    """The rows of one dataset and one metric, and the dataset's name.

    Raises:
        DataError: For an unknown metric or dataset, or when ``dataset`` is None and the table
            holds several datasets.
    """
    check_table(results, name=name)
    metrics = [str(m) for m in pd.unique(results["metric"])]
    if metric not in metrics:
        raise DataError(unknown_name("metric", metric, metrics))
    datasets = [str(d) for d in pd.unique(results["dataset"])]
    if dataset is None:
        if len(datasets) > 1:
            raise DataError(
                f"{name} table holds {len(datasets)} datasets ({', '.join(datasets)}); "
                "pass dataset=... or draw them all with plot_grid(results, by='dataset')"
            )
        dataset = datasets[0]
    elif dataset not in datasets:
        raise DataError(unknown_name("dataset", dataset, datasets))
    rows = results[(results["metric"] == metric) & (results["dataset"] == dataset)]
    targets = targets_of(rows)
    if target is not None:
        if target not in targets:
            raise DataError(unknown_name("target", target, targets))
        rows = rows[rows["target"] == target]
    elif len(targets) > 1 and not all_targets:
        raise DataError(
            f"{name} of {dataset} hold {len(targets)} targets ({', '.join(targets)}) in their own "
            "units; pass target=... or draw them all with plot_grid(results, by='target')"
        )
    return rows, dataset


def series_order(table: pd.DataFrame) -> list[tuple[str, str]]:
    """Model/strategy pairs that are not baselines, in the order they first appear."""
    learned = table[table["strategy"] != BASELINE]
    pairs = learned[["model", "strategy"]].drop_duplicates()
    return [(str(m), str(s)) for m, s in pairs.itertuples(index=False)]


def baseline_order(table: pd.DataFrame) -> list[str]:
    """Baseline names in the order they first appear."""
    return [str(m) for m in pd.unique(table.loc[table["strategy"] == BASELINE, "model"])]


def seed_matrix(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeds, steps and values of one model/strategy/mode as a ``(S, H)`` matrix."""
    matrix = rows.pivot(index="seed", columns="step", values="value").sort_index(axis=1)
    values = matrix.to_numpy(dtype=np.float64)  # (S, H)
    return matrix.index.to_numpy(), matrix.columns.to_numpy(), values


def summarize(values: np.ndarray, band: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and band edges over seeds of a ``(S, H)`` matrix, ignoring non-finite entries.

    ``band`` is ``"range"`` (min to max) or ``"std"`` (mean plus and minus one standard
    deviation). Steps where no seed is finite are NaN.

    >>> center, lower, upper = summarize(np.array([[1.0, np.inf], [3.0, 2.0]]), "range")
    >>> center.tolist(), lower.tolist(), upper.tolist()
    ([2.0, 2.0], [1.0, 2.0], [3.0, 2.0])
    """
    finite = np.isfinite(values)  # (S, H)
    count = finite.sum(axis=0)  # (H,)
    filled = np.where(finite, values, 0.0)  # (S, H)
    with np.errstate(invalid="ignore", divide="ignore"):
        center = np.where(count > 0, filled.sum(axis=0) / count, np.nan)  # (H,)
        if band == "std":
            squares = np.where(finite, (values - center) ** 2, 0.0)  # (S, H)
            spread = np.sqrt(squares.sum(axis=0) / np.maximum(count - 1, 1))  # (H,)
            spread = np.where(count > 0, spread, np.nan)
            return center, center - spread, center + spread
    big = np.where(finite, values, -np.inf).max(axis=0)  # (H,)
    small = np.where(finite, values, np.inf).min(axis=0)  # (H,)
    lower = np.where(count > 0, small, np.nan)
    upper = np.where(count > 0, big, np.nan)
    return center, lower, upper


def first_nonfinite(values: np.ndarray) -> int | None:
    """Index of the first step where any seed of a ``(S, H)`` matrix is NaN or infinite.

    >>> first_nonfinite(np.array([[1.0, 2.0, np.nan], [1.0, np.inf, 3.0]]))
    1
    """
    bad = np.flatnonzero((~np.isfinite(values)).any(axis=0))  # steps with a non-finite seed
    return int(bad[0]) if bad.size else None


def seed_band_label(band: str, n_seeds: int) -> str:
    """Legend text for a band over seeds.

    >>> seed_band_label("range", 3)
    'min–max over 3 seeds'
    """
    if band == "std":
        return f"mean ± 1 sd over {n_seeds} seeds"
    return f"min–max over {n_seeds} seeds"


def _interval_band(
    intervals: pd.DataFrame, rows: pd.DataFrame, steps: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Bootstrap bounds over origins matching one single-seed curve, or None if absent."""
    first = rows.iloc[0]
    match = intervals
    keys = ["dataset", "model", "strategy", "seed", "mode", "metric"]
    for key in [*keys, "target"] if "target" in rows and "target" in intervals else keys:
        match = match[match[key] == first[key]]
    if match.empty:
        return None
    bounds = match.set_index("step").reindex(steps)
    lower = bounds["lower"].to_numpy(dtype=np.float64)  # (H,)
    upper = bounds["upper"].to_numpy(dtype=np.float64)  # (H,)
    finite = np.isfinite(lower) & np.isfinite(upper)
    return np.where(finite, lower, np.nan), np.where(finite, upper, np.nan)


def horizon_curves(
    rows: pd.DataFrame, *, band: str = "range", intervals: pd.DataFrame | None = None
) -> list[Curve]:
    """Curves of one dataset and metric: each model/strategy per mode, then the baselines.

    Args:
        rows: Results of one dataset and one metric (see :func:`select`).
        band: Spread over seeds, ``"range"``, ``"std"`` or ``"none"``.
        intervals: Optional table of bootstrap intervals over origins (results columns plus
            ``lower`` and ``upper``); used for curves with a single seed.

    Returns:
        Learned model/strategy curves in table order (free running before teacher forced),
        then the baselines' free-running curves.
    """
    if band not in BANDS:
        raise DataError(unknown_name("band", band, BANDS))
    if intervals is not None:
        check_table(intervals, name="intervals", extra=("lower", "upper"))
    curves = []
    pairs = [*series_order(rows), *((b, BASELINE) for b in baseline_order(rows))]
    for model, strategy in pairs:
        modes = (FREE_RUNNING,) if strategy == BASELINE else (FREE_RUNNING, TEACHER_FORCED)
        for mode in modes:
            sub = rows[
                (rows["model"] == model) & (rows["strategy"] == strategy) & (rows["mode"] == mode)
            ]
            if sub.empty:
                continue
            _, steps, values = seed_matrix(sub)
            center, lower, upper = summarize(values, band)
            diverged = int((~np.isfinite(values)).any(axis=1).sum())
            bounds: tuple[np.ndarray, np.ndarray] | None = None
            band_label = None
            if len(values) > 1 and band != "none":
                bounds, band_label = (lower, upper), seed_band_label(band, len(values))
            elif len(values) == 1 and intervals is not None:
                bounds = _interval_band(intervals, sub, steps)
                band_label = "bootstrap CI over origins" if bounds else None
            curves.append(
                Curve(
                    model=model,
                    strategy=strategy,
                    mode=mode,
                    steps=steps,
                    center=center,
                    lower=bounds[0] if bounds else None,
                    upper=bounds[1] if bounds else None,
                    n_seeds=len(values),
                    n_diverged=diverged,
                    band_label=band_label,
                    diverged_at=first_nonfinite(values),
                )
            )
    return curves


def gap_curves(rows: pd.DataFrame, *, band: str = "range") -> list[Curve]:
    """Exposure gap (free-running minus teacher-forced error) per model/strategy and step.

    The gap is taken seed by seed, on the seeds and steps both modes have, and then averaged.
    Model/strategies without a teacher-forced evaluation (baselines, the direct control) are
    left out.
    """
    if band not in BANDS:
        raise DataError(unknown_name("band", band, BANDS))
    curves = []
    for model, strategy in series_order(rows):
        sub = rows[(rows["model"] == model) & (rows["strategy"] == strategy)]
        free = sub[sub["mode"] == FREE_RUNNING].pivot(index="seed", columns="step", values="value")
        forced = sub[sub["mode"] == TEACHER_FORCED].pivot(
            index="seed", columns="step", values="value"
        )
        free, forced = free.align(forced, join="inner")
        if free.empty:
            continue
        free = free.sort_index(axis=1)
        gap = free.to_numpy(dtype=np.float64) - forced[free.columns].to_numpy(dtype=np.float64)
        center, lower, upper = summarize(gap, band)  # gap: (S, H)
        spread = len(gap) > 1 and band != "none"
        curves.append(
            Curve(
                model=model,
                strategy=strategy,
                mode=EXPOSURE_GAP,
                steps=free.columns.to_numpy(),
                center=center,
                lower=lower if spread else None,
                upper=upper if spread else None,
                n_seeds=len(gap),
                n_diverged=int((~np.isfinite(gap)).any(axis=1).sum()),
                band_label=seed_band_label(band, len(gap)) if spread else None,
                diverged_at=first_nonfinite(gap),
            )
        )
    return curves
