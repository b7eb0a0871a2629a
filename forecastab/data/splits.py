"""Chronological splits, the named benchmark protocols, and the train-only scaler."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecastab.errors import DataError

SPLIT_KEYS = ("train", "val", "test")
PROTOCOLS = ("informer",)


@dataclass(frozen=True)
class Borders:
    """Row ranges ``[start, stop)`` of each split; ``val`` is None when there is no validation split."""

    train: tuple[int, int]
    val: tuple[int, int] | None
    test: tuple[int, int]

    def get(self, split: str) -> tuple[int, int] | None:
        if split not in SPLIT_KEYS:
            raise DataError(f"unknown split '{split}'; valid: {', '.join(SPLIT_KEYS)}")
        return getattr(self, split)


def check_lengths(context_length: object, horizon: object) -> None:
    """Raise a DataError unless both are positive integers.

    >>> check_lengths(30, 0)
    Traceback (most recent call last):
    ...
    forecastab.errors.DataError: horizon must be a positive integer, got 0
    """
    for name, value in (("context_length", context_length), ("horizon", horizon)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise DataError(f"{name} must be a positive integer, got {value!r}")


def check_fractions(split: Mapping[str, float]) -> dict[str, float]:
    """Validate split fractions: known keys, train and test present, each in (0, 1], sum at most 1."""
    unknown = [k for k in split if k not in SPLIT_KEYS]
    if unknown:
        raise DataError(f"unknown split key '{unknown[0]}'; valid: {', '.join(SPLIT_KEYS)}")
    fractions = {}
    for key in SPLIT_KEYS:
        if key not in split or split[key] is None:
            continue
        value = split[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise DataError(
                f"split fraction '{key}' must be a number between 0 and 1, got {value!r}"
            )
        fractions[key] = float(value)
    for key in ("train", "test"):
        if fractions.get(key, 0.0) <= 0:
            raise DataError(
                f"split needs a positive '{key}' fraction, e.g. {{train: 0.7, test: 0.3}}"
            )
    total = sum(fractions.values())
    if total > 1 + 1e-9:
        parts = " + ".join(f"{k} {v:g}" for k, v in fractions.items())
        raise DataError(
            f"split fractions add up to {total:g} ({parts}); they must add up to at most 1"
        )
    return fractions


def fraction_borders(length: int, split: Mapping[str, float]) -> Borders:
    """Borders of chronological splits by fractions; when they add up to 1 the test split runs to the end.

    >>> fraction_borders(309, {"train": 0.7, "test": 0.3})
    Borders(train=(0, 216), val=None, test=(216, 309))
    """
    fractions = check_fractions(split)
    train_stop = int(math.floor(length * fractions["train"] + 1e-9))
    val_stop = int(math.floor(length * (fractions["train"] + fractions.get("val", 0.0)) + 1e-9))
    total = sum(fractions.values())
    test_stop = length if abs(total - 1) < 1e-9 else int(math.floor(length * total + 1e-9))
    val = (train_stop, val_stop) if "val" in fractions and fractions["val"] > 0 else None
    return Borders(train=(0, train_stop), val=val, test=(val_stop, test_stop))


def informer_borders(index: pd.Index, length: int) -> Borders:
    """The Informer protocol for ETT data: 12/4/4 months of 30 days for train/val/test.

    For hourly data this is train rows [0, 8640), validation [8640, 11520), test [11520, 14400).
    """
    freq = pd.infer_freq(index) if isinstance(index, pd.DatetimeIndex) and len(index) > 2 else None
    per_day = {"h": 24, "H": 24, "15min": 96, "15T": 96}.get(freq or "")
    if per_day is None:
        raise DataError(
            f"the informer protocol needs hourly or 15-minute data with a time index, got frequency {freq or 'unknown'}; "
            "use split fractions such as {train: 0.7, val: 0.1, test: 0.2}"
        )
    month = 30 * per_day
    borders = Borders(
        train=(0, 12 * month), val=(12 * month, 16 * month), test=(16 * month, 20 * month)
    )
    if length < borders.test[1]:
        raise DataError(
            f"the informer protocol needs at least {borders.test[1]} rows, the series has {length}"
        )
    return borders


def minimum_length(context_length: int, horizon: int, split: Mapping[str, float]) -> int:
    """The shortest series that gives one training window and one origin in every other split."""
    fractions = check_fractions(split)
    for length in range(context_length + horizon, 10_000_000):
        if split_is_usable(fraction_borders(length, fractions), context_length, horizon):
            return length
    raise DataError("split fractions are too small to ever hold a window; use larger fractions")


def split_is_usable(borders: Borders, context_length: int, horizon: int) -> bool:
    train_rows = borders.train[1] - borders.train[0]
    others = [b for b in (borders.val, borders.test) if b is not None]
    return (
        train_rows >= context_length + horizon
        and all(stop - start >= horizon for start, stop in others)
        and (borders.test[0] - context_length + 1 >= 0)
    )


@dataclass(frozen=True)
class Scaler:
    """Per-column z-score fitted on training rows only (population std); ``none`` is the identity.

    >>> s = Scaler.fit(np.array([[1.0], [3.0]]), kind="zscore")
    >>> s.transform(np.array([[3.0]])).tolist(), s.inverse_transform(np.array([[1.0]])).tolist()
    ([[1.0]], [[3.0]])
    """

    mean: np.ndarray
    std: np.ndarray
    kind: str = "zscore"

    @classmethod
    def fit(cls, train_values: np.ndarray, kind: str = "zscore") -> Scaler:
        columns = train_values.shape[-1]
        if kind == "none":
            return cls(mean=np.zeros(columns), std=np.ones(columns), kind=kind)
        if kind != "zscore":
            raise DataError(f"unknown scaling '{kind}'; valid: zscore, none")
        mean = train_values.mean(axis=0)
        std = train_values.std(axis=0)  # population std, as the long-horizon protocol uses
        return cls(mean=mean, std=np.where(std > 0, std, 1.0), kind=kind)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale values of shape ``(..., C)``."""
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.std

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform` on values of shape ``(..., C)``."""
        return np.asarray(values, dtype=np.float64) * self.std + self.mean
