"""Checks of an experiment file that the schema cannot express, made before anything runs.

- names that become folder names (:mod:`forecastab.experiments.names`);
- the free-form ``trainer`` block, bounded in size before anything copies it (a mapping built
  from shared references can expand to billions of values) and its usual numbers in range, so
  ``max_epochs: -5`` fails when the file is read, not after the first run started;
- the trainer's ``precision``, ``strategy`` and ``accelerator`` names against what Lightning
  accepts, so a typo fails when the file is read, not in every run;
- seeds in the range ``seed_everything`` takes;
- a data source that is a FIFO or a device (reading it would block or fill memory);
- the memory a network needs to train, from its parameter count computed arithmetically from the
  entry (nothing is built: a build of ``hidden_size: 1000000000`` overflows, and one of
  ``num_layers: 1000000`` takes minutes), so an oversized network is one line naming the
  setting, not an allocation error.
"""

from __future__ import annotations

import math
from typing import Any

from forecastab.checks import physical_memory
from forecastab.errors import ConfigError, unknown_name
from forecastab.experiments.names import check_config_names
from forecastab.experiments.yaml_loader import MAX_NODES, expanded_size

MAX_TRAINER_VALUES = 1_000
"""The most values the ``trainer`` block may hold, nested values and aliases counted."""

MAX_SEED = 2**32 - 1
"""The largest seed ``pytorch_lightning.seed_everything`` accepts."""

MAX_LAYERS = 1_000
"""The most stacked layers a network may have (building a million takes many minutes)."""

MAX_LONG_RUN_STEPS = 100_000
"""The longest ``evaluation.long_run.steps``: a free run is one step at a time."""

MAX_BOOTSTRAP = 100_000
"""The most block-bootstrap resamples (``compare --n-bootstrap``, ``evaluation.n_bootstrap``)."""

