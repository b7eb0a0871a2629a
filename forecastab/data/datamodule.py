"""``WindowDataModule``: a validated, split and scaled series served as ``(context, target)`` batches."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from forecastab.data.covariates import CovariateSpec
from forecastab.data.panel import (
    DEFAULT_ID_COLUMN,
    Panel,
    build_panel,
    split_long_frame,
)
from forecastab.data.registry import DATASETS, load_dataset
from forecastab.data.series_data import SeriesCovariates, SeriesData
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
from forecastab.data.validation import FillMissing, fill_without_look_ahead, validate_series
from forecastab.data.windows import (
    PanelWindowDataset,
    SeriesBalancedSampler,
    WindowDataset,
    collate_batch,
    origin_windows,
    split_origins,
)
from forecastab.errors import DataError, unknown_name
from forecastab.teacher_forcing.covariates import Channels

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

WINDOW_SAMPLINGS = ("uniform", "per_series")


def _columns_of(source: pd.DataFrame | Path) -> list[str]:
    """The column names of a DataFrame or of a CSV file's header (empty when unreadable)."""
    if isinstance(source, pd.DataFrame):
        return [str(c) for c in source.columns]
    try:
        return [str(c) for c in pd.read_csv(source, nrows=0).columns]
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError):
        return []


def _is_panel(
    source: pd.DataFrame | Path,
    id_column: str | None,
    series: str,
    covariates: Mapping[str, list[str]] | None,
    calendar: list[str] | None,
) -> bool:
    """Whether the data goes through the panel path (ids, wide series or covariates)."""
    if id_column is not None or series != "rows" or covariates or calendar:
        return True
    return DEFAULT_ID_COLUMN in _columns_of(source)


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


