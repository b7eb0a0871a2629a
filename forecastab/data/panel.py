"""Many series as one panel: validated per series, stored CSR-style, split and scaled per series.

A panel keeps every series' rows in one concatenated array and an ``indptr`` of offsets
(series ``i`` is rows ``indptr[i]:indptr[i+1]``), as NeuralForecast's ``TimeSeriesDataset``
does: memory is the data, a series is a slice, nothing per window is stored. Ids and column
names stop here: the networks receive channels.

Input shapes:

- a long frame: ``id_column`` (default ``unique_id`` when present), ``time_column``, target
  column(s) and covariate columns, one row per (id, time);
- a wide frame with ``series: columns``: each target column is its own series (channel
  independence, as the long-horizon papers treat ETTh1's 7 columns), sharing the time column
  and any covariate columns.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from forecastab.data.covariates import CovariateSpec, StaticEncoding, calendar_features
from forecastab.data.splits import (
    Borders,
    Scaler,
    fraction_borders,
    informer_borders,
    split_is_usable,
)
from forecastab.data.validation import (
    FillMissing,
    _parse_time,
    fill_without_look_ahead,
    read_csv,
    validate_series,
)
from forecastab.errors import DataError

DEFAULT_ID_COLUMN = "unique_id"
SERIES_LAYOUTS = ("rows", "columns")
WIDE_TARGET = "value"
"""The target name of every series of a wide frame read with ``series: columns``."""
DATE_SPLIT_KEYS = ("val_start", "test_start", "test_end")


@dataclass
class SeriesFrame:
    """One validated series: targets and real covariates in original units, indexed by time."""

    id: str
    frame: pd.DataFrame
    static: dict[str, object] = field(default_factory=dict)


def _where(data: object) -> str:
    return f"{data}: " if isinstance(data, (str, Path)) else ""


def read_frame(data: pd.DataFrame | str | Path) -> pd.DataFrame:
    """A CSV path or DataFrame as a DataFrame with string column names."""
    frame = read_csv(data) if isinstance(data, (str, Path)) else data
    if frame.empty:
        raise DataError("the DataFrame has no rows; pass a series with data")
    return frame.set_axis([str(c) for c in frame.columns], axis=1)


def _targets_of(
    frame: pd.DataFrame, target: str | Sequence[str] | None, exclude: Sequence[str], where: str
) -> list[str]:
    if target is None:
        targets = [c for c in frame.columns if c not in exclude]
        if not targets:
            raise DataError(f"{where}no columns left to forecast; name the target column(s)")
        return targets
    targets = [str(target)] if isinstance(target, str | int) else [str(t) for t in target]
    missing = [t for t in targets if t not in frame.columns]
    if missing:
        raise DataError(
            f"{where}unknown target column '{missing[0]}'; available columns: "
            f"{', '.join(frame.columns)}"
        )
    return targets


def split_long_frame(
    data: pd.DataFrame | str | Path,
    *,
    id_column: str | None,
    series_layout: str,
    target: str | Sequence[str] | None,
    time_column: str | None,
    covariates: Mapping[str, Sequence[str]] | None,
    calendar: Sequence[str] | None,
    fill_missing: FillMissing | None,
    allow_irregular: bool,
) -> tuple[list[SeriesFrame], list[str], CovariateSpec, bool]:
    """Validate every series of a long (or wide) frame on its own.

    Returns:
        ``(series, target columns, covariate spec, has_ids)``.

    Raises:
        DataError: one line naming the series (and the column or row) and the fix.
    """
    where = _where(data)
    frame = read_frame(data)
    if series_layout not in SERIES_LAYOUTS:
        raise DataError(f"series must be 'rows' (a long frame) or 'columns', got {series_layout!r}")
    if time_column is not None and time_column not in frame.columns and frame.index.name == time_column:
        frame = frame.reset_index()
    elif time_column is None and isinstance(frame.index, pd.DatetimeIndex):
        # a time-indexed DataFrame (a bundled dataset): its index is the time column
        time_column = str(frame.index.name or "time")
        frame = frame.rename_axis(time_column).reset_index()
    if series_layout == "columns":
        if id_column is not None:
            raise DataError(
                "series: columns reads a wide frame (one series per target column) and takes no "
                "id_column; drop one of the two"
            )
        return _wide(frame, target, time_column, covariates, calendar, fill_missing,
                     allow_irregular, where)  # fmt: skip
    has_ids = True
    if id_column is None:
        id_column = DEFAULT_ID_COLUMN if DEFAULT_ID_COLUMN in frame.columns else None
    if id_column is None:
        has_ids = False
        frame = frame.assign(**{DEFAULT_ID_COLUMN: "series"})
        id_column = DEFAULT_ID_COLUMN
    elif id_column not in frame.columns:
        raise DataError(
            f"{where}unknown id column '{id_column}'; available columns: {', '.join(frame.columns)}; "
            "name the column that holds the series ids"
        )
    exclude = [id_column, *([time_column] if time_column else [])]
    spec_names = CovariateSpec.from_options(covariates, calendar, targets=[])
    targets = _targets_of(frame, target, [*exclude, *spec_names.columns], where)
    spec = CovariateSpec.from_options(covariates, calendar, targets=targets)
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{where}unknown covariate column '{missing[0]}'; available columns: "
            f"{', '.join(frame.columns)}"
        )
    if frame[id_column].isna().any():
        row = int(np.flatnonzero(frame[id_column].isna().to_numpy())[0])
        raise DataError(f"{where}id column '{id_column}' is empty at row {row}; give every row an id")
    if time_column is not None:
        if time_column not in frame.columns:
            raise DataError(
                f"{where}unknown time column '{time_column}'; available columns: {', '.join(frame.columns)}"
            )
        frame = frame.assign(**{time_column: _parse_time(frame, time_column, where)})
        frame = frame.sort_values([id_column, time_column], kind="stable")
    series = []
    real = [*targets, *spec.future, *spec.past]
    for key, group in frame.groupby(id_column, sort=True):
        name = str(key)
        label = f"{where}series '{name}': " if has_ids else where
        static = {}
        for column in spec.static:
            values = group[column]
            if values.isna().any():
                raise DataError(
                    f"{label}static covariate '{column}' is empty; give it a value in every row"
                )
            if values.nunique() > 1:
                raise DataError(
                    f"{label}static covariate '{column}' varies within the series "
                    f"({', '.join(map(str, values.unique()[:3]))}); a static value is one per "
                    "series: make it constant or list it as a past covariate"
                )
            static[column] = values.iloc[0]
        try:
            validated = validate_series(
                group[[*([time_column] if time_column else []), *real]].reset_index(drop=True),
                target=real,
                time_column=time_column,
                fill_missing=fill_missing,
                allow_irregular=allow_irregular,
                keep_missing=fill_missing == "interpolate",
            )
        except DataError as error:
            raise DataError(f"{label}{_covariate_hint(str(error), spec)}") from None
        series.append(SeriesFrame(name, validated, static))
    _check_frequencies(series, where)
    return series, targets, spec, has_ids


def _covariate_hint(message: str, spec: CovariateSpec) -> str:
    """Validation's message, with 'non-numeric target columns' fixed for covariate columns."""
    for name in spec.columns:
        if f"column '{name}'" in message:
            return message.replace("choose numeric target columns", "make the covariate numeric")
    return message


