"""Issue 20's reliability cases, tried one by one: ``cases tried / handled``; ``--timing`` also
times the data hash and the output-folder lock against the quickstart.

**Cases.** Every ``*.py`` module in ``reliability_cases/`` that exposes ``CASES`` (a list of
:class:`reliability_cases.common.Case`) is imported. Each case gets a fresh sandbox folder, deep
inside a temporary tree that also holds a sentinel tree (``reliability_cases.common.SENTINEL_FILES``,
files a case may point links at). After the case the whole tree outside the sandbox must be
byte-for-byte unchanged (nothing written or deleted outside the output folder), and no process the
case started may be left (found by an environment token and by working folder). A case is
handled when it returns None and both checks pass.

**Timing** (``--timing``). The quickstart (``experiments/quickstart/quickstart.yaml``, or ``--epochs`` to
shorten it) runs into a fresh folder, then again (everything skipped). In both, every call of the
run identity's data hash (``identity.data_fingerprint``) and the lock's acquire + release are timed
where the runner makes them, so the printed overhead is exactly what they added to those runs.
Also printed: the hash of the largest bundled file (ETTh1.csv, 2.6 MB), uncached.

Run it with ``.venv/bin/python experiments/benchmarks/reliability.py [--timing] [--only TEXT]``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

import forecastab.experiments.runner as runner
from forecastab.data.registry import datasets_dir
from forecastab.experiments import identity
from forecastab.experiments.config import validate_config

QUICKSTART = Path(__file__).resolve().parents[1] / "quickstart" / "quickstart.yaml"
CASES_FOLDER = Path(__file__).resolve().parent / "reliability_cases"
TOKEN = "FORECASTAB_RELIABILITY_TOKEN"
"""An environment variable every process a case starts inherits: how leftovers are found."""


class Timed:
    """Accumulated seconds and calls of the hash and the lock."""

    def __init__(self) -> None:
        self.hash_seconds = 0.0
        self.hash_calls = 0
        self.lock_seconds = 0.0


def instrument(timed: Timed) -> None:
    """Wrap the runner's data hash and lock so their time is added up."""
    fingerprint = identity.data_fingerprint
    lock = runner.output_folder_lock

    def timed_fingerprint(source: Any) -> str | None:
        start = time.perf_counter()
        try:
            return fingerprint(source)
        finally:
            timed.hash_seconds += time.perf_counter() - start
            timed.hash_calls += 1

    @contextlib.contextmanager
    def timed_lock(out_dir: Path) -> Iterator[Path]:
        start = time.perf_counter()
        manager = lock(out_dir)
        path = manager.__enter__()
        timed.lock_seconds += time.perf_counter() - start
        try:
            yield path
        finally:
            start = time.perf_counter()
            manager.__exit__(None, None, None)
            timed.lock_seconds += time.perf_counter() - start

    identity.data_fingerprint = timed_fingerprint  # type: ignore[assignment]
    runner.output_folder_lock = timed_lock  # type: ignore[assignment]


def clear_caches() -> None:
    """Forget every cached hash, so the first call pays the full price."""
    identity._file_sha256.cache_clear()
    identity._bundled_sha256.cache_clear()


def timing(epochs: int | None) -> None:
    """Run the quickstart twice with the hash and lock timed; print the overhead ratios."""
    raw = yaml.safe_load(QUICKSTART.read_text(encoding="utf-8"))
    if epochs is not None:
        raw["trainer"]["max_epochs"] = epochs
    config = validate_config(raw)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label in ("fresh run", "rerun (all skipped)"):
            clear_caches()
            timed = Timed()
            instrument(timed)
            start = time.perf_counter()
            runner.run_experiment(config, Path(tmp) / "out", progress=False)
            total = time.perf_counter() - start
            rows.append((label, total, timed))
    print(f"quickstart, max_epochs {config.trainer.model_extra.get('max_epochs')}")
    print(f"{'':20} {'run s':>8} {'hash ms':>8} {'calls':>6} {'lock ms':>8} {'overhead':>9}")
    for label, total, timed in rows:
        overhead = (timed.hash_seconds + timed.lock_seconds) / total
        print(
            f"{label:20} {total:>8.2f} {1e3 * timed.hash_seconds:>8.1f} {timed.hash_calls:>6} "
            f"{1e3 * timed.lock_seconds:>8.2f} {100 * overhead:>8.2f}%"
        )
    etth1 = datasets_dir() / "ETTh1.csv"
    clear_caches()
    start = time.perf_counter()
    identity.file_sha256(etth1)
    print(
        f"sha256 of {etth1.name} ({etth1.stat().st_size / 1e6:.1f} MB), uncached: "
        f"{1e3 * (time.perf_counter() - start):.1f} ms"
    )
    print(f"cores seen: {os.cpu_count()}, load average before: {load}")
    fresh_overhead = (rows[0][2].hash_seconds + rows[0][2].lock_seconds) / rows[0][1]
    print(f"hash + lock / quickstart run time: {100 * fresh_overhead:.2f}% (target < 5%)")


