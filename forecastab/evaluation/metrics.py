"""Per-step forecast metrics over many origins.

Every metric takes predictions and targets of shape ``(N, H, C)`` (origins, steps, target
columns) and returns :class:`MetricValues`: the per-origin contributions ``(N, H)`` (each the
mean over the target columns) and, from them, the metric per step ``(H,)``. A metric is a mean
of its contributions over origins, passed through ``sqrt`` for the root metrics (RMSE, NRMSE),
which is what the bootstrap in :mod:`forecastab.evaluation.uncertainty` resamples.

A diverged rollout (inf or NaN predictions) gives inf or NaN values, never an exception;
``valid_fraction`` and ``vpt`` instead count a diverged step as the end of validity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from forecastab.errors import ConfigError, DataError, unknown_name


@dataclass(frozen=True)
class MetricValues:
    """One metric at every origin and step.

    Attributes:
        per_origin: ``(N, H)`` contribution of each origin at each step, averaged over the
            target columns (absolute errors for MAE, squared errors for RMSE, ...).
        root: the metric is the square root of the mean contribution (RMSE, NRMSE).
        cumulative_product: the metric at step ``h`` is the product of the mean contributions
            of steps ``1..h`` (the product of per-step coverages).
    """

    per_origin: np.ndarray
    root: bool = False
    cumulative_product: bool = False

    def finalize(self, mean_contribution: np.ndarray) -> np.ndarray:
        """The metric from contributions already averaged over origins (any shape ``(..., H)``)."""
        if self.cumulative_product:
            return np.cumprod(mean_contribution, axis=-1)
        return np.sqrt(mean_contribution) if self.root else mean_contribution

    @property
    def per_step(self) -> np.ndarray:
        """``(H,)`` the metric at each step: mean over origins and target columns."""
        with np.errstate(invalid="ignore", over="ignore"):
            return self.finalize(self.per_origin.mean(axis=0))


def _checked(predictions: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if predictions.shape != targets.shape or predictions.ndim != 3:
        raise DataError(
            f"predictions {predictions.shape} and targets {targets.shape} must both be (N, H, C)"
        )
    return predictions, targets


def _train_rows(train: np.ndarray | None, metric: str, n_columns: int) -> np.ndarray:
    if train is None:
        raise ConfigError(f"metric '{metric}' needs the training rows: pass train=(T, C) array")
    train = np.asarray(train, dtype=np.float64)
    if train.ndim == 1:
        train = train[:, None]  # (T, 1)
    if train.ndim != 2 or train.shape[1] != n_columns:
        raise DataError(f"train rows for '{metric}' must be (T, {n_columns}), got {train.shape}")
    return train


def mae(
    predictions: np.ndarray,
    targets: np.ndarray,
    *,
    train: np.ndarray | None = None,
    season_length: int = 1,
) -> MetricValues:
    """Mean absolute error per step.

    Args:
        predictions: ``(N, H, C)`` forecasts.
        targets: ``(N, H, C)`` true values.
        train: unused (uniform metric signature).
        season_length: unused (uniform metric signature).

    Returns:
        Contributions ``|e|`` averaged over columns.

    >>> mae(np.array([[[1.0], [2.0]]]), np.array([[[0.0], [4.0]]])).per_step.tolist()
    [1.0, 2.0]
    """
    predictions, targets = _checked(predictions, targets)
    with np.errstate(invalid="ignore", over="ignore"):
        return MetricValues(np.abs(predictions - targets).mean(axis=2))  # (N, H)


def mse(
    predictions: np.ndarray,
    targets: np.ndarray,
    *,
    train: np.ndarray | None = None,
    season_length: int = 1,
) -> MetricValues:
    """Mean squared error per step (same arguments as :func:`mae`).

    >>> mse(np.array([[[1.0], [2.0]]]), np.array([[[0.0], [4.0]]])).per_step.tolist()
    [1.0, 4.0]
    """
    predictions, targets = _checked(predictions, targets)
    with np.errstate(invalid="ignore", over="ignore"):
        return MetricValues(np.square(predictions - targets).mean(axis=2))  # (N, H)


def rmse(
    predictions: np.ndarray,
    targets: np.ndarray,
    *,
    train: np.ndarray | None = None,
    season_length: int = 1,
) -> MetricValues:
    """Root mean squared error per step: ``sqrt`` of the mean over origins and columns.

    >>> rmse(np.array([[[3.0]], [[0.0]]]), np.zeros((2, 1, 1))).per_step.round(4).tolist()
    [2.1213]
    """
    values = mse(predictions, targets)
    return MetricValues(values.per_origin, root=True)


def smape(
    predictions: np.ndarray,
    targets: np.ndarray,
    *,
    train: np.ndarray | None = None,
    season_length: int = 1,
) -> MetricValues:
    """Symmetric mean absolute percentage error, in percent: ``200 |e| / (|y| + |y_hat|)``.

    Lies in ``[0, 200]``; a step where both the target and the forecast are 0 counts as 0.

    >>> smape(np.array([[[1.0], [0.0]]]), np.array([[[3.0], [0.0]]])).per_step.tolist()
    [100.0, 0.0]
    """
    predictions, targets = _checked(predictions, targets)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        denominator = np.abs(targets) + np.abs(predictions)
        ratio = 200.0 * np.abs(predictions - targets) / denominator
        ratio = np.where(denominator == 0, 0.0, ratio)
        return MetricValues(ratio.mean(axis=2))  # (N, H)


def seasonal_naive_scale(train: np.ndarray, season_length: int = 1) -> np.ndarray:
    """In-sample MAE of the seasonal-naive forecast ``y_t = y_{t-m}`` per column, shape ``(C,)``.

    >>> seasonal_naive_scale(np.array([[1.0], [2.0], [4.0], [7.0]]), season_length=1).tolist()
    [2.0]
    """
    train = np.asarray(train, dtype=np.float64)
    if season_length < 1:
        raise ConfigError(f"season_length must be a positive integer, got {season_length}")
    if len(train) <= season_length:
        raise DataError(
            f"MASE needs more than season_length={season_length} training rows, got {len(train)}"
        )
    return np.abs(train[season_length:] - train[:-season_length]).mean(axis=0)  # (C,)


def mase(
    predictions: np.ndarray,
    targets: np.ndarray,
    *,
    train: np.ndarray | None = None,
    season_length: int = 1,
) -> MetricValues:
    """Mean absolute scaled error: ``|e|`` over the in-sample seasonal-naive MAE per column.

    Args:
        predictions: ``(N, H, C)`` forecasts.
        targets: ``(N, H, C)`` true values.
        train: ``(T, C)`` training rows in the same units as the targets.
        season_length: ``m``; 1 scales by the naive (random walk) forecast.

    Raises:
        ConfigError: ``train`` is missing.
        DataError: a training column is constant at lag ``m`` (zero scale).

    >>> train = np.array([[1.0], [2.0], [4.0], [7.0]])
    >>> mase(np.array([[[9.0]]]), np.array([[[8.0]]]), train=train).per_step.tolist()
    [0.5]
    """
    predictions, targets = _checked(predictions, targets)
    train = _train_rows(train, "mase", targets.shape[2])
    scale = seasonal_naive_scale(train, season_length)  # (C,)
    if np.any(scale == 0):
        raise DataError(
            f"MASE is undefined: a training column repeats exactly at lag {season_length}; "
            "use mae or nrmse"
        )
    with np.errstate(invalid="ignore", over="ignore"):
        return MetricValues((np.abs(predictions - targets) / scale).mean(axis=2))  # (N, H)


def nrmse(
    predictions: np.ndarray,
    targets: np.ndarray,
    *,
    train: np.ndarray | None = None,
    season_length: int = 1,
) -> MetricValues:
    """RMSE normalized by the standard deviation of the training targets (population std).

    Each column's error is divided by that column's training std before squaring, so the
    value is ``sqrt(mean over origins and columns of (e / std_c)^2)``: 1 is the error of always
    predicting the training mean on data that look like the training rows.

    Args:
        predictions: ``(N, H, C)`` forecasts.
        targets: ``(N, H, C)`` true values.
        train: ``(T, C)`` training rows in the same units as the targets.
        season_length: unused (uniform metric signature).

    >>> train = np.array([[0.0], [2.0]])
    >>> nrmse(np.array([[[3.0]]]), np.array([[[1.0]]]), train=train).per_step.tolist()
    [2.0]
    """
    predictions, targets = _checked(predictions, targets)
    train = _train_rows(train, "nrmse", targets.shape[2])
    std = train.std(axis=0)  # (C,)
    if np.any(std == 0):
        raise DataError("NRMSE is undefined: a training column is constant; use rmse")
    with np.errstate(invalid="ignore", over="ignore"):
        contributions = np.square((predictions - targets) / std).mean(axis=2)  # (N, H)
    return MetricValues(contributions, root=True)


def nd(
    predictions: np.ndarray,
    targets: np.ndarray,
    *,
    train: np.ndarray | None = None,
    season_length: int = 1,
) -> MetricValues:
    """Normalized deviation as DeepAR reports it: ``sum |e| / sum |y|`` (per step, over origins
    and columns); pooled over a panel's series it weighs each series by its magnitude.

    >>> nd(np.array([[[2.0]], [[1.0]]]), np.array([[[4.0]], [[2.0]]])).per_step.tolist()
    [0.5]
    """
    predictions, targets = _checked(predictions, targets)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        scale = np.abs(targets).mean(axis=(0, 2))  # (H,)
        return MetricValues((np.abs(predictions - targets) / scale[:, None]).mean(axis=2))


def nrmse_deepar(
    predictions: np.ndarray,
    targets: np.ndarray,
    *,
    train: np.ndarray | None = None,
    season_length: int = 1,
) -> MetricValues:
    """NRMSE as DeepAR reports it: ``sqrt(mean e^2) / mean |y|`` (per step, over origins and
    columns). Unlike :func:`nrmse` it is scaled by the evaluated values, not the training std.

    >>> nrmse_deepar(np.array([[[3.0]], [[3.0]]]), np.array([[[1.0]], [[1.0]]])).per_step.tolist()
    [2.0]
    """
    predictions, targets = _checked(predictions, targets)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        scale = np.abs(targets).mean(axis=(0, 2))  # (H,)
        contributions = np.square((predictions - targets) / scale[:, None]).mean(axis=2)
    return MetricValues(contributions, root=True)


VPT_THRESHOLD = 30.0
"""The sMAPE (percent, 0-200 scale) above which a forecast stops being valid (Gilpin 2023;
Zhang & Gilpin 2025)."""


def _valid_steps(predictions: np.ndarray, targets: np.ndarray, threshold: float) -> np.ndarray:
    """``(N, H)`` 1.0 while every step ``1..h`` of an origin has sMAPE <= threshold, then 0.0.

    sMAPE is dysts' pointwise definition, ``200 |e| / (|y| + |y_hat|)`` averaged over the
    target columns; a NaN or inf step (a diverged rollout) ends validity.
    """
    step_smape = smape(predictions, targets).per_origin  # (N, H)
    within = np.nan_to_num(step_smape, nan=np.inf) <= threshold  # (N, H)
    return np.cumprod(within, axis=1).astype(np.float64)  # (N, H)


def _lyapunov_steps(value: float | None, metric: str) -> float:
    if value is None:
        raise ConfigError(
            f"metric '{metric}' needs each series' Lyapunov time in steps: use the chaos135 "
            "dataset, or set lyapunov_time_steps on the data (samples per 1 / lambda_max)"
        )
    value = float(value)
    if not value > 0:
        raise DataError(f"lyapunov_time_steps must be positive, got {value}")
    return value


def valid_fraction(
    predictions: np.ndarray,
    targets: np.ndarray,
    *,
    train: np.ndarray | None = None,
    season_length: int = 1,
    lyapunov_time_steps: float | None = None,
    threshold: float = VPT_THRESHOLD,
) -> MetricValues:
    """Share of origins still valid at step ``h``: sMAPE <= ``threshold`` at every step ``1..h``.

    Args:
        predictions: ``(N, H, C)`` forecasts in original units.
        targets: ``(N, H, C)`` true values.
        train, season_length, lyapunov_time_steps: unused (uniform metric signature).
        threshold: the sMAPE (0-200 scale) that ends validity.

    >>> p = np.array([[[1.0], [1.0], [1.0]], [[1.0], [2.0], [1.0]]])
    >>> valid_fraction(p, np.ones((2, 3, 1))).per_step.tolist()
    [1.0, 0.5, 0.5]
    """
    predictions, targets = _checked(predictions, targets)
    return MetricValues(_valid_steps(predictions, targets, threshold))


def vpt(
    predictions: np.ndarray,
    targets: np.ndarray,
    *,
    train: np.ndarray | None = None,
    season_length: int = 1,
    lyapunov_time_steps: float | None = None,
    threshold: float = VPT_THRESHOLD,
) -> MetricValues:
    """Valid prediction time in Lyapunov times, censored at step ``h``.

    An origin's VPT is the number of steps before its sMAPE first exceeds ``threshold``,
    times ``dt * lambda_max`` (``1 / lyapunov_time_steps``): 0 when step 1 already exceeds
    it, ``h / lyapunov_time_steps`` when no step up to ``h`` does. The value at the last step
    is the VPT over the horizon (censored there); the mean over origins is reported.

    Args:
        predictions: ``(N, H, C)`` forecasts in original units.
        targets: ``(N, H, C)`` true values.
        train, season_length: unused (uniform metric signature).
        lyapunov_time_steps: samples per Lyapunov time ``1 / (lambda_max * dt)``.
        threshold: the sMAPE (0-200 scale) that ends validity.

    Raises:
        ConfigError: ``lyapunov_time_steps`` is not known.

    >>> p = np.array([[[1.0], [1.0], [1.0]], [[1.0], [2.0], [1.0]]])
    >>> vpt(p, np.ones((2, 3, 1)), lyapunov_time_steps=2.0).per_step.tolist()
    [0.5, 0.75, 1.0]
    """
    predictions, targets = _checked(predictions, targets)
    steps = _lyapunov_steps(lyapunov_time_steps, "vpt")
    valid = _valid_steps(predictions, targets, threshold)  # (N, H)
    return MetricValues(np.cumsum(valid, axis=1) / steps)  # (N, H)


Metric = Callable[..., MetricValues]

METRICS: dict[str, Metric] = {
    "mae": mae,
    "mse": mse,
    "rmse": rmse,
    "smape": smape,
    "mase": mase,
    "nrmse": nrmse,
    "nd": nd,
    "nrmse_deepar": nrmse_deepar,
    "valid_fraction": valid_fraction,
    "vpt": vpt,
}
"""Metric name -> function ``(predictions, targets, *, train, season_length) -> MetricValues``."""

NEEDS_TRAIN = frozenset({"mase", "nrmse"})
"""Metrics that are scaled by the training rows."""

NEEDS_LYAPUNOV = frozenset({"vpt"})
"""Metrics that need the series' Lyapunov time (``lyapunov_time_steps``)."""

