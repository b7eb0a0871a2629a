"""Summarize a long-horizon run: each network against naive and NLinear, per horizon.

Reads ``results.csv`` of ``forecastab run experiments/etth1_long_horizon/etth1_long_horizon.yaml`` and prints, per
horizon, the MSE (scaled units, mean over steps and test origins) of every model free-running and,
for the autoregressive networks, teacher-forced; the best autoregressive network's distance to
naive and to NLinear; and for each autoregressive model the step at which its per-step error first
exceeds NLinear's (``crossover_step``). With ``--published`` it adds the papers' rows. It draws the
per-step error at the longest horizon with those steps marked. Per-step curves are smoothed only
for the chart's readability (24-step rolling mean, one day); the crossover steps are computed on
the raw curves.

NLinear and DLinear are trained in full by ``experiments/etth1_linear/etth1_linear.yaml``; with
``--linear-run`` their best checkpoints are evaluated here on exactly the study's test origins
(same horizon, context, protocol and stride), so every comparison is on the same origins. Without
it, or where a horizon has no checkpoint, the NLinear columns say so ("–") instead of failing.

Run: ``python experiments/etth1_long_horizon/long_horizon_summary.py runs/etth1_long_horizon
--linear-run runs/etth1_linear --published ../shared/anchors/published_results.json
[--chart PNG]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from forecastab.evaluation.diagnostics.growth import crossover_step
from forecastab.plotting.figure import save_figure

BASELINE = "baseline"
LINEAR = ("nlinear", "dlinear")
DIRECT = ("direct", *LINEAR)
FREE_RUNNING = "free_running"
TEACHER_FORCED = "teacher_forced"
# the chart's baselines and direct controls: (color, line style); ARIMA(2,0,0)'s error grows to
# ~2 scaled units at H = 720 and would flatten every other curve, so it is left off the chart
CONTROL_STYLES = {
    "nlinear": ("black", "-"),
    "naive": ("black", ":"),
    "dlinear": ("grey", "-."),
    "seasonal_naive": ("grey", ":"),
}
OFF_CHART = ("arima",)
# (published table, its row) -> the row's label here
PUBLISHED = {
    ("dlinear_table_univariate_ETTh1", "NLinear"): "NLinear (published)",
    ("dlinear_table_univariate_ETTh1", "DLinear"): "DLinear (published)",
    ("dlinear_table_univariate_ETTh1", "Informer"): "Informer (published, LTSF-Linear table)",
    (
        "informer_table1_univariate_ETTh1_mar2021",
        "Informer",
    ): "Informer (published, Informer table)",
    ("informer_table1_univariate_ETTh1_mar2021", "LSTMa"): "LSTMa (published, Informer table)",
}


def horizon_of(dataset: str) -> int:
    """The horizon of a dataset label such as ``etth1-H720``."""
    return int(dataset.rsplit("-H", 1)[1])


def linear_rows(results: pd.DataFrame, linear_run: Path, stride: int) -> pd.DataFrame:
    """The linear controls' checkpoints evaluated on the study's origins, as result rows."""
    from forecastab.data import WindowDataModule
    from forecastab.evaluation.evaluate import evaluate
    from forecastab.models import ForecastModule

    frames = []
    for dataset in results.dataset.unique():
        horizon = horizon_of(dataset)
        for checkpoint in sorted(linear_run.glob(f"runs/H{horizon}__*/checkpoints/model.ckpt")):
            module = ForecastModule.load_from_checkpoint(checkpoint, map_location="cpu")
            data = WindowDataModule(
                "etth1",
                target="OT",
                context_length=module.context_length,
                horizon=horizon,
                split="informer",
                stride=stride,
            )
            labels = {"dataset": dataset, "model": module.name, "strategy": "direct", "seed": 0}
            metrics = sorted(results.metric.unique())
            # evaluate's own stride (default 1) picks the origins, not the data module's
            table = evaluate(
                module, data, metrics=metrics, units="scaled", stride=stride, labels=labels
            ).table
            frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else results.iloc[:0]


def curves(
    results: pd.DataFrame, dataset: str, metric: str, mode: str = FREE_RUNNING
) -> dict[tuple[str, str], pd.Series]:
    """``(model, strategy) -> per-step error`` (mean over seeds) of one dataset and mode."""
    rows = results[
        (results.dataset == dataset) & (results.metric == metric) & (results["mode"] == mode)
    ]
    mean = rows.groupby(["model", "strategy", "step"])["value"].mean()
    return {key: mean.loc[key].sort_index() for key in mean.index.droplevel("step").unique()}


def is_autoregressive(model: str, strategy: str) -> bool:
    """Neither a baseline nor a direct (multi-output) control."""
    return strategy != BASELINE and model not in DIRECT


def nlinear_curve(per_model: dict[tuple[str, str], pd.Series]) -> pd.Series | None:
    """NLinear's per-step curve, None where its checkpoint was not evaluated."""
    return next((v for (m, _), v in per_model.items() if m == "nlinear"), None)


