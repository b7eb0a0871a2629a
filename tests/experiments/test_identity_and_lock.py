"""A run's identity holds its data's content; one grid per output folder at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from forecastab import cli
from forecastab.errors import ConfigError
from forecastab.experiments.config import validate_config
from forecastab.experiments.identity import change_reason, data_fingerprint
from forecastab.experiments.lock import LOCK, output_folder_lock
from forecastab.experiments.runner import run_experiment


def _one_cell(make_config: Callable[..., dict], **overrides: object) -> dict:
    return make_config(strategies=make_config()["strategies"][:1], **overrides)


def test_edited_data_redoes_every_run_and_summary_says_why(
    tmp_path: Path, series_csv: Path, make_config: Callable[..., dict]
) -> None:
    out = tmp_path / "out"
    config = validate_config(_one_cell(make_config))
    run_experiment(config, out, progress=False)
    before = pd.read_csv(out / "results.csv")

    frame = pd.read_csv(series_csv)
    frame["y"] = frame["y"] * 2.0  # same path, same size class, new content
    frame.to_csv(series_csv, index=False)
    again = run_experiment(config, out, progress=False)
    assert sorted(o.status for o in again.outcomes) == ["done", "done"]
    after = pd.read_csv(out / "results.csv")
    assert not after["value"].equals(before["value"])

    fresh = tmp_path / "fresh"
    run_experiment(config, fresh, progress=False)
    assert (out / "results.csv").read_bytes() == (fresh / "results.csv").read_bytes()
    summary = (out / "summary.md").read_text()
    assert "## Redone runs" in summary
    assert (
        "`gru__tf__seed0`: inputs changed since it was computed: data.content_sha256 changed"
        in (summary)
    )
    assert "`naive__baseline`: inputs changed" in summary
    # an unchanged rerun skips everything
    assert {o.status for o in run_experiment(config, out, progress=False).outcomes} == {"skipped"}


def test_threads_per_run_is_part_of_a_run_identity(
    tmp_path: Path, make_config: Callable[..., dict]
) -> None:
    out = tmp_path / "out"
    run_experiment(validate_config(_one_cell(make_config, baselines=[])), out, progress=False)
    changed = _one_cell(make_config, baselines=[], executor={"threads_per_run": 2})
    result = run_experiment(validate_config(changed), out, progress=False)
    assert [o.status for o in result.outcomes] == ["done"]
    reason = (out / "runs" / "gru__tf__seed0" / "redone.txt").read_text()
    assert "run.threads_per_run changed (1 -> 2)" in reason


def test_fingerprints_follow_content_not_path(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("y\n1\n2\n")
    b.write_text("y\n1\n2\n")
    assert data_fingerprint(a) == data_fingerprint(b)
    b.write_text("y\n1\n3\n")
    assert data_fingerprint(a) != data_fingerprint(b)
    frame = pd.DataFrame({"y": [1.0, 2.0]})
    assert data_fingerprint(frame) != data_fingerprint(frame.assign(y=[1.0, 2.5]))
    assert data_fingerprint(frame) != data_fingerprint(frame.set_axis([5, 6]))
    assert data_fingerprint("sunspots") == data_fingerprint("sunspots")
    assert data_fingerprint(tmp_path / "missing.csv") is None


def test_change_reason_names_the_keys() -> None:
    old = "run:\n  seed: 0\ntrainer:\n  max_epochs: 4\n"
    new = "run:\n  seed: 0\ntrainer:\n  max_epochs: 2\n  gradient_clip_val: 1.0\n"
    assert change_reason(old, new) == (
        "trainer.max_epochs changed (4 -> 2), trainer.gradient_clip_val added (1.0)"
    )


def test_second_holder_is_refused_with_the_first_pid(tmp_path: Path) -> None:
    with output_folder_lock(tmp_path):
        assert (tmp_path / LOCK).read_text() == f"{os.getpid()}\n"
        code = (
            "import sys; from pathlib import Path\n"
            "from forecastab.experiments.lock import output_folder_lock\n"
            "try:\n"
            f"    with output_folder_lock(Path({str(tmp_path)!r})): print('taken')\n"
            "except Exception as e: print(e)\n"
        )
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert other.stdout.strip() == (
            f"output folder '{tmp_path}' is in use by another forecastab run (pid {os.getpid()}); "
            "wait for it to finish or choose another --out"
        )
    with output_folder_lock(tmp_path):  # released: taken again
        pass


def test_a_stale_lock_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    code = (
        "import time; from pathlib import Path\n"
        "from forecastab.experiments.lock import output_folder_lock\n"
        f"with output_folder_lock(Path({str(tmp_path)!r})):\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(ConfigError, match=f"pid {holder.pid}"):
        with output_folder_lock(tmp_path):
            pass
    holder.kill()
    holder.wait()
    assert (tmp_path / LOCK).read_text() == f"{holder.pid}\n"  # the dead pid is still written
    with output_folder_lock(tmp_path):
        assert (tmp_path / LOCK).read_text() == f"{os.getpid()}\n"


def test_two_concurrent_runs_the_second_refused_the_first_intact(
    tmp_path: Path,
    make_config: Callable[..., dict],
    config_file: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = make_config(trainer={"max_epochs": 3, "accelerator": "cpu"})
    path = config_file(config)
    solo, out = tmp_path / "solo", tmp_path / "out"
    run_experiment(validate_config(config), solo, progress=False)

    command = [sys.executable, "-m", "forecastab", "run", str(path), "--out", str(out), "--quiet"]
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300  # starting Python, torch and Lightning is slow on a busy host
    while not (out / LOCK).is_file() or not (out / LOCK).read_text().strip():
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.02)
    # the second run, from this process: refused with one line naming the first's pid
    assert cli.main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"forecastab: error: output folder '{out}' is in use by another forecastab run "
        f"(pid {first.pid}); wait for it to finish or choose another --out\n"
    )
    assert first.wait(timeout=600) == 0
    assert (out / "results.csv").read_bytes() == (solo / "results.csv").read_bytes()
    assert cli.main(["run", str(path), "--out", str(out), "--quiet"]) == 0  # lock released


def test_a_changed_default_redoes_the_run(
    tmp_path: Path, make_config: Callable[..., dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A setting the file leaves to its default is part of the identity too: when a new
    version changes the default, finished runs are redone, with the reason."""
    from forecastab.strategies.noise_injection import NoiseInjectionConfig

    noise = {"name": "tf", "method": "noise_injection", "noise_injection": {"std": 0.1}}
    config = validate_config(make_config(baselines=[], strategies=[noise]))
    out = tmp_path / "out"
    run_experiment(config, out, progress=False)
    assert [o.status for o in run_experiment(config, out, progress=False).outcomes] == ["skipped"]
    defaults = NoiseInjectionConfig.__init__.__defaults__
    assert defaults[-2] is False  # (std, context, schedule): context's default
    monkeypatch.setattr(
        NoiseInjectionConfig.__init__, "__defaults__", (*defaults[:-2], True, defaults[-1])
    )
    result = run_experiment(config, out, progress=False)
    assert [o.status for o in result.outcomes] == ["done"]
    reason = (out / "runs" / "gru__tf__seed0" / "redone.txt").read_text()
    assert "run.defaults.strategy.noise_injection.context changed (False -> True)" in reason


def test_a_lock_link_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    """S1: a link at ``<out>/.lock`` once had its target emptied by the lock's truncation."""
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).symlink_to(outside)
    with pytest.raises(ConfigError, match=r"\.lock' is a symbolic link; forecastab opens only"):
        with output_folder_lock(out):
            pass
    hard = tmp_path / "hard"
    hard.mkdir()
    os.link(outside, hard / LOCK)
    with pytest.raises(ConfigError, match="another hard link"):
        with output_folder_lock(hard):
            pass
    assert outside.read_text() == "keep me\n"
