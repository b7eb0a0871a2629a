"""What a forecaster fitted on a panel must remember to forecast raw data later.

:func:`panel_entry` stores, as plain types a checkpoint can carry, the id column and layout,
every series' id and train-fitted scalers, the covariate settings and the static encoding.
:func:`read_for_forecast` turns raw data (and optional future covariates) back into one
:class:`~forecastab.data.series_data.SeriesData` per id, scaled as in training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecastab.data.covariates import CovariateSpec, StaticEncoding, calendar_features
from forecastab.data.panel import DEFAULT_ID_COLUMN, WIDE_TARGET, read_frame, split_long_frame
from forecastab.data.series_data import SeriesCovariates, SeriesData
from forecastab.data.splits import Borders, Scaler
from forecastab.errors import DataError


def _scaler_lists(scaler: Scaler) -> list[list[float]]:
    return [[float(v) for v in np.ravel(scaler.mean)], [float(v) for v in np.ravel(scaler.std)]]


def panel_entry(data: Any) -> dict[str, Any]:
    """The panel settings of a ``WindowDataModule`` that went through the panel path."""
    panel = data.panel
    return {
        "id_column": data.id_column,
        "series": data.series_layout,
        "has_ids": bool(data.has_ids),
        "ids": list(panel.ids),
        "scalers": [_scaler_lists(s) for s in panel.scalers],
        "covariate_scalers": [_scaler_lists(s) for s in panel.covariate_scalers],
        "scaling": panel.scalers[0].kind,
        "covariates": data.covariate_spec.to_dict(),
        "static_encoding": panel.static_encoding.to_list(),
    }


def _scaler(entry: Sequence[Sequence[float]], kind: str) -> Scaler:
    return Scaler(mean=np.asarray(entry[0]), std=np.asarray(entry[1]), kind=kind)


def read_for_forecast(
    spec: Any,
    data: pd.DataFrame | str | Path,
    *,
    future: pd.DataFrame | str | Path | None = None,
    ids: Sequence[str] | None = None,
    horizon: int,
) -> list[SeriesData]:
    """Raw data (and future covariates for the forecast dates) as scaled series, one per id.

    Args:
        spec: the forecaster's ``DataSpec`` (with its ``panel`` entry).
        data: the history, in the layout the model was fitted on (long frame with ids, or
            wide with ``series: columns``), in original units.
        future: rows after the history with the future covariates (and calendar dates) of
            the forecast dates: a long frame with the id and time columns for a long panel.
        ids: the ids to forecast (None: every id of the data).
        horizon: steps to forecast.

    Raises:
        DataError: an id unknown to the checkpoint, a category unseen in training, or future
            covariates missing for the forecast dates (naming the columns, ids and dates).
    """
    entry: Mapping[str, Any] = spec.panel
    covariates = CovariateSpec.from_dict(entry["covariates"])
    kind = entry["scaling"]
    frames, _, _, _ = split_long_frame(
        data,
        id_column=entry["id_column"],
        series_layout=entry["series"],
        target=None if entry["series"] == "columns" else list(spec.target_columns),
        time_column=spec.time_column,
        covariates={
            "future": list(covariates.future),
            "past": list(covariates.past),
            "static": list(covariates.static),
        },
        calendar=list(covariates.calendar),
        fill_missing=None,
        allow_irregular=False,
    )
    known = list(entry["ids"])
    by_id = {frame.id: frame for frame in frames}
    if entry["series"] == "columns":
        by_id = {name: frame for name, frame in by_id.items() if name in known}
    wanted = list(ids) if ids else list(by_id)
    for name in wanted:
        if name not in known:
            raise DataError(
                f"series '{name}' is unknown to the checkpoint (it was fitted on "
                f"{', '.join(known[:8])}{', ...' if len(known) > 8 else ''}); forecast known ids "
                "or retrain with this one"
            )
        if name not in by_id:
            raise DataError(f"series '{name}' is not in the data; give its history")
    encoding = StaticEncoding.from_list(entry["static_encoding"])
    static_table = pd.DataFrame([by_id[n].static for n in wanted], index=wanted)
    static = encoding.transform(static_table) if covariates.static else None
    future_rows = _future_rows(future, entry, spec, covariates) if future is not None else {}
    result = []
    for position, name in enumerate(wanted):
        item = by_id[name]
        i = known.index(name)
        scaler = _scaler(entry["scalers"][i], kind)
        covariate_scaler = _scaler(entry["covariate_scalers"][i], kind)
        frame = item.frame
        raw = frame[list(spec.target_columns)].to_numpy(dtype=np.float64)  # (T, C)
        series_covariates = None
        if not covariates.empty:
            series_covariates = _covariates_for(
                name, frame, future_rows.get(name), covariates, covariate_scaler,
                None if static is None else static[position], horizon, spec,
            )  # fmt: skip
        length = len(frame)
        result.append(
            SeriesData(
                name=spec.name,
                series_id=name,
                context_length=spec.context_length,
                horizon=horizon,
                stride=1,
                index=frame.index,
                values=scaler.transform(raw).astype(np.float32),
                raw_values=raw,
                scaler=scaler,
                borders=Borders(train=(0, length), val=None, test=(0, length)),
                target_columns=list(spec.target_columns),
                season_length=spec.season_length,
                covariates=series_covariates,
            )
        )
    return result


def _future_rows(
    future: pd.DataFrame | str | Path,
    entry: Mapping[str, Any],
    spec: Any,
    covariates: CovariateSpec,
) -> dict[str, pd.DataFrame]:
    """The future covariate rows per id (index: time), from a long or wide frame."""
    frame = read_frame(future)
    time_column = spec.time_column
    if time_column is None or time_column not in frame.columns:
        raise DataError(
            f"the future covariates need the time column '{time_column}' with the forecast "
            "dates; add it"
        )
    missing = [c for c in covariates.future if c not in frame.columns]
    if missing:
        raise DataError(
            f"the future covariates lack the column(s) {', '.join(missing)}; add them for the "
            "forecast dates"
        )
    from forecastab.data.validation import _parse_time

    frame = frame.assign(**{time_column: _parse_time(frame, time_column, "")})
    id_column = entry["id_column"]
    if id_column is None or id_column not in frame.columns:
        shared = frame.set_index(time_column)
        return {name: shared for name in entry["ids"]}
    return {
        str(name): group.drop(columns=id_column).set_index(time_column)
        for name, group in frame.groupby(id_column, sort=False)
    }


def _covariates_for(
    name: str,
    frame: pd.DataFrame,
    future_frame: pd.DataFrame | None,
    covariates: CovariateSpec,
    scaler: Scaler,
    static: np.ndarray | None,
    horizon: int,
    spec: Any,
) -> SeriesCovariates:
    """One series' scaled covariates, the future ones extended over the forecast dates."""
    from forecastab.forecasting import future_index

    real = [*covariates.future, *covariates.past]
    scaled = scaler.transform(frame[real].to_numpy(dtype=np.float64)).astype(np.float32)
    n_future = len(covariates.future)
    past = scaled[:, n_future:] if covariates.past else None
    future = None
    if covariates.future_names:
        dates = future_index(frame.index, horizon, frequency=spec.frequency)
        index = frame.index.append(dates)
        named = scaled[:, :n_future]
        if covariates.future:
            rows = None if future_frame is None else future_frame.reindex(dates)
            lacking = (
                list(covariates.future)
                if rows is None
                else [c for c in covariates.future if rows[c].isna().any()]
            )
            if lacking:
                when = dates if rows is None else dates[rows[lacking].isna().any(axis=1).to_numpy()]
                raise DataError(
                    f"series '{name}': future covariate(s) {', '.join(lacking)} missing for the "
                    f"forecast dates {when[0]} to {when[-1]}; pass them with --future CSV "
                    f"(columns {spec.time_column}, {', '.join(covariates.future)})"
                )
            ahead = np.zeros((horizon, len(real)))
            ahead[:, :n_future] = rows[list(covariates.future)].to_numpy(dtype=np.float64)
            # the scaler centres every real column; only the future ones are kept
            ahead_scaled = scaler.transform(ahead)[:, :n_future].astype(np.float32)
            named = np.concatenate([named, ahead_scaled])
        else:
            named = np.zeros((len(index), 0), dtype=np.float32)
        future = np.concatenate([named, calendar_features(index, covariates.calendar)], axis=1)
    return SeriesCovariates(past=past, future=future, static=static)


__all__ = ["DEFAULT_ID_COLUMN", "WIDE_TARGET", "panel_entry", "read_for_forecast"]
