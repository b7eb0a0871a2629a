"""Exponential smoothing and Theta baselines from statsmodels, and how each reuses its fit.

- :class:`ETS` (``ETSModel``): the smoothing parameters and estimated initial states found on the
  training rows are applied with ``ETSModel(values[: t_max+1]).smooth(params)``, one pass, then
  each origin's forecast is statsmodels' own ``simulate(H, anchor=t, random_errors=0)``: the
  path with zero errors from the states after observing row ``t``, which is exactly what
  ``ETSModel(values[: t+1]).smooth(params).forecast(H)`` returns.
- :class:`HoltWinters` (``ExponentialSmoothing``): not state-space in statsmodels and its
  in-sample simulation differs in the last digits, so each origin runs
  ``ExponentialSmoothing(values[: t+1], initialization_method="known", initial_*=fitted)
  .fit(smoothing_*=fitted, optimized=False).forecast(H)``: the fitted parameters with no
  re-estimation.
- :class:`Theta` (``ThetaModel``): statsmodels offers no way to run a fitted Theta model on new
  data, so it is re-estimated at every origin (OLS of a linear trend plus one simple exponential
  smoothing fit: cheap). It has no ``refit_every``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from forecastab.baselines.base import positive_int_or_none
from forecastab.baselines.statistical import FittedColumn, StatsmodelsBaseline
from forecastab.errors import ConfigError

_COMPONENTS = (None, "add", "mul")


def _component(key: str, value: str | None) -> str | None:
    aliases = {"additive": "add", "multiplicative": "mul", "none": None}
    value = aliases.get(value, value) if isinstance(value, str) else value
    if value not in _COMPONENTS:
        raise ConfigError(f"{key} must be one of add, mul or null, got {value!r}")
    return value


class _Smoothing(StatsmodelsBaseline):
    def __init__(
        self,
        *,
        trend: str | None = None,
        damped_trend: bool = False,
        seasonal: str | None = None,
        season_length: int | None = None,
        refit_every: int | None = None,
        n_jobs: int = 1,
        progress: bool = True,
    ) -> None:
        super().__init__(refit_every=refit_every, n_jobs=n_jobs, progress=progress)
        self.trend = _component("trend", trend)
        self.damped_trend = bool(damped_trend)
        self.seasonal = _component("seasonal", seasonal)
        self.season_length = positive_int_or_none("season_length", season_length)
        if self.damped_trend and self.trend is None:
            raise ConfigError("damped_trend: true needs a trend; set trend: add or trend: mul")
        if self.seasonal is not None and self.season_length is None:
            raise ConfigError(
                f"seasonal: {self.seasonal} needs a season_length; set season_length or seasonal: null"
            )


class ETS(_Smoothing):
    """statsmodels ``ETSModel`` (error, trend, seasonal components), fitted by maximum likelihood.

    Args:
        error: ``"add"`` or ``"mul"`` (multiplicative needs a positive series, not z-scores).
        trend: ``"add"``, ``"mul"`` or None.
        damped_trend: Damp the trend.
        seasonal: ``"add"``, ``"mul"`` or None.
        season_length: Rows per season, needed with ``seasonal``.
        refit_every: Re-estimate every this many origins (None: never).
        n_jobs: Worker processes (-1: all cores).
        progress: Show a tqdm bar on a terminal.

    >>> values = (np.arange(60.0) + np.sin(np.arange(60)))[:, None]
    >>> model = ETS(trend="add").fit(values, 50)
    >>> model.predict_origins(values, [49, 55], context_length=5, horizon=3).shape
    (2, 3, 1)
    """

    name = "ets"
    per_origin: ClassVar[bool] = True

    def __init__(
        self,
        *,
        error: str = "add",
        trend: str | None = None,
        damped_trend: bool = False,
        seasonal: str | None = None,
        season_length: int | None = None,
        refit_every: int | None = None,
        n_jobs: int = 1,
        progress: bool = True,
    ) -> None:
        super().__init__(
            trend=trend,
            damped_trend=damped_trend,
            seasonal=seasonal,
            season_length=season_length,
            refit_every=refit_every,
            n_jobs=n_jobs,
            progress=progress,
        )
        self.error = _component("error", error)
        if self.error is None:
            raise ConfigError("error must be add or mul, got null")

    def _make_model(self, series: np.ndarray) -> Any:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        return ETSModel(
            series,
            error=self.error,
            trend=self.trend,
            damped_trend=self.damped_trend,
            seasonal=self.seasonal,
            seasonal_periods=self.season_length if self.seasonal else None,
        )

    @property
    def has_distribution(self) -> bool:  # type: ignore[override]
        """Additive errors with additive or no trend and season: statsmodels' exact variance."""
        return self.error == "add" and self.trend != "mul" and self.seasonal != "mul"

    def _fit_column(self, series: np.ndarray) -> FittedColumn:
        results = self._make_model(series).fit(disp=False)
        # the residual mean square of the fit scales the forecast variance
        return FittedColumn({"mse": float(results.mse)}, np.asarray(results.params), results)

    def _refit_column(self, series: np.ndarray, fitted: FittedColumn) -> FittedColumn:
        results = self._make_model(series).fit(start_params=fitted.params, disp=False)
        return FittedColumn({"mse": float(results.mse)}, np.asarray(results.params))

    def _distribution_column(
        self, series: np.ndarray, origins: np.ndarray, horizon: int, fitted: FittedColumn
    ) -> np.ndarray:
        smoothed = self._make_model(series).smooth(fitted.params)
        mean = self._forecast_column(series, origins, horizon, fitted)  # (n, H)
        # Hyndman & Athanasopoulos' closed form for the linear additive-error models: the
        # variance depends on the step and the parameters only, not on the origin
        relative = smoothed._relative_forecast_variance(np.arange(1, horizon + 1))  # (H,)
        variance = np.broadcast_to(fitted.spec["mse"] * relative, mean.shape)  # (n, H)
        return np.stack([mean, variance])  # (2, n, H)

    def _forecast_column(
        self, series: np.ndarray, origins: np.ndarray, horizon: int, fitted: FittedColumn
    ) -> np.ndarray:
        smoothed = self._make_model(series).smooth(fitted.params)
        zero_errors = np.zeros((horizon, 1))  # (H, repetitions)
        paths = [
            np.asarray(smoothed.simulate(horizon, anchor=int(t), random_errors=zero_errors))
            for t in origins
        ]
        return np.stack(paths).reshape(len(origins), horizon)  # (N, H)


