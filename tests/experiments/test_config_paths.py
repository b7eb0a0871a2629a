"""A relative CSV path in a YAML file names a file next to the YAML file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from forecastab.experiments.config import load_config


def _config(source: str) -> dict:
    return {
        "name": "paths",
        "data": {"source": source, "context_length": 4, "horizon": 2},
        "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
        "strategies": [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}],
    }


def test_csv_path_resolves_from_the_yaml_folder(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "experiment"
    folder.mkdir()
    (folder / "series.csv").write_text("y\n1\n2\n")
    (folder / "exp.yaml").write_text(yaml.safe_dump(_config("series.csv")))
    monkeypatch.chdir(tmp_path)  # the CSV is not in the current folder
    assert load_config("experiment/exp.yaml").data.source == str(Path("experiment/series.csv"))


@pytest.mark.parametrize("source", ["sunspots", "elsewhere.csv"])
def test_names_and_current_folder_paths_stay(tmp_path: Path, monkeypatch, source: str) -> None:
    folder = tmp_path / "experiment"
    folder.mkdir()
    (folder / "exp.yaml").write_text(yaml.safe_dump(_config(source)))
    monkeypatch.chdir(tmp_path)
    assert load_config("experiment/exp.yaml").data.source == source
