"""One series of a panel seen as the single-series data the evaluation and baselines know.

``SeriesData`` has the attributes of a one-series ``WindowDataModule`` that evaluation,
baselines and ``predict_frame`` read (``values``, ``raw_values``, ``scaler``, ``borders``,
``origins()``, ``index``, ...), as views into the panel's concatenated arrays, plus the
series' covariates. Evaluating a panel is evaluating each of these on the same origins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecastab.data.splits import Borders, Scaler
from forecastab.data.windows import split_origins


@dataclass(frozen=True)
class SeriesCovariates:
    """One series' covariates over its rows: ``past (T, Kp)``, ``future (T', Kf)`` with
    ``T' >= T`` (future rows may reach past the end of the targets), ``static (S,)``."""

    past: np.ndarray | None = None
    future: np.ndarray | None = None
    static: np.ndarray | None = None

    def windows(
        self, origins: np.ndarray, context_length: int, horizon: int
    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """``(past (N, L, Kp), future (N, L+H, Kf), static (N, S))`` at the origins."""
        from forecastab.data.windows import window_view

        starts = np.asarray(origins, dtype=np.int64) - context_length + 1
        past = None if self.past is None else window_view(self.past, context_length)[starts]
        future = None
        if self.future is not None:
            future = window_view(self.future, context_length + horizon)[starts]
        static = None if self.static is None else np.repeat(self.static[None], len(starts), 0)
        return past, future, static


@dataclass
class SeriesData:
    """A single series of a panel, with the attributes of a one-series data module."""

    name: str
    series_id: str
    context_length: int
    horizon: int
    stride: int
    index: pd.Index
    values: np.ndarray
    raw_values: np.ndarray
    scaler: Scaler
    borders: Borders
    target_columns: list[str]
    season_length: int | None
    covariates: SeriesCovariates | None

    def origins(self, split: str = "test", stride: int | None = None) -> np.ndarray:
        """Row indices of this series' origins in a split (as ``WindowDataModule.origins``)."""
        step = stride or (1 if split == "train" else self.stride)
        return split_origins(self.borders, split, self.context_length, self.horizon, step)

    @property
    def series(self) -> pd.DataFrame:
        """The targets in original units, indexed by time."""
        return pd.DataFrame(self.raw_values, index=self.index, columns=self.target_columns)

    @property
    def n_targets(self) -> int:
        return len(self.target_columns)
