"""Every chart an experiment folder supports, each in its own file.

``horizon_error.png`` is the main chart (RMSE when measured, else the first metric): small
multiples, one panel per model family (or per target column, or per dataset), where each
training strategy is one colour evaluated free-running, and only the teacher-forced model is also
drawn evaluated teacher-forced (its exposure gap); every other metric gets
``horizon_error_<metric>.png``. ``exposure_gap_<metric>.png`` draws the gap of every
model/strategy, and ``rollouts.png`` example forecasts of the trained runs against the truth.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecastab.errors import DataError
from forecastab.experiments.headline import teacher_forcing_strategies
from forecastab.files import file_component

BASELINE = "baseline"
MAIN_CHART = "horizon_error.png"


def default_metric(table: pd.DataFrame) -> str:
    """RMSE when the table has it, else its first metric."""
    metrics = list(dict.fromkeys(table["metric"]))
    return "rmse" if "rmse" in metrics else metrics[0]


def chart_name(kind: str, metric: str, default: str) -> str:
    """The file of a chart: the default metric's horizon chart keeps the contract's name.

    A metric name comes from ``results.csv``, so it is made one safe name component first
    (:func:`forecastab.files.file_component`): the chart always lands inside the folder.

    >>> chart_name("horizon_error", "rmse", "rmse"), chart_name("horizon_error", "mae", "rmse")
    ('horizon_error.png', 'horizon_error_mae.png')

    >>> chart_name("horizon_error", "/../../x", "rmse")
    'horizon_error_-..-..-x-f8e77bfe.png'
    """
    if kind == "horizon_error" and metric == default:
        return MAIN_CHART
    return f"{kind}_{file_component(metric)}.png"


def saved_config(out_dir: Path) -> dict[str, Any]:
    """The experiment's saved ``config.yaml`` (empty when absent; an unreadable one is a
    DataError, see :func:`forecastab.experiments.report.saved_config`)."""
    from forecastab.experiments.report import saved_config as read_saved_config

    return read_saved_config(out_dir)


def units_label(config: dict[str, Any], table: pd.DataFrame) -> str:
    """The error axis's units: the target's name in original units, or ``scaled``.

    >>> units_label({"evaluation": {"units": "original"}}, pd.DataFrame({"target": ["OT"]}))
    'OT, original units'
    """
    units = str((config.get("evaluation") or {}).get("units", "original"))
    targets = [str(t) for t in pd.unique(table["target"])] if "target" in table else []
    if units == "scaled":
        return "scaled"
    if len(targets) == 1 and targets[0] != "all":
        return f"{targets[0]}, original units"
    return "original"


def main_chart_rows(table: pd.DataFrame, tf_strategies: list[str]) -> pd.DataFrame:
    """Free-running rows of everything, teacher-forced rows of the teacher-forcing strategies.

    Keeps a chart of many strategies readable: one line per strategy, plus the dashed
    teacher-forced line that shows the exposure gap (every gap is in the exposure-gap chart).
    """
    if not tf_strategies:
        return table
    keep = (table["mode"] != "teacher_forced") | table["strategy"].isin(tf_strategies)
    return table[keep]


def draw_horizon_chart(
    table: pd.DataFrame,
    *,
    metric: str,
    units: str,
    tf_strategies: list[str],
    intervals: pd.DataFrame | None = None,
) -> Any:
    """The main chart's figure: panels per dataset, target column or model family; single-seed
    curves get the block-bootstrap bands of ``intervals`` when given. A panel's results (a
    ``series`` column) draw the aggregate curve with a band of per-series quantiles."""
    from forecastab.plotting import plot_grid, plot_horizon_error

    if "series" in table.columns:
        table, intervals = panel_curves(table)
    rows = main_chart_rows(table, tf_strategies)
    targets = [str(t) for t in pd.unique(rows["target"])] if "target" in rows else []
    models = rows.loc[rows["strategy"] != BASELINE, "model"].nunique()
    if rows["dataset"].nunique() > 1 and len(targets) <= 1:
        return plot_grid(rows, by="dataset", metric=metric, units_label=units, intervals=intervals)
    if len(targets) > 1:
        return plot_grid(rows, by="target", metric=metric, units_label="original", intervals=intervals)
    if models > 1:
        return plot_grid(rows, by="model", metric=metric, units_label=units, intervals=intervals)
    return plot_horizon_error(rows, metric=metric, units_label=units, intervals=intervals)


SERIES_BAND = (0.1, 0.9)
"""The quantiles over series of a panel chart's band."""


