"""Baselines by name, and the YAML spec that builds one.

A spec is a name (``naive``) or a mapping with a ``name`` and the constructor's keyword
arguments (``{name: arima, order: [2, 1, 0]}``); unknown names and keys are ConfigErrors that
suggest the nearest valid one.
"""

from __future__ import annotations

import inspect
from typing import Any

from forecastab.baselines.base import Baseline
from forecastab.baselines.simple import Drift, Mean, Naive, SeasonalNaive
from forecastab.baselines.smoothing import ETS, HoltWinters, Theta
from forecastab.baselines.statistical import ARIMA, SARIMAX
from forecastab.errors import ConfigError, unknown_name

BASELINES: dict[str, type[Baseline]] = {
    cls.name: cls
    for cls in (Naive, SeasonalNaive, Drift, Mean, ARIMA, SARIMAX, ETS, HoltWinters, Theta)
}


def baseline_keys(cls: type[Baseline]) -> list[str]:
    """The spec keys a baseline accepts besides ``name``: its keyword-only parameters.

    >>> baseline_keys(SeasonalNaive)
    ['season_length']
    """
    parameters = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]


def baseline_from_spec(spec: str | dict[str, Any], *, season_length: int | None = None) -> Baseline:
    """Build a baseline from a YAML entry.

    Args:
        spec: A name such as ``"naive"``, or a mapping such as
            ``{"name": "sarimax", "order": [1, 0, 0], "seasonal_order": [1, 0, 0, 24]}``.
        season_length: The data's season length (``WindowDataModule.season_length``), used by
            baselines that take one when the spec does not give it.

    Returns:
        The unfitted baseline.

    Raises:
        ConfigError: An unknown name or key, a spec of the wrong type or a bad value.

    >>> baseline_from_spec({"name": "arima", "order": [2, 1, 0]}).order
    (2, 1, 0)
    >>> baseline_from_spec("seasonal_naive", season_length=11).season_length
    11
    >>> baseline_from_spec("arma")
    Traceback (most recent call last):
    forecastab.errors.ConfigError: unknown baseline 'arma' (did you mean 'arima'?); valid: arima, drift, ets, holt_winters, mean, naive, sarimax, seasonal_naive, theta
    """
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict):
        raise ConfigError(
            f"a baseline must be a name or a mapping with a 'name', got {spec!r}; "
            "write e.g. arima or {name: arima, order: [2, 1, 0]}"
        )
    if "name" not in spec:
        raise ConfigError(
            f"baseline {spec!r} has no 'name'; write e.g. {{name: arima, order: [2, 1, 0]}}"
        )
    name = spec["name"]
    if name not in BASELINES:
        raise ConfigError(unknown_name("baseline", str(name), BASELINES))
    cls = BASELINES[name]
    keys = baseline_keys(cls)
    kwargs = {key: value for key, value in spec.items() if key != "name"}
    for key in kwargs:
        if key not in keys:
            raise ConfigError(unknown_name(f"{name} key", str(key), keys))
    if season_length is not None and "season_length" in keys:
        kwargs.setdefault("season_length", season_length)
    return cls(**kwargs)
