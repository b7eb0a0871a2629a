"""Why is the tuned cut small? Per-step free-running error of the long diagnosis runs.

Reads the folders of ``forecastab run experiments/selection_criterion/diagnosis_<system>.yaml``
and prints, per strategy: the free-running test RMSE at a few steps and over the horizon, the
teacher-forced (one step ahead) RMSE, how much the free-running error grows from step 1 to the
last step against what chaos alone allows (exp(lambda * dt * (H - 1)), the largest Lyapunov
exponent), the error of forecasting the training mean (where chaos saturates), and from the
training log the epochs run, the best epoch, the free-running validation RMSE there and the last
training-loss RMSE (for free running that is the training split's free-running error: a gap to
validation is a generalization gap, not exposure bias).

    python experiments/selection_criterion/diagnosis_table.py runs/diag_thomas runs/diag_lorenz
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

# largest Lyapunov exponent per time unit and time between samples of the bundled generators
LYAPUNOV = {"lorenz": (0.906, 0.05), "thomas": (0.035, 0.1), "mackey_glass": (0.006, 1.0)}


def climatology(system: str) -> float:
    """RMSE of forecasting the training mean on the test split, in training z-scores."""
    from forecastab.data.registry import load_dataset
    from forecastab.data.splits import fraction_borders

    frame, target = load_dataset(system)
    values = frame[target].to_numpy(dtype=float)
    borders = fraction_borders(len(values), {"train": 0.6, "val": 0.2, "test": 0.2})
    train = values[slice(*borders.train)]
    test = values[slice(*borders.test)]
    return float(np.sqrt(np.mean((test - train.mean()) ** 2)) / train.std())


def training_log(run: Path) -> dict[str, float]:
    """Epochs, best epoch, its free-running validation RMSE and the last training RMSE."""
    log = pd.read_csv(run / "logs" / "metrics.csv")
    val = log.dropna(subset=["val_loss_free_running"])
    train = log.dropna(subset=["train_loss_epoch"])
    best = val.loc[val["val_loss_free_running"].idxmin()]
    return {
        "epochs": len(val),
        "best epoch": int(best["epoch"]),
        "val FR RMSE at best": math.sqrt(best["val_loss_free_running"]),
        "last train RMSE": math.sqrt(train["train_loss_epoch"].iloc[-1]),
    }


def table(folder: Path) -> pd.DataFrame:
    results = pd.read_csv(folder / "results.csv")
    results = results[results["metric"] == "rmse"]
    system = str(results["dataset"].iloc[0])
    rate, dt = LYAPUNOV[system]
    horizon = int(results["step"].max())
    rows = []
    for strategy, group in results.groupby("strategy", sort=False):
        free = group[group["mode"] == "free_running"].groupby("step")["value"].mean()
        forced = group[group["mode"] == "teacher_forced"].groupby("step")["value"].mean()
        run = next((folder / "runs").glob(f"*__{strategy}__seed*"))
        rows.append({
            "system": system,
            "strategy": strategy,
            **{f"FR step {s}": free[s] for s in (1, 12, 24, horizon)},
            "FR mean": free.mean(),
            "TF-mode mean": forced.mean(),
            "growth 1->H": free[horizon] / free[1],
            "chaos allows": math.exp(rate * dt * (horizon - 1)),
            "H in Lyapunov times": rate * dt * horizon,
            "mean forecast RMSE": climatology(system),
            **training_log(run),
        })
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    frame = pd.concat([table(folder) for folder in args.folders], ignore_index=True)
    columns = [f"{row.system} {row.strategy}" for row in frame.itertuples()]
    print("| | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name in frame.columns[2:]:
        print(f"| {name} | " + " | ".join(f"{v:.4g}" for v in frame[name]) + " |")


if __name__ == "__main__":
    main()
