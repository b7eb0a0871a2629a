"""Self-contained checkpoints: what a ``ForecastModule`` saves besides its weights, and ``load``.

``ForecastModule.on_save_checkpoint`` puts one entry, ``checkpoint["forecastab"]``, into every
Lightning checkpoint: the data settings (:class:`~forecastab.data.spec.DataSpec`: scaler, columns,
context length, horizon, frequency), the training strategy's spec and the teacher forcing ratio
the model ended training with. :func:`load` reads a checkpoint safely (``torch.load`` with
``weights_only=True``: plain containers and tensors only, never arbitrary pickled objects) and
returns a model that forecasts from raw data in original units.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from forecastab.data.spec import DataSpec
from forecastab.errors import DataError

CHECKPOINT_KEY = "forecastab"
"""The one key forecastab adds to a Lightning checkpoint."""

ENTRY_VERSION = 1
CHECKPOINT_FILE = Path("checkpoints") / "model.ckpt"
"""Where a run folder of ``forecastab run`` keeps its checkpoint."""


def checkpoint_entry(module: Any) -> dict[str, Any]:
    """The ``forecastab`` entry of a module's checkpoint: plain types only."""
    spec: DataSpec | None = getattr(module, "data_spec", None)
    return {
        "version": ENTRY_VERSION,
        "data": None if spec is None else spec.to_dict(),
        "strategy": getattr(module, "strategy_spec", None),
        "final_teacher_forcing_ratio": float(module.teacher_forcing_ratio),
    }


def restore_entry(module: Any, checkpoint: Mapping[str, Any]) -> None:
    """Give a module back what :func:`checkpoint_entry` saved (absent in older checkpoints)."""
    entry = checkpoint.get(CHECKPOINT_KEY)
    if not isinstance(entry, Mapping):
        return
    if entry.get("data") is not None:
        module.data_spec = DataSpec.from_dict(entry["data"])
    module.strategy_spec = entry.get("strategy")
    if entry.get("final_teacher_forcing_ratio") is not None:
        module.teacher_forcing_ratio = float(entry["final_teacher_forcing_ratio"])


def checkpoint_path(path: str | Path) -> Path:
    """The checkpoint file of a path: the file itself, or a run folder's ``checkpoints/model.ckpt``.

    Raises:
        DataError: nothing there, or an experiment folder holding several runs.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist; give a checkpoint file or a run folder")
    if path.is_file():
        return path
    if (path / CHECKPOINT_FILE).is_file():
        return path / CHECKPOINT_FILE
    runs = sorted(p.name for p in (path / "runs").glob("*") if (p / CHECKPOINT_FILE).is_file())
    if runs:
        raise DataError(
            f"{path} is an experiment folder with {len(runs)} trained run(s); give one run folder, "
            f"e.g. {path / 'runs' / runs[0]}"
        )
    candidates = sorted(path.glob("**/*.ckpt"))
    if len(candidates) == 1:
        return candidates[0]
    raise DataError(
        f"{path} holds no checkpoint ({CHECKPOINT_FILE} or one .ckpt file); give a checkpoint "
        "file or the folder of a finished run"
    )


def unfinished_run(path: str | Path) -> Path | None:
    """The run folder of a checkpoint when that run has not finished, else None.

    A run of ``forecastab run`` writes ``DONE`` last; its checkpoint exists from the first
    validation on, so without ``DONE`` the weights are those of some epoch mid-training (or
    of a run that failed). ``forecastab predict`` refuses them unless asked.

    Args:
        path: A checkpoint file or run folder (see :func:`checkpoint_path`).
    """
    file = checkpoint_path(path)
    run_dir = file.parent.parent
    if file.name != CHECKPOINT_FILE.name or file.parent.name != CHECKPOINT_FILE.parent.name:
        return None
    if not (run_dir / "config.yaml").is_file() or (run_dir / "DONE").is_file():
        return None
    return run_dir


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint's contents, read without unpickling arbitrary objects.

    Raises:
        DataError: the file is not a checkpoint (or holds objects other than plain containers
            and tensors), or lacks Lightning's ``state_dict`` and ``hyper_parameters``.
    """
    import torch

    path = checkpoint_path(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, AttributeError,
            TypeError, KeyError, IndexError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:120]
        raise DataError(
            f"{path} is not a readable forecastab checkpoint ({type(error).__name__}: {reason}); "
            "give a .ckpt file written by forecastab run or by a Trainer"
        ) from None
    if not isinstance(checkpoint, Mapping) or not {"state_dict", "hyper_parameters"} <= set(
        checkpoint
    ):
        raise DataError(
            f"{path} is not a Lightning checkpoint of a ForecastModule (no state_dict and "
            "hyper_parameters); give a .ckpt file written by forecastab run or by a Trainer"
        )
    return dict(checkpoint)


