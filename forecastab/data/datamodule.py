"""``WindowDataModule``: a validated, split and scaled series served as ``(context, target)`` batches."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from forecastab.data.registry import DATASETS, load_dataset
from forecastab.data.splits import (
    PROTOCOLS,
    Borders,
    Scaler,
    check_lengths,
    fraction_borders,
    informer_borders,
    minimum_length,
    split_is_usable,
)
from forecastab.data.validation import FillMissing, validate_series
from forecastab.data.windows import WindowDataset, collate_batch, origin_windows
from forecastab.errors import DataError, unknown_name

_SEASON_BY_FREQ = {
    "h": 24,
    "15min": 96,
    "D": 7,
    "B": 5,
    "W": 52,
    "M": 12,
    "MS": 12,
    "ME": 12,
    "Q": 4,
    "QS": 4,
    "QE": 4,
}

DEFAULT_SPLIT = {"train": 0.7, "val": 0.1, "test": 0.2}


def season_from_index(index: pd.Index) -> int | None:
    """The usual seasonal period for a time index's frequency (24 for hourly, 12 for monthly, ...)."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return None
    freq = index.freqstr or pd.infer_freq(index)
    if freq is None:
        return None
    return _SEASON_BY_FREQ.get(
        freq.split("-")[0].upper() if freq[0] in "wW" else freq.split("-")[0]
    )


def _resolve_source(data: pd.DataFrame | str | Path, target, season_length):
    """A DataFrame, its target, a name and a season length from a bundled name, a CSV path or a DataFrame."""
    if isinstance(data, pd.DataFrame):
        return data, target, "dataframe", season_length
    text = str(data)
    if text in DATASETS:
        frame, default_target = load_dataset(text)
        season = season_length if season_length is not None else DATASETS[text].season_length
        return frame, target if target is not None else default_target, text, season
    path = Path(text)
    if path.suffix or path.exists() or "/" in text:
        return path, target, path.stem, season_length
    raise DataError(unknown_name("dataset", text, DATASETS) + "; or give the path of a CSV file")


def _longest_horizon(borders: Borders, context_length: int, horizon: int) -> str:
    """The longest horizon below ``horizon`` that these splits fit, as advice."""
    for shorter in range(horizon - 1, 0, -1):
        if split_is_usable(borders, context_length, shorter):
            return f"the longest horizon that fits is {shorter}"
    return f"no horizon fits with context {context_length}"


