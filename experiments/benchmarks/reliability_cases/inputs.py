"""Bad input that used to traceback, hang or eat memory, and the exit codes (issue 20).

One case per code of the issue: C (tracebacks), H (hangs), U (wrong or unclear messages),
W9 (silent loss) and X4 (exit codes). Each writes its input into the sandbox, runs the command
line (or a short Python script, for the library's API) and checks the one error line, its
status and, where it matters, that the command returned in bounded time. Cases that need a
finished experiment train a tiny one (a GRU of 4 units, one epoch, a few seconds) in the sandbox.
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from experiments.benchmarks.reliability_cases.common import Case, one_error_line, run_cli

TIMEOUT = 60.0
"""Seconds a refused input may take (the command line's start-up included)."""

TINY: dict[str, Any] = {
    "name": "tiny",
    "data": {"source": "sine", "context_length": 12, "horizon": 4},
    "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
    "strategies": [
        {"name": "teacher_forcing", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}
    ],
    "trainer": {"max_epochs": 1},
}
RUN = "gru__teacher_forcing__seed0"


def _tiny(**sections: Any) -> dict[str, Any]:
    """TINY with sections replaced or merged (a dict merges into the section, else replaces)."""
    config = copy.deepcopy(TINY)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


def _cli(sandbox: Path, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=sandbox, timeout=timeout)


def _refused(result: subprocess.CompletedProcess[str], expect: str) -> str | None:
    """None when ``result`` is one error line, exit 2, that contains ``expect``."""
    problem = one_error_line(result)
    if problem is not None:
        return problem
    if expect not in result.stderr:
        return f"the error line lacks {expect!r}: {result.stderr.strip()[:300]}"
    return None


def _run_refuses(
    config: dict[str, Any] | str, expect: str, *, at_validation: bool = True
) -> Callable[[Path], str | None]:
    """A case: ``forecastab run`` of this config exits 2 with ``expect``; ``at_validation``:
    before any run folder is made (data files are read when the grid starts)."""

    def run(sandbox: Path) -> str | None:
        path = sandbox / "config.yaml"
        text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        out = sandbox / "out"
        try:
            result = _cli(sandbox, "run", str(path), "--out", str(out), "--quiet")
        except subprocess.TimeoutExpired:
            return f"no answer within {TIMEOUT:.0f} s"
        problem = _refused(result, expect)
        if problem is None and at_validation and (out / "runs").exists():
            return "refused, but only after run folders were made (not at validation)"
        return problem

    return run


def _all(*checks: Callable[[Path], str | None]) -> Callable[[Path], str | None]:
    """A case made of several checks, each in its own sub-folder; the first problem wins."""

    def run(sandbox: Path) -> str | None:
        for i, check in enumerate(checks):
            folder = sandbox / f"part{i}"
            folder.mkdir()
            problem = check(folder)
            if problem is not None:
                return f"part {i}: {problem}"
        return None

    return run


def _finished(sandbox: Path, config: dict[str, Any] | None = None) -> Path:
    """Train a tiny experiment into ``sandbox/done`` and return that folder."""
    path = sandbox / "tiny.yaml"
    path.write_text(yaml.safe_dump(config or _tiny(baselines=["naive"])), encoding="utf-8")
    out = sandbox / "done"
    result = _cli(sandbox, "run", str(path), "--out", str(out), "--quiet", timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"the tiny experiment failed: {result.stderr[-300:]}")
    return out


def _python(sandbox: Path, script: str) -> subprocess.CompletedProcess[str]:
    """Run a Python script in the sandbox (the library's API, as a user calls it)."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=sandbox,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "MPLBACKEND": "Agg"},
        check=False,
    )


# ---- C: tracebacks ----------------------------------------------------------------------


def _deep_yaml(sandbox: Path) -> str | None:
    flow = "name: x\ndata: " + "{a: " * 600 + "1" + "}" * 600 + "\n"
    block = "name: x\ndata:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 600))
    block += "  " * 600 + "x: 1\n"
    return _all(
        _run_refuses(flow, "nests deeper than 50 levels"),
        _run_refuses(block, "nests deeper than 50 levels"),
    )(sandbox)


def _non_utf8_run_config(sandbox: Path) -> str | None:
    done = _finished(sandbox)
    (done / "runs" / RUN / "config.yaml").write_bytes(b"name: \xff\xfe\n")
    result = _cli(sandbox, "run", str(sandbox / "tiny.yaml"), "--out", str(done), "--quiet")
    if result.returncode != 0 or "Traceback" in result.stderr:
        return f"rerun over a non-UTF-8 run config: exit {result.returncode}: {result.stderr[-300:]}"
    if "1 run(s) done" not in result.stdout:
        return f"the run with the unreadable config was not redone: {result.stdout.strip()}"
    (done / "config.yaml").write_bytes(b"name: \xff\xfe\n")
    return _refused(_cli(sandbox, "report", str(done)), "is not UTF-8 text")


def _bad_top_config(sandbox: Path) -> str | None:
    done = _finished(sandbox)
    for text, expect in (("a: [1\n", "is not valid YAML"), ("- 1\n- 2\n", "holds a list")):
        (done / "config.yaml").write_text(text, encoding="utf-8")
        summary = (done / "summary.md").read_bytes()
        for command in ("report", "plot", "compare"):
            problem = _refused(_cli(sandbox, command, str(done)), expect)
            if problem is not None:
                return f"{command} with config.yaml {text!r}: {problem}"
        if (done / "summary.md").read_bytes() != summary:
            return "summary.md changed although the command was refused"
    return None


def _bad_errors_npz(sandbox: Path) -> str | None:
    done = _finished(sandbox)
    saved = done / "runs" / RUN / "errors.npz"
    good = saved.read_bytes()
    incomplete = sandbox / "incomplete.npz"
    np.savez(incomplete, errors=np.zeros((3, 4, 1)))
    for name, content, expect in (
        ("corrupt", b"junk\n", "is not a readable errors.npz"),
        ("truncated", good[: len(good) // 2], "is not a readable errors.npz"),
        ("incomplete", incomplete.read_bytes(), "lacks 'labels'"),
    ):
        saved.write_bytes(content)
        result = _cli(sandbox, "compare", str(done), "--reference", "gru/teacher_forcing")
        problem = _refused(result, expect)
        if problem is not None:
            return f"{name} errors.npz: {problem}"
    return None


def _huge_bootstrap(sandbox: Path) -> str | None:
    done = _finished(sandbox)
    start = time.perf_counter()
    result = _cli(sandbox, "compare", str(done), "--n-bootstrap", "100000000")
    problem = _refused(result, "--n-bootstrap must be a whole number from 1 to 100,000")
    if problem is None and time.perf_counter() - start > 30:
        return f"refused only after {time.perf_counter() - start:.0f} s"
    return problem


_API_SCRIPT = """
import sys
import numpy as np, pandas as pd
import forecastab
from forecastab.data.datamodule import WindowDataModule
from forecastab.errors import ForecastabError

model = forecastab.load(sys.argv[1])
for name, context in [("text", "hello"), ("objects", np.array([[[1.0], ["a"]]], dtype=object))]:
    try:
        model.forecast(context)
        print(name, "accepted")
    except ForecastabError as error:
        print(name, "refused:", error)
periods = pd.period_range("2000-01", periods=80, freq="M")
frame = pd.DataFrame({"y": np.sin(np.arange(80.0))}, index=periods)
module = WindowDataModule(frame, context_length=12, horizon=4)
print("periods", type(module.index).__name__, module.season_length)
"""


def _python_api(sandbox: Path) -> str | None:
    done = _finished(sandbox)
    result = subprocess.run(
        [sys.executable, "-c", _API_SCRIPT, str(done / "runs" / RUN)],
        cwd=sandbox,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        return f"script failed: {result.stderr.strip().splitlines()[-1][:300]}"
    expected = [
        "text refused: context must be an array of numbers shaped (B, L, C), got str 'hello'",
        "objects refused: context must hold numbers, got str 'a'",
        "periods DatetimeIndex 12",
    ]
    for line in expected:
        if line not in result.stdout:
            return f"expected {line!r} in: {result.stdout.strip()[:400]}"
    return None


# ---- H: hangs and memory ----------------------------------------------------------------


def _fifo_and_device(sandbox: Path) -> str | None:
    fifo = sandbox / "series.csv"
    os.mkfifo(fifo)
    return _all(
        _run_refuses(_tiny(data={"source": str(fifo)}), "is a FIFO (named pipe)"),
        _run_refuses(_tiny(data={"source": "/dev/zero"}), "is a device or socket"),
    )(sandbox)


# ---- U: unclear or wrong answers --------------------------------------------------------


def _yearly_csv(path: Path) -> Path:
    years = np.arange(1900, 2020)
    values = np.sin(2 * np.pi * years / 11) + 0.1 * np.random.default_rng(0).standard_normal(120)
    pd.DataFrame({"YEAR": years.astype(float), "y": values}).to_csv(path, index=False)
    return path


def _numeric_origin(sandbox: Path) -> str | None:
    csv = _yearly_csv(sandbox / "yearly.csv")
    done = _finished(sandbox, _tiny(data={"source": str(csv), "time_column": "YEAR"}))
    result = _cli(sandbox, "predict", str(done / "runs" / RUN), "--data", str(csv), "--origin", "1990")
    if result.returncode != 0:
        return f"predict --origin 1990: exit {result.returncode}: {result.stderr.strip()[-300:]}"
    if "\n1990.0,1991.0,1," not in result.stdout:
        return f"no forecast from 1990 in: {result.stdout[:200]!r}"
    return None


def _float_times(sandbox: Path) -> str | None:
    csv = sandbox / "float_times.csv"
    steps = np.arange(120)
    pd.DataFrame({"t": steps * 0.1, "y": np.sin(steps / 3)}).to_csv(csv, index=False)
    path = sandbox / "config.yaml"
    path.write_text(yaml.safe_dump(_tiny(data={"source": str(csv), "time_column": "t"})))
    result = _cli(sandbox, "run", str(path), "--out", str(sandbox / "out"), "--quiet")
    if result.returncode != 0:
        return f"times 0.0, 0.1, ... refused: {result.stderr.strip()[-300:]}"
    return None


def _mixed_offsets(sandbox: Path) -> str | None:
    csv = sandbox / "mixed.csv"
    times = pd.date_range("2020-01-01", periods=120, freq="h").strftime("%Y-%m-%dT%H:%M:%S")
    stamps = [t + ("+00:00" if i % 2 else "") for i, t in enumerate(times)]
    pd.DataFrame({"t": stamps, "y": np.arange(120.0)}).to_csv(csv, index=False)
    config = _tiny(data={"source": str(csv), "time_column": "t"})
    expect = "mixes times with a time zone and without one"
    return _run_refuses(config, expect, at_validation=False)(sandbox)


def _merge_keys(sandbox: Path) -> str | None:
    text = (
        "name: merged\n"
        "data: {source: sine, context_length: 12, horizon: 4}\n"
        "models:\n"
        "  - &gru {name: gru, type: rnn, hidden_size: 4}\n"
        "  - {<<: *gru, name: gru8, hidden_size: 8}\n"
        "strategies: [{name: tf, teacher_forcing: {schedule: constant, ratio: 1.0}}]\n"
        "trainer: {max_epochs: 1}\n"
    )
    path = sandbox / "config.yaml"
    path.write_text(text, encoding="utf-8")
    result = _cli(sandbox, "run", str(path), "--out", str(sandbox / "out"), "--quiet")
    if result.returncode != 0:
        return f"merge key refused: {result.stderr.strip()[-300:]}"
    if not (sandbox / "out" / "runs" / "gru8__tf__seed0").is_dir():
        return "the merged model gru8 did not run"
    return None


def _temporary_name(sandbox: Path) -> str | None:
    done = _finished(sandbox)
    (done / "summary.md").unlink()
    (done / "summary.md").mkdir()  # atomic_write's os.replace fails on its temporary file
    result = _cli(sandbox, "report", str(done))
    problem = _refused(result, "summary.md'")
    if problem is None and ".tmp" in result.stderr:
        return f"names the temporary file: {result.stderr.strip()}"
    return problem


def _trainer_options(sandbox: Path) -> str | None:
    return _all(
        _run_refuses(_tiny(trainer={"precision": 7}), "trainer.precision must be one of"),
        _run_refuses(
            _tiny(trainer={"strategy": "bogus"}), "trainer.strategy: unknown trainer strategy"
        ),
    )(sandbox)


def _complex_and_infinite(sandbox: Path) -> str | None:
    script = (
        "import numpy as np, pandas as pd\n"
        "from forecastab.data.datamodule import WindowDataModule\n"
        "from forecastab.errors import DataError\n"
        "frame = pd.DataFrame({'y': np.exp(1j * np.arange(80.0))})\n"
        "try:\n"
        "    WindowDataModule(frame, context_length=12, horizon=4)\n"
        "    print('accepted')\n"
        "except DataError as error:\n"
        "    print('refused:', error)\n"
    )
    result = _python(sandbox, script)
    if "refused: column 'y' holds complex numbers" not in result.stdout:
        return f"complex data: {(result.stdout + result.stderr).strip()[-300:]}"
    schedule = {"schedule": "linear", "c": float("inf")}
    config = _tiny(strategies=[{"name": "linear", "teacher_forcing": schedule}])
    return _run_refuses(config, "c must be finite (c >= 0), got inf")(sandbox)


# ---- X4: exit codes ---------------------------------------------------------------------


def _signal_exit_codes(sandbox: Path) -> str | None:
    """Ctrl-C exits 130 and SIGTERM 143, each with one line, while a run trains."""
    path = sandbox / "long.yaml"
    path.write_text(yaml.safe_dump(_tiny(trainer={"max_epochs": 10_000})), encoding="utf-8")
    for number, status in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        out = sandbox / f"out{status}"
        process = subprocess.Popen(
            [sys.executable, "-m", "forecastab", "run", str(path), "--out", str(out), "--quiet"],
            cwd=sandbox,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "MPLBACKEND": "Agg"},
        )
        try:
            deadline = time.monotonic() + TIMEOUT
            while not (out / "runs").is_dir() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.0)  # inside training
            process.send_signal(number)
            _, stderr = process.communicate(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if process.returncode != status:
            return f"{number.name}: exit {process.returncode}, expected {status}: {stderr[-200:]}"
        if "Traceback" in stderr:
            return f"{number.name}: a traceback: {stderr[-200:]}"
    return None


CASES: list[Case] = [
    Case("C1 deep YAML", _deep_yaml),
    Case(
        "C2 hidden_size 1e9",
        _run_refuses(
            _tiny(models=[{"name": "gru", "type": "rnn", "hidden_size": 1_000_000_000}]),
            "parameters and needs about",
        ),
    ),
    Case(
        "C3 discriminator_hidden 1e6",
        _run_refuses(
            _tiny(
                strategies=[
                    {
                        "name": "pf",
                        "method": "professor_forcing",
                        "professor_forcing": {"discriminator_hidden": 1_000_000},
                    }
                ]
            ),
            "reduce professor_forcing.discriminator_hidden: 1000000",
        ),
    ),
    Case("C4 non-UTF-8 config.yaml", _non_utf8_run_config),
    Case("C5 config.yaml invalid YAML or a list", _bad_top_config),
    Case("C6 corrupt or incomplete errors.npz", _bad_errors_npz),
    Case("C7 compare --n-bootstrap 100000000", _huge_bootstrap),
    Case("C8 Python API text, objects, PeriodIndex", _python_api),
    Case(
        "H1 num_layers 1000000",
        _run_refuses(
            _tiny(models=[{"name": "gru", "type": "rnn", "hidden_size": 4, "num_layers": 10**6}]),
            "num_layers must be at most 1,000",
        ),
    ),
    Case(
        "H2 long_run.steps 1e9",
        _run_refuses(
            _tiny(evaluation={"long_run": {"steps": 10**9}}), "steps must be at most 100,000"
        ),
    ),
    Case("H3 FIFO and /dev/zero as data.source", _fifo_and_device),
    Case("U2 predict --origin on a numeric year column", _numeric_origin),
    Case("U3 float times 0.0, 0.1, ...", _float_times),
    Case("U4 times with and without offsets", _mixed_offsets),
    Case(
        "U5 NaN strategy parameter",
        _run_refuses(
            _tiny(
                strategies=[
                    {
                        "name": "noisy",
                        "method": "noise_injection",
                        "noise_injection": {"std": float("nan")},
                    }
                ]
            ),
            "std must be a finite number >= 0 (0 is teacher forcing), got nan",
        ),
    ),
    Case("U6 YAML merge keys", _merge_keys),
    Case(
        "U7 seeds -1.0, true; horizon true",
        _all(
            _run_refuses(_tiny(seeds=[-1.0]), "seeds: -1.0 is out of range"),
            _run_refuses(_tiny(seeds=[True]), "seeds[0]: must be an integer, got true"),
            _run_refuses(_tiny(data={"horizon": True}), "data.horizon: must be an integer"),
        ),
    ),
    Case("U8 errors name the real file", _temporary_name),
    Case(
        "U10 max_epochs 0, swapped gates, duplicate quantiles",
        _all(
            _run_refuses(_tiny(trainer={"max_epochs": 0}), "trainer.max_epochs must be a positive"),
            _run_refuses(
                _tiny(
                    strategies=[
                        {
                            "name": "pf",
                            "method": "professor_forcing",
                            "professor_forcing": {"train_below": 0.75, "pass_above": 0.99},
                        }
                    ]
                ),
                "pass_above (0.99) must be below train_below (0.75)",
            ),
            _run_refuses(
                _tiny(evaluation={"quantiles": [0.1, 0.1, 0.5]}), "quantiles lists 0.1 twice"
            ),
        ),
    ),
    Case("U11 trainer precision 7, strategy bogus", _trainer_options),
    Case("W9 complex data, linear schedule c: .inf", _complex_and_infinite),
    Case("X4 exit codes 130 and 143", _signal_exit_codes),
]