def published_rows(published: dict, horizons: list[int], metric: str) -> dict[str, list[str]]:
    """``label -> cells`` of the papers' numbers at the study's horizons ("–" where absent)."""
    rows = {}
    for (table, model), label in PUBLISHED.items():
        entry = published.get(table)
        if entry is None or model not in entry.get(metric.upper(), {}):
            continue
        by_horizon = dict(zip(entry["horizons"], entry[metric.upper()][model], strict=True))
        rows[label] = [f"{by_horizon[h]:.3f}" if h in by_horizon else "–" for h in horizons]
    return rows


def wide_table(results: pd.DataFrame, metric: str, published: dict | None) -> str:
    """One row per model, strategy and mode; one column per horizon (mean over steps)."""
    datasets = sorted(results.dataset.unique(), key=horizon_of)
    horizons = [horizon_of(d) for d in datasets]
    cells: dict[str, dict[int, str]] = {}
    for dataset, horizon in zip(datasets, horizons, strict=True):
        for mode in (FREE_RUNNING, TEACHER_FORCED):
            for (model, strategy), curve in curves(results, dataset, metric, mode).items():
                if mode == TEACHER_FORCED and not is_autoregressive(model, strategy):
                    continue
                label = (
                    model
                    if strategy in (BASELINE, "direct")
                    else f"{model} / {strategy} / {mode.replace('_', '-')}"
                )
                cells.setdefault(label, {})[horizon] = f"{curve.mean():.4f}"

    def order(label: str) -> tuple[int, str]:
        first = label.split(" / ")[0]
        rank = 0 if " / " not in label and first not in LINEAR else 2 if first in LINEAR else 1
        return rank, label

    lines = [
        "| model / strategy / evaluation | " + " | ".join(f"H = {h}" for h in horizons) + " |",
        "|---|" + "---|" * len(horizons),
    ]
    for label in sorted(cells, key=order):
        row = [cells[label].get(h, "–") for h in horizons]
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    for label, row in (published_rows(published, horizons, metric) if published else {}).items():
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def summarize(results: pd.DataFrame, metric: str, published: dict | None = None) -> str:
    """The markdown tables: all models by horizon, the best autoregressive one, crossovers."""
    datasets = sorted(results.dataset.unique(), key=horizon_of)
    name = metric.upper()
    best_lines = [
        f"| horizon | naive | NLinear | best autoregressive (free-running) | its {name} "
        "| / naive | / NLinear | minus NLinear |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines = [
        f"| horizon | model | strategy | {name} | / naive | / NLinear "
        "| first step behind NLinear | steps behind NLinear |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for dataset in datasets:
        horizon = horizon_of(dataset)
        per_model = curves(results, dataset, metric)
        naive = per_model[("naive", BASELINE)]
        nlinear = nlinear_curve(per_model)
        autoregressive = {k: v for k, v in per_model.items() if is_autoregressive(*k)}
        for (model, strategy), curve in sorted(per_model.items(), key=lambda kv: kv[1].mean()):
            if nlinear is None or not is_autoregressive(model, strategy):
                behind, share = "–", "–"
            else:
                crossing = crossover_step(curve.to_numpy(), nlinear.to_numpy())
                behind = str(crossing) if crossing else "never"
                share = f"{(curve.to_numpy() > nlinear.to_numpy()).mean():.0%}"
            versus = f"{curve.mean() / nlinear.mean():.2f}" if nlinear is not None else "–"
            lines.append(
                f"| {horizon} | {model} | {strategy} | {curve.mean():.4f} | "
                f"{curve.mean() / naive.mean():.3f} | {versus} | {behind} | {share} |"
            )
        if autoregressive:
            (model, strategy), best = min(autoregressive.items(), key=lambda kv: kv[1].mean())
            if nlinear is None:
                linear_cells = "– | – | –"
            else:
                linear_cells = (
                    f"{nlinear.mean():.4f} | {model} / {strategy} | {best.mean():.4f} "
                    f"| {best.mean() / naive.mean():.3f} | {best.mean() / nlinear.mean():.2f} "
                    f"| {best.mean() - nlinear.mean():+.4f}"
                )
                best_lines.append(f"| {horizon} | {naive.mean():.4f} | {linear_cells} |")
                continue
            best_lines.append(
                f"| {horizon} | {naive.mean():.4f} | – | {model} / {strategy} | {best.mean():.4f} "
                f"| {best.mean() / naive.mean():.3f} | – | – |"
            )
    return "\n\n".join(
        [wide_table(results, metric, published), "\n".join(best_lines), "\n".join(lines)]
    )


def chart(results: pd.DataFrame, dataset: str, metric: str, path: Path) -> None:
    """Per-step error at one horizon, NLinear and naive in black, crossovers marked."""
    import matplotlib.pyplot as plt

    per_model = curves(results, dataset, metric)
    nlinear = nlinear_curve(per_model)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for (model, strategy), curve in sorted(per_model.items()):
        smooth = curve.rolling(24, min_periods=1, center=True).mean()
        if model in OFF_CHART:
            continue
        if not is_autoregressive(model, strategy):
            color, linestyle = CONTROL_STYLES.get(model, ("grey", "--"))
            ax.plot(
                smooth.index,
                smooth.to_numpy(),
                label=model,
                linewidth=1.4,
                color=color,
                linestyle=linestyle,
            )
            continue
        (line,) = ax.plot(smooth.index, smooth.to_numpy(), label=f"{model} / {strategy}")
        crossing = None if nlinear is None else crossover_step(curve.to_numpy(), nlinear.to_numpy())
        if crossing:
            ax.axvline(crossing, color=line.get_color(), linewidth=0.8, linestyle="--")
            ax.annotate(
                f"{crossing}",
                (crossing, smooth.loc[crossing]),
                color=line.get_color(),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax.set_xlabel("forecast step (hours)")
    ax.set_ylabel(f"{metric.upper()} (scaled units, 24-step rolling mean)")
    ax.set_title(
        f"{dataset}: free-running error by step (ARIMA off the chart)\n"
        "dashed: first step behind NLinear (raw curves)",
        fontsize=10,
    )
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--metric", default="mse")
    parser.add_argument("--chart", type=Path, default=None)
    parser.add_argument("--linear-run", type=Path, default=None)
    parser.add_argument("--published", type=Path, default=None, help="published_results.json")
    parser.add_argument("--stride", type=int, default=24, help="the study's evaluation stride")
    args = parser.parse_args()
    results = pd.read_csv(args.run_dir / "results.csv")
    if args.linear_run is not None and args.linear_run.is_dir():
        results = pd.concat([results, linear_rows(results, args.linear_run, args.stride)])
    else:
        print("no linear run: NLinear/DLinear rows, ratios and crossover steps are left out")
    published = json.loads(args.published.read_text()) if args.published is not None else None
    print(summarize(results, args.metric, published))
    if args.chart is not None:
        longest = max(results.dataset.unique(), key=horizon_of)
        chart(results, longest, args.metric, args.chart)
        print(f"chart: {args.chart}")


if __name__ == "__main__":
    main()
