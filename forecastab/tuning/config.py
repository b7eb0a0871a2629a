"""The ``tune:`` block of an experiment file: trials, objective, sampler, pruner and the space.

A tune file is an experiment file (data, one model, trainer, evaluation, seeds, baselines,
executor) with a ``tune:`` block; ``strategies`` may be left out (teacher forcing is assumed
where the space does not search the strategy). Everything is checked before any trial trains:
the block's keys (strict, with the nearest valid key), the objective's metric, the space's
ranges, and every corner of the space built as a model with its strategy.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from forecastab.errors import ConfigError, ForecastabError, nearest, unknown_name
from forecastab.experiments.config import (
    ExperimentConfig,
    SplitFractions,
    _resolve_data_path,
    load_config,
    validate_config,
)
from forecastab.experiments.yaml_loader import load_yaml
from forecastab.tuning.space import (
    STRATEGY,
    TEACHER_FORCING,
    TEACHER_FORCING_SPEC,
    SearchSpace,
    corner_trials,
    parse_space,
)

OBJECTIVE_MODES = ("free_running", "teacher_forced")
PROBABILISTIC_OBJECTIVES = ("crps", "quantile_loss")
"""The probabilistic metrics a trial may minimize (coverage is aimed at a level, not minimized)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObjectiveConfig(_Strict):
    """What a trial is scored by: ``metric`` of the ``mode`` forecasts on the validation split,
    averaged over the first ``steps`` steps (all of the horizon when null)."""

    metric: str = "rmse"
    mode: Literal["free_running", "teacher_forced"] = "free_running"
    split: str = "val"
    steps: int | None = Field(default=None, gt=0)

    @field_validator("split")
    @classmethod
    def _validation_only(cls, value: str) -> str:
        if value != "val":
            raise ValueError(
                f"split must be 'val' (trials are chosen on the validation split; test is "
                f"scored once, after the search), got {value!r}"
            )
        return value

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        from forecastab.evaluation.metrics import METRICS

        known = [*METRICS, *PROBABILISTIC_OBJECTIVES]
        if value not in known:
            raise ConfigError(unknown_name("metric", value, known))
        return value


class SamplerConfig(_Strict):
    """Optuna's sampler: ``tpe`` (default) or ``random``, seeded."""

    name: Literal["tpe", "random"] = "tpe"
    seed: int = 0
    startup_trials: int = Field(default=10, gt=0)


class PrunerConfig(_Strict):
    """Optuna's median pruner on the per-epoch objective, or ``none``."""

    name: Literal["median", "none"] = "median"
    startup_trials: int = Field(default=5, ge=0)
    warmup_epochs: int = Field(default=1, ge=0)


class TuneBlock(_Strict):
    """The ``tune:`` block as written (the space is parsed separately, see :mod:`.space`)."""

    trials: int
    objective: ObjectiveConfig = Field(default_factory=ObjectiveConfig)
    space: dict[str, Any]
    sampler: SamplerConfig = Field(default_factory=SamplerConfig)
    pruner: PrunerConfig = Field(default_factory=PrunerConfig)
    seed: int = 0
    workers: int = Field(default=1, gt=0)
    storage: str | None = None
    compare_teacher_forcing: bool = True
    test_every_trial: bool = False

    @field_validator("trials", mode="before")
    @classmethod
    def _positive_trials(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"must be a positive number of trials, got {value!r}")
        return value


@dataclass(frozen=True)
class TuneConfig:
    """A checked tune file.

    Attributes:
        experiment: The experiment part (its one model is the base the space varies).
        raw: The experiment part as read (trial configs are built from it).
        block: The ``tune:`` block.
        space: The parsed space of the strategy search.
    """

    experiment: ExperimentConfig
    raw: dict[str, Any]
    block: TuneBlock
    space: SearchSpace

    @property
    def name(self) -> str:
        """The experiment's name (the study's name)."""
        return self.experiment.name

    @property
    def model_name(self) -> str:
        """The name of the one model the space varies."""
        return self.experiment.models[0].name

    def trial_raw(self, draw: Mapping[str, Any], seeds: list[int] | None = None) -> dict[str, Any]:
        """The experiment file of one trial's draw (one model, one strategy, one seed)."""
        raw = copy.deepcopy(self.raw)
        model = raw["models"][0]
        model.pop("strategies", None)
        model.update(draw["model"])
        raw["models"] = [model]
        if draw["strategy"] is not None:
            raw["strategies"] = [{"name": draw["label"], **draw["strategy"]}]
        else:
            raw["strategies"] = raw["strategies"][:1]
        raw["trainer"] = _trainer_with(raw.get("trainer") or {}, draw["trainer"])
        raw["seeds"] = [self.block.seed] if seeds is None else seeds
        raw["baselines"] = []
        raw.pop("executor", None)
        return raw


