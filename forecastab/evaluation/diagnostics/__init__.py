"""Exposure-bias diagnostics: what the per-step error curves and rollouts reveal.

- :mod:`.growth`: exposure gap and its area, growth law of the error, crossover with a baseline;
- :mod:`.compounding`: per-step hit rates versus whole-prefix survival, valid prediction time;
- :mod:`.stability`: sensitivity to the context, drift and repetition of rollouts;
- :mod:`.shift`: MMD between teacher-forced and free-running decoder hidden states.
"""

from forecastab.evaluation.diagnostics.compounding import (
    Compounding,
    ValidPredictionTime,
    compounding,
    valid_prediction_time,
)
from forecastab.evaluation.diagnostics.growth import (
    GrowthFit,
    crossover_step,
    exposure_gap,
    fit_error_growth,
    gap_area,
)
from forecastab.evaluation.diagnostics.shift import hidden_state_shift, mmd2, mmd_per_step
from forecastab.evaluation.diagnostics.stability import (
    RolloutFlags,
    context_sensitivity,
    rollout_flags,
)

__all__ = [
    "Compounding",
    "GrowthFit",
    "RolloutFlags",
    "ValidPredictionTime",
    "compounding",
    "context_sensitivity",
    "crossover_step",
    "exposure_gap",
    "fit_error_growth",
    "gap_area",
    "hidden_state_shift",
    "mmd2",
    "mmd_per_step",
    "rollout_flags",
    "valid_prediction_time",
]
