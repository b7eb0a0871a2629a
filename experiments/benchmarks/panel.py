"""Benchmark: a global GRU on a synthetic panel (issue 21).

A panel of ``--series`` hourly series of ``--rows`` rows each (daily and weekly cycles, a level
and a scale per series, noise), two calendar covariates (hour, day of week) as future
covariates, context 48, horizon 24, split 80/20 per series. One torch thread, in-process, the
data loaded before any clock starts. Measured:

- training throughput: windows per second over ``--steps`` optimizer steps of batch 256
  (teacher forcing, GRU of 64 units);
- fit + rolling evaluation: the same fit plus a free-running evaluation of every series over
  every ``--eval-stride``-th test origin (per-series MAE, panel aggregate);
- peak memory (the process's peak RSS) and, beside it, the bytes the panel's arrays hold and
  the bytes its training windows would take if they were materialized: the windows are
  indexed by (series, origin) into the concatenated arrays, so memory follows the data, not
  the number of windows.

Run each size in its own process (peak RSS is per process):
``python experiments/benchmarks/panel.py --series 200`` and ``--series 2000 --no-eval``.
Peers (NeuralForecast, Darts) are not run here: see experiments/README.md, "Panels".
Prints, does not assert.
"""

from __future__ import annotations

import argparse
import logging
import resource
import time
import warnings

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch

from forecastab.data import WindowDataModule
from forecastab.evaluation import evaluate
from forecastab.models import ForecastModule, RNNConfig

CONTEXT, HORIZON, BATCH = 48, 24, 256


def synthetic_panel(n_series: int, rows: int, seed: int = 0) -> pd.DataFrame:
    """A long frame of ``n_series`` hourly series with daily and weekly cycles."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2023-01-01", periods=rows, freq="h")
    hour = times.hour.to_numpy()
    day = times.dayofweek.to_numpy()
    level = rng.uniform(10, 100, size=(n_series, 1))
    scale = rng.uniform(1, 10, size=(n_series, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n_series, 1))
    cycle = np.sin(2 * np.pi * hour / 24 + phase) + 0.5 * (day >= 5)  # (S, T)
    values = level + scale * cycle + rng.normal(scale=0.3, size=(n_series, rows)) * scale
    return pd.DataFrame(
        {
            "unique_id": np.repeat([f"s{i:04d}" for i in range(n_series)], rows),
            "ds": np.tile(times, n_series),
            "y": values.ravel(),
        }
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps timed")
    parser.add_argument("--eval-stride", type=int, default=24)
    parser.add_argument("--no-eval", action="store_true", help="skip the rolling evaluation")
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")

    frame = synthetic_panel(args.series, args.rows)
    start = time.perf_counter()
    data = WindowDataModule(
        frame, time_column="ds", target="y", context_length=CONTEXT, horizon=HORIZON,
        calendar=["hour", "dayofweek"], split={"train": 0.8, "test": 0.2}, batch_size=BATCH,
    )  # fmt: skip
    load_s = time.perf_counter() - start
    del frame
    panel = data.panel
    arrays = sum(a.nbytes for a in (panel.values, panel.raw_values, panel.future) if a is not None)
    windows = len(data.train_dataloader().dataset)
    per_window = 4 * (CONTEXT + HORIZON) * (data.channels.n_targets + data.channels.n_future)
    print(
        f"panel: {args.series} series x {args.rows} rows, {windows:,} training windows; "
        f"data loaded in {load_s:.1f} s (before the clock)"
    )
    print(
        f"  arrays {arrays / 2**20:.1f} MiB; materialized training windows would take "
        f"{windows * per_window / 2**20:.1f} MiB"
    )

    torch.manual_seed(0)
    model = ForecastModule(RNNConfig(hidden_size=64), context_length=CONTEXT, horizon=HORIZON)
    trainer = pl.Trainer(
        max_steps=args.steps, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
    )  # fmt: skip
    start = time.perf_counter()
    trainer.fit(model, data)
    fit_s = time.perf_counter() - start
    print(
        f"  fit: {args.steps} steps of batch {BATCH} in {fit_s:.1f} s = "
        f"{args.steps * BATCH / fit_s:,.0f} windows/s (GRU 64, teacher forcing, 1 thread)"
    )
    if not args.no_eval:
        start = time.perf_counter()
        result = evaluate(model, data, metrics=["mae", "mase"], stride=args.eval_stride)
        eval_s = time.perf_counter() - start
        origins = len(result.origins)
        aggregate = result.table.query("series == 'all'").groupby("metric")["value"].mean()
        print(
            f"  rolling evaluation: {origins:,} origins (every {args.eval_stride}th, all series) "
            f"in {eval_s:.1f} s; fit + evaluation {fit_s + eval_s:.1f} s; panel MAE "
            f"{aggregate['mae']:.3f}, MASE {aggregate['mase']:.3f}"
        )
    print(f"  peak RSS of the process: {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    main()
