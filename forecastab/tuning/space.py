"""The search space of a ``tune:`` block: what may vary, over which ranges, and how a trial draws it.

A space maps parameter names to a range ``{low, high, log?, step?}``, a set ``{choices: [...]}``
(a plain list is the same), or a fixed value. Top-level names are the model's network fields
(``hidden_size``, ``normalization``, ...), ``learning_rate``, ``learning_rate_decay``,
``max_epochs``, ``patience`` (early stopping) and ``strategy``; ``strategy`` holds ``method``
(the methods to try, ``teacher_forcing`` among them) and, under each method's name, that
method's parameters as in an experiment file, any of them a range or set::

    space:
      learning_rate: {low: 0.0003, high: 0.01, log: true}
      normalization: [none, revin]
      strategy:
        method: [teacher_forcing, noise_injection]
        noise_injection: {std: {low: 0.01, high: 0.5, log: true}}

Parameters are named by their path (``strategy.noise_injection.std``) in Optuna and in the
trials table. A trial's draw becomes an ordinary experiment entry (model keys, one strategy,
trainer keys), so the runner trains it as it trains any run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from forecastab.errors import ConfigError, nearest, unknown_name
from forecastab.strategies import DEFAULT_METHOD, METHODS

TEACHER_FORCING = "teacher_forcing"
"""The method name that stands for scheduled sampling at a constant ratio of 1."""

TEACHER_FORCING_SPEC: dict[str, Any] = {
    "method": DEFAULT_METHOD,
    DEFAULT_METHOD: {"teacher_forcing": {"schedule": "constant", "ratio": 1.0}},
}

DEFAULT_SCHEDULED_SAMPLING: dict[str, Any] = {
    "teacher_forcing": {
        "schedule": "inverse_sigmoid",
        "k": {"low": 1.0, "high": 20.0, "log": True},
        "unit": "epoch",
    }
}
"""The parameters searched for ``scheduled_sampling`` when the space lists it without any."""

MODEL_KEYS = ("learning_rate", "learning_rate_decay")
TRAINER_KEYS = ("max_epochs", "patience")
STRATEGY = "strategy"
RANGE_KEYS = ("low", "high", "log", "step")
CHOICE_KEYS = ("choices",)


class Suggester(Protocol):
    """What a space draws values from: an ``optuna.Trial`` (or a stand-in in checks)."""

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int: ...

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any: ...


@dataclass(frozen=True)
class Range:
    """A numeric range ``[low, high]``; integers when both ends (and ``step``) are integers."""

    low: float
    high: float
    log: bool = False
    step: float | None = None

    @property
    def integer(self) -> bool:
        """Whether the range draws integers."""
        ends = (self.low, self.high, *(() if self.step is None else (self.step,)))
        return all(isinstance(v, int) and not isinstance(v, bool) for v in ends)

    def draw(self, name: str, trial: Suggester) -> float:
        """A value for ``name`` from the trial."""
        if self.integer:
            return trial.suggest_int(
                name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log
            )
        return trial.suggest_float(name, float(self.low), float(self.high), step=self.step,
                                   log=self.log)

    def ends(self) -> list[Any]:
        """The two extreme values (what the checks build)."""
        return [self.low, self.high]


@dataclass(frozen=True)
class Choices:
    """A set of values, drawn as a category."""

    values: tuple[Any, ...]

    def draw(self, name: str, trial: Suggester) -> Any:
        """A value for ``name`` from the trial."""
        return trial.suggest_categorical(name, list(self.values))

    def ends(self) -> list[Any]:
        """Every value (what the checks build)."""
        return list(self.values)


Distribution = Range | Choices


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_distribution(value: Any, where: str) -> Distribution | None:
    """The range or set a space entry describes, or None for a fixed value or a nested mapping.

    Raises:
        ConfigError: an unknown key in a range, an empty or contradictory range, a ``log``
            range that reaches zero.

    >>> parse_distribution({"low": 1, "high": 4}, "x")
    Range(low=1, high=4, log=False, step=None)
    >>> parse_distribution({"low": 4, "high": 1}, "tune.space.hidden_size")
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: tune.space.hidden_size: contradictory range, low 4 is above high 1; swap them
    """
    if isinstance(value, list):
        value = {"choices": value}
    if not isinstance(value, Mapping):
        return None
    keys = set(value)
    if "choices" in keys:
        extra = sorted(keys - set(CHOICE_KEYS))
        if extra:
            raise ConfigError(f"{where}: a set takes only 'choices', got '{extra[0]}' too")
        choices = value["choices"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: empty set of choices; list at least one value")
        if any(isinstance(c, Mapping | list) for c in choices):
            raise ConfigError(f"{where}: choices must be plain values (numbers, strings, booleans)")
        if len(set(map(repr, choices))) != len(choices):
            raise ConfigError(f"{where}: choices list a value twice: {choices}")
        return Choices(tuple(choices))
    if not keys & {"low", "high"}:
        return None
    for key in sorted(keys):
        if key not in RANGE_KEYS:
            guess = nearest(key, RANGE_KEYS)
            hint = f" (did you mean '{guess}'?)" if guess else ""
            raise ConfigError(f"{where}: unknown key '{key}' in a range{hint}; valid: low, high, "
                              "log, step (or choices for a set)")
    for key in ("low", "high"):
        if key not in value:
            raise ConfigError(f"{where}: a range needs both 'low' and 'high'; '{key}' is missing")
        if not _is_number(value[key]):
            raise ConfigError(f"{where}: '{key}' must be a number, got {value[key]!r}")
    low, high = value["low"], value["high"]
    log = value.get("log", False)
    step = value.get("step")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: 'log' must be true or false, got {log!r}")
    if low > high:
        raise ConfigError(f"{where}: contradictory range, low {low} is above high {high}; swap them")
    if low == high:
        raise ConfigError(
            f"{where}: empty range, low and high are both {low}; give the value itself to fix it"
        )
    if step is not None and (not _is_number(step) or step <= 0):
        raise ConfigError(f"{where}: 'step' must be a positive number, got {step!r}")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range must start above 0, got low {low}")
    if log and step is not None:
        raise ConfigError(f"{where}: a range is either 'log' or has a 'step', not both")
    return Range(low, high, log, step)


@dataclass(frozen=True)
class Parameter:
    """One searched parameter: its path (``strategy.noise_injection.std``) and distribution."""

    path: str
    distribution: Distribution


@dataclass(frozen=True)
class SearchSpace:
    """A parsed, checked space.

    Attributes:
        model: model keys -> a distribution or a fixed value.
        trainer: ``max_epochs``/``patience`` -> a distribution or a fixed value.
        methods: the strategy methods to try (``teacher_forcing`` among them), or None when the
            strategy is the experiment file's own.
        method_params: per method, its parameter tree with distributions at the leaves.
    """

    model: dict[str, Any]
    trainer: dict[str, Any]
    methods: Distribution | None
    method_params: dict[str, Any]

    def parameters(self) -> list[Parameter]:
        """Every searched parameter (method parameters included), in a fixed order."""
        found = [
            Parameter(k, v) for k, v in {**self.model, **self.trainer}.items()
            if isinstance(v, Range | Choices)
        ]
        if isinstance(self.methods, Range | Choices):
            found.append(Parameter(f"{STRATEGY}.method", self.methods))
        for method, tree in self.method_params.items():
            found.extend(_tree_parameters(tree, f"{STRATEGY}.{method}"))
        return found

    def method_names(self) -> list[str]:
        """The methods this space may draw."""
        if self.methods is None:
            return []
        return [str(m) for m in self.methods.ends()]

    def teacher_forcing_only(self) -> SearchSpace:
        """The same space with the strategy fixed to teacher forcing (the fair control)."""
        return dataclasses.replace(self, methods=Choices((TEACHER_FORCING,)), method_params={})

    def draw(self, trial: Suggester) -> dict[str, Any]:
        """One trial's values: ``{"model": {...}, "trainer": {...}, "strategy": spec, "label"}``."""
        model = {k: _draw(v, k, trial) for k, v in self.model.items()}
        trainer = {k: _draw(v, k, trial) for k, v in self.trainer.items()}
        if self.methods is None:
            return {"model": model, "trainer": trainer, "strategy": None, "label": None}
        methods = self.method_names()
        method = (
            methods[0] if len(methods) == 1 else self.methods.draw(f"{STRATEGY}.method", trial)
        )
        return {
            "model": model,
            "trainer": trainer,
            "strategy": strategy_spec(method, self._method_draw(method, trial)),
            "label": method,
        }

    def _method_draw(self, method: str, trial: Suggester) -> dict[str, Any]:
        return _draw_tree(self.method_params.get(method, {}), f"{STRATEGY}.{method}", trial)


