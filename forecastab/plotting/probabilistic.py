"""Charts of predictive distributions: fan charts of sampled paths, calibration by step."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecastab.errors import DataError
from forecastab.plotting.figure import (
    add_legend,
    chosen_origins,
    legend_columns,
    origin_panels,
    series_colours,
    small_multiples_axes,
    style_axes,
    style_origin_panel,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

CONTEXT_COLOUR = "C0"
TRUTH_COLOUR = "0.15"
FAN_COLOUR = "C3"
NOMINAL = {"coverage_50": 0.5, "coverage_90": 0.9}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
"""One marker per series of the calibration chart, so that identical lines stay visible."""


def _series_style(i: int) -> dict[str, Any]:
    """Marker, size and width of the i-th series: earlier ones wider, later ones drawn on top,
    so a line identical to another shows as an outlined one instead of disappearing."""
    return {
        "marker": MARKERS[i % len(MARKERS)],
        "markersize": max(3.0, 7.0 - 1.3 * i),
        "linewidth": max(1.0, 2.8 - 0.6 * i),
        "zorder": 2 + 0.1 * i,
    }


def _column(values: ArrayLike, what: str, target: int, ndim: int) -> np.ndarray:
    """One target column of values with or without a trailing column axis."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == ndim + 1:
        if not 0 <= target < array.shape[-1]:
            raise DataError(f"target={target} but {what} has {array.shape[-1]} target columns")
        array = array[..., target]
    if array.ndim != ndim:
        raise DataError(f"{what} must have {ndim} axes (plus an optional column axis)")
    return array


def plot_fan_chart(
    contexts: ArrayLike,
    targets: ArrayLike,
    samples: ArrayLike,
    *,
    n: int = 4,
    levels: Sequence[float] = (0.5, 0.9),
    origins: Sequence[Any] | None = None,
    target: int = 0,
    ncols: int = 2,
    ylabel: str = "value",
    axes: Sequence[Axes] | Axes | None = None,
    times: Sequence[pd.Index] | None = None,
) -> Figure:
    """Central quantile bands of sampled paths, the median path, context and truth per origin.

    Args:
        contexts: ``(N, L[, C])`` context windows.
        targets: ``(N, H[, C])`` true continuations.
        samples: ``(N, S, H[, C])`` sampled paths.
        n: origins to show, spread evenly over the N given.
        levels: central interval probabilities drawn as nested bands (widest lightest).
        origins: names of the N origins for the panel titles.
        target: the target column to draw.
        ncols: panels per row.
        ylabel: label of the value axis.
        axes: axes to draw on (one per panel); a new figure when None.
        times: per origin, the ``L + H`` times of its context and forecast rows: the x axis
            then shows them (dates for a time-indexed series) instead of steps from the origin.

    Returns:
        The figure.

    Raises:
        DataError: mismatched shapes, ``n`` or ``ncols`` below 1, or a level outside (0, 1).
    """
    if n < 1 or ncols < 1:
        raise DataError(f"n and ncols must be at least 1, got n={n}, ncols={ncols}")
    if not levels or any(not 0.0 < level < 1.0 for level in levels):
        raise DataError(f"levels must lie in (0, 1), got {list(levels)}")
    context = _column(contexts, "contexts", target, 2)  # (N, L)
    truth = _column(targets, "targets", target, 2)  # (N, H)
    paths = _column(samples, "samples", target, 3)  # (N, S, H)
    count, horizon = truth.shape
    if context.shape[0] != count or paths.shape[0] != count or paths.shape[2] != horizon:
        raise DataError(
            f"contexts {context.shape}, targets {truth.shape} and samples {paths.shape} must "
            "share origins (N) and horizon (H)"
        )
    chosen = chosen_origins(count, n)  # (n,)
    ordered = sorted(levels, reverse=True)
    labels = ["context", "truth", "median", *(f"{round(100 * lv)}% band" for lv in ordered)]
    fig, panel_axes, ncols, legend_ncols = origin_panels(
        len(chosen), ncols=ncols, labels=labels, axes=axes, chart="plot_fan_chart"
    )
    if times is not None and (
        len(times) != count or any(len(t) != context.shape[1] + horizon for t in times)
    ):
        raise DataError(f"times must hold L + H = {context.shape[1] + horizon} times per origin")
    handles: list[Artist] = []
    for i, (ax, row) in enumerate(zip(panel_axes, chosen)):
        if times is None:
            past = np.arange(-context.shape[1] + 1, 1)  # (L,)
            ahead = np.arange(1, horizon + 1)  # (H,)
            at, xlabel = 0, "steps from origin"
        else:
            axis = pd.Index(times[row])
            past, ahead = axis[: context.shape[1]], axis[context.shape[1] :]
            at, xlabel = past[-1], "time"
        handles = [
            ax.plot(past, context[row], color=CONTEXT_COLOUR, linewidth=1.3)[0],
            ax.plot(
                [at, *ahead], np.r_[context[row, -1], truth[row]], color=TRUTH_COLOUR,
                linewidth=1.3,
            )[0],
        ]  # fmt: skip
        median = np.nanquantile(paths[row], 0.5, axis=0)  # (H,)
        handles.append(ax.plot(ahead, median, color=FAN_COLOUR, linewidth=1.4, linestyle="--")[0])
        for k, level in enumerate(ordered):
            lower, upper = np.nanquantile(paths[row], [(1 - level) / 2, (1 + level) / 2], axis=0)
            alpha = 0.18 + 0.2 * k
            handles.append(ax.fill_between(ahead, lower, upper, color=FAN_COLOUR, alpha=alpha,
                                           linewidth=0))  # fmt: skip
        style_origin_panel(
            ax, index=i, ncols=ncols, count=len(chosen), ylabel=ylabel,
            origin=origins[row] if origins is not None else row, at=at, xlabel=xlabel,
        )  # fmt: skip
        if times is not None and isinstance(past, pd.DatetimeIndex):
            import matplotlib.dates as mdates

            locator = mdates.AutoDateLocator(maxticks=5)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    add_legend(
        fig, panel_axes[ncols - 1], handles, labels, owns_figure=axes is None, ncols=legend_ncols
    )
    return fig