def panel_curves(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A panel's aggregate rows (``series == 'all'``) and, as ``intervals``, the 10%-90%
    quantiles of the per-series values at every step (the band drawn around the aggregate)."""
    keys = ["dataset", "model", "strategy", "seed", "mode", "target", "metric", "step"]
    aggregate = table[table["series"] == "all"].drop(columns="series")
    each = table[table["series"] != "all"]
    grouped = each.groupby(keys, sort=False)["value"]
    low, high = SERIES_BAND
    band = grouped.quantile(low).rename("lower").to_frame().join(
        grouped.quantile(high).rename("upper")
    ).reset_index()
    count = each["series"].nunique()
    label = f"{low:.0%}–{high:.0%} quantiles over {count} series"
    return aggregate.reset_index(drop=True), band.assign(value=np.nan, band=label)


def render_all(out_dir: Path, *, metric: str | None = None, rollouts: bool = True) -> list[Path]:
    """Draw every chart the experiment folder supports; return the files written.

    Args:
        out_dir: An experiment folder with ``results.csv``.
        metric: Only this metric's charts (others keep their files); every metric when None.
        rollouts: Also draw ``rollouts.png`` from the runs' checkpoints.

    Raises:
        DataError: no results, or an unknown metric.
    """
    from forecastab.experiments.report import RESULTS, read_results
    from forecastab.plotting import plot_exposure_gap, save_figure

    table = read_results(out_dir / RESULTS)
    if table.empty:
        raise DataError(f"'{out_dir / RESULTS}' has no rows to chart; no run has finished yet")
    metrics = list(dict.fromkeys(table["metric"]))
    if metric is not None and metric not in metrics:
        from forecastab.errors import unknown_name

        raise DataError(unknown_name("metric", metric, metrics))
    config = saved_config(out_dir)
    default = default_metric(table)
    tf = teacher_forcing_strategies(config, list(pd.unique(table["strategy"])))
    units = units_label(config, table)
    written = []
    for name in [metric] if metric else metrics:
        figure = draw_horizon_chart(table, metric=name, units=units, tf_strategies=tf)
        written.append(save_figure(figure, out_dir / chart_name("horizon_error", name, default)))
        if "series" in table.columns:
            continue  # a panel's exposure gap is read from its aggregate in summary.md
        both = table[table["strategy"] != BASELINE]
        if both["mode"].nunique() < 2 or table["dataset"].nunique() > 1:
            continue
        for target in [str(t) for t in pd.unique(table["target"])]:
            suffix = f"_{file_component(target)}" if table["target"].nunique() > 1 else ""
            try:
                figure = plot_exposure_gap(
                    table, metric=name, units_label=units if not suffix else "original",
                    target=target if suffix else None,
                )
            except DataError:
                continue  # no model/strategy evaluated in both modes
            gap_file = f"{chart_name('exposure_gap', name, default)[:-4]}{suffix}.png"
            written.append(save_figure(figure, out_dir / gap_file))
    if rollouts and metric is None:
        path = render_rollouts(out_dir, tf)
        if path is not None:
            written.append(path)
    return written


def render_rollouts(out_dir: Path, tf_strategies: list[str], *, n: int = 4) -> Path | None:
    """``rollouts.png``: each strategy of the first model forecasting 4 test origins, free-running.

    Uses the runs' checkpoints (``forecastab.load``) of the grid planned from the saved
    config (never parsing folder names) and the data it names; returns None (and draws nothing)
    when there is no checkpoint or the data cannot be read.
    """
    from forecastab.checkpoints import CHECKPOINT_FILE, load
    from forecastab.experiments.config import ExperimentConfig
    from forecastab.experiments.runner import build_datamodule, plan_grid
    from forecastab.plotting import plot_rollouts, save_figure

    config = saved_config(out_dir)
    if not config:
        return None
    try:
        experiment = ExperimentConfig.model_validate(config)
        horizon = experiment.data.horizons[0]
        cells = [
            cell
            for cell in plan_grid(experiment, out_dir)
            if cell.horizon == horizon
            and cell.seed == experiment.seeds[0]
            and (cell.run_dir / CHECKPOINT_FILE).is_file()
        ]
        if not cells:
            return None
        dm = build_datamodule(experiment, horizon, experiment.seeds[0])
    except Exception as error:  # noqa: BLE001 - a chart never fails the report
        warnings.warn(f"rollouts.png not drawn: {error}", stacklevel=2)
        return None
    first_model = cells[0].model
    chosen = [cell for cell in cells if cell.model == first_model]
    origins = dm.origins("test")
    picks = origins[np.linspace(0, len(origins) - 1, n).round().astype(int)]
    contexts, targets = dm.windows("test")
    rows = np.searchsorted(origins, picks)
    predictions = {}
    for cell in chosen:
        model = load(cell.run_dir)
        frame = model.predict_frame(dm, list(dm.index[picks]))
        values = frame["forecast"].to_numpy().reshape(len(picks), -1, dm.n_targets)  # (n, H, C)
        predictions[f"trained with {cell.strategy}"] = values
    if not predictions:
        return None
    raw_contexts = dm.scaler.inverse_transform(contexts[rows])  # (n, L, C)
    raw_targets = dm.scaler.inverse_transform(targets[rows])  # (n, H, C)
    times = dm.index[picks]
    if isinstance(times, pd.DatetimeIndex) and (times == times.normalize()).all():
        times = times.strftime("%Y" if (times.dayofyear == 1).all() else "%Y-%m-%d")
    figure = plot_rollouts(
        raw_contexts, raw_targets, predictions, n=n, origins=list(times),
        ylabel=dm.target_columns[0],
    )
    figure.suptitle(f"{first_model}: free-running forecasts from 4 test origins", fontsize="medium")
    return save_figure(figure, out_dir / "rollouts.png")
