"""Evaluate saved ETTh1 checkpoints on every test origin (informer protocol, scaled units).

The long-horizon study evaluates every 24th origin; this checks a result on all of them, the
origins the published numbers use. Prints free-running MSE and MAE (mean over steps and origins)
per checkpoint.

Run: ``python experiments/etth1_long_horizon/etth1_all_origins.py CHECKPOINT [CHECKPOINT ...]``, e.g.
``runs/etth1_long_horizon2/runs/H336__gru_revin__teacher_forcing__seed0/checkpoints/model.ckpt``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from forecastab.data import WindowDataModule
from forecastab.evaluation.evaluate import evaluate
from forecastab.models import ForecastModule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", type=Path, nargs="+")
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    for checkpoint in args.checkpoints:
        module = ForecastModule.load_from_checkpoint(checkpoint, map_location="cpu")
        data = WindowDataModule(
            "etth1",
            target="OT",
            context_length=module.context_length,
            horizon=module.horizon,
            split="informer",
        )
        table = evaluate(module, data, metrics=["mse", "mae"], units="scaled", stride=1).table
        means = table.groupby("metric")["value"].mean()
        print(
            f"{checkpoint.parent.parent.name}: {len(data.origins('test'))} origins, "
            f"MSE {means['mse']:.4f}, MAE {means['mae']:.4f}"
        )


if __name__ == "__main__":
    main()
