"""Benchmark: free-running and teacher-forced evaluation of a GRU over every ETTh1 test origin.

Informer protocol, context 96, horizon 96: 2,880 test rows give 2,785 origins. The GRU is
untrained (timing only). Prints the wall time of ``evaluate`` and, per mode, the time spent in
``predict_origins`` and origins per second; the rest is metrics and bootstrap.

Run: ``.venv/bin/python experiments/benchmarks/evaluation.py``
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import torch

from forecastab.data import WindowDataModule
from forecastab.evaluation import evaluate
from forecastab.models import ForecastModule, RNNConfig


class TimedForecaster:
    """Passes calls through to a forecaster and records the seconds spent in each mode."""

    def __init__(self, forecaster: ForecastModule) -> None:
        self.forecaster = forecaster
        self.name = forecaster.name
        self.supported_modes = forecaster.supported_modes
        self.seconds: dict[str, float] = defaultdict(float)

    def predict_origins(self, values: np.ndarray, origins: np.ndarray, **kwargs) -> np.ndarray:
        start = time.perf_counter()
        predictions = self.forecaster.predict_origins(values, origins, **kwargs)
        self.seconds[kwargs.get("mode", "free_running")] += time.perf_counter() - start
        return predictions


def main() -> None:
    torch.manual_seed(0)
    data = WindowDataModule("etth1", target="OT", context_length=96, horizon=96, split="informer")
    module = ForecastModule(RNNConfig(cell="gru", hidden_size=64), context_length=96, horizon=96)
    n_origins = len(data.origins("test"))
    print(f"ETTh1 informer test split: {n_origins} origins, context 96, horizon 96")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")

    for n_bootstrap in (0, 1000):
        timed = TimedForecaster(module)
        start = time.perf_counter()
        result = evaluate(
            timed,
            data,
            modes=("free_running", "teacher_forced"),
            metrics=("mae", "rmse", "smape", "mase"),
            n_bootstrap=n_bootstrap,
        )
        total = time.perf_counter() - start
        print(f"\nevaluate(..., n_bootstrap={n_bootstrap}): {total:.2f} s in all")
        for mode, seconds in timed.seconds.items():
            print(
                f"  {mode:<15} predict_origins {seconds:6.2f} s  {n_origins / seconds:8.0f} origins/s"
            )
        rest = total - sum(timed.seconds.values())
        print(f"  metrics, table, bootstrap     {rest:6.2f} s")

    table = result.table
    for mode in result.modes:
        mae = table[(table["mode"] == mode) & (table["metric"] == "mae")]["value"].to_numpy()
        print(f"  untrained GRU {mode} MAE: step 1 {mae[0]:.3f}, step 96 {mae[-1]:.3f}")


if __name__ == "__main__":
    main()
