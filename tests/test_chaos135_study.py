"""experiments/chaos135 reduced: a dozen systems, tiny models, two short epochs, then the
study's report script, from the shipped cache (seconds, no dysts needed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import yaml

from forecastab.cli import main
from forecastab.data.registry import load_dataset

STUDY = Path(__file__).resolve().parents[1] / "experiments" / "chaos135"
SYSTEMS = [
    "Lorenz", "Rossler", "Aizawa", "Chen", "Halvorsen", "SprottA", "Thomas", "Dadras",
    "Arneodo", "Duffing", "GenesioTesi", "HindmarshRose",
]  # fmt: skip


def _report_module():
    spec = importlib.util.spec_from_file_location("chaos135_report", STUDY / "chaos135_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reduced_study_runs_and_reports(tmp_path: Path) -> None:
    frame = load_dataset("chaos135")[0]
    subset = frame[frame["unique_id"].isin(SYSTEMS)].groupby("unique_id").head(300)
    source = tmp_path / "chaos135.csv"  # named like the bundled set: its Lyapunov times apply
    subset.to_csv(source, index=False)
    config = yaml.safe_load((STUDY / "chaos135.yaml").read_text())
    config["data"].update(source=str(source), context_length=20, horizon=10, batch_size=32)
    for model in config["models"]:
        model.update(
            {"hidden_size": 8}
            if model["type"] == "rnn"
            else {"d_model": 8, "nhead": 2, "num_layers": 1}
        )
    config["strategies"] = [
        s for s in config["strategies"] if s["name"] in ("teacher_forcing", "noise")
    ]
    config["trainer"].update(max_epochs=2, limit_train_batches=3, limit_val_batches=2)
    path = tmp_path / "reduced.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0

    results = pd.read_csv(out / "results.csv")
    vpt = results[(results["metric"] == "vpt") & (results["step"] == 10)]
    assert set(vpt["series"]) == {*SYSTEMS, "all"}
    assert (vpt["value"] >= 0).all()

    report = _report_module()
    text = report.main_report(out, tmp_path)
    assert "12 systems, horizon 10 steps" in text
    assert "| transformer | noise | " in text and "/ 12 |" in text
    per_system = pd.read_csv(tmp_path / "per_system.csv", index_col=0)
    assert sorted(per_system.index) == sorted(SYSTEMS)
    ratio = per_system["gap_ratio|gru|teacher_forcing"]
    expected = (
        per_system["rmse_free_running|gru|teacher_forcing"]
        / per_system["rmse_teacher_forced|gru|teacher_forcing"]
    )
    pd.testing.assert_series_equal(ratio, expected, check_names=False, rtol=1e-4)
    assert (tmp_path / "valid_fraction.png").stat().st_size > 10_000
