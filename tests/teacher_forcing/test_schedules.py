"""Teacher forcing schedules against Bengio et al. (2015), worked out by hand."""

from __future__ import annotations

import math

import pytest
import yaml

from forecastab.errors import ConfigError
from forecastab.teacher_forcing.schedules import (
    SCHEDULES,
    CallableSchedule,
    Constant,
    Exponential,
    Flipped,
    InverseSigmoid,
    Linear,
    Schedule,
    schedule_from_spec,
)

# (schedule, i, expected ratio) from the formulas, independent of the implementation.
EXPECTED = [
    (Constant(0.3), 0, 0.3),
    (Constant(0.3), 1000, 0.3),
    (Constant(0.0, unit="step"), 7, 0.0),
    # linear: max(floor, k - c * i)
    (Linear(k=1.0, c=0.05, floor=0.1), 0, 1.0),
    (Linear(k=1.0, c=0.05, floor=0.1), 4, 0.8),  # 1 - 0.2
    (Linear(k=1.0, c=0.05, floor=0.1), 10, 0.5),  # 1 - 0.5
    (Linear(k=1.0, c=0.05, floor=0.1), 17, 0.15),  # 1 - 0.85
    (Linear(k=1.0, c=0.05, floor=0.1), 30, 0.1),  # 1 - 1.5 < floor
    (Linear(k=0.8, c=0.1, unit="step"), 3, 0.5),  # 0.8 - 0.3
    (Linear(k=0.8, c=0.1, unit="step"), 2.5, 0.55),  # fractional progress
    (Linear(k=0.8, c=0.1, unit="step"), 100, 0.0),  # default floor 0
    # exponential: k ** i
    (Exponential(0.9), 0, 1.0),
    (Exponential(0.9), 1, 0.9),
    (Exponential(0.9), 2, 0.81),
    (Exponential(0.9), 10, 0.3486784401),
    (Exponential(0.5, unit="step"), 3, 0.125),
    # inverse sigmoid: k / (k + exp(i / k))
    (InverseSigmoid(1), 0, 0.5),  # 1 / (1 + 1)
    (InverseSigmoid(1), 2, 1 / (1 + math.e**2)),  # 0.1192
    (InverseSigmoid(5), 0, 5 / 6),
    (InverseSigmoid(5), 5, 5 / (5 + math.e)),  # 0.6478
    (InverseSigmoid(5), 20, 5 / (5 + math.e**4)),  # 0.0839
    (InverseSigmoid(100, unit="step"), 300, 100 / (100 + math.e**3)),  # 0.8328
    (InverseSigmoid(10), 100_000, 0.0),  # exp(10_000) would overflow
    # flipped classroom: 1 - r
    (Flipped(Constant(0.3)), 5, 0.7),
    (Flipped(Linear(k=1.0, c=0.05, floor=0.1)), 4, 0.2),
    (Flipped(Linear(k=1.0, c=0.05, floor=0.1)), 30, 0.9),
    (Flipped(Exponential(0.9)), 2, 0.19),
    (Flipped(InverseSigmoid(5)), 0, 1 / 6),
    # a user function of progress
    (CallableSchedule(lambda i: 1.0 - i / 10), 4, 0.6),
    (CallableSchedule(lambda i: 1.0 + 1e-12, unit="step"), 0, 1.0),  # rounding clipped
]


@pytest.mark.parametrize(("schedule", "i", "expected"), EXPECTED)
def test_ratio_matches_the_formula(schedule: Schedule, i: float, expected: float) -> None:
    assert schedule(i) == pytest.approx(expected, rel=1e-9, abs=1e-12)


DECREASING = [
    Linear(k=1.0, c=0.05, floor=0.1),
    Linear(k=0.9, c=0.003, unit="step"),
    Exponential(0.9),
    Exponential(0.999, unit="step"),
    InverseSigmoid(1),
    InverseSigmoid(5),
    InverseSigmoid(50, unit="step"),
]
PROGRESS = [*range(200), 1_000, 10_000, 1e6]


@pytest.mark.parametrize("schedule", DECREASING, ids=repr)
def test_decays_within_bounds(schedule: Schedule) -> None:
    ratios = [schedule(i) for i in PROGRESS]
    assert all(0.0 <= r <= 1.0 for r in ratios)
    assert all(a >= b for a, b in zip(ratios, ratios[1:]))
    assert ratios[0] > ratios[-1]


