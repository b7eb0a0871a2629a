"""Panels: long frames with ids, wide frames as series, per-series splits, scaling and windows."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from forecastab.data import WindowDataModule
from forecastab.errors import DataError

LENGTHS = {"a": 160, "b": 120, "c": 90}


def long_frame(lengths: dict[str, int] = LENGTHS, *, shuffle: bool = True) -> pd.DataFrame:
    """A long frame of series with different lengths, starts and levels."""
    rng = np.random.default_rng(0)
    parts = []
    for i, (name, length) in enumerate(lengths.items()):
        times = pd.date_range("2024-01-01", periods=length, freq="h") + pd.Timedelta(hours=7 * i)
        y = 10.0 * (i + 1) + np.sin(np.arange(length) / 4.0) * (i + 1) + rng.normal(size=length)
        parts.append(pd.DataFrame({"unique_id": name, "ds": times, "y": y}))
    frame = pd.concat(parts, ignore_index=True)
    return frame.sample(frac=1.0, random_state=1) if shuffle else frame


def panel(frame: pd.DataFrame | None = None, **options) -> WindowDataModule:
    settings = dict(time_column="ds", target="y", context_length=12, horizon=6, batch_size=16)
    settings.update(options)
    return WindowDataModule(long_frame() if frame is None else frame, **settings)


def test_a_long_frame_is_read_per_id_with_unique_id_as_the_default_id_column() -> None:
    data = panel()
    assert data.series_ids == ["a", "b", "c"]
    assert data.has_ids and data.is_panel
    assert np.diff(data.panel.indptr).tolist() == [160, 120, 90]
    first = data.series_data("b")
    expected = long_frame(shuffle=False).query("unique_id == 'b'")["y"].to_numpy()
    np.testing.assert_allclose(first.raw_values[:, 0], expected)  # sorted by time per id


def test_each_series_is_split_on_its_own_timeline_and_scaled_on_its_training_rows() -> None:
    data = panel()
    for name, length in LENGTHS.items():
        series = data.series_data(name)
        assert series.borders.train == (0, round(length * 0.7))
        train = series.raw_values[slice(*series.borders.train)]
        np.testing.assert_allclose(series.scaler.mean, train.mean(axis=0))
        np.testing.assert_allclose(series.values[slice(*series.borders.train)].mean(), 0, atol=1e-5)


def test_date_cut_offs_are_shared_by_every_series() -> None:
    data = panel(split={"val_start": "2024-01-03 12:00", "test_start": "2024-01-04"})
    for name in LENGTHS:
        series = data.series_data(name)
        test_start = series.index[series.borders.test[0]]
        assert test_start >= pd.Timestamp("2024-01-04")
        assert series.index[series.borders.test[0] - 1] < pd.Timestamp("2024-01-04")


def test_windows_are_indexed_by_series_and_origin_and_match_a_slow_reference_loop() -> None:
    data = panel()
    dataset = data.train_dataloader().dataset
    expected = []
    for name in data.series_ids:
        series = data.series_data(name)
        for origin in series.origins("train"):
            expected.append(series.values[origin - 11 : origin + 7])  # (L+H, C)
    assert len(dataset) == len(expected)
    context, targets = dataset.__getitems__(list(range(len(dataset))))
    got = torch.cat([context, targets], dim=1).numpy()
    np.testing.assert_array_equal(got, np.stack(expected))
    # nothing per window is stored: the index is a few numbers per series
    assert dataset.cumulative.numel() == len(data.series_ids) + 1


def test_a_shuffled_epoch_can_weigh_every_series_equally() -> None:
    data = panel(window_sampling="per_series", batch_size=4096)
    dataset = data.train_dataloader().dataset
    sampler = data.train_dataloader().sampler
    positions = torch.as_tensor([p for _ in range(20) for p in sampler])  # 20 epochs
    series, _ = dataset.locate(positions)
    shares = torch.bincount(series, minlength=3).double() / len(series)
    assert torch.allclose(shares, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.03)
    uniform = panel()
    counts = uniform.train_dataloader().dataset.counts.double()
    assert counts[0] / counts.sum() > 0.4  # the uniform default follows the window counts


def test_series_too_short_are_dropped_with_one_warning_that_lists_them() -> None:
    frame = long_frame({"a": 160, "b": 20, "c": 15})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = panel(frame)
    messages = [str(w.message) for w in caught if "dropped" in str(w.message)]
    assert messages == [
        "2 series dropped, too short for context 12 + horizon 6 in every split: b, c"
    ]
    assert data.series_ids == ["a"]


def test_min_series_length_refuses_a_short_series_naming_it() -> None:
    frame = long_frame({"a": 160, "b": 15})
    with pytest.raises(DataError, match="series 'b' has 15 rows, fewer than min_series_length 18"):
        panel(frame, min_series_length=18)


def test_series_columns_treats_each_column_of_a_wide_frame_as_its_own_series() -> None:
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(
        {
            "date": pd.date_range("2024-01-01", periods=100, freq="h"),
            "x1": rng.normal(size=100),
            "x2": 100 + 5 * rng.normal(size=100),
        }
    )
    data = WindowDataModule(
        wide, time_column="date", series="columns", context_length=8, horizon=4
    )
    assert data.series_ids == ["x1", "x2"]
    assert data.target_columns == ["value"]
    assert data.channels.n_targets == 1
    np.testing.assert_allclose(data.series_data("x2").raw_values[:, 0], wide["x2"])


def test_one_series_without_ids_takes_the_single_series_path_unchanged() -> None:
    frame = long_frame({"a": 100}, shuffle=False).drop(columns="unique_id")
    data = WindowDataModule(frame, time_column="ds", target="y", context_length=12, horizon=6)
    assert not data.is_panel
    assert data.values.shape == (100, 1)


def test_a_panel_of_one_still_offers_the_one_series_attributes() -> None:
    data = panel(long_frame({"a": 100}))
    assert data.series_ids == ["a"]
    assert data.values.shape == (100, 1)
    assert len(data.origins("test")) > 0


EXCHANGE_RATE = Path(__file__).resolve().parents[3] / "shared" / "data" / "exchange_rate.csv"  # beside the clone


@pytest.mark.skipif(not EXCHANGE_RATE.exists(), reason="the shared exchange_rate.csv is absent")
def test_exchange_rate_reads_as_a_panel_of_eight_currencies_with_the_ltsf_split() -> None:
    # shared data, not shipped: its collection states no license (see /work/shared/data/README.md)
    data = WindowDataModule(
        EXCHANGE_RATE, series="columns", context_length=96, horizon=96,
        split={"train": 0.7, "val": 0.1, "test": 0.2},
    )  # fmt: skip
    assert data.series_ids == [str(i) for i in range(8)]
    assert np.diff(data.panel.indptr).tolist() == [7588] * 8
    series = data.series_data("0")
    assert series.borders.train == (0, 5311)
    assert len(series.origins("test")) == 7588 - 6070 - 96 + 1
