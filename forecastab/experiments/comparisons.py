"""``forecastab compare``: paired tests of every model and strategy against a reference.

Each run folder keeps its per-origin free-running errors in ``errors.npz`` (written by the
runner next to ``metrics.csv``). :func:`compare_experiment` pairs every series with the reference
on the same origins and seeds, runs :func:`forecastab.evaluation.compare.paired_comparison` per
seed and over the seeds both ran, and :func:`write_comparisons` writes ``comparisons.csv``; the
summary then gains a section saying at which steps each series is significantly better or worse
than the reference (Holm-corrected over steps).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecastab.errors import DataError, ForecastabError
from forecastab.evaluation.compare import COMPARISON_COLUMNS as STEP_COLUMNS
from forecastab.files import atomic_write

ERRORS = "errors.npz"
COMPARISONS = "comparisons.csv"
COMPARISON_COLUMNS = [
    "dataset",
    "model",
    "strategy",
    "reference",
    "seed",
    "step",
    "metric",
    *STEP_COLUMNS[1:],  # mean_difference ... note, as paired_comparison returns them
]
"""The columns of ``comparisons.csv``: the DESIGN.md contract, then the Holm-adjusted p-value,
the test's degrees of freedom and why a step has no test (empty where it has one)."""

DEFAULT_REFERENCE_STRATEGY = "teacher_forcing"
ALL_SEEDS = "all"
SEED_LEVEL = "seeds"
"""The ``seed`` label of the seed-level rows: a t test over the seeds' mean differences."""
LEVEL = 0.05


def check_resamples(n_bootstrap: Any, name: str) -> int:
    """A bootstrap's resample count: a whole number in ``[1, MAX_BOOTSTRAP]``.

    The resampled origin indices alone take ``n_bootstrap x origins x 8`` bytes, so the count
    is bounded before anything is drawn.

    >>> check_resamples(0, "--n-bootstrap")
    Traceback (most recent call last):
    ...
    forecastab.errors.DataError: --n-bootstrap must be a whole number from 1 to 100,000, got 0
    """
    from forecastab.experiments.checks import MAX_BOOTSTRAP

    whole = isinstance(n_bootstrap, int | np.integer) and not isinstance(n_bootstrap, bool)
    if not whole or not 1 <= n_bootstrap <= MAX_BOOTSTRAP:
        hint = "; 1,000 to 10,000 resamples give stable intervals" if whole and n_bootstrap > 1 else ""
        raise DataError(
            f"{name} must be a whole number from 1 to {MAX_BOOTSTRAP:,}, got {n_bootstrap!r}{hint}"
        )
    return int(n_bootstrap)


def save_errors(run_dir: Path, evaluation: Any, data: Any = None) -> Path:
    """Keep a run's free-running errors ``(N, H, C)``, origins and labels in ``errors.npz``.

    With the evaluated ``data``, also the training rows' range and the share of test targets
    outside it (:func:`forecastab.experiments.hints.level_arrays`), for the summary's hints.
    """
    from forecastab.experiments.hints import level_arrays

    buffer = io.BytesIO()
    labels = {key: str(value) for key, value in evaluation.labels.items()}
    levels = {} if data is None else level_arrays(data, evaluation.targets, evaluation.units)
    np.savez_compressed(
        buffer,
        errors=np.asarray(evaluation.errors["free_running"], dtype=np.float32),
        origins=np.asarray(evaluation.origins, dtype=np.int64),
        labels=np.array(json.dumps(labels)),
        units=np.array(evaluation.units),
        **levels,
        **panel_arrays(evaluation),
    )
    return atomic_write(run_dir / ERRORS, buffer.getvalue())


def panel_arrays(evaluation: Any) -> dict[str, np.ndarray]:
    """A panel's ``series`` (the id of each pooled origin) and ``origin_steps`` (its time in
    steps on the grid every series shares), for the paired test of the aggregate; none for one
    series. ``origin_steps`` is left out when the series' timestamps do not fall on one grid
    (same frequency, different phases): the comparison then says so."""
    from forecastab.evaluation.panel import origin_series, origin_steps

    per_series = getattr(evaluation, "per_series", None)
    if not per_series:
        return {}
    arrays = {"series": origin_series(per_series)}
    steps = origin_steps(per_series)
    if steps is not None:
        arrays["origin_steps"] = steps
    return arrays


