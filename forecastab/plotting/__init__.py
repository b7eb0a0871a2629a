"""Compounding-error charts: error by forecast step, exposure gap, prefix survival, rollouts,
fan charts of sampled paths, calibration by step and PIT histograms.

Every function draws at a paper's column width, takes an optional ``ax`` (``axes`` for the
grids), returns the matplotlib Figure and never calls ``show()``; matplotlib is imported only
when a chart is drawn. Save with :func:`save_figure`, which writes atomically and closes the
figure.

>>> import forecastab.plotting as plotting
>>> sorted(name for name in plotting.__all__ if name.startswith("plot_"))
['plot_calibration', 'plot_evaluation_fan', 'plot_exposure_gap', 'plot_fan_chart', 'plot_grid', 'plot_horizon_error', 'plot_pit_histogram', 'plot_prefix_survival', 'plot_rollouts']
"""

from forecastab.plotting.figure import save_figure
from forecastab.plotting.horizon import plot_exposure_gap, plot_grid, plot_horizon_error
from forecastab.plotting.probabilistic import (
    plot_calibration,
    plot_evaluation_fan,
    plot_fan_chart,
    plot_pit_histogram,
)
from forecastab.plotting.rollouts import plot_rollouts
from forecastab.plotting.survival import plot_prefix_survival

__all__ = [
    "plot_calibration",
    "plot_evaluation_fan",
    "plot_fan_chart",
    "plot_exposure_gap",
    "plot_grid",
    "plot_horizon_error",
    "plot_pit_histogram",
    "plot_prefix_survival",
    "plot_rollouts",
    "save_figure",
]
