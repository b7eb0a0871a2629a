"""Turn a user's CSV file or DataFrame into a validated, time-indexed series.

Every problem raises :class:`~forecastab.errors.DataError` with one line that names the problem
(file, column, row) and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from forecastab.errors import DataError

FillMissing = Literal["interpolate", "ffill", "drop"]
FILL_OPTIONS = ("interpolate", "ffill", "drop")


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV file, turning pandas' failures into one readable line."""
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"file not found: {path}; check the path (relative paths start at the current folder)"
        )
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a CSV file; give the path of the file")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path} is empty; a CSV needs a header row and at least one data row"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataError(
            f"{path} is not a readable CSV ({detail}); fix the file so every row has the header's columns"
        ) from None
    if frame.empty:
        raise DataError(f"{path} has a header but no data rows; add rows below the header")
    return frame


def file_line(path: str | Path, row: int) -> int:
    r"""The 1-based line of a CSV file holding data row ``row``, as pandas skips blank lines.

    >>> import tempfile, pathlib
    >>> csv = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = csv.write_text("y\n1\n\n\nabc\n")
    >>> file_line(csv, 1)
    5
    """
    index = -1  # the header is the first line that is not blank
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                if index == row:
                    return number
                index += 1
    except OSError:
        pass
    return row + 2


def _as_list(target: str | list[str] | tuple[str, ...] | None) -> list[str] | None:
    if target is None:
        return None
    return [target] if isinstance(target, str) else list(target)


def _parse_time(frame: pd.DataFrame, time_column: str, where: str) -> pd.Index:
    raw = frame[time_column]
    if pd.api.types.is_numeric_dtype(raw):
        if raw.isna().any():
            row = int(np.flatnonzero(raw.isna().to_numpy())[0])
            raise DataError(
                f"{where}time column '{time_column}' is empty at row {row}; every row needs a time"
            )
        return pd.Index(raw.to_numpy(), name=time_column)
    parsed = pd.to_datetime(raw, errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}time column '{time_column}' has a value that is not a date at row {row} "
            f"({raw.iloc[row]!r}); fix it or choose another time_column"
        )
    return pd.DatetimeIndex(parsed, name=time_column)


def _check_order(index: pd.Index, where: str, allow_irregular: bool) -> None:
    values = index.to_numpy()
    if len(values) < 2:
        return
    steps = np.diff(values)
    zero = steps == steps.dtype.type(0)
    if zero.any():
        row = int(np.flatnonzero(zero)[0]) + 1
        raise DataError(
            f"{where}duplicate timestamp {index[row]} at row {row}; remove or aggregate the duplicates"
        )
    backwards = steps < steps.dtype.type(0)
    if backwards.any():
        row = int(np.flatnonzero(backwards)[0]) + 1
        raise DataError(
            f"{where}timestamps are not sorted: {index[row]} at row {row} comes before {index[row - 1]}; sort the rows by time"
        )
    if allow_irregular:
        return
    if isinstance(index, pd.DatetimeIndex) and pd.infer_freq(index) is not None:
        return  # calendar frequencies (monthly, yearly) have unequal spacing but are regular
    usual = pd.Series(steps).mode().iloc[0]
    off = steps != usual
    if off.any():
        row = int(np.flatnonzero(off)[0]) + 1
        gap = (
            pd.Timedelta(steps[row - 1]) if isinstance(index, pd.DatetimeIndex) else steps[row - 1]
        )
        usual_text = pd.Timedelta(usual) if isinstance(index, pd.DatetimeIndex) else usual
        raise DataError(
            f"{where}timestamps are irregular: a step of {gap} before row {row} ({index[row]}) where {usual_text} is usual; "
            "resample to a regular grid, or set allow_irregular: true"
        )


def _fill(frame: pd.DataFrame, how: FillMissing) -> pd.DataFrame:
    frame = frame.replace([np.inf, -np.inf], np.nan)
    if how == "drop":
        return frame.dropna()
    if how == "ffill":
        return frame.ffill().bfill()
    return frame.interpolate(method="linear", limit_direction="both")


