"""Benchmark: how long commands that train nothing take, against ``python -c "import pandas"``.

Target (issue 20): ``forecastab --help`` and ``forecastab datasets`` each within 2x of importing
pandas, on the same machine. Each command runs as a fresh process; the three are interleaved
round by round, so a load spike hits all of them, and the median of the rounds is compared.
Also printed: ``forecastab --version`` and ``forecastab report --help``, and, for reference,
``import pytorch_lightning`` (what every command paid before issue 20).

    .venv/bin/python experiments/benchmarks/cli_startup.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

FORECASTAB = Path(sys.executable).with_name("forecastab")
COMMANDS: dict[str, list[str]] = {
    "import pandas": [sys.executable, "-c", "import pandas"],
    "forecastab --help": [str(FORECASTAB), "--help"],
    "forecastab datasets": [str(FORECASTAB), "datasets"],
    "forecastab --version": [str(FORECASTAB), "--version"],
    "forecastab report --help": [str(FORECASTAB), "report", "--help"],
    "import pytorch_lightning": [sys.executable, "-c", "import pytorch_lightning"],
}
TARGETS = ("forecastab --help", "forecastab datasets")


def wall_time(command: list[str]) -> float:
    """Seconds one fresh process takes from start to exit (its output discarded)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    rounds = parser.parse_args().rounds
    for command in COMMANDS.values():  # warm the file cache once
        wall_time(command)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, command in COMMANDS.items():
            times[name].append(wall_time(command))
    pandas = statistics.median(times["import pandas"])
    print(f"median of {rounds} interleaved rounds, fresh process each")
    print(f"{'command':<28}{'median s':>10}{'min s':>9}{'/ import pandas':>17}")
    for name, values in times.items():
        ratio = statistics.median(values) / pandas
        print(f"{name:<28}{statistics.median(values):>10.3f}{min(values):>9.3f}{ratio:>16.2f}x")
    met = all(statistics.median(times[name]) <= 2 * pandas for name in TARGETS)
    print(
        f"target: {' and '.join(TARGETS)} within 2x of import pandas: {'met' if met else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
