"""Benchmark: calibration of the Diebold-Mariano test and of the metric bands under the null.

Two forecasters are scored on the same ``N`` origins, one every ``stride`` steps, at steps
``1..H``. Their ``h``-step errors are sums of ``h`` innovations of a time series (so the errors
of origins fewer than ``ceil(h / stride)`` apart overlap), part of it their own and part shared:

- ``random_walk``: i.i.d. innovations (a random walk's ``h``-step errors);
- ``ar09``: AR(1) innovations with coefficient 0.9 (dependence that outlasts the overlap);
- ``bias``: random-walk errors plus a persistent bias of its own per forecaster, ``+b`` for A
  and ``-b`` for B with ``b = 0.5 sqrt(h)`` (equal expected losses, dependent differentials).

For each cell of the grid ``N x H x stride x process`` the script prints:

- the **DM size**: among the simulations where the default test
  (:func:`~forecastab.evaluation.compare.diebold_mariano_tests`) returns a p-value, the share
  that rejects at 5%, at the first, middle and last step, and the mean over all steps it
  tests; the **Holm FWE** (some step significant after Holm over the steps tested); the steps
  it always refuses (with the reason, below) and the share of simulations it refuses at the
  shown steps where it refuses only sometimes;
- the **band coverage**: the share of simulations whose default 95% MSE band of forecaster A
  (:func:`~forecastab.evaluation.uncertainty.metric_band`) holds the true MSE at the first,
  middle and last step; a step whose band is refused prints ``--``.

Monte Carlo error of a rate ``p`` from ``S`` simulations: ``sqrt(p (1 - p) / S)``, printed.

Run (prints, does not assert): .venv/bin/python experiments/benchmarks/calibration.py
[--simulations 300] [--large-simulations 200] [--n-bootstrap 300] [--origins 74,367]
[--horizons 1,20] [--strides 1,24] [--processes random_walk,ar09,bias]
[--cells 2857/20/24/ar09,... --seed 1000] (a confirmation run of chosen cells)
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings

import numpy as np

from forecastab.evaluation.compare import diebold_mariano_tests, holm
from forecastab.evaluation.metrics import MetricValues
from forecastab.evaluation.uncertainty import metric_band

ORIGINS = (74, 367, 2857)
HORIZONS = (1, 20, 96, 720)
STRIDES = (1, 24)
PROCESSES = ("random_walk", "ar09", "bias")
PHI = 0.9
LEVEL = 0.05


def innovations(process: str, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """``(S, T)`` innovations: i.i.d. normal, or a stationary AR(1) with coefficient 0.9."""
    shocks = rng.normal(size=shape)
    if process != "ar09":
        return shocks
    from scipy.signal import lfilter

    shocks[:, 0] /= np.sqrt(1.0 - PHI**2)  # start in the stationary distribution
    return lfilter([1.0], [1.0, -PHI], shocks, axis=1)


def step_errors(cumulative: np.ndarray, origins: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``(S, N, K)``: the error at origin ``t`` and step ``h`` sums innovations ``t+1..t+h``."""
    return cumulative[:, origins[:, None] + steps[None, :]] - cumulative[:, origins[:, None]]


def true_mse(process: str, steps: np.ndarray) -> np.ndarray:
    """Expected squared error of forecaster A at each step (own plus shared part, plus bias)."""
    h = steps.astype(np.float64)
    if process == "ar09":
        lags = np.arange(1, int(h.max()))
        variance = np.array(
            [k + 2.0 * np.sum((k - lags[: int(k) - 1]) * PHI ** lags[: int(k) - 1]) for k in h]
        ) / (1.0 - PHI**2)
    else:
        variance = h.copy()
    mse = 2.0 * variance  # own and shared innovations, unit variance each
    return mse + (0.25 * h if process == "bias" else 0.0)


