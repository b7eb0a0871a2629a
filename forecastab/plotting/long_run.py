"""A stretch of a long free run against the truth, with its D_stsp and D_H in the title."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from forecastab.errors import DataError
from forecastab.plotting.figure import COLUMN_WIDTH, new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def plot_long_run(
    truth: np.ndarray,
    generated: np.ndarray,
    *,
    steps: int = 500,
    title: str = "",
    ax: Axes | None = None,
) -> Figure:
    """The first ``steps`` values of a long free run (first target column) and the truth.

    Args:
        truth: ``(T, C)`` or ``(T,)`` the true test rows.
        generated: ``(T', C)`` or ``(T',)`` the free run.
        steps: how many steps to draw.
        title: the axes title (model, strategy, D_stsp, D_H).
        ax: axes to draw on; a new figure when None.

    Returns:
        The Figure.
    """
    truth = np.asarray(truth, dtype=np.float64).reshape(len(truth), -1)[:steps, 0]
    generated = np.asarray(generated, dtype=np.float64).reshape(len(generated), -1)[:steps, 0]
    if len(generated) == 0:
        raise DataError("a long run with no steps cannot be drawn")
    fig, ax, _ = new_axes(ax, height=2.4, width=2 * COLUMN_WIDTH)
    ax.plot(np.arange(1, len(truth) + 1), truth, color="0.35", linewidth=1.0, label="truth")
    finite = np.where(np.isfinite(generated), generated, np.nan)
    ax.plot(np.arange(1, len(finite) + 1), finite, color="tab:red", linewidth=1.0, label="free run")
    ax.set_xlabel("steps after the test start")
    ax.set_ylabel("value")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.85)
    return fig
