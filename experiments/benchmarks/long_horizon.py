"""Long horizons: H = 720 at context 336, measured side by side in one run.

Two ratios, each against its target, plus the peak memory of the process:

1. one training epoch of the GRU under scheduled sampling (ratio 0.5, a coin per sample and
   step, so the step-by-step loop with backpropagation through all 720 steps) / one
   teacher-forced epoch (ratio 1, the parallel pass); target: at most 3x;
2. free-running evaluation of every test origin (every ``--stride``-th) / teacher-forced
   evaluation of the same origins (``predict_origins`` as the evaluation calls it); target: at
   most 3x.

The data is ETTh1's OT column under the informer protocol with per-window ``revin``
normalization (the experiment's setting); training epochs use ``--train-windows`` windows
(default 1024, a random subset as the reduced study uses) so that the measurement fits the
shared 2-core machine. Both members of a pair are timed alternately, best of ``--repeats``.
The transformer is measured the same way with ``--network transformer``.

Run: ``python experiments/benchmarks/long_horizon.py [--network gru|transformer]``.
"""

from __future__ import annotations

import argparse
import logging
import resource
import time
import warnings
from collections.abc import Callable

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from forecastab.data import WindowDataModule
from forecastab.data.windows import WindowDataset, collate_batch
from forecastab.models import ForecastModule, RNNConfig, TransformerConfig

CONTEXT_LENGTH, HORIZON = 336, 720


def best_of_pair(
    slow: Callable[[], object], fast: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Best wall time of each function, timed alternately (after one warm-up call each)."""
    slow(), fast()
    times: dict[str, list[float]] = {"slow": [], "fast": []}
    for _ in range(repeats):
        for key, run in (("slow", slow), ("fast", fast)):
            start = time.perf_counter()
            run()
            times[key].append(time.perf_counter() - start)
    return min(times["slow"]), min(times["fast"])


def peak_rss_mib() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def new_module(network: str, ratio: float) -> ForecastModule:
    torch.manual_seed(0)
    config = (
        RNNConfig(cell="gru", hidden_size=64, normalization="revin")
        if network == "gru"
        else TransformerConfig(
            d_model=32, nhead=4, num_layers=2, dim_feedforward=64, normalization="revin"
        )
    )
    return ForecastModule(
        config, context_length=CONTEXT_LENGTH, horizon=HORIZON, teacher_forcing_ratio=ratio
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=["gru", "transformer"], default="gru")
    parser.add_argument("--train-windows", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--stride", type=int, default=1, help="evaluate every stride-th test origin (1: all)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")

    data = WindowDataModule(
        "etth1", target="OT", context_length=CONTEXT_LENGTH, horizon=HORIZON, split="informer"
    )
    train_origins = np.random.default_rng(0).choice(
        data.origins("train"), size=args.train_windows, replace=False
    )
    dataset = WindowDataset(data.values, np.sort(train_origins), CONTEXT_LENGTH, HORIZON)

    def epoch(ratio: float) -> Callable[[], None]:
        def run() -> None:
            loader = DataLoader(
                dataset,
                batch_size=args.batch_size,
                shuffle=True,
                generator=torch.Generator().manual_seed(0),
                collate_fn=collate_batch,
            )
            trainer = pl.Trainer(
                max_epochs=1,
                accelerator="cpu",
                devices=1,
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                limit_val_batches=0,
            )
            trainer.fit(new_module(args.network, ratio), train_dataloaders=loader)

        return run

    print(
        f"{args.network}, context {CONTEXT_LENGTH}, horizon {HORIZON}, revin, "
        f"{args.threads} torch thread(s), {args.train_windows} training windows, "
        f"batch {args.batch_size}, best of {args.repeats}"
    )
    scheduled, forced = best_of_pair(epoch(0.5), epoch(1.0), args.repeats)
    print(
        f"training epoch: scheduled sampling (r=0.5, per_step) {scheduled:.2f}s  "
        f"teacher forced {forced:.2f}s  ratio {scheduled / forced:.2f}x  target <= 3x  "
        f"{'met' if scheduled / forced <= 3 else 'NOT met'}"
    )
    print(f"peak RSS after training: {peak_rss_mib():.0f} MiB")

    module = new_module(args.network, 1.0)
    origins = data.origins("test", stride=args.stride)

    def evaluate(mode: str) -> Callable[[], np.ndarray]:
        return lambda: module.predict_origins(
            data.values, origins, context_length=CONTEXT_LENGTH, horizon=HORIZON, mode=mode
        )

    free, teacher = best_of_pair(evaluate("free_running"), evaluate("teacher_forced"), args.repeats)
    print(
        f"evaluation of {len(origins)} test origins: free running {free:.2f}s  "
        f"teacher forced {teacher:.2f}s  ratio {free / teacher:.2f}x  target <= 3x  "
        f"{'met' if free / teacher <= 3 else 'NOT met'}"
    )
    print(f"peak RSS after evaluation: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
