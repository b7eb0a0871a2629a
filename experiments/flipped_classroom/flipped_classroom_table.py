"""The flipped-classroom reproduction's table: median NRMSE, ratio to teacher forcing, the paper.

Reads the output folders of
``forecastab run experiments/flipped_classroom/flipped_classroom.yaml`` and its Thomas twin. Per dataset and strategy it prints the paper's error measure (Teutsch & Mader 2022): the
NRMSE of a test window (RMSE over the coordinates in training-std units, averaged over the
horizon), median over the test windows, mean ± std over seeds; its ratio to teacher forcing;
the numbers the paper's released checkpoints give beside them; and the paired test against
teacher forcing (the steps where the squared error is significantly lower or higher,
Diebold-Mariano with Holm over the steps at 5%, shared with ``mitigations_table.py``).

    python experiments/flipped_classroom/flipped_classroom_table.py runs/flipped_classroom runs/flipped_classroom_thomas
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from forecastab.experiments.comparisons import load_errors

# the paired-test helpers live beside the mitigation study's table script
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mitigations"))
from mitigations_table import seed_cell, with_paired_steps  # noqa: E402

PAPER = {
    "mackey_glass": {
        "teacher_forcing": 0.1016,
        "free_running": 0.00388,
        "increasing_probabilistic": 0.00106,
    },
    "thomas": {
        "teacher_forcing": 0.600,
        "free_running": 0.0383,
        "increasing_probabilistic": 0.0198,
    },
}
"""Median NRMSE of the paper's released checkpoints on data regenerated with its own script
(Mackey-Glass H = 167, Thomas H = 182), as quoted in issue 13."""

REFERENCE = "teacher_forcing"


def median_nrmse(errors: np.ndarray) -> float:
    """Median over windows of the horizon-mean NRMSE, from scaled errors ``(N, H, C)``.

    >>> median_nrmse(np.array([[[3.0, 4.0]], [[0.0, 0.0]], [[1.0, 1.0]]]))
    1.0
    """
    per_step = np.sqrt(np.mean(np.square(errors), axis=2))  # (N, H) RMSE over coordinates
    return float(np.median(per_step.mean(axis=1)))


def run_table(out_dir: Path) -> pd.DataFrame:
    """One row per (dataset, model, strategy, seed): median NRMSE and the paired test's steps."""
    runs = load_errors(out_dir)
    runs["nrmse"] = [median_nrmse(errors) for errors in runs["errors"]]
    table = runs[["dataset", "model", "strategy", "seed", "nrmse"]]
    return with_paired_steps(table, out_dir)


def _paper(dataset: str, strategy: str) -> tuple[str, str]:
    """The paper's median NRMSE and its ratio to teacher forcing, or dashes."""
    value = PAPER.get(dataset, {}).get(strategy)
    if value is None:
        return "–", "–"
    return f"{value:.4g}", f"{value / PAPER[dataset][REFERENCE]:.3g}"


def markdown(runs: pd.DataFrame) -> str:
    """Per dataset: median NRMSE, ratio to TF, the paper's numbers, the paired test."""
    lines = []
    for dataset, rows in runs.groupby("dataset"):
        seeds = sorted(rows["seed"].unique())
        lines += [
            f"**{dataset}**, GRU, median NRMSE over the test windows (horizon-mean, training-std "
            f"units), seeds {', '.join(map(str, seeds))}{' (mean ± std)' if len(seeds) > 1 else ''}"
            "; paper: the released checkpoints on data from the paper's own script; paired "
            "test against teacher forcing: Diebold-Mariano on the squared error per step, Holm "
            "over the steps, 5%",
            "",
            "| strategy | median NRMSE | ratio to TF | paper | paper ratio to TF "
            "| better than TF at steps | worse at steps |",
            "|---|---|---|---|---|---|---|",
        ]
        means = rows.groupby("strategy")["nrmse"].mean().sort_values()
        tf = means.get(REFERENCE, np.nan)
        for strategy in means.index:
            own = rows[rows["strategy"] == strategy]
            paper, paper_ratio = _paper(str(dataset), str(strategy))
            lines.append(
                f"| {strategy} | {seed_cell(own['nrmse'])} | {means[strategy] / tf:.3g} "
                f"| {paper} | {paper_ratio} | {own['better'].iloc[0]} | {own['worse'].iloc[0]} |"
            )
        lines += ["", f"Ordering here (best first): {', '.join(means.index)}."]
        if dataset in PAPER:
            paper_order = sorted(PAPER[dataset], key=PAPER[dataset].get)
            ours = [s for s in means.index if s in PAPER[dataset]]
            lines.append(
                f"Paper's ordering of the three it reports: {', '.join(paper_order)}; "
                f"here: {', '.join(ours)}."
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dirs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    runs = pd.concat([run_table(d) for d in args.out_dirs], ignore_index=True)
    print(markdown(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
