"""Compounding of errors along a rollout: prefix survival and valid prediction time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecastab.errors import ConfigError, DataError


def _as_nhc(errors: np.ndarray) -> np.ndarray:
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim == 2:
        errors = errors[:, :, None]  # (N, H, 1)
    if errors.ndim != 3:
        raise DataError(f"expected errors of shape (N, H) or (N, H, C), got {errors.shape}")
    return errors


@dataclass(frozen=True)
class Compounding:
    """Per-step hit rates and how they compound over the horizon.

    Attributes:
        hit_rate: ``(H,)`` ``p_h``, the fraction of origins whose error at step ``h`` is within
            the tolerance.
        survival: ``(H,)`` the fraction of origins whose errors stay within the tolerance at
            every step ``1..h`` (the whole prefix).
        independent: ``(H,)`` ``p_1 p_2 ... p_h``, the survival that independent per-step
            errors would give (the ``p^T`` argument for exposure bias).
    """

    hit_rate: np.ndarray
    survival: np.ndarray
    independent: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per step: ``step, hit_rate, survival, independent``."""
        steps = np.arange(1, len(self.hit_rate) + 1)
        return pd.DataFrame(
            {
                "step": steps,
                "hit_rate": self.hit_rate,
                "survival": self.survival,
                "independent": self.independent,
            }
        )


def compounding(errors: np.ndarray, tolerance: float) -> Compounding:
    """How a per-step success rate compounds into the probability of a whole good prefix.

    With ``C`` target columns a step is a hit when every column is within ``tolerance``
    (NaN and inf errors are misses). Survival above the independence product means the misses
    concentrate in the same rollouts (an early error drags later steps with it); perfectly
    correlated errors give ``min(p_1..p_h)``. Below it, misses are spread over rollouts.

    Args:
        errors: signed errors ``(N, H)`` or ``(N, H, C)``.
        tolerance: ``tau``, the largest absolute error counted as a hit.

    Returns:
        A :class:`Compounding`.

    >>> errors = np.array([[0.1, 0.1], [0.1, 2.0], [2.0, 2.0], [0.1, 0.1]])
    >>> result = compounding(errors, tolerance=0.5)
    >>> result.hit_rate.tolist(), result.survival.tolist(), result.independent.tolist()
    ([0.75, 0.5], [0.75, 0.5], [0.75, 0.375])
    """
    if not tolerance >= 0:
        raise ConfigError(f"tolerance must be non-negative, got {tolerance}")
    errors = _as_nhc(errors)
    with np.errstate(invalid="ignore"):
        hits = np.all(np.abs(errors) <= tolerance, axis=2)  # (N, H), NaN compares False
    hit_rate = hits.mean(axis=0)
    survival = np.logical_and.accumulate(hits, axis=1).mean(axis=0)
    return Compounding(hit_rate=hit_rate, survival=survival, independent=np.cumprod(hit_rate))


@dataclass(frozen=True)
class ValidPredictionTime:
    """Valid prediction time per origin and its summary.

    Attributes:
        per_origin: ``(N,)`` number of leading steps whose normalized error stays within the
            threshold (``H`` when it never exceeds it).
        mean: mean over origins.
        median: median over origins.
    """

    per_origin: np.ndarray
    mean: float
    median: float


def valid_prediction_time(
    errors: np.ndarray, *, scale: float | np.ndarray = 1.0, threshold: float = 0.4
) -> ValidPredictionTime:
    """How many steps a forecast stays valid: the standard measure for chaotic systems.

    The normalized error at a step is ``sqrt(mean over columns of (e / scale)^2)``; the valid
    prediction time of an origin is the number of steps before it first exceeds
    ``threshold`` (equivalently, the 0-based index of that first step), ``H`` if it never does.
    A non-finite error counts as exceeding.

    Args:
        errors: signed errors ``(N, H)`` or ``(N, H, C)``.
        scale: the per-column standard deviation ``(C,)`` (or one number) to normalize by;
            1 for errors already in z-score units.
        threshold: normalized error beyond which a forecast is no longer valid.

    Returns:
        A :class:`ValidPredictionTime`.

    >>> errors = np.array([[0.1, 0.2, 0.9], [0.5, 0.1, 0.1], [0.0, 0.0, 0.0]])
    >>> vpt = valid_prediction_time(errors, threshold=0.4)
    >>> vpt.per_origin.tolist(), vpt.mean, vpt.median
    ([2, 0, 3], 1.6666666666666667, 2.0)
    """
    errors = _as_nhc(errors)
    scale = np.asarray(scale, dtype=np.float64)
    if np.any(scale <= 0):
        raise ConfigError("scale must be positive")
    with np.errstate(invalid="ignore", over="ignore"):
        normalized = np.sqrt(np.mean(np.square(errors / scale), axis=2))  # (N, H)
        exceeded = ~(normalized <= threshold)  # NaN counts as exceeded
    horizon = errors.shape[1]
    per_origin = np.where(exceeded.any(axis=1), np.argmax(exceeded, axis=1), horizon)
    return ValidPredictionTime(
        per_origin=per_origin,
        mean=float(per_origin.mean()),
        median=float(np.median(per_origin)),
    )
