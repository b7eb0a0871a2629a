"""``forecastab tune``: choose strategy, normalization and training settings on free-running
validation error with Optuna, then compare the winner with equally tuned teacher forcing.

See docs/tuning.md. :func:`tune` is the entry point; :func:`load_tune_config` checks a file.
"""

from __future__ import annotations

from forecastab.tuning.config import TuneConfig, load_tune_config
from forecastab.tuning.search import TuneResult, tune

__all__ = ["TuneConfig", "TuneResult", "load_tune_config", "tune"]
