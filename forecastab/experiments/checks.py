"""Checks of an experiment file that the schema cannot express, made before anything runs.

- names that become folder names (:mod:`forecastab.experiments.names`);
- the free-form ``trainer`` block, bounded in size before anything copies it (a mapping built
  from shared references can expand to billions of values) and its usual numbers in range, so
  ``max_epochs: -5`` fails when the file is read, not after the first run started;
- seeds in the range ``seed_everything`` takes;
- the memory a network needs to train, estimated on PyTorch's ``meta`` device (no memory
  allocated), so ``hidden_size: 1000000`` is one line naming the setting, not an allocation
  error.
"""

from __future__ import annotations

import math
import os
from typing import Any

from forecastab.errors import ConfigError
from forecastab.experiments.names import check_config_names
from forecastab.experiments.yaml_loader import MAX_NODES, expanded_size

MAX_TRAINER_VALUES = 1_000
"""The most values the ``trainer`` block may hold, nested values and aliases counted."""

MAX_SEED = 2**32 - 1
"""The largest seed ``pytorch_lightning.seed_everything`` accepts."""

# Trainer keys whose values are plain numbers: (smallest allowed, what it means).
_TRAINER_INTS: dict[str, tuple[int, str]] = {
    "max_epochs": (-1, "an integer >= -1 (-1: no limit)"),
    "max_steps": (-1, "an integer >= -1 (-1: no limit)"),
    "min_epochs": (0, "an integer >= 0"),
    "min_steps": (0, "an integer >= 0"),
    "log_every_n_steps": (1, "a positive integer"),
    "check_val_every_n_epoch": (1, "a positive integer"),
    "accumulate_grad_batches": (1, "a positive integer"),
    "num_nodes": (1, "a positive integer"),
    "num_sanity_val_steps": (-1, "an integer >= -1"),
}
_TRAINER_FRACTIONS = (
    "gradient_clip_val",
    "limit_train_batches",
    "limit_val_batches",
    "limit_test_batches",
    "limit_predict_batches",
    "val_check_interval",
    "overfit_batches",
)

# Keys of a model entry that set its size, named in the message when it is too large.
_SIZE_KEYS = ("hidden_size", "d_model", "dim_feedforward", "num_layers", "nhead")

BYTES_PER_PARAMETER = 16
"""float32 weights, their gradients and Adam's two moment estimates: 4 x 4 bytes."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_trainer_values(trainer: dict[str, Any]) -> None:
    """Check the ``trainer`` block's size and its usual numeric keys.

    Raises:
        ConfigError: ``trainer.<key>: ...`` naming the rule.
    """
    if expanded_size(trainer, MAX_TRAINER_VALUES) > MAX_TRAINER_VALUES:
        raise ConfigError(
            f"trainer: its values expand to more than {MAX_TRAINER_VALUES:,} entries (aliases "
            "counted as copies); trainer options are a few plain values"
        )
    for key, (lowest, rule) in _TRAINER_INTS.items():
        value = trainer.get(key)
        if value is not None and (not _is_int(value) or value < lowest):
            raise ConfigError(f"trainer.{key} must be {rule}, got {value!r}")
    for key in _TRAINER_FRACTIONS:
        value = trainer.get(key)
        if value is None:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or value < 0:
            raise ConfigError(f"trainer.{key} must be a finite number >= 0, got {value!r}")


def check_seeds(seeds: Any) -> None:
    """Seeds must be integers in ``[0, 2**32 - 1]``."""
    for seed in seeds if isinstance(seeds, list) else [seeds]:
        if _is_int(seed) and not 0 <= seed <= MAX_SEED:
            raise ConfigError(
                f"seeds: {seed} is out of range; a seed is an integer in [0, {MAX_SEED}]"
            )


def check_raw_config(raw: Any) -> None:
    """The checks made on the parsed file before the schema (see the module docstring).

    Raises:
        ConfigError: One line naming the key and the rule.
    """
    if not isinstance(raw, dict):
        return
    if expanded_size(raw) > MAX_NODES:
        raise ConfigError(
            f"the config expands to more than {MAX_NODES:,} values (shared references copied); "
            "an experiment is far smaller"
        )
    check_config_names(raw)
    if isinstance(raw.get("trainer"), dict):
        check_trainer_values(raw["trainer"])
    if "seeds" in raw:
        check_seeds(raw["seeds"])


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def check_model_size(options: dict[str, Any], config: Any, where: str) -> None:
    """Refuse a network that cannot be trained in this machine's memory, before allocating it.

    The network is built on PyTorch's ``meta`` device, which records shapes and allocates
    nothing; training needs about :data:`BYTES_PER_PARAMETER` bytes per parameter. More than
    half the physical memory is refused.

    Args:
        options: The model entry (as ``model_from_spec`` takes it).
        config: The experiment (its data block gives the lengths).
        where: The entry, for the message (``models[0] (gru)``).

    Raises:
        ConfigError: Naming the parameter count, the memory and the size settings.
    """
    import torch

    from forecastab.models import model_from_spec

    memory = _memory_bytes()
    if memory is None:
        return
    try:
        with torch.device("meta"):
            module = model_from_spec(
                dict(options),
                context_length=config.data.context_length,
                horizon=config.data.horizons[0],
                n_targets=1,
            )
    except Exception:  # the real build reports what is wrong with the entry
        return
    parameters = sum(p.numel() for p in module.parameters())
    need = parameters * BYTES_PER_PARAMETER
    if need <= memory // 2:
        return
    sizes = ", ".join(f"{key}: {options[key]}" for key in _SIZE_KEYS if key in options)
    raise ConfigError(
        f"{where}: the network has {parameters:,} parameters and needs about "
        f"{need / 2**30:,.1f} GiB to train, more than half of this machine's "
        f"{memory / 2**30:,.0f} GiB; reduce {sizes or 'its size'}"
    )
