"""Covariate settings of the ``data:`` block and the calendar features derived from timestamps.

``covariates: {future: [...], past: [...], static: [...]}`` names columns of the data;
``calendar: [hour, dayofweek, month, ...]`` derives future covariates from the time index.
Every name is checked once here: a column listed twice, or also a target, is one error line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecastab.errors import DataError, unknown_name

COVARIATE_KINDS = ("future", "past", "static")
"""The keys of ``covariates:``."""

CALENDAR_FEATURES: dict[str, tuple[Callable[[pd.DatetimeIndex], Any], int]] = {
    "minute": (lambda index: index.minute, 60),
    "hour": (lambda index: index.hour, 24),
    "dayofweek": (lambda index: index.day_of_week, 7),
    "dayofmonth": (lambda index: index.day - 1, 31),
    "dayofyear": (lambda index: index.day_of_year - 1, 366),
    "weekofyear": (lambda index: index.isocalendar().week.to_numpy() - 1, 53),
    "month": (lambda index: index.month - 1, 12),
}
"""Calendar feature -> (its value at each time, the number of values it takes)."""


def calendar_features(index: pd.Index, names: Sequence[str]) -> np.ndarray:
    """Calendar features of a time index, each scaled to ``[-0.5, 0.5]`` (as Informer does).

    Args:
        index: a DatetimeIndex.
        names: features from :data:`CALENDAR_FEATURES`.

    Returns:
        ``(T, K)`` float32, one column per name.

    >>> calendar_features(pd.date_range("2024-01-01", periods=2, freq="h"), ["hour"])[:, 0].round(4)
    array([-0.5   , -0.4565], dtype=float32)
    """
    if not names:
        return np.zeros((len(index), 0), dtype=np.float32)
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(
            f"calendar features ({', '.join(names)}) need dates in the time column, got "
            f"{type(index).__name__} values; name a time_column with dates or drop calendar"
        )
    columns = []
    for name in names:
        value, count = CALENDAR_FEATURES[name]
        columns.append(np.asarray(value(index), dtype=np.float64) / (count - 1) - 0.5)
    return np.stack(columns, axis=1).astype(np.float32)  # (T, K)


@dataclass(frozen=True)
class CovariateSpec:
    """Which columns are covariates of which kind, and which calendar features to derive.

    >>> CovariateSpec.from_options({"future": ["price"]}, ["hour"], targets=["y"]).future_names
    ('price', 'hour')
    """

    future: tuple[str, ...] = ()
    past: tuple[str, ...] = ()
    static: tuple[str, ...] = ()
    calendar: tuple[str, ...] = ()

    @classmethod
    def from_options(
        cls,
        covariates: Mapping[str, Sequence[str]] | None,
        calendar: Sequence[str] | None,
        *,
        targets: Sequence[str],
    ) -> CovariateSpec:
        """Check the ``covariates`` mapping and ``calendar`` list against each other and targets.

        Raises:
            DataError: an unknown kind or calendar feature, a column listed twice, or a
                covariate that is also a target.
        """
        covariates = dict(covariates or {})
        for kind in covariates:
            if kind not in COVARIATE_KINDS:
                raise DataError(unknown_name("covariate kind", str(kind), COVARIATE_KINDS))
        lists: dict[str, tuple[str, ...]] = {}
        for kind in COVARIATE_KINDS:
            names = covariates.get(kind) or []
            if isinstance(names, str):
                names = [names]
            lists[kind] = tuple(str(n) for n in names)
        features = tuple(str(n) for n in (calendar or []))
        for name in features:
            if name not in CALENDAR_FEATURES:
                raise DataError(unknown_name("calendar feature", name, CALENDAR_FEATURES))
        seen: dict[str, str] = {}
        for kind in COVARIATE_KINDS:
            for name in lists[kind]:
                if name in seen:
                    where = kind if seen[name] == kind else f"{seen[name]} and {kind}"
                    raise DataError(
                        f"covariate '{name}' is listed twice ({where}); list each column once"
                    )
                seen[name] = kind
        for name in features:
            if features.count(name) > 1:
                raise DataError(f"calendar feature '{name}' is listed twice; list it once")
        for name, kind in seen.items():
            if name in targets:
                raise DataError(
                    f"column '{name}' is both a target and a {kind} covariate; "
                    "remove it from one of the two lists"
                )
        return cls(lists["future"], lists["past"], lists["static"], features)

    @property
    def future_names(self) -> tuple[str, ...]:
        """Future covariate channels in order: the named columns, then the calendar features."""
        return (*self.future, *self.calendar)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every data column a covariate reads (calendar features read none)."""
        return (*self.future, *self.past, *self.static)

    @property
    def empty(self) -> bool:
        return not (self.future or self.past or self.static or self.calendar)

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "future": list(self.future),
            "past": list(self.past),
            "static": list(self.static),
            "calendar": list(self.calendar),
        }

    @classmethod
    def from_dict(cls, entry: Mapping[str, Sequence[str]] | None) -> CovariateSpec:
        entry = entry or {}
        return cls(*(tuple(entry.get(k) or ()) for k in (*COVARIATE_KINDS, "calendar")))


@dataclass(frozen=True)
class StaticEncoding:
    """How the static columns become one vector per series: real values are z-scored over the
    series, categories one-hot over those seen in training.

    Attributes:
        columns: ``(name, kind, parameters)`` per static column; ``kind`` is ``real`` (with
            ``[mean, std]``) or ``category`` (with the sorted categories).
    """

    columns: tuple[tuple[str, str, tuple[Any, ...]], ...] = ()

    @classmethod
    def fit(cls, table: pd.DataFrame) -> StaticEncoding:
        """Learn the encoding of a table with one row per series and one column per static."""
        columns = []
        for name in table.columns:
            raw = table[name]
            if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
                values = raw.to_numpy(dtype=np.float64)
                std = float(values.std()) or 1.0
                columns.append((str(name), "real", (float(values.mean()), std)))
            else:
                columns.append((str(name), "category", tuple(sorted(str(v) for v in raw.unique()))))
        return cls(tuple(columns))

    @property
    def width(self) -> int:
        return sum(1 if kind == "real" else len(params) for _, kind, params in self.columns)

    def transform(self, table: pd.DataFrame) -> np.ndarray:
        """``(S, width)`` float32 vectors of a table with one row per series (index: the ids).

        Raises:
            DataError: a category not seen in training (naming the series and the column).
        """
        parts = []
        for name, kind, params in self.columns:
            raw = table[name]
            if kind == "real":
                mean, std = params
                values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
                parts.append(((values - mean) / std)[:, None])
                continue
            known = {category: i for i, category in enumerate(params)}
            onehot = np.zeros((len(raw), len(params)))
            for row, (series, value) in enumerate(raw.items()):
                if str(value) not in known:
                    raise DataError(
                        f"series '{series}': static covariate '{name}' has the category "
                        f"{value!r}, unseen in training (known: {', '.join(params)}); "
                        "use a known category or retrain with it"
                    )
                onehot[row, known[str(value)]] = 1.0
            parts.append(onehot)
        if not parts:
            return np.zeros((len(table), 0), dtype=np.float32)
        return np.concatenate(parts, axis=1).astype(np.float32)  # (S, width)

    def to_list(self) -> list[list[Any]]:
        return [[name, kind, list(params)] for name, kind, params in self.columns]

    @classmethod
    def from_list(cls, entry: Sequence[Sequence[Any]] | None) -> StaticEncoding:
        return cls(tuple((str(n), str(k), tuple(p)) for n, k, p in (entry or [])))
