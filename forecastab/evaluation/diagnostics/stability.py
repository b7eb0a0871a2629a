"""Stability of free-running rollouts: sensitivity to the context, drift and repetition."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from forecastab.errors import ConfigError, DataError


def context_sensitivity(
    forecast_fn: Callable[[np.ndarray], np.ndarray],
    contexts: np.ndarray,
    *,
    noise_std: float,
    n_repeats: int = 8,
    seed: int = 0,
) -> np.ndarray:
    """How far free-running trajectories move apart after a small change of the context.

    Each repeat adds seeded Gaussian noise of standard deviation ``noise_std`` to every context
    value and rolls out again; the divergence at step ``h`` is the RMS distance between the
    perturbed and the unperturbed forecasts over repeats, origins and columns. Growth of the
    divergence with ``h`` measures how much the rollout amplifies early errors (a finite-time
    Lyapunov-like rate); a flat curve means the model forgets the perturbation.

    Only the contexts are perturbed, never the series: overlapping windows would otherwise
    perturb one origin's targets through another's context.

    Args:
        forecast_fn: maps contexts ``(N, L, C)`` to free-running forecasts ``(N, H, C)``
            (``ForecastModule.forecast`` does).
        contexts: ``(N, L, C)`` the unperturbed contexts.
        noise_std: standard deviation of the perturbation, in the units of the contexts.
        n_repeats: independent perturbations.
        seed: seed of the perturbations.

    Returns:
        ``(H,)`` RMS divergence per step.

    >>> def forecast(context):  # the last value times 2**h
    ...     return context[:, -1:, :] * 2.0 ** np.arange(1, 4)[None, :, None]
    >>> d = context_sensitivity(forecast, np.zeros((50, 5, 1)), noise_std=0.01)
    >>> np.round(d / d[0], 6).tolist()
    [1.0, 2.0, 4.0]
    """
    contexts = np.asarray(contexts)
    if contexts.ndim != 3:
        raise DataError(f"contexts must be (N, L, C), got {contexts.shape}")
    if not noise_std > 0 or n_repeats < 1:
        raise ConfigError("context_sensitivity needs noise_std > 0 and n_repeats >= 1")
    rng = np.random.default_rng(seed)
    reference = np.asarray(forecast_fn(contexts), dtype=np.float64)  # (N, H, C)
    squared = np.zeros(reference.shape[1])  # (H,)
    for _ in range(n_repeats):
        noise = rng.standard_normal(contexts.shape) * noise_std
        perturbed = (contexts + noise).astype(contexts.dtype, copy=False)  # (N, L, C)
        forecast = np.asarray(forecast_fn(perturbed), dtype=np.float64)  # (N, H, C)
        with np.errstate(invalid="ignore", over="ignore"):
            squared += np.square(forecast - reference).mean(axis=(0, 2))
    return np.sqrt(squared / n_repeats)


@dataclass(frozen=True)
class RolloutFlags:
    """Failure flags of each free-running rollout.

    Attributes:
        drift: ``(N,)`` the rollout leaves the training range (or holds inf/NaN).
        constant: ``(N,)`` the rollout has collapsed to a constant over its last steps.
        cycle: ``(N,)`` the rollout repeats a short cycle (period 2..``max_period``) over its
            last steps, without being constant.
        period: ``(N,)`` the shortest repeating period (1 for a constant, 0 for none).
    """

    drift: np.ndarray
    constant: np.ndarray
    cycle: np.ndarray
    period: np.ndarray

    @property
    def repetition(self) -> np.ndarray:
        """``(N,)`` the rollout is stuck: constant or a short cycle."""
        return self.constant | self.cycle

    def summary(self) -> dict[str, float]:
        """Fraction of rollouts with each flag."""
        return {
            "drift": float(self.drift.mean()),
            "repetition": float(self.repetition.mean()),
            "constant": float(self.constant.mean()),
            "cycle": float(self.cycle.mean()),
        }


def rollout_flags(
    predictions: np.ndarray,
    train: np.ndarray,
    *,
    margin: float = 0.25,
    tolerance: float = 1e-3,
    window: int | None = None,
    max_period: int = 4,
) -> RolloutFlags:
    """Flag rollouts that drift out of the data's range or fall into repetition.

    - drift: some value lies beyond the training min/max by more than ``margin`` times the
      training range, in any column (or is inf/NaN);
    - constant: over the last ``window`` steps every column moves less than ``tolerance``
      training standard deviations (its std over those steps);
    - cycle: over the last ``window`` steps every value equals the one ``p`` steps earlier
      within that tolerance, for some period ``2 <= p <= max_period`` with ``2p <= window``.

    Args:
        predictions: free-running forecasts ``(N, H, C)``.
        train: ``(T, C)`` training rows, in the same units as the predictions.
        margin: allowed excursion beyond the training range, as a fraction of that range.
        tolerance: size of a "no change", in training standard deviations.
        window: trailing steps examined for repetition; default ``max(2 max_period, H // 4)``
            (at most ``H``).
        max_period: longest cycle looked for.

    Returns:
        A :class:`RolloutFlags`.

    >>> train = np.linspace(-1.0, 1.0, 50)[:, None]
    >>> stuck = np.full((1, 12, 1), 0.3)
    >>> ramp = np.linspace(0.0, 3.0, 12)[None, :, None]
    >>> flags = rollout_flags(np.concatenate([stuck, ramp]), train)
    >>> flags.repetition.tolist(), flags.drift.tolist()
    ([True, False], [False, True])
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    train = np.asarray(train, dtype=np.float64)
    if predictions.ndim != 3 or train.ndim != 2 or train.shape[1] != predictions.shape[2]:
        raise DataError(
            f"expected predictions (N, H, C) and train (T, C), got {predictions.shape} "
            f"and {train.shape}"
        )
    horizon = predictions.shape[1]
    window = min(horizon, window or max(2 * max_period, horizon // 4))
    if window < 2:
        raise ConfigError(f"repetition needs a window of at least 2 steps, got {window}")
    low, high = train.min(axis=0), train.max(axis=0)  # (C,)
    allowed = margin * (high - low)  # (C,)
    with np.errstate(invalid="ignore"):
        inside = (predictions >= low - allowed) & (predictions <= high + allowed)  # (N, H, C)
    drift = ~inside.all(axis=(1, 2))

    tail = predictions[:, -window:]  # (N, W, C)
    still = tolerance * np.maximum(train.std(axis=0), np.finfo(float).tiny)  # (C,)
    with np.errstate(invalid="ignore"):
        constant = (tail.std(axis=1) < still).all(axis=1)  # (N,)
    period = np.where(constant, 1, 0)
    for p in range(max_period, 1, -1):  # descending, so the shortest period is kept
        if 2 * p > window:
            continue
        with np.errstate(invalid="ignore"):
            repeats = (np.abs(tail[:, p:] - tail[:, :-p]) <= still).all(axis=(1, 2))  # (N,)
        period = np.where(repeats & ~constant, p, period)
    return RolloutFlags(drift=drift, constant=constant, cycle=period > 1, period=period)
