"""The answer an exposure-bias experiment gives, in numbers: the opening of ``summary.md``.

From the results table alone: the exposure gap of the teacher-forced model, the best training
strategy free-running against teacher forcing and against the best baseline, and how far the
seeds agree. Numbers are means over every forecast step, test origin and seed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

BASELINE = "baseline"
FREE_RUNNING = "free_running"
TEACHER_FORCED = "teacher_forced"


def teacher_forcing_strategies(config: Mapping[str, Any] | None, names: Sequence[str]) -> list[str]:
    """The strategies that train with teacher forcing throughout (a constant ratio of 1).

    Read from the experiment's config; without one, the strategy named ``teacher_forcing``.

    >>> teacher_forcing_strategies({"strategies": [{"name": "tf", "teacher_forcing":
    ...     {"schedule": "constant", "ratio": 1.0}}]}, ["tf", "ss"])
    ['tf']
    """
    found = []
    for entry in (config or {}).get("strategies") or []:
        schedule = entry.get("teacher_forcing") or {}
        plain = entry.get("method") in (None, "scheduled_sampling")
        if plain and schedule.get("schedule") == "constant" and schedule.get("ratio") == 1.0:
            found.append(str(entry.get("name")))
    found = [name for name in found if name in names]
    return found or [name for name in names if name == "teacher_forcing"]


def _per_seed_means(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean over steps of each (model, strategy, seed); diverged runs (NaN) are left out."""
    means = rows.groupby(["model", "strategy", "seed"], sort=True)["value"].mean().reset_index()
    return means[np.isfinite(means["value"])]


PairedTest = Callable[[str, str, str], "str | None"]
"""``paired_test(model, strategy, reference_strategy)``: a sentence on whether ``strategy``
differs significantly from ``reference_strategy`` for ``model``, or None when it cannot say."""


def _fmt(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:.4g}"


def _pct(new: float, old: float) -> str:
    if not (np.isfinite(new) and np.isfinite(old)) or old == 0:
        return ""
    return f" ({(new - old) / abs(old):+.0%})"


def _seed_range(seeds: pd.Series) -> str:
    return f"{_fmt(seeds.min())}–{_fmt(seeds.max())}" if len(seeds) > 1 else ""


def _seed_agreement(
    metric: str, best: pd.Series, best_name: str, other: pd.Series, other_name: str
) -> str:
    """Whether the per-seed means of the best series and another overlap, as a sentence.

    The names are printed as given (already in backquotes).
    """
    overlap = best.max() >= other.min()
    return (
        f"over {len(best)} seeds the mean {metric} ranges {_seed_range(best)} ({best_name}) "
        f"and {_seed_range(other)} ({other_name}): the ranges "
        + ("overlap, so the seeds do not settle which is better" if overlap else "do not overlap")
    )


