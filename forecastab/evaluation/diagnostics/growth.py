"""How error grows with the forecast step: exposure gap, growth law, crossover with a baseline."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning, curve_fit

from forecastab.errors import ConfigError, DataError, unknown_name

GAP_KEYS = ["dataset", "model", "strategy", "seed", "step", "metric"]
AREA_RULES = ("trapezoid", "sum")


def exposure_gap(
    free_running: np.ndarray | pd.DataFrame,
    teacher_forced: np.ndarray | pd.DataFrame | None = None,
) -> np.ndarray | pd.DataFrame:
    """Exposure gap per step: free-running error minus teacher-forced error.

    A positive gap is the error that comes from feeding the model its own predictions instead
    of the truth; it is 0 at step 1 for a recurrent model (both modes see the same input).

    Args:
        free_running: ``(H,)`` free-running error curve, or a tidy results table. A table that
            holds both modes may be passed alone.
        teacher_forced: ``(H,)`` teacher-forced error curve, or a tidy table (the same runs).

    Returns:
        ``(H,)`` array for arrays; for tables a frame with columns ``dataset, model, strategy,
        seed, step, metric, free_running, teacher_forced, gap`` (runs without a teacher-forced
        evaluation are dropped).

    >>> exposure_gap(np.array([1.0, 3.0, 6.0]), np.array([1.0, 1.5, 2.0])).tolist()
    [0.0, 1.5, 4.0]
    """
    if isinstance(free_running, pd.DataFrame):
        table = free_running
        if teacher_forced is not None:
            if not isinstance(teacher_forced, pd.DataFrame):
                raise ConfigError("pass two tidy tables or two (H,) arrays to exposure_gap")
            table = pd.concat([free_running, teacher_forced], ignore_index=True)
        wide = table.pivot_table(index=GAP_KEYS, columns="mode", values="value", sort=False)
        if "free_running" not in wide or "teacher_forced" not in wide:
            raise DataError("exposure_gap needs free_running and teacher_forced rows")
        wide = wide[["free_running", "teacher_forced"]].dropna(subset=["teacher_forced"])
        wide.columns.name = None
        wide["gap"] = wide["free_running"] - wide["teacher_forced"]
        return wide.reset_index()
    if teacher_forced is None or isinstance(teacher_forced, pd.DataFrame):
        raise ConfigError("pass two tidy tables or two (H,) arrays to exposure_gap")
    free_running = np.asarray(free_running, dtype=np.float64)
    teacher_forced = np.asarray(teacher_forced, dtype=np.float64)
    if free_running.shape != teacher_forced.shape:
        raise DataError(
            f"error curves differ in shape: {free_running.shape} vs {teacher_forced.shape}"
        )
    return free_running - teacher_forced


def gap_area(gap: np.ndarray, *, rule: str = "trapezoid") -> float:
    """Area under an exposure-gap curve over the horizon, one number per model.

    Steps are one unit apart. ``trapezoid`` integrates from step 1 to step H (the first and
    last steps count half); ``sum`` adds every step (the mean gap times H).

    Args:
        gap: ``(H,)`` exposure gap per step.
        rule: ``trapezoid`` or ``sum``.

    >>> gap_area(np.array([0.0, 1.0, 2.0])), gap_area(np.array([0.0, 1.0, 2.0]), rule="sum")
    (2.0, 3.0)
    """
    gap = np.asarray(gap, dtype=np.float64)
    if rule == "trapezoid":
        return float(np.trapezoid(gap))
    if rule == "sum":
        return float(gap.sum())
    raise ConfigError(unknown_name("area rule", rule, AREA_RULES))


def _linear(h: np.ndarray, a: float, b: float) -> np.ndarray:
    return a + b * h


def _exponential(h: np.ndarray, a: float, b: float) -> np.ndarray:
    return a * np.exp(b * h)


def _power(h: np.ndarray, a: float, b: float) -> np.ndarray:
    return a * np.power(h, b)


GROWTH_FORMS = {"linear": _linear, "exponential": _exponential, "power": _power}


@dataclass(frozen=True)
class GrowthFit:
    """The growth law that best describes an error curve.

    Attributes:
        form: ``linear`` (``a + b h``), ``exponential`` (``a exp(b h)``) or ``power``
            (``a h^b``).
        parameters: ``{"a": ..., "b": ...}`` of the chosen form.
        growth_rate: ``b``: the added error per step (linear), the log-growth per step
            (exponential; the error multiplies by ``exp(b)`` each step) or the exponent (power).
        aic: AIC of every form that could be fitted (lower is better).
    """

    form: str
    parameters: dict[str, float]
    growth_rate: float
    aic: dict[str, float]

    def predict(self, steps: np.ndarray) -> np.ndarray:
        """The fitted curve at the given steps."""
        return GROWTH_FORMS[self.form](np.asarray(steps, dtype=np.float64), **self.parameters)


def _initial_guess(form: str, steps: np.ndarray, errors: np.ndarray) -> tuple[float, float]:
    positive = errors > 0
    if form == "linear" or positive.sum() < 2:
        slope, intercept = np.polyfit(steps, errors, 1)
        return float(intercept), float(slope)
    x = steps[positive] if form == "exponential" else np.log(steps[positive])
    slope, intercept = np.polyfit(x, np.log(errors[positive]), 1)
    return float(np.exp(intercept)), float(slope)


def fit_error_growth(errors: np.ndarray, steps: np.ndarray | None = None) -> GrowthFit:
    """Fit linear, exponential and power-law growth to an error curve and keep the best by AIC.

    Each form has two parameters, fitted by least squares (``scipy.optimize.curve_fit``)
    from a log-linear starting point. AIC is ``n log(RSS / n) + 2k`` with ``k = 2`` for every
    form, so the choice is the smallest residual; RSS is floored at a tiny fraction of the
    signal so that an exact fit does not give ``-inf``.

    Args:
        errors: ``(H,)`` error per step (MAE, RMSE, ...), finite.
        steps: ``(H,)`` the steps, default ``1..H``.

    Returns:
        A :class:`GrowthFit`.

    Raises:
        DataError: fewer than 3 steps or non-finite errors (a diverged rollout).

    >>> fit = fit_error_growth(0.1 * np.exp(0.2 * np.arange(1, 21)))
    >>> fit.form, round(fit.growth_rate, 3)
    ('exponential', 0.2)
    """
    errors = np.asarray(errors, dtype=np.float64)
    steps = np.arange(1, len(errors) + 1.0) if steps is None else np.asarray(steps, float)
    if errors.ndim != 1 or len(errors) < 3 or steps.shape != errors.shape:
        raise DataError(f"fit_error_growth needs an (H,) curve with H >= 3, got {errors.shape}")
    if not np.all(np.isfinite(errors)):
        raise DataError("fit_error_growth needs finite errors; the rollout diverged")
    n = len(errors)
    floor = 1e-24 * max(float(np.sum(errors**2)), 1e-300)
    fits: dict[str, tuple[float, float]] = {}
    aic: dict[str, float] = {}
    for form, function in GROWTH_FORMS.items():
        guess = _initial_guess(form, steps, errors)
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", OptimizeWarning)
                params, _ = curve_fit(function, steps, errors, p0=guess, maxfev=5000)
        except (RuntimeError, ValueError):
            continue
        residual = errors - function(steps, *params)
        rss = float(np.sum(residual**2))
        if not np.isfinite(rss):
            continue
        fits[form] = (float(params[0]), float(params[1]))
        aic[form] = n * np.log(max(rss, floor) / n) + 2 * 2
    best = min(aic, key=aic.get)
    a, b = fits[best]
    return GrowthFit(form=best, parameters={"a": a, "b": b}, growth_rate=b, aic=aic)


def crossover_step(model_curve: np.ndarray, baseline_curve: np.ndarray) -> int | None:
    """The first step (1-based) where a model's error exceeds a baseline's, None if never.

    This is the horizon beyond which a simple baseline would have served better.

    Args:
        model_curve: ``(H,)`` model error per step.
        baseline_curve: ``(H,)`` baseline error per step, same metric and origins.

    >>> crossover_step(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0]))
    3
    >>> crossover_step(np.array([1.0, 1.0]), np.array([2.0, 2.0])) is None
    True
    """
    model_curve = np.asarray(model_curve, dtype=np.float64)
    baseline_curve = np.asarray(baseline_curve, dtype=np.float64)
    if model_curve.shape != baseline_curve.shape:
        raise DataError(
            f"error curves differ in shape: {model_curve.shape} vs {baseline_curve.shape}"
        )
    # a NaN step of the model (diverged) counts as behind the baseline
    behind = (model_curve > baseline_curve) | (np.isnan(model_curve) & ~np.isnan(baseline_curve))
    return int(np.argmax(behind)) + 1 if behind.any() else None
