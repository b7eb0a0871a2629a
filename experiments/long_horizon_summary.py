"""Summarize a long-horizon run: each network against naive and NLinear, per horizon.

Reads ``results.csv`` of ``forecastab run experiments/etth1_long_horizon.yaml`` and prints, per
horizon, the free-running MSE (scaled units, mean over steps and test origins) of every model,
the best autoregressive network's distance to naive and to NLinear (ratio), and for each
autoregressive model the step at which its per-step error first exceeds NLinear's
(``crossover_step``). It draws the per-step error at the longest horizon with those steps
marked. Per-step curves are smoothed only for the chart's readability (24-step rolling mean,
one day); the crossover steps are computed on the raw curves.

NLinear and DLinear are trained in full by ``experiments/etth1_linear.yaml``; with
``--linear-run`` their best checkpoints are evaluated here on exactly the study's test origins
(same horizon, context, protocol and stride), so every comparison is on the same origins.

Run: ``python experiments/long_horizon_summary.py runs/etth1_long_horizon
--linear-run runs/etth1_linear [--chart PNG]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from forecastab.evaluation.diagnostics.growth import crossover_step
from forecastab.plotting.figure import save_figure

BASELINE = "baseline"
LINEAR = ("nlinear", "dlinear")
DIRECT = ("direct", *LINEAR)


def linear_rows(results: pd.DataFrame, linear_run: Path, stride: int) -> pd.DataFrame:
    """The linear controls' checkpoints evaluated on the study's origins, as result rows."""
    from forecastab.data import WindowDataModule
    from forecastab.evaluation.evaluate import evaluate
    from forecastab.models import ForecastModule

    frames = []
    for dataset in results.dataset.unique():
        horizon = int(dataset.rsplit("-H", 1)[1])
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
            table = evaluate(module, data, metrics=metrics, units="scaled", labels=labels).table
            frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else results.iloc[:0]


def curves(results: pd.DataFrame, dataset: str, metric: str) -> dict[tuple[str, str], pd.Series]:
    """``(model, strategy) -> per-step free-running error`` (mean over seeds) of one dataset."""
    rows = results[
        (results.dataset == dataset)
        & (results.metric == metric)
        & (results["mode"] == "free_running")
    ]
    mean = rows.groupby(["model", "strategy", "step"])["value"].mean()
    return {key: mean.loc[key].sort_index() for key in mean.index.droplevel("step").unique()}


def summarize(results: pd.DataFrame, metric: str) -> tuple[str, str]:
    """The markdown tables and the longest horizon's dataset label."""
    datasets = sorted(results.dataset.unique(), key=lambda d: int(d.rsplit("-H", 1)[1]))
    lines = [
        f"| horizon | model | strategy | {metric.upper()} | / naive | / NLinear "
        "| step behind NLinear |",
        "|---|---|---|---|---|---|---|",
    ]
    best_lines = [
        f"| horizon | naive | NLinear | best autoregressive | its {metric.upper()} "
        "| / naive | / NLinear |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset in datasets:
        horizon = dataset.rsplit("-H", 1)[1]
        per_model = curves(results, dataset, metric)
        naive = per_model[("naive", BASELINE)]
        nlinear = next(v for (m, _), v in per_model.items() if m == "nlinear")
        autoregressive = {
            k: v for k, v in per_model.items() if k[1] != BASELINE and k[0] not in DIRECT
        }
        for (model, strategy), curve in sorted(per_model.items(), key=lambda kv: kv[1].mean()):
            crossing = (
                crossover_step(curve.to_numpy(), nlinear.to_numpy())
                if (model, strategy) in autoregressive
                else None
            )
            behind = (
                "–"
                if (model, strategy) not in autoregressive
                else (str(crossing) if crossing else "never")
            )
            lines.append(
                f"| {horizon} | {model} | {strategy} | {curve.mean():.4f} | "
                f"{curve.mean() / naive.mean():.2f} | {curve.mean() / nlinear.mean():.2f} | "
                f"{behind} |"
            )
        if autoregressive:
            (model, strategy), best = min(autoregressive.items(), key=lambda kv: kv[1].mean())
            best_lines.append(
                f"| {horizon} | {naive.mean():.4f} | {nlinear.mean():.4f} | {model} {strategy} "
                f"| {best.mean():.4f} | {best.mean() / naive.mean():.2f} "
                f"| {best.mean() / nlinear.mean():.2f} |"
            )
    return "\n".join(best_lines) + "\n\n" + "\n".join(lines), datasets[-1]


def chart(results: pd.DataFrame, dataset: str, metric: str, path: Path) -> None:
    """Per-step error at one horizon, NLinear and naive in black, crossovers marked."""
    import matplotlib.pyplot as plt

    per_model = curves(results, dataset, metric)
    nlinear = next(v for (m, _), v in per_model.items() if m == "nlinear")
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for (model, strategy), curve in sorted(per_model.items()):
        smooth = curve.rolling(24, min_periods=1, center=True).mean()
        if strategy == BASELINE or model in DIRECT:
            style = {"color": "black" if model in ("nlinear", "naive") else "grey"}
            style["linestyle"] = "-" if model == "nlinear" else ":"
            ax.plot(smooth.index, smooth.to_numpy(), label=model, linewidth=1.4, **style)
            continue
        (line,) = ax.plot(smooth.index, smooth.to_numpy(), label=f"{model} / {strategy}")
        crossing = crossover_step(curve.to_numpy(), nlinear.to_numpy())
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
    ax.set_title(f"{dataset}: free-running error by step; dashed: first step behind NLinear")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--metric", default="mse")
    parser.add_argument("--chart", type=Path, default=None)
    parser.add_argument("--linear-run", type=Path, default=None)
    parser.add_argument("--stride", type=int, default=24, help="the study's evaluation stride")
    args = parser.parse_args()
    results = pd.read_csv(args.run_dir / "results.csv")
    if args.linear_run is not None:
        results = pd.concat([results, linear_rows(results, args.linear_run, args.stride)])
    tables, longest = summarize(results, args.metric)
    print(tables)
    if args.chart is not None:
        chart(results, longest, args.metric, args.chart)
        print(f"chart: {args.chart}")


if __name__ == "__main__":
    main()
