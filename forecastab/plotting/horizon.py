"""Compounding-error charts from the tidy results table: error by forecast step, exposure gap.

Each learned model/strategy gets one colour; its free-running curve is solid and its
teacher-forced curve dashed in the same colour. Baselines are grey, each with its own line
style and marker. Bands show the spread over seeds, or a bootstrap interval over origins when
there is a single seed and an intervals table is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecastab.errors import DataError, unknown_name
from forecastab.plotting.curves import (
    BASELINE,
    TEACHER_FORCED,
    Curve,
    baseline_order,
    check_table,
    gap_curves,
    horizon_curves,
    metric_name,
    select,
    series_order,
    targets_of,
    units_suffix,
)
from forecastab.plotting.figure import (
    BASELINE_STYLES,
    COLUMN_WIDTH,
    GREYS,
    add_legend,
    legend_columns,
    new_axes,
    series_colours,
    small_multiples_axes,
    style_axes,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

STEP_LABEL = "forecast step (steps ahead)"
GROUPINGS = ("dataset", "model", "target")
FREE_RUNNING_LABEL = "evaluated free-running (fed its own predictions)"
TEACHER_FORCED_LABEL = "evaluated teacher-forced (fed the true values)"


class _Palette:
    """Colours, line styles and legend labels of the series, fixed across the panels of a grid."""

    def __init__(
        self,
        pairs: Sequence[tuple[str, str]],
        baselines: Sequence[str],
        *,
        by_strategy: bool = False,
    ) -> None:
        # by_strategy: one colour per strategy (panels of one model each); otherwise one per
        # model/strategy pair, named by whichever of the two varies.
        self.by_strategy = by_strategy
        models = {m for m, _ in pairs}
        strategies = {s for _, s in pairs}
        self.names: dict[Hashable, str] = {}
        for model, strategy in pairs:
            # "trained with": a strategy named free_running must not read as an evaluation mode
            if by_strategy or len(models) == 1:
                name = f"trained with {strategy}"
            elif len(strategies) == 1:
                name = model
            else:
                name = f"{model} trained with {strategy}"
            self.names.setdefault(self.key(model, strategy), name)
        self.colours = series_colours(list(self.names))
        self.baselines = {
            name: (GREYS[i % len(GREYS)], *BASELINE_STYLES[i % len(BASELINE_STYLES)])
            for i, name in enumerate(baselines)
        }

    def key(self, model: str, strategy: str) -> Hashable:
        """What one colour stands for: a strategy, or a model/strategy pair."""
        return strategy if self.by_strategy else (model, strategy)

    def style(self, curve: Curve) -> dict[str, Any]:
        """Keyword arguments of ``ax.plot`` for a curve."""
        if curve.is_baseline:
            colour, linestyle, marker = self.baselines[curve.model]
            every = max(1, len(curve.steps) // 6)
            return dict(
                color=colour, linestyle=linestyle, marker=marker, markersize=3, markevery=every
            )
        linestyle = "--" if curve.mode == TEACHER_FORCED else "-"
        return dict(color=self.colours[self.key(curve.model, curve.strategy)], linestyle=linestyle)

    def label(self, curve: Curve) -> str:
        """The legend name of a curve's model/strategy, without the mode."""
        if curve.is_baseline:
            return f"{curve.model} ({BASELINE})"
        return self.names[self.key(curve.model, curve.strategy)]


def _diverged_note(curves: Sequence[Curve]) -> str:
    """`` (diverged)`` or `` (1/3 seeds diverged)`` for the curves of one series, else ``""``."""
    worst = max(curves, key=lambda c: c.n_diverged)
    if not worst.diverged:
        return ""
    if worst.n_diverged == worst.n_seeds:
        return " (diverged)"
    return f" ({worst.n_diverged}/{worst.n_seeds} seeds diverged)"


