"""Tiny experiments: a seeded synthetic CSV and a grid that trains in about a second per run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml


def write_series(path: Path, n_rows: int = 160, seed: int = 0) -> Path:
    """A noisy sine with a daily time column, as a user's CSV."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n_rows)
    values = np.sin(2 * np.pi * steps / 12) + 0.1 * rng.standard_normal(n_rows)
    frame = pd.DataFrame(
        {"date": pd.date_range("2020-01-01", periods=n_rows, freq="D"), "y": values}
    )
    frame.to_csv(path, index=False)
    return path


def tiny_config(csv: Path, **overrides: Any) -> dict[str, Any]:
    """A grid of one small GRU and two strategies on the CSV, one epoch each."""
    config: dict[str, Any] = {
        "name": "tiny",
        "data": {
            "source": str(csv),
            "target": "y",
            "time_column": "date",
            "context_length": 12,
            "horizon": 6,
            "split": {"train": 0.7, "test": 0.3},
            "batch_size": 32,
        },
        "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
        "strategies": [
            {"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}},
            {"name": "free", "teacher_forcing": {"schedule": "constant", "ratio": 0.0}},
        ],
        "baselines": ["naive"],
        "seeds": [0],
        "trainer": {"max_epochs": 1, "accelerator": "cpu"},
        "evaluation": {"modes": ["free_running", "teacher_forced"], "metrics": ["mae", "rmse"]},
    }
    config.update(overrides)
    return config


def write_config(path: Path, config: dict[str, Any]) -> Path:
    """Write a config dict as YAML."""
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def series_csv(tmp_path: Path) -> Path:
    """A 160-row synthetic series with columns ``date, y``."""
    return write_series(tmp_path / "series.csv")


@pytest.fixture
def make_config(series_csv: Path) -> Any:
    """``make_config(**overrides) -> dict``: the tiny grid on ``series_csv``."""
    return lambda **overrides: tiny_config(series_csv, **overrides)


@pytest.fixture
def config_file(tmp_path: Path) -> Any:
    """``config_file(config, name="tiny.yaml") -> Path``: write a config dict as YAML."""
    return lambda config, name="tiny.yaml": write_config(tmp_path / name, config)
