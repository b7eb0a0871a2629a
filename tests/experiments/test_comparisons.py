"""``forecastab compare``: comparisons.csv, the summary section, and its bad inputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecastab.cli import main
from forecastab.evaluation.compare import paired_comparison
from forecastab.experiments.comparisons import COMPARISON_COLUMNS, load_errors
from forecastab.experiments.config import validate_config
from forecastab.experiments.runner import run_experiment


@pytest.fixture
def finished(tmp_path: Path, make_config: Callable[..., dict]) -> Path:
    config = make_config(
        strategies=[
            {"name": "teacher_forcing", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}},
            {"name": "free_running", "teacher_forcing": {"schedule": "constant", "ratio": 0.0}},
        ],
        seeds=[0, 1],
    )
    out = tmp_path / "out"
    run_experiment(validate_config(config), out, progress=False)
    return out


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("forecastab: error: "), err
    return lines[0].removeprefix("forecastab: error: ")


def test_compare_writes_the_contract_and_the_summary_section(finished: Path, capsys) -> None:
    assert main(["compare", str(finished), "--n-bootstrap", "100"]) == 0
    table = pd.read_csv(finished / "comparisons.csv", dtype={"seed": str})
    assert list(table.columns) == COMPARISON_COLUMNS
    assert set(table["reference"]) == {"gru/teacher_forcing"}
    assert set(zip(table["model"], table["strategy"], strict=True)) == {("gru", "free_running")}
    assert sorted(set(table["seed"])) == ["0", "1", "all", "seeds"]
    assert table.groupby("seed")["step"].apply(list).map(lambda s: s == [1, 2, 3, 4, 5, 6]).all()
    banded = table["lower"].notna()
    assert (table.loc[banded, "lower"] <= table.loc[banded, "mean_difference"]).all()
    assert (table.loc[banded, "mean_difference"] <= table.loc[banded, "upper"]).all()
    tested = table["p_value"].notna()
    assert table.loc[tested, "p_value"].between(0, 1).all()
    assert (table.loc[tested, "p_holm"] >= table.loc[tested, "p_value"]).all()
    # a step without a test says why, never a bare NaN
    assert table.loc[~tested, "note"].str.contains("too few|seeds").all()
    assert table.loc[table["seed"] == "seeds", "note"].str.startswith("seed-level").all()
    # the file's numbers are the library's paired test on the saved errors
    runs = load_errors(finished).set_index(["strategy", "seed"])
    expected = paired_comparison(
        runs.loc[("free_running", 0), "errors"],
        runs.loc[("teacher_forcing", 0), "errors"],
        n_bootstrap=100,
    )
    seed0 = table[table["seed"] == "0"].reset_index(drop=True)
    np.testing.assert_allclose(seed0["p_value"], expected["p_value"], rtol=1e-6)
    summary = (finished / "summary.md").read_text(encoding="utf-8")
    assert "## Paired comparisons" in summary
    assert "| series | gru | free_running | gru/teacher_forcing | all | mse |" in summary
    out = capsys.readouterr().out
    assert "gru/free_running vs gru/teacher_forcing (seed all): better at steps" in out


def test_compare_against_a_baseline(finished: Path) -> None:
    assert main(["compare", str(finished), "--reference", "naive/baseline", "--metric", "mae"]) == 0
    table = pd.read_csv(finished / "comparisons.csv", dtype={"seed": str})
    assert set(table["reference"]) == {"naive/baseline"}
    assert set(table["strategy"]) == {"teacher_forcing", "free_running"}
    assert set(table["metric"]) == {"mae"}


def test_compare_bad_inputs_are_one_line(finished: Path, tmp_path: Path, capsys) -> None:
    assert main(["compare", str(finished), "--reference", "gru/scheduled"]) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        "reference 'gru/scheduled' is not among the runs; valid: gru/free_running, "
        "gru/teacher_forcing, naive/baseline"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["compare", str(empty)]) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f"'{empty}' holds no results.csv; run `forecastab run CONFIG.yaml --out {empty}` first"
    )
    assert main(["compare", str(tmp_path / "nowhere")]) == 2
    assert "no experiment folder" in _one_error_line(capsys.readouterr().err)
    assert main(["compare", str(finished), "--block-length", "0"]) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        "block_length must be a positive integer or null, got 0"
    )
    assert not (finished / "comparisons.csv").exists()  # nothing half-written


def test_long_run_writes_scores_chart_and_summary(
    tmp_path: Path, make_config: Callable[..., dict]
) -> None:
    config = make_config(
        models=[
            {"name": "gru", "type": "rnn", "hidden_size": 4},
            {"name": "direct", "type": "direct", "hidden_size": 4},
        ],
        strategies=[{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}],
        evaluation={"modes": ["free_running"], "metrics": ["mae"], "long_run": {"steps": 40}},
    )
    out = tmp_path / "out"
    run_experiment(validate_config(config), out, progress=False)
    for run in ("gru__tf__seed0", "direct__tf__seed0", "naive__baseline"):
        row = pd.read_csv(out / "runs" / run / "long_run.csv")
        assert row["steps"].tolist() == [40]
        assert np.isfinite(row[["d_stsp", "d_h"]].to_numpy()).all()
        assert (out / "runs" / run / "long_run.png").stat().st_size > 10_000
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "## Long free runs" in summary
    assert "| series | naive | baseline | 40 |" in summary


def test_long_run_shorter_than_the_horizon_is_one_line(
    tmp_path: Path, make_config: Callable[..., dict], capsys
) -> None:
    import yaml

    config = make_config(evaluation={"long_run": {"steps": 4}})
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f"{path}: evaluation.long_run.steps (4) is shorter than the horizon (6); a long run "
        "must cover at least one horizon: set long_run.steps >= 6"
    )
    assert not (tmp_path / "out").exists()
