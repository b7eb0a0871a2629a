"""A tiny tune file: Mackey-Glass windows, a GRU of 4-8 units, one or two short epochs a trial."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

TINY: dict[str, Any] = {
    "name": "tiny_tune",
    "data": {
        "source": "mackey_glass",
        "context_length": 12,
        "horizon": 6,
        "split": {"train": 0.2, "val": 0.05, "test": 0.05},
        "batch_size": 64,
    },
    "models": [{"name": "gru", "type": "rnn", "cell": "gru", "hidden_size": 8}],
    "trainer": {"max_epochs": 2, "accelerator": "cpu", "limit_train_batches": 3},
    "evaluation": {"metrics": ["rmse"], "units": "scaled"},
    "seeds": [0, 1],
    "tune": {
        "trials": 3,
        "space": {
            "learning_rate": {"low": 0.001, "high": 0.01, "log": True},
            "hidden_size": [4, 8],
            "strategy": {
                "method": ["teacher_forcing", "noise_injection"],
                "noise_injection": {"std": {"low": 0.01, "high": 0.3, "log": True}},
            },
        },
    },
}


@pytest.fixture
def tiny_tune() -> dict[str, Any]:
    """A fresh copy of the tiny tune file's mapping."""
    return copy.deepcopy(TINY)


@pytest.fixture
def tune_file(tmp_path: Path):
    """Write a tune mapping to ``tmp_path/tune.yaml`` and return the path."""

    def write(raw: dict[str, Any], name: str = "tune.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        return path

    return write
