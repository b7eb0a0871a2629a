"""Decoding and training-loop speed, measured side by side in one run.

Three ratios, each against its target:

1. transformer free running: re-encoding the whole prefix per step / the key/value cache
   (context 96, horizon 96, batch 256; target: the cache is at least 5x faster);
2. GRU evaluation over 10,000 windows at horizon 96: free running / teacher forced
   (target: at most 3x);
3. one training epoch: through Lightning / the same model in a bare PyTorch loop
   (target: at most 1.2x).

Each timing is the best of a few repeats (the least disturbed by other processes), and the
members of a pair are timed alternately so that both see the same machine load.

Run: ``python experiments/benchmarks/decoding.py``.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader

from forecastab.data.windows import WindowDataset, collate_batch
from forecastab.models import ForecastModule, RNNConfig, TransformerConfig, TransformerNetwork
from forecastab.teacher_forcing.rollout import rollout


@dataclass
class Comparison:
    """One measured ratio: ``slow / fast`` seconds, and the target it should meet."""

    name: str
    slow_label: str
    slow_seconds: float
    fast_label: str
    fast_seconds: float
    target: str
    met: bool

    @property
    def ratio(self) -> float:
        return self.slow_seconds / self.fast_seconds


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


def synthetic_series(length: int, seed: int = 0) -> np.ndarray:
    """A seeded noisy two-period sine ``(T, 1)`` float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    values = np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 168)
    return (values + 0.1 * rng.standard_normal(length)).astype(np.float32)[:, None]  # (T, C)


def reencoding_rollout(net: TransformerNetwork, context: Tensor, horizon: int) -> Tensor:
    """Free running without a cache: a full causal pass over the growing prefix per step."""
    sequence = context
    for _ in range(horizon):
        nxt = net(sequence)[:, -1:]  # (B, 1, C)
        sequence = torch.cat([sequence, nxt], dim=1)  # (B, L+h+1, C)
    return sequence[:, context.shape[1] :]  # (B, H, C)


def transformer_cache() -> Comparison:
    """Free-running transformer: re-encoding the prefix vs appending one cached position."""
    context_length, horizon, batch_size = 96, 96, 256
    torch.manual_seed(0)
    net = TransformerNetwork(
        TransformerConfig(), n_targets=1, max_length=context_length + horizon
    ).eval()
    context = torch.randn(batch_size, context_length, 1)
    with torch.no_grad():
        cached = rollout(net, context, horizon).predictions
        reencoded = reencoding_rollout(net, context, horizon)
        # the speed-up is only worth reporting if both compute the same forecast
        torch.testing.assert_close(cached, reencoded, atol=1e-4, rtol=0)
        slow, fast = best_of_pair(
            lambda: reencoding_rollout(net, context, horizon),
            lambda: rollout(net, context, horizon),
            repeats=2,
        )
    return Comparison(
        "transformer free running (L=96, H=96, B=256)",
        "re-encoding",
        slow,
        "kv cache",
        fast,
        ">= 5x",
        slow / fast >= 5,
    )


def gru_evaluation() -> Comparison:
    """GRU over 10,000 windows: free running (a loop over H) vs teacher forced (one pass)."""
    context_length, horizon, n_windows = 96, 96, 10_000
    torch.manual_seed(0)
    module = ForecastModule(RNNConfig(), context_length=context_length, horizon=horizon)
    values = synthetic_series(n_windows + context_length + horizon)
    origins = np.arange(context_length - 1, context_length - 1 + n_windows)

    def evaluate(mode: str) -> np.ndarray:
        return module.predict_origins(
            values, origins, context_length=context_length, horizon=horizon, mode=mode
        )

    slow, fast = best_of_pair(
        lambda: evaluate("free_running"), lambda: evaluate("teacher_forced"), repeats=3
    )
    return Comparison(
        "GRU evaluation, 10,000 windows (L=96, H=96)",
        "free running",
        slow,
        "teacher forced",
        fast,
        "<= 3x",
        slow / fast <= 3,
    )


def training_epoch() -> Comparison:
    """One training epoch of the same GRU: a Lightning Trainer vs a bare PyTorch loop."""
    context_length, horizon, batch_size, n_windows = 96, 24, 64, 5_000
    values = synthetic_series(n_windows + context_length + horizon)
    origins = np.arange(context_length - 1, context_length - 1 + n_windows)
    dataset = WindowDataset(values, origins, context_length, horizon)

    def loader() -> DataLoader:
        generator = torch.Generator().manual_seed(0)
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=True,
            generator=generator,
            collate_fn=collate_batch,
        )

    def new_module() -> ForecastModule:
        torch.manual_seed(0)
        return ForecastModule(
            RNNConfig(), context_length=context_length, horizon=horizon, teacher_forcing_ratio=0.5
        )

    def bare_loop() -> None:
        module = new_module()
        optimizer = module.configure_optimizers()
        for context, targets in loader():
            predictions = rollout(
                module.network, context, horizon, targets=targets, ratio=0.5
            ).predictions
            loss = F.mse_loss(predictions, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def lightning() -> None:
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
        trainer.fit(new_module(), train_dataloaders=loader())

    slow, fast = best_of_pair(lightning, bare_loop, repeats=3)
    return Comparison(
        f"one training epoch, GRU, {n_windows} windows (B={batch_size}, L=96, H=24, r=0.5)",
        "Lightning",
        slow,
        "bare PyTorch",
        fast,
        "<= 1.2x",
        slow / fast <= 1.2,
    )


def darts_comparison() -> Comparison | None:
    """DARTS COMPARISON (separate later task): forecastab vs darts on the same windows.

    Skips with a message when ``darts`` is not importable (``pip install forecastab[bench]``).
    """
    try:
        import darts  # noqa: F401
    except ImportError:
        print("darts comparison: skipped, darts is not installed (pip install 'forecastab[bench]')")
        return None
    print("darts comparison: not implemented yet (a separate task)")
    return None


def main() -> None:
    """Run every comparison and print one table."""
    warnings.filterwarnings("ignore")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu")
    rows = [transformer_cache(), gru_evaluation(), training_epoch()]
    darts_comparison()
    header = f"{'benchmark':<62} {'slow':>22} {'fast':>22} {'ratio':>7} {'target':>8}  met"
    print(header)
    print("-" * len(header))
    for row in rows:
        slow = f"{row.slow_label} {row.slow_seconds:.3f}s"
        fast = f"{row.fast_label} {row.fast_seconds:.3f}s"
        met = "yes" if row.met else "NO"
        print(f"{row.name:<62} {slow:>22} {fast:>22} {row.ratio:>6.2f}x {row.target:>8}  {met}")


if __name__ == "__main__":
    main()
