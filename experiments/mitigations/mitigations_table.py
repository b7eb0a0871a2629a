"""The mitigation experiment's table and chart, with the hidden-state MMD of every run.

Reads the output folders of ``forecastab run experiments/mitigations/mitigations.yaml`` (and its Lorenz
twin), averages each run's RMSE over the horizon per mode, computes the per-step MMD^2 between
the decoder's teacher-forced and free-running hidden states on the test windows (the existing
``hidden_state_shift`` diagnostic, on each run's checkpoint), and prints one markdown table per
dataset (mean +/- std over seeds) plus the cut in free-running RMSE against teacher forcing and
professor forcing's MMD reduction, and the paired test against teacher forcing: the steps where
each strategy's squared error is significantly lower or higher (Diebold-Mariano, Holm over the
steps, 5%; from the folder's ``comparisons.csv``, computed when ``forecastab compare`` has not
written one). Draws ``experiments/mitigations/mitigations.png``.

    python experiments/mitigations/mitigations_table.py runs/mitigations runs/mitigations_lorenz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from forecastab.evaluation.diagnostics import hidden_state_shift
from forecastab.experiments import validate_config
from forecastab.experiments.comparisons import (
    ALL_SEEDS,
    compare_experiment,
    read_comparisons,
    significant_steps,
)
from forecastab.experiments.runner import build_datamodule
from forecastab.models import ForecastModule

CHART = Path(__file__).parent / "mitigations.png"


def paired_steps(out_dir: Path) -> pd.DataFrame:
    """Per (dataset, model, strategy): the steps significantly ``better``/``worse`` than TF.

    The test pairs the per-origin squared errors with the same model's teacher-forcing run
    (over every seed both ran when there are several, ``seed all``).
    """
    table = read_comparisons(out_dir)
    if table is None:
        table = compare_experiment(out_dir, n_bootstrap=200)
    rows = []
    for key, series in table.groupby(["dataset", "model", "strategy"], sort=True):
        pooled = series[series["seed"] == ALL_SEEDS]
        better, worse = significant_steps(pooled if len(pooled) else series)
        rows.append((*key, better, worse))
    return pd.DataFrame(rows, columns=["dataset", "model", "strategy", "better", "worse"])


def with_paired_steps(runs: pd.DataFrame, out_dir: Path) -> pd.DataFrame:
    """``runs`` with the paired test's ``better``/``worse`` columns (``–`` for the reference)."""
    merged = runs.merge(paired_steps(out_dir), on=["dataset", "model", "strategy"], how="left")
    return merged.fillna({"better": "–", "worse": "–"})


def run_table(out_dir: Path, max_samples: int, split: str = "test") -> pd.DataFrame:
    """One row per (dataset, model, strategy, seed): FR and TF RMSE over the horizon, MMD^2 on
    the ``split`` windows, and the steps where the paired test finds it better or worse than
    teacher forcing."""
    config = validate_config(yaml.safe_load((out_dir / "config.yaml").read_text()))
    results = pd.read_csv(out_dir / "results.csv")
    results = results[(results["metric"] == "rmse") & (results["strategy"] != "baseline")]
    means = (
        results.groupby(["dataset", "model", "strategy", "seed", "mode"])["value"]
        .mean()
        .unstack("mode")
        .reset_index()
    )
    datamodule = build_datamodule(config, config.data.horizons[0], config.seeds[0])
    contexts, targets = datamodule.windows(split)
    mmd = []
    for row in means.itertuples():
        checkpoint = out_dir / "runs" / f"{row.model}__{row.strategy}__seed{row.seed}"
        module = ForecastModule.load_from_checkpoint(
            checkpoint / "checkpoints" / "model.ckpt", map_location="cpu"
        )
        shift = hidden_state_shift(module, contexts, targets, max_samples=max_samples, seed=0)
        mmd.append(float(shift["mmd2"].mean()))
    means["mmd2"] = mmd
    means["gap"] = means["free_running"] - means["teacher_forced"]
    return with_paired_steps(means, out_dir)


