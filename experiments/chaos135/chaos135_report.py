"""Turn chaos135 run folders into the study's report (experiments/chaos135/README.md).

    python experiments/chaos135/chaos135_report.py runs/chaos135 [--out DIR]
    python experiments/chaos135/chaos135_report.py runs/chaos135_scale --sweep [--out DIR]

Main study (one folder of `forecastab run experiments/chaos135/chaos135.yaml`), per model:

- the exposure gap of every strategy per system at the last step, as the ratio of free-running
  to teacher-forced RMSE, and on how many systems it exceeds 3x;
- each mitigation against teacher forcing per system: a Diebold-Mariano test (the project's
  fixed-b cosine test, :func:`forecastab.evaluation.compare.diebold_mariano`) of the per-origin
  loss differential, the squared error averaged over the horizon, lag H - 1 over consecutive
  origins; Holm over the systems; "beats" = lower loss and Holm p < 0.05;
- the distribution of VPT (Lyapunov times, sMAPE threshold 30, mean over a system's test
  origins, censored at the horizon) per strategy;
- ``valid_fraction.png``: the fraction of systems whose VPT exceeds t, against t in Lyapunov
  times, one line per strategy.

Scale sweep (``--sweep``): per model the parameter count (from its checkpoint), the
free-running error and the exposure gap of each system (scaled RMSE averaged over the
horizon), median and 25-75% band over systems against parameter count: ``scale.png``.

Writes ``report.md`` (+ ``per_system.csv``) and the charts into ``--out`` (default: the run
folder) and prints the report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from forecastab.evaluation.compare import diebold_mariano, holm

REFERENCE = "teacher_forcing"
LEVEL = 0.05


def read_results(run_dir: Path) -> pd.DataFrame:
    """The folder's ``results.csv``; for a grid stopped before the end, its finished runs'
    ``metrics.csv`` (the same rows)."""
    if (run_dir / "results.csv").exists():
        results = pd.read_csv(run_dir / "results.csv")
    else:
        done = sorted(p.parent for p in (run_dir / "runs").glob("*/DONE"))
        if not done:
            raise SystemExit(f"{run_dir}: no results.csv and no finished run")
        print(f"{run_dir}: no results.csv; reading the {len(done)} finished runs' metrics.csv")
        results = pd.concat([pd.read_csv(d / "metrics.csv") for d in done], ignore_index=True)
    return results[(results["series"] != "all") & (results["strategy"] != "baseline")]


def last_step(results: pd.DataFrame, metric: str, mode: str) -> pd.DataFrame:
    """``(series) x (model, strategy)`` values of one metric and mode at the last step."""
    rows = results[(results["metric"] == metric) & (results["mode"] == mode)]
    rows = rows[rows["step"] == rows["step"].max()]
    return rows.pivot_table(index="series", columns=["model", "strategy"], values="value")


def horizon_mean(results: pd.DataFrame, metric: str, mode: str) -> pd.DataFrame:
    rows = results[(results["metric"] == metric) & (results["mode"] == mode)]
    return rows.pivot_table(
        index="series", columns=["model", "strategy"], values="value", aggfunc="mean"
    )


def series_errors(run_dir: Path, order: list[str]) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """(model, strategy) -> series -> free-running errors ``(N_s, H)`` from ``errors.npz``.

    A panel run saves every series' errors concatenated in the panel's series order; each
    series' origins increase, so a series starts where the origins stop increasing.
    """
    found = {}
    for path in sorted((run_dir / "runs").glob("*/errors.npz")):
        with np.load(path) as saved:
            labels = json.loads(str(saved["labels"]))
            errors, origins = saved["errors"][..., 0], saved["origins"]  # (N, H), (N,)
        starts = np.flatnonzero(np.diff(origins) <= 0) + 1
        parts = np.split(errors, starts)
        if len(parts) != len(order):
            raise SystemExit(
                f"{path}: {len(parts)} series in errors.npz, {len(order)} in results.csv"
            )
        found[(labels["model"], labels["strategy"])] = dict(zip(order, parts, strict=True))
    return found


def paired_tests(errors: dict, model: str, strategy: str) -> pd.DataFrame:
    """Per system: mean loss differential (strategy - teacher forcing), DM p, Holm p."""
    rows = []
    for series, own in errors[(model, strategy)].items():
        reference = errors[(model, REFERENCE)][series]
        differential = np.square(own).mean(axis=1) - np.square(reference).mean(axis=1)  # (N,)
        horizon = own.shape[1]
        _, p = diebold_mariano(differential, horizon=horizon, stride=1)
        rows.append({"series": series, "difference": differential.mean(), "p": p})
    table = pd.DataFrame(rows).set_index("series")
    table["p_holm"] = holm(table["p"].to_numpy())
    return table


def markdown(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def valid_chart(vpt: pd.DataFrame, horizons: pd.Series, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(vpt.columns.get_level_values(0)))
    fig, axes = plt.subplots(
        1, len(models), figsize=(5.5 * len(models), 4), sharey=True, squeeze=False
    )
    limit = float(np.quantile(horizons, 0.9))
    grid = np.linspace(0.0, limit, 200)
    for ax, model in zip(axes[0], models, strict=True):
        for strategy in vpt[model].columns:
            values = vpt[model][strategy].dropna().to_numpy()
            share = (values[None, :] > grid[:, None]).mean(axis=1)
            ax.plot(grid, share, label=f"{strategy} (median {np.median(values):.2f})")
        reachable = (horizons.to_numpy()[None, :] > grid[:, None]).mean(axis=1)
        ax.plot(grid, reachable, color="grey", linestyle=":", label="horizon reaches t")
        ax.set_title(f"{model}: {len(vpt)} systems")
        ax.set_xlabel("t (Lyapunov times)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("fraction of systems with VPT > t")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main_report(run_dir: Path, out: Path) -> str:
    results = read_results(run_dir)
    order = list(dict.fromkeys(results["series"]))
    horizon = int(results["step"].max())
    free = last_step(results, "rmse", "free_running")
    forced = last_step(results, "rmse", "teacher_forced")
    ratio = free / forced
    vpt = last_step(results, "vpt", "free_running")
    from forecastab.data.chaos import lyapunov_time_steps

    steps = pd.Series(lyapunov_time_steps()).reindex(order)
    horizons = horizon / steps
    errors = series_errors(run_dir, order)
    lines = [
        f"# chaos135 report: {run_dir}",
        "",
        f"{len(order)} systems, horizon {horizon} steps = {horizons.min():.2f} to "
        f"{horizons.max():.2f} Lyapunov times (median {horizons.median():.2f}).",
        "",
        "## Exposure gap at the last step (free-running / teacher-forced RMSE, per system)",
        "",
    ]
    rows = []
    for model, strategy in ratio.columns:
        values = ratio[(model, strategy)].dropna()
        rows.append(
            {
                "model": model, "strategy": strategy,
                "systems > 3x": f"{int((values > 3).sum())} / {len(values)}",
                "median ratio": f"{values.median():.2f}",
                "25%-75%": f"{values.quantile(0.25):.2f}-{values.quantile(0.75):.2f}",
                "free-running RMSE, median": f"{free[(model, strategy)].median():.4g}",
            }
        )  # fmt: skip
    lines += [
        markdown(pd.DataFrame(rows)),
        "",
        "## Mitigations against teacher forcing (paired DM per system, Holm over systems)",
        "",
    ]
    rows, tests = [], {}
    for model, strategy in sorted(errors):
        if strategy == REFERENCE or (model, REFERENCE) not in errors:
            continue
        table = paired_tests(errors, model, strategy)
        tests[(model, strategy)] = table
        better = (table["difference"] < 0) & (table["p_holm"] < LEVEL)
        worse = (table["difference"] > 0) & (table["p_holm"] < LEVEL)
        rows.append(
            {
                "model": model, "strategy": strategy,
                "beats teacher forcing": f"{int(better.sum())} / {len(table)}",
                "before Holm (p < 0.05)": int(((table["difference"] < 0) & (table["p"] < LEVEL)).sum()),
                "worse": int(worse.sum()),
                "lower loss (any p)": int((table["difference"] < 0).sum()),
                "untestable": int(table["p"].isna().sum()),
            }
        )  # fmt: skip
    lines += [
        markdown(pd.DataFrame(rows)),
        "",
        "## VPT (Lyapunov times, sMAPE <= 30, mean over origins, per system)",
        "",
    ]
    rows = []
    for model, strategy in vpt.columns:
        values = vpt[(model, strategy)].dropna()
        censored = (values >= horizons.reindex(values.index) - 1e-9).sum()
        rows.append(
            {
                "model": model, "strategy": strategy,
                "median": f"{values.median():.3f}",
                "25%": f"{values.quantile(0.25):.3f}", "75%": f"{values.quantile(0.75):.3f}",
                "mean": f"{values.mean():.3f}", "max": f"{values.max():.3f}",
                "systems valid over the whole horizon": int(censored),
            }
        )  # fmt: skip
    lines += [markdown(pd.DataFrame(rows)), ""]
    smape = horizon_mean(results, "smape", "free_running")
    rows = [
        {
            "model": model, "strategy": strategy,
            "median sMAPE": f"{smape[(model, strategy)].median():.2f}",
            "25%-75%": f"{smape[(model, strategy)].quantile(0.25):.2f}-{smape[(model, strategy)].quantile(0.75):.2f}",
        }
        for model, strategy in smape.columns
    ]  # fmt: skip
    lines += [
        "## Free-running sMAPE over the horizon (mean over steps and origins; median over systems)",
        "",
        markdown(pd.DataFrame(rows)),
        "",
    ]
    valid_chart(vpt, horizons, out / "valid_fraction.png")
    lines += ["![fraction of systems still valid](valid_fraction.png)", ""]
    columns = {}
    for name, frame in [("rmse_free_running", free), ("rmse_teacher_forced", forced),
                        ("gap_ratio", ratio), ("vpt", vpt)]:  # fmt: skip
        for model, strategy in frame.columns:
            columns[f"{name}|{model}|{strategy}"] = frame[(model, strategy)]
    for (model, strategy), table in tests.items():
        columns[f"p_holm_vs_teacher_forcing|{model}|{strategy}"] = table["p_holm"]
    per_system = pd.DataFrame(columns)
    per_system.to_csv(out / "per_system.csv", float_format="%.6g")
    return "\n".join(lines)


def parameter_counts(run_dir: Path) -> dict[str, int]:
    counts = {}
    for path in sorted((run_dir / "runs").glob("*/checkpoints/*.ckpt")):
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
        state = checkpoint["state_dict"]
        model = path.parents[1].name.split("__")[0]
        counts[model] = int(sum(v.numel() for k, v in state.items() if k.startswith("network.")))
    return counts


def sweep_report(run_dir: Path, out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = read_results(run_dir)
    metric = "rmse"
    free = horizon_mean(results, metric, "free_running")
    forced = horizon_mean(results, metric, "teacher_forced")
    gap = free - forced
    counts = parameter_counts(run_dir)
    rows = []
    for model, strategy in free.columns:
        f, g = free[(model, strategy)].dropna(), gap[(model, strategy)].dropna()
        rows.append(
            {
                "family": "transformer" if model.startswith("transformer") else "gru",
                "model": model, "strategy": strategy, "parameters": counts.get(model, 0),
                "free-running median": f.median(), "fr 25%": f.quantile(0.25), "fr 75%": f.quantile(0.75),
                "gap median": g.median(), "gap 25%": g.quantile(0.25), "gap 75%": g.quantile(0.75),
                "gap ratio median": (free[(model, strategy)] / forced[(model, strategy)]).median(),
                "systems": len(f),
            }
        )  # fmt: skip
    table = pd.DataFrame(rows).sort_values(["family", "strategy", "parameters"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for (family, strategy), part in table.groupby(["family", "strategy"]):
        label = f"{family} / {strategy}"
        for ax, key in zip(axes, ["free-running", "gap"], strict=True):
            prefix = "fr" if key == "free-running" else "gap"
            line = ax.plot(part["parameters"], part[f"{key} median"], marker="o", label=label)[0]
            ax.fill_between(part["parameters"], part[f"{prefix} 25%"], part[f"{prefix} 75%"],
                            color=line.get_color(), alpha=0.15)  # fmt: skip
    for ax, title in zip(
        axes,
        [
            "free-running RMSE (z-scores, horizon mean)\nmedian over systems, band 25%-75%",
            "exposure gap (free-running - teacher-forced)\nmedian over systems, band 25%-75%",
        ],
        strict=True,
    ):
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "scale.png", dpi=120)
    plt.close(fig)
    shown = table.copy()
    for column in shown.columns:
        if shown[column].dtype.kind == "f":
            shown[column] = shown[column].map(lambda v: f"{v:.4f}")
    lines = [
        f"# chaos135 scale sweep: {run_dir}",
        "",
        "Per system the scaled RMSE averaged over the horizon; median and 25%-75% over systems.",
        "",
        markdown(shown),
        "",
        "![scale](scale.png)",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--sweep", action="store_true", help="the scale sweep's report")
    args = parser.parse_args()
    out = args.out or args.run_dir
    out.mkdir(parents=True, exist_ok=True)
    text = sweep_report(args.run_dir, out) if args.sweep else main_report(args.run_dir, out)
    (out / ("scale_report.md" if args.sweep else "report.md")).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
