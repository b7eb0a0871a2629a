"""The runner on tiny grids: the output contract, skipping, failures, determinism, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import forecastab.experiments.runner as runner
from forecastab.errors import ConfigError, DataError
from forecastab.experiments import report
from forecastab.experiments.config import validate_config
from forecastab.experiments.executors import RAY_MISSING, RayExecutor
from forecastab.experiments.runner import run_experiment

COLUMNS = ["dataset", "model", "strategy", "seed", "mode", "target", "step", "metric", "value"]


def test_grid_writes_the_output_contract(tmp_path: Path, make_config: Callable[..., dict]) -> None:
    out = tmp_path / "out"
    result = run_experiment(validate_config(make_config()), out, progress=False)
    assert sorted(o.status for o in result.outcomes) == ["done", "done", "done"]

    results = pd.read_csv(out / "results.csv")
    assert list(results.columns) == COLUMNS
    assert set(results["strategy"]) == {"tf", "free", "baseline"}
    assert set(results["dataset"]) == {"series"}
    assert sorted(results["step"].unique()) == [1, 2, 3, 4, 5, 6]
    baseline = results[results["strategy"] == "baseline"]
    assert set(baseline["mode"]) == {"free_running"} and set(baseline["model"]) == {"naive"}
    neural = results[results["strategy"] != "baseline"]
    assert set(neural["mode"]) == {"free_running", "teacher_forced"}
    assert len(results) == 2 * 2 * 2 * 6 + 2 * 6  # (strategies x modes x metrics + naive) x steps
    assert results.equals(results.sort_values(report.SORT_KEYS).reset_index(drop=True))

    for name in ("gru__tf__seed0", "gru__free__seed0"):
        run_dir = out / "runs" / name
        assert (run_dir / "DONE").is_file() and (run_dir / "config.yaml").is_file()
        assert (run_dir / "checkpoints" / "model.ckpt").is_file()
        assert (run_dir / "logs" / "metrics.csv").is_file()
        own = pd.read_csv(run_dir / "metrics.csv")
        assert set(own["strategy"]) == {name.split("__")[1]}
    assert (out / "runs" / "naive__baseline" / "metrics.csv").is_file()
    assert (out / "horizon_error.png").stat().st_size > 1000
    summary = (out / "summary.md").read_text()
    assert "### Exposure gap" in summary and "### Baselines (free running)" in summary
    assert "| gru | free |" in summary

    # a rerun skips everything and rewrites nothing
    before = (out / "results.csv").stat().st_mtime_ns
    again = run_experiment(validate_config(make_config()), out, progress=False)
    assert {o.status for o in again.outcomes} == {"skipped"}
    assert (out / "results.csv").stat().st_mtime_ns == before


def test_incomplete_run_is_redone_and_failures_lose_nothing(
    tmp_path: Path,
    make_config: Callable[..., dict],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    config = make_config(baselines=[], strategies=make_config()["strategies"][:1])
    run_experiment(validate_config(config), out, progress=False)
    first = (out / "results.csv").read_bytes()

    (out / "runs" / "gru__tf__seed0" / "DONE").unlink()  # as if killed before the marker
    redone = run_experiment(validate_config(config), out, progress=False)
    assert [o.status for o in redone.outcomes] == ["done"]
    assert (out / "results.csv").read_bytes() == first

    # add a model whose training raises: it is recorded, the grid goes on, results stay
    train = runner._train_and_evaluate

    def broken(cell: runner.RunCell) -> None:
        if cell.model == "lstm":
            raise RuntimeError("loss exploded")
        train(cell)

    monkeypatch.setattr(runner, "_train_and_evaluate", broken)
    models = [*config["models"], {"name": "lstm", "type": "rnn", "cell": "lstm", "hidden_size": 4}]
    result = run_experiment(validate_config({**config, "models": models}), out, progress=False)
    assert [(o.name, o.status) for o in result.failed] == [("lstm__tf__seed0", "failed")]
    assert [o.status for o in result.outcomes if o.name == "gru__tf__seed0"] == ["skipped"]
    assert (out / "results.csv").read_bytes() == first
    error = (out / "runs" / "lstm__tf__seed0" / "error.txt").read_text()
    assert "RuntimeError: loss exploded" in error
    assert not (out / "runs" / "lstm__tf__seed0" / "DONE").exists()
    assert "run lstm__tf__seed0 failed: RuntimeError: loss exploded" in capsys.readouterr().err
    summary = (out / "summary.md").read_text()
    assert (
        "## Failed runs" in summary and "`lstm__tf__seed0`: RuntimeError: loss exploded" in summary
    )


def test_same_seed_gives_identical_bytes(tmp_path: Path, make_config: Callable[..., dict]) -> None:
    config = validate_config(make_config(baselines=["naive", "seasonal_naive"]))
    run_experiment(config, tmp_path / "a", progress=False)
    run_experiment(config, tmp_path / "b", progress=False)
    assert (tmp_path / "a" / "results.csv").read_bytes() == (
        tmp_path / "b" / "results.csv"
    ).read_bytes()


def test_bad_data_and_folder_fail_before_training(
    tmp_path: Path, make_config: Callable[..., dict]
) -> None:
    raw = make_config()
    raw["data"]["target"] = "z"
    with pytest.raises(DataError, match="z"):
        run_experiment(validate_config(raw), tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "runs" / "gru__tf__seed0").exists()

    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match=r"^cannot write to output folder '.*file.txt/out'"):
        run_experiment(validate_config(make_config()), blocker / "out", progress=False)


def test_horizon_list_labels_datasets(tmp_path: Path, make_config: Callable[..., dict]) -> None:
    raw = make_config(strategies=make_config()["strategies"][:1])
    raw["data"]["horizon"] = [3, 6]
    run_experiment(validate_config(raw), tmp_path / "out", progress=False)
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(results["dataset"]) == {"series-H3", "series-H6"}
    assert results.groupby("dataset")["step"].max().to_dict() == {"series-H3": 3, "series-H6": 6}
    assert (tmp_path / "out" / "runs" / "H3__gru__tf__seed0" / "DONE").is_file()
    assert (tmp_path / "out" / "runs" / "H6__naive__baseline" / "DONE").is_file()


def test_two_local_workers(tmp_path: Path, make_config: Callable[..., dict]) -> None:
    config = validate_config(make_config(baselines=[], executor={"type": "local", "workers": 2}))
    result = run_experiment(config, tmp_path / "out", progress=False)
    assert sorted(o.status for o in result.outcomes) == ["done", "done"]
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(results["strategy"]) == {"tf", "free"}


def test_ray_missing_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(ConfigError) as caught:
        RayExecutor()
    assert (
        str(caught.value)
        == RAY_MISSING
        == ("executor ray needs the ray extra: pip install 'forecastab[ray]'")
    )


@pytest.mark.ray
def test_ray_executor_on_a_local_ray(tmp_path: Path, make_config: Callable[..., dict]) -> None:
    ray = pytest.importorskip("ray")
    config = validate_config(make_config(baselines=[], executor={"type": "ray"}))
    try:
        result = run_experiment(config, tmp_path / "out", progress=False)
    finally:
        ray.shutdown()
    assert sorted(o.status for o in result.outcomes) == ["done", "done"]
    assert len(pd.read_csv(tmp_path / "out" / "results.csv")) == 2 * 2 * 2 * 6


def _run_cli(config: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "forecastab", "run", str(config), "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_sigkill_midway_then_rerun_gives_the_same_results(
    tmp_path: Path, make_config: Callable[..., dict], config_file: Callable[..., Path]
) -> None:
    raw = make_config(seeds=[0, 1])
    raw["trainer"]["max_epochs"] = 2
    path = config_file(raw)

    whole = _run_cli(path, tmp_path / "whole")
    _, err = whole.communicate(timeout=300)
    assert whole.returncode == 0, err.decode()

    killed = _run_cli(path, tmp_path / "killed")
    first_done = tmp_path / "killed" / "runs" / "gru__tf__seed0" / "DONE"
    deadline = time.monotonic() + 240
    while not first_done.exists() and time.monotonic() < deadline:
        assert killed.poll() is None, killed.communicate()[1].decode()
        time.sleep(0.02)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    markers = list((tmp_path / "killed" / "runs").glob("gru__*/DONE"))
    assert 1 <= len(markers) < 4, "the kill must land midway through the grid"

    resumed = _run_cli(path, tmp_path / "killed")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()
    whole_bytes = (tmp_path / "whole" / "results.csv").read_bytes()
    assert (tmp_path / "killed" / "results.csv").read_bytes() == whole_bytes
    assert not list((tmp_path / "killed").glob(".*.tmp"))


def test_results_are_appended_per_run_and_rebuilt_twice(
    tmp_path: Path, make_config: Callable[..., dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """H4: results.csv was rebuilt from every run after each run (quadratic in the grid)."""
    calls = []
    assemble = report.assemble_results
    monkeypatch.setattr(
        report, "assemble_results", lambda files: calls.append(list(files)) or assemble(files)
    )
    out = tmp_path / "out"
    config = validate_config(make_config(seeds=[0, 1]))
    run_experiment(config, out, progress=False)
    assert len(calls) == 2  # the start and the end, whatever the grid's size (5 runs here)
    assert len(calls[1]) == 5
    first = (out / "results.csv").read_bytes()
    assert first == report.results_csv(report.assemble_results(calls[1])).encode()
    run_experiment(config, out, progress=False)  # all skipped: the same bytes
    assert (out / "results.csv").read_bytes() == first