def _wide(
    frame: pd.DataFrame,
    target: str | Sequence[str] | None,
    time_column: str | None,
    covariates: Mapping[str, Sequence[str]] | None,
    calendar: Sequence[str] | None,
    fill_missing: FillMissing | None,
    allow_irregular: bool,
    where: str,
) -> tuple[list[SeriesFrame], list[str], CovariateSpec, bool]:
    names = CovariateSpec.from_options(covariates, calendar, targets=[])
    exclude = [*([time_column] if time_column else []), *names.columns]
    targets = _targets_of(frame, target, exclude, where)
    spec = CovariateSpec.from_options(covariates, calendar, targets=targets)
    if spec.static:
        raise DataError(
            "static covariates need a long frame with ids (one value per id); series: columns "
            "shares every column across its series"
        )
    columns = [*targets, *spec.future, *spec.past]
    validated = validate_series(
        frame[[*([time_column] if time_column else []), *columns]]
        if time_column
        else frame[columns],
        target=columns,
        time_column=time_column,
        fill_missing=fill_missing,
        allow_irregular=allow_irregular,
        keep_missing=fill_missing == "interpolate",
    )
    shared = [*spec.future, *spec.past]
    series = [
        SeriesFrame(name, validated[[name, *shared]].rename(columns={name: WIDE_TARGET}))
        for name in targets
    ]
    return series, [WIDE_TARGET], spec, True