class HoltWinters(_Smoothing):
    """statsmodels ``ExponentialSmoothing`` (Holt-Winters), its parameters kept fixed per origin.

    Args:
        trend: ``"add"``, ``"mul"`` or None.
        damped_trend: Damp the trend.
        seasonal: ``"add"``, ``"mul"`` or None.
        season_length: Rows per season, needed with ``seasonal``.
        refit_every: Re-estimate every this many origins (None: never).
        n_jobs: Worker processes (-1: all cores).
        progress: Show a tqdm bar on a terminal.
    """

    name = "holt_winters"
    per_origin: ClassVar[bool] = True

    def _make_model(self, series: np.ndarray, initial: dict[str, Any] | None = None) -> Any:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        return ExponentialSmoothing(
            series,
            trend=self.trend,
            damped_trend=self.damped_trend,
            seasonal=self.seasonal,
            seasonal_periods=self.season_length if self.seasonal else None,
            **(initial or {}),
        )

    def _fit_column(self, series: np.ndarray) -> FittedColumn:
        results = self._make_model(series).fit()
        params = results.params
        initial = {"initialization_method": "known", "initial_level": params["initial_level"]}
        smoothing = {"smoothing_level": params["smoothing_level"]}
        if self.trend:
            initial["initial_trend"] = params["initial_trend"]
            smoothing["smoothing_trend"] = params["smoothing_trend"]
        if self.damped_trend:
            smoothing["damping_trend"] = params["damping_trend"]
        if self.seasonal:
            initial["initial_seasonal"] = np.asarray(params["initial_seasons"])
            smoothing["smoothing_seasonal"] = params["smoothing_seasonal"]
        return FittedColumn({}, {"initial": initial, "smoothing": smoothing}, results)

    def _forecast_column(
        self, series: np.ndarray, origins: np.ndarray, horizon: int, fitted: FittedColumn
    ) -> np.ndarray:
        initial, smoothing = fitted.params["initial"], fitted.params["smoothing"]
        paths = [
            self._make_model(series[: t + 1], initial)
            .fit(**smoothing, optimized=False)
            .forecast(horizon)
            for t in origins
        ]
        return np.stack(paths)  # (N, H)