# Trainer keys whose values are plain numbers: (smallest allowed, what it means).
_TRAINER_INTS: dict[str, tuple[int, str]] = {
    "max_epochs": (-1, "a positive integer or -1 (no limit)"),
    "max_steps": (-1, "a positive integer or -1 (no limit)"),
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
    for key in ("max_epochs", "max_steps"):
        if trainer.get(key) == 0 and not isinstance(trainer.get(key), bool):
            raise ConfigError(
                f"trainer.{key} must be a positive integer or -1 (no limit), got 0; "
                "0 trains nothing and every run would score an untrained network"
            )
    check_trainer_names(trainer)
    for key in _TRAINER_FRACTIONS:
        value = trainer.get(key)
        if value is None:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or value < 0:
            raise ConfigError(f"trainer.{key} must be a finite number >= 0, got {value!r}")


def check_trainer_names(trainer: dict[str, Any]) -> None:
    """``precision``, ``strategy`` and ``accelerator`` must be values Lightning accepts.

    Only the names are checked: whether a GPU is present is for the machine that runs.

    Raises:
        ConfigError: ``trainer.<key>: unknown ...`` listing the valid values.
    """
    from typing import get_args

    from pytorch_lightning.accelerators import AcceleratorRegistry
    from pytorch_lightning.strategies import StrategyRegistry

    try:  # Lightning's own list of precision values (a private name: skip if it moves)
        from lightning_fabric.plugins.precision.precision import _PRECISION_INPUT
    except ImportError:  # pragma: no cover - another Lightning version
        _PRECISION_INPUT = None
    precisions = [v for literal in get_args(_PRECISION_INPUT) for v in get_args(literal)]
    precision = trainer.get("precision")
    valid = precision in precisions and not isinstance(precision, bool)
    if precision is not None and precisions and not valid:
        names = dict.fromkeys(str(v) for v in precisions)
        raise ConfigError(
            f"trainer.precision must be one of {', '.join(names)}, got {precision!r}"
        )
    for key, names in (
        ("strategy", ["auto", *StrategyRegistry.available_strategies()]),
        ("accelerator", ["auto", "gpu", *sorted(AcceleratorRegistry.available_accelerators())]),
    ):
        value = trainer.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or value.lower() not in names:
            raise ConfigError(f"trainer.{key}: " + unknown_name(f"trainer {key}", value, names))


def check_seeds(seeds: Any) -> None:
    """Seeds must be whole numbers in ``[0, 2**32 - 1]`` (``-1.0`` is refused like ``-1``)."""
    for seed in seeds if isinstance(seeds, list) else [seeds]:
        number = isinstance(seed, int | float) and not isinstance(seed, bool)
        if number and math.isfinite(seed) and not 0 <= seed <= MAX_SEED:
            raise ConfigError(
                f"seeds: {seed} is out of range; a seed is an integer in [0, {MAX_SEED}]"
            )


def check_data_source(source: str) -> None:
    """A ``data.source`` naming a file must name a regular file of a sane size.

    Bundled names and paths that do not exist are left to the data layer's own messages.

    Raises:
        DataError: A FIFO, a device or a folder, or a file too large for this machine.
    """
    from pathlib import Path

    from forecastab.data.registry import DATASETS
    from forecastab.data.validation import check_data_file

    if source not in DATASETS and Path(source).exists():
        check_data_file(source)


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


def _count(value: Any) -> int | None:
    """A size setting as an int, or None when it is not one (the real build reports that)."""
    return value if _is_int(value) and value >= 1 else None


def _recurrent(cell: Any, *, inputs: int, hidden: int, layers: int, directions: int = 1) -> int:
    """Parameters of ``torch.nn.GRU``/``LSTM``: per gate, input and hidden weights, two biases."""
    gates = 4 if cell == "lstm" else 3
    first = gates * (hidden * inputs + hidden * hidden + 2 * hidden)
    later = gates * (hidden * directions * hidden + hidden * hidden + 2 * hidden)
    return directions * (first + (layers - 1) * later)


def _head(inputs: int, outputs: int, distribution: Any) -> int:
    """Parameters of the output head: a linear layer, ``P`` outputs per value for a distribution."""
    from forecastab.models.distributions import DISTRIBUTIONS

    per_value = DISTRIBUTIONS[distribution].n_params if distribution in DISTRIBUTIONS else 1
    return (inputs + 1) * outputs * per_value


def _network_parameters(options: dict[str, Any], *, context_length: int, horizon: int) -> int | None:
    """The parameter count of the network a model entry describes, with one target column.

    Computed from the entry's numbers with Python's unbounded integers, so no size overflows
    and nothing is allocated. None when a setting is not a positive integer (the build then
    says what is wrong with it) or the type is unknown.
    """
    kind = options.get("type")
    targets = 1
    defaults = {"rnn": (64, 1), "direct": (64, 1), "transformer": (64, 2)}
    if kind in ("rnn", "direct"):
        hidden = _count(options.get("hidden_size", defaults[kind][0]))
        layers = _count(options.get("num_layers", defaults[kind][1]))
        if hidden is None or layers is None:
            return None
        # an rnn with ``patch: P`` reads and emits P values per step
        patch = _count(options.get("patch", 1)) if kind == "rnn" else 1
        if patch is None:
            return None
        cell = options.get("cell", "gru")
        stack = _recurrent(cell, inputs=patch * targets, hidden=hidden, layers=layers)
        outputs = patch * targets if kind == "rnn" else horizon * targets
        total = (2 if kind == "rnn" else 1) * stack + _head(hidden, outputs, options.get("distribution"))
    elif kind == "transformer":
        width = _count(options.get("d_model", 64))
        layers = _count(options.get("num_layers", 2))
        feedforward = _count(options.get("dim_feedforward", 128))
        patch = _count(options.get("patch", 1))
        if patch is None:
            return None
        positions = _count(options.get("max_length") or (context_length + horizon) // patch)
        if None in (width, layers, feedforward, positions):
            return None
        block = (
            4 * width * width + 4 * width  # query/key/value and output projections
            + 2 * width * feedforward + feedforward + width  # the feed-forward layers
            + 4 * width  # two layer norms
        )
        total = (
            (patch * targets + 1) * width  # the input embedding
            + positions * width
            + layers * block
            + 2 * width
            + _head(width, patch * targets, options.get("distribution"))
        )
    elif kind == "linear":
        copies = 2 if options.get("variant") == "dlinear" else 1
        total = copies * (context_length + 1) * horizon
    else:
        return None
    if options.get("revin_affine") is True:
        total += 2 * targets
    return total


def _strategy_parameters(options: dict[str, Any], strategy: dict[str, Any] | None) -> int | None:
    """Parameters a strategy adds: professor forcing's discriminator (a bidirectional GRU and an
    MLP on the decoder's hidden states and outputs)."""
    if not strategy or strategy.get("method") != "professor_forcing":
        return 0
    width = _count(options.get("d_model" if options.get("type") == "transformer" else "hidden_size", 64))
    settings = strategy.get("professor_forcing") or {}
    hidden = _count(settings.get("discriminator_hidden") or width)
    if width is None or hidden is None:
        return None
    inputs = width + 1
    mlp = (2 * hidden + 1) * hidden + (hidden + 1) * hidden + hidden + 1
    return _recurrent("gru", inputs=inputs, hidden=hidden, layers=1, directions=2) + mlp


def estimated_parameters(
    options: dict[str, Any], *, context_length: int, horizon: int, strategy: dict[str, Any] | None = None
) -> int | None:
    """The parameters a model entry trains with a strategy, computed without building anything.

    >>> estimated_parameters({"type": "rnn", "cell": "gru", "hidden_size": 8}, context_length=12,
    ...                      horizon=4)
    537
    """
    network = _network_parameters(options, context_length=context_length, horizon=horizon)
    extra = _strategy_parameters(options, strategy)
    if network is None or extra is None:
        return None
    return network + extra


def check_model_size(
    options: dict[str, Any], config: Any, where: str, *, strategy: dict[str, Any] | None = None
) -> None:
    """Refuse a network that cannot be trained in this machine's memory, before building it.

    The layer count is bounded by :data:`MAX_LAYERS`; the parameters are counted from the
    entry (:func:`estimated_parameters`), and training needs about :data:`BYTES_PER_PARAMETER`
    bytes per parameter. More than half the physical memory is refused.

    Args:
        options: The model entry (as ``model_from_spec`` takes it).
        config: The experiment (its data block gives the lengths).
        where: The entry, for the message (``models[0] (gru)``).
        strategy: The strategy's spec, when it adds modules (professor forcing).

    Raises:
        ConfigError: Naming the parameter count, the memory and the size settings.
    """
    layers = options.get("num_layers")
    if _is_int(layers) and layers > MAX_LAYERS:
        raise ConfigError(
            f"{where}: num_layers must be at most {MAX_LAYERS:,}, got {layers:,}; "
            "forecasters use a few layers"
        )
    parameters = estimated_parameters(
        options,
        context_length=config.data.context_length,
        horizon=max(config.data.horizons),
        strategy=strategy,
    )
    memory = physical_memory()
    if parameters is None or memory is None:
        return
    need = parameters * BYTES_PER_PARAMETER
    if need <= memory // 2:
        return
    sizes = [f"{key}: {options[key]}" for key in _SIZE_KEYS if key in options]
    hidden = ((strategy or {}).get("professor_forcing") or {}).get("discriminator_hidden")
    network = estimated_parameters(
        options, context_length=config.data.context_length, horizon=max(config.data.horizons)
    )
    if hidden is not None:  # name the discriminator alone when the network by itself fits
        alone = network is not None and network * BYTES_PER_PARAMETER <= memory // 2
        sizes = [*([] if alone else sizes), f"professor_forcing.discriminator_hidden: {hidden}"]
    raise ConfigError(
        f"{where}: the network has {parameters:,} parameters and needs about "
        f"{need / 2**30:,.1f} GiB to train, more than half of this machine's "
        f"{memory / 2**30:,.0f} GiB; reduce {', '.join(sizes) or 'its size'}"
    )
