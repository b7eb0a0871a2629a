"""Turn a user's CSV file or DataFrame into a validated, time-indexed series.

Every problem raises :class:`~forecastab.errors.DataError` with one line that names the problem
(file, column, row) and the fix.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from forecastab.checks import physical_memory
from forecastab.errors import DataError

FillMissing = Literal["interpolate", "ffill", "drop"]
FILL_OPTIONS = ("interpolate", "ffill", "drop")


CSV_MEMORY_FACTOR = 10
"""A CSV may be at most 1/10 of the machine's memory: pandas needed 8.5x a 200 MB file's size."""


def check_data_file(path: str | Path) -> int:
    """Check, before opening it, that ``path`` is a regular file that fits in memory when parsed.

    A FIFO would block ``open`` forever and a device such as ``/dev/zero`` is read until memory
    runs out, so only regular files (or links to them) are read.

    Returns:
        The file's size in bytes.

    Raises:
        DataError: A missing path, a folder, a FIFO, a device, or a file too large.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DataError(
            f"file not found: {path}; check the path (relative paths start at the current folder)"
        ) from None
    except OSError as error:
        raise DataError(f"{path} cannot be read ({error.strerror}); check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{path} is a folder, not a CSV file; give the path of the file")
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        raise DataError(
            f"{path} is {kind}, not a regular file; save the data to a CSV file and give its path"
        )
    memory = physical_memory()
    if memory is not None and info.st_size > memory // CSV_MEMORY_FACTOR:
        raise DataError(
            f"{path} is {info.st_size / 2**30:,.1f} GiB, more than 1/{CSV_MEMORY_FACTOR} of this "
            f"machine's {memory / 2**30:,.0f} GiB of memory (parsing needs several times the "
            "file's size); keep the columns and rows you need in a smaller file"
        )
    return info.st_size


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV file, turning pandas' failures into one readable line."""
    path = Path(path)
    check_data_file(path)
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
    if isinstance(target, str | int | np.integer) and not isinstance(target, bool):
        return [str(target)]  # column names are compared as text: 0 names the column "0"
    if isinstance(target, list | tuple) and all(
        isinstance(t, str | int | np.integer) and not isinstance(t, bool) for t in target
    ):
        return [str(t) for t in target]
    raise DataError(f"target must be a column name or a list of them, got {target!r}")


def _parse_time(frame: pd.DataFrame, time_column: str, where: str) -> pd.Index:
    raw = frame[time_column]
    if pd.api.types.is_numeric_dtype(raw):
        if raw.isna().any():
            row = int(np.flatnonzero(raw.isna().to_numpy())[0])
            raise DataError(
                f"{where}time column '{time_column}' is empty at row {row}; every row needs a time"
            )
        return pd.Index(raw.to_numpy(), name=time_column)
    parsed = _to_utc(raw, where, time_column)
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}time column '{time_column}' has a value that is not a date at row {row} "
            f"({raw.iloc[row]!r}); fix it or choose another time_column"
        )
    return pd.DatetimeIndex(parsed, name=time_column)


def _to_utc(raw: pd.Series, where: str, time_column: str) -> pd.Series:
    """Parse timestamps; any with a time zone (``Z``, ``+02:00``) are converted to UTC, naive.

    Offsets that change (daylight saving) are fine: every time becomes the UTC instant it
    names. Mixing times with and without an offset is ambiguous and an error, told apart from
    the text before pandas parses it (pandas turns the odd ones out into "not a date").
    """
    text = raw.astype(str).str.strip()
    zoned = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).to_numpy()
    if zoned.any() and not zoned.all():
        row = int(np.flatnonzero(zoned != zoned[0])[0])
        raise DataError(
            f"{where}time column '{time_column}' mixes times with a time zone and without one "
            f"(row {row}: {raw.iloc[row]!r}); give every time an offset, or none"
        )
    if zoned.all():
        return pd.to_datetime(raw, errors="coerce", utc=True).dt.tz_localize(None)
    try:
        with warnings.catch_warnings():  # "could not infer format": parsed one by one, fine
            warnings.simplefilter("ignore", UserWarning)
            parsed = pd.to_datetime(raw, errors="coerce")
    except (ValueError, TypeError):  # mixed offsets: pandas refuses without utc=True
        parsed = None
    if parsed is not None and not isinstance(parsed.dtype, pd.DatetimeTZDtype):
        if parsed.dtype != object:  # objects: several offsets kept as such (older pandas)
            return parsed
    return pd.to_datetime(raw, errors="coerce", utc=True).dt.tz_localize(None)


