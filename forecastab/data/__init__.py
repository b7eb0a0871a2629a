"""Data layer: bundled datasets, validation of users' series, splits, scaling and windows."""

from forecastab.data.datamodule import WindowDataModule
from forecastab.data.registry import DATASETS, list_datasets, load_dataset
from forecastab.data.splits import Borders, Scaler
from forecastab.data.validation import validate_series
from forecastab.data.windows import origin_windows, window_view

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