def _check_frequencies(series: list[SeriesFrame], where: str) -> None:
    from forecastab.data.spec import index_frequency

    found = {s.id: index_frequency(s.frame.index) for s in series}
    known = [f for f in found.values() if f is not None]
    if len(set(known)) <= 1:
        return
    usual = pd.Series(known).mode().iloc[0]
    odd = next(name for name, f in found.items() if f is not None and f != usual)
    raise DataError(
        f"{where}series '{odd}' has frequency {found[odd]} where the other series have {usual}; "
        f"resample it to {usual} or leave it out"
    )


def date_borders(index: pd.Index, split: Mapping[str, object]) -> Borders:
    """Borders of one series from date cut-offs shared by every series.

    Train is every row before ``val_start`` (or ``test_start`` without it), validation rows
    ``[val_start, test_start)``, test rows from ``test_start`` on (to ``test_end``, excluded,
    when given).
    """
    if "test_start" not in split:
        raise DataError("a date split needs test_start (and optionally val_start), e.g. "
                        "{val_start: '2017-06-01', test_start: '2017-10-01'}")  # fmt: skip
    try:
        cuts = {k: pd.Timestamp(split[k]) for k in DATE_SPLIT_KEYS if k in split}
    except (TypeError, ValueError):
        raise DataError(f"split dates must be dates such as '2017-06-01', got {dict(split)!r}") from None
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError("a date split needs a time column with dates; give split fractions instead")
    test = int(index.searchsorted(cuts["test_start"]))
    end = int(index.searchsorted(cuts["test_end"])) if "test_end" in cuts else len(index)
    val = int(index.searchsorted(cuts["val_start"])) if "val_start" in cuts else test
    if "val_start" in cuts and cuts["val_start"] > cuts["test_start"]:
        raise DataError("split val_start comes after test_start; put validation before test")
    return Borders(train=(0, val), val=(val, test) if val < test else None, test=(test, end))


def is_date_split(split: object) -> bool:
    return isinstance(split, Mapping) and any(k in split for k in DATE_SPLIT_KEYS)


def series_borders(index: pd.Index, split: Mapping[str, object] | str) -> Borders:
    """One series' borders: fractions of its own rows, shared dates, or a named protocol."""
    if isinstance(split, str):
        return informer_borders(index, len(index))
    if is_date_split(split):
        unknown = [k for k in split if k not in DATE_SPLIT_KEYS]
        if unknown:
            raise DataError(
                f"a date split takes {', '.join(DATE_SPLIT_KEYS)}, got '{unknown[0]}'; "
                "give dates or fractions, not both"
            )
        return date_borders(index, split)
    return fraction_borders(len(index), split)  # type: ignore[arg-type]


@dataclass
class Panel:
    """Every kept series in concatenated arrays (CSR style), split and scaled per series.

    Attributes:
        ids: series ids, in order.
        indptr: ``(S+1,)`` row offsets: series ``i`` is rows ``indptr[i]:indptr[i+1]``.
        indexes: each series' time index.
        raw_values: ``(N, C)`` float64 targets in original units.
        values: ``(N, C)`` float32 targets scaled per series (train rows only).
        past: ``(N, Kp)`` float32 scaled past covariates, or None.
        future: ``(N, Kf)`` float32 future covariates (scaled columns, then calendar), or None.
        static: ``(S, width)`` float32 static vectors, or None.
        scalers: each series' target scaler.
        covariate_scalers: each series' scaler of its real past and future columns.
        borders: each series' split borders (its own rows).
        static_encoding: how static columns became vectors.
        dropped: ids dropped as too short for the split.
    """

    ids: list[str]
    indptr: np.ndarray
    indexes: list[pd.Index]
    raw_values: np.ndarray
    values: np.ndarray
    past: np.ndarray | None
    future: np.ndarray | None
    static: np.ndarray | None
    scalers: list[Scaler]
    covariate_scalers: list[Scaler]
    borders: list[Borders]
    static_encoding: StaticEncoding
    dropped: list[str]

    def rows(self, i: int) -> slice:
        return slice(int(self.indptr[i]), int(self.indptr[i + 1]))

    def __len__(self) -> int:
        return len(self.ids)