def _plain_index(index: pd.Index, where: str) -> pd.Index:
    """A DataFrame's own index as a time index: tz-aware -> UTC, text -> dates, else refused."""
    if isinstance(index, pd.MultiIndex):
        raise DataError(
            f"{where}the DataFrame has a row MultiIndex ({index.nlevels} levels); "
            "pass one series: select it or reset_index() and name its time_column"
        )
    if isinstance(index, pd.DatetimeIndex):
        if index.tz is not None:
            return index.tz_convert("UTC").tz_localize(None).rename(index.name)
        return index
    if isinstance(index, pd.PeriodIndex):  # periods -> their start times, so frequencies work
        return index.to_timestamp().rename(index.name)
    if pd.api.types.is_numeric_dtype(index.dtype):
        return index
    parsed = pd.Index(_to_utc(pd.Series(index, dtype=object), where, "index").to_numpy())
    if parsed.isna().any():
        row = int(np.flatnonzero(parsed.isna())[0])
        raise DataError(
            f"{where}the index holds a value that is not a time at row {row} ({index[row]!r}); "
            "pass a DatetimeIndex or numbers, or name the time column with time_column"
        )
    return pd.DatetimeIndex(parsed, name=index.name)


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
    if isinstance(index, pd.DatetimeIndex) and len(index) > 2 and pd.infer_freq(index) is not None:
        return  # calendar frequencies (monthly, yearly) have unequal spacing but are regular
    usual = pd.Series(steps).mode().iloc[0]
    if steps.dtype.kind == "f":  # 0.0, 0.1, 0.2, ...: binary fractions differ in the last bits
        usual = float(np.median(steps))
        scale = float(np.abs(values).max())
        off = ~np.isclose(steps, usual, rtol=1e-6, atol=64 * np.finfo(np.float64).eps * scale)
    else:
        off = steps != usual
    if off.any():
        row = int(np.flatnonzero(off)[0]) + 1
        gap = (
            pd.Timedelta(steps[row - 1])
            if isinstance(index, pd.DatetimeIndex)
            else f"{steps[row - 1]:g}"
        )
        usual_text = pd.Timedelta(usual) if isinstance(index, pd.DatetimeIndex) else f"{usual:g}"
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


def fill_without_look_ahead(series: pd.DataFrame, train_stop: int) -> pd.DataFrame:
    """``fill_missing: interpolate`` for a split series, never filling from a later split.

    The training rows ``[0, train_stop)`` are interpolated linearly among themselves; every
    later row (validation, test) carries the last observed value forward, so no forecast's
    context or target holds a value computed from rows after it.

    >>> frame = pd.DataFrame({"y": [1.0, None, 3.0, 4.0, None, 8.0]})
    >>> fill_without_look_ahead(frame, train_stop=3)["y"].tolist()
    [1.0, 2.0, 3.0, 4.0, 4.0, 8.0]
    """
    series = series.replace([np.inf, -np.inf], np.nan)
    train = _fill(series.iloc[:train_stop], "interpolate")
    return pd.concat([train, series.iloc[train_stop:]]).ffill()


def validate_series(
    data: pd.DataFrame | str | Path,
    *,
    target: str | list[str] | None = None,
    time_column: str | None = None,
    fill_missing: FillMissing | None = None,
    allow_irregular: bool = False,
    keep_missing: bool = False,
) -> pd.DataFrame:
    """Validate a series and return a float64 DataFrame of its target columns, indexed by time.

    Args:
        data: a CSV path or a DataFrame (its index is the time when ``time_column`` is None).
        target: the column or columns to forecast; all non-time columns when None.
        time_column: the column holding timestamps (dates or numbers); the row order when None.
        fill_missing: what to do with NaN or +/-inf: ``interpolate``, ``ffill`` or ``drop``.
            When None, missing values are an error.
        allow_irregular: accept unequal time steps.
        keep_missing: accept NaN/inf as allowed by ``fill_missing`` but leave them (inf as
            NaN) for the caller to fill per split (see :func:`fill_without_look_ahead`).

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
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise DataError(
            f"{where}the column name '{twice[0]}' appears twice; give every column its own name"
        )
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
        index = _plain_index(frame.index, where)
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
        if pd.api.types.is_complex_dtype(raw) or (
            raw.dtype == object and raw.map(lambda v: isinstance(v, complex | np.complexfloating)).any()
        ):
            raise DataError(
                f"{where}column '{column}' holds complex numbers; forecastab forecasts real values "
                "(the imaginary part would be lost): give the real and imaginary parts as two "
                "columns (np.real, np.imag) or the magnitude (np.abs)"
            )
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
        if keep_missing:
            return series.replace([np.inf, -np.inf], np.nan)
        series = _fill(series, fill_missing)
        if series.empty or not np.isfinite(series.to_numpy()).all():
            raise DataError(
                f"{where}a target column has no finite values at all; choose another target column"
            )
    return series
