"""statsmodels baselines fitted once on the training rows, then applied at every test origin.

``fit`` estimates one statsmodels model per target column on the rows ``[0, train_stop)``.
``predict_origins`` keeps those parameters and runs the model over the history up to each origin,
so a forecast from origin ``t`` sees ``values[: t+1]`` and nothing later. With ``refit_every=k``
the parameters are re-estimated on ``values[: t+1]`` at the first of every ``k`` origins (sorted
in time; the first block keeps the training fit, which the first test origin shares).

State-space models (ARIMA, SARIMAX) filter the whole series once with the fitted parameters and
forecast from each origin's one-step-ahead predicted state (:func:`statespace_forecasts`); the
Kalman filter is causal, so this equals ``results.apply(values[: t+1]).forecast(H)`` per origin
(the tests check it to 1e-8) at the cost of one filter pass.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from forecastab.baselines.base import (
    Baseline,
    BaselineWarning,
    TaskResult,
    check_train_stop,
    check_values,
    positive_int_or_none,
    resolve_n_jobs,
    run_tasks,
    summarize_warnings,
)
from forecastab.errors import ConfigError


@dataclass
class FittedColumn:
    """The fit of one target column.

    Attributes:
        spec: Model choices made while fitting, such as the ARIMA order picked by AIC.
        params: The estimated parameters that are applied at every origin.
        results: The statsmodels results object on the training rows (kept in the parent
            process only; workers get the column without it).
    """

    spec: dict[str, Any]
    params: Any
    results: Any = None


class StatsmodelsBaseline(Baseline):
    """One statsmodels model per target column, fitted once and applied at every origin.

    Subclasses say how to fit a column (``_fit_column``), re-estimate it (``_refit_column``)
    and forecast from a set of origins with fixed parameters (``_forecast_column``).

    Args:
        refit_every: Re-estimate the parameters every this many origins (None: never).
        n_jobs: Worker processes over target columns and origin blocks (-1: all cores).
        progress: Show a tqdm bar on a terminal for runs of more than one task.
    """

    #: True when forecasting costs one statsmodels call per origin: origins are then split
    #: into chunks over the workers.
    per_origin: ClassVar[bool] = False

    def __init__(
        self, *, refit_every: int | None = None, n_jobs: int = 1, progress: bool = True
    ) -> None:
        super().__init__()
        self.refit_every = positive_int_or_none("refit_every", refit_every)
        resolve_n_jobs(n_jobs)
        self.n_jobs = n_jobs
        self.progress = bool(progress)
        self.columns: list[FittedColumn] = []
        self.warnings: list[str] = []

    def fit(self, values: np.ndarray | Any, train_stop: int | None = None) -> StatsmodelsBaseline:
        """Fit one model per target column on ``values[:train_stop]``.

        A column that fails to fit marks the baseline failed (a BaselineWarning and ``.failed``
        set to the message) instead of raising; statsmodels' own warnings are counted and shown
        as one BaselineWarning.

        Args:
            values: ``(T, C)`` series, or a ``WindowDataModule`` (see ``Baseline.fit``).
            train_stop: End of the training rows ``[0, train_stop)``.

        Returns:
            self, fitted (or failed).
        """
        values, train_stop = self._fit_inputs(values, train_stop)
        values = check_values(values)
        train_stop = check_train_stop(train_stop, len(values))
        super().fit(values, train_stop)
        self.columns = []
        self.warnings = []
        tasks = [(values[:train_stop, column],) for column in range(values.shape[1])]
        results = self._run("_fit_column", tasks, "fit")
        errors = [(c, r.error) for c, r in enumerate(results) if r.error is not None]
        if errors:
            column, error = errors[0]
            self._mark_failed(f"fit of column {column} failed: {error}")
            return self
        self.columns = [result.output for result in results]
        return self

    def _predict(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        return self._per_column(values, origins, horizon, "_forecast_column", "forecast")

    def predict_distribution(
        self, values: np.ndarray, origins: np.ndarray, *, context_length: int, horizon: int
    ) -> tuple[np.ndarray, np.ndarray] | str:
        """The Gaussian predictive of the free-running forecast from every origin.

        Args:
            values: ``(T, C)`` full series; only rows up to each origin are used.
            origins: ``(N,)`` row index of the last observed value of each forecast.
            context_length: checked for a full context at every origin.
            horizon: steps ahead ``H``.

        Returns:
            ``(mean, std)``, each ``(N, H, C)``, or a string saying why this baseline has no
            closed-form predictive distribution.
        """
        if not self.has_distribution:
            return f"baseline '{self.name}' has no closed-form predictive distribution"
        mean = self.predict_origins(
            values, origins, context_length=context_length, horizon=horizon
        )  # (N, H, C) and all the input checks
        if self.failed is not None:
            return mean, np.full_like(mean, np.nan)
        values = check_values(values)
        origins = np.asarray(origins, dtype=np.int64)
        moments = self._per_column(
            values, origins, horizon, "_distribution_column", "predictive", leading=(2,)
        )  # (2, N, H, C)
        return moments[0], np.sqrt(moments[1])

    #: True when the subclass implements ``_distribution_column``.
    has_distribution: ClassVar[bool] = False

    def _per_column(
        self,
        values: np.ndarray,
        origins: np.ndarray,
        horizon: int,
        method: str,
        stage: str,
        leading: tuple[int, ...] = (),
    ) -> np.ndarray:
        """Run the column ``method`` per column and origin block (see :meth:`_column_task`);
        outputs ``(*leading, n, H)`` assembled into ``(*leading, N, H, C)``."""
        if not self.columns:
            raise ConfigError(
                f"baseline '{self.name}' is not fitted; call fit(values, train_stop) first"
            )
        forecasts = np.full((*leading, len(origins), horizon, values.shape[1]), np.nan)
        if origins.size == 0:
            return forecasts
        tasks, placements = [], []
        for column, fitted in enumerate(self.columns):
            light = replace(fitted, results=None)
            for positions, refit in self._blocks(origins):
                block = origins[positions]
                series = values[: block.max() + 1, column]  # (t_max + 1,) nothing after the origins
                tasks.append((series, block, horizon, light, refit, method))
                placements.append((positions, column))
        results = self._run("_column_task", tasks, stage)
        for result, (positions, column) in zip(results, placements):
            if result.error is not None:
                self._mark_failed(f"{stage} of column {column} failed: {result.error}")
                return np.full_like(forecasts, np.nan)
            forecasts[..., column][..., positions, :] = result.output  # (*leading, n, H)
        return forecasts

    def _blocks(self, origins: np.ndarray) -> list[tuple[np.ndarray, bool]]:
        """Positions into ``origins`` that share one parameter set, and whether to refit."""
        order = np.argsort(origins, kind="stable")  # (N,) positions in time order
        if self.refit_every is None:
            blocks = [(order, False)]
        else:
            blocks = [
                (order[start : start + self.refit_every], start > 0)
                for start in range(0, len(order), self.refit_every)
            ]
        if not self.per_origin:
            return blocks
        # each origin is its own statsmodels call: split the fixed-parameter blocks over workers
        chunks = 8 * resolve_n_jobs(self.n_jobs)
        split = []
        for positions, refit in blocks:
            pieces = 1 if refit else min(chunks, len(positions))
            split.extend((piece, refit) for piece in np.array_split(positions, pieces))
        return split

    def _column_task(
        self,
        series: np.ndarray,
        origins: np.ndarray,
        horizon: int,
        fitted: FittedColumn,
        refit: bool,
        column_method: str,
    ) -> np.ndarray:
        """One block of origins of one column: ``_forecast_column`` ``(n, H)`` or
        ``_distribution_column`` ``(2, n, H)``, refitting first where the block asks."""
        if refit:
            fitted = self._refit_column(series[: origins.min() + 1], fitted)
        return getattr(self, column_method)(series, origins, horizon, fitted)

    def _distribution_column(
        self, series: np.ndarray, origins: np.ndarray, horizon: int, fitted: FittedColumn
    ) -> np.ndarray:
        """Mean and variance ``(2, n, H)`` of the forecast from each origin."""
        raise NotImplementedError

    def _run(self, method: str, tasks: list[tuple[Any, ...]], stage: str) -> list[TaskResult]:
        # workers get a copy without the fitted statsmodels results, which can be megabytes
        light = self if not self.columns else _without_results(self)
        results = run_tasks(
            getattr(light, method),
            tasks,
            n_jobs=resolve_n_jobs(self.n_jobs),
            progress=self.progress,
            description=f"{self.name} {stage}",
        )
        summary = summarize_warnings(self.name, stage, results)
        if summary is not None:
            self.warnings.append(summary)
            warnings.warn(summary, BaselineWarning, stacklevel=4)
        return results

    def _fit_column(self, series: np.ndarray) -> FittedColumn:
        raise NotImplementedError

    def _refit_column(self, series: np.ndarray, fitted: FittedColumn) -> FittedColumn:
        return self._fit_column(series)

    def _forecast_column(
        self, series: np.ndarray, origins: np.ndarray, horizon: int, fitted: FittedColumn
    ) -> np.ndarray:
        raise NotImplementedError


def _without_results(baseline: StatsmodelsBaseline) -> StatsmodelsBaseline:
    copy = object.__new__(type(baseline))
    copy.__dict__.update(baseline.__dict__)
    copy.columns = [replace(fitted, results=None) for fitted in baseline.columns]
    return copy


def statespace_forecasts(results: Any, origins: np.ndarray, horizon: int) -> np.ndarray:
    """Point forecasts from every origin of one filtered statsmodels state-space model.

    From the one-step-ahead predicted state ``a[t+1|t]`` the mean path is
    ``y[s] = Z[s] a[s] + d[s]``, ``a[s+1] = T[s] a[s] + c[s]`` for ``s = t+1, ..., t+H``, the
    recursion statsmodels' ``forecast`` runs, vectorised over origins. The filtered series must
    extend ``horizon`` rows past the last origin (pad with NaN) so the system matrices exist.

    Args:
        results: A filtered ``MLEResults`` (from ``model.filter(params)`` or ``results.apply``).
        origins: ``(N,)`` row index of the last observed value of each forecast.
        horizon: Steps ahead ``H``.

    Returns:
        ``(N, H)`` forecasts of the first endogenous variable.
    """
    ssm = results.model.ssm
    state = results.predicted_state[:, origins + 1]  # (k, N)

    def at(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
        # statsmodels keeps a time-invariant matrix with a last axis of length 1
        return matrix[..., rows] if matrix.shape[-1] > 1 else matrix[..., np.zeros_like(rows)]

    forecasts = np.empty((len(origins), horizon))  # (N, H)
    for step in range(horizon):
        rows = origins + 1 + step  # (N,)
        design = at(ssm.design, rows)[0]  # (k, N)
        forecasts[:, step] = np.einsum("kn,kn->n", design, state) + at(ssm.obs_intercept, rows)[0]
        transition = at(ssm.transition, rows)  # (k, k, N)
        state = np.einsum("ijn,jn->in", transition, state) + at(ssm.state_intercept, rows)  # (k, N)
    return forecasts


def statespace_variances(results: Any, origins: np.ndarray, horizon: int) -> np.ndarray:
    """Forecast variances ``(N, H)`` from every origin of one filtered state-space model.

    From the one-step-ahead predicted state covariance ``P[t+1|t]``:
    ``var y[s] = Z P Z' + H`` and ``P <- T P T' + R Q R'`` for ``s = t+1, ..., t+H``, the
    recursion behind statsmodels' ``get_forecast(...).var_pred_mean``, vectorised over origins
    (parameters are taken as known). Same padding rule as :func:`statespace_forecasts`.
    """
    ssm = results.model.ssm
    covariance = results.predicted_state_cov[:, :, origins + 1]  # (k, k, N)

    def at(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return matrix[..., rows] if matrix.shape[-1] > 1 else matrix[..., np.zeros_like(rows)]

    variances = np.empty((len(origins), horizon))  # (N, H)
    for step in range(horizon):
        rows = origins + 1 + step  # (N,)
        design = at(ssm.design, rows)[0]  # (k, N)
        variances[:, step] = (
            np.einsum("kn,kln,ln->n", design, covariance, design) + at(ssm.obs_cov, rows)[0, 0]
        )
        transition = at(ssm.transition, rows)  # (k, k, N)
        selection = at(ssm.selection, rows)  # (k, r, N)
        noise = np.einsum("ijn,jkn,lkn->iln", selection, at(ssm.state_cov, rows), selection)
        covariance = np.einsum("ijn,jkn,lkn->iln", transition, covariance, transition) + noise
    return variances


def _order(key: str, value: Any, length: int) -> tuple[int, ...]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != length
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
        or any(v < 0 for v in value)
    ):
        raise ConfigError(f"{key} must be a list of {length} non-negative integers, got {value!r}")
    return tuple(int(v) for v in value)


class ARIMA(StatsmodelsBaseline):
    """statsmodels ``ARIMA`` with a given order, or one picked by AIC/BIC on the training rows.

    With ``order=None`` every ``(p, d, q)`` up to ``max_order`` is fitted on the training rows
    of each column and the lowest ``criterion`` wins (likelihoods of different ``d`` come from
    statsmodels' diffuse initialisation of the integrated states, so comparing them is the usual
    rough heuristic). Refits keep the chosen order and start from the training parameters.

    Args:
        order: ``(p, d, q)``, or None to choose by ``criterion``.
        trend: statsmodels trend (``"n"``, ``"c"``, ``"t"``, ``"ct"``); None: ``"c"`` when
            ``d = 0`` and ``"n"`` otherwise.
        criterion: ``"aic"`` or ``"bic"``.
        max_order: Largest ``(p, d, q)`` of the search grid.
        refit_every: Re-estimate every this many origins (None: never).
        n_jobs: Worker processes (-1: all cores).
        progress: Show a tqdm bar on a terminal.

    >>> values = np.random.default_rng(0).normal(size=(120, 1))
    >>> model = ARIMA(order=(1, 0, 0)).fit(values, 100)
    >>> model.predict_origins(values, [99, 110], context_length=10, horizon=3).shape
    (2, 3, 1)
    """

    name = "arima"
    has_distribution: ClassVar[bool] = True

    def __init__(
        self,
        *,
        order: tuple[int, int, int] | list[int] | None = None,
        trend: str | None = None,
        criterion: str = "aic",
        max_order: tuple[int, int, int] | list[int] = (2, 1, 2),
        refit_every: int | None = None,
        n_jobs: int = 1,
        progress: bool = True,
    ) -> None:
        super().__init__(refit_every=refit_every, n_jobs=n_jobs, progress=progress)
        self.order = None if order is None else _order("order", order, 3)
        self.trend = trend
        if criterion not in ("aic", "bic"):
            raise ConfigError(f"criterion must be 'aic' or 'bic', got {criterion!r}")
        self.criterion = criterion
        self.max_order = _order("max_order", max_order, 3)

    def _make_model(self, series: np.ndarray, spec: dict[str, Any]) -> Any:
        from statsmodels.tsa.arima.model import ARIMA as StatsmodelsARIMA

        return StatsmodelsARIMA(series, order=spec["order"], trend=self.trend)

    def _fit_model(
        self, model: Any, start_params: np.ndarray | None = None, *, low_memory: bool = False
    ) -> Any:
        # forecasts need no standard errors: skipping the Hessian halves the fit time
        return model.fit(start_params=start_params, cov_type="none", low_memory=low_memory)

    def _candidates(self) -> list[dict[str, Any]]:
        if self.order is not None:
            return [{"order": self.order}]
        grid = itertools.product(*(range(limit + 1) for limit in self.max_order))
        return [{"order": order} for order in grid]

    def _fit_column(self, series: np.ndarray) -> FittedColumn:
        best: FittedColumn | None = None
        best_score, last_error = math.inf, None
        candidates = self._candidates()
        for spec in candidates:
            try:
                results = self._fit_model(self._make_model(series, spec))
            except Exception as error:  # noqa: BLE001 - try the next order
                if len(candidates) == 1:
                    raise
                last_error = error
                continue
            score = float(getattr(results, self.criterion))
            if np.isfinite(score) and score < best_score:
                best_score = score
                best = FittedColumn(spec, np.asarray(results.params), results)
        if best is None:
            raise RuntimeError(f"no order in the search grid could be fitted ({last_error})")
        return best

    def _refit_column(self, series: np.ndarray, fitted: FittedColumn) -> FittedColumn:
        model = self._make_model(series, fitted.spec)
        results = self._fit_model(model, fitted.params, low_memory=True)
        return FittedColumn(fitted.spec, np.asarray(results.params))

    def _forecast_column(
        self, series: np.ndarray, origins: np.ndarray, horizon: int, fitted: FittedColumn
    ) -> np.ndarray:
        padded = np.concatenate([series, np.full(horizon, np.nan)])  # (t_max + 1 + H,)
        # what results.apply(padded) does: the same model on new data, filtered with fixed params
        filtered = self._make_model(padded, fitted.spec).filter(fitted.params)
        return statespace_forecasts(filtered, origins, horizon)  # (N, H)

    def _distribution_column(
        self, series: np.ndarray, origins: np.ndarray, horizon: int, fitted: FittedColumn
    ) -> np.ndarray:
        padded = np.concatenate([series, np.full(horizon, np.nan)])  # (t_max + 1 + H,)
        filtered = self._make_model(padded, fitted.spec).filter(fitted.params)
        mean = statespace_forecasts(filtered, origins, horizon)  # (N, H)
        return np.stack([mean, statespace_variances(filtered, origins, horizon)])  # (2, N, H)

    @property
    def orders(self) -> list[tuple[int, ...]]:
        """The ``(p, d, q)`` fitted for each target column."""
        return [fitted.spec["order"] for fitted in self.columns]


class SARIMAX(ARIMA):
    """statsmodels ``SARIMAX`` with a seasonal order; the rest as :class:`ARIMA`.

    Args:
        order: ``(p, d, q)``.
        seasonal_order: ``(P, D, Q, s)``, or ``(P, D, Q)`` with ``s`` taken from
            ``season_length``.
        season_length: Rows per season, used when ``seasonal_order`` has three entries.
        trend: statsmodels trend (``"n"``, ``"c"``, ``"t"``, ``"ct"``); None: no trend.
        refit_every: Re-estimate every this many origins (None: never).
        n_jobs: Worker processes (-1: all cores).
        progress: Show a tqdm bar on a terminal.
    """

    name = "sarimax"

    def __init__(
        self,
        *,
        order: tuple[int, int, int] | list[int] = (1, 0, 0),
        seasonal_order: tuple[int, ...] | list[int] = (0, 0, 0, 0),
        season_length: int | None = None,
        trend: str | None = None,
        refit_every: int | None = None,
        n_jobs: int = 1,
        progress: bool = True,
    ) -> None:
        super().__init__(
            order=order, trend=trend, refit_every=refit_every, n_jobs=n_jobs, progress=progress
        )
        self.season_length = positive_int_or_none("season_length", season_length)
        if isinstance(seasonal_order, (list, tuple)) and len(seasonal_order) == 3:
            if self.season_length is None:
                raise ConfigError(
                    "seasonal_order [P, D, Q] needs a season_length; "
                    "give seasonal_order as [P, D, Q, s] or set season_length"
                )
            seasonal_order = (*seasonal_order, self.season_length)
        self.seasonal_order = _order("seasonal_order", seasonal_order, 4)

    def _make_model(self, series: np.ndarray, spec: dict[str, Any]) -> Any:
        from statsmodels.tsa.statespace.sarimax import SARIMAX as StatsmodelsSARIMAX

        return StatsmodelsSARIMAX(
            series, order=spec["order"], seasonal_order=self.seasonal_order, trend=self.trend
        )

    def _fit_model(
        self, model: Any, start_params: np.ndarray | None = None, *, low_memory: bool = False
    ) -> Any:
        return model.fit(
            start_params=start_params, cov_type="none", low_memory=low_memory, disp=False
        )
