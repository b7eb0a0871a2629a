"""The output folder of an experiment: atomic files, ``results.csv``, the chart and ``summary.md``.

Everything here reads and writes files only, so ``forecastab plot DIR`` and ``forecastab report
DIR`` re-render a finished (or interrupted) experiment without training anything.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from forecastab.errors import DataError
from forecastab.experiments.identity import redone_runs
from forecastab.files import append_text, atomic_write, is_real_file

COLUMNS = ["dataset", "model", "strategy", "seed", "mode", "target", "step", "metric", "value"]
"""The columns of ``results.csv`` and of every run's ``metrics.csv``, in this order."""

POOLED = "all"
"""The ``target`` of rows written before results were per target (all columns pooled)."""

SORT_KEYS = ["dataset", "model", "strategy", "seed", "mode", "target", "metric", "step"]
FLOAT_FORMAT = "%.10g"
BASELINE = "baseline"
RESULTS = "results.csv"
SUMMARY = "summary.md"
CHART = "horizon_error.png"
RUN_CONFIG = "config.yaml"
METRICS = "metrics.csv"
DONE = "DONE"
ERROR = "error.txt"
GRID = "grid.txt"


def sort_results(table: pd.DataFrame) -> pd.DataFrame:
    """Rows in one deterministic order, the contract's columns only.

    >>> t = pd.DataFrame({"dataset": ["d", "d"], "model": ["m", "m"], "strategy": ["s", "s"],
    ...     "seed": [0, 0], "mode": ["free_running"] * 2, "target": ["y", "y"], "step": [2, 1],
    ...     "metric": ["mae"] * 2, "value": [2.0, 1.0]})
    >>> sort_results(t)["step"].tolist()
    [1, 2]
    """
    if "target" not in table.columns:
        table = table.assign(target=POOLED)  # written before results were per target
    columns, keys = COLUMNS, SORT_KEYS
    if "series" in table.columns:  # a panel's results: one row set per series, and 'all'
        columns = [COLUMNS[0], "series", *COLUMNS[1:]]
        keys = [SORT_KEYS[0], "series", *SORT_KEYS[1:]]
        table = table.assign(series=table["series"].fillna(POOLED).astype(str))
    table = table[columns].astype({"seed": "int64", "step": "int64", "value": "float64"})
    return table.sort_values(keys, kind="mergesort").reset_index(drop=True)


def panel_aggregate(table: pd.DataFrame) -> pd.DataFrame:
    """The panel aggregate rows (``series == 'all'``) without the ``series`` column, or the
    table itself when it has no ``series`` column (one series)."""
    if "series" not in table.columns:
        return table
    return table[table["series"] == POOLED].drop(columns="series").reset_index(drop=True)