def validate_series(
    data: pd.DataFrame | str | Path,
    *,
    target: str | list[str] | None = None,
    time_column: str | None = None,
    fill_missing: FillMissing | None = None,
    allow_irregular: bool = False,
) -> pd.DataFrame:
    """Validate a series and return a float64 DataFrame of its target columns, indexed by time.

    Args:
        data: a CSV path or a DataFrame (its index is the time when ``time_column`` is None).
        target: the column or columns to forecast; all non-time columns when None.
        time_column: the column holding timestamps (dates or numbers); the row order when None.
        fill_missing: what to do with NaN or +/-inf: ``interpolate``, ``ffill`` or ``drop``.
            When None, missing values are an error.
        allow_irregular: accept unequal time steps.

    Returns:
        A DataFrame with one float64 column per target, indexed by time.

    Raises:
        DataError: naming the problem and its fix.

    >>> frame = pd.DataFrame({"y": [1.0, None, 3.0]})
    >>> validate_series(frame, fill_missing="interpolate")["y"].tolist()
    [1.0, 2.0, 3.0]
    """
    where = ""
    if isinstance(data, (str, Path)):
        where = f"{data}: "
        frame = read_csv(data)
    elif isinstance(data, pd.DataFrame):
        frame = data
        if frame.empty:
            raise DataError("the DataFrame has no rows; pass a series with data")
    else:
        raise DataError(f"expected a CSV path or a pandas DataFrame, got {type(data).__name__}")
    if fill_missing is not None and fill_missing not in FILL_OPTIONS:
        raise DataError(
            f"fill_missing must be one of {', '.join(FILL_OPTIONS)}, got {fill_missing!r}"
        )

    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    if time_column is not None and time_column not in columns and frame.index.name == time_column:
        frame = frame.reset_index().set_axis(
            [time_column, *columns], axis=1
        )  # the index is the time
        columns = [time_column, *columns]
    if time_column is not None:
        if time_column not in columns:
            raise DataError(
                f"{where}unknown time column '{time_column}'; available columns: {', '.join(columns)}"
            )
        index = _parse_time(frame, time_column, where)
        frame = frame.drop(columns=time_column)
    else:
        index = frame.index
    targets = _as_list(target)
    if targets is None:
        targets = list(frame.columns)
        if not targets:
            raise DataError(
                f"{where}no columns left to forecast besides the time column '{time_column}'"
            )
    missing = [t for t in targets if t not in frame.columns]
    if missing:
        raise DataError(
            f"{where}unknown target column '{missing[0]}'; available columns: {', '.join(str(c) for c in frame.columns)}"
        )

    values = {}
    for column in targets:
        raw = frame[column]
        numeric = (
            pd.to_numeric(raw, errors="coerce") if not pd.api.types.is_numeric_dtype(raw) else raw
        )
        bad = numeric.isna().to_numpy() & raw.notna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            line = f" (line {file_line(data, row)} of the file)" if where else ""
            raise DataError(
                f"{where}column '{column}' has a non-numeric value {raw.iloc[row]!r} at row {row}{line}; "
                f"{int(bad.sum())} such value(s) in all: fix them or choose numeric target columns"
            )
        values[column] = numeric.to_numpy(dtype=np.float64)
    series = pd.DataFrame(values, index=index)

    _check_order(series.index, where, allow_irregular)

    finite = np.isfinite(series.to_numpy())
    if not finite.all():
        if fill_missing is None:
            rows, cols = np.nonzero(~finite)
            raise DataError(
                f"{where}{int((~finite).sum())} missing or infinite value(s) (NaN or +/-inf), the first in column "
                f"'{series.columns[cols[0]]}' at row {int(rows[0])}; set fill_missing: interpolate | ffill | drop"
            )
        series = _fill(series, fill_missing)
        if series.empty or not np.isfinite(series.to_numpy()).all():
            raise DataError(
                f"{where}a target column has no finite values at all; choose another target column"
            )
    return series
