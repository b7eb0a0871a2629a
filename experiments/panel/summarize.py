"""Print the ETTh1 panel table of a run folder: MSE/MAE averaged over horizon steps, per model,
strategy and mode, over the panel (``series == all``) and the per-series spread.

    python experiments/panel/summarize.py runs/panel_etth1_patch

Scaled MSE averaged over the 96 steps of every test origin is the number the long-horizon papers
report; the published channel-independent references at ETTh1-96, input 336: NLinear 0.374
(Zeng et al., AAAI 2023), PatchTST/64 0.370 (Nie et al., ICLR 2023).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

NLINEAR, PATCHTST = 0.374, 0.370


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, strategy), means over seeds: free-running and teacher-forced MSE, MAE, the exposure
    gap, the per-series free-running MSE (min / median / max) and the gaps to the papers."""
    keys = ["model", "strategy", "mode"]
    means = results.groupby([*keys, "series", "metric"]).value.mean().unstack("metric")
    rows = []
    for (model, strategy), part in means.groupby(level=["model", "strategy"]):
        modes = part.reset_index().set_index(["mode", "series"])
        free = modes.loc["free_running"]
        per_series = free.drop(index="all").mse
        row = {
            "model": model,
            "strategy": strategy,
            "free_mse": free.loc["all", "mse"],
            "free_mae": free.loc["all", "mae"],
            "series_min": per_series.min(),
            "series_median": per_series.median(),
            "series_max": per_series.max(),
            "vs_nlinear_0.374": free.loc["all", "mse"] - NLINEAR,
            "vs_patchtst_0.370": free.loc["all", "mse"] - PATCHTST,
        }
        if "teacher_forced" in modes.index.get_level_values("mode"):
            forced = modes.loc["teacher_forced"]
            row["forced_mse"] = forced.loc["all", "mse"]
            row["exposure_gap"] = row["free_mse"] - row["forced_mse"]
            gaps = (free.mse - forced.mse).drop(index="all")
            row["gap_series_min"], row["gap_series_max"] = gaps.min(), gaps.max()
        rows.append(row)
    return pd.DataFrame(rows)


def per_series(results: pd.DataFrame) -> pd.DataFrame:
    """Free-running MSE per (model, strategy) and series."""
    free = results[(results["mode"] == "free_running") & (results["metric"] == "mse")]
    return free.groupby(["model", "strategy", "series"]).value.mean().unstack("series")


def validation(folder: Path) -> pd.DataFrame:
    """Per run: the best free-running validation MSE (the checkpoint kept), its epoch and step,
    and the validations made (from the Lightning CSV logs)."""
    rows = []
    for log in sorted(folder.glob("runs/*/logs/metrics.csv")):
        frame = pd.read_csv(log).dropna(subset=["val_loss_free_running"])
        if frame.empty:
            continue
        best = frame.loc[frame.val_loss_free_running.idxmin()]
        rows.append(
            {
                "run": log.parent.parent.name,
                "best_val_free": best.val_loss_free_running,
                "val_forced_there": best.val_loss_teacher_forced,
                "epoch": int(best.epoch),
                "step": int(best.step),
                "validations": len(frame),
            }
        )
    return pd.DataFrame(rows)


def per_seed(results: pd.DataFrame) -> pd.DataFrame:
    """Panel MSE per (model, strategy, mode) and seed."""
    panel = results[(results["series"] == "all") & (results["metric"] == "mse")]
    return panel.groupby(["model", "strategy", "mode", "seed"]).value.mean().unstack("seed")


def main(folder: str) -> None:
    results = pd.read_csv(Path(folder) / "results.csv")
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    print(validation(Path(folder)).round(4).to_string(index=False))
    print()
    print(summary(results).round(4).to_string(index=False))
    print()
    print(per_series(results).round(3).to_string())
    print()
    print(per_seed(results).round(4).to_string())


if __name__ == "__main__":
    main(sys.argv[1])
