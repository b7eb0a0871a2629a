"""The selection-criterion study script: which trials it ranks and where it writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = (
    Path(__file__).resolve().parents[2]
    / "experiments"
    / "selection_criterion"
    / "criterion_study.py"
)


def _script(monkeypatch: pytest.MonkeyPatch, here: Path):
    spec = importlib.util.spec_from_file_location("criterion_study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", here)  # write the table and chart to a temporary folder
    return module


def _tune_folder(path: Path) -> Path:
    """Ten trials: six complete, three pruned, one failed (never ranked)."""
    path.mkdir()
    rng = pd.Series(range(10), dtype=float)
    pd.DataFrame({
        "arm": ["search"] * 5 + ["teacher_forcing"] * 5,
        "trial": list(range(5)) * 2,
        "state": ["complete"] * 6 + ["pruned"] * 3 + ["fail"],
        "strategy": ["noise_injection"] * 5 + ["teacher_forcing"] * 5,
        "val_teacher_forced": 0.01 * (10 - rng),
        "val_one_step": 0.02 * (rng % 3 + 1) + 0.001 * rng,
        "val_free_running": 0.1 * (rng + 1),
        "test_free_running": 0.1 * (rng + 1) + 0.01,
    }).to_csv(path / "trials.csv", index=False)
    return path


def test_pruned_trials_are_ranked_only_when_asked_and_files_take_the_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = _tune_folder(tmp_path / "sc_toy")
    script = _script(monkeypatch, tmp_path)

    assert script.main([str(folder), "--name", "toy"]) == 0
    table = pd.read_csv(tmp_path / "criterion_table_toy.csv")
    assert (tmp_path / "criteria_toy.png").stat().st_size > 0
    assert not (tmp_path / "criterion_table.csv").exists()
    assert table.loc[0, "trials"] == 6

    assert script.main([str(folder), "--name", "toy", "--pruned"]) == 0
    table = pd.read_csv(tmp_path / "criterion_table_toy.csv")
    assert table.loc[0, "trials"] == 9  # the failed trial stays out
    # the teacher-forced criterion ranks the trials backwards here: its pick is the worst on test
    assert table.loc[0, "rho_val_teacher_forced"] == pytest.approx(-1.0)
    assert table.loc[0, "test_at_val_free_running"] == pytest.approx(0.11)
    assert table.loc[0, "test_at_val_teacher_forced"] == pytest.approx(0.91)
