"""Every bad input to the data layer gives its one-line message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecastab.data import WindowDataModule, validate_series
from forecastab.errors import DataError


def write(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def regular_csv(rows: int = 200) -> str:
    times = pd.date_range("2021-01-01", periods=rows, freq="D")
    lines = ["date,y,z"] + [f"{t.date()},{np.sin(i / 5):.4f},{i}" for i, t in enumerate(times)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("", {}, "series.csv is empty; a CSV needs a header row and at least one data row"),
        ("date,y\n", {}, "series.csv has a header but no data rows; add rows below the header"),
        (
            regular_csv(),
            {"time_column": "day"},
            "series.csv: unknown time column 'day'; available columns: date, y, z",
        ),
        (
            regular_csv(),
            {"time_column": "date", "target": "w"},
            "series.csv: unknown target column 'w'; available columns: y, z",
        ),
        (
            "date,y\n2021-01-01,1\n2021-01-02,abc\n2021-01-03,x\n",
            {"time_column": "date", "target": "y"},
            "series.csv: column 'y' has a non-numeric value 'abc' at row 1 (line 3 of the file); 2 such value(s) in all: fix them or choose numeric target columns",
        ),
        (
            "date,y\n\n2021-01-01,1\n\n\n2021-01-02,abc\n",  # pandas skips the blank lines
            {"time_column": "date", "target": "y"},
            "series.csv: column 'y' has a non-numeric value 'abc' at row 1 (line 6 of the file); 1 such value(s) in all: fix them or choose numeric target columns",
        ),
        (
            "date,y\n2021-01-01,1\n2021-01-02,\n2021-01-03,inf\n",
            {"time_column": "date", "target": "y"},
            "series.csv: 2 missing or infinite value(s) (NaN or +/-inf), the first in column 'y' at row 1; set fill_missing: interpolate | ffill | drop",
        ),
        (
            "date,y\n2021-01-01,1\n2021-01-01,2\n2021-01-02,3\n",
            {"time_column": "date"},
            "series.csv: duplicate timestamp 2021-01-01 00:00:00 at row 1; remove or aggregate the duplicates",
        ),
        (
            "date,y\n2021-01-02,1\n2021-01-01,2\n2021-01-03,3\n",
            {"time_column": "date"},
            "series.csv: timestamps are not sorted: 2021-01-01 00:00:00 at row 1 comes before 2021-01-02 00:00:00; sort the rows by time",
        ),
        (
            "date,y\n2021-01-01,1\n2021-01-02,2\n2021-01-03,3\n2021-01-05,4\n2021-01-06,5\n",
            {"time_column": "date"},
            "series.csv: timestamps are irregular: a step of 2 days 00:00:00 before row 3 (2021-01-05 00:00:00) where 1 days 00:00:00 is usual; resample to a regular grid, or set allow_irregular: true",
        ),
        (
            "date,y\n2021-01-01,1\nnot a date,2\n",
            {"time_column": "date"},
            "series.csv: time column 'date' has a value that is not a date at row 1 ('not a date'); fix it or choose another time_column",
        ),
    ],
)
def test_bad_csv_gives_its_message(tmp_path, text, kwargs, message):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        validate_series(path, **kwargs)
    assert str(info.value) == message.replace("series.csv", str(path), 1)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match="^file not found: .*nope.csv; check the path"):
        validate_series(path)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("interpolate", [1.0, 2.0, 3.0, 4.0]),
        ("ffill", [1.0, 1.0, 3.0, 4.0]),
        ("drop", [1.0, 3.0, 4.0]),
    ],
)
def test_fill_missing_options_work(how, expected):
    frame = pd.DataFrame({"y": [1.0, np.nan, 3.0, 4.0]})
    assert validate_series(frame, fill_missing=how)["y"].tolist() == expected


def test_inf_is_filled_like_nan():
    frame = pd.DataFrame({"y": [1.0, np.inf, 3.0]})
    assert validate_series(frame, fill_missing="interpolate")["y"].tolist() == [1.0, 2.0, 3.0]


def test_irregular_accepted_when_allowed(tmp_path):
    path = write(tmp_path, "date,y\n2021-01-01,1\n2021-01-02,2\n2021-01-05,4\n")
    series = validate_series(path, time_column="date", allow_irregular=True)
    assert len(series) == 3


def test_monthly_calendar_is_regular():
    index = pd.date_range("2000-01-31", periods=40, freq="ME")
    series = validate_series(pd.DataFrame({"y": np.arange(40.0)}, index=index))
    assert len(series) == 40


def test_numeric_time_column_and_several_targets(tmp_path):
    path = write(tmp_path, "year,a,b\n1,1,2\n2,2,3\n3,3,4\n")
    series = validate_series(path, time_column="year", target=["b", "a"])
    assert list(series.columns) == ["b", "a"] and series.index.tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"context_length": 0, "horizon": 5}, "context_length must be a positive integer, got 0"),
        ({"context_length": 10, "horizon": -2}, "horizon must be a positive integer, got -2"),
        (
            {"context_length": 10.5, "horizon": 5},
            "context_length must be a positive integer, got 10.5",
        ),
        (
            {"context_length": 10, "horizon": 5, "split": {"train": -0.1, "test": 0.3}},
            "split fraction 'train' must be a number between 0 and 1, got -0.1",
        ),
        (
            {"context_length": 10, "horizon": 5, "split": {"train": 0.8, "test": 0.3}},
            "split fractions add up to 1.1 (train 0.8 + test 0.3); they must add up to at most 1",
        ),
        (
            {"context_length": 10, "horizon": 5, "split": {"train": 0.8, "tset": 0.2}},
            "unknown split key 'tset'; valid: train, val, test",
        ),
        (
            {"context_length": 150, "horizon": 30, "split": {"train": 0.7, "test": 0.3}},
            "series of 200 rows is too short for context 150 + horizon 30 with split train 0.7/test 0.3: it needs at least 258 rows; no horizon fits with context 150, or use a shorter context, or more data",
        ),
        (
            {"context_length": 100, "horizon": 50, "split": {"train": 0.7, "test": 0.3}},
            "series of 200 rows is too short for context 100 + horizon 50 with split train 0.7/test 0.3: it needs at least 215 rows; the longest horizon that fits is 40, or use a shorter context, or more data",
        ),
        (
            {"context_length": 10, "horizon": 5, "split": "informer"},
            "the informer protocol needs hourly or 15-minute data with a time index, got frequency D; use split fractions such as {train: 0.7, val: 0.1, test: 0.2}",
        ),
        (
            {"context_length": 10, "horizon": 5, "split": "informr"},
            "unknown split protocol 'informr' (did you mean 'informer'?); valid: informer; or give fractions {train, val, test}",
        ),
    ],
)
def test_bad_parameters_give_their_message(tmp_path, kwargs, message):
    path = write(tmp_path, regular_csv(200))
    with pytest.raises(DataError) as info:
        WindowDataModule(path, time_column="date", target="y", **kwargs)
    assert str(info.value) == message


def test_minimum_length_is_really_the_minimum():
    frame = pd.DataFrame({"y": np.sin(np.arange(258) / 3)})
    WindowDataModule(frame, context_length=150, horizon=30, split={"train": 0.7, "test": 0.3})
    with pytest.raises(DataError, match="needs at least 258 rows"):
        WindowDataModule(
            frame.iloc[:257], context_length=150, horizon=30, split={"train": 0.7, "test": 0.3}
        )


def test_unknown_dataset_suggests_nearest():
    with pytest.raises(DataError, match=r"unknown dataset 'sunspot' \(did you mean 'sunspots'\?\)"):
        WindowDataModule("sunspot", context_length=10, horizon=5)


def test_time_column_may_name_the_index():
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0]}, index=pd.Index([1990, 1991, 1992], name="year"))
    series = validate_series(frame, time_column="year")
    assert series.index.name == "year" and series.index.tolist() == [1990, 1991, 1992]
    dm = WindowDataModule(
        "sunspots",
        time_column="YEAR",
        context_length=30,
        horizon=20,
        split={"train": 0.7, "test": 0.3},
    )
    assert len(dm.origins("test")) == 74
