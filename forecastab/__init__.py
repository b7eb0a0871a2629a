"""forecastab: forecasting under exposure bias.

``forecastab.load(path)`` returns a trained model from a checkpoint or a run folder (see
:func:`forecastab.checkpoints.load`); the subpackages hold the rest. Importing ``forecastab``
imports neither torch nor Lightning: a subpackage is imported when first used
(``forecastab.evaluation.evaluate`` works after a bare ``import forecastab``), so the command line
starts quickly.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = frozenset(
    {
        "baselines",
        "checkpoints",
        "data",
        "errors",
        "evaluation",
        "experiments",
        "forecasting",
        "models",
        "plotting",
        "strategies",
        "teacher_forcing",
        "tuning",
    }
)


def load(path: Any) -> Any:
    """A trained forecaster from a checkpoint file or a run folder (:func:`forecastab.checkpoints.load`)."""
    from forecastab.checkpoints import load as load_checkpoint

    return load_checkpoint(path)


def tune(config: Any, out_dir: Any, **options: Any) -> Any:
    """Tune strategy and training settings on free-running validation error (:func:`forecastab.tuning.tune`)."""
    from forecastab.tuning import tune as run_tune

    return run_tune(config, out_dir, **options)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")  # sets the attribute too
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
