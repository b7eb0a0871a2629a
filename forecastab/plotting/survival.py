"""Prefix survival: do forecast errors compound, or are the steps independent?

The prefix survival at step h is the fraction of origins whose forecast stays within a
tolerance tau at every step 1..h. If steps failed independently it would equal the product
p_1 * ... * p_h of the per-step success rates; observed survival above that product means
failures cluster in the same rollouts, the signature of compounding errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from forecastab.errors import DataError
from forecastab.plotting.figure import add_legend, legend_columns, new_axes, style_axes

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike


def _curve(values: ArrayLike, n_steps: int, what: str) -> np.ndarray:
    """One survival curve as a float array of ``n_steps`` values in [0, 1]."""
    curve = np.asarray(values, dtype=np.float64).ravel()  # (H,)
    if curve.shape != (n_steps,):
        raise DataError(
            f"{what} has {curve.size} values but steps has {n_steps}; pass one per step"
        )
    finite = curve[np.isfinite(curve)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise DataError(f"{what} must be fractions in [0, 1]; got values up to {finite.max():g}")
    return curve


def plot_prefix_survival(
    steps: ArrayLike,
    observed: ArrayLike | Mapping[str, tuple[ArrayLike, ArrayLike]],
    independent: ArrayLike | None = None,
    *,
    tau: float | None = None,
    label: str | None = None,
    log_y: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """Observed prefix survival against the independence product, by forecast step.

    Observed survival is solid, the product of per-step success rates dashed in the same
    colour.

    Args:
        steps: Forecast steps, shape ``(H,)``.
        observed: Observed prefix survival ``(H,)``, or a mapping ``label -> (observed,
            independent)`` to draw several series.
        independent: Independence product ``p_1 * ... * p_h``, ``(H,)``; None when
            ``observed`` is a mapping.
        tau: The tolerance the survival was computed with, shown in the title.
        label: Name of a single series for the legend.
        log_y: Draw the survival on a log axis (shows the tail of long horizons).
        ax: Axes to draw on; a new figure one paper column wide when None.

    Returns:
        The figure holding the chart.

    Raises:
        DataError: When lengths differ from ``steps``, values lie outside [0, 1], or
            ``independent`` is missing for a single series or given with a mapping.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    x = np.asarray(steps).ravel()  # (H,)
    if isinstance(observed, Mapping):
        if independent is not None:
            raise DataError("pass independent=None when observed is a mapping label -> pair")
        series = dict(observed)
        if not series:
            raise DataError("observed mapping is empty; give at least one label -> pair")
    else:
        if independent is None:
            raise DataError("independent is missing; pass the product p_1 * ... * p_h per step")
        series = {label or "model": (observed, independent)}
    curves = {
        name: (
            _curve(obs, x.size, f"observed of {name}"),
            _curve(ind, x.size, f"independent of {name}"),
        )
        for name, (obs, ind) in series.items()
    }
    handles: list[Artist] = []
    labels: list[str] = []
    if len(curves) > 1 or label:
        handles += [Line2D([], [], color=f"C{i}", linewidth=1.5) for i in range(len(curves))]
        labels += list(curves)
    key = "0.1" if len(curves) > 1 or label else "C0"
    handles += [
        Line2D([], [], color=key, linewidth=1.5),
        Line2D([], [], color=key, linewidth=1.5, linestyle="--"),
    ]
    labels += ["observed", "if steps were independent"]
    ncols = legend_columns(labels, 3.5)
    fig, ax, owns_figure = new_axes(ax, height=2.6 + 0.2 * -(-len(labels) // ncols))
    for i, (name, (obs, ind)) in enumerate(curves.items()):
        ax.plot(x, obs, color=f"C{i}", linewidth=1.5, label=f"{name} [observed]")
        ax.plot(x, ind, color=f"C{i}", linewidth=1.5, linestyle="--", label=f"{name} [independent]")
    if log_y:
        from matplotlib.ticker import FormatStrFormatter, LogLocator

        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter(""))
    else:
        ax.set_ylim(0, 1.02)
    locator = ax.xaxis.get_major_locator()
    if isinstance(locator, MaxNLocator):  # leave a caller's own tick locator alone
        locator.set_params(integer=True)
    title = "prefix survival" + (f" (τ = {tau:g})" if tau is not None else "")
    style_axes(ax, xlabel="forecast step h (steps ahead)", ylabel="P(steps 1..h within τ)", title=title)
    add_legend(fig, ax, handles, labels, owns_figure=owns_figure, ncols=ncols)
    return fig
