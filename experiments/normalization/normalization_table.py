"""Tabulate a normalization study: each network with normalization none / last / revin.

Reads ``results.csv`` of ``forecastab run experiments/normalization/etth1_normalization.yaml`` (or
``experiments/normalization/quickstart_normalization.yaml``): models are named ``<network>`` (``none``),
``<network>_last`` and ``<network>_revin``. Prints the free-running error (mean over steps,
origins and seeds) per network and dataset, its ratio to the naive baseline on the same origins,
and the mean ratio per normalization, the number the default is chosen by.

Run: ``python experiments/normalization/normalization_table.py runs/etth1_normalization --metric mse``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

NORMALIZATIONS = {"none": "", "last": "_last", "revin": "_revin"}


def table(results: pd.DataFrame, metric: str) -> str:
    """The markdown table: one row per network and dataset, one column per normalization."""
    rows = results[(results.metric == metric) & (results["mode"] == "free_running")]
    mean = rows.groupby(["dataset", "model"])["value"].mean()
    networks = sorted(
        {m for m in rows.model.unique() if not m.endswith(("_last", "_revin"))}
        - set(rows[rows.strategy == "baseline"].model)
    )
    lines = [
        "| network | dataset | none | last | revin | naive |",
        "|---|---|---|---|---|---|",
    ]
    ratios: dict[str, list[float]] = {n: [] for n in NORMALIZATIONS}
    for network in networks:
        for dataset in sorted(rows.dataset.unique()):
            naive = mean[(dataset, "naive")]
            cells = []
            for normalization, suffix in NORMALIZATIONS.items():
                value = mean[(dataset, network + suffix)]
                ratios[normalization].append(value / naive)
                cells.append(f"{value:.4g} ({value / naive:.3f})")
            lines.append(f"| {network} | {dataset} | " + " | ".join(cells) + f" | {naive:.4g} |")
    means = " | ".join(f"{sum(r) / len(r):.3f}" for r in ratios.values())
    lines.append(f"| mean ratio to naive | | {means} | 1 |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--metric", default="mse")
    args = parser.parse_args()
    print(table(pd.read_csv(args.run_dir / "results.csv"), args.metric))


if __name__ == "__main__":
    main()