def plot_calibration(
    table: pd.DataFrame,
    *,
    dataset: str | None = None,
    mode: str = "free_running",
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """CRPS, interval coverage (with the nominal levels) and path coverage against the step.

    One line per ``model/strategy`` (mean over seeds). Panels appear for what the table holds:
    ``crps``; ``coverage_90`` / ``coverage_50`` with dotted nominal lines; ``path_coverage_90``
    (solid) against ``coverage_product_90`` (dashed), the compounding view.

    Args:
        table: a tidy results table (``results.csv``).
        dataset: the dataset to draw; the first one when None.
        mode: the evaluation mode to draw.
        axes: one Axes per panel; a new figure when None.

    Returns:
        The figure.

    Raises:
        DataError: the table holds no probabilistic metric for that dataset and mode.
    """
    if dataset is None and not table.empty:
        dataset = str(table["dataset"].iloc[0])
    rows = table[(table["dataset"] == dataset) & (table["mode"] == mode)]
    panels = [
        names
        for names in (["crps"], ["coverage_90", "coverage_50"], ["path_coverage_90"])
        if rows["metric"].isin(names).any()
    ]
    if not panels:
        raise DataError(
            f"no probabilistic metric (crps, coverage_*) for dataset {dataset!r}, mode {mode!r}"
        )
    rows = rows.assign(label=rows["model"].astype(str) + "/" + rows["strategy"].astype(str))
    rows.loc[rows["strategy"] == "baseline", "label"] = rows["model"].astype(str)
    rows = rows[rows["metric"].isin([*NOMINAL, "crps", "path_coverage_90", "coverage_product_90"])]
    mean = rows.groupby(["label", "metric", "step"], sort=False)["value"].mean().reset_index()
    keys = list(dict.fromkeys(mean["label"]))  # only forecasters with a predictive distribution
    colours = series_colours(keys)
    width = 3.0 * len(panels)
    height = 2.6 + 0.2 * math.ceil(len(keys) / max(1, legend_columns(keys, width)))
    fig, panel_axes = small_multiples_axes(
        len(panels), nrows=1, ncols=len(panels), size=(width, height), axes=axes,
        chart="plot_calibration",
    )  # fmt: skip
    from matplotlib.ticker import MaxNLocator

    for ax, names in zip(panel_axes, panels):
        for i, label in enumerate(keys):
            style = _series_style(i)
            for k, name in enumerate(names):
                line = mean[(mean["label"] == label) & (mean["metric"] == name)]
                if line.empty:
                    continue
                ax.plot(line["step"], line["value"], color=colours[label],
                        linestyle=("-", "--")[k], **style)  # fmt: skip
            if names[0] == "path_coverage_90":
                product = mean[(mean["label"] == label) & (mean["metric"] == "coverage_product_90")]
                if not product.empty:  # under the path coverage, wide and light: both show
                    ax.plot(product["step"], product["value"], color=colours[label],
                            linewidth=style["linewidth"] + 2.5, alpha=0.35, linestyle="--",
                            zorder=1.5)  # fmt: skip
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
        for name in names:
            if name in NOMINAL and rows["metric"].eq(name).any():
                ax.axhline(NOMINAL[name], color="0.3", linewidth=0.9, linestyle=":")
        titles = {
            "crps": ("CRPS", "CRPS (lower is better)"),
            "coverage_90": ("coverage", "coverage: 90% solid, 50% dashed\n(dotted: nominal)"),
            "path_coverage_90": ("share of origins", "whole path in 90% band\n(dashed: product)"),
        }
        ylabel, title = titles[names[0]]
        style_axes(ax, xlabel="forecast step", ylabel=ylabel, title=title)
        ax.title.set_fontsize("small")
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=colours[k], **{**_series_style(i), "linewidth": 1.4})
        for i, k in enumerate(keys)
    ]
    add_legend(
        fig, panel_axes[-1], handles, keys, owns_figure=axes is None,
        ncols=legend_columns(keys, width),
    )  # fmt: skip
    return fig


