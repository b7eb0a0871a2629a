"""Long free runs in an experiment: ``evaluation: {long_run: {steps: N}}``.

Each run folder gets ``long_run.csv`` (one row: labels, ``steps, d_stsp, d_h, constant, cycle,
drift``) and ``long_run.png`` (a stretch of the run against the truth); the summary gains a
"Long free runs" table gathered from every finished run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from forecastab.files import atomic_write

LONG_RUN = "long_run.csv"
LONG_RUN_CHART = "long_run.png"
LONG_RUN_COLUMNS = [
    "dataset",
    "model",
    "strategy",
    "seed",
    "steps",
    "d_stsp",
    "d_h",
    "constant",
    "cycle",
    "drift",
]


def record_long_run(
    run_dir: Path, forecaster: Any, datamodule: Any, config: Any, *, units: str, labels: dict
) -> pd.DataFrame:
    """Run, score, chart and save one forecaster's long free run in ``run_dir``.

    A panel with ids runs every series free from the start of its own test split:
    ``long_run.csv`` then has a ``series`` column, one row per series and an ``all`` row (the
    mean of ``d_stsp`` and ``d_h`` over series; a flag set when any series sets it), and the
    chart shows the first series.
    """
    from forecastab.evaluation.long_run import long_free_run
    from forecastab.evaluation.panel import PANEL
    from forecastab.plotting.figure import save_figure
    from forecastab.plotting.long_run import plot_long_run

    def run(data: Any) -> Any:
        return long_free_run(
            forecaster,
            data,
            steps=config.steps,
            units=units,
            n_bins=config.n_bins,
            smoothing=config.smoothing,
        )

    def scores(result: Any) -> dict[str, Any]:
        return {"d_stsp": result.d_stsp, "d_h": result.d_h, **result.flags}

    panel = getattr(datamodule, "panel", None) is not None and datamodule.has_ids
    columns = LONG_RUN_COLUMNS
    if not panel:
        result = run(datamodule)
        rows = [{**labels, "steps": config.steps, **scores(result)}]
        shown = ""
    else:
        results = {name: run(datamodule.series_data(name)) for name in datamodule.series_ids}
        rows = [
            {**labels, "series": name, "steps": config.steps, **scores(result)}
            for name, result in results.items()
        ]
        table = pd.DataFrame(rows)
        rows.append(
            {
                **labels,
                "series": PANEL,
                "steps": config.steps,
                "d_stsp": float(table["d_stsp"].mean()),
                "d_h": float(table["d_h"].mean()),
                **{flag: bool(table[flag].any()) for flag in ("constant", "cycle", "drift")},
            }
        )
        columns = [LONG_RUN_COLUMNS[0], "series", *LONG_RUN_COLUMNS[1:]]
        first, result = next(iter(results.items()))  # the chart's series
        shown = f", series {first}"
    row = pd.DataFrame(rows)[columns]
    atomic_write(
        run_dir / LONG_RUN, row.to_csv(index=False, float_format="%.6g", lineterminator="\n")
    )
    title = (
        f"{labels['model']} / {labels['strategy']} (seed {labels['seed']}{shown}): "
        f"D_stsp {result.d_stsp:.3g}, D_H {result.d_h:.3g}"
    )
    fig = plot_long_run(result.truth, result.generated, steps=config.chart_steps, title=title)
    save_figure(fig, run_dir / LONG_RUN_CHART)
    return row


def read_long_runs(out_dir: Path) -> pd.DataFrame | None:
    """Every finished run's ``long_run.csv`` in one table, or None when there is none."""
    paths = [
        p
        for p in sorted((Path(out_dir) / "runs").glob(f"*/{LONG_RUN}"))
        if (p.parent / "DONE").exists()
    ]
    if not paths:
        return None
    frames = [
        pd.read_csv(p, dtype={"model": str, "strategy": str, "series": str}) for p in paths
    ]
    table = pd.concat(frames, ignore_index=True)
    if "series" in table.columns:  # a panel's: its aggregate rows (single series' have none)
        from forecastab.evaluation.panel import PANEL

        table = table[table["series"].isna() | (table["series"] == PANEL)]
        table = table.drop(columns="series").reset_index(drop=True)
    return table


def long_run_markdown(table: pd.DataFrame) -> str:
    """The summary section: D_stsp, D_H and collapse flags, mean over seeds."""
    lines = [
        "## Long free runs",
        "",
        "Each model runs free from the start of the test split. D_stsp: KL divergence between the "
        "state-space occupations of truth and run (delay-embedding histograms); D_H: Hellinger "
        "distance between smoothed power spectra (Hess et al. 2023). Lower is better; `collapsed` "
        "counts seeds whose run ends constant or in a short cycle, `drift` those that leave the "
        "data's range.",
        "",
        "| dataset | model | strategy | steps | D_stsp | D_H | collapsed | drift | seeds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    keys = ["dataset", "model", "strategy", "steps"]
    for key, rows in table.groupby(keys, sort=True):
        collapsed = int((rows["constant"].astype(bool) | rows["cycle"].astype(bool)).sum())
        drift = int(rows["drift"].astype(bool).sum())
        lines.append(
            "| "
            + " | ".join(str(k) for k in key)
            + f" | {rows['d_stsp'].mean():.4g} | {rows['d_h'].mean():.4g} | {collapsed} | {drift} "
            f"| {len(rows)} |"
        )
    return "\n".join(lines) + "\n"
