"""Every experiment file shipped in experiments/ still loads and validates: its data, models,
strategies (each model built with each of its strategies) and baselines. A change of a default
or a renamed key that breaks a documented experiment fails here, before anyone reruns it."""

from __future__ import annotations

from pathlib import Path

import pytest

from forecastab.experiments.config import load_config

EXPERIMENTS = sorted((Path(__file__).resolve().parents[1] / "experiments").glob("*.yaml"))


def test_there_are_experiment_files() -> None:
    assert len(EXPERIMENTS) >= 10


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda path: path.name)
def test_experiment_file_validates(path: Path) -> None:
    config = load_config(path)
    assert config.name == path.stem
    assert config.models and config.strategies
