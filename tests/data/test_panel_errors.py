"""Bad panel input: one line naming the series and the fix, exit status 2, nothing lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import torch

from forecastab.cli import main
from forecastab.data import WindowDataModule
from forecastab.errors import DataError
from forecastab.models import ForecastModule, RNNConfig

L, H = 6, 3


def frame(lengths: dict[str, int] | None = None) -> pd.DataFrame:
    """A long frame with a future covariate ``price`` and a static category ``kind``."""
    rng = np.random.default_rng(0)
    parts = []
    for name, length in (lengths or {"a": 40, "b": 30}).items():
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": name,
                    "ds": pd.date_range("2024-01-01", periods=length, freq="h"),
                    "y": rng.normal(size=length),
                    "price": rng.normal(size=length),
                    "kind": "x" if name == "a" else "y",
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def duplicated() -> pd.DataFrame:
    data = frame()
    return pd.concat([data, data.iloc[[45]]], ignore_index=True)


def daily_c() -> pd.DataFrame:
    daily = frame({"c": 40}).assign(ds=pd.date_range("2024-01-01", periods=40, freq="D"))
    return pd.concat([frame(), daily], ignore_index=True)


def nan_price() -> pd.DataFrame:
    data = frame()
    data.loc[3, "price"] = np.nan
    return data


def varying_kind() -> pd.DataFrame:
    data = frame()
    data.loc[5, "kind"] = "z"
    return data


COVARIATES = {"future": ["price"], "static": ["kind"]}

CASES = {
    "missing id column": (
        frame(), {"id_column": "store"},
        "unknown id column 'store'; available columns: unique_id, ds, y, price, kind; name the "
        "column that holds the series ids",
    ),
    "duplicate (id, time)": (
        duplicated(), {},
        "series 'b': duplicate timestamp 2024-01-01 05:00:00 at row 6; remove or aggregate the "
        "duplicates",
    ),
    "an id with a different frequency": (
        daily_c(), {},
        "series 'c' has frequency D where the other series have h; resample it to h or leave it out",
    ),
    "a series shorter than context + horizon": (
        frame({"a": 40, "b": 8}), {"min_series_length": L + H},
        "series 'b' has 8 rows, fewer than min_series_length 9 (context 6 + horizon 3 need at "
        "least 9); give it more rows, or leave it out of the data",
    ),
    "NaN in a covariate": (
        nan_price(), {"covariates": COVARIATES},
        "series 'a': 1 missing or infinite value(s) (NaN or +/-inf), the first in column 'price' "
        "at row 3; set fill_missing: interpolate | ffill | drop",
    ),
    "a static covariate varying within a series": (
        varying_kind(), {"covariates": COVARIATES},
        "series 'a': static covariate 'kind' varies within the series (x, z); a static value is "
        "one per series: make it constant or list it as a past covariate",
    ),
    "a covariate listed twice": (
        frame(), {"covariates": {"future": ["price"], "past": ["price"]}},
        "covariate 'price' is listed twice (future and past); list each column once",
    ),
    "a covariate that is also a target": (
        frame(), {"covariates": {"future": ["y"]}},
        "column 'y' is both a target and a future covariate; remove it from one of the two lists",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_panel_data_is_one_line_naming_the_series_and_the_fix(case: str) -> None:
    data, options, message = CASES[case]
    settings = dict(time_column="ds", target="y", context_length=L, horizon=H) | options
    with pytest.raises(DataError) as raised:
        WindowDataModule(data, **settings)
    assert str(raised.value) == message
    assert "\n" not in str(raised.value)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[ForecastModule, Path, Path]:
    folder = tmp_path_factory.mktemp("panel_errors")
    csv = folder / "long.csv"
    frame().to_csv(csv, index=False)
    data = WindowDataModule(
        csv, time_column="ds", target="y", context_length=L, horizon=H, covariates=COVARIATES,
        split={"train": 0.7, "test": 0.3},
    )  # fmt: skip
    torch.manual_seed(0)
    model = ForecastModule(RNNConfig(hidden_size=4), context_length=L, horizon=H)
    trainer = pl.Trainer(
        max_epochs=1, logger=False, enable_progress_bar=False, enable_model_summary=False,
        default_root_dir=folder,
    )  # fmt: skip
    trainer.fit(model, data)
    checkpoint = folder / "model.ckpt"
    trainer.save_checkpoint(checkpoint)
    return model, csv, checkpoint


def future_prices(path: Path, *, drop_last: bool = False) -> Path:
    rows = []
    for name, start in (("a", "2024-01-02 16:00"), ("b", "2024-01-02 06:00")):
        for step, ds in enumerate(pd.date_range(start, periods=H, freq="h")):
            if drop_last and name == "b" and step == H - 1:
                continue
            rows.append({"unique_id": name, "ds": ds, "price": 0.5})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


PREDICT_CASES = {
    "a future covariate missing for the forecast dates": (
        {},
        "series 'a': future covariate(s) price missing for the forecast dates 2024-01-02 16:00:00 "
        "to 2024-01-02 18:00:00; pass them with --future CSV (columns ds, price)",
    ),
    "an id unknown to the checkpoint": (
        {"ids": ["zzz"]},
        "series 'zzz' is unknown to the checkpoint (it was fitted on a, b); forecast known ids or "
        "retrain with this one",
    ),
}


@pytest.mark.parametrize("case", sorted(PREDICT_CASES))
def test_bad_forecast_requests_are_one_line_naming_the_series(fitted, case: str) -> None:
    model, csv, _ = fitted
    options, message = PREDICT_CASES[case]
    with pytest.raises(DataError) as raised:
        model.predict_frame(csv, **options)
    assert str(raised.value) == message


def test_a_future_row_missing_for_one_id_names_it_and_its_dates(fitted, tmp_path: Path) -> None:
    model, csv, _ = fitted
    future = future_prices(tmp_path / "future.csv", drop_last=True)
    with pytest.raises(DataError) as raised:
        model.predict_frame(csv, future=future)
    assert str(raised.value) == (
        "series 'b': future covariate(s) price missing for the forecast dates 2024-01-02 08:00:00 "
        "to 2024-01-02 08:00:00; pass them with --future CSV (columns ds, price)"
    )
    complete = model.predict_frame(csv, future=future_prices(tmp_path / "all.csv"))
    assert complete.groupby("unique_id").size().to_dict() == {"a": H, "b": H}


def test_a_category_unseen_in_training_is_refused(fitted, tmp_path: Path) -> None:
    model, _, _ = fitted
    changed = tmp_path / "changed.csv"
    frame().assign(kind=lambda f: np.where(f["unique_id"] == "b", "w", f["kind"])).to_csv(
        changed, index=False
    )
    with pytest.raises(DataError) as raised:
        model.predict_frame(changed, future=future_prices(tmp_path / "future.csv"))
    assert str(raised.value) == (
        "series 'b': static covariate 'kind' has the category 'w', unseen in training (known: "
        "x, y); use a known category or retrain with it"
    )


def test_the_cli_prints_one_line_and_exits_2(fitted, tmp_path: Path, capsys) -> None:
    _, csv, checkpoint = fitted
    out = tmp_path / "kept.csv"
    out.write_text("earlier results\n")
    code = main(["predict", str(checkpoint), "--data", str(csv), "--ids", "zzz", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        "forecastab: error: series 'zzz' is unknown to the checkpoint (it was fitted on a, b); "
        "forecast known ids or retrain with this one"
    ]
    assert out.read_text() == "earlier results\n"  # nothing lost
