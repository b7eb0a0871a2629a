"""Benchmark forecasts with no parameters: naive, seasonal naive, drift and mean.

Each one forecasts from every origin at once with numpy indexing (no loop over origins), from
the whole history up to the origin, as in Hyndman & Athanasopoulos, *Forecasting: Principles and
Practice*, section 5.2.
"""

from __future__ import annotations

import numpy as np

from forecastab.baselines.base import Baseline, positive_int_or_none
from forecastab.errors import ConfigError, DataError


class Naive(Baseline):
    """The last observed value, repeated over the horizon.

    >>> values = np.arange(10.0)[:, None]
    >>> Naive().fit(values, 6).predict_origins(values, [5, 7], context_length=3, horizon=2)[..., 0]
    array([[5., 5.],
           [7., 7.]])
    """

    name = "naive"

    def _predict(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        last = values[origins]  # (N, C)
        return np.repeat(last[:, None, :], horizon, axis=1)  # (N, H, C)


class SeasonalNaive(Baseline):
    """The value one season earlier: ``y[t+h] = y[t+h - m*ceil(h/m)]`` for season length ``m``.

    Args:
        season_length: Rows per season ``m`` (11 for yearly sunspots' solar cycle, 24 for hourly
            data with a daily cycle); a WindowDataModule gives one from the data's frequency
            as ``.season_length``.

    >>> values = np.arange(10.0)[:, None]
    >>> model = SeasonalNaive(season_length=3).fit(values, 6)
    >>> model.predict_origins(values, [5], context_length=3, horizon=4)[0, :, 0]
    array([3., 4., 5., 3.])
    """

    name = "seasonal_naive"

    def __init__(self, *, season_length: int | None = None) -> None:
        super().__init__()
        self.season_length = positive_int_or_none("season_length", season_length)

    def _predict(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        if self.season_length is None:
            raise ConfigError(
                "seasonal_naive needs a season_length; give it in the spec, e.g. "
                "{name: seasonal_naive, season_length: 24}, or use data with a known frequency"
            )
        period = self.season_length
        if origins.size and origins.min() < period - 1:
            raise DataError(
                f"seasonal_naive with season_length {period} needs origins >= {period - 1}, "
                f"got {origins.min()}"
            )
        steps = np.arange(1, horizon + 1)  # (H,)
        lags = period * ((steps - 1) // period + 1)  # (H,)
        rows = origins[:, None] + steps[None, :] - lags[None, :]  # (N, H)
        return values[rows]  # (N, H, C)


class Drift(Baseline):
    """The last value plus ``h`` times the average change over the history.

    ``y[t+h] = y[t] + h * (y[t] - y[0]) / t``; at origin 0 there is no change to average and it
    is the naive forecast.

    >>> values = np.array([0.0, 1.0, 4.0, 9.0])[:, None]
    >>> Drift().fit(values, 3).predict_origins(values, [2], context_length=1, horizon=2)[0, :, 0]
    array([6., 8.])
    """

    name = "drift"

    def _predict(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        last = values[origins]  # (N, C)
        elapsed = np.maximum(origins, 1)[:, None]  # (N, 1)
        slope = (last - values[0][None, :]) / elapsed  # (N, C)
        steps = np.arange(1, horizon + 1, dtype=np.float64)  # (H,)
        return last[:, None, :] + steps[None, :, None] * slope[:, None, :]  # (N, H, C)


class Mean(Baseline):
    """The mean of the whole history up to the origin, repeated over the horizon.

    >>> values = np.array([1.0, 2.0, 6.0, 9.0])[:, None]
    >>> Mean().fit(values, 3).predict_origins(values, [2], context_length=1, horizon=2)[0, :, 0]
    array([3., 3.])
    """

    name = "mean"

    def _predict(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        running_sum = np.cumsum(values, axis=0)  # (T, C)
        means = running_sum[origins] / (origins[:, None] + 1)  # (N, C)
        return np.repeat(means[:, None, :], horizon, axis=1)  # (N, H, C)
