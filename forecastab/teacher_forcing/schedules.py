"""Teacher forcing ratio schedules: training progress ``i`` -> ratio ``r`` in [0, 1].

The decaying schedules are those of Bengio et al. (2015), "Scheduled Sampling for Sequence
Prediction with Recurrent Neural Networks", with the letters of their formulas as parameter names:

- linear: ``r_i = max(floor, k - c * i)``
- exponential: ``r_i = k ** i`` with ``0 < k < 1``
- inverse sigmoid: ``r_i = k / (k + exp(i / k))`` with ``k >= 1``

``i`` counts optimizer steps or epochs from 0, as the schedule's ``unit`` says (``"epoch"`` by
default). :class:`Flipped` turns any schedule into its increasing "flipped classroom" twin
``1 - r_i``; :class:`CallableSchedule` wraps a user function of training progress.
:func:`schedule_from_spec` builds a schedule from the ``teacher_forcing`` mapping of an
experiment file.

>>> schedule = schedule_from_spec({"schedule": "inverse_sigmoid", "k": 5, "unit": "epoch"})
>>> [round(schedule(i), 3) for i in (0, 5, 10, 20)]
[0.833, 0.648, 0.404, 0.084]
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from forecastab.errors import ConfigError, nearest, unknown_name

UNITS: tuple[str, ...] = ("step", "epoch")

# A user function may land a hair outside [0, 1] through rounding; clip that much, reject more.
_TOLERANCE = 1e-9


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check(
    schedule: str, name: str, value: object, valid: str, ok: Callable[[float], bool]
) -> None:
    """Raise a one-line ConfigError unless ``value`` is a number that ``ok`` accepts."""
    # inf is refused: a linear schedule with c = inf is 0 already at step 0 (k - inf * 0 is NaN)
    if _is_number(value) and math.isinf(value):  # type: ignore[arg-type]
        raise ConfigError(f"{schedule} schedule: {name} must be finite ({valid}), got {value!r}")
    if not (_is_number(value) and ok(float(value))):  # type: ignore[arg-type]
        raise ConfigError(f"{schedule} schedule: {name} must satisfy {valid}, got {value!r}")


def _check_unit(unit: object) -> None:
    if unit not in UNITS:
        raise ConfigError(unknown_name("unit", str(unit), UNITS))


class Schedule:
    """Base of every schedule: a callable from training progress ``i`` to a ratio in [0, 1].

    Subclasses are frozen dataclasses with a ``unit`` (``"step"`` or ``"epoch"``) that implement
    ``_ratio_at``; calling the schedule checks ``i`` first.
    """

    name: ClassVar[str] = "schedule"
    unit: str

    def _ratio_at(self, i: float) -> float:
        raise NotImplementedError

    def __call__(self, i: float) -> float:
        """The teacher forcing ratio after ``i`` steps or epochs of training.

        Args:
            i: Training progress in the schedule's unit, counted from 0.

        Returns:
            The probability in [0, 1] of feeding the true previous value to the decoder.

        Raises:
            ValueError: If ``i`` is negative or not a number.
        """
        if not (_is_number(i) and i >= 0):
            raise ValueError(f"{self.name} schedule: i must be a number >= 0, got {i!r}")
        return self._ratio_at(float(i))


@dataclass(frozen=True)
class Constant(Schedule):
    """The same ratio all along: 1.0 is teacher forcing, 0.0 is free running.

    Args:
        ratio: The teacher forcing ratio, in [0, 1].
        unit: ``"step"`` or ``"epoch"`` (a constant ignores it; kept so every schedule has one).

    Raises:
        ConfigError: If ``ratio`` is outside [0, 1] or ``unit`` is unknown.

    >>> Constant(0.5)(100)
    0.5
    """

    name: ClassVar[str] = "constant"
    ratio: float
    unit: str = "epoch"

    def __post_init__(self) -> None:
        _check(self.name, "ratio", self.ratio, "0 <= ratio <= 1", lambda v: 0 <= v <= 1)
        _check_unit(self.unit)

    def _ratio_at(self, i: float) -> float:
        return float(self.ratio)


@dataclass(frozen=True, kw_only=True)
class Linear(Schedule):
    """Linear decay ``r_i = max(floor, k - c * i)``.

    Args:
        k: The starting ratio (offset), in [0, 1].
        c: The decrease per unit of ``i`` (slope), >= 0.
        floor: The lowest ratio the schedule reaches, in [0, k].
        unit: ``"step"`` or ``"epoch"``.

    Raises:
        ConfigError: If a parameter is outside its range or ``unit`` is unknown.

    >>> schedule = Linear(k=1.0, c=0.25, floor=0.1)
    >>> [schedule(i) for i in range(5)]
    [1.0, 0.75, 0.5, 0.25, 0.1]
    """

    name: ClassVar[str] = "linear"
    k: float = 1.0
    c: float
    floor: float = 0.0
    unit: str = "epoch"

    def __post_init__(self) -> None:
        _check(self.name, "k", self.k, "0 <= k <= 1", lambda v: 0 <= v <= 1)
        _check(self.name, "c", self.c, "c >= 0", lambda v: v >= 0)
        _check(
            self.name,
            "floor",
            self.floor,
            f"0 <= floor <= k = {self.k}",
            lambda v: 0 <= v <= self.k,
        )
        _check_unit(self.unit)

    def _ratio_at(self, i: float) -> float:
        return float(max(self.floor, self.k - self.c * i))


@dataclass(frozen=True)
class Exponential(Schedule):
    """Exponential decay ``r_i = k ** i``.

    Args:
        k: The factor the ratio is multiplied by per unit of ``i``, with ``0 < k < 1``.
        unit: ``"step"`` or ``"epoch"``.

    Raises:
        ConfigError: If ``k`` is outside (0, 1) or ``unit`` is unknown.

    >>> schedule = Exponential(0.5)
    >>> [schedule(i) for i in range(4)]
    [1.0, 0.5, 0.25, 0.125]
    """

    name: ClassVar[str] = "exponential"
    k: float
    unit: str = "epoch"

    def __post_init__(self) -> None:
        _check(self.name, "k", self.k, "0 < k < 1", lambda v: 0 < v < 1)
        _check_unit(self.unit)

    def _ratio_at(self, i: float) -> float:
        return float(self.k) ** i


@dataclass(frozen=True)
class InverseSigmoid(Schedule):
    """Inverse sigmoid decay ``r_i = k / (k + exp(i / k))``: slow, then fast, then slow again.

    Args:
        k: How long the ratio stays high (larger is slower), with ``k >= 1``.
        unit: ``"step"`` or ``"epoch"``.

    Raises:
        ConfigError: If ``k`` is below 1 or ``unit`` is unknown.

    >>> round(InverseSigmoid(1)(0), 3)
    0.5
    >>> InverseSigmoid(10)(1e6)  # no overflow far into training
    0.0
    """

    name: ClassVar[str] = "inverse_sigmoid"
    k: float
    unit: str = "epoch"

    def __post_init__(self) -> None:
        _check(self.name, "k", self.k, "k >= 1", lambda v: v >= 1)
        _check_unit(self.unit)

    def _ratio_at(self, i: float) -> float:
        # k / (k + e^(i/k)) = 1 / (1 + e^z) with z = i/k - ln k; exp of a non-positive number only.
        z = i / self.k - math.log(self.k)
        if z > 0:
            e = math.exp(-z)
            return e / (1.0 + e)
        return 1.0 / (1.0 + math.exp(z))


@dataclass(frozen=True)
class Flipped(Schedule):
    """The "flipped classroom" twin of a schedule, ``1 - r_i``: from free running to teacher forcing.

    Args:
        schedule: The schedule to flip; its ``unit`` is this schedule's unit.

    Raises:
        TypeError: If ``schedule`` is not a :class:`Schedule`.

    >>> schedule = Flipped(Exponential(0.5))
    >>> [schedule(i) for i in range(3)], schedule.unit
    ([0.0, 0.5, 0.75], 'epoch')
    """

    name: ClassVar[str] = "flipped"
    schedule: Schedule

    def __post_init__(self) -> None:
        if not isinstance(self.schedule, Schedule):
            raise TypeError(f"flipped needs a Schedule, got {type(self.schedule).__name__}")

    @property  # type: ignore[override]
    def unit(self) -> str:
        """The unit of the flipped schedule."""
        return self.schedule.unit

    def _ratio_at(self, i: float) -> float:
        return 1.0 - self.schedule(i)


@dataclass(frozen=True)
class CallableSchedule(Schedule):
    """A user function of training progress, checked to return a ratio in [0, 1].

    Args:
        function: Maps ``i`` (steps or epochs since the start, from 0) to a ratio.
        unit: ``"step"`` or ``"epoch"``.

    Raises:
        ConfigError: If ``function`` is not callable or ``unit`` is unknown; when called, if the
            function returns something that is not a number in [0, 1].

    >>> schedule = CallableSchedule(lambda i: 1.0 if i < 3 else 0.5)
    >>> schedule(2), schedule(3)
    (1.0, 0.5)
    """

    name: ClassVar[str] = "callable"
    function: Callable[[float], float]
    unit: str = "epoch"

    def __post_init__(self) -> None:
        if not callable(self.function):
            raise ConfigError(
                f"callable schedule: function must be callable, got {self.function!r}"
            )
        _check_unit(self.unit)

    def _ratio_at(self, i: float) -> float:
        ratio = self.function(i)
        if not (_is_number(ratio) and -_TOLERANCE <= ratio <= 1 + _TOLERANCE):
            label = getattr(self.function, "__name__", repr(self.function))
            raise ConfigError(
                f"teacher forcing schedule {label} returned {ratio!r} at {self.unit} {i:g}; "
                "a teacher forcing ratio must be a number in [0, 1]"
            )
        return min(max(float(ratio), 0.0), 1.0)


# Lower-case names, as in the YAML files: constant(1.0), linear(k=1.0, c=0.05), flipped(...).
constant = Constant
linear = Linear
exponential = Exponential
inverse_sigmoid = InverseSigmoid
flipped = Flipped

SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "linear": Linear,
    "exponential": Exponential,
    "inverse_sigmoid": InverseSigmoid,
}

_SPEC_KEYS = ("schedule", "unit", "flipped")


def schedule_from_spec(spec: Mapping[str, Any]) -> Schedule:
    """Build a schedule from the ``teacher_forcing`` mapping of an experiment file.

    The mapping names the schedule under ``schedule``, its parameters under their formula
    letters, and optionally ``unit`` (``step`` or ``epoch``, default ``epoch``) and ``flipped``
    (``true`` for the increasing twin ``1 - r``).

    Args:
        spec: For example ``{schedule: linear, k: 1.0, c: 0.05, floor: 0.1, unit: step}``.

    Returns:
        The schedule, wrapped in :class:`Flipped` when ``flipped`` is true.

    Raises:
        ConfigError: On an unknown schedule name or key, a missing parameter or a bad value.

    >>> schedule_from_spec({"schedule": "constant", "ratio": 1.0})
    Constant(ratio=1.0, unit='epoch')
    >>> round(schedule_from_spec({"schedule": "exponential", "k": 0.9, "flipped": True})(2), 2)
    0.19
    """
    if not isinstance(spec, Mapping):
        raise ConfigError(
            "teacher_forcing must be a mapping such as {schedule: constant, ratio: 1.0}, "
            f"got {spec!r}"
        )
    if "schedule" not in spec:
        valid_schedules = ", ".join(sorted(SCHEDULES))
        raise ConfigError(
            f"missing key 'schedule' in teacher_forcing; valid schedules: {valid_schedules}"
        )
    name = spec["schedule"]
    if not isinstance(name, str) or name not in SCHEDULES:
        raise ConfigError(unknown_name("schedule", str(name), SCHEDULES))
    cls = SCHEDULES[name]
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    parameters = [f.name for f in fields if f.name != "unit"]
    valid = sorted([*_SPEC_KEYS, *parameters])
    for key in spec:
        if key not in valid:
            guess = nearest(str(key), valid)
            hint = f" (did you mean '{guess}'?)" if guess else ""
            raise ConfigError(
                f"unknown key '{key}' in teacher_forcing{hint}; valid: {', '.join(valid)}"
            )
    required = [
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [key for key in required if key not in spec]
    if missing:
        raise ConfigError(
            f"missing key '{missing[0]}' in teacher_forcing for schedule '{name}'; "
            f"required: {', '.join(required)}"
        )
    is_flipped = spec.get("flipped", False)
    if not isinstance(is_flipped, bool):
        raise ConfigError(
            f"teacher_forcing key 'flipped' must be true or false, got {is_flipped!r}"
        )
    kwargs = {key: value for key, value in spec.items() if key in parameters}
    schedule = cls(**kwargs, unit=spec.get("unit", "epoch"))
    return Flipped(schedule) if is_flipped else schedule
