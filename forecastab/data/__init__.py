"""Data layer: bundled datasets, validation of users' series, splits, scaling and windows.

The torch-backed names (``WindowDataModule``, ``origin_windows``, ``window_view``) are imported on
first use (PEP 562), so listing or loading a dataset does not import torch or Lightning.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from forecastab.data.registry import DATASETS, list_datasets, load_dataset
from forecastab.data.splits import Borders, Scaler
from forecastab.data.validation import validate_series

if TYPE_CHECKING:
    from forecastab.data.datamodule import WindowDataModule
    from forecastab.data.windows import origin_windows, window_view

_LAZY = {
    "WindowDataModule": "forecastab.data.datamodule",
    "origin_windows": "forecastab.data.windows",
    "window_view": "forecastab.data.windows",
}

__all__ = [
    "DATASETS",
    "Borders",
    "Scaler",
    "WindowDataModule",
    "list_datasets",
    "load_dataset",
    "origin_windows",
    "validate_series",
    "window_view",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
