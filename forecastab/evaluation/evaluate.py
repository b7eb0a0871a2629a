"""Horizon evaluation of any forecaster over every origin of a split.

:func:`evaluate` asks the forecaster for all origins at once through the uniform
``predict_origins`` interface (neural models and baselines alike), once per mode, and turns
the errors into a tidy per-step table: one row per ``(dataset, model, strategy, seed, mode,
target, step, metric)``. Free running, the honest mode, is always evaluated.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from forecastab.checks import lengths_agree
from forecastab.data.windows import window_view
from forecastab.errors import ConfigError, DataError, unknown_name
from forecastab.evaluation.block_bootstrap import (
    band_label,
    check_bootstrap,
)
from forecastab.evaluation.metrics import (
    NEEDS_LYAPUNOV,
    NEEDS_TRAIN,
    MetricValues,
    check_metric_units,
    get_metric,
)
from forecastab.evaluation.probabilistic import (
    DEFAULT_QUANTILES,
    PROBABILISTIC_METRICS,
    Predictive,
    predictive_distribution,
    probabilistic_metrics,
)
from forecastab.evaluation.uncertainty import metric_band

MODES = ("free_running", "teacher_forced")
UNITS = ("original", "scaled")
TABLE_COLUMNS = [
    "dataset", "model", "strategy", "seed", "mode", "target", "step", "metric", "value"
]
INTERVAL_COLUMNS = [*TABLE_COLUMNS, "lower", "upper", "band"]
LABEL_KEYS = ("dataset", "model", "strategy", "seed")


class Forecaster(Protocol):
    """The uniform forecast interface every neural model and baseline implements."""

    name: str
    supported_modes: tuple[str, ...]

    def predict_origins(
        self,
        values: np.ndarray,
        origins: np.ndarray,
        *,
        context_length: int,
        horizon: int,
        mode: str = "free_running",
    ) -> np.ndarray: ...


@dataclass
class Evaluation:
    """The result of :func:`evaluate`.

    Attributes:
        table: tidy per-step metrics, columns ``dataset, model, strategy, seed, mode, target,
            step, metric, value``: one row set per target column (its name in ``target``),
            ``value`` the mean over origins.
        intervals: the same rows plus ``lower, upper`` block-bootstrap bounds over origins
            and ``band`` naming the method and block length (empty without bootstrap).
        errors: mode -> signed errors ``predictions - targets``, shape ``(N, H, C)``.
        predictions: mode -> forecasts ``(N, H, C)`` in the evaluation units.
        targets: ``(N, H, C)`` true values in the evaluation units.
        origins: ``(N,)`` the origins evaluated.
        diverged: some rollout produced inf or NaN.
        diverged_modes: the modes whose rollout diverged.
        units: ``original`` or ``scaled``.
        predictive: mode -> the predictive distribution the probabilistic metrics scored
            (sampled paths or a Gaussian), for the modes that have one.
        skipped: why probabilistic metrics were skipped (one line), or None.
    """

    table: pd.DataFrame
    intervals: pd.DataFrame
    errors: dict[str, np.ndarray]
    predictions: dict[str, np.ndarray]
    targets: np.ndarray
    origins: np.ndarray
    diverged: bool = False
    diverged_modes: tuple[str, ...] = ()
    units: str = "original"
    labels: dict[str, Any] = field(default_factory=dict)
    predictive: dict[str, Predictive] = field(default_factory=dict)
    skipped: str | None = None
    index: pd.Index | None = None
    target_columns: tuple[str, ...] = ()
    per_series: dict[str, Evaluation] = field(default_factory=dict)
    """A panel's evaluation of each series (its ``table`` then has a ``series`` column and
    the aggregate rows ``series == 'all'``); empty for one series."""
    contributions: dict[tuple[str, str, str], MetricValues] = field(default_factory=dict)
    """``(mode, target, metric)`` -> the per-origin contributions the bands resampled (kept
    only when bands were asked for; a panel's aggregate band is built from its series')."""

    def frame(self, mode: str = "free_running") -> pd.DataFrame:
        """One mode's predictions as a tidy forecast frame (as ``predict_frame`` gives them).

        Columns ``origin, timestamp, step, target, forecast, actual``, in the evaluation's
        units (``original`` unless evaluated ``scaled``).
        """
        from forecastab.forecasting import forecast_frame

        if mode not in self.predictions:
            raise ConfigError(unknown_name("evaluated mode", mode, self.predictions))
        n, horizon, n_targets = self.targets.shape
        index = self.index if self.index is not None else pd.RangeIndex(int(self.origins.max()) + horizon + 1)
        columns = self.target_columns or target_column_names(None, n_targets)
        frame = forecast_frame(self.predictions[mode], self.origins, index, columns)
        frame["actual"] = self.targets.ravel()
        return frame

    @property
    def modes(self) -> tuple[str, ...]:
        """The modes evaluated, free running first."""
        return tuple(self.errors)


def _resolve_modes(modes: Sequence[str] | str, forecaster: Forecaster) -> list[str]:
    if isinstance(modes, str):
        modes = (modes,)
    for mode in modes:
        if mode not in MODES:
            raise ConfigError(unknown_name("evaluation mode", mode, MODES))
    supported = tuple(getattr(forecaster, "supported_modes", ("free_running",)))
    wanted = ["free_running", *(m for m in modes if m != "free_running")]
    return [m for m in dict.fromkeys(wanted) if m == "free_running" or m in supported]


def _strategy_label(forecaster: Forecaster) -> str:
    """``baseline`` for a baseline, else the forecaster's ``strategy_label`` (``default`` without)."""
    if getattr(forecaster, "is_baseline", False):
        return "baseline"
    return str(getattr(forecaster, "strategy_label", None) or "default")