def _resolve_source(data: pd.DataFrame | str | Path, target, season_length, generator=None):
    """A DataFrame, its target, a name and a season length from a bundled name (generated with
    ``generator``'s parameters when given), a CSV path or a DataFrame."""
    if isinstance(data, pd.Series):  # one column, named after the series
        data = data.to_frame(name=str(data.name) if data.name is not None else "y")
    if isinstance(data, pd.DataFrame):
        return data, target, "dataframe", season_length
    if not isinstance(data, str | Path):
        raise DataError(
            f"data must be a bundled dataset name, a CSV path or a pandas DataFrame, got "
            f"{type(data).__name__}; wrap an array as pd.DataFrame(values)"
        )
    text = str(data)
    if generator and text not in DATASETS:
        raise DataError(f"generator parameters apply to a generated dataset name, not to '{text}'")
    if text in DATASETS:
        frame, default_target = load_dataset(text, generator)
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
            ``interpolate`` fills the training rows linearly among themselves and carries the
            last value forward in the later splits (no look-ahead).
        allow_irregular: accept unequal time steps.
        stride: distance between consecutive evaluation origins.
        seed: seeds the shuffling of training windows.
        season_length: seasonal period for seasonal baselines and MASE; inferred when None.
        num_workers: DataLoader worker processes.
        id_column: the column of series ids of a long frame (``unique_id`` when present);
            every series is validated, split and scaled on its own (see :mod:`forecastab.data.panel`
            and docs/panel.md).
        series: ``rows`` (one series per id, or a single series) or ``columns`` (each target
            column of a wide frame is its own series).
        covariates: ``{future: [...], past: [...], static: [...]}`` covariate columns.
        calendar: calendar features derived as future covariates (``hour``, ``dayofweek``, ...).
        min_series_length: refuse any series shorter than this (default: series too short for
            the splits are dropped with one warning that lists them).
        window_sampling: ``uniform`` (every training window equally likely) or ``per_series``
            (every series equally likely, then one of its windows).
        generator: parameters of a generated dataset's generator, e.g. ``{"b": 0.1}`` for
            ``thomas`` (see docs/data.md); None is the bundled default series.

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
        id_column: str | None = None,
        series: str = "rows",
        covariates: Mapping[str, list[str]] | None = None,
        calendar: list[str] | None = None,
        min_series_length: int | None = None,
        window_sampling: str = "uniform",
        generator: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        check_lengths(context_length, horizon)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise DataError(f"batch_size must be a positive integer, got {batch_size!r}")
        if isinstance(stride, bool) or not isinstance(stride, int) or stride <= 0:
            raise DataError(f"stride must be a positive integer, got {stride!r}")
        source, target, self.name, season = _resolve_source(
            data, target, season_length, generator
        )
        self.panel: Panel | None = None
        self.has_ids = False
        self.covariate_spec = CovariateSpec()
        if window_sampling not in WINDOW_SAMPLINGS:
            raise DataError(unknown_name("window_sampling", str(window_sampling), WINDOW_SAMPLINGS))
        self.window_sampling = window_sampling
        if _is_panel(source, id_column, series, covariates, calendar):
            self._init_panel(
                source, target=target, time_column=time_column, context_length=context_length,
                horizon=horizon, split=split, batch_size=batch_size, scaling=scaling,
                fill_missing=fill_missing, allow_irregular=allow_irregular, stride=stride,
                seed=seed, season=season, num_workers=num_workers, id_column=id_column,
                series=series, covariates=covariates, calendar=calendar,
                min_series_length=min_series_length,
            )  # fmt: skip
            return
        self.series = validate_series(
            source,
            target=target,
            time_column=time_column,
            fill_missing=fill_missing,
            allow_irregular=allow_irregular,
            keep_missing=fill_missing == "interpolate",
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
        if fill_missing == "interpolate":
            # Interpolating before the split would fill contexts from after their origins.
            self.series = fill_without_look_ahead(self.series, self.borders.train[1])
            if not np.isfinite(self.series.to_numpy()).all():
                raise DataError(
                    "a target column has no finite values in the training rows; "
                    "choose another target column"
                )
        self.raw_values = self.series.to_numpy(dtype=np.float64)  # (T, C)
        train_start, train_stop = self.borders.train
        self.scaler = Scaler.fit(self.raw_values[train_start:train_stop], kind=scaling)
        self.values = self.scaler.transform(self.raw_values).astype(np.float32)  # (T, C)

    def _init_panel(
        self,
        source: pd.DataFrame | Path,
        *,
        target: str | list[str] | None,
        time_column: str | None,
        context_length: int,
        horizon: int,
        split: Mapping[str, float] | str,
        batch_size: int,
        scaling: str,
        fill_missing: FillMissing | None,
        allow_irregular: bool,
        stride: int,
        seed: int,
        season: int | None,
        num_workers: int,
        id_column: str | None,
        series: str,
        covariates: Mapping[str, list[str]] | None,
        calendar: list[str] | None,
        min_series_length: int | None,
    ) -> None:
        """Many series (or one with covariates): validated, split and scaled per series."""
        if isinstance(split, str) and split not in PROTOCOLS:
            raise DataError(
                unknown_name("split protocol", split, PROTOCOLS)
                + "; or give fractions {train, val, test} or dates {val_start, test_start}"
            )
        if not isinstance(split, Mapping | str):
            raise DataError(f"split must be fractions or dates, got {split!r}")
        if min_series_length is not None and (
            isinstance(min_series_length, bool)
            or not isinstance(min_series_length, int)
            or min_series_length < 1
        ):
            raise DataError(
                f"min_series_length must be a positive integer, got {min_series_length!r}"
            )
        frames, targets, spec, has_ids = split_long_frame(
            source, id_column=id_column, series_layout=series, target=target,
            time_column=time_column, covariates=covariates, calendar=calendar,
            fill_missing=fill_missing, allow_irregular=allow_irregular,
        )  # fmt: skip
        self.panel = build_panel(
            frames, targets=targets, spec=spec, split=split, context_length=context_length,
            horizon=horizon, scaling=scaling, fill_missing=fill_missing,
            min_series_length=min_series_length, has_ids=has_ids,
        )  # fmt: skip
        self.has_ids = has_ids
        self.series_layout = series
        self.id_column = (id_column or DEFAULT_ID_COLUMN) if has_ids and series == "rows" else None
        self.time_column = time_column
        self.covariate_spec = spec
        self.split = split if isinstance(split, str) else dict(split)
        self.context_length = int(context_length)
        self.horizon = int(horizon)
        self.batch_size = batch_size
        self.stride = stride
        self.seed = seed
        self.num_workers = num_workers
        self.target_columns = list(targets)
        self.series_ids = list(self.panel.ids)
        self.index = self.panel.indexes[0]
        self.season_length = season if season is not None else season_from_index(self.index)
        self.channels = Channels(
            n_targets=len(targets),
            n_past=0 if self.panel.past is None else self.panel.past.shape[1],
            n_future=0 if self.panel.future is None else self.panel.future.shape[1],
            n_static=0 if self.panel.static is None else self.panel.static.shape[1],
        )
        if len(self.panel) == 1:  # a panel of one still offers the one-series attributes
            only = self.series_data(0)
            self.series = only.series
            self.raw_values = only.raw_values
            self.values = only.values
            self.scaler = only.scaler
            self.borders = only.borders

    @property
    def has_validation(self) -> bool:
        """Whether the split has validation rows (in some series, for a panel)."""
        if self.panel is not None:
            return any(b.val is not None for b in self.panel.borders)
        return self.borders.val is not None

    @property
    def is_panel(self) -> bool:
        """True when the data went through the panel path (ids, wide series or covariates)."""
        return self.panel is not None

    def series_data(self, which: int | str) -> SeriesData:
        """One series of the panel (by position or id) as single-series data."""
        panel = self.panel
        if panel is None:
            raise DataError("this data module holds one series without ids; use it directly")
        if isinstance(which, str):
            if which not in panel.ids:
                raise DataError(
                    unknown_name("series id", which, panel.ids) if len(panel.ids) < 50
                    else f"unknown series id '{which}'"
                )
            which = panel.ids.index(which)
        rows = panel.rows(which)
        covariates = None
        if self.channels.has_covariates:
            covariates = SeriesCovariates(
                past=None if panel.past is None else panel.past[rows],
                future=None if panel.future is None else panel.future[rows],
                static=None if panel.static is None else panel.static[which],
            )
        series_id = panel.ids[which]
        return SeriesData(
            name=self.name,
            series_id=series_id,
            context_length=self.context_length,
            horizon=self.horizon,
            stride=self.stride,
            index=panel.indexes[which],
            values=panel.values[rows],
            raw_values=panel.raw_values[rows],
            scaler=panel.scalers[which],
            borders=panel.borders[which],
            target_columns=self.target_columns,
            season_length=self.season_length,
            covariates=covariates,
        )

    def _panel_loader(self, split: str, shuffle: bool) -> DataLoader | None:
        panel = self.panel
        stride = 1 if split == "train" else self.stride
        origins = [
            split_origins(b, split, self.context_length, self.horizon, stride)
            for b in panel.borders
        ]
        counts = np.array([len(o) for o in origins], dtype=np.int64)
        if counts.sum() == 0:
            return None
        first = np.array([o[0] if len(o) else 0 for o in origins], dtype=np.int64)
        dataset = PanelWindowDataset(
            panel.values, indptr=panel.indptr, first_origins=first, counts=counts,
            stride=stride, context_length=self.context_length, horizon=self.horizon,
            past=panel.past, future=panel.future, static=panel.static,
        )  # fmt: skip
        generator = torch.Generator().manual_seed(self.seed)
        sampler = None
        if shuffle and self.window_sampling == "per_series":
            sampler, shuffle = SeriesBalancedSampler(counts, generator), False
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            sampler=sampler,
            generator=generator,
            collate_fn=collate_batch,
            num_workers=self.num_workers,
        )

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
        if self.panel is not None and len(self.panel) > 1:
            raise DataError(
                f"the data holds {len(self.panel)} series; ask one for its origins: "
                "data.series_data(id).origins(split)"
            )
        step = stride or (1 if split == "train" else self.stride)
        return split_origins(self.borders, split, self.context_length, self.horizon, step)

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
        if self.panel is not None:
            return self._panel_loader(split, shuffle)
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
