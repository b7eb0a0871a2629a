"""What every baseline shares: the forecast interface, input checks, failure records, workers.

A baseline follows the statsmodels shape Model -> fit() -> results -> forecast(steps) behind the
uniform forecast interface of the neural models: ``fit(values, train_stop)`` estimates on the
training rows, ``predict_origins(values, origins, context_length=..., horizon=...)`` returns
``(N, H, C)`` free-running forecasts of ``values[t+1 : t+H+1]`` for each origin ``t``, using the
whole history ``values[: t+1]``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from forecastab.errors import ConfigError, DataError


class BaselineWarning(UserWarning):
    """A baseline failed, or statsmodels warned while fitting or forecasting it."""


def check_values(values: np.ndarray) -> np.ndarray:
    """The series as a float64 ``(T, C)`` array, or a DataError naming what is wrong.

    >>> check_values(np.zeros((5, 1), dtype=np.float32)).dtype
    dtype('float64')
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise DataError(
            f"values must be a (T, C) array of rows x target columns, got shape {array.shape}; "
            "reshape a single series with values[:, None]"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DataError(
            f"values must have at least one row and one column, got shape {array.shape}"
        )
    return array


def check_origins(
    origins: np.ndarray | Sequence[int], n_rows: int, *, context_length: int, horizon: int
) -> np.ndarray:
    """Origins as an int64 ``(N,)`` array, each with a full context inside the series.

    >>> check_origins([3, 4], 10, context_length=4, horizon=2)
    array([3, 4])
    """
    if int(horizon) != horizon or horizon < 1:
        raise ConfigError(f"horizon must be a positive integer, got {horizon!r}")
    if int(context_length) != context_length or context_length < 1:
        raise ConfigError(f"context_length must be a positive integer, got {context_length!r}")
    array = np.asarray(origins)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise DataError(
            f"origins must be a 1-D array of integer row indices, got {array.dtype} {array.shape}"
        )
    array = array.astype(np.int64)
    if array.size == 0:
        return array
    low, high = int(array.min()), int(array.max())
    if low < context_length - 1:
        raise DataError(
            f"origin {low} has only {low + 1} rows of context but context_length is {context_length}; "
            f"use origins >= {context_length - 1}"
        )
    if high >= n_rows:
        raise DataError(f"origin {high} is past the last row {n_rows - 1} of the series")
    return array


def check_mode(name: str, mode: str) -> None:
    """Baselines forecast free-running only: any other mode is a ConfigError."""
    if mode != "free_running":
        raise ConfigError(
            f"baseline '{name}' supports only mode 'free_running', not {mode!r}; "
            "evaluate baselines with modes=('free_running',)"
        )


def check_train_stop(train_stop: int, n_rows: int) -> int:
    """The end of the training rows ``[0, train_stop)``, checked against the series length."""
    if int(train_stop) != train_stop or not 1 <= train_stop <= n_rows:
        raise DataError(f"train_stop must be an integer in [1, {n_rows}], got {train_stop!r}")
    return int(train_stop)


def positive_int_or_none(key: str, value: int | None) -> int | None:
    """Validate an optional positive integer parameter such as ``season_length``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{key} must be a positive integer or null, got {value!r}")
    return int(value)


class Baseline:
    """The uniform forecast interface for a classical baseline.

    Attributes:
        name: The registry name (``naive``, ``arima``, ...), also the model label in results.
        supported_modes: Only ``("free_running",)``: a baseline has no teacher-forced mode.
        is_baseline: True: evaluation labels its rows with strategy ``baseline``.
        failed: None, or the error message when fitting or forecasting failed; a failed
            baseline returns NaN forecasts instead of raising.
    """

    name: ClassVar[str] = "baseline"
    supported_modes: tuple[str, ...] = ("free_running",)
    is_baseline: ClassVar[bool] = True

    def __init__(self) -> None:
        self.failed: str | None = None
        self.n_targets: int | None = None
        self.data_spec: Any = None  # a DataSpec when fitted on a WindowDataModule

    def fit(self, values: np.ndarray | Any, train_stop: int | None = None) -> Baseline:
        """Estimate on the training rows ``values[:train_stop]``.

        Args:
            values: ``(T, C)`` series in the units the forecasts are wanted in, or a
                ``WindowDataModule``: its scaled values and training rows, and its season
                length for a baseline given none (as in YAML).
            train_stop: End of the training rows ``[0, train_stop)``; taken from the data
                module when one is given.

        Returns:
            self, fitted.
        """
        values, train_stop = self._fit_inputs(values, train_stop)
        values = check_values(values)
        check_train_stop(train_stop, len(values))
        self.failed = None
        self.n_targets = values.shape[1]
        return self

    def _fit_inputs(self, data: np.ndarray | Any, train_stop: int | None) -> tuple[Any, int]:
        """``(values, train_stop)`` from an array or a data module, learning the data's settings."""
        if hasattr(data, "scaler") and hasattr(data, "borders"):
            from forecastab.data.spec import DataSpec

            self.data_spec = DataSpec.from_datamodule(data)
            if getattr(self, "season_length", 0) is None and data.season_length is not None:
                self.season_length = int(data.season_length)
            stop = data.borders.train[1] if train_stop is None else train_stop
            return data.values, stop
        if train_stop is None:
            raise ConfigError(
                f"baseline '{self.name}': fit(values, train_stop) needs train_stop, the end of "
                "the training rows; or pass a WindowDataModule: fit(dm)"
            )
        return data, train_stop

    def predict_frame(
        self,
        data: Any,
        origin: Any = None,
        *,
        horizon: int | None = None,
    ) -> Any:
        """Forecasts as a tidy frame in original units, as ``ForecastModule.predict_frame``.

        Args:
            data: a ``WindowDataModule``, or a DataFrame / CSV path when the baseline was
                fitted on a data module (it then knows the scaler and columns).
            origin: None for the last row (a forecast into the future), or time(s) of the index.
            horizon: steps ahead; the data module's horizon when None.

        Returns:
            One row per ``(origin, step, target)`` (:func:`forecastab.forecasting.forecast_frame`).
        """
        from forecastab.forecasting import predict_frame

        return predict_frame(self, data, spec=self.data_spec, origin=origin, horizon=horizon)

    def predict_origins(
        self,
        values: np.ndarray,
        origins: np.ndarray,
        *,
        context_length: int,
        horizon: int,
        mode: str = "free_running",
    ) -> np.ndarray:
        """Free-running forecasts of ``values[t+1 : t+H+1]`` from every origin ``t``.

        Args:
            values: ``(T, C)`` full series; only rows up to each origin are used for its forecast.
            origins: ``(N,)`` integer row index of the last observed value of each forecast.
            context_length: Checked for a full context at every origin; baselines use the whole
                history up to the origin, not only the last ``context_length`` rows.
            horizon: Steps ahead ``H``.
            mode: Only ``"free_running"``.

        Returns:
            ``(N, H, C)`` float64 forecasts; all NaN when the baseline has failed.
        """
        check_mode(self.name, mode)
        values = check_values(values)
        origins = check_origins(
            origins, len(values), context_length=context_length, horizon=horizon
        )
        if self.n_targets is not None and values.shape[1] != self.n_targets:
            raise DataError(
                f"baseline '{self.name}' was fitted on {self.n_targets} target column(s), "
                f"got values with {values.shape[1]}"
            )
        if self.failed is not None:
            return np.full((len(origins), horizon, values.shape[1]), np.nan)  # (N, H, C)
        return self._predict(values, origins, horizon)

    def _predict(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        raise NotImplementedError

    def _mark_failed(self, message: str) -> None:
        self.failed = message
        warnings.warn(f"baseline '{self.name}' failed: {message}", BaselineWarning, stacklevel=3)

    def __repr__(self) -> str:
        state = f", failed={self.failed!r}" if self.failed else ""
        return f"{type(self).__name__}(name={self.name!r}{state})"


@dataclass
class TaskResult:
    """What one unit of work sends back: its output or its error, and statsmodels' warnings."""

    output: Any = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def run_captured(function: Callable[..., Any], *args: Any) -> TaskResult:
    """Call ``function(*args)``, catching its exception and recording every warning it raises.

    >>> run_captured(divmod, 7, 2).output
    (3, 1)
    >>> run_captured(divmod, 1, 0).error
    'ZeroDivisionError: integer division or modulo by zero'
    """
    result = TaskResult()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result.output = function(*args)
        except Exception as error:  # noqa: BLE001 - a failed fit is recorded, never raised
            result.error = f"{type(error).__name__}: {error}"
    result.warnings = [f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught]
    return result


def resolve_n_jobs(n_jobs: int) -> int:
    """``n_jobs`` as a worker count: -1 means every CPU core."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)):
        raise ConfigError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    if n_jobs == -1:
        return os.cpu_count() or 1
    if n_jobs < 1:
        raise ConfigError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    return int(n_jobs)


def run_tasks(
    function: Callable[..., Any],
    tasks: list[tuple[Any, ...]],
    *,
    n_jobs: int,
    progress: bool,
    description: str,
) -> list[TaskResult]:
    """Run ``function(*task)`` for every task, in worker processes when ``n_jobs > 1``.

    Processes are started with ``forkserver`` so workers never inherit the threads of a parent
    that has torch or BLAS thread pools running. A tqdm bar counts finished tasks when there is
    more than one, ``progress`` is True and stderr is a terminal.

    Returns:
        One TaskResult per task, in task order.
    """
    show = progress and len(tasks) > 1 and sys.stderr.isatty()
    results: list[TaskResult | None] = [None] * len(tasks)
    with tqdm(total=len(tasks), desc=description, disable=not show, leave=False) as bar:
        if n_jobs == 1 or len(tasks) == 1:
            # statsmodels' matrices are small: one BLAS thread is faster than several here
            with threadpool_limits(limits=1, user_api="blas"):
                for index, task in enumerate(tasks):
                    results[index] = run_captured(function, *task)
                    bar.update()
        else:
            context = multiprocessing.get_context("forkserver")
            # the server imports statsmodels once; each worker forks from it already loaded
            context.set_forkserver_preload(["forecastab.baselines"])
            workers = min(n_jobs, len(tasks))
            with _single_threaded_blas(), ProcessPoolExecutor(workers, mp_context=context) as pool:
                futures = {
                    pool.submit(run_captured, function, *task): index
                    for index, task in enumerate(tasks)
                }
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    bar.update()
    return [result for result in results if result is not None]


_BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """One BLAS thread in the worker processes started meanwhile.

    Each worker already is one of ``n_jobs`` parallel tasks; BLAS threads on top of that
    oversubscribe the cores (measured: 2 workers with 2 BLAS threads each on 2 cores ran ARIMA
    refits at 0.74x the speed of one process). The forkserver reads these variables when it
    starts, before it imports numpy.
    """
    saved = {name: os.environ.get(name) for name in _BLAS_THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(_BLAS_THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def summarize_warnings(name: str, stage: str, results: list[TaskResult]) -> str | None:
    """One line that counts the warnings statsmodels raised over many tasks, or None.

    >>> summarize_warnings("arima", "fit", [TaskResult(warnings=["ConvergenceWarning: x"] * 3)])
    "baseline 'arima': statsmodels warned 3 times during fit: ConvergenceWarning: x (3x)"
    """
    counts = Counter(message for result in results for message in result.warnings)
    if not counts:
        return None
    total = sum(counts.values())
    (message, count), *others = counts.most_common()
    more = f"; and {len(others)} other kind(s)" if others else ""
    return (
        f"baseline '{name}': statsmodels warned {total} times during {stage}: "
        f"{message} ({count}x){more}"
    )