def _resolve_labels(
    labels: Mapping[str, Any] | None, forecaster: Forecaster, data: Any
) -> dict[str, Any]:
    resolved: dict[str, Any] = {
        "dataset": getattr(data, "name", "data"),
        "model": getattr(forecaster, "name", type(forecaster).__name__),
        "strategy": _strategy_label(forecaster),
        "seed": 0,
    }
    for key, value in (labels or {}).items():
        if key not in LABEL_KEYS:
            raise ConfigError(unknown_name("label", key, LABEL_KEYS))
        resolved[key] = value
    return resolved


def target_column_names(data: Any, n_targets: int) -> list[str]:
    """The data's target column names (``target_0, ...`` for data without names)."""
    names = [str(c) for c in getattr(data, "target_columns", None) or ()]
    return names if len(names) == n_targets else [f"target_{c}" for c in range(n_targets)]


def lyapunov_time_steps(data: Any) -> float | None:
    """Samples per Lyapunov time of one series: ``data.lyapunov_time_steps`` when set, else
    the per-system value a bundled dataset records (chaos135), else None."""
    value = getattr(data, "lyapunov_time_steps", None)
    if value is not None:
        return float(value)
    if getattr(data, "name", None) not in ("chaos135", "chaos135.csv"):  # by name or by path
        return None
    from forecastab.data.chaos import lyapunov_time_steps as recorded

    return recorded().get(str(getattr(data, "series_id", "")))


