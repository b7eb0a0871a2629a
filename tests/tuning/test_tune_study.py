"""Real (tiny) Optuna studies: outputs, the per-epoch pruning callback, SIGKILL and resume,
two processes on one folder."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import forecastab
from forecastab.experiments.config import load_config, validate_config
from forecastab.tuning import load_tune_config
from forecastab.tuning import study as studies
from forecastab.tuning.trials import run_trial


def test_a_tiny_study_writes_every_output(tiny_tune: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = forecastab.tune(tiny_tune, out, progress=False)
    trials = pd.read_csv(out / "trials.csv")
    assert sorted(trials["arm"].unique()) == ["search", "teacher_forcing"]
    assert trials.groupby("arm").size().to_dict() == {"search": 3, "teacher_forcing": 3}
    assert set(trials["state"]) <= {"complete", "pruned"}
    control = trials[trials["arm"] == "teacher_forcing"]
    assert set(control["strategy"]) == {"teacher_forcing"}  # the control never varies it
    assert trials["test_free_running"].isna().all()  # test is never scored for selection
    complete = trials[trials["state"] == "complete"]
    assert (complete["objective"] == complete["val_free_running"]).all()  # the default objective
    # the best YAML is a runnable experiment with the seeds
    best = load_config(out / "best.yaml")
    assert best.seeds == [0, 1] and len(best.models) == 1 and len(best.strategies) == 1
    search = complete[complete["arm"] == "search"]
    winner = search.loc[search["objective"].idxmin()]
    assert best.models[0].options()["hidden_size"] == winner["param:hidden_size"]
    # the final comparison went through the runner: results, chart, paired tests
    results = pd.read_csv(out / "final" / "results.csv")
    assert set(results["model"]) == {"gru", "gru_tf"}
    assert set(results["seed"]) == {0, 1}
    comparisons = pd.read_csv(out / "final" / "comparisons.csv")
    assert set(comparisons["reference"]) == {"gru_tf/teacher_forcing"}
    for chart in ("history.png", "importance.png", "final/horizon_error.png"):
        assert (out / chart).stat().st_size > 10_000
    summary = (out / "summary.md").read_text(encoding="utf-8").splitlines()
    assert summary[2] == result.summary
    assert "against" in result.summary and "for tuned teacher forcing" in result.summary
    assert forecastab.tune(tiny_tune, out, progress=False).best == result.best  # a rerun: same


def test_the_pruning_callback_reports_every_epoch_and_stops_when_told(
    tiny_tune: dict[str, Any], tmp_path: Path
) -> None:
    config = load_tune_config(tiny_tune)
    draw = config.space.draw(_FixedFirst())
    trial_config = validate_config(config.trial_raw(draw))
    reported: list[tuple[float, int]] = []

    def keep(value: float, epoch: int) -> bool:
        reported.append((value, epoch))
        return False

    _, scores = run_trial(trial_config, tmp_path / "t" / "a", config.block.objective,
                          report_value=keep)
    assert [epoch for _, epoch in reported] == [0, 1]
    assert all(math.isfinite(value) for value, _ in reported)
    assert scores is not None and scores.pruned_at is None and scores.epochs == 2
    # the kept checkpoint is the best epoch's: its objective is the lower reported one
    assert scores.objective == pytest.approx(min(value for value, _ in reported), rel=1e-5)

    def prune(value: float, epoch: int) -> bool:
        return True

    _, pruned = run_trial(trial_config, tmp_path / "t" / "b", config.block.objective,
                          report_value=prune)
    assert pruned is not None and pruned.pruned_at == 0 and pruned.epochs == 1


class _FixedFirst:
    """Draws the first choice or the low end of everything."""

    def suggest_float(self, name: str, low: float, high: float, **_: Any) -> float:
        return low

    def suggest_int(self, name: str, low: int, high: int, **_: Any) -> int:
        return low

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        return choices[0]


def _tune_process(path: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "forecastab", "tune", str(path), "--out", str(out), "--quiet",
         *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_study_killed_mid_trial_resumes_with_no_trial_lost_or_repeated(
    tiny_tune: dict[str, Any], tune_file: Callable[..., Path], tmp_path: Path
) -> None:
    tiny_tune["tune"]["trials"] = 4
    tiny_tune["tune"]["pruner"] = {"name": "none"}
    tiny_tune["trainer"]["max_epochs"] = 3
    path = tune_file(tiny_tune)
    out = tmp_path / "out"
    first = _tune_process(path, out, "--no-final")
    marker = out / "trials" / "search" / ".trial_0002.worker"
    deadline = time.monotonic() + 240
    while not marker.exists():  # trial 2 is running: two finished before it
        assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    before = _trials_of(out, "search")
    assert [t.state.name for t in before] == ["COMPLETE", "COMPLETE", "RUNNING"]

    second = _tune_process(path, out, "--no-final")
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err.decode()
    after = _trials_of(out, "search")
    states = [t.state.name for t in after]
    assert states.count("COMPLETE") == 4  # the budget, no more
    assert [t.number for t in after if t.state.name == "FAIL"] == [2]  # the killed one, once
    assert after[2].user_attrs[studies.REAPED] is True
    retries = [t for t in after if t.user_attrs.get(studies.RETRY_OF) is not None]
    assert [(t.user_attrs[studies.RETRY_OF], t.state.name) for t in retries] == [(2, "COMPLETE")]
    assert retries[0].params == before[2].params  # the same trial, run again
    for old, new in zip(before[:2], after[:2], strict=True):  # finished trials were not redone
        assert (new.state.name, new.value, new.params) == ("COMPLETE", old.value, old.params)
    control = _trials_of(out, "teacher_forcing")
    assert [t.state.name for t in control] == ["COMPLETE"] * 4
    table = pd.read_csv(out / "trials.csv")
    assert table[table["arm"] == "search"]["reaped"].tolist() == [False, False, True, False, False]


def _trials_of(out: Path, arm: str) -> list[Any]:
    storage = studies.open_storage(out, None)
    study_id = storage.get_study_id_from_name(studies.study_name("tiny_tune", arm))
    return storage.get_all_trials(study_id)


def test_two_processes_on_one_folder_share_the_study(
    tiny_tune: dict[str, Any], tune_file: Callable[..., Path], tmp_path: Path
) -> None:
    """Two ``tune`` commands, one with a parallel worker process: three processes, one study."""
    tiny_tune["tune"]["trials"] = 4
    path = tune_file(tiny_tune)
    tiny_tune["tune"]["workers"] = 2
    parallel = tune_file(tiny_tune, "parallel.yaml")
    out = tmp_path / "out"
    processes = [_tune_process(path, out), _tune_process(parallel, out)]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
    for arm in ("search", "teacher_forcing"):
        found = _trials_of(out, arm)
        assert [t.number for t in found] == [0, 1, 2, 3]  # the budget exactly, shared
        assert all(t.state.name in ("COMPLETE", "PRUNED") for t in found)
        owners = {t.user_attrs[studies.OWNER]["token"] for t in found}
        assert 1 <= len(owners) <= 3
    results = pd.read_csv(out / "final" / "results.csv")
    assert len(results) == len(results.drop_duplicates())
    assert set(results["model"]) == {"gru", "gru_tf"}


def test_a_folder_refuses_the_study_of_another_file(
    tiny_tune: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from forecastab.cli import main
    from forecastab.tuning.config import load_tune_config
    from forecastab.tuning.outputs import write_tune_file

    out = tmp_path / "out"
    out.mkdir()
    write_tune_file(load_tune_config(tiny_tune), out)
    tiny_tune["tune"]["workers"] = 3  # how widely it runs: the same study
    write_tune_file(load_tune_config(tiny_tune), out)
    tiny_tune["tune"]["space"]["hidden_size"] = [4, 16]
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(tiny_tune), encoding="utf-8")
    assert main(["tune", str(path), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"forecastab: error: '{out}' holds the study of a different tune file "
        "(tune.space.hidden_size differs); rerun with the same file to resume it, or choose "
        "another --out\n"
    )


def test_a_database_storage_holds_the_study(tiny_tune: dict[str, Any], tmp_path: Path) -> None:
    """``tune.storage``: an RDB URL (here SQLite) instead of the journal, as a cluster would."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    tiny_tune["tune"].update(trials=2, storage=url, compare_teacher_forcing=False)
    result = forecastab.tune(tiny_tune, tmp_path / "out", final=False)
    assert not (tmp_path / "out" / "study.journal").exists()
    storage = studies.open_storage(tmp_path / "out", url)
    found = storage.get_all_trials(storage.get_study_id_from_name("tiny_tune"))
    assert [t.state.name for t in found] == ["COMPLETE", "COMPLETE"]
    assert result.best["search"]["value"] == min(t.value for t in found)
    assert "not yet trained with the seeds" in result.summary


def test_a_probabilistic_head_is_tuned_on_crps(tiny_tune: dict[str, Any], tmp_path: Path) -> None:
    tiny_tune["models"][0]["distribution"] = "gaussian"
    tiny_tune["evaluation"] = {"metrics": ["crps"], "units": "scaled", "num_samples": 8}
    tiny_tune["tune"].update(trials=2, objective={"metric": "crps"}, compare_teacher_forcing=False)
    forecastab.tune(tiny_tune, tmp_path / "out", final=False)
    trials = pd.read_csv(tmp_path / "out" / "trials.csv")
    assert trials["state"].tolist() == ["complete", "complete"]
    assert (trials["objective"] > 0).all() and trials["objective"].notna().all()
    saved = pd.read_csv(tmp_path / "out" / "trials" / "search" / "trial_0000" / "metrics.csv")
    assert set(saved["metric"]) == {"crps"}  # the validation split, scored by CRPS
    free = saved[saved["mode"] == "free_running"]
    assert trials["objective"][0] == pytest.approx(free.groupby("step")["value"].mean().mean())