def results_csv(table: pd.DataFrame) -> str:
    """The CSV text of a results table: sorted rows, fixed float format, ``\\n`` line ends."""
    buffer = io.StringIO()
    sort_results(table).to_csv(buffer, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return buffer.getvalue()


NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
"""What a ``mode`` or ``metric`` of a results file looks like (``free_running``, ``rmse``)."""


def read_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a ``results.csv`` or ``metrics.csv`` back, checked against the contract.

    A file forecastab wrote ends with a line end, has the contract's columns, a name in every
    label column, whole ``seed`` and ``step`` values (steps 1, 2, ...), numbers in ``value``,
    ``mode`` and ``metric`` names, one row per (series, step) and every series of a dataset
    running to the same last step. A file cut short, or one that is not forecastab's, fails
    one of these and is an error naming it, never a summary or chart of part of it.

    Raises:
        DataError: The file is missing, cut short or not a results file (naming the file and
            the first problem).
    """
    path = Path(path)
    if not is_real_file(path):
        raise DataError(
            f"no results file '{path}'; run `forecastab run CONFIG.yaml --out DIR` first"
        )
    fix = "delete it and rerun `forecastab run` to rebuild it"
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read '{path}' ({error.strerror or error}); {fix}") from None
    if not raw.strip():
        raise DataError(f"'{path}' is empty; {fix}")
    try:
        table = pd.read_csv(
            io.BytesIO(raw),
            dtype={
                "dataset": str, "model": str, "strategy": str, "mode": str, "target": str,
                "metric": str, "series": str,
            },  # fmt: skip
            keep_default_na=False,
            na_values={"value": ["", "NaN", "nan"], "seed": [""], "step": [""]},
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"'{path}' is empty; {fix}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        detail = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise DataError(f"'{path}' is not a readable CSV ({detail}); {fix}") from None
    if not raw.endswith(b"\n"):
        raise DataError(f"'{path}' is cut short (its last line has no line end); {fix}")
    missing = [c for c in COLUMNS if c not in table.columns and c != "target"]
    if missing:
        raise DataError(
            f"'{path}' lacks the column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"
        )
    for column in ("seed", "step", "value"):
        numbers = pd.to_numeric(table[column], errors="coerce")
        bad = numbers.isna() & table[column].notna()
        if column != "value":
            bad |= numbers.isna() | (numbers != numbers.round())
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(
                f"'{path}' has a non-numeric {column} {table[column].iloc[row]!r} at line "
                f"{row + 2}; {fix}"
            )
        if column == "step" and (numbers < 1).any():
            row = int((numbers < 1).to_numpy().nonzero()[0][0])
            raise DataError(
                f"'{path}' has the step {int(numbers.iloc[row])} at line {row + 2}; steps count "
                f"from 1; {fix}"
            )
        table[column] = numbers
    _check_labels(path, table, fix)
    return sort_results(table)


def _check_labels(path: Path, table: pd.DataFrame, fix: str) -> None:
    """The label columns of a results table: names present, one row per step, whole series."""
    for column in ("dataset", "model", "strategy", "mode", "metric", "target"):
        if column not in table.columns:
            continue
        values = table[column].astype(str)
        bad = values.str.strip() == ""
        if column in ("mode", "metric"):
            bad |= ~values.str.fullmatch(NAME_PATTERN)
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(
                f"'{path}' has the {column} {table[column].iloc[row]!r} at line {row + 2}, not "
                f"one a forecastab run writes; {fix}"
            )
    if table.empty:
        return
    keys = [SORT_KEYS[0], "series", *SORT_KEYS[1:]]  # a panel's rows differ by series too
    series = [c for c in keys if c in table.columns and c != "step"]
    duplicated = table.duplicated([*series, "step"])
    if duplicated.any():
        row = int(duplicated.to_numpy().nonzero()[0][0])
        raise DataError(f"'{path}' repeats the row at line {row + 2}; {fix}")
    steps = table.groupby(series, sort=False)["step"].agg(["max", "size"])
    last = steps.groupby(level="dataset")["max"].transform("max")
    short = (steps["size"] != steps["max"]) | (steps["max"] != last)
    if short.any():
        key = ", ".join(str(k) for k in short[short].index[0])
        raise DataError(
            f"'{path}' is incomplete: the series ({key}) lacks steps of the horizon; {fix}"
        )


def assemble_results(metrics_files: Iterable[Path]) -> pd.DataFrame:
    """Concatenate the metrics of completed runs into one sorted results table."""
    tables = [read_results(path) for path in metrics_files]
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS}).pipe(sort_results)
    return sort_results(pd.concat(tables, ignore_index=True))


def write_results(out_dir: Path, table: pd.DataFrame) -> bool:
    """Write ``results.csv`` atomically; an unchanged table leaves the file untouched.

    Returns:
        Whether the file was (re)written.
    """
    text = results_csv(table)
    path = out_dir / RESULTS
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write(path, text)
    return True


def append_results(out_dir: Path, metrics_file: Path) -> None:
    """Append one finished run's rows to ``results.csv`` (written whole when it is missing).

    Costs the size of one run, not of the grid; rows stay unsorted until the runner rebuilds
    the file at the end of the grid (:func:`write_results`). A process killed mid-append leaves
    a last line without its line end, which :func:`read_results` refuses and the next
    ``forecastab run`` rebuilds.
    """
    path = out_dir / RESULTS
    text = results_csv(read_results(metrics_file))
    if not is_real_file(path):
        atomic_write(path, text)
        return
    append_text(path, text.split("\n", 1)[1])


def saved_config(out_dir: Path) -> dict[str, Any]:
    """The experiment's saved ``config.yaml`` as a mapping; empty when the folder has none.

    Raises:
        DataError: The file is not UTF-8, not YAML, nested absurdly deep, or not a mapping;
            the message names the file and how to rebuild it.
    """
    from forecastab.errors import ConfigError
    from forecastab.experiments.yaml_loader import load_yaml

    path = out_dir / RUN_CONFIG
    if not path.is_file():
        return {}
    fix = f"rerun `forecastab run CONFIG.yaml --out {out_dir}` to rewrite it, or delete it"
    try:
        config = load_yaml(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataError(f"'{path}' is not UTF-8 text; {fix}") from None
    except ConfigError as error:  # a duplicate key, too deep, too large
        raise DataError(f"'{path}': {error}; {fix}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise DataError(f"'{path}' is not valid YAML{where}; {fix}") from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise DataError(
            f"'{path}' holds a {type(config).__name__}, not the experiment's settings (a "
            f"mapping of keys); {fix}"
        )
    return config


def experiment_units(out_dir: Path) -> str:
    """``original`` or ``scaled``, from the experiment's saved config (original when unknown)."""
    config = saved_config(out_dir)
    return str((config.get("evaluation") or {}).get("units", "original"))


def render_chart(out_dir: Path, *, metric: str | None = None) -> Path:
    """Draw the horizon-error chart of one metric from ``results.csv``.

    The default metric (RMSE when present, else the first) goes to ``horizon_error.png``,
    another one to ``horizon_error_<metric>.png``; see :mod:`forecastab.experiments.charts`.

    Args:
        out_dir: The experiment folder.
        metric: The metric to chart; defaults to RMSE when present, else the first one.

    Returns:
        The image's path.

    Raises:
        DataError: ``results.csv`` is missing or empty.
    """
    from forecastab.experiments import charts
    from forecastab.plotting import save_figure

    table = read_results(out_dir / RESULTS)
    if table.empty:
        raise DataError(f"'{out_dir / RESULTS}' has no rows to chart; no run has finished yet")
    default = charts.default_metric(table)
    chosen = metric or default
    config = charts.saved_config(out_dir)
    tf = charts.teacher_forcing_strategies(config, list(pd.unique(table["strategy"])))
    figure = charts.draw_horizon_chart(
        table,
        metric=chosen,
        units=charts.units_label(config, table),
        tf_strategies=tf,
        intervals=read_intervals(out_dir),  # block-bootstrap bands of single-seed curves
    )
    return save_figure(figure, out_dir / charts.chart_name("horizon_error", chosen, default))


def read_intervals(out_dir: Path) -> pd.DataFrame | None:
    """The finished runs' ``intervals.csv`` (``evaluation: {n_bootstrap: ...}``), or None."""
    paths = [
        path
        for path in sorted((out_dir / "runs").glob("*/intervals.csv"))
        if (path.parent / DONE).exists()
    ]
    if not paths:
        return None
    frames = [pd.read_csv(path, dtype={"model": str, "strategy": str}) for path in paths]
    return pd.concat(frames, ignore_index=True)


def _markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table, numbers with four significant digits."""

    def cell(value: object) -> str:
        if isinstance(value, float | np.floating):
            return "–" if np.isnan(value) else f"{value:.4g}"
        return str(value)

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def report_steps(horizon: int) -> list[int]:
    """A few forecast steps to tabulate: the first, quarter, half and last.

    >>> report_steps(20)
    [1, 5, 10, 20]
    >>> report_steps(2)
    [1, 2]
    """
    return sorted({1, max(1, round(horizon / 4)), max(1, round(horizon / 2)), horizon})


def _step_table(rows: pd.DataFrame, steps: Sequence[int]) -> pd.DataFrame:
    """Mean over seeds of the metric at ``steps`` and over all steps, one row per series."""
    keys = ["model", "strategy"]
    per_seed = rows.pivot_table(index=[*keys, "seed"], columns="step", values="value")
    means = per_seed.groupby(level=keys, sort=True).mean()
    table = means[[s for s in steps if s in means.columns]].copy()
    table.columns = [f"step {s}" for s in table.columns]
    table["mean"] = per_seed.mean(axis=1).groupby(level=keys, sort=True).mean()
    seeds = per_seed.groupby(level=keys, sort=True).size()
    table["seeds"] = seeds.astype(int)
    return table.reset_index()


def summary_markdown(
    table: pd.DataFrame,
    *,
    title: str,
    failures: Sequence[str] = (),
    config: dict | None = None,
    redone: Sequence[str] = (),
    diverged: Sequence[str] = (),
    paired_test: Callable[[str], Any] | None = None,
    hints: Sequence[str] = (),
) -> str:
    """The text of ``summary.md``: per dataset and metric, the tables a reader compares.

    For every dataset and metric: free-running error of each model and strategy at a few steps
    and averaged over the horizon (mean over seeds), the same teacher-forced, the exposure gap
    (free-running minus teacher-forced), and the baselines. Failed runs are listed at the end.

    Args:
        table: A results table (the contract's columns).
        title: The experiment's name.
        failures: One line per failed run.
        config: The experiment's config, to tell which strategy is teacher forcing.
        redone: One line per run whose earlier result was replaced, and why.
        diverged: One line per run whose training diverged, with the step.
        paired_test: ``paired_test(dataset)`` -> the headline's paired test for that dataset
            (see :func:`forecastab.experiments.comparisons.headline_test`), or None.
        hints: lines on symptoms and what to try (:mod:`forecastab.experiments.hints`),
            printed after the answers.

    Returns:
        Markdown text.
    """
    from forecastab.experiments.headline import answer_lines, teacher_forcing_strategies

    lines = [f"# {title}", ""]
    if not table.empty:
        tf = teacher_forcing_strategies(config, list(pd.unique(table["strategy"])))
        present = set(table["metric"])
        # a probabilistic run is judged by its CRPS (the whole predictive), else by RMSE
        metric = next((m for m in ("crps", "rmse") if m in present), str(table["metric"].iloc[0]))
        units = str(((config or {}).get("evaluation") or {}).get("units", "original"))
        for (dataset, target), rows in table[table["metric"] == metric].groupby(
            ["dataset", "target"], sort=True
        ):
            answer = answer_lines(
                rows,
                metric=metric.upper(),
                tf_strategies=tf,
                units="scaled units" if units == "scaled" else "original units",
                # the paired test compares squared errors of the point forecasts: not for CRPS
                paired_test=None
                if paired_test is None or metric == "crps"
                else paired_test(str(dataset)),
                pending_test=metric != "crps",
            )
            if answer:
                where = dataset if table["target"].nunique() == 1 else f"{dataset}, {target}"
                lines += [f"**The answer on {where}** ({metric.upper()}):", "", *answer, ""]
    if hints:
        lines += ["**Worth a look**:", "", *hints, ""]
    lines.append(
        "Values are means over all test origins (and over seeds where there are several); "
        "`mean` averages over every forecast step. Exposure gap = free-running minus "
        "teacher-forced error."
    )
    several = table["target"].nunique() > 1
    for (dataset, target), data_rows in table.groupby(["dataset", "target"], sort=True):
        steps = report_steps(int(data_rows["step"].max()))
        for metric in sorted(data_rows["metric"].unique()):
            rows = data_rows[data_rows["metric"] == metric]
            neural = rows[rows["strategy"] != BASELINE]
            where = f"{dataset}, target {target}" if several else dataset
            lines += ["", f"## {where}: {metric}"]
            free = neural[neural["mode"] == "free_running"]
            forced = neural[neural["mode"] == "teacher_forced"]
            if not free.empty:
                lines += ["", "### Free running", "", _markdown_table(_step_table(free, steps))]
            if not forced.empty:
                lines += ["", "### Teacher forced", "", _markdown_table(_step_table(forced, steps))]
                both = free.merge(
                    forced, on=["model", "strategy", "seed", "step"], suffixes=("", "_tf")
                )
                gap_values = both["value"] - both["value_tf"]
                # step 1 is the same forecast in both modes: print its float noise as 0
                noise = gap_values.abs() <= 1e-6 * both["value"].abs()
                gap = both.assign(value=gap_values.mask(noise, 0.0))
                lines += ["", "### Exposure gap", "", _markdown_table(_step_table(gap, steps))]
            baselines = rows[(rows["strategy"] == BASELINE) & (rows["mode"] == "free_running")]
            if not baselines.empty:
                base = _step_table(baselines, steps).drop(columns=["strategy", "seeds"])
                lines += ["", "### Baselines (free running)", "", _markdown_table(base)]
    if table.empty:
        lines += ["", "No run has finished yet."]
    if diverged:
        lines += ["", "## Diverged runs", ""]
        lines += ["Training stopped at the step named; their rows in results.csv are NaN.", ""]
        lines += [f"- {line}" for line in diverged]
    if failures:
        lines += ["", "## Failed runs", ""]
        lines += [f"- {failure}" for failure in failures]
    if redone:
        lines += ["", "## Redone runs", ""]
        lines += [f"- {line}" for line in redone]
    return "\n".join(lines) + "\n"


def write_grid(out_dir: Path, names: Sequence[str]) -> Path:
    """Record the run folders of the current grid (``grid.txt``), one name per line.

    The summary lists failed, diverged and redone runs of this grid only: a folder left by an
    earlier grid of the same ``--out`` (another model, a removed seed) is not reported again.
    """
    return atomic_write(out_dir / GRID, "".join(f"{name}\n" for name in sorted(names)))


def grid_runs(out_dir: Path) -> set[str] | None:
    """The run folder names of the current grid, or None when ``grid.txt`` is absent."""
    try:
        return set((out_dir / GRID).read_text(encoding="utf-8").split())
    except (OSError, UnicodeDecodeError):
        return None


def _in_grid(run_dir: Path, names: set[str] | None) -> bool:
    return names is None or run_dir.name in names


def failed_runs(out_dir: Path, diverged: bool = False) -> list[str]:
    """One line per run folder of the grid whose ``error.txt`` names why it failed.

    Args:
        out_dir: The experiment's output folder.
        diverged: False for failed runs (``error.txt`` and no ``DONE``); True for diverged
            ones (``error.txt`` beside ``DONE``: the run is recorded, its results are NaN).
    """
    names = grid_runs(out_dir)
    failures = []
    for error_file in sorted((out_dir / "runs").glob(f"*/{ERROR}")):
        if (error_file.parent / DONE).exists() == diverged and _in_grid(error_file.parent, names):
            try:
                lines = error_file.read_text(encoding="utf-8").strip().splitlines()
            except (OSError, UnicodeDecodeError):
                lines = []
            last = lines[-1] if lines else "unknown error"
            failures.append(
                f"`{error_file.parent.name}`: {last} (see `{error_file.relative_to(out_dir)}`)"
            )
    return failures


def experiment_title(out_dir: Path) -> str:
    """The experiment's name from its saved config, else the folder's name."""
    name = saved_config(out_dir).get("name")
    return str(name) if name else out_dir.name


def write_summary(out_dir: Path) -> Path:
    """(Re)write ``summary.md`` from ``results.csv`` and the failed runs' ``error.txt``.

    Raises:
        DataError: ``results.csv`` is missing.
    """
    from forecastab.experiments.comparisons import (
        comparison_markdown,
        headline_test,
        load_errors,
        read_comparisons,
    )
    from forecastab.experiments.hints import level_hints
    from forecastab.experiments.long_runs import long_run_markdown, read_long_runs

    table = panel_aggregate(read_results(out_dir / RESULTS))  # a panel: the 'all' rows
    names = grid_runs(out_dir)
    try:  # per-origin errors for the headline's paired test
        runs = load_errors(out_dir)
        if names is not None:
            runs = runs[[name in names for name in runs["run"]]]
    except DataError:
        runs = None
    config = saved_config(out_dir) or None
    units = str(((config or {}).get("evaluation") or {}).get("units", "original"))
    hints = level_hints(runs, config=config, units=f"{units} units") if runs is not None else []
    text = summary_markdown(
        table,
        title=experiment_title(out_dir),
        failures=failed_runs(out_dir),
        config=config,
        redone=redone_runs(out_dir, names),
        diverged=failed_runs(out_dir, diverged=True),
        paired_test=None if runs is None else partial(headline_test, runs),
        hints=hints,
    )
    comparisons = read_comparisons(out_dir)  # written by `forecastab compare`
    if comparisons is not None and not comparisons.empty:
        text += "\n" + comparison_markdown(comparisons)
    long_runs = read_long_runs(out_dir)  # evaluation: {long_run: {steps: N}}
    if long_runs is not None and not long_runs.empty:
        text += "\n" + long_run_markdown(long_runs)
    return atomic_write(out_dir / SUMMARY, text)


def check_experiment_dir(out_dir: str | os.PathLike[str]) -> Path:
    """An existing experiment folder with a ``results.csv`` that passes the schema check.

    Raises:
        DataError: The folder or its ``results.csv`` is missing, cut short or not a results
            file, or its saved ``config.yaml`` is unreadable (checked before anything is written).
    """
    path = Path(out_dir)
    if not path.is_dir():
        raise DataError(f"no experiment folder '{path}'; give the --out folder of `forecastab run`")
    if not (path / RESULTS).is_file():
        raise DataError(
            f"'{path}' holds no {RESULTS}; run `forecastab run CONFIG.yaml --out {path}` first"
        )
    read_results(path / RESULTS)  # cut short or foreign: an error before anything is written
    saved_config(path)
    return path