def saved_layout(row: Any) -> Any:
    """The :class:`~forecastab.evaluation.compare.PanelLayout` of a saved panel run, else None.

    Raises:
        DataError: a panel whose series' timestamps share no grid (no paired test of the
            aggregate is possible).
    """
    from forecastab.evaluation.compare import PanelLayout

    if getattr(row, "series", None) is None:
        return None
    if getattr(row, "origin_steps", None) is None:
        raise DataError(
            "the panel's series have timestamps on different grids (same frequency, different "
            "phase), so their origins cannot be paired in time for a test of the aggregate; "
            "align the timestamps (e.g. floor them to the frequency) and rerun"
        )
    return PanelLayout(row.series, row.origin_steps)


def _stride_and_panel(row: Any) -> tuple[int, Any]:
    """The evaluation stride of a saved run's origins and its panel layout (None: one series)."""
    from forecastab.evaluation.compare import stride_of

    layout = saved_layout(row)
    if layout is not None:
        return 1, layout  # the panel's stride comes from its layout
    return stride_of(row.origins), None


def load_errors(out_dir: Path) -> pd.DataFrame:
    """One row per completed run with saved errors: labels, ``errors`` and ``origins``.

    Raises:
        DataError: the folder holds no run with saved errors.
    """
    rows = []
    for path in sorted((Path(out_dir) / "runs").glob(f"*/{ERRORS}")):
        if not (path.parent / "DONE").exists():
            continue
        rows.append({**_read_errors(path), "run": path.parent.name})
    if not rows:
        raise DataError(
            f"'{out_dir}' holds no finished run with saved errors ({ERRORS}); run "
            f"`forecastab run CONFIG.yaml --out {out_dir}` first (runs made before forecastab "
            "saved errors must be rerun in a new folder)"
        )
    return pd.DataFrame(rows)


def _read_errors(path: Path) -> dict[str, Any]:
    """One run's ``errors.npz``: its labels, ``errors`` ``(N, H, C)`` and ``origins`` ``(N,)``.

    Raises:
        DataError: The file is not a complete ``errors.npz`` (truncated, foreign, a key or
            label missing, shapes that disagree), naming it and how to rebuild it.
    """
    fix = (
        f"delete the run folder '{path.parent}' and rerun `forecastab run` with the same "
        "--out to recompute it"
    )
    try:
        with np.load(path) as saved:  # allow_pickle stays False: no code runs from the file
            labels = json.loads(str(saved["labels"]))
            row = {
                "dataset": str(labels["dataset"]),
                "model": str(labels["model"]),
                "strategy": str(labels["strategy"]),
                "seed": int(labels["seed"]),
                "errors": saved["errors"],
                "origins": saved["origins"],
                # the level check's arrays (absent in runs saved before it)
                **{
                    key: saved[key] if key in saved.files else None
                    for key in (
                        "train_range", "test_outside", "target_names", "series", "origin_steps"
                    )
                },
            }
    except (OSError, EOFError, zipfile.BadZipFile, ValueError, TypeError):
        raise DataError(
            f"'{path}' is not a readable {ERRORS} (truncated, or not written by forecastab); {fix}"
        ) from None
    except KeyError as error:
        key = str(error.args[0]).split(" is not a file")[0]  # numpy: "x is not a file in ..."
        raise DataError(f"'{path}' lacks '{key}'; {fix}") from None
    errors, origins = row["errors"], row["origins"]
    if errors.ndim != 3 or origins.ndim != 1 or len(origins) != len(errors):
        raise DataError(
            f"'{path}' holds errors of shape {errors.shape} for {origins.shape} origins, "
            f"expected (N, H, C) and (N,); {fix}"
        )
    for key in ("series", "origin_steps"):
        if row[key] is not None and row[key].shape != origins.shape:
            raise DataError(
                f"'{path}' holds '{key}' of shape {row[key].shape} for {origins.shape} origins; "
                f"{fix}"
            )
    return row


