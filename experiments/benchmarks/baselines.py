"""Benchmark: ARIMA on ETTh1 OT over every test origin, applied parameters vs refitting.

Informer protocol: train rows [0, 8640), test [11520, 14400), horizon 24, contexts may reach back
before the test border (2,857 origins), OT z-scored with the train mean and population std.
ARIMA(2, 0, 1) is fitted once on the train rows; the applied-parameter run forecasts from every
origin with that fit. Refitting at every origin is timed on 20 random test origins and
extrapolated per origin; the parallel speedup is measured on the same refit run with n_jobs 1
and 2. Prints, does not assert.

Run: .venv/bin/python experiments/benchmarks/baselines.py
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from forecastab.baselines import ARIMA

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [ROOT / "datasets" / "ETTh1.csv", ROOT.parent / "shared" / "data" / "ETTh1.csv"]
TRAIN_STOP, TEST = 8640, (11520, 14400)
HORIZON, CONTEXT_LENGTH, ORDER, REFIT_SAMPLE = 24, 96, (2, 0, 1), 20


def load_ot() -> tuple[np.ndarray, Path]:
    """ETTh1 OT rows [0, 14400), z-scored on the train rows, as a (T, 1) array."""
    path = next(p for p in CANDIDATES if p.exists())
    ot = pd.read_csv(path)["OT"].to_numpy(dtype=np.float64)[: TEST[1]]
    train = ot[:TRAIN_STOP]
    return ((ot - train.mean()) / train.std())[:, None], path  # (T, 1)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        output = function(*args, **kwargs)
    return output, time.perf_counter() - start


def main() -> None:
    values, path = load_ot()
    origins = np.arange(TEST[0] - 1, TEST[1] - HORIZON)  # (2857,)
    targets = np.stack([values[t + 1 : t + HORIZON + 1] for t in origins])  # (N, H, 1)
    print(f"data: {path} OT rows [0, {TEST[1]}), z-scored on train [0, {TRAIN_STOP})")
    print(f"origins: {len(origins)} ({origins[0]}..{origins[-1]}), horizon {HORIZON}, ARIMA{ORDER}")
    print(f"cpu cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")

    model, fit_time = timed(ARIMA(order=ORDER, progress=False).fit, values, TRAIN_STOP)
    print(f"fit on train rows: {fit_time:.2f} s, params {np.round(model.columns[0].params, 4)}")
    forecasts, applied_time = timed(
        model.predict_origins, values, origins, context_length=CONTEXT_LENGTH, horizon=HORIZON
    )
    errors = forecasts - targets  # (N, H, 1)
    print(
        f"applied parameters, all {len(origins)} origins: {applied_time:.2f} s "
        f"({1e3 * applied_time / len(origins):.3f} ms per origin); "
        f"MSE {np.mean(errors**2):.4f}, MAE {np.mean(np.abs(errors)):.4f}"
    )

    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(origins[1:], REFIT_SAMPLE, replace=False))
    # the earliest origin keeps the train fit; each of the sampled origins is refitted on
    # all rows up to it (warm start from the train parameters) and filtered once
    subset = np.concatenate([origins[:1], sample])  # (REFIT_SAMPLE + 1,)
    refit_times = {}
    for n_jobs in (1, 2):
        refitting, _ = timed(
            ARIMA(order=ORDER, refit_every=1, n_jobs=n_jobs, progress=False).fit,
            values,
            TRAIN_STOP,
        )
        refit_forecasts, refit_times[n_jobs] = timed(
            refitting.predict_origins,
            values,
            subset,
            context_length=CONTEXT_LENGTH,
            horizon=HORIZON,
        )
        print(
            f"refit at each of {REFIT_SAMPLE} random origins, n_jobs={n_jobs}: "
            f"{refit_times[n_jobs]:.2f} s ({refit_times[n_jobs] / REFIT_SAMPLE:.3f} s per origin)"
        )
    per_origin = refit_times[1] / REFIT_SAMPLE
    print(
        f"refit at every origin, extrapolated to {len(origins)} origins (n_jobs=1): "
        f"{per_origin * len(origins):.0f} s = {per_origin * len(origins) / 60:.1f} min, "
        f"{per_origin * len(origins) / applied_time:.0f}x the applied-parameter run"
    )
    print(
        f"parallel speedup of the refit run, n_jobs=1 -> 2: {refit_times[1] / refit_times[2]:.2f}x"
    )
    sample_errors = refit_forecasts[1:] - targets[np.searchsorted(origins, sample)]
    applied_errors = (
        forecasts[np.searchsorted(origins, sample)] - targets[np.searchsorted(origins, sample)]
    )
    print(
        f"MSE on the {REFIT_SAMPLE} sampled origins: refit {np.mean(sample_errors**2):.4f}, "
        f"applied {np.mean(applied_errors**2):.4f}"
    )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