def _draw(ax: Axes, curves: Sequence[Curve], palette: _Palette) -> None:
    """Lines, bands and divergence marks of the curves on one axes."""
    from matplotlib.ticker import MaxNLocator

    for curve in curves:
        style = palette.style(curve)
        forced = curve.mode == TEACHER_FORCED
        ax.plot(
            curve.steps,
            curve.center,
            # baselines thin and under the trained series: a naive sawtooth must not dominate
            linewidth=0.9 if curve.is_baseline else 1.6,
            alpha=0.8 if curve.is_baseline else 1.0,
            label=f"{palette.label(curve)} [{curve.mode}]",
            zorder=2 if curve.is_baseline else 3,
            **style,
        )
        if curve.lower is not None and curve.upper is not None:
            ax.fill_between(
                curve.steps,
                curve.lower,
                curve.upper,
                where=np.isfinite(curve.lower) & np.isfinite(curve.upper),
                color=style["color"],
                alpha=0.08 if forced or curve.is_baseline else 0.18,
                linewidth=0,
                zorder=1,
            )
        if curve.diverged_at is not None:
            # Mark where the first seed diverged: on the mean of the others if it goes on,
            # else at the last finite point before the line stops.
            finite = np.flatnonzero(np.isfinite(curve.center[: curve.diverged_at + 1]))
            if not finite.size:
                continue
            at = finite[-1]
            ax.plot(
                curve.steps[at],
                curve.center[at],
                marker="x",
                markersize=6,
                markeredgewidth=1.5,
                color=style["color"],
                linestyle="none",
                zorder=4,
            )
    locator = ax.xaxis.get_major_locator()
    if isinstance(locator, MaxNLocator):  # leave a caller's own tick locator alone
        locator.set_params(integer=True)


def _legend_entries(
    curves: Sequence[Curve], palette: _Palette, *, mode_key: bool
) -> tuple[list[Artist], list[str]]:
    """Proxy handles: one per series and baseline, then the mode key and the band key."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    groups: dict[str, list[Curve]] = {}
    for curve in curves:
        groups.setdefault(palette.label(curve), []).append(curve)
    handles: list[Artist] = []
    labels: list[str] = []
    for name, members in groups.items():
        style = palette.style(members[0])
        style.pop("markevery", None)
        if not members[0].is_baseline:
            style["linestyle"] = "-"  # the colour names the series; the mode key the style
        handles.append(Line2D([], [], linewidth=1.5, **style))
        labels.append(name + _diverged_note(members))
    if mode_key and any(c.mode == TEACHER_FORCED for c in curves):
        handles += [
            Line2D([], [], color="0.1", linewidth=1.5, linestyle="-"),
            Line2D([], [], color="0.1", linewidth=1.5, linestyle="--"),
        ]
        labels += [FREE_RUNNING_LABEL, TEACHER_FORCED_LABEL]
    for band_label in dict.fromkeys(c.band_label for c in curves if c.band_label):
        handles.append(Patch(facecolor="0.5", alpha=0.35, linewidth=0))
        labels.append(band_label)
    return handles, labels


def _two_groups(
    handles: Sequence[Artist], labels: Sequence[str], first: int
) -> tuple[list[Artist], list[str]]:
    """Entries padded so that a two-column legend (filled column by column) holds the first
    ``first`` entries in its left column and the rest in its right one."""
    from matplotlib.lines import Line2D

    rows = max(first, len(labels) - first)

    def padded(items: list, blank: Callable[[], Any]) -> list:
        return items + [blank() for _ in range(rows - len(items))]

    def invisible() -> Artist:
        return Line2D([], [], linestyle="none")

    return (
        padded(list(handles[:first]), invisible) + padded(list(handles[first:]), invisible),
        padded(list(labels[:first]), str) + padded(list(labels[first:]), str),
    )


def _set_error_limits(ax: Axes, curves: Sequence[Curve]) -> None:
    """Start the error axis at zero when every error is non-negative."""
    values = [c.center[np.isfinite(c.center)] for c in curves]
    finite = np.concatenate(values) if values else np.empty(0)
    if finite.size and finite.min() >= 0:
        ax.set_ylim(bottom=0)


def _single_panel(
    curves: list[Curve],
    rows: pd.DataFrame,
    *,
    ax: Axes | None,
    ylabel: str,
    title: str,
    mode_key: bool,
) -> tuple[Figure, Axes]:
    """One chart with its legend: the shared body of the horizon-error and gap charts."""
    palette = _Palette(series_order(rows), baseline_order(rows))
    handles, labels = _legend_entries(curves, palette, mode_key=mode_key)
    ncols = legend_columns(labels, COLUMN_WIDTH)
    height = 2.6 + 0.2 * math.ceil(len(labels) / ncols)
    fig, ax, owns_figure = new_axes(ax, height=height)
    _draw(ax, curves, palette)
    style_axes(ax, xlabel=STEP_LABEL, ylabel=ylabel, title=title)
    add_legend(fig, ax, handles, labels, owns_figure=owns_figure, ncols=ncols)
    return fig, ax


def plot_horizon_error(
    results: pd.DataFrame,
    *,
    metric: str = "rmse",
    dataset: str | None = None,
    intervals: pd.DataFrame | None = None,
    units_label: str | None = None,
    band: str = "range",
    target: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Error by forecast step: how forecast errors compound over the horizon.

    One colour per model/strategy: free running solid, teacher forced dashed; baselines grey.
    With several seeds the line is the mean over seeds and the band their spread; with one seed
    and ``intervals`` the band is the bootstrap interval over origins. A run whose values are
    NaN or infinite (diverged) is drawn where it is finite, marked with an ``x`` where it stops
    and named "(diverged)" in the legend.

    Args:
        results: Tidy results table with columns ``dataset, model, strategy, seed, mode,
            step, metric, value`` (``Evaluation.table`` or ``results.csv``).
        metric: Which metric to draw, e.g. ``"rmse"`` or ``"mae"``.
        dataset: Which dataset; may be None when the table holds only one.
        intervals: Optional bootstrap intervals over origins (``Evaluation.intervals``: the
            results columns plus ``lower`` and ``upper``).
        units_label: Units of the errors for the axis label: ``"original"``, ``"scaled"`` or
            any text such as ``"sunspot number"``; None leaves units out.
        band: Spread over seeds: ``"range"`` (min to max), ``"std"`` (mean ± 1 sd) or
            ``"none"``.
        target: Which target column, for tables with a ``target`` column of several.
        ax: Axes to draw on; a new figure one paper column wide when None.

    Returns:
        The figure holding the chart.

    Raises:
        DataError: For a malformed table, an unknown metric, dataset or band, or a table of
            several datasets without ``dataset`` (or several targets without ``target``).
    """
    rows, dataset = select(results, metric=metric, dataset=dataset, target=target)
    curves = horizon_curves(rows, band=band, intervals=intervals)
    name = metric_name(metric)
    fig, ax = _single_panel(
        curves,
        rows,
        ax=ax,
        ylabel=f"{name}{units_suffix(units_label)}",
        title=f"{dataset}{f' {target}' if target else ''}: {name} by forecast step",
        mode_key=True,
    )
    _set_error_limits(ax, curves)
    return fig