NEEDS_ORIGINAL_UNITS = frozenset({"smape", "nd", "nrmse_deepar", "valid_fraction", "vpt"})
"""Metrics that divide by the values' magnitude: meaningless on z-scores, which cross zero."""


def check_metric_units(metrics: Iterable[str], units: str) -> None:
    """Reject a metric that means nothing in the chosen units.

    Raises:
        ConfigError: ``smape`` with ``units: scaled``.

    >>> check_metric_units(["mae", "smape"], "scaled")
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: metric 'smape' is meaningless with units: scaled (z-scores cross zero, so the percentage explodes); use units: original, or mae, rmse or mase
    """
    if units != "scaled":
        return
    for name in metrics:
        if name in NEEDS_ORIGINAL_UNITS:
            raise ConfigError(
                f"metric '{name}' is meaningless with units: scaled (z-scores cross zero, so the "
                "percentage explodes); use units: original, or mae, rmse or mase"
            )


def get_metric(name: str) -> Metric:
    """The metric function registered under ``name``.

    Raises:
        ConfigError: unknown name, with the nearest valid one.

    >>> get_metric("rmse").__name__
    'rmse'
    >>> get_metric("rmsee")
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: unknown metric 'rmsee' (did you mean 'rmse'?); valid: mae, mase, mse, nd, nrmse, nrmse_deepar, rmse, smape, valid_fraction, vpt
    """
    try:
        return METRICS[name]
    except KeyError:
        raise ConfigError(unknown_name("metric", name, METRICS)) from None
