"""Series input of issue 20: non-regular files, float and mixed-offset times, periods and
complex values, each accepted as meant or refused with one exact line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecastab.data import WindowDataModule, validation
from forecastab.data.validation import check_data_file, read_csv, validate_series
from forecastab.errors import DataError


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.csv"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("make_path", "message"),
    [
        (_fifo, "{path} is a FIFO (named pipe), not a regular file; save the data to a CSV file "
         "and give its path"),
        (lambda folder: Path("/dev/zero"), "/dev/zero is a device or socket, not a regular "
         "file; save the data to a CSV file and give its path"),
        (lambda folder: folder, "{path} is a folder, not a CSV file; give the path of the file"),
        (lambda folder: folder / "none.csv", "file not found: {path}; check the path (relative "
         "paths start at the current folder)"),
    ],
    ids=["fifo", "device", "folder", "missing"],
)
def test_only_regular_files_are_opened(tmp_path: Path, make_path, message: str) -> None:
    path = make_path(tmp_path)
    with pytest.raises(DataError) as caught:
        read_csv(path)  # a FIFO would block here forever, /dev/zero would fill memory
    assert str(caught.value) == message.format(path=path)


def test_a_file_too_large_for_memory_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.csv"
    path.write_text("y\n" + "1\n" * 600_000)  # 1.2 MB
    monkeypatch.setattr(validation, "physical_memory", lambda: 10 * 2**20)  # a 10 MiB machine
    with pytest.raises(DataError) as caught:
        check_data_file(path)
    assert str(caught.value) == (
        f"{path} is 0.0 GiB, more than 1/10 of this machine's 0 GiB of memory (parsing needs "
        "several times the file's size); keep the columns and rows you need in a smaller file"
    )


@pytest.mark.parametrize("start", [0.0, 1000.0, 1e6])
def test_float_times_a_tenth_apart_are_regular(start: float) -> None:
    times = start + np.arange(200) * 0.1  # 0.1 is not a binary fraction: steps differ in bits
    series = validate_series(pd.DataFrame({"t": times, "y": np.arange(200.0)}), time_column="t")
    assert len(series) == 200


def test_float_times_with_a_real_gap_stay_irregular() -> None:
    times = np.r_[np.arange(50) * 0.1, 5.05 + np.arange(50) * 0.1]
    with pytest.raises(DataError) as caught:
        validate_series(pd.DataFrame({"t": times, "y": np.arange(100.0)}), time_column="t")
    assert str(caught.value) == (
        "timestamps are irregular: a step of 0.15 before row 50 (5.05) where 0.1 is usual; "
        "resample to a regular grid, or set allow_irregular: true"
    )


@pytest.mark.parametrize(
    ("stamps", "row", "value"),
    [
        (["2020-01-01 00:00", "2020-01-01 01:00+00:00", "2020-01-01 02:00"], 1,
         "2020-01-01 01:00+00:00"),
        (["2020-01-01T00:00Z", "2020-01-01T01:00Z", "2020-01-01T02:00"], 2, "2020-01-01T02:00"),
    ],
    ids=["offset-second", "naive-last"],
)
def test_mixed_offsets_get_the_documented_message(stamps: list[str], row: int, value: str) -> None:
    frame = pd.DataFrame({"t": stamps, "y": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError) as caught:
        validate_series(frame, time_column="t")
    assert str(caught.value) == (
        f"time column 't' mixes times with a time zone and without one (row {row}: {value!r}); "
        "give every time an offset, or none"
    )


def test_offsets_everywhere_become_utc() -> None:
    frame = pd.DataFrame({"t": ["2020-03-29T00:00+01:00", "2020-03-29T01:00Z"], "y": [1.0, 2.0]})
    series = validate_series(frame, time_column="t")
    assert list(series.index) == [pd.Timestamp("2020-03-28 23:00"), pd.Timestamp("2020-03-29 01:00")]


def test_a_period_index_becomes_timestamps_with_its_frequency() -> None:
    periods = pd.period_range("2000-01", periods=80, freq="M")
    frame = pd.DataFrame({"y": np.sin(np.arange(80.0))}, index=periods)
    module = WindowDataModule(frame, context_length=12, horizon=4)
    assert module.index[0] == pd.Timestamp("2000-01-01")
    assert module.season_length == 12


@pytest.mark.parametrize(
    "values",
    [np.exp(1j * np.arange(40.0)), pd.Series(np.exp(1j * np.arange(40.0)), dtype=object)],
    ids=["complex128", "object"],
)
def test_complex_values_are_refused_not_cut_to_their_real_part(values) -> None:
    with pytest.raises(DataError) as caught:
        validate_series(pd.DataFrame({"y": values}))
    assert str(caught.value) == (
        "column 'y' holds complex numbers; forecastab forecasts real values (the imaginary part "
        "would be lost): give the real and imaginary parts as two columns (np.real, np.imag) or "
        "the magnitude (np.abs)"
    )
