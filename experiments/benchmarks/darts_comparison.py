"""Benchmark: forecastab's GRU against Darts' ``RNNModel`` on sunspots (issue 3).

Yearly sunspots (statsmodels, 309 rows), chronological split 70/30: train rows [0, 216), test
[216, 309), z-scored on the train rows. Context 30, horizon 20, one GRU layer of 64 units,
Adam 1e-3, MSE, 30 epochs, batch 128, CPU, 1 torch thread. Both models learn with teacher
forcing (the true previous value is always fed), both forecast free-running from the same 74
test origins (1915..1988), and both are scored with forecastab's ``evaluate``: per-step RMSE in
sunspot numbers over the same origins. Darts is fed forecastab's scaled train rows as a
``TimeSeries``, so both fit identical data.

Darts' ``training_length`` is 50 = context + horizon: ``RNNModel`` trains on sequences of
``training_length`` values, one-step-ahead at every position (teacher forcing), so 50 makes
each of its training sequences span exactly the 30 + 20 rows of one forecastab window (166
sequences vs forecastab's 167 windows, 2 batches per epoch each). Darts' loss covers all 50
positions while forecastab's covers the 20 horizon steps; ``input_chunk_length`` 30 is the
context its free-running forecast is encoded from, as in forecastab.

Only the fit is timed (wall clock), each side ``REPEATS`` times alternately in this process.
Target of the issue: forecastab at least 10x faster to fit. Prints, does not assert.
``--profile`` adds a cProfile of one fit per side.

Threads default to 1: on a 2-core machine that other jobs share, 2 torch (OpenMP) threads made
each GRU forward+backward ~100x slower (17 ms at 1 thread, 0.5-2.2 s at 2) and the fit times
noise (38-142 s per fit, either side); ``--threads 2`` reproduces that.

Run: .venv-bench/bin/python experiments/benchmarks/darts_comparison.py [--profile] [--threads N]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import logging
import os
import pstats
import statistics
import time
import warnings

import numpy as np

CONTEXT_LENGTH, HORIZON, HIDDEN_SIZE, EPOCHS, BATCH_SIZE = 30, 20, 64, 30, 128
TRAINING_LENGTH = CONTEXT_LENGTH + HORIZON
REPEATS, TARGET_SPEEDUP = 3, 10.0
QUIET_TRAINER = {
    "accelerator": "cpu",
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
}


class DartsForecaster:
    """A fitted Darts model behind forecastab's uniform ``predict_origins`` interface.

    Each origin becomes one context ``TimeSeries`` of the ``L`` rows ending at it (timestamps from
    the data module), and all are forecast in one batched ``predict`` call.
    """

    name = "darts_gru"
    supported_modes = ("free_running",)

    def __init__(self, model, index) -> None:
        self.model = model
        self.index = index
        self.context_ends = None
        self.forecast_starts = None

    def predict_origins(
        self,
        values: np.ndarray,
        origins: np.ndarray,
        *,
        context_length: int,
        horizon: int,
        mode: str = "free_running",
    ) -> np.ndarray:
        from darts import TimeSeries

        contexts = [
            TimeSeries.from_times_and_values(
                self.index[t - context_length + 1 : t + 1], values[t - context_length + 1 : t + 1]
            )
            for t in origins
        ]
        forecasts = self.model.predict(n=horizon, series=contexts, verbose=False)
        self.context_ends = [context.end_time() for context in contexts]
        self.forecast_starts = [forecast.start_time() for forecast in forecasts]
        return np.stack([forecast.values() for forecast in forecasts])  # (N, H, C)


def fit_forecastab(dm):
    import pytorch_lightning as pl

    from forecastab.models import ForecastModule, RNNConfig

    pl.seed_everything(0, verbose=False)
    model = ForecastModule(
        RNNConfig(cell="gru", hidden_size=HIDDEN_SIZE),
        context_length=CONTEXT_LENGTH,
        horizon=HORIZON,
        teacher_forcing_ratio=1.0,
    )
    trainer = pl.Trainer(max_epochs=EPOCHS, **QUIET_TRAINER)
    start = time.perf_counter()
    trainer.fit(model, dm)
    return model, time.perf_counter() - start


def fit_darts(train_series):
    import pytorch_lightning as pl
    from darts.models import RNNModel

    pl.seed_everything(0, verbose=False)
    model = RNNModel(
        model="GRU",
        input_chunk_length=CONTEXT_LENGTH,
        training_length=TRAINING_LENGTH,
        hidden_dim=HIDDEN_SIZE,
        n_rnn_layers=1,
        n_epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        random_state=0,
        pl_trainer_kwargs=dict(QUIET_TRAINER),
    )
    start = time.perf_counter()
    model.fit(train_series, verbose=False)
    return model, time.perf_counter() - start


def profile(label: str, fit, *args, lines: int = 12) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    _, seconds = fit(*args)
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats("tottime")
    stats.print_stats(lines)
    body = stream.getvalue()
    print(
        f"\n--- cProfile of one {label} fit ({seconds:.2f} s under the profiler), by own time ---"
    )
    print(body[body.find("   ncalls") :].rstrip())


def per_step_rmse(evaluation) -> np.ndarray:
    table = evaluation.table
    rows = table[(table["mode"] == "free_running") & (table["metric"] == "rmse")]
    return rows.sort_values("step")["value"].to_numpy()  # (H,)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both sides")
    parser.add_argument("--profile", action="store_true", help="cProfile one fit per side")
    args = parser.parse_args()
    if importlib.util.find_spec("darts") is None:
        print("darts not installed: pip install 'forecastab[bench]'")
        return
    import darts
    import pytorch_lightning as pl
    import torch
    from darts import TimeSeries

    from forecastab.baselines import Naive
    from forecastab.data import WindowDataModule
    from forecastab.evaluation import evaluate

    warnings.filterwarnings("ignore")
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "darts"):
        logging.getLogger(name).setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    print(
        f"cpu cores: {os.cpu_count()}, torch threads: {torch.get_num_threads()}, "
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"torch {torch.__version__}, pytorch-lightning {pl.__version__}, darts {darts.__version__}"
    )

    dm = WindowDataModule(
        "sunspots",
        context_length=CONTEXT_LENGTH,
        horizon=HORIZON,
        split={"train": 0.7, "test": 0.3},
        batch_size=BATCH_SIZE,
    )
    train_start, train_stop = dm.borders.train
    train_series = TimeSeries.from_times_and_values(
        dm.index[train_start:train_stop], dm.values[train_start:train_stop]
    )
    print(
        f"data: sunspots {len(dm.values)} rows, train [{train_start}, {train_stop}) "
        f"({dm.index[train_start].year}..{dm.index[train_stop - 1].year}), test {dm.borders.test}, "
        f"z-scored on train (mean {dm.scaler.mean[0]:.2f}, std {dm.scaler.std[0]:.2f}); "
        f"forecastab train windows {len(dm.origins('train'))}, darts training sequences "
        f"{train_stop - train_start - TRAINING_LENGTH}"
    )
    print(
        f"GRU hidden {HIDDEN_SIZE}, context {CONTEXT_LENGTH}, horizon {HORIZON}, {EPOCHS} epochs, "
        f"batch {BATCH_SIZE}; darts training_length {TRAINING_LENGTH}"
    )

    times: dict[str, list[float]] = {"forecastab": [], "darts": []}
    for repeat in range(REPEATS):
        model, seconds = fit_forecastab(dm)
        times["forecastab"].append(seconds)
        darts_model, darts_seconds = fit_darts(train_series)
        times["darts"].append(darts_seconds)
        print(f"run {repeat + 1}: fit forecastab {seconds:.2f} s, darts {darts_seconds:.2f} s")

    best = {side: min(values) for side, values in times.items()}
    median = {side: statistics.median(values) for side, values in times.items()}
    print(f"\nfit time over {REPEATS} alternating runs (s):")
    print(f"{'':12}{'best':>8}{'median':>8}")
    for side in times:
        print(f"{side:12}{best[side]:8.2f}{median[side]:8.2f}")
    ratio_best = best["darts"] / best["forecastab"]
    ratio_median = median["darts"] / median["forecastab"]
    verdict = "met" if min(ratio_best, ratio_median) >= TARGET_SPEEDUP else "not met"
    print(
        f"fit-time ratio darts/forecastab: best {ratio_best:.2f}x, median {ratio_median:.2f}x; "
        f"target >= {TARGET_SPEEDUP:.0f}x: {verdict}"
    )

    darts_forecaster = DartsForecaster(darts_model, dm.index)
    ours = evaluate(model, dm, modes=("free_running",), metrics=("rmse",), units="original")
    theirs = evaluate(
        darts_forecaster, dm, modes=("free_running",), metrics=("rmse",), units="original"
    )
    naive = evaluate(Naive().fit(dm.values, train_stop), dm, metrics=("rmse",), units="original")

    origins = dm.origins("test")
    stamps = dm.origin_timestamps("test")
    ends, starts = darts_forecaster.context_ends, darts_forecaster.forecast_starts
    print(
        f"\norigins forecastab: {len(origins)} (rows {origins[0]}..{origins[-1]}, last observed "
        f"{stamps[0].year}..{stamps[-1].year}, first forecast "
        f"{dm.index[origins[0] + 1].year}..{dm.index[origins[-1] + 1].year})"
    )
    print(
        f"origins darts:      {len(ends)} (last observed {ends[0].year}..{ends[-1].year}, "
        f"first forecast {starts[0].year}..{starts[-1].year}); "
        f"aligned: {list(ends) == list(stamps)}"
    )

    ours_rmse, theirs_rmse, naive_rmse = (per_step_rmse(e) for e in (ours, theirs, naive))
    print("\nfree-running RMSE per step (sunspot numbers, over the same 74 origins):")
    print(f"{'step':>4}{'forecastab':>12}{'darts':>10}{'naive':>10}")
    for step in range(HORIZON):
        print(
            f"{step + 1:4d}{ours_rmse[step]:12.2f}{theirs_rmse[step]:10.2f}{naive_rmse[step]:10.2f}"
        )
    print(f"{'mean':>4}{ours_rmse.mean():12.2f}{theirs_rmse.mean():10.2f}{naive_rmse.mean():10.2f}")
    print(f"naive (last value) mean RMSE over steps: {naive_rmse.mean():.2f} (reference 66.70)")

    if args.profile:
        profile("forecastab", fit_forecastab, dm)
        profile("darts", fit_darts, train_series)
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
