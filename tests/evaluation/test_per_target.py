"""Per-target results: each target column gets its own metric rows, in its own units."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecastab.baselines import baseline_from_spec
from forecastab.data import WindowDataModule
from forecastab.evaluation import evaluate

L, H = 6, 3


def test_target_rows_equal_a_hand_computation_on_two_scales() -> None:
    rng = np.random.default_rng(1)
    n = 80
    frame = pd.DataFrame({
        "load": 110 + 5 * rng.standard_normal(n).cumsum(),  # about 110
        "temp": 17 + 0.5 * rng.standard_normal(n),  # about 17
    })
    dm = WindowDataModule(frame, context_length=L, horizon=H, split={"train": 0.7, "test": 0.3})
    naive = baseline_from_spec("naive").fit(dm)
    table = evaluate(naive, dm, metrics=("mae", "rmse")).table
    assert sorted(table["target"].unique()) == ["load", "temp"]
    assert len(table) == 2 * 2 * H  # targets x metrics x steps, no pooled rows

    raw = frame.to_numpy()
    origins = dm.origins("test")
    for c, column in enumerate(["load", "temp"]):
        for step in range(1, H + 1):
            # the naive forecast from origin t is y[t]; its error at step h is y[t+h] - y[t]
            errors = [raw[t + step, c] - raw[t, c] for t in origins]
            mae = sum(abs(e) for e in errors) / len(errors)
            rmse = (sum(e * e for e in errors) / len(errors)) ** 0.5
            row = table[(table["target"] == column) & (table["step"] == step)]
            assert np.isclose(row.loc[row["metric"] == "mae", "value"].item(), mae, rtol=1e-6)
            assert np.isclose(row.loc[row["metric"] == "rmse", "value"].item(), rmse, rtol=1e-6)
    means = table[table["metric"] == "mae"].groupby("target")["value"].mean()
    assert means["load"] > 5 * means["temp"]  # the scales stay apart, not pooled


def test_one_target_keeps_the_pooled_numbers() -> None:
    frame = pd.DataFrame({"y": np.sin(np.arange(60) / 3)})
    dm = WindowDataModule(frame, context_length=L, horizon=H, split={"train": 0.7, "test": 0.3})
    table = evaluate(baseline_from_spec("naive").fit(dm), dm, metrics="mae").table
    assert table["target"].unique().tolist() == ["y"]
    raw = frame["y"].to_numpy()
    origins = dm.origins("test")
    expected = [np.mean(np.abs(raw[origins + h] - raw[origins])) for h in range(1, H + 1)]
    np.testing.assert_allclose(table["value"], expected, rtol=1e-6)
