"""Experiments: a YAML grid of data x models x strategies x seeds, run and reported.

:func:`load_config` validates an experiment file, :func:`run_experiment` runs it into an output
folder (``results.csv``, ``horizon_error.png``, ``summary.md``, one folder per run), and the
``forecastab`` command line (:mod:`forecastab.cli`) wraps both.
"""

from forecastab.experiments.config import ExperimentConfig, load_config, validate_config
from forecastab.experiments.runner import ExperimentResult, RunOutcome, run_experiment

__all__ = [
    "ExperimentConfig",
    "ExperimentResult",
    "RunOutcome",
    "load_config",
    "run_experiment",
    "validate_config",
]