def plot_exposure_gap(
    results: pd.DataFrame,
    *,
    metric: str = "rmse",
    dataset: str | None = None,
    units_label: str | None = None,
    band: str = "range",
    target: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Exposure gap by forecast step: free-running minus teacher-forced error.

    A gap that grows with the step is exposure bias compounding; a gap near the zero line
    means the model does as well on its own predictions as on the truth.

    Args:
        results: Tidy results table holding both ``free_running`` and ``teacher_forced`` rows.
        metric: Which metric to take the gap of.
        dataset: Which dataset; may be None when the table holds only one.
        units_label: Units of the errors (see :func:`plot_horizon_error`).
        band: Spread over seeds of the per-seed gap: ``"range"``, ``"std"`` or ``"none"``.
        target: Which target column, for tables with a ``target`` column of several.
        ax: Axes to draw on; a new figure one paper column wide when None.

    Returns:
        The figure holding the chart.

    Raises:
        DataError: For a malformed table or when no model/strategy was evaluated in both modes.
    """
    rows, dataset = select(results, metric=metric, dataset=dataset, target=target)
    curves = gap_curves(rows, band=band)
    if not curves:
        raise DataError(
            f"no model/strategy of {dataset} has both free_running and teacher_forced rows; "
            "evaluate with modes=('free_running', 'teacher_forced')"
        )
    name = metric_name(metric)
    fig, ax = _single_panel(
        curves,
        rows,
        ax=ax,
        ylabel=f"{name} gap{units_suffix(units_label)}",
        title=f"{dataset}{f' {target}' if target else ''}: free running − teacher forced",
        mode_key=False,
    )
    ax.axhline(0.0, color="0.2", linewidth=0.8, zorder=1)
    return fig


def plot_grid(
    results: pd.DataFrame,
    *,
    by: str = "dataset",
    metric: str = "rmse",
    dataset: str | None = None,
    ncols: int = 3,
    intervals: pd.DataFrame | None = None,
    units_label: str | None = None,
    band: str = "range",
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Small multiples of :func:`plot_horizon_error`: one panel per dataset, model or target.

    Colours and line styles mean the same in every panel and one legend below the grid
    explains them. Panels by model hold that model's strategies plus the baselines; panels by
    target (the columns of a multi-target series, each in its own units) hold everything.

    Args:
        results: Tidy results table.
        by: ``"dataset"``, ``"model"`` or ``"target"``.
        metric: Which metric to draw.
        dataset: With ``by="model"`` or ``"target"``, which dataset (may be None when there is
            only one).
        ncols: Most panels per row; rows are balanced (4 panels with ``ncols=3`` make a
            2 x 2 grid). With a 2-D array of ``axes`` its shape decides.
        intervals: Optional bootstrap intervals over origins (see :func:`plot_horizon_error`).
        units_label: Units of the errors for the axis labels.
        band: Spread over seeds: ``"range"``, ``"std"`` or ``"none"``.
        axes: Axes to draw on, at least one per panel; a new figure when None.

    Returns:
        The figure holding the grid.

    Raises:
        DataError: For a malformed table, an unknown ``by``, metric or dataset, too few
            ``axes``, or ``ncols`` below 1.
    """
    if by not in GROUPINGS:
        raise DataError(unknown_name("grouping", by, GROUPINGS))
    if ncols < 1:
        raise DataError(f"ncols must be at least 1, got {ncols}")
    check_table(results, name="results")
    if by == "dataset":
        names = [str(d) for d in pd.unique(results["dataset"])]
        panels = [select(results, metric=metric, dataset=d)[0] for d in names]
        title = f"{metric_name(metric)} by forecast step"
        palette = _Palette(series_order(results), baseline_order(results))
    elif by == "target":
        rows, dataset = select(results, metric=metric, dataset=dataset, all_targets=True)
        names = targets_of(rows)
        if not names:
            raise DataError("results have no 'target' column; use by='dataset' or by='model'")
        panels = [rows[rows["target"] == t] for t in names]
        title = f"{dataset}: {metric_name(metric)} by forecast step, per target"
        palette = _Palette(series_order(rows), baseline_order(rows))
    else:
        rows, dataset = select(results, metric=metric, dataset=dataset)
        names = [m for m in dict.fromkeys(m for m, _ in series_order(rows))]
        if not names:
            raise DataError(f"results of {dataset} hold only baselines; use by='dataset'")
        panels = [rows[(rows["model"] == m) | (rows["strategy"] == BASELINE)] for m in names]
        title = f"{dataset}: {metric_name(metric)} by forecast step"
        palette = _Palette(series_order(rows), baseline_order(rows), by_strategy=True)
    curves = [horizon_curves(p, band=band, intervals=intervals) for p in panels]
    if axes is not None and np.ndim(np.asarray(axes, dtype=object)) == 2:
        ncols = np.shape(np.asarray(axes, dtype=object))[1]  # the caller's grid decides
    else:
        # As few rows as ncols allows, then as few columns as those rows need: 4 panels
        # with ncols=3 make a 2 x 2 grid rather than 3 + 1 with two empty slots.
        nrows = math.ceil(len(panels) / min(ncols, len(panels)))
        ncols = math.ceil(len(panels) / nrows)
    nrows = math.ceil(len(panels) / ncols)
    all_curves = [c for cs in curves for c in cs]
    handles, labels = _legend_entries(all_curves, palette, mode_key=True)
    width = 2.6 * ncols
    legend_ncols = legend_columns(labels, width)
    learned = len({palette.label(c) for c in all_curves if not c.is_baseline})
    if legend_ncols < 2 and 0 < learned < len(labels) and len(labels) > 4:
        # a long legend in two columns: the trained series, then baselines and the line key
        handles, labels = _two_groups(handles, labels, learned)
        legend_ncols = 2
        width = max(width, 2 * (0.062 * max(map(len, labels)) + 0.6))
    height = 2.1 * nrows + 0.35 + 0.2 * math.ceil(len(labels) / legend_ncols)
    fig, panel_axes = small_multiples_axes(
        len(panels), nrows=nrows, ncols=ncols, size=(width, height), axes=axes, chart="plot_grid"
    )
    ylabel = f"{metric_name(metric)}{units_suffix(units_label)}"
    for i, (ax, name, panel_curves) in enumerate(zip(panel_axes, names, curves)):
        _draw(ax, panel_curves, palette)
        first_column, bottom_row = i % ncols == 0, i + ncols >= len(panels)
        style_axes(
            ax,
            xlabel=STEP_LABEL if bottom_row else "",
            ylabel=ylabel if first_column else "",
            title=name,
        )
        _set_error_limits(ax, panel_curves)
    if axes is None:
        fig.suptitle(title, fontsize="medium")
    anchor = panel_axes[min(ncols, len(panels)) - 1]
    add_legend(fig, anchor, handles, labels, owns_figure=axes is None, ncols=legend_ncols)
    return fig
