"""Example free-running rollouts against the truth, one small panel per origin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from forecastab.errors import DataError
from forecastab.plotting.figure import (
    add_legend,
    chosen_origins,
    origin_panels,
    style_origin_panel,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

CONTEXT_COLOUR = "C0"
TRUTH_COLOUR = "0.15"
FORECAST_COLOURS = ("C3", "C1", "C2", "C4", "C5", "C6")


def _series(values: ArrayLike, what: str, target: int) -> np.ndarray:
    """One target column of ``(N, T)`` or ``(N, T, C)`` values as a float ``(N, T)`` array."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 3:
        if not 0 <= target < array.shape[2]:
            raise DataError(f"target={target} but {what} has {array.shape[2]} target columns")
        array = array[:, :, target]  # (N, T)
    if array.ndim != 2:
        raise DataError(f"{what} must have shape (N, T) or (N, T, C), got {array.shape}")
    return np.where(np.isfinite(array), array, np.nan)


def plot_rollouts(
    contexts: ArrayLike,
    targets: ArrayLike,
    predictions: ArrayLike | Mapping[str, ArrayLike],
    *,
    n: int = 4,
    origins: Sequence[Any] | None = None,
    target: int = 0,
    ncols: int = 2,
    ylabel: str = "value",
    axes: Sequence[Axes] | Axes | None = None,
) -> Figure:
    """Free-running rollouts next to the truth at ``n`` origins (small multiples).

    Each panel shows the context (blue) up to the origin (vertical line at step 0), the true
    continuation (dark grey) and each forecast (dashed) over the horizon. The x axis counts
    steps from the origin: ``-L+1 .. 0`` is the context, ``1 .. H`` the horizon.

    Args:
        contexts: Context windows, ``(N, L)`` or ``(N, L, C)``.
        targets: True continuations, ``(N, H)`` or ``(N, H, C)``.
        predictions: Free-running forecasts ``(N, H[, C])``, or a mapping ``label -> (N, H[,
            C])`` to compare several forecasters on the same origins.
        n: How many origins to show, spread evenly over the N given.
        origins: Optional names of the N origins (timestamps or row indices) for the panel
            titles.
        target: Which target column to draw when the arrays have a column axis.
        ncols: Panels per row.
        ylabel: Label of the value axis, e.g. ``"sunspots (original units)"``.
        axes: Axes to draw on (one per panel, or a single Axes when ``n`` is 1); a new figure
            when None.

    Returns:
        The figure holding the panels.

    Raises:
        DataError: When the shapes of contexts, targets and predictions do not match, or
            ``n``/``ncols`` is below 1.
    """
    if n < 1 or ncols < 1:
        raise DataError(f"n and ncols must be at least 1, got n={n}, ncols={ncols}")
    context = _series(contexts, "contexts", target)  # (N, L)
    truth = _series(targets, "targets", target)  # (N, H)
    if not isinstance(predictions, Mapping):
        predictions = {"forecast": predictions}
    forecasts = {
        name: _series(p, f"predictions {name!r}", target) for name, p in predictions.items()
    }
    count, horizon = truth.shape
    if context.shape[0] != count:
        raise DataError(f"contexts has {context.shape[0]} origins but targets has {count}")
    for name, forecast in forecasts.items():
        if forecast.shape != truth.shape:
            raise DataError(
                f"predictions {name!r} have shape {forecast.shape}, targets {truth.shape}; "
                "pass one forecast per origin and step"
            )
    if origins is not None and len(origins) != count:
        raise DataError(f"origins names {len(origins)} origins but targets has {count}")
    chosen = chosen_origins(count, n)  # (n,)

    from matplotlib.lines import Line2D

    handles: list[Artist] = [
        Line2D([], [], color=CONTEXT_COLOUR, linewidth=1.3),
        Line2D([], [], color=TRUTH_COLOUR, linewidth=1.3),
    ]
    labels = ["context", "truth"]
    for i, (name, forecast) in enumerate(forecasts.items()):
        colour = FORECAST_COLOURS[i % len(FORECAST_COLOURS)]
        handles.append(Line2D([], [], color=colour, linewidth=1.5, linestyle="--"))
        diverged = bool(np.isnan(forecast[chosen]).any())
        labels.append(name + (" (diverged)" if diverged else ""))
    fig, panel_axes, ncols, legend_ncols = origin_panels(
        len(chosen), ncols=ncols, labels=labels, axes=axes, chart="plot_rollouts"
    )

    past = np.arange(-context.shape[1] + 1, 1)  # (L,)
    ahead = np.arange(0, horizon + 1)  # (H + 1,): starts at the origin to join the context
    for i, (ax, row) in enumerate(zip(panel_axes, chosen)):
        last = context[row, -1]
        ax.plot(past, context[row], color=CONTEXT_COLOUR, linewidth=1.3, label="context")
        ax.plot(ahead, np.r_[last, truth[row]], color=TRUTH_COLOUR, linewidth=1.3, label="truth")
        for j, (name, forecast) in enumerate(forecasts.items()):
            ax.plot(
                ahead,
                np.r_[last, forecast[row]],
                color=FORECAST_COLOURS[j % len(FORECAST_COLOURS)],
                linewidth=1.5,
                linestyle="--",
                label=name,
            )
        style_origin_panel(
            ax, index=i, ncols=ncols, count=len(chosen), ylabel=ylabel,
            origin=origins[row] if origins is not None else row,
        )  # fmt: skip
    add_legend(
        fig, panel_axes[ncols - 1], handles, labels, owns_figure=axes is None, ncols=legend_ncols
    )
    return fig
