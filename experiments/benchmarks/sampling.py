"""Benchmark: 100 sampled paths per origin vs one point rollout, ETTh1 OT, every test origin.

Informer protocol at horizon 96: context 96, test rows [11520, 14400) with contexts reaching back
before the border (2,785 origins), OT z-scored on the train rows. An untrained Gaussian GRU
(hidden 64; the cost of a rollout does not depend on the weights) forecasts every origin once
(the point rollout: the mean fed back) and then 100 ancestral paths per origin
(``predict_origins(num_samples=100)``: the contexts repeated x100 and run as batched rollouts
over origins x samples, never a loop over samples). Both are timed side by side in this run,
best of ``REPEATS`` (1 on the loaded 2-core machine), on one torch thread. A loop over the 100
samples (100 one-sample rollouts, 5 of them timed) is timed too, as the thing the batching
replaces, and the ratio of recurrent steps (a cell update of one row) the two compute is
printed beside the measured ratio. Prints, does not assert.

Run: .venv/bin/python experiments/benchmarks/sampling.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from forecastab.models import model_from_spec

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [ROOT / "datasets" / "ETTh1.csv", ROOT.parent / "shared" / "data" / "ETTh1.csv"]
TRAIN_STOP, TEST = 8640, (11520, 14400)
HORIZON, CONTEXT_LENGTH, NUM_SAMPLES, REPEATS = 96, 96, 100, 1


def load_ot() -> np.ndarray:
    """ETTh1 OT rows [0, 14400), z-scored on the train rows, as a float32 (T, 1) array."""
    path = next(p for p in CANDIDATES if p.exists())
    ot = pd.read_csv(path)["OT"].to_numpy(dtype=np.float64)[: TEST[1]]
    train = ot[:TRAIN_STOP]
    return ((ot - train.mean()) / train.std())[:, None].astype(np.float32)  # (T, 1)


def best_time(function) -> tuple[float, object]:
    times, output = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        output = function()
        times.append(time.perf_counter() - start)
    return min(times), output


def main() -> None:
    torch.set_num_threads(1)
    values = load_ot()
    origins = np.arange(TEST[0] - 1, TEST[1] - HORIZON)  # (2785,)
    torch.manual_seed(0)
    model = model_from_spec(
        {"type": "rnn", "cell": "gru", "hidden_size": 64, "distribution": "gaussian"},
        context_length=CONTEXT_LENGTH,
        horizon=HORIZON,
        n_targets=1,
    )
    kwargs = dict(context_length=CONTEXT_LENGTH, horizon=HORIZON)
    print(f"origins: {len(origins)}, context {CONTEXT_LENGTH}, horizon {HORIZON}, GRU(64) gaussian")
    print(f"torch {torch.__version__}, 1 thread, cpu cores {os.cpu_count()}, "
          f"load average at start {os.getloadavg()[0]:.1f}")  # fmt: skip

    point_time, point = best_time(lambda: model.predict_origins(values, origins, **kwargs))
    print(f"point rollout, all origins:        {point_time:8.2f} s  shape {point.shape}", flush=True)
    sampled_time, paths = best_time(
        lambda: model.predict_origins(values, origins, num_samples=NUM_SAMPLES, seed=0, **kwargs)
    )
    print(f"{NUM_SAMPLES} sampled paths, batched:       {sampled_time:8.2f} s  shape {paths.shape}")
    print(f"ratio sampled / point: {sampled_time / point_time:.1f}x (target <= 20x)")

    start = time.perf_counter()
    for seed in range(NUM_SAMPLES // 20):  # 5 of the 100 one-sample rollouts, extrapolated
        model.predict_origins(values, origins, num_samples=1, seed=seed, **kwargs)
    loop_time = (time.perf_counter() - start) * 20
    print(f"loop of {NUM_SAMPLES} one-sample rollouts (5 timed, x20): {loop_time:8.2f} s; "
          f"batched is {loop_time / sampled_time:.1f}x faster")  # fmt: skip
    # the recurrent steps each computes per origin: context + horizon for the point rollout,
    # the context once + S horizons for the paths (their encoding is shared)
    steps = (CONTEXT_LENGTH + NUM_SAMPLES * HORIZON) / (CONTEXT_LENGTH + HORIZON)
    print(f"recurrent steps per origin, sampled / point: {steps:.1f}x (the ratio if a step of "
          f"a row costs the same in both)")  # fmt: skip
    spread = paths.std(axis=1).mean(axis=0)[:, 0]  # (H,)
    print(f"mean spread of the paths: step 1 {spread[0]:.3f}, step {HORIZON} {spread[-1]:.3f}")


if __name__ == "__main__":
    main()