def _to_units(scaled: np.ndarray, data: Any, units: str) -> np.ndarray:
    if units == "scaled":
        return np.asarray(scaled, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(data.scaler.inverse_transform(scaled), dtype=np.float64)


def evaluate(
    forecaster: Forecaster,
    data: Any,
    *,
    modes: Sequence[str] | str = ("free_running",),
    metrics: Sequence[str] | str = ("mae", "rmse"),
    units: str = "original",
    stride: int = 1,
    split: str = "test",
    labels: Mapping[str, Any] | None = None,
    n_bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    season_length: int | None = None,
    num_samples: int = 100,
    feedback: str = "sample",
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    bootstrap_method: str = "circular",
    block_length: int | None = None,
) -> Evaluation:
    """Roll the forecaster out over every origin of a split and tabulate per-step metrics.

    The forecaster gets the scaled series ``data.values`` and all origins in one call per mode
    (it batches internally). Targets are gathered from a zero-copy window view of the series.
    Modes the forecaster does not support are skipped; ``free_running`` is always evaluated.
    A rollout with inf or NaN values is reported (``diverged``, a warning, NaN or inf in the
    table), never raised.

    Args:
        forecaster: any object with the uniform ``predict_origins`` interface, ``name`` and
            ``supported_modes`` (``is_baseline=True`` marks a baseline).
        data: a ``WindowDataModule`` (or an object with its attributes: ``values``,
            ``raw_values``, ``scaler``, ``context_length``, ``horizon``, ``origins``, ``name``,
            ``borders``, ``season_length``).
        modes: ``free_running`` and/or ``teacher_forced``.
        metrics: names from :data:`forecastab.evaluation.metrics.METRICS`.
        units: ``original`` (inverse-transformed) or ``scaled`` (train-fitted z-scores).
        stride: take every ``stride``-th origin.
        split: the split whose origins are evaluated (``test`` or ``val``).
        labels: overrides for the ``dataset, model, strategy, seed`` columns, e.g.
            ``labels={"strategy": "noise", "seed": 1}``; defaults are ``data.name``,
            ``forecaster.name``, ``baseline`` for baselines, else the forecaster's
            ``strategy_label`` (a ``ForecastModule``'s strategy name, or its method and
            schedule; ``default`` for a forecaster without one), and 0.
        n_bootstrap: resamples of the origins for the confidence bands (0: no bands).
        confidence: coverage of the bands.
        seed: seed of the bootstrap.
        season_length: MASE season; defaults to ``data.season_length`` (1 when unknown).
        num_samples: sampled paths per origin for the probabilistic metrics
            (:data:`~forecastab.evaluation.probabilistic.PROBABILISTIC_METRICS`) of a
            probabilistic network; a baseline with a Gaussian predictive is scored in closed
            form; a point forecaster skips them with a warning (``Evaluation.skipped``).
        feedback: what sampled paths feed back, ``sample`` or ``mean``.
        quantiles: the levels ``quantile_loss`` averages over.
        bootstrap_method: ``circular`` or ``moving`` block bootstrap over consecutive origins,
            or ``iid`` (single origins: too narrow for overlapping windows).
        block_length: origins per block; None: automatic per step, at least
            ``2 * ceil(h / stride)`` (see :func:`~forecastab.evaluation.uncertainty.metric_band`;
            a step whose block does not fit 10 times in the origins gets a NaN band and a
            warning).

    Returns:
        An :class:`Evaluation`.

    Raises:
        ConfigError: an unknown mode, metric, unit or label key, or ``smape`` in scaled units.
        DataError: the forecaster returned predictions of the wrong shape.
    """
    if getattr(data, "panel", None) is not None:
        from forecastab.evaluation.panel import evaluate_panel

        options = dict(
            modes=modes, metrics=metrics, units=units, stride=stride, split=split,
            labels=labels, n_bootstrap=n_bootstrap, confidence=confidence, seed=seed,
            season_length=season_length, num_samples=num_samples, feedback=feedback,
            quantiles=quantiles, bootstrap_method=bootstrap_method, block_length=block_length,
        )  # fmt: skip
        return evaluate_panel(forecaster, data, options)
    metric_names = [metrics] if isinstance(metrics, str) else list(metrics)
    probabilistic = [name for name in metric_names if name in PROBABILISTIC_METRICS]
    metric_fns = {name: get_metric(name) for name in metric_names if name not in probabilistic}
    if probabilistic and (
        isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1
    ):
        raise ConfigError(f"num_samples must be a positive integer, got {num_samples!r}")
    if units not in UNITS:
        raise ConfigError(unknown_name("units", units, UNITS))
    check_metric_units(metric_names, units)
    if stride < 1:
        raise ConfigError(f"stride must be a positive integer, got {stride}")
    check_bootstrap(bootstrap_method, block_length)
    evaluated_modes = _resolve_modes(modes, forecaster)
    resolved_labels = _resolve_labels(labels, forecaster, data)
    context_length, horizon = int(data.context_length), int(data.horizon)
    lengths_agree(forecaster, context_length, horizon, "the data module")
    if season_length is None:
        season_length = getattr(data, "season_length", None) or 1

    values = np.asarray(data.values)  # (T, C) scaled
    series = values if units == "scaled" else np.asarray(data.raw_values)  # (T, C)
    origins = np.asarray(data.origins(split=split, stride=stride), dtype=np.int64)  # (N,)
    if len(origins) == 0:
        raise DataError(f"split '{split}' has no origins at horizon {horizon}")
    if origins.min() < context_length - 1 or origins.max() + horizon >= len(series):
        raise DataError(
            f"origins must lie in [{context_length - 1}, {len(series) - horizon - 1}] for "
            f"context {context_length} and horizon {horizon} on {len(series)} rows"
        )
    targets = np.asarray(window_view(series, horizon)[origins + 1], dtype=np.float64)  # (N, H, C)
    train = None
    if NEEDS_TRAIN & metric_fns.keys():
        start, stop = data.borders.train
        train = series[start:stop]  # (T_train, C)
    lyapunov = (
        {"lyapunov_time_steps": lyapunov_time_steps(data)}
        if NEEDS_LYAPUNOV & metric_fns.keys()
        else {}
    )

    errors: dict[str, np.ndarray] = {}
    predictions: dict[str, np.ndarray] = {}
    predictive: dict[str, Predictive] = {}
    skipped: list[str] = []
    diverged_modes: list[str] = []
    rows: list[pd.DataFrame] = []
    interval_rows: list[pd.DataFrame] = []
    band_notes: list[str] = []
    steps = np.arange(1, horizon + 1)
    target_names = target_column_names(data, targets.shape[2])
    covariates = getattr(data, "covariates", None)
    extra = (
        {"covariates": covariates}
        if covariates is not None and getattr(forecaster, "accepts_covariates", False)
        else {}
    )
    contributions: dict[tuple[str, str, str], MetricValues] = {}
    for mode in evaluated_modes:
        scaled = forecaster.predict_origins(
            values, origins, context_length=context_length, horizon=horizon, mode=mode, **extra
        )
        scaled = np.asarray(scaled)
        if scaled.shape != targets.shape:
            raise DataError(
                f"forecaster '{resolved_labels['model']}' returned predictions of shape "
                f"{scaled.shape} in mode {mode}; expected (N, H, C) = {targets.shape}"
            )
        forecast = _to_units(scaled, data, units)  # (N, H, C)
        with np.errstate(invalid="ignore", over="ignore"):
            error = forecast - targets  # (N, H, C)
        finite = np.isfinite(error).all(axis=(1, 2))  # (N,)
        if not finite.all():
            diverged_modes.append(mode)
            warnings.warn(
                f"{resolved_labels['model']} diverged in {mode} mode: "
                f"{int((~finite).sum())} of {len(finite)} rollouts hold inf or NaN; "
                "their metrics are reported as NaN or inf",
                RuntimeWarning,
                stacklevel=2,
            )
        predictions[mode], errors[mode] = forecast, error
        distribution: Predictive | None = None
        if probabilistic:
            found = predictive_distribution(
                forecaster,
                values,
                origins,
                context_length=context_length,
                horizon=horizon,
                mode=mode,
                num_samples=num_samples,
                feedback=feedback,
                seed=seed,
                scale=None if units == "scaled" else np.asarray(data.scaler.std),
                offset=None if units == "scaled" else np.asarray(data.scaler.mean),
                **extra,
            )
            if isinstance(found, str):
                skipped.append(f"{mode}: {found}")
            else:
                predictive[mode] = distribution = found
        # one row set per target column: columns in different units are never pooled
        for column, target in enumerate(target_names):
            part = slice(column, column + 1)
            results: dict[str, MetricValues] = {
                name: metric(
                    forecast[..., part],  # (N, H, 1)
                    targets[..., part],  # (N, H, 1)
                    train=None if train is None else train[:, part],  # (T_train, 1)
                    season_length=season_length,
                    **(lyapunov if name in NEEDS_LYAPUNOV else {}),
                )
                for name, metric in metric_fns.items()
            }
            if distribution is not None:
                results.update(
                    probabilistic_metrics(
                        distribution.column(column), targets[..., part], probabilistic,
                        quantiles=quantiles,
                    )
                )  # fmt: skip
            for name in metric_names:
                if name not in results:
                    continue
                result = results[name]
                frame = pd.DataFrame(
                    {
                        **resolved_labels,
                        "mode": mode,
                        "target": target,
                        "step": steps,
                        "metric": name,
                        "value": result.per_step,
                    }
                )
                rows.append(frame)
                if n_bootstrap:
                    contributions[(mode, target, name)] = result
                    band = metric_band(
                        result,
                        n_bootstrap=n_bootstrap,
                        confidence=confidence,
                        seed=seed,
                        method=bootstrap_method,
                        block_length=block_length,
                        stride=stride,
                        warn=False,
                    )
                    if band.note and band.note not in band_notes:
                        band_notes.append(band.note)
                    label = band_label(bootstrap_method, band.block_length, confidence)
                    interval_rows.append(
                        frame.assign(lower=band.lower, upper=band.upper, band=label)
                    )

    for band_note in band_notes:  # once per evaluation, not once per metric and mode
        warnings.warn(f"{resolved_labels['model']}: {band_note}", RuntimeWarning, stacklevel=2)
    note = None
    if skipped:
        note = (
            f"{resolved_labels['model']}: probabilistic metrics {', '.join(probabilistic)} "
            f"skipped ({'; '.join(skipped)})"
        )
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    table = (
        pd.concat(rows, ignore_index=True)[TABLE_COLUMNS]
        if rows
        else pd.DataFrame(columns=TABLE_COLUMNS)
    )
    intervals = (
        pd.concat(interval_rows, ignore_index=True)[INTERVAL_COLUMNS]
        if interval_rows
        else pd.DataFrame(columns=INTERVAL_COLUMNS)
    )
    return Evaluation(
        table=table,
        intervals=intervals,
        errors=errors,
        predictions=predictions,
        targets=targets,
        origins=origins,
        diverged=bool(diverged_modes),
        diverged_modes=tuple(diverged_modes),
        units=units,
        labels=resolved_labels,
        predictive=predictive,
        skipped=note,
        index=getattr(data, "index", None),
        target_columns=tuple(target_names),
        contributions=contributions,
    )
