"""Benchmark: all windows of ETTh1 (context 720, horizon 720) as zero-copy views vs a stacked copy.

Target (issue 2): under 50 ms with no copy of the data. Prints both times measured in this run and
their ratio; absolute times drift on a noisy machine, the ratio holds.

    .venv/bin/python experiments/benchmarks/windows.py
"""

from __future__ import annotations

import time

import numpy as np

from forecastab.data import WindowDataModule, origin_windows, window_view

CONTEXT, HORIZON = 720, 720


def naive_windows(values: np.ndarray, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    contexts = np.stack([values[t - CONTEXT + 1 : t + 1] for t in origins])  # (N, L, C)
    targets = np.stack([values[t + 1 : t + HORIZON + 1] for t in origins])  # (N, H, C)
    return contexts, targets


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    dm = WindowDataModule(
        "etth1",
        target=["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"],
        context_length=CONTEXT,
        horizon=HORIZON,
        split={"train": 0.7, "test": 0.3},
    )
    values = dm.values  # (T, C) float32
    origins = np.arange(CONTEXT - 1, len(values) - HORIZON)
    contexts, targets = origin_windows(values, origins, CONTEXT, HORIZON)
    assert np.shares_memory(contexts, values) and np.shares_memory(targets, values)
    slow_c, slow_t = naive_windows(values, origins)
    assert np.array_equal(contexts, slow_c) and np.array_equal(targets, slow_t)
    del slow_c, slow_t

    view_s = best_of(lambda: origin_windows(values, origins, CONTEXT, HORIZON), repeats=20)
    all_view_s = best_of(lambda: window_view(values, CONTEXT + HORIZON), repeats=20)
    naive_s = best_of(lambda: naive_windows(values, origins), repeats=3)
    copied_mb = len(origins) * (CONTEXT + HORIZON) * values.shape[1] * values.itemsize / 2**20
    print(
        f"ETTh1: {values.shape[0]} rows x {values.shape[1]} columns, {len(origins)} windows of {CONTEXT}+{HORIZON}"
    )
    print(f"{'method':<34}{'seconds':>10}{'bytes copied':>16}")
    print(f"{'origin_windows (views)':<34}{view_s:>10.5f}{0:>16}")
    print(f"{'window_view (all windows)':<34}{all_view_s:>10.5f}{0:>16}")
    print(f"{'naive np.stack of slices':<34}{naive_s:>10.4f}{copied_mb:>12.0f} MiB")
    print(f"views under 50 ms: {'yes' if view_s < 0.05 else 'NO'} ({view_s * 1000:.2f} ms)")
    print(f"speedup of views over the stacked copy: {naive_s / view_s:,.0f}x")


if __name__ == "__main__":
    main()
