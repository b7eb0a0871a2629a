"""Paired comparisons of two forecasters on the same origins, step by step.

"Does A beat B, at which steps, and is that real?" Both forecasters are scored on the very same
origins, so the question is about the per-origin loss differential
``d_t(h) = loss_A(e_t(h)) - loss_B(e_t(h))`` at each step ``h``:

- the **Diebold-Mariano** test of ``E[d(h)] = 0`` (Diebold & Mariano 1995) with dependence
  counted in origins (lag ``ceil(h / stride) - 1``: with origins every ``stride`` steps, the
  ``h``-step windows of origins that far apart share no target row). The default variance is
  the equal-weighted cosine estimator with fixed-b Student's t (Lazarus, Lewis, Stock & Watson
  2018; Coroneo & Iacone 2020 for DM), whose size holds at small ``N``; the truncated HAC of
  DM 1995 with the Harvey-Leybourne-Newbold correction (R's ``dm.test``) and Newey-West remain
  as ``kernel="rectangular"`` / ``"bartlett"``. Where the origins hold too few non-overlapping
  windows (``N < 8 (lag + 1)``) the test refuses: NaN with a reason, never a confident
  p-value. Calibration: ``experiments/benchmarks/calibration.py``; docs/statistics.md;
- a **block-bootstrap** interval of the mean differential (see
  :func:`forecastab.evaluation.uncertainty.metric_band`);
- the **Holm** step-down correction over the steps tested together, so "better at steps
  1-12" keeps its family-wise error rate;
- a **seed-level** test (:func:`seed_level_comparison`): the per-seed mean differences over
  seeds, a statement about the training procedure rather than about these trained models.

Negative differences mean A has the lower loss (A is better).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import fft, stats

from forecastab.errors import ConfigError, DataError, unknown_name
from forecastab.evaluation.block_bootstrap import check_bootstrap, overlap_span
from forecastab.evaluation.metrics import MetricValues

LOSSES = ("mse", "mae")
"""Per-origin losses a comparison can use: squared or absolute error."""

KERNELS = ("ewc", "rectangular", "bartlett")
"""Variance estimators: equal-weighted cosines with fixed-b t (default), or a HAC variance with
the truncated (rectangular) window of DM 1995 or Newey-West's Bartlett weights, with HLN."""

EWC_BIAS = 0.05
"""Largest relative bias of the cosine variance that the choice of ``B`` allows (see
:func:`cosine_degrees_of_freedom`); chosen with ``experiments/benchmarks/calibration.py``."""

EWC_MIN_RATIO = 8
"""The cosine test refuses (NaN with a reason) where ``N < EWC_MIN_RATIO * (lag + 1)``: fewer
non-overlapping windows than that leave fewer than 3 cosine degrees of freedom even for
dependence that ends with the overlap (see ``experiments/benchmarks/calibration.py``)."""

RHO_MAX = 0.98
"""Lag-1 autocorrelations are clipped here before they set ``B``."""

RHO_MARGIN = 4.0
"""Standard errors added to the lag-1 autocorrelation before it sets ``B`` (an upper bound)."""

HAC_MIN_RATIO = 10
"""The HAC estimators refuse where ``N < HAC_MIN_RATIO * (lag + 1)``."""

COMPARISON_COLUMNS = [
    "step",
    "mean_difference",
    "lower",
    "upper",
    "statistic",
    "p_value",
    "p_holm",
    "df",
    "note",
]


def losses(errors: np.ndarray, loss: str = "mse") -> np.ndarray:
    """Per-origin, per-step loss ``(N, H)`` of signed errors ``(N, H, C)``, mean over columns.

    >>> losses(np.array([[[1.0, -3.0]]]), "mae").tolist()
    [[2.0]]
    """
    if loss not in LOSSES:
        raise ConfigError(unknown_name("loss", loss, LOSSES))
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim == 2:
        errors = errors[:, :, None]  # (N, H, 1)
    if errors.ndim != 3:
        raise DataError(f"errors must have shape (N, H, C), got {errors.shape}")
    with np.errstate(invalid="ignore", over="ignore"):
        values = np.square(errors) if loss == "mse" else np.abs(errors)
        return values.mean(axis=2)  # (N, H)


