"""Forecasts as tidy DataFrames: ``predict_frame`` for neural models and baselines alike.

One row per ``(origin, step, target)`` with the origin's time, the forecast's time, the forecast
in original units and, where the data has it, the actual value. ``origin=None`` forecasts from
the last row into the future, its timestamps continuing the data's frequency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from forecastab.data.spec import DataSpec, index_frequency
from forecastab.errors import ConfigError, DataError

FRAME_COLUMNS = ["origin", "timestamp", "step", "target", "forecast", "actual"]
"""The columns of a forecast frame; quantile columns ``q0.1, q0.9, ...`` follow them."""


def quantile_column(level: float) -> str:
    """The column name of a forecast quantile.

    >>> quantile_column(0.05), quantile_column(0.5)
    ('q0.05', 'q0.5')
    """
    return f"q{level:g}"


def future_index(index: pd.Index, steps: int, *, frequency: str | None = None) -> pd.Index:
    """The ``steps`` times after the last one of ``index``, continuing its frequency.

    Args:
        index: a regular time index: dates (daily, hourly, monthly, ...) or numbers.
        steps: how many times to continue.
        frequency: the frequency to use when the index cannot tell (fewer than 3 dates).

    Returns:
        A DatetimeIndex for dates, else a numeric index with the usual step.

    Raises:
        DataError: dates whose frequency cannot be inferred and none given.

    >>> future_index(pd.date_range("2024-01-31", periods=3, freq="ME"), 2).strftime("%Y-%m-%d").tolist()
    ['2024-04-30', '2024-05-31']
    >>> future_index(pd.Index([1990, 1991, 1992]), 2).tolist()
    [1993, 1994]
    """
    if isinstance(index, pd.DatetimeIndex):
        freq = index_frequency(index) or frequency
        if freq is None:
            if len(index) >= 2:
                step = pd.Series(np.diff(index.asi8)).mode().iloc[0]
                return pd.DatetimeIndex(index[-1] + pd.to_timedelta(step, "ns") * np.arange(1, steps + 1))
            raise DataError(
                "cannot continue the timestamps: their frequency is unknown; give a regular series"
            )
        return pd.date_range(index[-1], periods=steps + 1, freq=freq)[1:]
    values = np.asarray(index)
    step = np.diff(values) if len(values) >= 2 else np.ones(1, dtype=values.dtype)
    usual = pd.Series(step).mode().iloc[0] if len(step) else 1
    return pd.Index(values[-1] + usual * np.arange(1, steps + 1))


def forecast_times(index: pd.Index, positions: np.ndarray, horizon: int, **kw: Any) -> np.ndarray:
    """The ``(N, H)`` times forecast from each origin row, continuing past the index's end."""
    extended = index.append(future_index(index, horizon, **kw)) if horizon else index
    rows = positions[:, None] + np.arange(1, horizon + 1)[None, :]  # (N, H)
    return np.asarray(extended)[rows]


def forecast_frame(
    forecasts: np.ndarray,
    positions: np.ndarray,
    index: pd.Index,
    target_columns: Sequence[str],
    *,
    actuals: np.ndarray | None = None,
    quantiles: Mapping[float, np.ndarray] | None = None,
    frequency: str | None = None,
) -> pd.DataFrame:
    """Forecasts ``(N, H, C)`` at origin rows ``positions`` as a tidy frame.

    Args:
        forecasts: ``(N, H, C)`` point forecasts.
        positions: ``(N,)`` row of each origin in ``index``.
        index: the series' time index.
        target_columns: the ``C`` column names.
        actuals: ``(T, C)`` the series, for the ``actual`` column (NaN past its end).
        quantiles: level -> ``(N, H, C)`` forecast quantiles (probabilistic models).
        frequency: used to continue the timestamps when the index cannot tell.

    Returns:
        Columns ``origin, timestamp, step, target, forecast, actual`` and one ``q<level>``
        column per quantile; rows ordered by origin, step, target.
    """
    forecasts = np.asarray(forecasts, dtype=np.float64)
    n, horizon, n_targets = forecasts.shape
    positions = np.asarray(positions, dtype=np.int64)
    times = forecast_times(index, positions, horizon, frequency=frequency)  # (N, H)
    origin_times = np.asarray(index)[positions]  # (N,)
    actual = np.full_like(forecasts, np.nan)  # (N, H, C)
    if actuals is not None:
        actuals = np.asarray(actuals, dtype=np.float64)  # (T, C)
        rows = positions[:, None] + np.arange(1, horizon + 1)[None, :]  # (N, H)
        inside = rows < len(actuals)
        actual[inside] = actuals[rows[inside]]
    frame = pd.DataFrame(
        {
            "origin": np.repeat(origin_times, horizon * n_targets),
            "timestamp": np.repeat(times.ravel(), n_targets),
            "step": np.tile(np.repeat(np.arange(1, horizon + 1), n_targets), n),
            "target": np.tile(np.asarray(list(target_columns), dtype=object), n * horizon),
            "forecast": forecasts.ravel(),
            "actual": actual.ravel(),
        }
    )
    for level, values in sorted((quantiles or {}).items()):
        frame[quantile_column(level)] = np.asarray(values, dtype=np.float64).ravel()
    return frame