@pytest.mark.parametrize("schedule", DECREASING, ids=repr)
def test_flipped_rises_within_bounds(schedule: Schedule) -> None:
    rising = Flipped(schedule)
    ratios = [rising(i) for i in PROGRESS]
    assert all(0.0 <= r <= 1.0 for r in ratios)
    assert all(a <= b for a, b in zip(ratios, ratios[1:]))
    assert ratios[0] < ratios[-1]
    assert rising.unit == schedule.unit


def test_schedules_are_frozen() -> None:
    schedule = Exponential(0.9)
    with pytest.raises(AttributeError):
        schedule.k = 0.5  # type: ignore[misc]


INVALID = [
    (lambda: Constant(1.5), "constant schedule: ratio must satisfy 0 <= ratio <= 1, got 1.5"),
    (lambda: Constant(-0.1), "constant schedule: ratio must satisfy 0 <= ratio <= 1, got -0.1"),
    (
        lambda: Constant(float("nan")),
        "constant schedule: ratio must satisfy 0 <= ratio <= 1, got nan",
    ),
    (lambda: Constant("1"), "constant schedule: ratio must satisfy 0 <= ratio <= 1, got '1'"),
    (lambda: Constant(True), "constant schedule: ratio must satisfy 0 <= ratio <= 1, got True"),
    (
        lambda: Constant(1.0, unit="epochs"),
        "unknown unit 'epochs' (did you mean 'epoch'?); valid: epoch, step",
    ),
    (lambda: Linear(k=1.2, c=0.1), "linear schedule: k must satisfy 0 <= k <= 1, got 1.2"),
    (lambda: Linear(k=-1, c=0.1), "linear schedule: k must satisfy 0 <= k <= 1, got -1"),
    (lambda: Linear(c=-0.1), "linear schedule: c must satisfy c >= 0, got -0.1"),
    (
        lambda: Linear(k=0.5, c=0.1, floor=0.7),
        "linear schedule: floor must satisfy 0 <= floor <= k = 0.5, got 0.7",
    ),
    (
        lambda: Linear(c=0.1, floor=-0.1),
        "linear schedule: floor must satisfy 0 <= floor <= k = 1.0, got -0.1",
    ),
    (
        lambda: Linear(c=0.1, unit="steps"),
        "unknown unit 'steps' (did you mean 'step'?); valid: epoch, step",
    ),
    (lambda: Exponential(1.0), "exponential schedule: k must satisfy 0 < k < 1, got 1.0"),
    (lambda: Exponential(0), "exponential schedule: k must satisfy 0 < k < 1, got 0"),
    (lambda: Exponential(1.1), "exponential schedule: k must satisfy 0 < k < 1, got 1.1"),
    (lambda: InverseSigmoid(0.5), "inverse_sigmoid schedule: k must satisfy k >= 1, got 0.5"),
    (lambda: InverseSigmoid(-5), "inverse_sigmoid schedule: k must satisfy k >= 1, got -5"),
    (lambda: CallableSchedule(3), "callable schedule: function must be callable, got 3"),
]