def strategy_spec(method: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The experiment-file entry (without ``name``) of a method with drawn parameters.

    >>> strategy_spec("noise_injection", {"std": 0.1})
    {'method': 'noise_injection', 'noise_injection': {'std': 0.1}}
    >>> strategy_spec("teacher_forcing", {})["scheduled_sampling"]
    {'teacher_forcing': {'schedule': 'constant', 'ratio': 1.0}}
    """
    if method == TEACHER_FORCING:
        return {key: value for key, value in TEACHER_FORCING_SPEC.items()}
    return {"method": method, method: dict(params)}


def _draw(value: Any, name: str, trial: Suggester) -> Any:
    return value.draw(name, trial) if isinstance(value, Range | Choices) else value


def _draw_tree(tree: Any, path: str, trial: Suggester) -> Any:
    if isinstance(tree, Range | Choices):
        return tree.draw(path, trial)
    if isinstance(tree, Mapping):
        return {key: _draw_tree(value, f"{path}.{key}", trial) for key, value in tree.items()}
    return tree


def _tree_parameters(tree: Any, path: str) -> list[Parameter]:
    if isinstance(tree, Range | Choices):
        return [Parameter(path, tree)]
    if isinstance(tree, Mapping):
        return [p for key, value in tree.items() for p in _tree_parameters(value, f"{path}.{key}")]
    return []


def _parse_tree(value: Any, where: str) -> Any:
    distribution = parse_distribution(value, where)
    if distribution is not None:
        return distribution
    if isinstance(value, Mapping):
        return {str(k): _parse_tree(v, f"{where}.{k}") for k, v in value.items()}
    return value


def parse_space(raw: Any, network_fields: list[str], *, where: str = "tune.space") -> SearchSpace:
    """Parse and check a ``space:`` mapping against the model's keys and the strategy methods.

    Args:
        raw: The mapping from YAML.
        network_fields: The fields of the model's network config (``hidden_size``, ...).
        where: The key path for messages.

    Returns:
        The space.

    Raises:
        ConfigError: one line naming the key: an unknown parameter (with the nearest valid
            one), a bad range, an unknown method, parameters for a method the space does not
            try.
    """
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{where} must map parameters to ranges, e.g. "
                          "{learning_rate: {low: 0.0003, high: 0.01, log: true}}")
    valid = sorted({*network_fields, *MODEL_KEYS, *TRAINER_KEYS, STRATEGY} - {"type"})
    model: dict[str, Any] = {}
    trainer: dict[str, Any] = {}
    methods: Distribution | None = None
    method_params: dict[str, Any] = {}
    for key, value in raw.items():
        key = str(key)
        if key not in valid:
            raise ConfigError(f"{where}: " + unknown_name("parameter", key, valid))
        if key == STRATEGY:
            methods, method_params = _parse_strategy(value, f"{where}.{STRATEGY}")
            continue
        parsed = _parse_tree(value, f"{where}.{key}")
        if isinstance(parsed, Mapping):
            raise ConfigError(f"{where}.{key}: give a range {{low, high}}, a set "
                              "{choices: [...]} or a value")
        (trainer if key in TRAINER_KEYS else model)[key] = parsed
    return SearchSpace(model, trainer, methods, method_params)


def _parse_strategy(raw: Any, where: str) -> tuple[Distribution, dict[str, Any]]:
    valid_methods = [TEACHER_FORCING, *METHODS]
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping with 'method' (the methods to try)")
    for key in raw:
        if key != "method" and key not in METHODS:
            raise ConfigError(f"{where}: " + unknown_name("key", str(key), ["method", *METHODS]))
    if "method" not in raw:
        raise ConfigError(f"{where}: missing key 'method' (the methods to try, e.g. "
                          "[teacher_forcing, noise_injection])")
    raw_methods = raw["method"]
    methods = parse_distribution(
        raw_methods if isinstance(raw_methods, list | Mapping) else [raw_methods],
        f"{where}.method",
    )
    if not isinstance(methods, Choices):
        raise ConfigError(f"{where}.method must list methods, e.g. [teacher_forcing, "
                          "noise_injection]")
    for method in methods.values:
        if method not in valid_methods:
            raise ConfigError(f"{where}.method: " + unknown_name("method", str(method),
                                                                 valid_methods))
    params: dict[str, Any] = {}
    for method in METHODS:
        if method not in raw:
            continue
        if method not in methods.values:
            raise ConfigError(
                f"{where}.{method}: parameters for method '{method}', which {where}.method "
                f"does not list; add it to the methods or remove {where}.{method}"
            )
        if not isinstance(raw[method], Mapping):
            raise ConfigError(f"{where}.{method} must map the method's parameters to values")
        params[method] = _parse_tree(raw[method], f"{where}.{method}")
    if DEFAULT_METHOD in methods.values and DEFAULT_METHOD not in params:
        params[DEFAULT_METHOD] = _parse_tree(DEFAULT_SCHEDULED_SAMPLING, f"{where}.{DEFAULT_METHOD}")
    return methods, params


class CornerTrial:
    """A stand-in trial that draws the low end (or first choice) of every parameter, except
    one parameter drawn at a given end: the checks build every such corner before training."""

    def __init__(self, path: str | None = None, end: Any = None) -> None:
        self.path = path
        self.end = end

    def _pick(self, name: str, default: Any) -> Any:
        return self.end if name == self.path else default

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        return self._pick(name, low)

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return self._pick(name, low)

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        return self._pick(name, choices[0])


class MethodTrial(CornerTrial):
    """A corner trial that also forces the strategy method (so each method's corners are built)."""

    def __init__(self, method: str, path: str | None = None, end: Any = None) -> None:
        super().__init__(path, end)
        self.method = method

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        if name == f"{STRATEGY}.method":
            return self.method
        return super().suggest_categorical(name, choices)


def corner_trials(space: SearchSpace) -> list[CornerTrial]:
    """Trials that together draw every end of every range and every choice at least once."""
    methods = space.method_names() or [None]
    trials: list[CornerTrial] = []
    for method in methods:
        make = (lambda p=None, e=None, m=method: MethodTrial(m, p, e)) if method else CornerTrial
        trials.append(make())
        for parameter in space.parameters():
            if parameter.path == f"{STRATEGY}.method":
                continue
            if parameter.path.startswith(f"{STRATEGY}.") and not parameter.path.startswith(
                f"{STRATEGY}.{method}."
            ):
                continue
            trials.extend(make(parameter.path, end) for end in parameter.distribution.ends()[1:])
    return trials