def hac_variance(differential: np.ndarray, lag: int, kernel: str = "bartlett") -> float:
    """Long-run variance of a series: ``gamma_0 + 2 sum_k w_k gamma_k`` for ``k = 1..lag``.

    ``gamma_k`` are the sample autocovariances (divided by ``N``); ``w_k = 1 - k / (lag + 1)``
    (Bartlett, Newey & West 1987) or 1 (rectangular, the original DM choice).

    >>> hac_variance(np.array([1.0, -1.0, 1.0, -1.0]), lag=0)
    1.0
    >>> hac_variance(np.array([1.0, -1.0, 1.0, -1.0]), lag=1, kernel="rectangular")
    -0.5
    """
    if kernel not in ("bartlett", "rectangular"):
        raise ConfigError(unknown_name("kernel", kernel, ("bartlett", "rectangular")))
    d = np.asarray(differential, dtype=np.float64)
    n = len(d)
    centered = d - d.mean()
    variance = float(centered @ centered) / n
    for k in range(1, min(lag, n - 1) + 1):
        weight = 1.0 - k / (lag + 1.0) if kernel == "bartlett" else 1.0
        variance += 2.0 * weight * float(centered[k:] @ centered[:-k]) / n
    return variance


def cosine_degrees_of_freedom(
    differential: np.ndarray, span: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Degrees of freedom ``B`` of the cosine (EWC) variance of each column of ``(N, K)``.

    ``B = floor(N sqrt(6 BIAS / q) / pi)``, the most cosines whose average keeps the relative
    bias of the long-run variance below :data:`EWC_BIAS`, where ``q`` measures how fast the
    column's spectrum falls away from frequency 0: the larger of ``span^2 / 6`` (windows that
    overlap for ``span`` origins) and ``2 rho / (1 - rho)^2`` (an AR(1) with the column's
    lag-1 autocorrelation ``rho`` plus ``RHO_MARGIN`` standard errors ``(1 - rho^2) /
    sqrt(N)``, for dependence that outlasts the overlap). At most ``N / 2``.

    Returns:
        ``(B, rho)``, each ``(K,)``.

    >>> d = np.random.default_rng(0).normal(size=(400, 1))
    >>> cosine_degrees_of_freedom(d, np.array([1]))[0].tolist()
    [88]
    """
    d = np.asarray(differential, dtype=np.float64)
    n = len(d)
    centered = d - d.mean(axis=0)  # (N, K)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (centered[1:] * centered[:-1]).sum(axis=0) / (centered * centered).sum(axis=0)
        rho = np.clip(np.nan_to_num(rho), 0.0, RHO_MAX)  # (K,)
        # an upper bound: a persistent differential often looks less so on a few dozen
        # origins, and the test is then oversized exactly where it is given
        bound = np.minimum(rho + RHO_MARGIN * (1.0 - rho**2) / np.sqrt(n), RHO_MAX)
        curvature = np.maximum(
            np.asarray(span, dtype=np.float64) ** 2 / 6.0, 2.0 * bound / (1.0 - bound) ** 2
        )  # (K,)
        cosines = np.floor(n * np.sqrt(6.0 * EWC_BIAS / curvature) / np.pi)
    return np.minimum(cosines, n // 2).astype(np.int64), rho  # (K,) each


@dataclass(frozen=True)
class DieboldMarianoTests:
    """Per-column Diebold-Mariano tests.

    Attributes:
        statistic, p_value: ``(K,)``; NaN where the test refuses.
        lag: ``(K,)`` the dependence lag in origins, ``ceil(h / stride) - 1``.
        df: ``(K,)`` the degrees of freedom of the reference t distribution.
        reason: ``(K,)`` why the test refused a column, or ``""``.
    """

    statistic: np.ndarray
    p_value: np.ndarray
    lag: np.ndarray
    df: np.ndarray
    reason: np.ndarray


def diebold_mariano_tests(
    differential: np.ndarray,
    *,
    steps: np.ndarray | None = None,
    stride: int = 1,
    kernel: str = "ewc",
    lag: int | None = None,
) -> DieboldMarianoTests:
    """Diebold-Mariano tests of ``E[d] = 0`` for every column of ``d`` ``(N, K)`` at once.

    Dependence is counted in origins: at step ``h`` with origins every ``stride`` steps, the
    errors of origins fewer than ``ceil(h / stride)`` apart share target rows, so the lag is
    ``ceil(h / stride) - 1``.

    - ``ewc`` (default): the equal-weighted cosine variance (Lazarus, Lewis, Stock & Watson
      2018) with fixed-b inference: the statistic is Student's t with ``B`` degrees of freedom
      (:func:`cosine_degrees_of_freedom`, at least 1). It refuses a column (NaN with a
      reason) where ``N < EWC_MIN_RATIO * (lag + 1)``: the origins hold too few
      non-overlapping windows for any valid test. The refusal depends on ``N``, the step and
      the stride only, never on the data, so the p-values it does return are not selected.
    - ``rectangular`` / ``bartlett``: the HAC variance at the lag with the
      Harvey-Leybourne-Newbold correction for ``k = lag + 1`` and Student's t with ``N - 1``
      degrees of freedom (R's ``dm.test`` at stride 1); it refuses where the lag is positive
      and ``N < HAC_MIN_RATIO * (lag + 1)``.

    Args:
        differential: ``(N, K)`` loss differentials at consecutive origins.
        steps: ``(K,)`` the forecast step of each column; None: ``1..K``.
        stride: forecast steps between consecutive origins.
        kernel: ``ewc``, ``rectangular`` or ``bartlett``.
        lag: override the lag (origins) of every column; None: the overlap rule.

    Returns:
        :class:`DieboldMarianoTests`.
    """
    if kernel not in KERNELS:
        raise ConfigError(unknown_name("kernel", kernel, KERNELS))
    d = np.asarray(differential, dtype=np.float64)
    if d.ndim == 1:
        d = d[:, None]  # (N, 1)
    n, k = d.shape
    steps = np.arange(1, k + 1) if steps is None else np.asarray(steps, dtype=np.int64)
    lags = overlap_span(steps, int(stride)) - 1 if lag is None else np.full(k, int(lag))
    statistic, p_value = np.full(k, np.nan), np.full(k, np.nan)
    df = np.zeros(k, dtype=np.int64)
    reason = np.full(k, "", dtype=object)
    finite = np.isfinite(d).all(axis=0)  # (K,)
    reason[~finite] = "non-finite losses"
    if n < 3:
        reason[finite] = f"{n} origin(s): too few for a test"
        return DieboldMarianoTests(statistic, p_value, lags, df, reason)
    safe = np.where(finite, d, 0.0)
    mean = safe.mean(axis=0)  # (K,)
    constant = finite & (np.ptp(safe, axis=0) == 0)  # (K,)
    if kernel == "ewc":
        df, _ = cosine_degrees_of_freedom(safe, lags + 1)  # (K,)
        cosines = fft.dct(safe - mean, type=2, norm="ortho", axis=0)[1:]  # (N - 1, K)
        running = np.cumsum(cosines**2, axis=0)  # (N - 1, K)
        overlapping = n < EWC_MIN_RATIO * (lags + 1)  # (K,)
        df = np.maximum(df, 1)
        usable = finite & ~constant & ~overlapping
        picked = running[np.minimum(df, n - 1) - 1, np.arange(k)] / df  # (K,)
        with np.errstate(invalid="ignore", divide="ignore"):
            stat = mean / np.sqrt(picked / n)
        statistic[usable] = stat[usable]
        p_value[usable] = 2.0 * stats.t.sf(np.abs(stat[usable]), df=df[usable])
        few = finite & ~constant & overlapping
        reason[few] = [
            f"{n} origins are too few for a valid test: windows overlap for {lag_ + 1} "
            f"origin(s), so they hold {n / (lag_ + 1):.2f} non-overlapping windows, fewer "
            f"than {EWC_MIN_RATIO}"
            for lag_ in lags[few]
        ]
    else:
        df[:] = n - 1
        for column in np.flatnonzero(finite & ~constant):
            lag_ = int(lags[column])
            if lag_ > 0 and n < HAC_MIN_RATIO * (lag_ + 1):
                reason[column] = (
                    f"{n} origins are fewer than {HAC_MIN_RATIO} x (lag {lag_} + 1): no valid test"
                )
                continue
            value, p = _hac_test(safe[:, column], lag_, kernel)
            statistic[column], p_value[column] = value, p
            if not np.isfinite(p):
                reason[column] = "the HAC variance is not positive: no valid test"
    zero = constant & (mean == 0)
    statistic[zero], p_value[zero] = 0.0, 1.0
    signed = constant & (mean != 0)
    statistic[signed], p_value[signed] = np.sign(mean[signed]) * np.inf, 0.0
    return DieboldMarianoTests(statistic, p_value, lags, df, reason)


def _hac_test(d: np.ndarray, lag: int, kernel: str) -> tuple[float, float]:
    """HAC variance at ``lag`` with HLN (``k = lag + 1``) and Student's t on ``N - 1`` df."""
    n = len(d)
    variance = hac_variance(d, lag, kernel)
    if not variance > 0 and kernel == "rectangular":
        variance = hac_variance(d, lag, "bartlett")  # positive by construction
    if not variance > 0:
        return float("nan"), float("nan")
    k = lag + 1.0
    correction = (n + 1.0 - 2.0 * k + k * (k - 1.0) / n) / n
    if not 0 < correction <= 1:
        return float("nan"), float("nan")
    statistic = d.mean() / np.sqrt(variance / n) * np.sqrt(correction)
    return float(statistic), float(2.0 * stats.t.sf(abs(statistic), df=n - 1))


def diebold_mariano(
    differential: np.ndarray,
    *,
    horizon: int = 1,
    stride: int = 1,
    lag: int | None = None,
    kernel: str = "ewc",
    hln: bool = True,
) -> tuple[float, float]:
    """Diebold-Mariano test that a loss differential has mean zero (one column).

    Args:
        differential: ``(N,)`` loss differentials ``loss_A - loss_B`` at consecutive origins.
        horizon: the forecast step ``h`` the losses belong to.
        stride: forecast steps between consecutive origins.
        lag: dependence lag in origins; None: ``ceil(h / stride) - 1``.
        kernel: ``ewc`` (default, fixed-b t with cosine degrees of freedom), ``rectangular``
            (DM 1995 with HLN, R's ``dm.test``) or ``bartlett`` (Newey-West with HLN).
        hln: for ``rectangular``/``bartlett``, the Harvey-Leybourne-Newbold correction and
            Student's t; without it, the plain statistic and the normal distribution.

    Returns:
        ``(statistic, two-sided p_value)``; NaN where the test refuses (see
        :func:`diebold_mariano_tests` for the reason), ``(0, 1)`` when every differential is
        zero.

    >>> d = np.array([0.5, 1.2, -0.3, 0.8, 1.1, 0.4, -0.2, 0.9])
    >>> stat, p = diebold_mariano(d, horizon=1, kernel="rectangular")
    >>> round(stat, 4), round(p, 4)
    (2.7624, 0.028)
    """
    d = np.asarray(differential, dtype=np.float64)
    if kernel != "ewc" and not hln:
        if not np.isfinite(d).all() or len(d) < 2:
            return float("nan"), float("nan")
        variance = hac_variance(d, horizon - 1 if lag is None else lag, kernel)
        if not variance > 0:
            return float("nan"), float("nan")
        statistic = float(d.mean() / np.sqrt(variance / len(d)))
        return statistic, float(2.0 * stats.norm.sf(abs(statistic)))
    tests = diebold_mariano_tests(
        d[:, None], steps=np.array([horizon]), stride=stride, kernel=kernel, lag=lag
    )
    return float(tests.statistic[0]), float(tests.p_value[0])


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries stay NaN and are not counted).

    >>> holm(np.array([0.01, 0.04, 0.03, np.nan])).round(3).tolist()
    [0.03, 0.06, 0.06, nan]
    """
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full_like(p, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def compare_differential(
    differential: np.ndarray,
    *,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    block_length: int | None = None,
    method: str = "circular",
    seed: int = 0,
    lag: int | None = None,
    kernel: str = "ewc",
    stride: int = 1,
) -> pd.DataFrame:
    """Per-step tests and intervals of a loss-differential matrix ``(N, H)``.

    Returns:
        One row per step with :data:`COMPARISON_COLUMNS`.
    """
    d = np.asarray(differential, dtype=np.float64)
    if d.ndim != 2 or len(d) < 2:
        raise DataError(f"a loss differential must be (N, H) with N >= 2 origins, got {d.shape}")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must lie in (0, 1), got {confidence}")
    if isinstance(stride, bool) or not isinstance(stride, int | np.integer) or stride < 1:
        raise ConfigError(f"stride must be a positive integer, got {stride!r}")
    check_bootstrap(method, block_length)
    horizon = d.shape[1]
    steps = np.arange(1, horizon + 1)
    tests = diebold_mariano_tests(d, steps=steps, stride=int(stride), kernel=kernel, lag=lag)
    lower, upper = np.full(horizon, np.nan), np.full(horizon, np.nan)
    if n_bootstrap:
        from forecastab.evaluation.uncertainty import metric_band

        band = metric_band(
            MetricValues(d),
            n_bootstrap=n_bootstrap,
            confidence=confidence,
            seed=seed,
            method=method,
            block_length=block_length,
            stride=int(stride),
            warn=False,
        )
        lower, upper = band.lower, band.upper
    with np.errstate(invalid="ignore"):
        mean_difference = d.mean(axis=0)  # (H,)
    return pd.DataFrame(
        {
            "step": steps,
            "mean_difference": mean_difference,
            "lower": lower,
            "upper": upper,
            "statistic": tests.statistic,
            "p_value": tests.p_value,
            "p_holm": holm(tests.p_value),
            "df": tests.df,
            "note": tests.reason,
        }
    )


@dataclass(frozen=True)
class PanelLayout:
    """Where each origin of a panel's pooled errors sits: its series and its time.

    Attributes:
        series: ``(N,)`` the series of each origin (any labels; origins of one series are in
            time order).
        steps: ``(N,)`` each origin's time as a whole number of forecast steps on the grid all
            series share (e.g. hours since the panel's first timestamp).
    """

    series: np.ndarray
    steps: np.ndarray


def panel_series(differential: np.ndarray, layout: PanelLayout) -> tuple[np.ndarray, int]:
    """A panel's per-origin values as one series in time whose mean is the panel aggregate.

    Written for loss differentials (the paired test); any per-origin contributions of a
    metric that is a mean over origins work the same (the aggregate bands).

    The aggregate is the mean over series of each series' mean differential (every series
    counts once, as the panel's metrics do): ``D = sum_i w_i d_i`` with ``w_i = 1 / (S n_s)``.
    Its variance is counted Driscoll-Kraay style: the weighted deviations of all series at the
    same time are summed into one term per time, ``z_t = sum_{i at t} w_i (d_i - D)``, and the
    sequence ``y_t = D + T z_t`` over the ``T`` times of the shared grid (zero deviation where no
    series has an origin) has mean ``D`` and the long-run variance of the aggregate. The usual
    tests and block bootstrap on ``y`` therefore count serial dependence within a series and any
    dependence across series (ETTh1's channels move together), without assuming independent
    series. With every series on the same origins, ``y_t`` is the mean over series at ``t``.

    Args:
        differential: ``(N, H)`` loss differentials of the pooled origins.
        layout: the series and time of each origin.

    Returns:
        ``(T, H)`` the time series ``y`` and its stride in forecast steps (the greatest common
        divisor of the gaps between origin times).

    Raises:
        DataError: a layout that does not match the differentials.

    >>> d = np.array([[1.0], [3.0], [5.0], [7.0]])  # two series, two common times
    >>> y, stride = panel_series(d, PanelLayout(np.array([0, 0, 1, 1]), np.array([0, 2, 0, 2])))
    >>> y[:, 0].tolist(), stride
    ([3.0, 5.0], 2)
    """
    d = np.asarray(differential, dtype=np.float64)
    series, steps = np.asarray(layout.series), np.asarray(layout.steps, dtype=np.int64)
    if d.ndim != 2 or series.shape != (len(d),) or steps.shape != (len(d),):
        raise DataError(
            f"a panel layout must give a series and a time for each of the {len(d)} origins; "
            f"got {series.shape} and {steps.shape}"
        )
    _, codes, counts = np.unique(series, return_inverse=True, return_counts=True)
    weights = 1.0 / (len(counts) * counts[codes])  # (N,)
    with np.errstate(invalid="ignore"):
        aggregate = weights @ d  # (H,)
    times = np.unique(steps)
    gaps = np.diff(times)
    stride = int(np.gcd.reduce(gaps)) if len(gaps) else 1
    slots = (steps - times[0]) // stride  # (N,)
    n_times = int(slots.max()) + 1
    z = np.zeros((n_times, d.shape[1]))
    np.add.at(z, slots, weights[:, None] * (d - aggregate))
    return aggregate + n_times * z, stride


def paired_comparison(
    errors: np.ndarray | Mapping[int, np.ndarray],
    reference_errors: np.ndarray | Mapping[int, np.ndarray],
    *,
    loss: str = "mse",
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    block_length: int | None = None,
    method: str = "circular",
    seed: int = 0,
    lag: int | None = None,
    kernel: str = "ewc",
    stride: int = 1,
    panel: PanelLayout | None = None,
) -> pd.DataFrame:
    """Is a forecaster better than a reference, step by step, on the same origins?

    The origin-level test: conditional on the trained models, is the expected loss at a step
    different on origins like these? With several seeds the per-origin differential is
    averaged over them first, so it says nothing about another training run;
    :func:`seed_level_comparison` asks that.

    Args:
        errors: signed errors ``(N, H, C)`` of the forecaster on ``N`` origins in time order,
            or a mapping seed -> such errors.
        reference_errors: the reference's errors on the same origins (or a mapping seed ->
            errors). With mappings, the seeds both have are paired: the per-origin loss
            differential is averaged over them before testing (a single reference array is
            paired with every seed, as a baseline has no seed).
        loss: ``mse`` (squared error) or ``mae`` (absolute error).
        n_bootstrap: resamples for the interval of the mean difference; 0 skips the
            interval (``lower`` and ``upper`` are NaN) and computes the tests only.
        confidence: coverage of the interval; the test level is ``1 - confidence``.
        block_length: origins per bootstrap block; None: automatic per step.
        method: ``circular``, ``moving`` or ``iid`` bootstrap.
        seed: seed of the bootstrap.
        lag: dependence lag in origins; None: ``ceil(h / stride) - 1`` at step ``h``.
        kernel: ``ewc`` (default), ``rectangular`` or ``bartlett`` (see
            :func:`diebold_mariano_tests`).
        stride: forecast steps between consecutive origins (the evaluation stride); with
            ``panel``, taken from the layout instead.
        panel: the series and time of each origin when the errors pool a panel's series:
            the tests and interval are then of the panel aggregate (the mean over series of
            each series' mean difference), see :func:`panel_series`.

    Returns:
        One row per step: ``step, mean_difference`` (mean of ``loss - reference loss``:
        negative means the forecaster is better), ``lower, upper`` (block-bootstrap interval),
        ``statistic, p_value`` (Diebold-Mariano), ``p_holm`` (Holm over the steps), ``df``
        (degrees of freedom of the test), ``note`` (why a step has no test, else empty), plus
        ``n_seeds`` (the seeds paired).

    Raises:
        DataError: errors of different shapes, or no seed in common.

    >>> rng = np.random.default_rng(0)
    >>> reference = rng.normal(size=(300, 3, 1))
    >>> better = 0.5 * reference + 0.1 * rng.normal(size=(300, 3, 1))
    >>> table = paired_comparison(better, reference, n_bootstrap=200)
    >>> bool((table["mean_difference"] < 0).all() and (table["p_holm"] < 0.01).all())
    True
    """
    differentials = _differentials(errors, reference_errors, loss)  # (S, N, H)
    differential = differentials.mean(axis=0)  # (N, H)
    if panel is not None:
        differential, stride = panel_series(differential, panel)
    table = compare_differential(
        differential,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        block_length=block_length,
        method=method,
        seed=seed,
        lag=lag,
        kernel=kernel,
        stride=stride,
    )
    table["n_seeds"] = len(differentials)
    return table


SEED_COLUMNS = ["step", "mean_difference", "n_seeds", "t_statistic", "p_t", "wins", "p_sign"]


def seed_level_comparison(
    errors: Mapping[int, np.ndarray],
    reference_errors: np.ndarray | Mapping[int, np.ndarray],
    *,
    loss: str = "mse",
    panel: PanelLayout | None = None,
) -> pd.DataFrame:
    """Is the training procedure better, over seeds? One test per step and one over all steps.

    Each seed gives one number per step: its mean loss difference over the origins. Over the
    seeds, a one-sample t test (``n_seeds - 1`` degrees of freedom) and an exact two-sided
    sign test ask whether that difference is zero: "would another seed of this procedure do
    better", not "is this trained model better on these origins" (the origin-level
    :func:`paired_comparison`). With few seeds it has little power: 5 seeds that all agree give
    a sign-test p-value of 0.0625.

    Args:
        errors: a mapping seed -> signed errors ``(N, H, C)``.
        reference_errors: the reference's errors per seed, or one array (a baseline).
        loss: ``mse`` or ``mae``.
        panel: with pooled panel errors, each seed's number is the panel aggregate (the mean
            over series of each series' mean difference).

    Returns:
        :data:`SEED_COLUMNS`, one row per step and a last row with ``step`` 0 for the mean
        over all steps; ``wins`` counts seeds with a negative difference (better). NaN tests
        with fewer than 2 seeds.

    >>> rng = np.random.default_rng(0)
    >>> reference = {s: rng.normal(size=(50, 2, 1)) for s in range(4)}
    >>> better = {s: 0.5 * e for s, e in reference.items()}
    >>> seed_level_comparison(better, reference)["wins"].tolist()
    [4, 4, 4]
    """
    differentials = _differentials(errors, reference_errors, loss)  # (S, N, H)
    with np.errstate(invalid="ignore"):
        if panel is None:
            per_seed = differentials.mean(axis=1)  # (S, H)
        else:
            per_seed = np.stack(
                [panel_series(d, panel)[0].mean(axis=0) for d in differentials]
            )
    per_seed = np.concatenate([per_seed, per_seed.mean(axis=1, keepdims=True)], axis=1)
    n_seeds = len(per_seed)
    rows = []
    for column, step in enumerate([*range(1, per_seed.shape[1]), 0]):
        values = per_seed[:, column]
        wins = int((values < 0).sum())
        t_stat = p_t = p_sign = float("nan")
        if n_seeds >= 2 and np.isfinite(values).all():
            spread = values.std(ddof=1)
            if spread > 0:
                t_stat = float(values.mean() / (spread / np.sqrt(n_seeds)))
                p_t = float(2.0 * stats.t.sf(abs(t_stat), df=n_seeds - 1))
            decided = int((values != 0).sum())
            if decided:
                p_sign = float(stats.binomtest(wins, decided).pvalue)
        rows.append((step, float(values.mean()), n_seeds, t_stat, p_t, wins, p_sign))
    return pd.DataFrame(rows, columns=SEED_COLUMNS)


def _differentials(
    errors: np.ndarray | Mapping[int, np.ndarray],
    reference_errors: np.ndarray | Mapping[int, np.ndarray],
    loss: str,
) -> np.ndarray:
    """``(S, N, H)`` loss differentials of the paired seeds."""
    out = []
    for ours, theirs in _pair_seeds(errors, reference_errors):
        ours, theirs = np.asarray(ours), np.asarray(theirs)
        if ours.shape != theirs.shape:
            raise DataError(
                f"paired errors must cover the same origins and steps: shapes {ours.shape} and "
                f"{theirs.shape} differ"
            )
        with np.errstate(invalid="ignore", over="ignore"):
            out.append(losses(ours, loss) - losses(theirs, loss))  # (N, H)
    return np.stack(out)


def stride_of(origins: np.ndarray) -> int:
    """The evaluation stride of origins in time order (1 for a single origin).

    >>> stride_of(np.array([10, 34, 58])), stride_of(np.array([5]))
    (24, 1)

    Raises:
        DataError: origins that are not evenly spaced.
    """
    gaps = np.diff(np.asarray(origins, dtype=np.int64))
    if len(gaps) == 0:
        return 1
    if not (gaps == gaps[0]).all() or gaps[0] < 1:
        raise DataError(
            "origins must be evenly spaced in time order for a paired test (one every stride "
            f"steps); got gaps {sorted(set(gaps.tolist()))[:5]}"
        )
    return int(gaps[0])


def _pair_seeds(
    errors: np.ndarray | Mapping[int, np.ndarray],
    reference: np.ndarray | Mapping[int, np.ndarray],
) -> list[tuple[np.ndarray, np.ndarray]]:
    ours = errors if isinstance(errors, Mapping) else {None: errors}
    theirs = reference if isinstance(reference, Mapping) else None
    if theirs is None:
        return [(value, reference) for value in ours.values()]
    if not isinstance(errors, Mapping):
        if len(theirs) != 1:
            raise DataError("pass errors per seed (a mapping) to compare with several seeds")
        return [(errors, next(iter(theirs.values())))]
    common = [seed for seed in ours if seed in theirs]
    if not common:
        raise DataError(
            f"no seed in common: the forecaster ran seeds {sorted(ours)}, the reference "
            f"{sorted(theirs)}; run both with the same seeds"
        )
    return [(ours[seed], theirs[seed]) for seed in common]