def _numeric_origins(labels: list[Any], index: pd.Index) -> list[Any]:
    """Origins given as text (``--origin 1990``) read as numbers when the times are numbers.

    >>> _numeric_origins(["1990", 1991.0], pd.Index([1989.0, 1990.0, 1991.0]))
    [1990.0, 1991.0]
    """
    numbers = []
    for label in labels:
        if isinstance(label, str):
            try:
                label = float(label)
            except ValueError:
                raise DataError(
                    f"origin {label!r} is not a number, but the data's times are numbers "
                    f"({index[0]} to {index[-1]}); give one of them"
                ) from None
        numbers.append(label)
    return numbers


def origin_positions(index: pd.Index, origin: Any, *, context_length: int) -> np.ndarray:
    """Row positions of the requested origins: None is the last row, else times of the index.

    Raises:
        DataError: an origin that is not a time of the data, or without a full context.
    """
    if origin is None:
        positions = np.array([len(index) - 1], dtype=np.int64)
    else:
        many = isinstance(origin, (list, tuple, np.ndarray, pd.Index, pd.Series))
        labels = list(origin) if many else [origin]
        if pd.api.types.is_numeric_dtype(index.dtype):
            labels = _numeric_origins(labels, index)
        try:
            wanted = pd.DatetimeIndex(labels) if isinstance(index, pd.DatetimeIndex) else pd.Index(labels)
        except (TypeError, ValueError):
            raise DataError(f"origin {labels[0]!r} is not a time; give times of the data's index") from None
        positions = index.get_indexer(wanted).astype(np.int64)
        if (positions < 0).any():
            bad = labels[int(np.flatnonzero(positions < 0)[0])]
            raise DataError(
                f"origin {bad!r} is not a time in the data ({index[0]} to {index[-1]}); "
                "give times of the data's index, or origin=None for the end of the data"
            )
    short = positions < context_length - 1
    if short.any():
        first = int(positions[short][0])
        raise DataError(
            f"origin {index[first]} has only {first + 1} rows of context but the model needs "
            f"{context_length}; choose an origin at or after {index[context_length - 1]}"
        )
    return positions


def check_frequency(index: pd.Index, trained: str | None) -> None:
    """Refuse data whose time steps differ from the frequency the model was trained on.

    A model trained on daily data forecasts hourly data as if every hour were a day: the
    numbers look fine and mean nothing. Only checked when both frequencies are known.

    Raises:
        DataError: the two frequencies differ.

    >>> check_frequency(pd.date_range("2024-01-01", periods=5, freq="h"), "D")
    Traceback (most recent call last):
    ...
    forecastab.errors.DataError: the data's time step is 'h' but the model was trained on 'D' data; give data at the trained frequency (resample it)
    """
    found = index_frequency(index)
    if trained is None or found is None:
        return
    try:
        same = pd.tseries.frequencies.to_offset(found) == pd.tseries.frequencies.to_offset(trained)
    except ValueError:
        same = found == trained
    if not same:
        raise DataError(
            f"the data's time step is '{found}' but the model was trained on '{trained}' data; "
            "give data at the trained frequency (resample it)"
        )


