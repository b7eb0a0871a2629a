"""Teacher forcing: the one rollout loop, ratio schedules and the callback that applies them."""

from forecastab.teacher_forcing.callback import TeacherForcingScheduler
from forecastab.teacher_forcing.coins import COIN_DRAWS, EpochCoins
from forecastab.teacher_forcing.rollout import FEEDBACKS, Rollout, rollout
from forecastab.teacher_forcing.sampled import sample_paths
from forecastab.teacher_forcing.schedules import (
    SCHEDULES,
    UNITS,
    CallableSchedule,
    Constant,
    Exponential,
    Flipped,
    InverseSigmoid,
    Linear,
    Schedule,
    constant,
    exponential,
    flipped,
    inverse_sigmoid,
    linear,
    schedule_from_spec,
)

__all__ = [
    "COIN_DRAWS",
    "FEEDBACKS",
    "SCHEDULES",
    "UNITS",
    "CallableSchedule",
    "Constant",
    "EpochCoins",
    "Exponential",
    "Flipped",
    "InverseSigmoid",
    "Linear",
    "Rollout",
    "Schedule",
    "TeacherForcingScheduler",
    "constant",
    "exponential",
    "flipped",
    "inverse_sigmoid",
    "linear",
    "rollout",
    "sample_paths",
    "schedule_from_spec",
]