def load_cases() -> list[Any]:
    """Every ``Case`` of every module in ``reliability_cases/`` that exposes ``CASES``."""
    sys.path.insert(0, str(CASES_FOLDER.parent))
    cases = []
    for path in sorted(CASES_FOLDER.glob("*.py")):
        if path.stem.startswith("_") or path.stem == "common":
            continue
        module = importlib.import_module(f"{CASES_FOLDER.name}.{path.stem}")
        cases += list(getattr(module, "CASES", []))
    return cases


def leftover_processes(token: str, tree: Path) -> list[int]:
    """Processes (other than this one) carrying ``token`` or working inside ``tree``."""
    import psutil

    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            inside = Path(process.cwd()).is_relative_to(tree)
            tagged = process.environ().get(TOKEN) == token
        except (psutil.Error, OSError):
            continue
        if inside or tagged:
            found.append(process.pid)
    return found


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The paths created, removed or changed between two snapshots."""
    names = set(before) | set(after)
    return sorted(name for name in names if before.get(name) != after.get(name))


def try_case(case: Any) -> tuple[str | None, float]:
    """Run one case in its sandbox; None when handled, else what went wrong; and its seconds."""
    from reliability_cases.common import make_sentinel_tree, snapshot

    token = uuid.uuid4().hex
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="forecastab-reliability-") as base:
        tree = Path(base)
        root = tree / "a" / "b" / "c" / "d"  # a path escaping a few levels stays in the tree
        sandbox = root / "sandbox"
        sandbox.mkdir(parents=True)
        make_sentinel_tree(root)
        (tree / "beside.txt").write_text("a file beside everything\n")
        before = snapshot(tree, skip=sandbox)
        os.environ[TOKEN] = token
        try:
            problem = case.run(sandbox)
        except subprocess.TimeoutExpired as error:
            problem = f"hang: no answer within {error.timeout:.0f} s"
        except Exception as error:  # noqa: BLE001 - a case that crashes is not handled
            problem = f"the case itself raised {type(error).__name__}: {error}"
        finally:
            os.environ.pop(TOKEN, None)
        outside = changes(before, snapshot(tree, skip=sandbox))
        if outside:
            problem = f"{problem + '; ' if problem else ''}changed outside the output folder: " + (
                ", ".join(outside[:5])
            )
        deadline = time.monotonic() + 5.0
        left = leftover_processes(token, tree)
        while left and time.monotonic() < deadline:  # a child may still be exiting
            time.sleep(0.2)
            left = leftover_processes(token, tree)
        if left:
            problem = f"{problem + '; ' if problem else ''}processes left behind: {left}"
            for pid in left:  # started by this case: stopped so the next one starts clean
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
    return problem, time.perf_counter() - start


def main() -> None:
    """Try every case (``cases tried / handled``); ``--timing`` adds the hash and lock timing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="only the cases whose name contains this text")
    parser.add_argument("--skip", help="leave out the cases whose name contains this text")
    parser.add_argument("--timing", action="store_true", help="also time the hash and the lock")
    parser.add_argument("--epochs", type=int, default=None, help="--timing: trainer.max_epochs")
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    cases = [
        case
        for case in load_cases()
        if (args.only is None or args.only in case.name)
        and (args.skip is None or args.skip not in case.name)
    ]
    handled = 0
    start = time.perf_counter()
    for case in cases:
        problem, seconds = try_case(case)
        handled += problem is None
        verdict = "handled" if problem is None else f"NOT handled: {problem}"
        print(f"{case.name:40} {seconds:6.1f} s  {verdict}", flush=True)
    print(
        f"cases tried / handled: {len(cases)} / {handled}  ({time.perf_counter() - start:.0f} s, "
        f"load average before: {load})"
    )
    if args.timing:
        print()
        timing(args.epochs)


if __name__ == "__main__":
    main()