def answer_lines(
    rows: pd.DataFrame,
    *,
    metric: str,
    tf_strategies: Sequence[str],
    units: str = "original units",
    significance: str | None = None,
    pending_test: bool = True,
    paired_test: PairedTest | None = None,
) -> list[str]:
    """Sentences that answer the experiment's question for one dataset, target and metric.

    Args:
        rows: results rows of one dataset, target and metric.
        metric: the metric's name as printed (``RMSE``).
        tf_strategies: the teacher-forcing strategies (see :func:`teacher_forcing_strategies`).
        units: how the values are measured, for the text.
        significance: a sentence on the significance of the best strategy's difference, or None
            to state the seeds' agreement.
        pending_test: say that the paired significance test is not available yet.
        paired_test: the paired test of the best strategy against the one it is compared
            with (see :data:`PairedTest`); its sentence comes before the seeds' agreement.

    Returns:
        Markdown bullet lines (empty when there are no learned models).
    """
    neural = rows[rows["strategy"] != BASELINE]
    free = _per_seed_means(neural[neural["mode"] == FREE_RUNNING])
    if free.empty:
        if (neural["mode"] == FREE_RUNNING).any():
            return [f"- No finite free-running {metric}: every learned run diverged."]
        return []
    forced = _per_seed_means(neural[neural["mode"] == TEACHER_FORCED])
    mean_free = free.groupby(["model", "strategy"])["value"].mean()
    seeds = int(free.groupby(["model", "strategy"]).size().max())
    lines = []
    for model, strategy in mean_free.index:
        if strategy not in tf_strategies:
            continue
        fr = mean_free[(model, strategy)]
        tf_rows = forced[(forced["model"] == model) & (forced["strategy"] == strategy)]
        if tf_rows.empty:
            continue
        tf = tf_rows["value"].mean()
        lines.append(
            f"- **Exposure gap**: `{model}` trained with `{strategy}` has {metric} {_fmt(tf)} "
            f"when fed the true values (teacher-forced evaluation) but {_fmt(fr)} on its own "
            f"predictions (free-running evaluation): a gap of {_fmt(fr - tf)}{_pct(fr, tf)}."
        )
    best_model, best_strategy = mean_free.idxmin()
    best = mean_free.min()
    best_seeds = free[(free["model"] == best_model) & (free["strategy"] == best_strategy)]["value"]
    reference = [
        (m, s) for m, s in mean_free.index if m == best_model and s in tf_strategies
    ]
    text = (
        f"- **Best free-running forecaster**: `{best_model}` trained with `{best_strategy}`, "
        f"{metric} {_fmt(best)}"
    )
    if reference and reference[0] != (best_model, best_strategy):
        tf_value = mean_free[reference[0]]
        tf_seeds = free[(free["model"] == best_model) & (free["strategy"] == reference[0][1])]
        text += f", against {_fmt(tf_value)} for the same model trained with `{reference[0][1]}`"
        text += f"{_pct(best, tf_value)}"
        if significance is None and paired_test is not None:
            significance = paired_test(best_model, best_strategy, reference[0][1])
        if significance is None and seeds > 1:
            significance = _seed_agreement(
                metric, best_seeds, f"`{best_strategy}`", tf_seeds["value"], f"`{reference[0][1]}`"
            )
    elif reference:
        others = mean_free.drop(reference[0])
        others = others[[m == best_model for m, _ in others.index]]
        if len(others):
            listed = ", ".join(f"`{s}` {_fmt(v)}" for (_, s), v in others.items())
            text += f"; teacher forcing is the best strategy here (the others: {listed})"
            runner_up = others.idxmin()[1]
            if significance is None and paired_test is not None:
                significance = paired_test(best_model, runner_up, best_strategy)
            if significance is None and seeds > 1:
                second = free[(free["model"] == best_model) & (free["strategy"] == runner_up)]
                significance = _seed_agreement(
                    metric, best_seeds, f"`{best_strategy}`", second["value"],
                    f"`{runner_up}`, the next best",
                )
    baselines = rows[(rows["strategy"] == BASELINE) & (rows["mode"] == FREE_RUNNING)]
    if not baselines.empty:
        base = baselines.groupby("model")["value"].mean()
        name, value = base.idxmin(), base.min()
        relation = "beats" if best < value else "does not beat"
        text += f"; it {relation} the best baseline, `{name}`, {_fmt(value)}{_pct(best, value)}"
        if seeds > 1:
            wins = int((best_seeds < value).sum())
            text += f" ({wins} of {len(best_seeds)} seeds beat it)"
    lines.append(text + ".")
    if significance:
        lines.append(f"- **How sure**: {significance}.")
    if pending_test and paired_test is None:
        lines.append(
            "- A paired significance test over the test origins (Diebold-Mariano, "
            "`forecastab compare`) is not on this branch yet; the seed ranges above are the "
            "evidence."
        )
    lines.append(
        f"- Means over every forecast step, every test origin and {seeds} seed(s), in {units}."
    )
    return lines