@pytest.mark.parametrize(("build", "message"), INVALID, ids=[m for _, m in INVALID])
def test_invalid_parameters_name_the_range(build, message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        build()
    assert str(excinfo.value) == message


def test_user_function_outside_unit_interval_is_an_error() -> None:
    def too_eager(i: float) -> float:
        return 1.0 + i

    schedule = CallableSchedule(too_eager, unit="step")
    assert schedule(0) == 1.0
    with pytest.raises(ConfigError) as excinfo:
        schedule(3)
    assert str(excinfo.value) == (
        "teacher forcing schedule too_eager returned 4.0 at step 3; "
        "a teacher forcing ratio must be a number in [0, 1]"
    )
    with pytest.raises(ConfigError, match="returned None at epoch 0"):
        CallableSchedule(lambda i: None)(0)


def test_negative_progress_is_rejected() -> None:
    with pytest.raises(ValueError) as excinfo:
        Linear(c=0.1)(-1)
    assert str(excinfo.value) == "linear schedule: i must be a number >= 0, got -1"


def test_flipped_needs_a_schedule() -> None:
    with pytest.raises(TypeError) as excinfo:
        Flipped(lambda i: 0.5)  # type: ignore[arg-type]
    assert str(excinfo.value) == "flipped needs a Schedule, got function"


def test_registry_names_every_yaml_schedule() -> None:
    assert SCHEDULES == {
        "constant": Constant,
        "linear": Linear,
        "exponential": Exponential,
        "inverse_sigmoid": InverseSigmoid,
    }


GOOD_SPECS = [
    ("{schedule: inverse_sigmoid, k: 5, unit: epoch}", InverseSigmoid(5, unit="epoch")),
    ("{schedule: constant, ratio: 1.0}", Constant(1.0)),
    ("{schedule: constant, ratio: 0}", Constant(0)),
    (
        "{schedule: linear, k: 1.0, c: 0.05, floor: 0.1, unit: step, flipped: true}",
        Flipped(Linear(k=1.0, c=0.05, floor=0.1, unit="step")),
    ),
    (
        "{schedule: linear, k: 1, c: 0.05, floor: 0.0, unit: epoch, flipped: false}",
        Linear(k=1, c=0.05, floor=0.0),
    ),
    ("{schedule: linear, c: 0.05}", Linear(k=1.0, c=0.05, floor=0.0)),
    ("{schedule: exponential, k: 0.9, unit: step}", Exponential(0.9, unit="step")),
]


@pytest.mark.parametrize(("text", "expected"), GOOD_SPECS, ids=[t for t, _ in GOOD_SPECS])
def test_schedule_from_yaml_spec(text: str, expected: Schedule) -> None:
    schedule = schedule_from_spec(yaml.safe_load(text))
    assert schedule == expected
    assert schedule.unit == expected.unit


BAD_SPECS = [
    (
        {"schedule": "lineer", "c": 0.1},
        "unknown schedule 'lineer' (did you mean 'linear'?); "
        "valid: constant, exponential, inverse_sigmoid, linear",
    ),
    (
        {"schedule": "cyclic"},
        "unknown schedule 'cyclic'; valid: constant, exponential, inverse_sigmoid, linear",
    ),
    (
        {"schedule": "linear", "k": 1.0, "c": 0.05, "fl00r": 0.1},
        "unknown key 'fl00r' in teacher_forcing (did you mean 'floor'?); "
        "valid: c, flipped, floor, k, schedule, unit",
    ),
    (
        {"schedule": "constant", "ratio": 1.0, "units": "step"},
        "unknown key 'units' in teacher_forcing (did you mean 'unit'?); "
        "valid: flipped, ratio, schedule, unit",
    ),
    (
        {"schedule": "constant", "k": 5},
        "unknown key 'k' in teacher_forcing; valid: flipped, ratio, schedule, unit",
    ),
    (
        {"schedule": "linear", "k": 1.0},
        "missing key 'c' in teacher_forcing for schedule 'linear'; required: c",
    ),
    (
        {"schedule": "inverse_sigmoid", "unit": "epoch"},
        "missing key 'k' in teacher_forcing for schedule 'inverse_sigmoid'; required: k",
    ),
    (
        {"schedule": "constant"},
        "missing key 'ratio' in teacher_forcing for schedule 'constant'; required: ratio",
    ),
    (
        {"ratio": 1.0},
        "missing key 'schedule' in teacher_forcing; "
        "valid schedules: constant, exponential, inverse_sigmoid, linear",
    ),
    (
        {"schedule": "constant", "ratio": 1.0, "flipped": "yes"},
        "teacher_forcing key 'flipped' must be true or false, got 'yes'",
    ),
    (
        {"schedule": "exponential", "k": 2},
        "exponential schedule: k must satisfy 0 < k < 1, got 2",
    ),
    (
        {"schedule": "inverse_sigmoid", "k": 5, "unit": "epochs"},
        "unknown unit 'epochs' (did you mean 'epoch'?); valid: epoch, step",
    ),
    (
        "constant",
        "teacher_forcing must be a mapping such as {schedule: constant, ratio: 1.0}, "
        "got 'constant'",
    ),
]


@pytest.mark.parametrize(("spec", "message"), BAD_SPECS, ids=[m for _, m in BAD_SPECS])
def test_bad_spec_is_one_readable_line(spec: object, message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        schedule_from_spec(spec)  # type: ignore[arg-type]
    assert str(excinfo.value) == message