def _by_seed(runs: pd.DataFrame) -> dict[int, Any]:
    """The rows of :func:`load_errors` by seed."""
    return {int(row.seed): row for row in runs.itertuples()}


def _parse_reference(reference: str | None, runs: pd.DataFrame) -> tuple[str | None, str]:
    if reference is None:
        if DEFAULT_REFERENCE_STRATEGY not in set(runs["strategy"]):
            raise DataError(
                f"no '{DEFAULT_REFERENCE_STRATEGY}' strategy to compare with; pass "
                "--reference MODEL/STRATEGY (e.g. "
                f"{runs['model'].iloc[0]}/{runs['strategy'].iloc[0]})"
            )
        return None, DEFAULT_REFERENCE_STRATEGY
    model, _, strategy = reference.partition("/")
    known = sorted({f"{m}/{s}" for m, s in zip(runs["model"], runs["strategy"], strict=True)})
    if not strategy or reference not in known:
        raise DataError(f"reference '{reference}' is not among the runs; valid: {', '.join(known)}")
    return model, strategy


def compare_experiment(
    out_dir: Path,
    *,
    reference: str | None = None,
    loss: str = "mse",
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    block_length: int | None = None,
    method: str = "circular",
) -> pd.DataFrame:
    """Paired comparisons of every series of an experiment against a reference.

    Args:
        out_dir: the experiment folder.
        reference: ``MODEL/STRATEGY``; None compares each model's strategies with that
            model's ``teacher_forcing`` runs.
        loss: ``mse`` or ``mae`` per origin.
        n_bootstrap, confidence, block_length, method: the block bootstrap of the interval.

    Returns:
        A frame with :data:`COMPARISON_COLUMNS`; ``seed`` is the seed, or ``all`` for the
        comparison paired over the seeds both ran.

    Raises:
        DataError: no saved errors, an unknown reference, or runs on different origins.
    """
    from forecastab.evaluation.compare import paired_comparison, seed_level_comparison

    check_resamples(n_bootstrap, "n_bootstrap")
    try:
        runs = load_errors(out_dir)
        ref_model, ref_strategy = _parse_reference(reference, runs)
    except DataError:
        _raise_if_diverged(out_dir)
        raise
    frames = []
    for dataset, data_runs in runs.groupby("dataset", sort=True):
        for (model, strategy), series in data_runs.groupby(["model", "strategy"], sort=True):
            target_model = model if ref_model is None else ref_model
            if (model, strategy) == (target_model, ref_strategy):
                continue
            ref = data_runs[
                (data_runs["model"] == target_model) & (data_runs["strategy"] == ref_strategy)
            ]
            if ref.empty:
                continue
            ours, theirs = _by_seed(series), _by_seed(ref)
            if len(theirs) == 1 and set(theirs) != set(ours):
                # a seedless reference (a baseline) pairs with every seed
                theirs = {seed: next(iter(theirs.values())) for seed in ours}
            common = [seed for seed in ours if seed in theirs]
            if not common:
                continue
            for seed in common:
                if not np.array_equal(ours[seed].origins, theirs[seed].origins):
                    raise DataError(
                        f"{model}/{strategy} and {target_model}/{ref_strategy} (seed {seed}) "
                        f"were evaluated on different origins in {dataset}; rerun them together"
                    )
            label = f"{target_model}/{ref_strategy}"
            stride, layout = _stride_and_panel(ours[common[0]])
            groups: list[tuple[str, list[int]]] = [(str(seed), [seed]) for seed in common]
            if len(common) > 1:
                groups.append((ALL_SEEDS, common))
            for seed_label, seeds in groups:
                table = paired_comparison(
                    {seed: ours[seed].errors for seed in seeds},
                    {seed: theirs[seed].errors for seed in seeds},
                    loss=loss,
                    n_bootstrap=n_bootstrap,
                    confidence=confidence,
                    block_length=block_length,
                    method=method,
                    stride=stride,
                    panel=layout,
                )
                frames.append(
                    table.drop(columns="n_seeds").assign(
                        dataset=dataset,
                        model=model,
                        strategy=strategy,
                        reference=label,
                        seed=seed_label,
                        metric=loss,
                    )
                )
            if len(common) > 1:
                frames.append(
                    _seed_rows(
                        seed_level_comparison(
                            {seed: ours[seed].errors for seed in common},
                            {seed: theirs[seed].errors for seed in common},
                            loss=loss,
                            panel=layout,
                        )
                    ).assign(
                        dataset=dataset, model=model, strategy=strategy, reference=label,
                        metric=loss,
                    )
                )
    if not frames:
        _raise_if_diverged(out_dir)
        raise DataError(
            f"nothing to compare in '{out_dir}': no series shares a dataset and seeds with the "
            "reference"
        )
    return pd.concat(frames, ignore_index=True)[COMPARISON_COLUMNS]


