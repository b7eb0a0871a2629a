"""Hints in ``summary.md``: symptoms a run's saved errors show, and what to try.

One symptom so far: a **level outside the training range**. On trending data a network without
per-window normalization (``normalization: none``, the default) sees test contexts at levels it
never saw in training; its free-running forecasts drift back towards the training levels, so the
signed error grows with the step. The runner saves, beside each run's per-origin errors
(``errors.npz``), the training rows' range and the share of test targets outside it
(:func:`level_arrays`); :func:`level_hints` turns the runs that show both a growing bias and a
test level outside the training range into one summary line each, naming ``normalization:
revin``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

OUTSIDE_SHARE = 0.5
"""A test level counts as outside the training range when at least this share of the test
targets lies outside it."""

BIAS_SHARE = 0.5
"""The bias counts when, at the last step, it is larger than at step 1, has the same sign, and
is at least this share of the last step's RMSE (the bias dominates the error)."""


def level_arrays(data: Any, targets: np.ndarray, units: str) -> dict[str, np.ndarray]:
    """The training rows' range and the share of test targets outside it, per target column.

    Args:
        data: the data module evaluated (``borders.train``, ``values``, ``raw_values``).
        targets: the evaluated targets ``(N, H, C)``, in ``units``.
        units: ``original`` or ``scaled``: which of the data's values the targets are in.

    Returns:
        ``train_range`` ``(2, C)`` (min, max), ``test_outside`` ``(C,)`` and
        ``target_names`` ``(C,)``, ready for ``np.savez``; empty for a panel of several series
        (each has its own training range: the hint is not drawn for panels yet).
    """
    from forecastab.evaluation.evaluate import target_column_names

    if not hasattr(data, "borders"):  # a panel's data module: borders per series
        return {}
    start, stop = data.borders.train
    series = data.raw_values if units == "original" else data.values
    train = np.asarray(series[start:stop], dtype=np.float64)  # (T_train, C)
    low, high = np.nanmin(train, axis=0), np.nanmax(train, axis=0)  # (C,)
    targets = np.asarray(targets, dtype=np.float64)  # (N, H, C)
    outside = ((targets < low) | (targets > high)).mean(axis=(0, 1))  # (C,)
    names = target_column_names(data, targets.shape[2])
    return {
        "train_range": np.stack([low, high]),
        "test_outside": outside,
        "target_names": np.array(names, dtype=str),
    }


def _normalization(config: Mapping[str, Any] | None, model: str) -> str:
    for entry in (config or {}).get("models") or []:
        if isinstance(entry, Mapping) and entry.get("name") == model:
            return str(entry.get("normalization") or "none")
    return "none"


def level_hints(
    runs: pd.DataFrame,
    *,
    config: Mapping[str, Any] | None = None,
    units: str = "original units",
) -> list[str]:
    """Summary lines for models whose free-running bias grows on a level outside training.

    Args:
        runs: :func:`forecastab.experiments.comparisons.load_errors` of the experiment (rows
            without ``train_range`` are skipped: runs saved before this check).
        config: the experiment's config, to skip models that already normalize per window.
        units: how the errors are measured, for the text.

    Returns:
        Markdown bullet lines, one per dataset, model and target column; empty when no run
        shows the symptom.
    """
    if runs is None or runs.empty or "train_range" not in runs:
        return []
    found: dict[tuple[str, str, str], list[tuple[str, np.ndarray, float, np.ndarray]]] = {}
    for row in runs.itertuples():
        if row.strategy == "baseline" or row.train_range is None:
            continue
        if _normalization(config, str(row.model)) != "none":
            continue
        errors = np.asarray(row.errors, dtype=np.float64)  # (N, H, C)
        if errors.ndim != 3 or errors.shape[1] < 2 or not np.isfinite(errors).all():
            continue
        bias = errors.mean(axis=0)  # (H, C)
        rmse = np.sqrt((errors**2).mean(axis=0))  # (H, C)
        names = list(row.target_names) if row.target_names is not None else []
        for c in range(errors.shape[2]):
            first, last = bias[0, c], bias[-1, c]
            growing = (
                abs(last) > abs(first)
                and np.sign(first) == np.sign(last)
                and abs(last) >= BIAS_SHARE * rmse[-1, c]
            )
            if growing and row.test_outside[c] >= OUTSIDE_SHARE:
                target = str(names[c]) if c < len(names) else f"target {c}"
                found.setdefault((str(row.dataset), str(row.model), target), []).append(
                    (str(row.strategy), bias[:, c], float(row.test_outside[c]),
                     row.train_range[:, c])
                )
    lines = []
    for (dataset, model, target), hits in sorted(found.items()):
        strategies = sorted({strategy for strategy, *_ in hits})
        bias = np.mean([b for _, b, _, _ in hits], axis=0)  # (H,)
        share = max(s for _, _, s, _ in hits)
        low, high = hits[0][3]
        trained = ", ".join(f"`{s}`" for s in strategies)
        lines.append(
            f"- **Test level outside the training range**: on `{dataset}`, {share:.0%} of the "
            f"test values of `{target}` lie outside the training rows' range [{low:.4g}, "
            f"{high:.4g}], and `{model}` (trained with {trained}) forecasts free-running with a "
            f"bias that grows from {bias[0]:+.4g} at step 1 to {bias[-1]:+.4g} at step "
            f"{len(bias)} (mean signed error over the test origins, {units}). A network "
            "without per-window normalization forecasts towards the levels it was trained on: "
            "try `normalization: revin` (or `last`) in the model's entry."
        )
    return lines
