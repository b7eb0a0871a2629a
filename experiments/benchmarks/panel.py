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

``--peers`` (needs NeuralForecast and Darts beside forecastab, see docs/benchmarks.md, "Peers")
runs forecastab's GRU, NeuralForecast's recurrent GRU and LSTM and Darts' ``RNNModel`` on the
same panel, each in a fresh subprocess (so each peak RSS is its own), and prints training
throughput, fit + rolling evaluation time, accuracy on the same test origins computed by the
same code, peak memory and the ratios forecastab / fastest peer; then forecastab's memory at
200 and 2,000 series. Prints, does not assert.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
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


def peak_rss_mb() -> float:  # the process's peak since its start
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


# -- peers (``--peers``) ---------------------------------------------------------------------
#
# Every library gets the very same numbers: forecastab's per-series z-scored targets (fitted on
# each series' training rows) and its two calendar columns (hour, day of week in [-0.5, 0.5]) as
# known-future covariates; each returns scaled forecasts at the same test origins, and one
# function inverts them with the same scalers and scores them against the same true values.

HIDDEN, LEARNING_RATE, EVAL_STRIDE = 64, 1e-3, 24
SEED = 0  # set by --seed: every library's initialization and sampling seed
PATCH = 6  # forecastab_patch: 8 context and 4 autoregressive decoder steps of 6 rows each
PEER_ORDER = ("forecastab", "forecastab_patch", "nf_gru", "nf_lstm", "darts_rnn")
OURS = ("forecastab", "forecastab_patch")
LABELS = {
    "forecastab": "forecastab GRU (encoder-decoder, AR)",
    "forecastab_patch": f"forecastab GRU, patch {PATCH} (AR, 4 steps)",
    "nf_gru": "NeuralForecast GRU (recurrent=True)",
    "nf_lstm": "NeuralForecast LSTM (recurrent=True)",
    "darts_rnn": "Darts RNNModel GRU",
    "seasonal_naive": "seasonal naive (24 h), no fit",
}


class FitClock(pl.Callback):
    """Seconds of the training loop (``on_train_start`` to ``on_train_end``) and its steps: one
    callback, so every library's throughput is counted alike (all three train with Lightning)."""

    def __init__(self) -> None:
        self.start = self.seconds = 0.0
        self.steps = 0

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.start = time.perf_counter()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seconds = time.perf_counter() - self.start
        self.steps = trainer.global_step
        _CLOCKS.append((self.seconds, self.steps))  # a library may run a deep copy of the callback


_CLOCKS: list[tuple[float, int]] = []