def _raise_if_diverged(out_dir: Path) -> None:
    """Nothing to compare because runs diverged: say so, instead of a puzzle about seeds.

    Raises:
        DataError: the grid has diverged runs (they keep no errors to compare), naming them.
    """
    from forecastab.experiments.report import DONE, ERROR, grid_runs

    names = grid_runs(Path(out_dir))
    diverged = sorted(
        path.parent.name
        for path in (Path(out_dir) / "runs").glob(f"*/{ERROR}")
        if (path.parent / DONE).is_file() and (names is None or path.parent.name in names)
    )
    if diverged:
        shown = ", ".join(diverged[:3]) + (", ..." if len(diverged) > 3 else "")
        raise DataError(
            f"nothing to compare in '{out_dir}': {len(diverged)} run(s) diverged ({shown}); a "
            "diverged run keeps no errors to compare (see summary.md): lower the learning rate "
            "or add gradient clipping and rerun"
        )


def _seed_rows(seed_table: pd.DataFrame) -> pd.DataFrame:
    """Seed-level tests as ``comparisons.csv`` rows with seed :data:`SEED_LEVEL`.

    ``statistic`` and ``p_value`` are the t test over seeds, ``p_holm`` its Holm adjustment
    over the steps, ``df`` the seeds minus one, ``note`` the sign test.
    """
    from forecastab.evaluation.compare import holm

    per_step = seed_table[seed_table["step"] > 0]
    return pd.DataFrame(
        {
            "step": per_step["step"].to_numpy(),
            "mean_difference": per_step["mean_difference"].to_numpy(),
            "lower": np.nan,
            "upper": np.nan,
            "statistic": per_step["t_statistic"].to_numpy(),
            "p_value": per_step["p_t"].to_numpy(),
            "p_holm": holm(per_step["p_t"].to_numpy()),
            "df": per_step["n_seeds"].to_numpy() - 1,
            "note": [
                f"seed-level: lower in {w} of {n} seeds, sign test p = {_p(p)}"
                for w, n, p in zip(
                    per_step["wins"], per_step["n_seeds"], per_step["p_sign"], strict=True
                )
            ],
            "seed": SEED_LEVEL,
        }
    )


def write_comparisons(out_dir: Path, table: pd.DataFrame) -> Path:
    """Write ``comparisons.csv`` atomically."""
    text = table.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    return atomic_write(Path(out_dir) / COMPARISONS, text)


