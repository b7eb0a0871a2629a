"""Which validation criterion picks the best free-running model? Reads the trials of tune runs.

Every trial of ``forecastab tune`` keeps, at the checkpoint it selected, three validation
criteria (teacher-forced RMSE, one-step RMSE, free-running RMSE) and, with
``test_every_trial: true``, its free-running test RMSE (scored for this study only; the search
itself never reads it). For each system this script reports the Spearman rank correlation of
each criterion with the test error over all trials of both arms, the test error of the trial
each criterion picks, and over random subsets of the trials (as if the budget were smaller) how
often the teacher-forced pick is worse on test than the free-running pick.

    python experiments/selection_criterion/criterion_study.py runs/sc_mackey_glass runs/sc_lorenz ...

Writes ``criterion_table.csv`` and ``criteria.png`` next to this file (``--name long``:
``criterion_table_long.csv``, ``criteria_long.png``) and prints a Markdown table, plus each tune
folder's one-line answer (tuned best against tuned teacher forcing). ``--pruned`` also ranks the
trials the pruner stopped, each at the checkpoint it kept (studies with pruning on).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent
CRITERIA = {
    "val_teacher_forced": "teacher-forced val RMSE",
    "val_one_step": "one-step val RMSE",
    "val_free_running": "free-running val RMSE",
}
TEST = "test_free_running"
SUBSET = 8
DRAWS = 2000


def completed(folder: Path, pruned: bool = False) -> pd.DataFrame:
    """The completed trials of both arms (and the pruned ones if ``pruned``), each setting once.

    The two arms share the sampler's seed, so while it draws at random a teacher-forcing draw of
    the search is the very trial the control arm also ran (bit-identical: training is
    deterministic); such twins are counted once.
    """
    trials = pd.read_csv(folder / "trials.csv")
    states = ["complete", "pruned"] if pruned else ["complete"]
    done = trials[trials["state"].isin(states) & trials[TEST].notna()]
    return done.drop_duplicates(subset=[*CRITERIA, TEST]).reset_index(drop=True)


def study(folder: Path, rng: np.random.Generator, pruned: bool = False) -> dict[str, object]:
    """The criterion numbers of one tune folder."""
    done = completed(folder, pruned)
    row: dict[str, object] = {"system": folder.name.removeprefix("sc_"), "trials": len(done)}
    test = done[TEST].to_numpy()
    picks = {}
    for column in CRITERIA:
        values = done[column].to_numpy()
        row[f"rho_{column}"] = float(spearmanr(values, test).statistic)
        pick = int(np.argmin(values))
        picks[column] = pick
        row[f"test_at_{column}"] = float(test[pick])
        row[f"pick_{column}"] = f"{done['arm'][pick]}#{done['trial'][pick]} {done['strategy'][pick]}"
    row["test_best_possible"] = float(test.min())
    # smaller budgets: random subsets of the trials, each criterion picking within the subset
    worse = better = ties = 0
    for _ in range(DRAWS):
        subset = rng.choice(len(done), size=min(SUBSET, len(done)), replace=False)
        tf = subset[np.argmin(done["val_teacher_forced"].to_numpy()[subset])]
        fr = subset[np.argmin(done["val_free_running"].to_numpy()[subset])]
        worse += test[tf] > test[fr]
        better += test[tf] < test[fr]
        ties += tf == fr
    row["subsets_tf_pick_worse"] = worse / DRAWS
    row["subsets_tf_pick_better"] = better / DRAWS
    row["subsets_same_pick"] = ties / DRAWS
    summary = folder / "summary.md"
    row["answer"] = summary.read_text(encoding="utf-8").splitlines()[2] if summary.exists() else ""
    return row


def chart(folders: list[Path], path: Path, pruned: bool = False) -> None:
    """Test error against each criterion, one row of panels per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(folders), len(CRITERIA), figsize=(4 * len(CRITERIA), 3 * len(folders)), squeeze=False
    )
    for row, folder in zip(axes, folders, strict=True):
        done = completed(folder, pruned)
        for ax, (column, label) in zip(row, CRITERIA.items(), strict=True):
            for arm, marker in (("search", "o"), ("teacher_forcing", "x")):
                part = done[done["arm"] == arm]
                ax.scatter(part[column], part[TEST], marker=marker, label=arm, alpha=0.8)
            rho = spearmanr(done[column], done[TEST]).statistic
            ax.set_title(f"{folder.name.removeprefix('sc_')}: rho = {rho:.2f}", fontsize=10)
            ax.set_xlabel(label)
            ax.set_ylabel("free-running test RMSE")
    axes[0][0].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="tune folders (forecastab tune --out)")
    parser.add_argument("--name", default="", help="suffix of the table and chart file names")
    parser.add_argument("--pruned", action="store_true", help="rank the pruned trials too")
    args = parser.parse_args(argv)
    suffix = f"_{args.name}" if args.name else ""
    rng = np.random.default_rng(0)
    rows = [study(folder, rng, args.pruned) for folder in args.folders]
    table = pd.DataFrame(rows)
    table.drop(columns="answer").to_csv(HERE / f"criterion_table{suffix}.csv", index=False,
                                        float_format="%.4g")
    chart(args.folders, HERE / f"criteria{suffix}.png", args.pruned)
    print("| system | trials | rho TF val | rho one-step val | rho FR val | test at TF pick | "
          "test at one-step pick | test at FR pick | best test | TF pick worse (subsets of "
          f"{SUBSET}) | TF pick better | same pick |")
    print("|---|" + "---|" * 11)
    for row in rows:
        print(
            f"| {row['system']} | {row['trials']} | {row['rho_val_teacher_forced']:.2f} | "
            f"{row['rho_val_one_step']:.2f} | {row['rho_val_free_running']:.2f} | "
            f"{row['test_at_val_teacher_forced']:.4g} | {row['test_at_val_one_step']:.4g} | "
            f"{row['test_at_val_free_running']:.4g} | {row['test_best_possible']:.4g} | "
            f"{100 * row['subsets_tf_pick_worse']:.0f}% | "
            f"{100 * row['subsets_tf_pick_better']:.0f}% | {100 * row['subsets_same_pick']:.0f}% |"
        )
    print()
    for row in rows:
        picks = "; ".join(f"{CRITERIA[c]}: {row[f'pick_{c}']}" for c in CRITERIA)
        print(f"- {row['system']} picks: {picks}")
    print()
    for row in rows:
        print(f"- {row['system']}: {row['answer']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
