"""Worker processes die with their parent; a dead worker fails its own cell only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

MARKER = ".worker"


def _markers(out: Path) -> list[Path]:
    return sorted((out / "runs").glob(f".*{MARKER}")) if (out / "runs").is_dir() else []


def _wait_for_marker(out: Path, process: subprocess.Popen, timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while True:
        found = _markers(out)
        if found:
            return found[0]
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "no worker started a run"
        time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _grid(make_config: Callable[..., dict], epochs: int) -> dict:
    strategies = [
        {"name": f"s{i}", "teacher_forcing": {"schedule": "constant", "ratio": i / 2}}
        for i in range(3)
    ]
    return make_config(
        strategies=strategies,
        baselines=[],
        trainer={"max_epochs": epochs, "accelerator": "cpu"},
        executor={"workers": 2},
    )


def test_parent_sigkill_takes_the_workers_with_it_and_a_rerun_completes(
    tmp_path: Path, make_config: Callable[..., dict], config_file: Callable[..., Path]
) -> None:
    out = tmp_path / "out"
    path = config_file(_grid(make_config, epochs=20))
    command = [sys.executable, "-m", "forecastab", "run", str(path), "--out", str(out), "--quiet"]
    parent = subprocess.Popen(command, stderr=subprocess.PIPE, start_new_session=True)
    _wait_for_marker(out, parent)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _group_alive(parent.pid):  # the session's group: the parent and every worker
        assert time.monotonic() < deadline, "worker processes outlived their parent"
        time.sleep(0.1)

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    results = pd.read_csv(out / "results.csv")
    assert set(results["strategy"]) == {"s0", "s1", "s2"}
    assert not _markers(out)


def test_a_killed_worker_fails_its_cell_only(
    tmp_path: Path, make_config: Callable[..., dict], config_file: Callable[..., Path]
) -> None:
    out = tmp_path / "out"
    path = config_file(_grid(make_config, epochs=20))
    command = [sys.executable, "-m", "forecastab", "run", str(path), "--out", str(out), "--quiet"]
    parent = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    marker = _wait_for_marker(out, parent)
    victim_cell = marker.name.removeprefix(".").removesuffix(MARKER)
    worker_pid = int(marker.read_text())
    os.kill(worker_pid, signal.SIGKILL)
    stdout, stderr = parent.communicate(timeout=300)
    assert parent.returncode == 1, stderr
    assert "0 skipped, 1 failed" in stdout
    error = (out / "runs" / victim_cell / "error.txt").read_text()
    assert f"worker process {worker_pid} died while running this run" in error
    others = [f"gru__s{i}__seed0" for i in range(3) if f"gru__s{i}__seed0" != victim_cell]
    assert all((out / "runs" / name / "DONE").is_file() for name in others)
    summary = (out / "summary.md").read_text()
    assert "## Failed runs" in summary and f"`{victim_cell}`: worker process" in summary
    assert set(pd.read_csv(out / "results.csv")["strategy"]) == {n.split("__")[1] for n in others}
