"""Grid throughput of the local executor: 1 worker vs 2 worker processes, side by side.

The same small grid (a GRU x 4 strategies x 2 seeds on the bundled sine series,
15 epochs by default, one torch thread per run) runs twice into fresh folders; the script prints runs per minute for
each and the ratio. Run it with ``.venv/bin/python experiments/benchmarks/grid.py``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from forecastab.experiments.config import validate_config
from forecastab.experiments.runner import run_experiment


def grid_config(workers: int, *, max_epochs: int) -> dict[str, Any]:
    """The benchmark grid with ``workers`` local processes."""
    schedules = {
        "teacher_forcing": {"schedule": "constant", "ratio": 1.0},
        "free_running": {"schedule": "constant", "ratio": 0.0},
        "linear": {"schedule": "linear", "k": 1.0, "c": 0.2, "unit": "epoch"},
        "inverse_sigmoid": {"schedule": "inverse_sigmoid", "k": 2, "unit": "epoch"},
    }
    return {
        "name": f"grid_bench_{workers}",
        "data": {
            "source": "sine",
            "context_length": 24,
            "horizon": 12,
            "split": {"train": 0.5, "test": 0.2},
            "batch_size": 64,
        },
        "models": [{"name": "gru", "type": "rnn", "hidden_size": 16}],
        "strategies": [{"name": k, "teacher_forcing": v} for k, v in schedules.items()],
        "seeds": [0, 1],
        "trainer": {"max_epochs": max_epochs, "accelerator": "cpu"},
        "evaluation": {"modes": ["free_running"], "metrics": ["rmse"]},
        "executor": {"type": "local", "workers": workers},
    }


def measure(workers: int, folder: Path, *, max_epochs: int) -> tuple[int, float, float]:
    """Run the grid once; return (runs, wall seconds, mean seconds inside one run)."""
    config = validate_config(grid_config(workers, max_epochs=max_epochs))
    start = time.perf_counter()
    result = run_experiment(config, folder / f"workers{workers}", progress=False)
    seconds = time.perf_counter() - start
    assert not result.failed, result.failed
    per_run = sum(o.seconds for o in result.outcomes) / len(result.outcomes)
    return len(result.outcomes), seconds, per_run


LOAD_BEFORE = ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    """Measure 1 and 2 workers in the same run and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [(w, *measure(w, Path(tmp), max_epochs=args.max_epochs)) for w in (1, 2)]
    print(f"{'workers':>7} {'runs':>5} {'seconds':>8} {'runs/min':>9} {'s/run inside':>13}")
    for workers, runs, seconds, per_run in rows:
        print(
            f"{workers:>7} {runs:>5} {seconds:>8.1f} {60 * runs / seconds:>9.1f} {per_run:>13.2f}"
        )
    print(f"cores seen: {os.cpu_count()}, load average before: {LOAD_BEFORE}")
    (_, _, one, _), (_, _, two, _) = rows
    print(f"throughput ratio 2 workers / 1 worker: {one / two:.2f}x")


if __name__ == "__main__":
    main()
