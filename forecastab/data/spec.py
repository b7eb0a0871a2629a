"""``DataSpec``: the data settings a fitted forecaster needs to forecast from raw data.

A model fitted on a ``WindowDataModule`` sees scaled windows. To forecast from a raw CSV or
DataFrame later (in another process, from a checkpoint) it needs what the data module knew: the
target and time columns, the train-fitted scaler, the context length and horizon, the series'
frequency and season. ``DataSpec`` holds exactly that, as plain types a checkpoint can carry
and ``torch.load(weights_only=True)`` can read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecastab.data.splits import Scaler
from forecastab.data.validation import validate_series
from forecastab.errors import DataError

SPEC_FIELDS = (
    "target_columns",
    "time_column",
    "context_length",
    "horizon",
    "scaling",
    "scaler_mean",
    "scaler_std",
    "frequency",
    "season_length",
    "name",
)
"""The keys of :meth:`DataSpec.to_dict`, in order (a checkpoint without one is reported)."""


def index_frequency(index: pd.Index) -> str | None:
    """The frequency string of a time index (``h``, ``D``, ``MS``, ...), or None.

    >>> index_frequency(pd.date_range("2024-01-01", periods=4, freq="D"))
    'D'
    >>> index_frequency(pd.RangeIndex(5)) is None
    True
    """
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return None
    return index.freqstr or pd.infer_freq(index)


@dataclass(frozen=True)
class DataSpec:
    """What a forecaster learned about its data, beyond its weights.

    Attributes:
        target_columns: the forecast columns, in order.
        time_column: the timestamp column (None: the row order or the DataFrame's index).
        context_length: ``L``, rows of context per forecast.
        horizon: ``H``, the trained horizon.
        scaler: the scaler fitted on the training rows.
        frequency: the time index's frequency (``h``, ``D``, ``MS``), None when unknown.
        season_length: the seasonal period (24 for hourly data), None when unknown.
        name: the data's name (a bundled name or the CSV's stem).
    """

    target_columns: tuple[str, ...]
    time_column: str | None
    context_length: int
    horizon: int
    scaler: Scaler
    frequency: str | None = None
    season_length: int | None = None
    name: str = "data"
    panel: dict[str, Any] | None = None
    """Many series or covariates (plain types, see :func:`forecastab.data.panel_spec.panel_entry`):
    the id column and layout, every series' id and scalers, the covariate settings and the
    static encoding; None for a single series without covariates."""

    @classmethod
    def from_datamodule(cls, data: Any) -> DataSpec:
        """The spec of a ``WindowDataModule`` (or any object with its attributes)."""
        index = data.index
        if getattr(data, "panel", None) is not None:
            from forecastab.data.panel_spec import panel_entry

            time_column = data.time_column
            if time_column is None and getattr(index, "name", None) is not None:
                time_column = str(index.name)  # a bundled set's time index (ETTh1: ``date``)
            return cls(
                target_columns=tuple(str(c) for c in data.target_columns),
                time_column=time_column,
                context_length=int(data.context_length),
                horizon=int(data.horizon),
                scaler=data.panel.scalers[0],
                frequency=index_frequency(index),
                season_length=getattr(data, "season_length", None),
                name=str(getattr(data, "name", "data")),
                panel=panel_entry(data),
            )
        return cls(
            target_columns=tuple(str(c) for c in data.target_columns),
            time_column=None if index.name is None else str(index.name),
            context_length=int(data.context_length),
            horizon=int(data.horizon),
            scaler=data.scaler,
            frequency=index_frequency(index),
            season_length=getattr(data, "season_length", None),
            name=str(getattr(data, "name", "data")),
        )

    @property
    def n_targets(self) -> int:
        return len(self.target_columns)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types only (lists, str, int, float, None), for a checkpoint."""
        return {
            "target_columns": list(self.target_columns),
            "time_column": self.time_column,
            "context_length": self.context_length,
            "horizon": self.horizon,
            "scaling": self.scaler.kind,
            "scaler_mean": [float(v) for v in np.asarray(self.scaler.mean).ravel()],
            "scaler_std": [float(v) for v in np.asarray(self.scaler.std).ravel()],
            "frequency": self.frequency,
            "season_length": self.season_length,
            "name": self.name,
            **({} if self.panel is None else {"panel": self.panel}),
        }

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any], *, where: str = "checkpoint") -> DataSpec:
        """Rebuild a spec from :meth:`to_dict`'s output.

        Raises:
            DataError: a key is missing (naming every missing key) or malformed.
        """
        missing = [key for key in SPEC_FIELDS if key not in entry]
        if missing:
            raise DataError(
                f"{where} lacks the data settings {', '.join(missing)}; it was saved by an older "
                "forecastab: retrain the model to forecast from raw data"
            )
        return cls(
            target_columns=tuple(str(c) for c in entry["target_columns"]),
            time_column=entry["time_column"],
            context_length=int(entry["context_length"]),
            horizon=int(entry["horizon"]),
            scaler=Scaler(
                mean=np.asarray(entry["scaler_mean"], dtype=np.float64),
                std=np.asarray(entry["scaler_std"], dtype=np.float64),
                kind=str(entry["scaling"]),
            ),
            frequency=entry["frequency"],
            season_length=entry["season_length"],
            name=str(entry["name"]),
            panel=entry.get("panel"),
        )

    def read(self, data: pd.DataFrame | str | Path) -> pd.DataFrame:
        """A raw CSV path, bundled dataset name or DataFrame as this spec's validated series.

        Returns:
            A float64 DataFrame of the target columns, indexed by time, in original units.

        Raises:
            DataError: a missing target or time column, a non-numeric value, too few rows for
                one context, ... (one line naming the fix).
        """
        from forecastab.data.datamodule import _resolve_source

        source, _, _, _ = _resolve_source(data, list(self.target_columns), None)
        time_column = self.time_column
        if isinstance(source, pd.DataFrame) and time_column is not None:
            columns = [str(c) for c in source.columns]
            if time_column not in columns and not isinstance(source.index, pd.RangeIndex):
                time_column = None  # the DataFrame's own index holds the time
        series = validate_series(source, target=list(self.target_columns), time_column=time_column)
        if len(series) < self.context_length:
            where = f"{data}: " if isinstance(data, (str, Path)) else ""
            raise DataError(
                f"{where}the data has {len(series)} rows but the model needs at least "
                f"{self.context_length} (its context length) to forecast; give a longer series"
            )
        return series
