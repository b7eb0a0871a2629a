"""forecastab: forecasting under exposure bias.

``forecastab.load(path)`` returns a trained model from a checkpoint or a run folder (see
:func:`forecastab.checkpoints.load`); the subpackages hold the rest.
"""

from __future__ import annotations

from typing import Any


def load(path: Any) -> Any:
    """A trained forecaster from a checkpoint file or a run folder (:func:`forecastab.checkpoints.load`)."""
    from forecastab.checkpoints import load as load_checkpoint

    return load_checkpoint(path)


def tune(config: Any, out_dir: Any, **options: Any) -> Any:
    """Tune strategy and training settings on free-running validation error (:func:`forecastab.tuning.tune`)."""
    from forecastab.tuning import tune as run_tune

    return run_tune(config, out_dir, **options)