def predict_frame(
    forecaster: Any,
    data: Any,
    *,
    spec: DataSpec | None,
    origin: Any = None,
    horizon: int | None = None,
    quantiles: Sequence[float] | None = None,
    future: Any = None,
    ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Free-running forecasts of any forecaster from raw data, as a tidy frame in original units.

    Args:
        forecaster: a model with the uniform ``predict_origins`` interface.
        data: a ``WindowDataModule``, a DataFrame, a CSV path or a bundled dataset name, in
            original units.
        spec: the data settings the forecaster was fitted with; None takes them from ``data``
            when it is a ``WindowDataModule``.
        origin: None (the last row: a forecast into the future), a time of the data's index,
            or a list of them.
        horizon: steps to forecast (a positive integer); the trained horizon when None.
        quantiles: forecast quantile levels (e.g. ``[0.1, 0.9]``), for probabilistic models
            that offer ``predict_quantiles``.
        future: for a model fitted with future covariates, the rows of the forecast dates with
            those covariates (a DataFrame or CSV path; with the id column for a long panel).
        ids: the series to forecast, for a model fitted on a panel (None: every id).

    Returns:
        See :func:`forecast_frame`; a panel's frame starts with a ``unique_id`` column.

    Raises:
        DataError: data without the model's columns, too short for one context, at another
            frequency than the model was trained on, or an origin that is not a time of the data.
        ConfigError: a horizon that is not a positive integer, no data settings to forecast raw data with, or quantiles from a point
            forecaster.
    """
    is_datamodule = hasattr(data, "target_columns") and hasattr(data, "context_length")
    if getattr(data, "panel", None) is not None or (
        spec is not None and spec.panel is not None and not is_datamodule
    ):
        return _panel_frame(
            forecaster, data, spec=spec, origin=origin, horizon=horizon, quantiles=quantiles,
            future=future, ids=ids,
        )  # fmt: skip
    if spec is None:
        if not is_datamodule:
            raise ConfigError(
                f"model '{getattr(forecaster, 'name', '?')}' has no data settings (scaler, columns) "
                "to read raw data with: fit it on a WindowDataModule, load it with "
                "forecastab.load, or pass the WindowDataModule itself"
            )
        spec = DataSpec.from_datamodule(data)
    series = data.series if is_datamodule else spec.read(data)  # (T, C) original units
    missing = [c for c in spec.target_columns if c not in series.columns]
    if missing:
        raise DataError(
            f"the data has no target column '{missing[0]}' the model was trained on; "
            f"available columns: {', '.join(map(str, series.columns))}"
        )
    series = series[list(spec.target_columns)]
    check_frequency(series.index, spec.frequency)
    horizon = spec.horizon if horizon is None else horizon
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ConfigError(
            f"horizon must be a positive integer, got {horizon!r}; leave it out for the trained "
            f"horizon ({spec.horizon})"
        )
    horizon = int(horizon)
    positions = origin_positions(series.index, origin, context_length=spec.context_length)
    raw = series.to_numpy(dtype=np.float64)  # (T, C)
    values = spec.scaler.transform(raw).astype(np.float32)  # (T, C) as the model was fitted
    scaled = forecaster.predict_origins(
        values, positions, context_length=spec.context_length, horizon=horizon
    )  # (N, H, C)
    forecasts = spec.scaler.inverse_transform(np.asarray(scaled))  # (N, H, C)
    levels = None
    if quantiles:
        if not hasattr(forecaster, "predict_quantiles"):
            raise ConfigError(
                f"model '{getattr(forecaster, 'name', '?')}' gives point forecasts only; "
                "quantiles need a probabilistic model (a distribution head)"
            )
        scaled_levels = forecaster.predict_quantiles(
            values, positions, context_length=spec.context_length, horizon=horizon,
            quantiles=list(quantiles),
        )  # level -> (N, H, C)
        levels = {q: spec.scaler.inverse_transform(np.asarray(v)) for q, v in scaled_levels.items()}
    return forecast_frame(
        forecasts,
        positions,
        series.index,
        spec.target_columns,
        actuals=raw,
        quantiles=levels,
        frequency=spec.frequency,
    )


def _panel_frame(
    forecaster: Any,
    data: Any,
    *,
    spec: DataSpec | None,
    origin: Any,
    horizon: int | None,
    quantiles: Sequence[float] | None,
    future: Any,
    ids: Sequence[str] | None,
) -> pd.DataFrame:
    """:func:`predict_frame` of a model fitted on a panel (or with covariates): one forecast
    frame per series, scaled by that series' scaler, with a ``unique_id`` column first when
    the data has ids."""
    from forecastab.data.panel_spec import read_for_forecast

    if spec is None:
        spec = DataSpec.from_datamodule(data)
    horizon = int(horizon or spec.horizon)
    if horizon < 1:
        raise ConfigError(f"horizon must be a positive integer, got {horizon}")
    if getattr(data, "panel", None) is not None:
        wanted = list(ids) if ids else list(data.series_ids)
        series_list = [data.series_data(name) for name in wanted]
    else:
        series_list = read_for_forecast(spec, data, future=future, ids=ids, horizon=horizon)
    frames = []
    for series in series_list:
        positions = origin_positions(series.index, origin, context_length=spec.context_length)
        extra = {} if series.covariates is None else {"covariates": series.covariates}
        scaled = forecaster.predict_origins(
            series.values, positions, context_length=spec.context_length, horizon=horizon,
            **extra,
        )  # (N, H, C)
        levels = None
        if quantiles:
            scaled_levels = forecaster.predict_quantiles(
                series.values, positions, context_length=spec.context_length, horizon=horizon,
                quantiles=list(quantiles), **extra,
            )  # level -> (N, H, C)
            levels = {
                q: series.scaler.inverse_transform(np.asarray(v)) for q, v in scaled_levels.items()
            }
        frame = forecast_frame(
            series.scaler.inverse_transform(np.asarray(scaled)),
            positions,
            series.index,
            spec.target_columns,
            actuals=series.raw_values,
            quantiles=levels,
            frequency=spec.frequency,
        )
        if spec.panel is None or spec.panel.get("has_ids", True):
            frame.insert(0, "unique_id", series.series_id)  # one series without ids: none
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
