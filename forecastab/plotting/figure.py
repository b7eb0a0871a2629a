"""Figure plumbing shared by the charts: new axes at paper size, outside legends, atomic saving.

Every chart is drawn at its printed size (one paper column is about 3.5 inches wide) with
matplotlib's default 10 pt font, so tick labels and legends stay readable when the PNG is
placed in a paper at 100 %. matplotlib is imported inside the functions so that importing
forecastab never loads it.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COLUMN_WIDTH = 3.5
"""Width in inches of one column of a two-column paper."""

GREYS = ("0.25", "0.5", "0.65")
BASELINE_STYLES = ((":", "o"), ("-.", "s"), ((0, (3, 1, 1, 1, 1, 1)), "^"), ((0, (1, 2)), "D"))
"""Line style and marker per baseline, so that grey baselines stay apart in black and white."""


def series_colours(keys: Sequence[Any]) -> dict[Any, Any]:
    """One distinct colour per key, from tab10 (tab20 when there are more than ten keys).

    >>> len(series_colours(["a", "b", "c"]))
    3
    """
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(keys) <= 10 else "tab20"]
    return {key: cmap(i % cmap.N) for i, key in enumerate(keys)}


def new_axes(
    ax: Axes | None, *, height: float, width: float = COLUMN_WIDTH
) -> tuple[Figure, Axes, bool]:
    """The axes to draw on, its figure, and whether this module made that figure.

    A new figure has constrained layout and the given size in inches.
    """
    if ax is not None:
        return root_figure(ax), ax, False
    import matplotlib.pyplot as plt

    fig, new = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, new, True


def legend_columns(labels: Sequence[str], width: float) -> int:
    """How many legend columns fit side by side in ``width`` inches at the small font size.

    >>> legend_columns(["naive", "gru"], 3.5), legend_columns(["x" * 40], 3.5)
    (3, 1)
    """
    longest = max((len(label) for label in labels), default=1)
    column = 0.062 * longest + 0.6  # inches: characters at 8 pt, plus the handle and spacing
    return max(1, min(4, int(width // column)))


def root_figure(ax: Axes) -> Figure:
    """The top-level figure of ``ax``, also when ``ax`` sits in a subfigure."""
    try:
        return ax.get_figure(root=True)
    except TypeError:  # matplotlib < 3.10 has no ``root`` and no nested figures to climb
        return ax.figure


def small_multiples_axes(
    n_panels: int,
    *,
    nrows: int,
    ncols: int,
    size: tuple[float, float],
    axes: Any = None,
    chart: str,
) -> tuple[Figure, list[Axes]]:
    """Axes for small multiples: a new constrained grid (spare cells hidden) or the caller's axes.

    Raises:
        DataError: when the caller's axes are fewer than the panels.
    """
    import numpy as np

    from forecastab.errors import DataError

    if axes is None:
        import matplotlib.pyplot as plt

        fig, grid = plt.subplots(nrows, ncols, figsize=size, layout="constrained", squeeze=False)
        cells = list(grid.ravel())
        for spare in cells[n_panels:]:
            spare.set_visible(False)
        return fig, cells
    cells = list(np.ravel(np.asarray(axes, dtype=object)))
    if len(cells) < n_panels:
        raise DataError(f"{chart} needs {n_panels} axes, got {len(cells)}")
    return root_figure(cells[0]), cells


def chosen_origins(count: int, n: int) -> Any:
    """``(n,)`` indices of up to ``n`` evenly spread origins out of ``count``."""
    import numpy as np

    return np.unique(np.linspace(0, count - 1, min(n, count)).round().astype(int))


def origin_panels(
    panels: int, *, ncols: int, labels: list[str], axes: Any = None, chart: str
) -> tuple[Figure, list[Axes], int, int]:
    """The grid of one panel per origin, sized for its panels and its legend's ``labels``.

    Returns:
        ``(figure, panel axes, columns, legend columns)``.
    """
    ncols = min(ncols, panels)
    nrows = math.ceil(panels / ncols)
    width = COLUMN_WIDTH if ncols == 1 else 3.4 * ncols
    legend_ncols = legend_columns(labels, width)
    height = 2.0 * nrows + 0.2 * math.ceil(len(labels) / legend_ncols)
    fig, panel_axes = small_multiples_axes(
        panels, nrows=nrows, ncols=ncols, size=(width, height), axes=axes, chart=chart
    )
    return fig, panel_axes, ncols, legend_ncols


def style_axes(ax: Axes, *, xlabel: str, ylabel: str, title: str | None = None) -> None:
    """Axis labels, a title, small tick labels and a light grid."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize="medium")
    ax.tick_params(labelsize="small")
    ax.grid(True, linewidth=0.4, alpha=0.4)


def style_origin_panel(
    ax: Axes,
    *,
    index: int,
    ncols: int,
    count: int,
    ylabel: str,
    origin: Any,
    at: Any = 0,
    xlabel: str = "steps from origin",
) -> None:
    """One panel of a grid of forecasts from several origins: the origin marked at ``at``
    (step 0, or the origin's time on a time axis), the x label on the bottom row only and the y
    label on the first column only."""
    ax.axvline(at, color="0.4", linewidth=0.8, linestyle=":")
    style_axes(
        ax,
        xlabel=xlabel if index + ncols >= count else "",
        ylabel=ylabel if index % ncols == 0 else "",
        title=f"origin {origin}",
    )


def add_legend(
    fig: Figure,
    ax: Axes,
    handles: Sequence[Artist],
    labels: Sequence[str],
    *,
    owns_figure: bool,
    ncols: int = 2,
) -> None:
    """A legend that covers no line: below the plot, or right of ``ax`` in a caller's figure.

    In a figure this module made (constrained layout) the legend goes under the axes and the
    layout makes room for it. In a caller's figure the layout is theirs, so the legend goes
    outside the right edge of ``ax``; ``save_figure`` saves with a tight bounding box.
    """
    if not handles:
        return
    if owns_figure:
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(ncols, len(handles)),
            fontsize="small",
            frameon=False,
            handlelength=2.4,
            columnspacing=1.2,
        )
    else:
        ax.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            fontsize="small",
            frameon=False,
            handlelength=2.4,
        )


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 150) -> Path:
    """Write a figure to ``path`` atomically and close it.

    The image goes to a temporary file in the same folder first and replaces ``path`` in one
    step, so a reader never sees a half-written file and a failed save leaves an older image
    as it was. The format follows the file suffix (PNG when there is none). The bounding box is
    tight, so outside legends and long labels are never clipped.

    Args:
        fig: The figure to save; it is closed afterwards, also when saving fails.
        path: Where to write, e.g. ``"runs/quickstart/horizon_error.png"``. Missing parent
            folders are created.
        dpi: Resolution in dots per inch (use 300 for print).

    Returns:
        The path written.
    """
    import matplotlib.pyplot as plt

    from forecastab.files import atomic_write

    target = Path(path)
    fmt = target.suffix.lstrip(".").lower() or "png"
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=dpi, bbox_inches="tight")
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, buffer.getvalue())
    finally:
        plt.close(fig)
    return target
