"""Long free runs: does a model's own dynamics keep the long-run behaviour of the data?

Error over one horizon is not the whole story for chaotic systems: exposure bias also shows as
a free-running model whose long-run behaviour collapses to a fixed point or a cycle. The
dynamical-systems reconstruction literature measures that with two numbers, defined here as in
the GTF paper (Hess et al. 2023, ICML; its reference code, GTF-shPLRNN, ``src/measures``):

- :func:`state_space_divergence` ``D_stsp``: the Kullback-Leibler divergence
  ``KL(p_true || p_generated)`` between the state-space occupations of the true and the
  generated series. Below 6 dimensions each occupation is a histogram of ``n_bins`` bins per
  dimension over the true data's range widened by 0.1 standard deviations, Laplace-smoothed
  with ``alpha = 1e-5``; from 6 dimensions on, each series is a Gaussian mixture with one
  component of variance ``scaling`` (1.0) per point of the z-scored series, and the KL is a
  Monte-Carlo estimate over samples of the true mixture (Hershey & Olsen 2007). A univariate
  series is first delay-embedded (:func:`delay_embedding`).
- :func:`power_spectrum_distance` ``D_H``: per dimension, the Hellinger distance between the
  power spectra of the z-scored true and generated series, each smoothed with a Gaussian kernel
  of ``smoothing`` (20) frequency bins and normalized to sum to 1; averaged over dimensions.

Both are near 0 for two long stretches of the same attractor and large against a fixed point or
a sine (see the README for the bundled Lorenz numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d

from forecastab.errors import ConfigError, DataError

GMM_FROM_DIMENSION = 6
"""Histograms below this many dimensions, Gaussian mixtures from it on (as the GTF code)."""


def _as_matrix(series: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(series, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]  # (T, 1)
    if array.ndim != 2 or len(array) < 2:
        raise DataError(f"{name} must be a (T, N) array with T >= 2, got shape {array.shape}")
    return array


def autocorrelation_lag(series: np.ndarray, *, threshold: float = 1.0 / math.e) -> int:
    """The first lag at which the autocorrelation of a 1-D series drops below ``threshold``.

    >>> t = np.arange(400)
    >>> autocorrelation_lag(np.sin(2 * np.pi * t / 40))  # cos(2 pi lag / 40) < 1/e from lag 8
    8
    """
    x = np.asarray(series, dtype=np.float64).ravel()
    x = x - x.mean()
    variance = float(x @ x)
    if variance == 0:
        return 1
    for lag in range(1, len(x) // 2):
        if float(x[lag:] @ x[:-lag]) / variance < threshold:
            return lag
    return 1


def delay_embedding(series: np.ndarray, *, dimension: int = 3, lag: int = 1) -> np.ndarray:
    """``(T - (dimension - 1) lag, dimension)`` delay vectors ``(x_t, x_{t+lag}, ...)``.

    >>> delay_embedding(np.arange(5.0), dimension=2, lag=2).tolist()
    [[0.0, 2.0], [1.0, 3.0], [2.0, 4.0]]
    """
    x = np.asarray(series, dtype=np.float64).ravel()
    if dimension < 1 or lag < 1:
        raise ConfigError(
            f"delay embedding needs dimension >= 1 and lag >= 1, got {dimension}, {lag}"
        )
    rows = len(x) - (dimension - 1) * lag
    if rows < 2:
        raise DataError(
            f"a series of {len(x)} values is too short for a delay embedding of dimension "
            f"{dimension} and lag {lag}"
        )
    return np.stack([x[i * lag : i * lag + rows] for i in range(dimension)], axis=1)  # (T', d)


def _histogram(points: np.ndarray, low: np.ndarray, high: np.ndarray, n_bins: int) -> np.ndarray:
    """Counts per bin ``(n_bins ** N,)``; points outside ``[low, high)`` are left out."""
    index = np.floor(n_bins * (points - low) / (high - low)).astype(np.int64)  # (T, N)
    inside = np.all((index >= 0) & (index < n_bins), axis=1)
    flat = np.ravel_multi_index(index[inside].T, (n_bins,) * points.shape[1])
    return np.bincount(flat, minlength=n_bins ** points.shape[1]).astype(np.float64)


def _laplace(counts: np.ndarray, alpha: float = 1e-5) -> np.ndarray:
    return (counts + alpha) / (counts.sum() + alpha * counts.size)


def _gmm_density(samples: np.ndarray, centers: np.ndarray, sigma: float) -> np.ndarray:
    """Mean over ``centers`` of isotropic Gaussian densities (without the 2 pi factor)."""
    squared = (
        np.sum(samples**2, axis=1)[:, None]
        + np.sum(centers**2, axis=1)[None, :]
        - 2.0 * samples @ centers.T
    )  # (S, T)
    return (
        np.exp(-0.5 * np.maximum(squared, 0.0) / sigma**2).mean(axis=1) / sigma ** samples.shape[1]
    )


def state_space_divergence(
    true: np.ndarray,
    generated: np.ndarray,
    *,
    n_bins: int = 30,
    scaling: float = 1.0,
    embedding_dimension: int = 3,
    lag: int | None = None,
    max_points: int = 10_000,
    mc_samples: int = 1000,
    seed: int = 0,
) -> float:
    """``D_stsp``: KL divergence of the true from the generated state-space occupation.

    Args:
        true: ``(T, N)`` (or ``(T,)``) the true series.
        generated: ``(T', N)`` the generated series (a long free run).
        n_bins: histogram bins per dimension (below 6 dimensions).
        scaling: the mixture components' variance (from 6 dimensions on), on z-scores.
        embedding_dimension: delay-embedding dimension for a univariate series.
        lag: delay-embedding lag; None: where the true series' autocorrelation drops below 1/e.
        max_points: points of each series used at most by the mixture estimate.
        mc_samples: Monte-Carlo samples of the mixture estimate.
        seed: seed of the Monte-Carlo samples.

    Returns:
        The divergence (>= 0 for histograms, up to Monte-Carlo noise for mixtures); NaN when
        the generated series is not finite or never visits the true data's range.
    """
    true, generated = _as_matrix(true, "true"), _as_matrix(generated, "generated")
    if true.shape[1] != generated.shape[1]:
        raise DataError(
            f"true and generated series differ in dimension: {true.shape}, {generated.shape}"
        )
    if not np.isfinite(generated).all():
        return float("nan")
    if true.shape[1] == 1 and embedding_dimension > 1:
        lag = autocorrelation_lag(true[:, 0]) if lag is None else lag
        true = delay_embedding(true[:, 0], dimension=embedding_dimension, lag=lag)
        generated = delay_embedding(generated[:, 0], dimension=embedding_dimension, lag=lag)
    std = true.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    if true.shape[1] < GMM_FROM_DIMENSION:
        low, high = true.min(axis=0) - 0.1 * std, true.max(axis=0) + 0.1 * std
        counts_generated = _histogram(generated, low, high, n_bins)
        if counts_generated.sum() == 0:
            return float("nan")
        p = _laplace(_histogram(true, low, high, n_bins))
        q = _laplace(counts_generated)
        return float(np.sum(p * np.log(p / q)))
    mean = true.mean(axis=0)
    x, y = (true - mean) / std, (generated - mean) / std
    x, y = x[:max_points], y[:max_points]
    rng = np.random.default_rng(seed)
    sigma = math.sqrt(scaling)
    samples = x[rng.integers(0, len(x), mc_samples)] + sigma * rng.normal(
        size=(mc_samples, x.shape[1])
    )
    p, q = _gmm_density(samples, x, sigma), _gmm_density(samples, y, sigma)
    keep = (p > 0) & (q > 0)
    return float(np.mean(np.log(p[keep]) - np.log(q[keep]))) if keep.any() else float("nan")


def _smoothed_spectrum(series: np.ndarray, smoothing: float) -> np.ndarray:
    std = series.std(axis=0)
    z = (series - series.mean(axis=0)) / np.where(std > 0, std, 1.0)  # (T, N)
    spectrum = np.abs(np.fft.rfft(z, axis=0)) ** 2  # (F, N)
    if smoothing > 0:
        spectrum = np.clip(gaussian_filter1d(spectrum, smoothing, axis=0, mode="reflect"), 0, None)
    total = spectrum.sum(axis=0)
    return spectrum / np.where(total > 0, total, 1.0)  # (F, N)


def power_spectrum_distance(
    true: np.ndarray, generated: np.ndarray, *, smoothing: float = 20.0
) -> float:
    """``D_H``: mean over dimensions of the Hellinger distance between smoothed power spectra.

    Both series are cut to the shorter length so their spectra share frequencies.

    Args:
        true: ``(T, N)`` (or ``(T,)``) the true series.
        generated: ``(T', N)`` the generated series.
        smoothing: standard deviation of the Gaussian smoothing, in frequency bins.

    Returns:
        A distance in ``[0, 1]``; NaN when the generated series is not finite.

    >>> t = np.arange(2000)
    >>> same = power_spectrum_distance(np.sin(t / 5.0), np.sin(t / 5.0 + 1.0))
    >>> other = power_spectrum_distance(np.sin(t / 5.0), np.sin(t / 50.0))
    >>> bool(same < 0.05 and other > 0.5)
    True
    """
    true, generated = _as_matrix(true, "true"), _as_matrix(generated, "generated")
    if not np.isfinite(generated).all():
        return float("nan")
    length = min(len(true), len(generated))
    p = _smoothed_spectrum(true[:length], smoothing)
    q = _smoothed_spectrum(generated[:length], smoothing)
    hellinger = np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2, axis=0)) / math.sqrt(2.0)  # (N,)
    return float(hellinger.mean())


@dataclass
class LongRun:
    """A long free run from the start of the test split.

    Attributes:
        generated: ``(steps, C)`` the free run, in the evaluation units.
        truth: ``(T, C)`` the true test rows it is compared with (at most ``steps``).
        d_stsp: state-space divergence.
        d_h: power-spectrum Hellinger distance.
        flags: ``constant``, ``cycle``, ``drift`` of the whole run (``rollout_flags``).
    """

    generated: np.ndarray
    truth: np.ndarray
    d_stsp: float
    d_h: float
    flags: dict[str, bool]


def long_free_run(
    forecaster: Any,
    data: Any,
    *,
    steps: int,
    units: str = "original",
    n_bins: int = 30,
    smoothing: float = 20.0,
) -> LongRun:
    """Run a forecaster free for ``steps`` steps from the start of the test split and score it.

    An autoregressive network or a baseline forecasts the ``steps`` at once. A direct network
    forecasts exactly its horizon ``H``: its long run is a chain of ``H``-step blocks, each
    forecast from the last ``L`` values of the run so far (its own forecasts once past the
    origin); the last block is cut to ``steps``. Every long run must cover at least one horizon.

    Args:
        forecaster: anything with ``predict_origins`` (networks and baselines).
        data: a ``WindowDataModule`` (``values``, ``raw_values``, ``scaler``, ``borders``,
            ``context_length``, ``horizon``).
        steps: length of the free run.
        units: ``original`` or ``scaled``.
        n_bins: histogram bins per dimension for ``D_stsp``.
        smoothing: spectrum smoothing for ``D_H``.

    Returns:
        A :class:`LongRun`.

    Raises:
        ConfigError: ``steps`` shorter than the data's horizon.
    """
    from forecastab.evaluation.diagnostics import rollout_flags

    horizon, context_length = int(data.horizon), int(data.context_length)
    if steps < horizon:
        raise ConfigError(
            f"long_run.steps ({steps}) is shorter than the horizon ({horizon}); a long run "
            f"must cover at least one horizon: set long_run.steps >= {horizon}"
        )
    values = np.asarray(data.values, dtype=np.float64)  # (T, C) scaled
    start = data.borders.test[0]
    origin = max(start - 1, context_length - 1)
    autoregressive = getattr(getattr(forecaster, "network", None), "autoregressive", True)
    covariates = getattr(data, "covariates", None)
    extra: dict[str, Any] = {}
    if covariates is not None and getattr(forecaster, "accepts_covariates", False):
        extra["covariates"] = covariates
        if getattr(covariates, "future", None) is not None:
            # known-future covariates exist only for the series' rows: the run stops there
            # (a direct network's last block needs all its horizon's rows)
            available = len(values) - 1 - origin
            steps = min(steps, available if autoregressive else available - available % horizon)
            if steps < horizon:
                raise DataError(
                    f"a long run from row {origin + 1} has future covariates for {steps} "
                    f"step(s) only, fewer than the horizon {horizon}; use a longer test split"
                )
    if autoregressive:
        run = forecaster.predict_origins(
            values, np.array([origin]), context_length=context_length, horizon=steps, **extra
        )[0]  # (steps, C); forecasters are causal (tests/evaluation/test_causality.py)
    else:
        history = values[: origin + 1]
        blocks = []
        while sum(len(b) for b in blocks) < steps:
            forecast = forecaster.predict_origins(
                history,
                np.array([len(history) - 1]),
                context_length=context_length,
                horizon=horizon,
                **extra,
            )[0]  # (H, C)
            blocks.append(forecast)
            history = np.concatenate([history, forecast])
        run = np.concatenate(blocks)[:steps]  # (steps, C)
    run = np.asarray(run, dtype=np.float64)
    train_start, train_stop = data.borders.train
    if units == "scaled":
        generated, series = run, values
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            generated = np.asarray(data.scaler.inverse_transform(run), dtype=np.float64)
        series = np.asarray(data.raw_values, dtype=np.float64)
    truth = series[origin + 1 : origin + 1 + steps]  # (T, C)
    flags = rollout_flags(generated[None], series[train_start:train_stop])
    return LongRun(
        generated=generated,
        truth=truth,
        d_stsp=state_space_divergence(truth, generated, n_bins=n_bins),
        d_h=power_spectrum_distance(truth, generated, smoothing=smoothing),
        flags={
            "constant": bool(flags.constant[0]),
            "cycle": bool(flags.cycle[0]),
            "drift": bool(flags.drift[0]),
        },
    )