class Theta(StatsmodelsBaseline):
    """statsmodels ``ThetaModel`` (Assimakopoulos & Nikolopoulos), re-estimated at every origin.

    Args:
        season_length: Rows per season; when given the series is tested for seasonality and
            deseasonalised (statsmodels' default test), otherwise it is not.
        theta: The theta line weight of the forecast (2 is the classic method).
        method: Deseasonalisation, ``"auto"``, ``"additive"`` or ``"multiplicative"``.
        n_jobs: Worker processes (-1: all cores).
        progress: Show a tqdm bar on a terminal.
    """

    name = "theta"
    per_origin: ClassVar[bool] = True
    has_distribution: ClassVar[bool] = True

    def __init__(
        self,
        *,
        season_length: int | None = None,
        theta: float = 2.0,
        method: str = "auto",
        n_jobs: int = 1,
        progress: bool = True,
    ) -> None:
        super().__init__(refit_every=None, n_jobs=n_jobs, progress=progress)
        self.season_length = positive_int_or_none("season_length", season_length)
        if isinstance(theta, bool) or not isinstance(theta, (int, float)) or theta < 1:
            raise ConfigError(f"theta must be a number >= 1, got {theta!r}")
        self.theta = float(theta)
        if method not in ("auto", "additive", "multiplicative"):
            raise ConfigError(f"method must be auto, additive or multiplicative, got {method!r}")
        self.method = method

    def _fit(self, series: np.ndarray) -> Any:
        from statsmodels.tsa.forecasting.theta import ThetaModel

        model = ThetaModel(
            series,
            period=self.season_length,
            deseasonalize=self.season_length is not None,
            method=self.method,
        )
        return model.fit()

    def _fit_column(self, series: np.ndarray) -> FittedColumn:
        results = self._fit(series)
        return FittedColumn({}, dict(results.params), results)

    def _forecast_column(
        self, series: np.ndarray, origins: np.ndarray, horizon: int, fitted: FittedColumn
    ) -> np.ndarray:
        paths = [
            np.asarray(self._fit(series[: t + 1]).forecast(horizon, theta=self.theta))
            for t in origins
        ]
        return np.stack(paths)  # (N, H)

    def _distribution_column(
        self, series: np.ndarray, origins: np.ndarray, horizon: int, fitted: FittedColumn
    ) -> np.ndarray:
        moments = np.empty((2, len(origins), horizon))  # (2, N, H)
        sigmas = 2.0 * 1.959963984540054  # the width of statsmodels' 95% interval in sigmas
        for row, t in enumerate(origins):
            results = self._fit(series[: t + 1])
            moments[0, row] = np.asarray(results.forecast(horizon, theta=self.theta))
            bounds = np.asarray(results.prediction_intervals(horizon, theta=self.theta))  # (H, 2)
            moments[1, row] = np.square((bounds[:, 1] - bounds[:, 0]) / sigmas)
        return moments