def simulate_cell(
    n: int,
    horizon: int,
    stride: int,
    process: str,
    simulations: int,
    n_bootstrap: int,
    seed: int,
    parts: tuple[str, ...] = ("dm", "bands"),
) -> dict:
    """Rejections, Holm family-wise errors and band hits of one cell."""
    rng = np.random.default_rng(seed)
    steps = np.arange(1, horizon + 1)
    shown = np.unique([1, (horizon + 1) // 2, horizon])  # first, middle, last
    origins = np.arange(n) * stride
    length = origins[-1] + horizon + 1
    truth = true_mse(process, shown)
    rejected = np.zeros(horizon)
    family = 0
    hits = np.zeros(len(shown))
    banded = np.zeros(len(shown))
    reasons: dict[str, str] = {}
    tested = np.zeros(horizon)
    batch = max(1, min(simulations, 2_000_000 // (n * horizon)))
    bias = (0.5 * np.sqrt(steps))[None, None, :] if process == "bias" else 0.0
    for start in range(0, simulations, batch):
        size = min(batch, simulations - start)
        walks = [
            np.concatenate(
                [np.zeros((size, 1)), np.cumsum(innovations(process, rng, (size, length - 1)), 1)],
                axis=1,
            )
            for _ in range(3)  # own A, own B, shared
        ]
        shared = step_errors(walks[2], origins, steps)  # (S, N, H)
        errors_a = step_errors(walks[0], origins, steps) + shared + bias
        errors_b = step_errors(walks[1], origins, steps) + shared - bias
        differential = errors_a**2 - errors_b**2  # (S, N, H)
        for index in range(size):
            if "dm" not in parts:
                break
            tests = diebold_mariano_tests(differential[index], steps=steps, stride=stride)
            usable = np.isfinite(tests.p_value)
            tested += usable
            rejected += usable & (tests.p_value < LEVEL)
            family += bool((holm(tests.p_value) < LEVEL).any())
            for step in steps[~usable]:
                reasons.setdefault(int(step), str(tests.reason[step - 1]))
        for index in range(size):
            if "bands" not in parts:
                break
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                band = metric_band(
                    MetricValues(errors_a[index][:, shown - 1] ** 2),
                    n_bootstrap=n_bootstrap,
                    seed=start + index,
                    stride=stride,
                    steps=shown,
                    warn=False,
                )
            returned = ~band.refused & np.isfinite(band.lower)
            banded += returned
            hits += returned & (band.lower <= truth) & (truth <= band.upper)
    return {
        "rejected": rejected / np.maximum(tested, 1),  # among the simulations it tested
        "tested": tested / simulations,
        "fwe": family / simulations,
        "shown": shown,
        "coverage": np.where(banded > 0, hits / np.maximum(banded, 1), np.nan),
        "banded": banded,
        "reasons": reasons,
    }


def _pct(value: float) -> str:
    return "   --" if not np.isfinite(value) else f"{100 * value:5.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--simulations", type=int, default=300)
    parser.add_argument(
        "--large-simulations", type=int, default=200, help="simulations per cell at N >= 1000"
    )
    parser.add_argument("--n-bootstrap", type=int, default=300)
    parser.add_argument("--processes", default=",".join(PROCESSES))
    parser.add_argument("--origins", default=",".join(map(str, ORIGINS)))
    parser.add_argument("--horizons", default=",".join(map(str, HORIZONS)))
    parser.add_argument("--strides", default=",".join(map(str, STRIDES)))
    parser.add_argument(
        "--cells",
        help="only these cells, N/H/STRIDE/PROCESS separated by commas (a confirmation run)",
    )
    parser.add_argument("--seed", type=int, default=0, help="added to every cell's seed")
    parser.add_argument("--only", choices=["dm", "bands"], help="simulate one half only")
    args = parser.parse_args()
    processes = args.processes.split(",")
    if args.cells:
        grid = [
            (int(n), int(h), int(stride), process)
            for n, h, stride, process in (cell.split("/") for cell in args.cells.split(","))
        ]
    else:
        grid = list(
            itertools.product(
                [int(v) for v in args.origins.split(",")],
                [int(v) for v in args.horizons.split(",")],
                [int(v) for v in args.strides.split(",")],
                processes,
            )
        )
    for count in sorted({args.simulations, args.large_simulations}):
        print(
            f"{count} simulations: Monte Carlo standard error of a 5% or 95% rate "
            f"{100 * np.sqrt(0.05 * 0.95 / count):.1f} points"
        )
    print(
        f"{args.simulations} simulations per cell below N = 1000, {args.large_simulations} "
        f"from N = 1000; {args.n_bootstrap} bootstrap resamples per band"
    )
    print(
        "| N | H | stride | process | DM size % first / mid / last (mean) | Holm FWE % | "
        "band coverage % first / mid / last | DM refused at steps | bands refused at step "
        "(share of simulations) | s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    refusals: list[str] = []
    for number, (n, horizon, stride, process) in enumerate(grid):
        start = time.perf_counter()
        s = args.simulations if n < 1000 else args.large_simulations
        cell = simulate_cell(
            n,
            horizon,
            stride,
            process,
            s,
            args.n_bootstrap,
            seed=number + args.seed,
            parts=(args.only,) if args.only else ("dm", "bands"),
        )
        seconds = time.perf_counter() - start
        shown, rate, share = cell["shown"], cell["rejected"], cell["tested"]
        tested = share > 0
        size = " / ".join(_pct(rate[h - 1] if tested[h - 1] else np.nan) for h in shown)
        mean = _pct(rate[tested].mean()) if tested.any() else "   --"
        coverage = " / ".join(_pct(c) for c in cell["coverage"])
        untested = np.flatnonzero(~tested) + 1
        partly = ", ".join(
            f"{h} ({100 * (1 - share[h - 1]):.0f}%)" for h in shown if 0 < share[h - 1] < 1
        )
        dm_refused = "none" if not len(untested) else f"{untested[0]}-{untested[-1]}"
        if partly:
            dm_refused += f"; sometimes at {partly}"
        band_refused = (
            ", ".join(
                f"{h} ({100 * (1 - b / s):.0f}%)" for h, b in zip(shown, cell["banded"]) if b < s
            )
            or "none"
        )
        if args.only == "dm":
            coverage, band_refused = "not simulated", "--"
        elif args.only == "bands":
            size, mean, dm_refused, cell["fwe"] = "not simulated", "--", "--", np.nan
        print(
            f"| {n} | {horizon} | {stride} | {process} | {size} ({mean.strip()}) | "
            f"{_pct(cell['fwe'])} | {coverage} | {dm_refused} | {band_refused} | "
            f"{seconds:.0f} |",
            flush=True,
        )
        first = untested[0] if len(untested) else next(iter(sorted(cell["reasons"])), None)
        if first is not None and args.only != "bands":
            refusals.append(
                f"N {n}, H {horizon}, stride {stride}, {process}: DM step {first}: "
                f"{cell['reasons'].get(int(first), '')}"
            )
    if refusals:
        print("\nRefusals (first refused step of each cell, with the reason):")
        for line in refusals:
            print(f"- {line}")


if __name__ == "__main__":
    main()