def _hwm_mb() -> float:
    """The process's peak RSS (VmHWM) in MiB."""
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _reset_hwm() -> bool:
    """Reset the peak RSS to the current RSS (Linux ``clear_refs`` 5); False where refused."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _trainer_kwargs(clock: FitClock, steps: int) -> dict:
    return dict(
        max_steps=steps, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[clock],
    )  # fmt: skip


def _panel_data(n_series: int, rows: int) -> WindowDataModule:
    frame = synthetic_panel(n_series, rows)
    return WindowDataModule(
        frame, time_column="ds", target="y", context_length=CONTEXT, horizon=HORIZON,
        calendar=["hour", "dayofweek"], split={"train": 0.8, "test": 0.2}, batch_size=BATCH,
        seed=SEED,
    )  # fmt: skip


def _test_origins(data: WindowDataModule) -> np.ndarray:
    """The test origins (own row numbers) of series 0; every series of the synthetic panel has the
    same rows, so the same origins."""
    origins = data.series_data(0).origins("test", EVAL_STRIDE)
    for i in range(len(data.panel)):
        if not np.array_equal(data.series_data(i).origins("test", EVAL_STRIDE), origins):
            raise SystemExit("the benchmark expects series of equal length")
    return origins


def _truth(data: WindowDataModule, origins: np.ndarray) -> np.ndarray:
    """True values ``(S, O, H)`` in original units."""
    steps = origins[:, None] + np.arange(1, HORIZON + 1)  # (O, H)
    return np.stack(
        [data.panel.raw_values[data.panel.rows(i)][steps, 0] for i in range(len(data.panel))]
    )


def _scores(data: WindowDataModule, origins: np.ndarray, scaled: np.ndarray) -> dict:
    """MSE, MAE and MASE in original units of scaled forecasts ``(S, O, H)``: the one scorer.

    MASE divides each series' MAE by its in-sample seasonal-naive (24 h) MAE on its training
    rows; the panel MASE is the mean over series."""
    panel = data.panel
    mean = np.array([s.mean[0] for s in panel.scalers])[:, None, None]
    std = np.array([s.std[0] for s in panel.scalers])[:, None, None]
    forecasts = scaled.astype(np.float64) * std + mean
    truth = _truth(data, origins)
    errors = forecasts - truth
    mase = []
    for i in range(len(panel)):
        train = panel.raw_values[panel.rows(i)][: panel.borders[i].get("train")[1], 0]
        scale = np.mean(np.abs(train[24:] - train[:-24]))
        mase.append(np.mean(np.abs(errors[i])) / scale)
    return {
        "mse": float(np.mean(errors**2)),
        "mae": float(np.mean(np.abs(errors))),
        "mase": float(np.mean(mase)),
        "finite": bool(np.isfinite(forecasts).all()),
    }


def _seasonal_naive(data: WindowDataModule, origins: np.ndarray) -> np.ndarray:
    """Scaled forecasts ``(S, O, H)``: the value 24 hours before each step (H = 24)."""
    steps = origins[:, None] + np.arange(1, HORIZON + 1) - 24  # (O, H)
    return np.stack(
        [data.panel.values[data.panel.rows(i)][steps, 0] for i in range(len(data.panel))]
    )


def _forecastab_model(patch: int = 1) -> ForecastModule:
    """forecastab's global GRU with the benchmark's settings, seeded."""
    torch.manual_seed(SEED)
    return ForecastModule(
        RNNConfig(hidden_size=HIDDEN, patch=patch), context_length=CONTEXT, horizon=HORIZON,
        learning_rate=LEARNING_RATE,
    )  # fmt: skip


def _fit_forecastab(
    data: WindowDataModule, origins: np.ndarray, steps: int, clock: FitClock, patch: int = 1
):
    model = _forecastab_model(patch)
    trainer = pl.Trainer(**_trainer_kwargs(clock, steps), limit_val_batches=0)
    start = time.perf_counter()
    trainer.fit(model, data)
    fitted = time.perf_counter()
    result = evaluate(model, data, metrics=["mae"], units="scaled", stride=EVAL_STRIDE)
    end = time.perf_counter()
    expected = np.tile(origins, len(data.panel))
    if not np.array_equal(result.origins, expected):
        raise SystemExit("forecastab evaluated other origins than the peers")
    forecasts = result.predictions["free_running"][:, :, 0].reshape(
        len(data.panel), len(origins), HORIZON
    )
    return forecasts, fitted - start, end - start


def _long_frame(data: WindowDataModule, last_row: int) -> pd.DataFrame:
    """The scaled panel as NeuralForecast's long frame (``unique_id, ds, y, hour, dayofweek``),
    each series cut after ``last_row`` (the last forecast step)."""
    panel = data.panel
    parts = []
    for i, name in enumerate(panel.ids):
        rows = panel.rows(i)
        future = panel.future[rows][: last_row + 1]
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": name,
                    "ds": panel.indexes[i][: last_row + 1],
                    "y": panel.values[rows][: last_row + 1, 0].astype(np.float64),
                    "hour": future[:, 0].astype(np.float64),
                    "dayofweek": future[:, 1].astype(np.float64),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _fit_neuralforecast(
    data: WindowDataModule, origins: np.ndarray, steps: int, clock: FitClock, cell: str
):
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MSE
    from neuralforecast.models import GRU, LSTM

    frame = _long_frame(data, int(origins[-1]) + HORIZON)  # before the clock
    network = GRU if cell == "gru" else LSTM
    model = network(
        h=HORIZON, input_size=CONTEXT, inference_input_size=CONTEXT,
        recurrent=True, h_train=HORIZON,  # autoregressive, teacher-forced over the horizon
        encoder_n_layers=1, encoder_hidden_size=HIDDEN,
        futr_exog_list=["hour", "dayofweek"],
        loss=MSE(), valid_loss=MSE(), max_steps=steps, learning_rate=LEARNING_RATE,
        batch_size=32, windows_batch_size=BATCH, scaler_type="identity", random_seed=SEED,
        **{k: v for k, v in _trainer_kwargs(clock, steps).items() if k != "max_steps"},
    )  # fmt: skip
    forecaster = NeuralForecast(models=[model], freq="h")
    start = time.perf_counter()
    cv = forecaster.cross_validation(
        df=frame, n_windows=len(origins), step_size=EVAL_STRIDE, refit=False
    )
    end = time.perf_counter()
    clock.seconds, clock.steps = _CLOCKS[-1]  # NeuralForecast trains a copy of the model
    column = type(model).__name__
    cv = cv.sort_values(["unique_id", "cutoff", "ds"])
    cutoffs = np.sort(cv["cutoff"].unique())
    expected = data.panel.indexes[0][origins].to_numpy()
    if not np.array_equal(cutoffs, expected):
        raise SystemExit("NeuralForecast evaluated other origins than forecastab")
    forecasts = cv[column].to_numpy().reshape(len(data.panel), len(origins), HORIZON)
    return forecasts, clock.seconds, end - start


def _fit_darts(data: WindowDataModule, origins: np.ndarray, steps: int, clock: FitClock):
    from darts import TimeSeries
    from darts.models import RNNModel

    panel = data.panel
    series, covariates, train = [], [], []
    for i in range(len(panel)):  # before the clock
        rows, index = panel.rows(i), panel.indexes[i]
        target = TimeSeries.from_times_and_values(
            index, panel.values[rows][:, :1].astype(np.float32)
        )
        series.append(target)
        covariates.append(
            TimeSeries.from_times_and_values(index, panel.future[rows].astype(np.float32))
        )
        train.append(target[: panel.borders[i].get("train")[1]])
    model = RNNModel(
        model="GRU", input_chunk_length=CONTEXT, training_length=CONTEXT + HORIZON,
        hidden_dim=HIDDEN, n_rnn_layers=1, batch_size=BATCH,
        optimizer_kwargs={"lr": LEARNING_RATE}, random_state=SEED,
    )  # fmt: skip
    trainer = pl.Trainer(**_trainer_kwargs(clock, steps))
    start = time.perf_counter()
    model.fit(train, future_covariates=covariates, trainer=trainer, verbose=False)
    fitted = time.perf_counter()
    history = model.historical_forecasts(
        series, future_covariates=covariates, start=panel.indexes[0][origins[0] + 1],
        forecast_horizon=HORIZON, stride=EVAL_STRIDE, retrain=False, last_points_only=False,
        overlap_end=False, verbose=False,
    )  # fmt: skip
    end = time.perf_counter()
    forecasts = np.stack([np.stack([f.values()[:, 0] for f in per]) for per in history])
    starts = pd.DatetimeIndex([f.start_time() for f in history[0]])
    if not starts.equals(panel.indexes[0][origins + 1]):
        raise SystemExit(
            f"Darts evaluated other origins than forecastab: {starts[:3]} vs "
            f"{panel.indexes[0][origins + 1].to_numpy()[:3]}"
        )
    return forecasts, fitted - start, end - start


WORKERS = {
    "forecastab": _fit_forecastab,
    "forecastab_patch": lambda d, o, s, c: _fit_forecastab(d, o, s, c, patch=PATCH),
    "nf_gru": lambda d, o, s, c: _fit_neuralforecast(d, o, s, c, "gru"),
    "nf_lstm": lambda d, o, s, c: _fit_neuralforecast(d, o, s, c, "lstm"),
    "darts_rnn": _fit_darts,
}


def run_worker(args: argparse.Namespace) -> None:
    """One library in this process; prints one ``RESULT {json}`` line."""
    global SEED
    SEED = args.seed
    torch.set_num_threads(1)
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    data = _panel_data(args.series, args.rows)  # the data before any clock
    origins = _test_origins(data)
    windows = len(data.train_dataloader().dataset)
    arrays = sum(a.nbytes for a in (data.panel.values, data.panel.raw_values, data.panel.future))
    gc_collect()
    loaded_rss, loaded_peak = _rss_mb(), _hwm_mb()
    reset = _reset_hwm()
    clock = FitClock()
    if args.fit_only:
        model = _forecastab_model()
        pl.Trainer(**_trainer_kwargs(clock, args.steps), limit_val_batches=0).fit(model, data)
        forecasts, fit_s, total_s = None, clock.seconds, float("nan")
    else:
        forecasts, fit_s, total_s = WORKERS[args.worker](data, origins, args.steps, clock)
    result = {
        "library": args.worker, "series": args.series, "rows": args.rows, "windows": windows,
        "arrays_mb": arrays / 2**20, "steps": clock.steps, "loop_s": clock.seconds,
        "fit_s": fit_s, "total_s": total_s, "loaded_rss_mb": loaded_rss,
        "loaded_peak_mb": loaded_peak, "run_peak_mb": _hwm_mb() if reset else float("nan"),
        "origins": int(len(origins) * len(data.panel)),
    }  # fmt: skip
    if forecasts is not None:
        result.update(_scores(data, origins, forecasts))
        if args.worker in OURS:
            naive = _scores(data, origins, _seasonal_naive(data, origins))
            result["naive"] = naive
    print("RESULT " + json.dumps(result), flush=True)


def gc_collect() -> None:
    import gc

    gc.collect()


def _spawn(
    library: str, series: int, rows: int, steps: int, fit_only: bool = False, seed: int = 0
) -> dict:
    command = [
        sys.executable, __file__, "--worker", library, "--series", str(series),
        "--rows", str(rows), "--steps", str(steps), "--seed", str(seed),
    ]  # fmt: skip
    if fit_only:
        command.append("--fit-only")
    environment = dict(
        os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore"
    )
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    wall = time.perf_counter() - start
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode or not lines:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        print(f"{library} failed (exit {done.returncode}):\n{tail}", flush=True)
        return {}
    result = json.loads(lines[-1][len("RESULT ") :])
    result["process_s"] = wall
    return result


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in ("forecastab", "neuralforecast", "darts", "torch", "pytorch-lightning"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


def run_peers(args: argparse.Namespace) -> None:
    libraries = [x for x in args.libraries.split(",") if x]
    unknown = sorted(set(libraries) - set(WORKERS))
    if unknown:
        raise SystemExit(f"unknown library {unknown[0]!r}; choose from {', '.join(PEER_ORDER)}")
    print(_versions())
    print(
        f"panel {args.series} series x {args.rows} rows, context {CONTEXT}, horizon {HORIZON}, "
        f"hidden {HIDDEN}, {args.steps} Adam steps of {BATCH} windows (lr {LEARNING_RATE:g}, "
        f"MSE), 2 calendar future covariates, 1 torch thread, each library in its own process; "
        f"test origins every {EVAL_STRIDE} h of the last 20% of each series",
        flush=True,
    )
    print(f"cores seen {os.cpu_count()}, load average at the start {_load()}", flush=True)
    start = time.perf_counter()
    results = {}
    for library in libraries:
        results[library] = _spawn(library, args.series, args.rows, args.steps, seed=args.seed)
        r = results[library]
        if r:
            print(
                f"  {library}: loop {r['loop_s']:.1f} s, fit + evaluation {r['total_s']:.1f} s, "
                f"MSE {r['mse']:.3f}, process {r['process_s']:.0f} s",
                flush=True,
            )
    _table(results, args.steps)
    if "forecastab" in libraries and not args.skip_memory:
        _memory_table(args)
    print(f"wall time {time.perf_counter() - start:.0f} s; load average at the end {_load()}")


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _table(results: dict, steps: int) -> None:
    done = {k: v for k, v in results.items() if v}
    if not done:
        return
    header = (
        f"{'library':38s} {'windows/s':>9s} {'fit s':>7s} {'fit+eval s':>10s} {'MSE':>7s} "
        f"{'MAE':>6s} {'MASE':>6s} {'peak MiB':>8s} {'run peak':>8s}"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, r in done.items():
        if r["steps"] != steps:
            print(f"  ({name} ran {r['steps']} steps, not {steps})")
        rate = r["steps"] * BATCH / r["loop_s"]
        r["rate"] = rate
        print(
            f"{LABELS[name]:38s} {rate:9,.0f} {r['fit_s']:7.1f} {r['total_s']:10.1f} "
            f"{r['mse']:7.3f} {r['mae']:6.3f} {r['mase']:6.3f} "
            f"{max(r['loaded_peak_mb'], r['run_peak_mb']):8.0f} {r['run_peak_mb']:8.0f}"
        )
    naive = done.get("forecastab", {}).get("naive")
    if naive:
        print(
            f"{LABELS['seasonal_naive']:38s} {'':9s} {'':7s} {'':10s} {naive['mse']:7.3f} "
            f"{naive['mae']:6.3f} {naive['mase']:6.3f}"
        )
    peers = {k: v for k, v in done.items() if k not in OURS}
    for name in OURS:
        ours = done.get(name)
        if not (ours and peers):
            continue
        fastest_rate = max(peers, key=lambda k: peers[k]["rate"])
        fastest_total = min(peers, key=lambda k: peers[k]["total_s"])
        best = min(peers, key=lambda k: peers[k]["mse"])
        throughput = ours["rate"] / peers[fastest_rate]["rate"]
        total = peers[fastest_total]["total_s"] / ours["total_s"]
        print()
        print(
            f"training throughput, {name} / fastest peer ({fastest_rate}): {throughput:.2f}x; "
            f"target >= 1.5x: {'met' if throughput >= 1.5 else 'not met'}"
        )
        print(
            f"fit + rolling evaluation, fastest peer ({fastest_total}) / {name}: {total:.2f}x; "
            f"target >= 1.5x: {'met' if total >= 1.5 else 'not met'}"
        )
        print(
            f"MSE {name} {ours['mse']:.3f} vs best peer ({best}) {peers[best]['mse']:.3f}: "
            f"{'equal or better' if ours['mse'] <= peers[best]['mse'] else 'worse'}"
        )
    print(
        "peak MiB: the process's peak RSS (VmHWM) over data loading, fit and evaluation; run "
        "peak: the peak RSS after the data were loaded (reset with clear_refs), fit + evaluation"
    )


def _memory_table(args: argparse.Namespace) -> None:
    """forecastab's memory over panels of more windows: 10x the series (10x the rows and
    windows), and the same rows cut into 10x shorter series (fewer windows)."""
    sizes = [
        (args.series, args.rows),
        (args.series * 10, args.rows),
        (args.series * 10, args.rows // 10),
    ]
    print()
    print(f"forecastab memory, fit only ({args.memory_steps} steps), each size in its own process:")
    header = (
        f"{'series x rows':>15s} {'windows':>10s} {'arrays MiB':>10s} {'windows MiB':>11s} "
        f"{'RSS loaded':>10s} {'fit peak':>9s} {'fit peak - loaded':>18s}"
    )
    print(header)
    print("-" * len(header))
    per_window = 4 * (CONTEXT + HORIZON) * 3  # float32 target + 2 future covariates
    for series, rows in sizes:
        r = _spawn("forecastab", series, rows, args.memory_steps, fit_only=True)
        if not r:
            continue
        print(
            f"{f'{series:,} x {rows:,}':>15s} {r['windows']:10,d} {r['arrays_mb']:10.1f} "
            f"{r['windows'] * per_window / 2**20:11.1f} {r['loaded_rss_mb']:10.0f} "
            f"{r['run_peak_mb']:9.0f} {r['run_peak_mb'] - r['loaded_rss_mb']:18.0f}",
            flush=True,
        )
    print(
        "windows MiB: what the training windows would take if materialized (float32); RSS "
        "loaded: after the data module is built and the frame freed; fit peak: peak RSS during fit"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps timed")
    parser.add_argument("--eval-stride", type=int, default=24)
    parser.add_argument("--no-eval", action="store_true", help="skip the rolling evaluation")
    parser.add_argument(
        "--peers", action="store_true", help="forecastab against NeuralForecast and Darts"
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--fit-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help="with --peers: every library's seed")
    parser.add_argument("--skip-memory", action="store_true", help="with --peers: no memory runs")
    parser.add_argument(
        "--memory-steps", type=int, default=100, help="with --peers: steps of the memory runs"
    )
    parser.add_argument(
        "--libraries", default=",".join(PEER_ORDER), help="with --peers: which to run"
    )
    args = parser.parse_args()
    if args.worker:
        return run_worker(args)
    if args.peers:
        return run_peers(args)
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