def load(path: str | Path) -> Any:
    """A trained forecaster from a checkpoint file or a run folder, ready to ``predict_frame``.

    Args:
        path: a ``.ckpt`` file, or a run folder of ``forecastab run``
            (``runs/<model>__<strategy>__seed<k>``) holding ``checkpoints/model.ckpt``.

    Returns:
        The ``ForecastModule`` in eval mode on the CPU, with its data settings
        (``.data_spec``), strategy spec and final teacher forcing ratio.

    Raises:
        DataError: not a checkpoint, or one saved without the data settings (naming what is
            missing).

    >>> import forecastab
    >>> forecastab.load("no/such/run")
    Traceback (most recent call last):
    forecastab.errors.DataError: no/such/run does not exist; give a checkpoint file or a run folder
    """
    from forecastab.errors import ConfigError
    from forecastab.models.lightning import ForecastModule

    file = checkpoint_path(path)
    checkpoint = read_checkpoint(file)
    entry = checkpoint.get(CHECKPOINT_KEY)
    if not isinstance(entry, Mapping) or entry.get("data") is None:
        raise DataError(
            f"{file} has no '{CHECKPOINT_KEY}' entry with the data settings (scaler, "
            "target_columns, time_column, context_length, horizon); it was saved by an older "
            "forecastab or fitted without a WindowDataModule: retrain it with forecastab run or "
            "trainer.fit(model, datamodule)"
        )
    DataSpec.from_dict(entry["data"], where=str(file))  # names missing fields before building
    try:
        module = ForecastModule(**dict(checkpoint["hyper_parameters"]))
        module.load_state_dict(checkpoint["state_dict"])
    except (TypeError, RuntimeError, ConfigError) as error:
        reason = str(error).strip().splitlines()[0][:160]
        raise DataError(
            f"{file}: the checkpoint does not match this forecastab's ForecastModule ({reason}); "
            "retrain the model with this version"
        ) from None
    module.on_load_checkpoint(checkpoint)
    return module.eval()


NETWORK_PREFIX = "network."
"""The ``state_dict`` keys of a ``ForecastModule``'s network (its strategy's modules are apart)."""


def load_network_weights(module: Any, path: str | Path) -> Path:
    """Initialise a forecaster's network with the weights of a checkpoint, before training.

    Only the network's weights are read (safely, as :func:`read_checkpoint` does); the
    strategy, its modules and state, the optimizer and the epoch start afresh, so a model
    trained one way can be fine-tuned another (``init_from`` on an experiment's strategy entry).

    Args:
        module: the ``ForecastModule`` to initialise.
        path: a ``.ckpt`` file or a run folder (see :func:`checkpoint_path`).

    Returns:
        The checkpoint file read.

    Raises:
        DataError: not a checkpoint, or one whose network differs from ``module``'s (another
            type, size or distribution head), naming the first mismatch.
    """
    file = checkpoint_path(path)
    state = read_checkpoint(file)["state_dict"]
    weights = {
        key.removeprefix(NETWORK_PREFIX): value
        for key, value in state.items()
        if key.startswith(NETWORK_PREFIX)
    }
    try:
        module.network.load_state_dict(weights)
    except RuntimeError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = (lines[1] if len(lines) > 1 else lines[0])[:200] if lines else "mismatch"
        raise DataError(
            f"{file}: its network does not fit model '{module.name}' ({reason}); initialise from "
            "a checkpoint of the same network (type, sizes, distribution)"
        ) from None
    return file
