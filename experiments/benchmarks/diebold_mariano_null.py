"""Benchmark: size of the per-step Diebold-Mariano test under the null.

Two forecasters with exchangeable errors on the same overlapping windows: at step ``h`` each
error is a moving sum of ``h`` shocks (an ``h``-step forecast error, autocorrelated up to lag
``h - 1`` across consecutive origins) plus a component both share. Their expected losses are
equal, so a test at 5% should reject about 5% of the time. For each simulation the whole
``(N, H)`` error matrices go through :func:`paired_comparison` (HAC lag ``h - 1``, HLN
correction); the script prints the rejection rate per step, the family-wise rate of "some step
significant" before and after Holm, and how often the block-bootstrap interval of the mean
difference excludes 0. Acceptance: per-step rejection 3-8% over 500 simulations.

Prints, does not assert. Run: .venv/bin/python experiments/benchmarks/diebold_mariano_null.py
[--simulations 500]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from forecastab.evaluation.compare import paired_comparison


def errors_of_overlapping_windows(
    rng: np.random.Generator, n: int, horizon: int, shared: np.ndarray
) -> np.ndarray:
    """``(N, H, 1)``: step ``h`` error at origin ``t`` sums shocks ``t+1 .. t+h``."""
    shocks = rng.normal(size=n + horizon)
    cumulative = np.concatenate([[0.0], np.cumsum(shocks)])
    origins = np.arange(n)[:, None]
    steps = np.arange(1, horizon + 1)[None, :]
    errors = cumulative[origins + steps] - cumulative[origins]  # (N, H)
    return (errors + shared)[:, :, None]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--simulations", type=int, default=500)
    parser.add_argument("--origins", type=int, default=500)
    parser.add_argument("--horizon", type=int, default=24)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, horizon = args.origins, args.horizon
    rejections = np.zeros(horizon)
    outside = np.zeros(horizon)
    any_raw = any_holm = 0
    start = time.perf_counter()
    for simulation in range(args.simulations):
        shared = rng.normal(size=(n, horizon))  # what both forecasters get wrong alike
        a = errors_of_overlapping_windows(rng, n, horizon, shared)
        b = errors_of_overlapping_windows(rng, n, horizon, shared)
        table = paired_comparison(a, b, n_bootstrap=200, seed=simulation)
        significant = table["p_value"].to_numpy() < 0.05
        rejections += significant
        outside += ~((table["lower"] <= 0) & (table["upper"] >= 0)).to_numpy()
        any_raw += bool(significant.any())
        any_holm += bool((table["p_holm"] < 0.05).any())
    seconds = time.perf_counter() - start
    rate = rejections / args.simulations
    print(
        f"Diebold-Mariano under the null: {args.simulations} simulations, N = {n} origins, "
        f"H = {horizon} ({seconds:.0f} s)"
    )
    for h in sorted({1, 2, horizon // 4, horizon // 2, horizon}):
        print(
            f"  step {h:>3}: rejection at 5% {100 * rate[h - 1]:5.1f}%   "
            f"bootstrap interval excludes 0 {100 * outside[h - 1] / args.simulations:5.1f}%"
        )
    print(
        f"  all steps: mean rejection {100 * rate.mean():.1f}% "
        f"(min {100 * rate.min():.1f}%, max {100 * rate.max():.1f}%)"
    )
    print(
        f"  some step significant: {100 * any_raw / args.simulations:.1f}% unadjusted, "
        f"{100 * any_holm / args.simulations:.1f}% after Holm"
    )


if __name__ == "__main__":
    main()