def read_comparisons(out_dir: Path) -> pd.DataFrame | None:
    """``comparisons.csv`` of an experiment, or None when it has none."""
    path = Path(out_dir) / COMPARISONS
    if not path.is_file():
        return None
    fix = f"delete it and rerun `forecastab compare {out_dir}`"
    raw = path.read_bytes()
    if not raw.endswith(b"\n"):
        raise DataError(f"'{path}' is cut short (its last line has no line end); {fix}")
    try:
        table = pd.read_csv(io.BytesIO(raw), dtype={"seed": str, "model": str, "strategy": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError):
        raise DataError(f"'{path}' is not a readable CSV; {fix}") from None
    missing = [column for column in COMPARISON_COLUMNS if column not in table.columns]
    numbers = table[[c for c in ("step", "mean_difference", "p_holm") if c in table.columns]]
    if missing or not all(pd.api.types.is_numeric_dtype(numbers[c]) for c in numbers):
        what = f"lacks the column(s) {', '.join(missing)}" if missing else "has non-numbers"
        raise DataError(f"'{path}' {what}; {fix}")
    return table


def step_ranges(steps: list[int]) -> str:
    """Steps as compact ranges.

    >>> step_ranges([1, 2, 3, 5, 7, 8])
    '1-3, 5, 7-8'
    >>> step_ranges([])
    'none'
    """
    if not steps:
        return "none"
    parts, start, previous = [], steps[0], steps[0]
    for step in [*steps[1:], None]:
        if step is not None and step == previous + 1:
            previous = step
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if step is not None:
            start = previous = step
    return ", ".join(parts)


def significant_steps(rows: pd.DataFrame, level: float = LEVEL) -> tuple[str, str]:
    """``(better, worse)``: the steps where the Holm-adjusted p-value is below ``level``."""
    significant = rows[rows["p_holm"] < level]
    better = sorted(significant.loc[significant["mean_difference"] < 0, "step"].astype(int))
    worse = sorted(significant.loc[significant["mean_difference"] > 0, "step"].astype(int))
    return step_ranges(better), step_ranges(worse)


def untested_steps(rows: pd.DataFrame) -> tuple[str, str]:
    """``(steps, reason)``: the steps where the test refused, and the first step's reason.

    Tables written before forecastab gave reasons have no ``note`` column: NaN p-values
    there count as untested with no reason.
    """
    refused = rows[~np.isfinite(rows["p_value"].to_numpy(dtype=np.float64))]
    if refused.empty:
        return "none", ""
    notes = refused["note"] if "note" in refused else pd.Series([""] * len(refused))
    reason = next((str(n) for n in notes if isinstance(n, str) and n), "")
    if reason.startswith("seed-level"):
        reason = "fewer than 2 seeds or no spread between them"
    return step_ranges(sorted(refused["step"].astype(int))), reason


ORIGIN_LEVEL_MEANING = (
    "The per-step test is origin-level: conditional on the trained models, are they different "
    "on test origins like these? The seed-level test asks whether another training run of the "
    "same procedure would be better."
)


def comparison_markdown(table: pd.DataFrame, level: float = LEVEL) -> str:
    """The summary section: per series, the steps significantly better or worse."""
    lines = [
        "## Paired comparisons",
        "",
        "Diebold-Mariano test per step on the same test origins (dependence lag "
        "ceil(h / stride) - 1 origins; equal-weighted cosine variance with Student's t on its "
        "fixed-b degrees of freedom, see docs/statistics.md), Holm-corrected over the steps at "
        f"{level:g}; `seed all` pairs the per-origin loss differences averaged over the seeds "
        f"both ran; `seed {SEED_LEVEL}` is the seed-level test (a t test over the seeds' mean "
        "differences, Holm over the steps). Better = lower loss than the reference. Steps with "
        "too few independent origins for a valid test get no test (`no test at steps`). The mean "
        "difference is the loss minus the reference's loss, averaged over steps and origins, in "
        "the loss's units: for `mse` the data's units squared (an MSE, not an RMSE), for `mae` "
        "the data's units. " + ORIGIN_LEVEL_MEANING,
        "",
        "| dataset | model | strategy | reference | seed | metric | better at steps | "
        "worse at steps | no test at steps | mean difference (loss units) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = ["dataset", "model", "strategy", "reference", "seed", "metric"]
    reasons: list[str] = []
    for key, rows in table.groupby(keys, sort=True):
        better, worse = significant_steps(rows, level)
        untested, reason = untested_steps(rows)
        if reason and reason not in reasons:
            reasons.append(reason)
        mean = float(rows["mean_difference"].mean())
        unit = " (squared units)" if key[-1] == "mse" else ""
        lines.append(
            "| " + " | ".join(str(k) for k in key)
            + f" | {better} | {worse} | {untested} | {mean:.4g}{unit} |"
        )
    if reasons:
        lines += ["", *(f"- No test: {reason}." for reason in reasons)]
    return "\n".join(lines) + "\n"


def headline_test(
    runs: pd.DataFrame, dataset: str, level: float = LEVEL
) -> Callable[[str, str, str], str | None]:
    """The summary's paired test: ``test(model, strategy, reference)`` -> a sentence or None.

    Diebold-Mariano per step on squared errors over the same test origins, paired over the
    seeds both ran, Holm-corrected over the steps (as ``forecastab compare``), with the steps
    it refuses and why; then, with 2 or more seeds, the seed-level t and sign tests of the
    mean difference over all steps. None where the two runs have no saved errors or seeds in
    common.

    Args:
        runs: :func:`load_errors` of the experiment.
        dataset: the dataset label the sentence is about.
        level: the test level.
    """
    from forecastab.evaluation.compare import paired_comparison, seed_level_comparison

    def test(model: str, strategy: str, reference: str) -> str | None:
        mine = runs[(runs["dataset"] == dataset) & (runs["model"] == model)]
        ours = _by_seed(mine[mine["strategy"] == strategy])
        theirs = _by_seed(mine[mine["strategy"] == reference])
        seeds = sorted(
            seed for seed in set(ours) & set(theirs)
            if np.array_equal(ours[seed].origins, theirs[seed].origins)
        )
        if not seeds:
            return None
        mine_errors = {seed: ours[seed].errors for seed in seeds}
        their_errors = {seed: theirs[seed].errors for seed in seeds}
        try:  # the interval is not used here: the tests only
            stride, layout = _stride_and_panel(ours[seeds[0]])
            table = paired_comparison(
                mine_errors, their_errors, n_bootstrap=0, stride=stride, panel=layout
            )
        except ForecastabError:  # too few origins for the test: the seeds' ranges stand
            return None
        better, worse = significant_steps(table, level)
        untested, reason = untested_steps(table)
        horizon = len(table)
        tested = horizon - int((~np.isfinite(table["p_value"].to_numpy())).sum())
        found = [
            f"{word} at step(s) {steps}"
            for word, steps in (("significantly better", better), ("significantly worse", worse))
            if steps != "none"
        ]
        if tested == 0:
            quiet = f"not testable at any of the {horizon} steps ({reason})"
        else:
            quiet = (
                " and ".join(found) + ", not significantly different at the other tested steps"
                if found
                else "not significantly different at any tested step"
            )
            if untested != "none":
                quiet += f"; no test at step(s) {untested} of {horizon} ({reason})"
        n_origins = len(ours[seeds[0]].origins)
        where = f"{n_origins} test origins (stride {stride}"
        if layout is not None:
            n_series = len(np.unique(layout.series))
            where = (
                f"{n_origins} test origins of {n_series} series, the panel aggregate "
                "(the series' differentials summed per time"
            )
        text = (
            f"origin-level paired Diebold-Mariano test per forecast step on the same "
            f"{where}; squared error, paired over "
            f"{len(seeds)} seed(s), Holm-corrected over the {tested} tested step(s) at "
            f"{level:g}): `{strategy}` against `{reference}` is {quiet}"
        )
        if len(seeds) >= 2:
            overall = seed_level_comparison(mine_errors, their_errors, panel=layout).iloc[-1]
            text += (
                f". Seed-level (does the training procedure win on another seed?): the mean "
                f"squared-error difference over all steps is {overall['mean_difference']:.4g}, "
                f"lower for `{strategy}` in {int(overall['wins'])} of {len(seeds)} seeds "
                f"(t test p = {_p(overall['p_t'])}, sign test p = {_p(overall['p_sign'])})"
            )
        return text

    return test


def _p(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.3g}"