def plot_evaluation_fan(evaluation: Any, data: Any, *, mode: str = "free_running", n: int = 4,
                        target: int = 0) -> Figure:  # fmt: skip
    """The fan chart of an :func:`~forecastab.evaluation.evaluate` result's sampled paths.

    Args:
        evaluation: an ``Evaluation`` whose ``predictive[mode]`` holds sampled paths.
        data: the data module it was evaluated on (for the contexts, in the same units).
        mode: the evaluation mode to draw.
        n: origins to show.
        target: the target column.

    Raises:
        DataError: the evaluation holds no sampled paths in that mode.
    """
    from forecastab.data.windows import window_view

    samples = getattr(evaluation.predictive.get(mode), "samples", None)
    if samples is None:
        raise DataError(f"the evaluation holds no sampled paths in mode {mode!r}")
    series = data.values if evaluation.units == "scaled" else data.raw_values  # (T, C)
    length = int(data.context_length)
    contexts = window_view(np.asarray(series), length)[evaluation.origins - length + 1]
    index = getattr(evaluation, "index", None)
    names = times = None
    if index is not None and not isinstance(index, pd.RangeIndex):
        at = index[evaluation.origins]
        names = list(at.strftime("%Y-%m-%d") if hasattr(at, "strftime") else at.astype(str))
        horizon = evaluation.targets.shape[1]
        # each origin's context and forecast rows on the data's own time axis
        times = [index[o - length + 1 : o + horizon + 1] for o in evaluation.origins]
    return plot_fan_chart(
        contexts, evaluation.targets, samples, n=n, target=target, origins=names,
        ylabel=f"value ({evaluation.units} units)", times=times,
    )  # fmt: skip


def plot_pit_histogram(
    pit: ArrayLike,
    *,
    steps: Sequence[int] | None = None,
    bins: int = 10,
    label: str | None = None,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Histograms of the probability integral transform at a few forecast steps.

    A calibrated forecast gives a flat histogram (the dotted line, with the grey band where 95%
    of the bins of a calibrated forecast of as many outcomes fall). A U shape means the
    forecast is overconfident (outcomes in its tails too often), a hump underconfident, a
    slope biased. Values pooled over origins and target columns.

    Args:
        pit: ``(N, H)`` or ``(N, H, C)`` PIT values in ``[0, 1]``
            (:func:`forecastab.evaluation.probabilistic.pit_values`).
        steps: 1-based steps to draw; None: the first, middle and last.
        bins: bins per histogram.
        label: what the values are of (``gru/teacher_forcing``), for the title.
        axes: one Axes per step; a new figure when None.

    Returns:
        The figure.

    Raises:
        DataError: PIT values of the wrong shape, or a step outside ``1..H``.
    """
    values = np.asarray(pit, dtype=np.float64)
    if values.ndim == 2:
        values = values[:, :, None]  # (N, H, 1)
    if values.ndim != 3:
        raise DataError(f"PIT values must be (N, H) or (N, H, C), got {values.shape}")
    n, horizon, _ = values.shape
    if steps is None:
        steps = sorted({1, (horizon + 1) // 2, horizon})
    if any(not 1 <= step <= horizon for step in steps):
        raise DataError(f"steps {list(steps)} must lie in 1..{horizon}")
    from scipy import stats

    fig, panel_axes = small_multiples_axes(
        len(steps), nrows=1, ncols=len(steps), size=(2.4 * len(steps) + 0.4, 2.6), axes=axes,
        chart="plot_pit_histogram",
    )  # fmt: skip
    edges = np.linspace(0.0, 1.0, bins + 1)
    for ax, step in zip(panel_axes, steps):
        column = values[:, step - 1].ravel()
        column = column[np.isfinite(column)]
        density = np.histogram(column, bins=edges)[0] / max(len(column), 1) * bins
        ax.bar(edges[:-1], density, width=1.0 / bins, align="edge", color=FAN_COLOUR,
               alpha=0.75, edgecolor="white", linewidth=0.6)  # fmt: skip
        if len(column):
            low, high = stats.binom.ppf([0.025, 0.975], len(column), 1.0 / bins)
            ax.axhspan(low / len(column) * bins, high / len(column) * bins, color="0.85",
                       zorder=0)  # fmt: skip
        ax.axhline(1.0, color="0.3", linewidth=0.9, linestyle=":")
        ax.set_xlim(0.0, 1.0)
        style_axes(ax, xlabel="PIT", ylabel="density", title=f"step {step} ({len(column)} outcomes)")
        ax.title.set_fontsize("small")
    fig.suptitle(
        "probability integral transform" + (f": {label}" if label else "")
        + "\nflat = calibrated, U = overconfident, hump = underconfident",
        fontsize="small",
    )
    return fig
