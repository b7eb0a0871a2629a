"""Exit codes that mean one thing each (issue 20): 2 bad input, 1 failed runs or an internal
error, 130 Ctrl-C, 143 SIGTERM; one line on stderr, a traceback only with ``--debug``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from forecastab import cli
from forecastab.cli import main

TINY = {
    "name": "tiny",
    "data": {"source": "sine", "context_length": 8, "horizon": 4},
    "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
    "strategies": [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}],
    "trainer": {"max_epochs": 1},
}


def _config(folder: Path, text: str) -> Path:
    path = folder / "exp.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (  # C1
            "name: x\ndata: " + "{a: " * 600 + "1" + "}" * 600 + "\n",
            "line 2: the file nests deeper than 50 levels; an experiment file is far flatter: "
            "remove the nesting",
        ),
        (  # H1
            yaml.safe_dump({**TINY, "models": [{"name": "gru", "type": "rnn", "num_layers": 10**6}]}),
            "models[0] (gru): num_layers must be at most 1,000, got 1,000,000; forecasters use a "
            "few layers",
        ),
        (  # U7
            yaml.safe_dump({**TINY, "seeds": [True]}),
            "seeds[0]: must be an integer, got true",
        ),
        (  # U11
            yaml.safe_dump({**TINY, "trainer": {"max_epochs": 1, "precision": "16-mix"}}),
            "trainer.precision must be one of 64, 32, 16, transformer-engine, "
            "transformer-engine-float16, 16-true, 16-mixed, bf16-true, bf16-mixed, 32-true, "
            "64-true, bf16, got '16-mix'",
        ),
    ],
    ids=["C1-deep", "H1-layers", "U7-bool-seed", "U11-precision"],
)
def test_bad_config_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = _config(tmp_path, text)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == cli.USAGE_ERROR
    assert capsys.readouterr().err == f"forecastab: error: {path}: {message}\n"
    assert not (tmp_path / "out").exists()  # refused before the output folder was made


def test_a_fifo_as_data_source_exits_2_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """H3: `open` on a FIFO with no writer blocks forever; the file is stat-ed instead."""
    fifo = tmp_path / "series.csv"
    os.mkfifo(fifo)
    path = _config(tmp_path, yaml.safe_dump({**TINY, "data": {**TINY["data"], "source": str(fifo)}}))
    start = time.perf_counter()
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    assert time.perf_counter() - start < 30
    assert capsys.readouterr().err == (
        f"forecastab: error: {path}: data.source: {fifo} is a FIFO (named pipe), not a regular "
        "file; save the data to a CSV file and give its path\n"
    )


@pytest.mark.parametrize(
    ("error", "status", "line"),
    [
        (
            RuntimeError("boom\nsecond line"),
            cli.RUNS_FAILED,
            "forecastab: error: internal error RuntimeError: boom (a bug in forecastab; rerun "
            "with --debug for the traceback and report it)",
        ),
        (
            RecursionError("maximum recursion depth exceeded"),
            cli.RUNS_FAILED,
            "forecastab: error: internal error RecursionError: maximum recursion depth exceeded "
            "(a bug in forecastab; rerun with --debug for the traceback and report it)",
        ),
        (
            MemoryError(),
            cli.RUNS_FAILED,
            "forecastab: error: out of memory; completed runs are kept: use smaller models, "
            "batches or data (--debug shows where)",
        ),
        (
            IsADirectoryError(21, "Is a directory", "/data/.results.csv.a1b2c3d4.tmp"),
            cli.USAGE_ERROR,
            "forecastab: error: Is a directory '/data/results.csv'",
        ),
        (KeyboardInterrupt(), 130, "forecastab: interrupted; completed runs are kept, rerun to continue"),
        (SystemExit(143), 143, "forecastab: terminated; completed runs are kept, rerun to continue"),
    ],
    ids=["bug", "recursion", "memory", "os-error-temporary", "ctrl-c", "sigterm"],
)
def test_every_failure_is_one_line_with_its_status(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    status: int,
    line: str,
) -> None:
    def fail(args: object) -> int:
        raise error

    monkeypatch.setitem(cli.COMMANDS, "datasets", fail)
    assert main(["datasets"]) == status
    assert capsys.readouterr().err == line + "\n"


def test_debug_shows_the_traceback_of_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setitem(cli.COMMANDS, "datasets", fail)
    with pytest.raises(RuntimeError, match="boom"):
        main(["--debug", "datasets"])


def test_other_exits_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    def leave(args: object) -> int:
        raise SystemExit(3)

    monkeypatch.setitem(cli.COMMANDS, "datasets", leave)
    with pytest.raises(SystemExit) as caught:
        main(["datasets"])
    assert caught.value.code == 3


def test_sigterm_during_training_exits_143_with_its_line(tmp_path: Path) -> None:
    """Lightning re-raises SIGTERM's exit from fit; it stays 143, not Ctrl-C's 130."""
    config = {**TINY, "trainer": {"max_epochs": 10_000, "accelerator": "cpu"}}
    path = _config(tmp_path, yaml.safe_dump(config))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "forecastab", "run", str(path), "--out", str(out), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        checkpoint = out / "runs" / "gru__tf__seed0" / "checkpoints" / "model.ckpt"
        deadline = time.monotonic() + 120
        while not checkpoint.exists():  # a finished epoch: training is under way
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143
    assert stderr.endswith("forecastab: terminated; completed runs are kept, rerun to continue\n")
    assert "Traceback" not in stderr
