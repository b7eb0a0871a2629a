"""Probabilistic forecast metrics per step: CRPS, pinball loss, interval coverage and width.

A predictive distribution reaches these metrics in one of two forms, both in the evaluation
units and aligned with targets ``(N, H, C)``:

- :class:`SampleForecast`: ``S`` sampled paths per origin ``(N, S, H, C)`` (a probabilistic
  network's ancestral samples);
- :class:`GaussianForecast`: a mean and a standard deviation ``(N, H, C)`` (the statsmodels
  baselines' closed-form predictive), scored in closed form.

Every metric returns :class:`~forecastab.evaluation.metrics.MetricValues` with per-origin
contributions ``(N, H)`` averaged over target columns, so the same tidy table, bootstrap and
charts serve them. Formulas (``y`` the truth, ``X, X'`` independent draws of the forecast):

- ``crps = E|X - y| - E|X - X'| / 2``. From ``m`` samples the second term is the unbiased
  pairwise mean ``sum_{i != j} |x_i - x_j| / (2 m (m - 1))`` (computed from the sorted samples
  as ``sum_k (2k - m - 1) x_(k) / (m (m - 1))``); with ``m = 1`` it is 0. For a Gaussian
  ``crps = sigma (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi))``, ``z = (y - mu) / sigma``.
- ``quantile_loss``: the pinball loss ``max(tau (y - q_tau), (tau - 1) (y - q_tau))`` averaged
  over the levels ``tau`` (default 0.1, ..., 0.9).
- ``coverage_50``, ``coverage_90``: the share of outcomes inside the central 50% / 90%
  interval ``[q_{(1-a)/2}, q_{(1+a)/2}]``; ``interval_width_90`` its width.
- ``path_coverage_90`` at step ``h``: the share of origins whose whole path ``1..h`` stays
  inside the 90% band; ``coverage_product_90`` at step ``h``: the product of the per-step
  coverages ``1..h``, which the path coverage would equal if misses were independent.

Sample quantiles for ``quantile_loss`` are numpy's linear interpolation between order
statistics. The interval ends of the coverage and width metrics use the Weibull plotting
positions instead (``q_p`` at order statistic ``(S + 1) p``, interpolated): for a calibrated
sampler the truth falls between order statistics ``i`` and ``j`` with probability
``(j - i) / (S + 1)``, so the central 90% interval covers 90% on average at any ``S``. Linear
interpolation (order statistic ``(S - 1) p + 1``) covers ``(S - 1) 0.9 / (S + 1)``: 88.2% at
``S = 100``, 80.0% at ``S = 19`` (measured in ``tests/evaluation/test_probabilistic.py``).

The **probability integral transform** (:func:`pit_values`) of each outcome, ``F(y)``, is
uniform on ``[0, 1]`` for a calibrated forecast; its histogram (``pit.png``, drawn by
:func:`forecastab.plotting.plot_pit_histogram`) shows how a forecast is miscalibrated: a U
shape is overconfident, a hump underconfident, a slope biased.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from forecastab.errors import ConfigError, DataError, unknown_name
from forecastab.evaluation.metrics import MetricValues

PROBABILISTIC_METRICS = (
    "crps",
    "quantile_loss",
    "coverage_50",
    "coverage_90",
    "interval_width_90",
    "path_coverage_90",
    "coverage_product_90",
)
"""Metric names that need a predictive distribution (samples or a Gaussian)."""

NOMINAL_COVERAGE = {"coverage_50": 0.5, "coverage_90": 0.9, "path_coverage_90": 0.9}
"""The nominal level each coverage metric is read against."""

DEFAULT_QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

_CHUNK = 256  # origins per chunk: sorting (chunk, S, H, C) stays small for many samples


@dataclass(frozen=True)
class SampleForecast:
    """``S`` sampled paths per origin, ``samples`` of shape ``(N, S, H, C)``."""

    samples: np.ndarray

    def __post_init__(self) -> None:
        if self.samples.ndim != 4:
            raise DataError(f"samples must have shape (N, S, H, C), got {self.samples.shape}")

    @property
    def shape(self) -> tuple[int, ...]:
        """``(N, H, C)``, the shape of the targets it forecasts."""
        n, _, h, c = self.samples.shape
        return (n, h, c)

    def column(self, index: int) -> SampleForecast:
        """The paths of one target column, ``(N, S, H, 1)``."""
        return SampleForecast(self.samples[..., index : index + 1])

    def chunks(self) -> list[tuple[slice, np.ndarray]]:
        """Origin slices with their samples sorted along the sample axis ``(n, S, H, C)``."""
        n = self.samples.shape[0]
        return [
            (rows, np.sort(np.asarray(self.samples[rows], dtype=np.float64), axis=1))
            for rows in (slice(start, start + _CHUNK) for start in range(0, n, _CHUNK))
        ]


@dataclass(frozen=True)
class GaussianForecast:
    """A Gaussian predictive per origin, step and column: ``mean`` and ``std`` ``(N, H, C)``."""

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        if self.mean.shape != self.std.shape or self.mean.ndim != 3:
            raise DataError(
                f"mean {self.mean.shape} and std {self.std.shape} must both be (N, H, C)"
            )

    @property
    def shape(self) -> tuple[int, ...]:
        """``(N, H, C)``."""
        return self.mean.shape

    def column(self, index: int) -> GaussianForecast:
        """The predictive of one target column, ``(N, H, 1)`` each."""
        part = slice(index, index + 1)
        return GaussianForecast(self.mean[..., part], self.std[..., part])


Predictive = SampleForecast | GaussianForecast



def _sorted_quantiles(
    ordered: np.ndarray, levels: Sequence[float], method: str = "linear"
) -> np.ndarray:
    """Quantiles ``(Q, n, H, C)`` of samples already sorted along axis 1."""
    return np.quantile(ordered, list(levels), axis=1, method=method)


def pit_values(forecast: Predictive, targets: np.ndarray) -> np.ndarray:
    """The probability integral transform ``F(y)`` of every outcome, ``(N, H, C)``.

    For samples, the mid-rank ``(#{x < y} + (#{x = y} + 1) / 2) / (S + 1)``, which a
    calibrated sampler makes uniform on ``(0, 1)`` up to the ``1 / (S + 1)`` grid; for a
    Gaussian, ``Phi((y - mu) / sigma)``. NaN where the forecast or the truth is not finite.

    >>> pit_values(SampleForecast(np.arange(4.0).reshape(1, 4, 1, 1)), np.full((1, 1, 1), 1.5))
    array([[[0.5]]])
    """
    targets = np.asarray(targets, dtype=np.float64)
    if tuple(forecast.shape) != targets.shape:
        raise DataError(
            f"predictive distribution of shape {tuple(forecast.shape)} does not match targets "
            f"{targets.shape}"
        )
    if isinstance(forecast, GaussianForecast):
        with np.errstate(invalid="ignore", divide="ignore"):
            return ndtr((targets - forecast.mean) / forecast.std)
    out = np.empty(targets.shape)
    for rows, ordered in forecast.chunks():
        truth = targets[rows][:, None]  # (n, 1, H, C)
        below = (ordered < truth).sum(axis=1)  # (n, H, C)
        ties = (ordered == truth).sum(axis=1)
        out[rows] = (below + (ties + 1) / 2.0) / (ordered.shape[1] + 1.0)
        broken = ~np.isfinite(ordered).all(axis=1) | ~np.isfinite(targets[rows])
        out[rows][broken] = np.nan
    return out


def _gaussian_quantiles(forecast: GaussianForecast, levels: Sequence[float]) -> np.ndarray:
    z = ndtri(np.asarray(levels, dtype=np.float64))[:, None, None, None]  # (Q, 1, 1, 1)
    return forecast.mean[None] + z * forecast.std[None]  # (Q, N, H, C)


def sample_crps(ordered: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """CRPS ``(n, H, C)`` of sorted samples ``(n, S, H, C)`` with the unbiased pairwise term.

    >>> float(sample_crps(np.array([0.0, 2.0]).reshape(1, 2, 1, 1), np.ones((1, 1, 1)))[0, 0, 0])
    0.0
    """
    m = ordered.shape[1]
    spread = np.abs(ordered - targets[:, None]).mean(axis=1)  # (n, H, C)
    if m == 1:
        return spread
    weights = (2.0 * np.arange(1, m + 1) - m - 1.0)[None, :, None, None]  # (1, S, 1, 1)
    pairwise = (weights * ordered).sum(axis=1) / (m * (m - 1.0))  # (n, H, C)
    return spread - pairwise


def gaussian_crps(mean: np.ndarray, std: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Closed-form CRPS of ``N(mean, std^2)`` at ``targets`` (elementwise); ``std = 0`` gives
    the absolute error.

    >>> round(float(gaussian_crps(np.zeros(1), np.ones(1), np.zeros(1))[0]), 6)
    0.233695
    """
    mean, std, targets = (np.asarray(a, dtype=np.float64) for a in (mean, std, targets))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (targets - mean) / std
        density = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        crps = std * (z * (2.0 * ndtr(z) - 1.0) + 2.0 * density - 1.0 / math.sqrt(math.pi))
    return np.where(std > 0, crps, np.abs(targets - mean))


def pinball(quantiles: np.ndarray, targets: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Pinball loss ``(Q, ...)`` of quantiles ``(Q, ...)`` at levels ``(Q,)``.

    >>> pinball(np.array([[1.0], [1.0]]), np.array([3.0]), [0.1, 0.9]).tolist()
    [[0.2], [1.8]]
    """
    tau = np.asarray(levels, dtype=np.float64).reshape(-1, *([1] * (quantiles.ndim - 1)))
    difference = targets[None] - quantiles
    return np.maximum(tau * difference, (tau - 1.0) * difference)


def _band(name: str) -> tuple[float, float]:
    level = 0.5 if name.endswith("_50") else 0.9
    return ((1.0 - level) / 2.0, (1.0 + level) / 2.0)


def check_quantiles(levels: Sequence[float]) -> tuple[float, ...]:
    """Quantile levels, each in ``(0, 1)``, at least one.

    Raises:
        ConfigError: an empty list or a level outside ``(0, 1)``.
    """
    levels = tuple(float(level) for level in levels)
    if not levels or any(not 0.0 < level < 1.0 for level in levels):
        raise ConfigError(f"quantile levels must be a non-empty list in (0, 1), got {list(levels)}")
    return levels


def check_probabilistic_metric(name: str) -> None:
    """Raise a ConfigError for a name that is not a probabilistic metric."""
    if name not in PROBABILISTIC_METRICS:
        raise ConfigError(unknown_name("probabilistic metric", name, PROBABILISTIC_METRICS))


def probabilistic_metrics(
    forecast: Predictive,
    targets: np.ndarray,
    names: Sequence[str],
    *,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
) -> dict[str, MetricValues]:
    """Every requested probabilistic metric at every origin and step.

    Args:
        forecast: sampled paths or a Gaussian, in the units of ``targets``.
        targets: ``(N, H, C)`` true values.
        names: metric names from :data:`PROBABILISTIC_METRICS`.
        quantiles: the levels ``quantile_loss`` averages over.

    Returns:
        Name -> :class:`MetricValues` with contributions ``(N, H)``.

    Raises:
        ConfigError: an unknown metric name or bad quantile levels.
        DataError: a forecast whose shape does not match the targets.

    >>> samples = np.arange(10.0).reshape(1, 10, 1, 1)
    >>> out = probabilistic_metrics(SampleForecast(samples), np.full((1, 1, 1), 4.5),
    ...                             ["coverage_90", "interval_width_90"])
    >>> out["coverage_90"].per_step.tolist(), out["interval_width_90"].per_step.tolist()
    ([1.0], [9.0])
    """
    for name in names:
        check_probabilistic_metric(name)
    levels = check_quantiles(quantiles)
    targets = np.asarray(targets, dtype=np.float64)
    if tuple(forecast.shape) != targets.shape:
        raise DataError(
            f"predictive distribution of shape {tuple(forecast.shape)} does not match targets "
            f"{targets.shape}"
        )
    bands = sorted({_band(n) for n in names if n not in ("crps", "quantile_loss")})
    wanted_levels = [*levels, *(q for band in bands for q in band)]
    band_levels = wanted_levels[len(levels) :]
    n, horizon, _ = targets.shape
    contributions = {name: np.empty((n, horizon)) for name in names}  # (N, H) each

    if isinstance(forecast, SampleForecast):
        pieces = [
            (
                rows,
                sample_crps(ordered, targets[rows]),
                np.concatenate(
                    [
                        _sorted_quantiles(ordered, levels),
                        _sorted_quantiles(ordered, wanted_levels[len(levels) :], "weibull"),
                    ]
                ),
            )
            for rows, ordered in forecast.chunks()
        ]
    else:
        pieces = [
            (
                slice(0, n),
                gaussian_crps(forecast.mean, forecast.std, targets),
                _gaussian_quantiles(forecast, wanted_levels),
            )
        ]
    with np.errstate(invalid="ignore", over="ignore"):
        for rows, crps, quantile_values in pieces:
            truth = targets[rows]  # (n, H, C)
            by_level = dict(zip(band_levels, quantile_values[len(levels) :]))  # band ends
            for name in names:
                if name == "crps":
                    value = crps
                elif name == "quantile_loss":
                    value = pinball(quantile_values[: len(levels)], truth, levels).mean(axis=0)
                else:
                    lower, upper = (by_level[q] for q in _band(name))
                    inside = ((truth >= lower) & (truth <= upper)).astype(np.float64)
                    if name == "interval_width_90":
                        value = upper - lower
                    elif name == "path_coverage_90":
                        value = np.cumprod(inside, axis=1)  # 1 while the path stayed inside
                    else:
                        value = inside
                contributions[name][rows] = value.mean(axis=2)  # (n, H)
    return {
        name: MetricValues(value, cumulative_product=name == "coverage_product_90")
        for name, value in contributions.items()
    }


def predictive_distribution(
    forecaster: object,
    values: np.ndarray,
    origins: np.ndarray,
    *,
    context_length: int,
    horizon: int,
    mode: str,
    num_samples: int,
    feedback: str,
    seed: int,
    scale: np.ndarray | None,
    offset: np.ndarray | None,
    covariates: object = None,
) -> Predictive | str:
    """The forecaster's predictive distribution at every origin, or why it has none.

    A probabilistic network (``distribution`` set) is sampled: ``num_samples`` paths per origin.
    A baseline with ``predict_distribution`` gives its Gaussian mean and standard deviation
    (free running only). The values come back scaled by ``scale`` and shifted by ``offset``
    (the inverse of the train-fitted z-score) when those are given.

    Returns:
        A :class:`SampleForecast` or :class:`GaussianForecast`, or a string saying why the
        forecaster has no predictive distribution in this mode.
    """
    if getattr(forecaster, "distribution", None) is not None:
        samples = forecaster.predict_origins(  # type: ignore[attr-defined]
            values,
            origins,
            context_length=context_length,
            horizon=horizon,
            mode=mode,
            num_samples=num_samples,
            feedback=feedback,
            seed=seed,
            **({} if covariates is None else {"covariates": covariates}),
        )
        samples = np.asarray(samples, dtype=np.float64)  # (N, S, H, C)
        if scale is not None:
            samples = samples * scale + offset
        return SampleForecast(samples)
    predict = getattr(forecaster, "predict_distribution", None)
    if predict is None:
        if getattr(forecaster, "is_baseline", False):
            return "this baseline has no predictive distribution"
        return "it is a point forecaster (set 'distribution' on its model entry to sample paths)"
    if mode != "free_running":
        return f"its predictive distribution exists in mode free_running only, not {mode}"
    result = predict(values, origins, context_length=context_length, horizon=horizon)
    if isinstance(result, str):
        return result
    mean, std = (np.asarray(a, dtype=np.float64) for a in result)  # (N, H, C) each
    if scale is not None:
        mean, std = mean * scale + offset, std * scale
    return GaussianForecast(mean, std)
