"""``init_from`` on a strategy entry: start a run's network from another checkpoint's weights.

Fine-tuning strategies (``multi_step``, ``reinforce``) usually start from a model trained by
likelihood or teacher forcing. ``init_from`` names where its weights come from, in this order:

1. a path, when the value holds a ``/`` or ends in ``.ckpt``: a checkpoint file or a run folder
   (relative to the working directory);
2. the name of a strategy listed *earlier* in the file: that strategy's run of the same model,
   seed and horizon (so one entry fine-tunes every model and seed of the grid);
3. the folder name of an earlier run of the grid (``gru__teacher_forcing__seed0``).

Only the network's weights are loaded (:func:`forecastab.checkpoints.load_network_weights`);
the strategy, the optimizer and the epoch start afresh. A referenced run must come before the
run that uses it in the grid's order (horizon, model, strategy, seed), and the grid must run
one run at a time (``executor: {workers: 1}``, the default), since parallel runs do not wait for
each other. Every reference is checked before anything trains; a name that is none of these is
a one-line error naming the runs available.

A run folder records ``init_from`` as given in its resolved config: retraining the referenced
run does not by itself redo the runs initialised from it (delete their folders to redo them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from forecastab.errors import ConfigError, nearest

SHOWN = 8
"""Runs named in an error message, at most."""


def is_path(value: str) -> bool:
    """Whether an ``init_from`` value is a path rather than a strategy or run name.

    >>> is_path("teacher_forcing"), is_path("runs/a/checkpoints/model.ckpt"), is_path("m.ckpt")
    (False, True, True)
    """
    return "/" in value or "\\" in value or value.endswith(".ckpt")


def source_cell(cell: Any, cells: Sequence[Any]) -> Any | None:
    """The earlier grid cell whose checkpoint ``cell`` starts from, or None for a path or none.

    Args:
        cell: a :class:`~forecastab.experiments.runner.RunCell`.
        cells: the whole grid, in order.

    Raises:
        ConfigError: a name that is no earlier strategy or run (naming those available), or a
            reference to the run itself or a later one.
    """
    value = cell.strategy_config.init_from
    if value is None or is_path(value):
        return None
    index = cells.index(cell)
    earlier = list(cells[:index])
    names = [s.name for s in cell.config.strategies]
    if value in names:
        same = [
            c for c in cells
            if (c.horizon, c.model, c.seed, c.strategy) == (cell.horizon, cell.model, cell.seed, value)
        ]
        if not same:
            raise ConfigError(
                f"strategy '{cell.strategy}': init_from '{value}' has no run of model "
                f"'{cell.model}' (the model's 'strategies' key leaves it out); list '{value}' "
                "for that model or give a checkpoint path"
            )
        if same[0] not in earlier:
            raise ConfigError(
                f"strategy '{cell.strategy}': init_from '{value}' must be listed before "
                f"'{cell.strategy}' in strategies (its runs must finish first)"
            )
        return same[0]
    for candidate in earlier:
        if candidate.name == value:
            return candidate
    available = [c.name for c in earlier]
    guess = nearest(value, available + [n for n in names if n != cell.strategy])
    hint = f" (did you mean '{guess}'?)" if guess else ""
    shown = ", ".join(available[:SHOWN]) + (", ..." if len(available) > SHOWN else "")
    raise ConfigError(
        f"strategy '{cell.strategy}': init_from '{value}' is no earlier strategy or run of this "
        f"experiment, nor a checkpoint path (with a / or .ckpt){hint}; runs before "
        f"{cell.name}: {shown or 'none'}"
    )


def check_init_from(cells: Sequence[Any]) -> None:
    """Check every ``init_from`` of the grid before anything trains.

    Raises:
        ConfigError: an unknown or later reference, a path that does not exist, or runs of the
            grid referenced while the executor runs several at a time.
    """
    for cell in cells:
        value = cell.strategy_config.init_from
        if value is None:
            continue
        if is_path(value):
            if not Path(value).exists():
                raise ConfigError(
                    f"strategy '{cell.strategy}': init_from '{value}' does not exist; give a "
                    "checkpoint file, a run folder, or the name of an earlier strategy or run"
                )
            continue
        source_cell(cell, cells)
        executor = cell.config.executor
        if executor.type != "local" or executor.workers > 1:
            raise ConfigError(
                f"strategy '{cell.strategy}': init_from '{value}' needs the grid to run one run "
                "at a time (executor: {workers: 1}); parallel runs do not wait for each other. "
                "Run the source experiment first and give its checkpoint path"
            )


def init_checkpoint(cell: Any, cells: Sequence[Any]) -> Path | None:
    """The checkpoint ``cell``'s network starts from, or None when it starts from scratch.

    Raises:
        ConfigError: the referenced run has no checkpoint (it failed or did not run).
    """
    value = cell.strategy_config.init_from
    if value is None:
        return None
    if is_path(value):
        return Path(value)
    from forecastab.checkpoints import CHECKPOINT_FILE

    source = source_cell(cell, cells)
    file = source.run_dir / CHECKPOINT_FILE
    if not file.is_file():
        raise ConfigError(
            f"strategy '{cell.strategy}': run {source.name} (init_from '{value}') has no "
            f"checkpoint at {file}; it failed or has not run: fix it and rerun the experiment"
        )
    return file
