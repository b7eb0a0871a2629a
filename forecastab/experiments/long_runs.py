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
    """Run, score, chart and save one forecaster's long free run in ``run_dir``."""
    from forecastab.evaluation.long_run import long_free_run
    from forecastab.plotting.figure import save_figure
    from forecastab.plotting.long_run import plot_long_run

    result = long_free_run(
        forecaster,
        datamodule,
        steps=config.steps,
        units=units,
        n_bins=config.n_bins,
        smoothing=config.smoothing,
    )
    row = pd.DataFrame(
        [
            {
                **labels,
                "steps": config.steps,
                "d_stsp": result.d_stsp,
                "d_h": result.d_h,
                **result.flags,
            }
        ]
    )[LONG_RUN_COLUMNS]
    atomic_write(
        run_dir / LONG_RUN, row.to_csv(index=False, float_format="%.6g", lineterminator="\n")
    )
    title = (
        f"{labels['model']} / {labels['strategy']} (seed {labels['seed']}): "
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
    frames = [pd.read_csv(p, dtype={"model": str, "strategy": str}) for p in paths]
    return pd.concat(frames, ignore_index=True)


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
