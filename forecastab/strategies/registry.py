"""Strategy methods by name, and the YAML spec that builds one.

A spec is a mapping ``{method: <name>, <name>: {parameters}}``; ``method`` defaults to
``scheduled_sampling``, whose parameters may also sit at the top of the entry
(``teacher_forcing``, ``sampling``, ``detach``) so that files written before the strategy layer
keep working. A parameter given for another method than the one named is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forecastab.errors import ConfigError
from forecastab.registry import build_config, check_keys, lookup
from forecastab.strategies.base import Strategy
from forecastab.strategies.data_as_demonstrator import DataAsDemonstrator
from forecastab.strategies.generalized_teacher_forcing import GeneralizedTeacherForcing
from forecastab.strategies.multi_step import MultiStep
from forecastab.strategies.noise_injection import NoiseInjection
from forecastab.strategies.professor_forcing import ProfessorForcing
from forecastab.strategies.reinforce import Reinforce
from forecastab.strategies.scheduled_sampling import ScheduledSampling

STRATEGIES: dict[str, type[Strategy]] = {
    cls.method: cls
    for cls in (
        ScheduledSampling,
        NoiseInjection,
        DataAsDemonstrator,
        GeneralizedTeacherForcing,
        ProfessorForcing,
        MultiStep,
        Reinforce,
    )
}
"""Every strategy method: YAML ``method`` -> its class. Adding a method adds one line here."""

METHODS: tuple[str, ...] = tuple(STRATEGIES)
"""The strategy method names, in registry order."""

DEFAULT_METHOD = "scheduled_sampling"

ENTRY_KEYS = ("name", "method")
"""Keys of a YAML strategy entry that are no method's parameters."""


def _owner(key: str) -> type[Strategy] | None:
    """The method a key of a strategy entry belongs to (its block or one of its top keys)."""
    for cls in STRATEGIES.values():
        if key == cls.method or key in cls.top_level_keys:
            return cls
    return None


def strategy_keys() -> list[str]:
    """Every key a YAML strategy entry may have."""
    keys = list(ENTRY_KEYS)
    for cls in STRATEGIES.values():
        keys += [cls.method, *cls.top_level_keys]
    return keys


def strategy_label(
    spec: Mapping[str, Any], *, ratio: float | None = None, schedule: str | None = None
) -> str:
    """The ``strategy`` label of a model's result rows, from its strategy spec.

    The entry's ``name`` when it has one; otherwise the method, with its schedule: a constant
    teacher-forcing ratio of 1 reads ``teacher_forcing``, of 0 ``free_running`` (the runner's
    names for them), a decaying schedule ``scheduled_sampling_<schedule>``, another method with a
    schedule ``<method>_<schedule>``.

    Args:
        spec: a strategy entry or a resolved spec (``Strategy.spec()``).
        ratio: the forecaster's fixed teacher-forcing ratio, used when the spec has no schedule.
        schedule: the name of a schedule applied from outside (a ``TeacherForcingScheduler``).

    Returns:
        The label, e.g. ``noise_injection`` or ``scheduled_sampling_linear``.

    >>> strategy_label({"method": "noise_injection", "noise_injection": {"std": 0.1}})
    'noise_injection'
    >>> strategy_label({"teacher_forcing": {"schedule": "linear", "k": 1.0, "c": 0.5}})
    'scheduled_sampling_linear'
    >>> strategy_label({"teacher_forcing": {"schedule": "constant", "ratio": 0.0}})
    'free_running'
    >>> strategy_label({"name": "mine", "method": "reinforce"})
    'mine'
    """
    if spec.get("name"):
        return str(spec["name"])
    method = str(spec.get("method") or DEFAULT_METHOD)
    parameters = {
        key: value for key, value in spec.items() if key not in (*ENTRY_KEYS, method)
    } | dict(spec.get(method) or {})
    given = parameters.get("teacher_forcing") or parameters.get("schedule")
    if isinstance(given, Mapping) and given.get("schedule"):
        schedule = str(given["schedule"])
        if schedule == "constant":
            ratio, schedule = given.get("ratio"), None
    if method == DEFAULT_METHOD and schedule is None:
        if ratio == 1.0:
            return "teacher_forcing"
        if ratio == 0.0:
            return "free_running"
        return method if ratio is None else f"{method}_ratio_{ratio:g}"
    return method if schedule is None else f"{method}_{schedule}"


def strategy_from_spec(spec: Mapping[str, Any] | None = None) -> Strategy:
    """Build a strategy from a YAML strategy entry (or the spec a checkpoint saved).

    Keys whose value is null count as absent; ``name`` is the entry's label and is ignored.

    Args:
        spec: e.g. ``{"method": "noise_injection", "noise_injection": {"std": 0.1}}`` or
            ``{"teacher_forcing": {"schedule": "constant", "ratio": 1.0}}``; None or empty is
            scheduled sampling at the forecaster's own ratio.

    Returns:
        The strategy, not yet attached to a forecaster.

    Raises:
        ConfigError: an unknown method or key, a parameter of another method, or a bad value;
            one line naming the valid choices.

    >>> strategy_from_spec({"teacher_forcing": {"schedule": "constant", "ratio": 0.5},
    ...                     "detach": True}).spec()["scheduled_sampling"]["detach"]
    True
    >>> strategy_from_spec({"method": "scheduled_samplng"})
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: unknown strategy method 'scheduled_samplng' (did you mean 'scheduled_sampling'?); valid: data_as_demonstrator, generalized_teacher_forcing, multi_step, noise_injection, professor_forcing, reinforce, scheduled_sampling
    """
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"a strategy must be a mapping such as {{method: {DEFAULT_METHOD}}}, got {spec!r}"
        )
    entry = {key: value for key, value in spec.items() if value is not None}
    entry.pop("name", None)
    method = entry.pop("method", DEFAULT_METHOD)
    cls = lookup("strategy method", method, STRATEGIES)
    check_keys("strategy", entry, strategy_keys())
    for key in entry:
        owner = _owner(str(key))
        if owner is not cls:
            raise ConfigError(
                f"'{key}' is a parameter of method {owner.method if owner else '?'}, not of "
                f"{method}; set method: {owner.method if owner else '?'} or move it under "
                f"'{method}'"
            )
    parameters = entry.pop(method, None) or {}
    if not isinstance(parameters, Mapping):
        raise ConfigError(f"{method} must be a mapping of parameters, got {parameters!r}")
    parameters = dict(parameters)
    for key, value in entry.items():  # the method's top-level keys
        if key in parameters:
            raise ConfigError(
                f"'{key}' is given twice, at the top of the strategy and under '{method}'; keep one"
            )
        parameters[key] = value
    return cls(build_config(cls.config_class, parameters, where=method))
