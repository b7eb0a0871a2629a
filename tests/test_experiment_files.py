"""Every experiment file shipped under experiments/ (one folder per study) still loads and
validates: its data, models, strategies (each model built with each of its strategies) and
baselines. A change of a default or a renamed key that breaks a documented experiment fails here,
before anyone reruns it."""

from __future__ import annotations

from pathlib import Path

import pytest

from forecastab.experiments.config import load_config
from forecastab.experiments.yaml_loader import load_yaml
from forecastab.tuning.config import load_tune_config

ROOT = Path(__file__).resolve().parents[1] / "experiments"
FILES = sorted(ROOT.rglob("*.yaml"))
TUNE_FILES = [p for p in FILES if "tune" in (load_yaml(p.read_text(encoding="utf-8")) or {})]
EXPERIMENTS = [p for p in FILES if p not in TUNE_FILES]


def test_there_are_experiment_files() -> None:
    assert len(EXPERIMENTS) >= 10


def test_every_experiment_sits_in_a_study_folder_with_an_index_line() -> None:
    """One folder per question, each listed in experiments/README.md (the index)."""
    index = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in FILES:
        study = path.parent
        assert study.parent == ROOT, f"{path} is not in a study folder directly under experiments/"
        assert f"]({study.name}/" in index, f"experiments/README.md does not list {study.name}/"
        assert (study / "README.md").is_file(), f"{study.name}/ has no README.md"


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_experiment_file_validates(path: Path) -> None:
    config = load_config(path)
    assert config.name == path.stem
    assert config.models and config.strategies


@pytest.mark.parametrize("path", TUNE_FILES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_tune_file_validates(path: Path) -> None:
    """A file with a ``tune:`` block is checked as ``forecastab tune`` checks it."""
    config = load_tune_config(path)
    assert config is not None
