"""What every case of the reliability benchmark (``experiments/benchmarks/reliability.py``) shares.

A case module in this folder exposes ``CASES: list[Case]``. The benchmark gives each case a fresh,
empty ``sandbox`` folder inside a sentinel tree (files and folders around it that nothing may
touch), runs it, and then checks that the sentinel tree is unchanged and that no process the case
started is left. A case returns None when forecastab handled the input as it should (a clear
one-line error with the right exit status, nothing written outside the sandbox, no hang), or a
short description of what went wrong.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    """One adversarial input and the check of how forecastab handles it.

    Attributes:
        name: A short id, e.g. ``"S1 lock symlink"``; the issue's code comes first.
        run: Takes the sandbox folder, returns None when handled or what went wrong.
    """

    name: str
    run: Callable[[Path], str | None]


def run_cli(
    *args: str, cwd: Path, timeout: float = 120.0, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m forecastab ARGS`` in ``cwd``; a hang past ``timeout`` raises TimeoutExpired."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "forecastab", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        env=env,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[str], status: int = 2) -> str | None:
    """None when the command exited with ``status`` and printed one ``forecastab: error:`` line."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if result.returncode != status:
        tail = lines[-1] if lines else ""
        return f"exit {result.returncode}, expected {status}: {tail[:200]}"
    errors = [line for line in lines if line.startswith("forecastab: error:")]
    if len(errors) != 1 or "Traceback" in result.stderr:
        return f"expected one 'forecastab: error:' line, got: {result.stderr[-300:]!r}"
    return None