def seed_cell(values: pd.Series) -> str:
    return (
        f"{values.mean():.4f} ± {values.std(ddof=1):.4f}"
        if len(values) > 1
        else f"{values.mean():.4f}"
    )


def markdown(runs: pd.DataFrame, split: str = "test") -> str:
    """Per dataset: a table of mean ± std over seeds, then the two headline ratios."""
    lines = []
    for dataset, rows in runs.groupby("dataset"):
        seeds = sorted(rows["seed"].unique())
        lines += [
            f"**{dataset}**, GRU, RMSE in scaled units averaged over the horizon, "
            f"seeds {', '.join(map(str, seeds))} (mean ± std over seeds); MMD² between "
            f"teacher-forced and free-running decoder states on the {split} windows, mean over "
            "steps; paired test against teacher forcing: Diebold-Mariano on the squared error "
            "per step, Holm over the steps, 5%",
            "",
            "| strategy | free-running | teacher-forced | exposure gap | hidden-state MMD² "
            "| better than TF at steps | worse at steps |",
            "|---|---|---|---|---|---|---|",
        ]
        order = rows.groupby("strategy")["free_running"].mean().sort_values().index
        for strategy in order:
            own = rows[rows["strategy"] == strategy]
            lines.append(
                f"| {strategy} | {seed_cell(own['free_running'])} | {seed_cell(own['teacher_forced'])} "
                f"| {seed_cell(own['gap'])} | {seed_cell(own['mmd2'])} "
                f"| {own['better'].iloc[0]} | {own['worse'].iloc[0]} |"
            )
        fr = rows.groupby("strategy")["free_running"].mean()
        mmd = rows.groupby("strategy")["mmd2"].mean()
        if "teacher_forcing" in fr:
            best = fr.drop("teacher_forcing").idxmin()
            cut = 1 - fr[best] / fr["teacher_forcing"]
            lines += ["", f"Best free-running: {best}, {cut:.1%} below teacher forcing."]
            for strategy in fr.index.drop("teacher_forcing"):
                lines.append(
                    f"- {strategy}: free-running RMSE {1 - fr[strategy] / fr['teacher_forcing']:+.1%} "
                    f"cut, MMD² {1 - mmd[strategy] / mmd['teacher_forcing']:+.1%} cut vs teacher forcing"
                )
        lines.append("")
    return "\n".join(lines)


def chart(runs: pd.DataFrame, path: Path) -> Path:
    """Free-running RMSE and hidden-state MMD² per strategy (bars: mean, whiskers: std)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted(runs["dataset"].unique())
    fig, axes = plt.subplots(len(datasets), 2, figsize=(11, 3.4 * len(datasets)), squeeze=False)
    for row, dataset in zip(axes, datasets, strict=True):
        rows = runs[runs["dataset"] == dataset]
        stats = rows.groupby("strategy")[["free_running", "mmd2"]].agg(["mean", "std"])
        stats = stats.sort_values(("free_running", "mean"))
        names = list(stats.index)
        colours = ["tab:red" if n == "teacher_forcing" else "tab:blue" for n in names]
        for ax, column, label in (
            (row[0], "free_running", "free-running RMSE (scaled)"),
            (row[1], "mmd2", "hidden-state MMD² (TF vs FR)"),
        ):
            ax.barh(
                names,
                stats[(column, "mean")],
                xerr=stats[(column, "std")].fillna(0),
                color=colours,
                capsize=3,
            )
            ax.invert_yaxis()
            ax.set_xlabel(label)
            ax.set_title(f"{dataset}: {label}")
            ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dirs", nargs="+", type=Path)
    parser.add_argument("--max-samples", type=int, default=300)
    parser.add_argument("--chart", type=Path, default=CHART)
    parser.add_argument(
        "--split",
        choices=("test", "val"),
        default="test",
        help="windows the MMD is computed on (val: for choosing settings; RMSE stays test)",
    )
    args = parser.parse_args(argv)
    runs = pd.concat(
        [run_table(d, args.max_samples, args.split) for d in args.out_dirs], ignore_index=True
    )
    print(markdown(runs, args.split))
    print(f"chart: {chart(runs, args.chart)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    sys.exit(main())
