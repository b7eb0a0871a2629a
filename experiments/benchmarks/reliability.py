"""What the data's content hash and the output-folder lock cost, next to the quickstart's run time.

The quickstart (``experiments/quickstart/quickstart.yaml``, or ``--epochs`` to shorten it) runs into a fresh
folder, then again (everything skipped). In both, every call of the run identity's data hash
(``identity.data_fingerprint``) and the lock's acquire + release are timed where the runner
makes them, so the printed overhead is exactly what they added to those runs. Also printed: the
hash of the largest bundled file (ETTh1.csv, 2.6 MB), uncached. Run it with
``.venv/bin/python experiments/benchmarks/reliability.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

import forecastab.experiments.runner as runner
from forecastab.data.registry import datasets_dir
from forecastab.experiments import identity
from forecastab.experiments.config import validate_config

QUICKSTART = Path(__file__).resolve().parents[1] / "quickstart" / "quickstart.yaml"


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


def main() -> None:
    """Run the quickstart twice with the hash and lock timed; print the overhead ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="override trainer.max_epochs")
    args = parser.parse_args()
    raw = yaml.safe_load(QUICKSTART.read_text(encoding="utf-8"))
    if args.epochs is not None:
        raw["trainer"]["max_epochs"] = args.epochs
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


if __name__ == "__main__":
    main()
