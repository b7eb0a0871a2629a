"""Windows, splits, scaling, the data module and the bundled datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from forecastab.data import (
    DATASETS,
    WindowDataModule,
    list_datasets,
    load_dataset,
    origin_windows,
    window_view,
)
from forecastab.data.synthetic import ar, lorenz, mackey_glass, sine


def slow_windows(values: np.ndarray, origins, context_length: int, horizon: int):
    contexts, targets = [], []
    for t in origins:
        contexts.append(values[t - context_length + 1 : t + 1].copy())
        targets.append(values[t + 1 : t + horizon + 1].copy())
    return np.stack(contexts), np.stack(targets)  # (N, L, C), (N, H, C)


def test_windows_equal_a_slow_loop():
    values = np.random.default_rng(0).standard_normal((120, 3))
    origins = np.arange(9, 120 - 7)
    contexts, targets = origin_windows(values, origins, 10, 7)
    slow_c, slow_t = slow_windows(values, origins, 10, 7)
    np.testing.assert_array_equal(contexts, slow_c)
    np.testing.assert_array_equal(targets, slow_t)
    assert np.shares_memory(contexts, values)  # contiguous origins stay a view


def test_scattered_origins_and_out_of_range():
    values = np.arange(50.0)[:, None]
    contexts, targets = origin_windows(values, np.array([4, 20, 33]), 5, 3)
    slow_c, slow_t = slow_windows(values, [4, 20, 33], 5, 3)
    np.testing.assert_array_equal(contexts, slow_c)
    np.testing.assert_array_equal(targets, slow_t)
    with pytest.raises(IndexError):
        origin_windows(values, np.array([3]), 5, 3)


def test_window_view_is_zero_copy():
    values = np.zeros((1000, 2))
    view = window_view(values, 100)
    assert view.shape == (901, 100, 2) and np.shares_memory(view, values)


def test_loader_batches_match_windows():
    dm = WindowDataModule("ar", context_length=12, horizon=6, batch_size=32)
    contexts, targets = dm.windows("train")
    batch_c, batch_t = next(
        iter(
            torch.utils.data.DataLoader(
                dm.train_dataloader().dataset, batch_size=32, collate_fn=lambda b: b
            )
        )
    )
    np.testing.assert_allclose(batch_c.numpy(), contexts[:32])
    np.testing.assert_allclose(batch_t.numpy(), targets[:32])
    assert batch_c.shape == (32, 12, 1) and batch_t.shape == (32, 6, 1)


def test_shuffling_is_seeded():
    first = [
        next(iter(WindowDataModule("ar", context_length=8, horizon=4, seed=s).train_dataloader()))[
            0
        ]
        for s in (1, 1, 2)
    ]
    assert torch.equal(first[0], first[1]) and not torch.equal(first[0], first[2])


def test_scaler_uses_training_rows_only():
    values = np.r_[np.zeros(70), np.full(30, 100.0)] + np.tile([0.0, 1.0], 50)
    dm = WindowDataModule(
        pd.DataFrame({"y": values}), context_length=5, horizon=2, split={"train": 0.7, "test": 0.3}
    )
    assert dm.scaler.mean[0] == pytest.approx(0.5)  # the test rows' 100s would move it
    assert dm.scaler.std[0] == pytest.approx(0.5)
    np.testing.assert_allclose(
        dm.scaler.inverse_transform(dm.scaler.transform(values[:, None])),
        values[:, None],
        atol=1e-12,
    )


def test_informer_protocol_borders_and_origins():
    dm = WindowDataModule("etth1", context_length=96, horizon=24, split="informer")
    assert (
        dm.borders.train == (0, 8640)
        and dm.borders.val == (8640, 11520)
        and dm.borders.test == (11520, 14400)
    )
    assert len(dm.origins("test")) == 2880 - 24 + 1 == 2857
    assert dm.origins("test")[0] == 11519  # the first test context reaches back before the border
    assert dm.scaler.mean[0] == pytest.approx(17.128262, abs=1e-6)
    assert dm.scaler.std[0] == pytest.approx(9.176491, abs=1e-6)
    assert (
        len(
            WindowDataModule("etth1", context_length=96, horizon=96, split="informer").origins(
                "test"
            )
        )
        == 2785
    )


def test_sunspots_standard_origins():
    dm = WindowDataModule(
        "sunspots", context_length=30, horizon=20, split={"train": 0.7, "test": 0.3}
    )
    origins = dm.origins("test")
    assert len(origins) == 74 and origins[0] == 215 and origins[-1] == 288
    assert dm.origin_timestamps("test")[0].year == 1915


@pytest.mark.parametrize("generator", [mackey_glass, lorenz, ar, sine])
def test_generators_are_deterministic_per_seed(generator):
    a, b, c = generator(300, seed=1), generator(300, seed=1), generator(300, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.to_numpy(), c.to_numpy())
    assert np.isfinite(a.to_numpy()).all() and len(a) == 300


def test_mackey_glass_stays_on_its_attractor():
    x = mackey_glass(1000)["x"].to_numpy()
    assert 0.2 < x.min() and x.max() < 1.5 and x.std() > 0.1


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_bundled_datasets_load_offline(name):
    frame, target = load_dataset(name)
    assert target in frame.columns and len(frame) >= 100
    dm = WindowDataModule(name, context_length=10, horizon=5, fill_missing="interpolate")
    assert np.isfinite(dm.panel.values if dm.is_panel else dm.values).all()  # chaos135 is a panel


def test_list_datasets_describes_each():
    table = list_datasets()
    assert set(table["name"]) == set(DATASETS)
    etth1 = table.set_index("name").loc["etth1"]
    assert (
        etth1["length"] == 17420
        and etth1["license"] == "CC BY-ND 4.0"
        and etth1["frequency"] == "h"
    )


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_dataset_card_matches_the_loaded_frame(name: str) -> None:
    """list_datasets reads each card without loading: the card must say what loading gives."""
    frame, target = load_dataset(name)
    info = DATASETS[name]
    assert info.length == len(frame)
    assert info.frequency == (getattr(frame.index, "freqstr", None) or "step")
    assert info.columns == tuple(frame.columns) and target in info.columns


def test_several_targets():
    dm = WindowDataModule(
        "etth1", target=["OT", "HUFL"], context_length=24, horizon=12, split="informer"
    )
    contexts, targets = dm.windows("test")
    assert contexts.shape[1:] == (24, 2) and targets.shape[1:] == (12, 2)


def test_thomas_attractor_is_bounded_and_sensitive():
    from forecastab.data.synthetic import thomas

    a = thomas(600, burn_in=200, seed=0).to_numpy()
    b = thomas(600, burn_in=200, seed=1).to_numpy()
    assert a.shape == (600, 3) and np.abs(a).max() < 6 and a.std(axis=0).min() > 0.3
    assert np.abs(a - b).max() > 1.0  # different initial states end on different paths