class WindowDataModule(pl.LightningDataModule):
    """A series split chronologically, scaled on its training rows, served as windows.

    Args:
        data: a bundled dataset name (see ``forecastab.data.list_datasets()``), a CSV path or a DataFrame.
        target: column(s) to forecast; bundled sets have a default, other data uses all non-time columns.
        time_column: the column with timestamps (the DataFrame's index when None).
        context_length: ``L``, rows of observed past per forecast.
        horizon: ``H``, steps ahead.
        split: chronological fractions ``{train, val?, test}`` or a protocol name (``informer``).
        batch_size: windows per batch.
        scaling: ``zscore`` (fitted on training rows only) or ``none``.
        fill_missing: ``interpolate``, ``ffill`` or ``drop`` for NaN/inf; None makes them an error.
        allow_irregular: accept unequal time steps.
        stride: distance between consecutive evaluation origins.
        seed: seeds the shuffling of training windows.
        season_length: seasonal period for seasonal baselines and MASE; inferred when None.
        num_workers: DataLoader worker processes.

    >>> dm = WindowDataModule("sunspots", context_length=30, horizon=20, split={"train": 0.7, "test": 0.3})
    >>> dm.borders.test, len(dm.origins("test"))
    ((216, 309), 74)
    """

    def __init__(
        self,
        data: pd.DataFrame | str | Path,
        *,
        target: str | list[str] | None = None,
        time_column: str | None = None,
        context_length: int,
        horizon: int,
        split: Mapping[str, float] | str = DEFAULT_SPLIT,
        batch_size: int = 64,
        scaling: str = "zscore",
        fill_missing: FillMissing | None = None,
        allow_irregular: bool = False,
        stride: int = 1,
        seed: int = 0,
        season_length: int | None = None,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        check_lengths(context_length, horizon)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise DataError(f"batch_size must be a positive integer, got {batch_size!r}")
        if isinstance(stride, bool) or not isinstance(stride, int) or stride <= 0:
            raise DataError(f"stride must be a positive integer, got {stride!r}")
        source, target, self.name, season = _resolve_source(data, target, season_length)
        self.series = validate_series(
            source,
            target=target,
            time_column=time_column,
            fill_missing=fill_missing,
            allow_irregular=allow_irregular,
        )
        self.context_length = int(context_length)
        self.horizon = int(horizon)
        self.batch_size = batch_size
        self.stride = stride
        self.seed = seed
        self.num_workers = num_workers
        self.index = self.series.index
        self.target_columns = [str(c) for c in self.series.columns]
        self.season_length = season if season is not None else season_from_index(self.index)
        self.borders = self._borders(split)
        self.raw_values = self.series.to_numpy(dtype=np.float64)  # (T, C)
        train_start, train_stop = self.borders.train
        self.scaler = Scaler.fit(self.raw_values[train_start:train_stop], kind=scaling)
        self.values = self.scaler.transform(self.raw_values).astype(np.float32)  # (T, C)

    def _borders(self, split: Mapping[str, float] | str) -> Borders:
        length = len(self.series)
        if isinstance(split, str):
            if split not in PROTOCOLS:
                raise DataError(
                    unknown_name("split protocol", split, PROTOCOLS)
                    + "; or give fractions {train, val, test}"
                )
            borders = informer_borders(self.index, length)
            if not split_is_usable(borders, self.context_length, self.horizon):
                raise DataError(
                    f"context {self.context_length} + horizon {self.horizon} do not fit the {split} protocol's splits; "
                    "use a shorter context or horizon"
                )
            return borders
        if not isinstance(split, Mapping):
            raise DataError(
                f"split must be fractions {{train, val, test}} or a protocol name, got {split!r}"
            )
        borders = fraction_borders(length, split)
        if not split_is_usable(borders, self.context_length, self.horizon):
            need = minimum_length(self.context_length, self.horizon, split)
            parts = "/".join(f"{k} {v:g}" for k, v in split.items() if v)
            raise DataError(
                f"series of {length} rows is too short for context {self.context_length} + horizon {self.horizon} "
                f"with split {parts}: it needs at least {need} rows; "
                f"{_longest_horizon(borders, self.context_length, self.horizon)}, "
                "or use a shorter context, or more data"
            )
        return borders

    @property
    def n_targets(self) -> int:
        return len(self.target_columns)

    def origins(self, split: str = "test", stride: int | None = None) -> np.ndarray:
        """Row indices of the last observed value of every forecast in a split.

        Training origins keep context and horizon inside the training rows; validation and test
        contexts may reach back before their border, so a split of ``n`` rows has ``n - H + 1``
        origins at stride 1.
        """
        bounds = self.borders.get(split)
        if bounds is None:
            return np.empty(0, dtype=np.int64)
        start, stop = bounds
        first = (
            self.context_length - 1 if split == "train" else max(start - 1, self.context_length - 1)
        )
        last = stop - self.horizon - 1
        return np.arange(
            first, last + 1, stride or (1 if split == "train" else self.stride), dtype=np.int64
        )

    def origin_timestamps(self, split: str = "test", stride: int | None = None) -> pd.Index:
        """The time of each origin in a split (the last observed time of each forecast)."""
        return self.index[self.origins(split, stride)]

    def windows(
        self, split: str = "test", stride: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scaled ``(contexts (N, L, C), targets (N, H, C))`` at a split's origins."""
        return origin_windows(
            self.values, self.origins(split, stride), self.context_length, self.horizon
        )

    def _loader(self, split: str, shuffle: bool) -> DataLoader | None:
        origins = self.origins(split)
        if len(origins) == 0:
            return None
        dataset = WindowDataset(self.values, origins, self.context_length, self.horizon)
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            generator=generator,
            collate_fn=collate_batch,
            num_workers=self.num_workers,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", shuffle=False) or []

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
