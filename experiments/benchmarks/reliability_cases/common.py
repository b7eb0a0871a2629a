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


SENTINEL = "sentinel"
"""The folder beside every sandbox that nothing may change (see :func:`sentinel`)."""

SENTINEL_FILES: dict[str, bytes] = {
    "precious.txt": b"a user's file outside the output folder\n",
    "notes/today.md": b"# notes\n",
    "run_like/DONE": b"a user's DONE\n",
    "run_like/metrics.csv": b"\xff\xfe not a results file \x00\n",
}
"""The sentinel tree: files a case may point links at, whose bytes must stay as they are."""


def sentinel(sandbox: Path) -> Path:
    """The sentinel folder beside ``sandbox``: a case links into it, nothing may change it."""
    return sandbox.parent / SENTINEL


def make_sentinel_tree(root: Path) -> Path:
    """Write :data:`SENTINEL_FILES` under ``root/sentinel``; returns that folder."""
    folder = root / SENTINEL
    for name, content in SENTINEL_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple[str, bytes | None]]:
    """Every path under ``root`` (links not followed, ``skip`` left out): kind and content."""
    found: dict[str, tuple[str, bytes | None]] = {}
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        name = str(path.relative_to(root))
        if path.is_symlink():
            found[name] = ("link", os.readlink(path).encode())
        elif path.is_dir():
            found[name] = ("folder", None)
        elif path.is_file():
            found[name] = ("file", path.read_bytes())
        else:
            found[name] = ("other", None)
    return found