def _trainer_with(trainer: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    trainer = dict(trainer)
    if "max_epochs" in values:
        trainer["max_epochs"] = values["max_epochs"]
    if "patience" in values:
        early = dict(trainer.get("early_stopping") or {})
        early["patience"] = values["patience"]
        trainer["early_stopping"] = early
    return trainer


def _block_error(error: ValidationError) -> str:
    """pydantic's report on the tune block as one line (the first unknown key, else the first
    problem), the key path starting with ``tune``."""
    errors = error.errors(include_url=False)
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    first = extra[0] if extra else errors[0]
    loc = [str(part) for part in first["loc"]]
    where = ".".join(["tune", *loc[:-1]]) if first["type"] == "extra_forbidden" else ".".join(
        ["tune", *loc]
    )
    if first["type"] == "extra_forbidden":
        model: type[BaseModel] = TuneBlock
        for part in loc[:-1]:
            annotation = model.model_fields[part].annotation
            model = annotation if isinstance(annotation, type) else model
        guess = nearest(loc[-1], list(model.model_fields))
        hint = f" (did you mean '{guess}'?)" if guess else ""
        return f"unknown key '{loc[-1]}' in {where}{hint}"
    if first["type"] == "missing":
        return f"missing key '{loc[-1]}' in {'.'.join(['tune', *loc[:-1]])}"
    cause = first.get("ctx", {}).get("error")
    message = str(cause) if isinstance(cause, ForecastabError) else first["msg"]
    message = message.removeprefix("Value error, ")
    if first["type"] == "literal_error":
        message = f"{message[0].lower()}{message[1:]} (got {first.get('input')!r})"
    elif first["type"] not in ("value_error",) and not isinstance(cause, ForecastabError):
        message = f"{message[0].lower()}{message[1:]} (got {first.get('input')!r})"
    return f"{where}: {message}"


def _network_fields(model_type: str) -> list[str]:
    from forecastab.models.lightning import NETWORK_CONFIGS

    config = NETWORK_CONFIGS.get(model_type)
    return [f.name for f in fields(config)] if config is not None else []


def _read_raw(path: Path) -> dict[str, Any]:
    """The parsed file; any problem reading it is the message ``load_config`` gives."""
    if not path.is_file():
        load_config(path)  # raises its one line
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except Exception:  # invalid YAML, not text: the experiment loader words it
        load_config(path)
        raise
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a tune file must be a mapping of keys with a 'tune' block")
    _resolve_data_path(raw, path.parent)
    return raw


def load_tune_config(source: str | Path | Mapping[str, Any]) -> TuneConfig:
    """Read and check a tune file (or its parsed mapping).

    Args:
        source: A YAML path, or the mapping an experiment file parses to, with a ``tune`` block.

    Returns:
        The checked config.

    Raises:
        ConfigError: one line naming the key and what would fix it (the file name first when
            ``source`` is a path).
    """
    if isinstance(source, Mapping):
        return check_tune_config(copy.deepcopy(dict(source)))
    path = Path(source)
    raw = _read_raw(path)
    try:
        return check_tune_config(raw)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def check_tune_config(raw: dict[str, Any]) -> TuneConfig:
    """Check a parsed tune file (see :func:`load_tune_config`)."""
    if "tune" not in raw:
        raise ConfigError("no 'tune' block; add tune: {trials: N, space: {...}} (see docs/tuning.md)")
    tune_raw = raw.pop("tune")
    if not isinstance(tune_raw, Mapping):
        raise ConfigError("tune must be a mapping with trials, objective and space")
    if "strategies" not in raw:
        raw["strategies"] = [{"name": TEACHER_FORCING, **TEACHER_FORCING_SPEC}]
    experiment = validate_config(raw)
    if len(experiment.models) != 1:
        raise ConfigError(
            f"a tune file names one model (the base the space varies), got {len(experiment.models)}"
            "; keep one entry in models"
        )
    try:
        block = TuneBlock.model_validate(tune_raw)
    except ValidationError as error:
        raise ConfigError(_block_error(error)) from None
    _check_validation_split(experiment)
    model = experiment.models[0]
    space = parse_space(block.space, _network_fields(model.type))
    _check_objective(experiment, block, space)
    config = TuneConfig(experiment, raw, block, space)
    _check_corners(config)
    return config


def _check_validation_split(experiment: ExperimentConfig) -> None:
    split = experiment.data.split
    if isinstance(split, SplitFractions) and not split.val:
        raise ConfigError(
            "tune needs a validation split to choose on: add val to data.split, e.g. "
            "{train: 0.6, val: 0.2, test: 0.2}"
        )


def _check_objective(experiment: ExperimentConfig, block: TuneBlock, space: SearchSpace) -> None:
    from forecastab.evaluation.metrics import check_metric_units
    from forecastab.evaluation.probabilistic import PROBABILISTIC_METRICS

    objective = block.objective
    check_metric_units([objective.metric], experiment.evaluation.units)
    horizon = max(experiment.data.horizons)
    if objective.steps is not None and objective.steps > horizon:
        raise ConfigError(
            f"tune.objective.steps ({objective.steps}) is beyond the horizon ({horizon}); "
            f"give at most {horizon}, or null for the whole horizon"
        )
    if len(experiment.data.horizons) > 1:
        raise ConfigError("a tune file takes one horizon; give data.horizon a single value")
    if objective.metric in PROBABILISTIC_METRICS:
        model = experiment.models[0].options()
        if model.get("distribution") is None and "distribution" not in space.model:
            raise ConfigError(
                f"tune.objective.metric '{objective.metric}' scores a probabilistic head; set "
                "distribution (gaussian or student_t) on the model, or choose rmse"
            )


def _check_corners(config: TuneConfig) -> None:
    """Build every corner of the space as an experiment (model with strategy), before training."""
    spaces = [config.space]
    if config.block.compare_teacher_forcing and config.space.methods is not None:
        spaces.append(config.space.teacher_forcing_only())
    for space in spaces:
        for trial in corner_trials(space):
            draw = space.draw(trial)
            try:
                validate_config(config.trial_raw(draw))
            except ConfigError as error:
                path = getattr(trial, "path", None)
                at = f".{path} = {trial.end!r}" if path is not None else " at the low ends"
                label = f" (method {draw['label']})" if draw["label"] else ""
                raise ConfigError(f"tune.space{at}{label}: {error}") from None


__all__ = [
    "OBJECTIVE_MODES",
    "STRATEGY",
    "ObjectiveConfig",
    "TuneBlock",
    "TuneConfig",
    "check_tune_config",
    "load_tune_config",
]