def build_panel(
    series: list[SeriesFrame],
    *,
    targets: list[str],
    spec: CovariateSpec,
    split: Mapping[str, object] | str,
    context_length: int,
    horizon: int,
    scaling: str,
    fill_missing: FillMissing | None,
    min_series_length: int | None,
    has_ids: bool,
) -> Panel:
    """Split, fill, scale and concatenate validated series; drop those too short, with a warning.

    Raises:
        DataError: a series shorter than ``min_series_length``, or no series left.
    """
    kept, dropped, borders = [], [], []
    for item in series:
        length = len(item.frame)
        if min_series_length is not None and length < min_series_length:
            label = f"series '{item.id}'" if has_ids else "the series"
            raise DataError(
                f"{label} has {length} rows, fewer than min_series_length {min_series_length} "
                f"(context {context_length} + horizon {horizon} need at least "
                f"{context_length + horizon}); give it more rows, or leave it out of the data"
            )
        bounds = series_borders(item.frame.index, split)
        if split_is_usable(bounds, context_length, horizon):
            kept.append(item)
            borders.append(bounds)
        else:
            dropped.append(item.id)
    if dropped and not kept:
        raise DataError(
            f"every series is too short for context {context_length} + horizon {horizon} in "
            f"every split ({', '.join(dropped[:5])}{', ...' if len(dropped) > 5 else ''}); "
            "use a shorter context or horizon, or longer series"
        )
    if dropped:
        warnings.warn(
            f"{len(dropped)} series dropped, too short for context {context_length} + horizon "
            f"{horizon} in every split: {', '.join(dropped)}",
            UserWarning,
            stacklevel=3,
        )
    real_covariates = [*spec.future, *spec.past]
    targets_raw, past_parts, future_parts, scalers, covariate_scalers = [], [], [], [], []
    for item, bounds in zip(kept, borders, strict=True):
        frame = item.frame
        if fill_missing == "interpolate":
            frame = fill_without_look_ahead(frame, bounds.train[1])
            if not np.isfinite(frame.to_numpy()).all():
                raise DataError(
                    f"series '{item.id}': a column has no finite values in the training rows; "
                    "choose other columns or leave the series out"
                )
        train = slice(*bounds.train)
        raw = frame[targets].to_numpy(dtype=np.float64)  # (T, C)
        scaler = Scaler.fit(raw[train], kind=scaling)
        scalers.append(scaler)
        targets_raw.append(raw)
        covariates = frame[real_covariates].to_numpy(dtype=np.float64)  # (T, Kf'+Kp)
        covariate_scaler = Scaler.fit(covariates[train], kind=scaling)
        covariate_scalers.append(covariate_scaler)
        scaled = covariate_scaler.transform(covariates).astype(np.float32)
        n_future = len(spec.future)
        calendar = calendar_features(frame.index, spec.calendar)  # (T, K)
        future_parts.append(np.concatenate([scaled[:, :n_future], calendar], axis=1))
        past_parts.append(scaled[:, n_future:])
    lengths = [len(r) for r in targets_raw]
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    raw_values = np.concatenate(targets_raw)  # (N, C)
    values = np.concatenate(
        [s.transform(r).astype(np.float32) for s, r in zip(scalers, targets_raw, strict=True)]
    )  # (N, C)
    static_table = pd.DataFrame([item.static for item in kept], index=[i.id for i in kept])
    encoding = StaticEncoding.fit(static_table) if spec.static else StaticEncoding()
    return Panel(
        ids=[item.id for item in kept],
        indptr=indptr,
        indexes=[item.frame.index for item in kept],
        raw_values=raw_values,
        values=values,
        past=np.concatenate(past_parts) if spec.past else None,
        future=np.concatenate(future_parts) if spec.future_names else None,
        static=encoding.transform(static_table) if spec.static else None,
        scalers=scalers,
        covariate_scalers=covariate_scalers,
        borders=borders,
        static_encoding=encoding,
        dropped=dropped,
    )
