"""The experiment file: a strict schema for the YAML grid that ``forecastab run`` executes.

Every section is a pydantic model with ``extra="forbid"``, so a misspelled key is an error that
names the nearest valid key. Model, schedule and baseline specs are checked by the packages that
build them (``model_from_spec``, ``schedule_from_spec``, ``baseline_from_spec``), so the file is
fully validated before any training starts.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_serializer,
    model_validator,
)

from forecastab.errors import ConfigError, ForecastabError, nearest, unknown_name
from forecastab.experiments.checks import (
    MAX_BOOTSTRAP,
    MAX_LONG_RUN_STEPS,
    check_data_source,
    check_model_size,
    check_raw_config,
)
from forecastab.experiments.yaml_loader import load_yaml
from forecastab.strategies import DEFAULT_METHOD, METHODS, strategy_from_spec
from forecastab.teacher_forcing.rollout import SAMPLING_MODES

MODES = ("free_running", "teacher_forced")
SAMPLINGS = SAMPLING_MODES


def _not_a_boolean(value: Any) -> Any:
    """YAML's ``true`` is a bool, and a bool is an int to Python: refuse it where a count goes."""
    if isinstance(value, bool):
        raise ValueError(f"must be an integer, got {str(value).lower()}")
    return value


Integer = Annotated[int, BeforeValidator(_not_a_boolean)]
"""An int field that refuses ``true``/``false`` (pydantic's lax mode would read them as 1/0)."""


class _Strict(BaseModel):
    """Base of every section: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitFractions(_Strict):
    """Chronological split fractions of the rows; ``val`` is optional."""

    train: float = Field(gt=0, le=1)
    val: float | None = Field(default=None, ge=0, le=1)
    test: float = Field(gt=0, le=1)


class SplitDates(_Strict):
    """Date cut-offs shared by every series of a panel: train before ``val_start`` (or
    ``test_start``), validation ``[val_start, test_start)``, test from ``test_start``."""

    val_start: str | None = None
    test_start: str
    test_end: str | None = None


def _split_kind(value: Any) -> str:
    if isinstance(value, SplitDates) or (
        isinstance(value, Mapping) and ("test_start" in value or "val_start" in value)
    ):
        return "dates"
    return "fractions" if isinstance(value, Mapping | SplitFractions) else "protocol"


Split = Annotated[
    Annotated[SplitFractions, Tag("fractions")]
    | Annotated[SplitDates, Tag("dates")]
    | Annotated[str, Tag("protocol")],
    Discriminator(_split_kind),
]


class CovariatesConfig(_Strict):
    """Covariate columns by kind (see docs/panel.md): ``future`` known ahead and fed at every
    decoder step, ``past`` observed up to the origin only, ``static`` one value per series."""

    future: list[str] = []
    past: list[str] = []
    static: list[str] = []


CalendarFeature = Literal[
    "minute", "hour", "dayofweek", "dayofmonth", "dayofyear", "weekofyear", "month"
]


class DataConfig(_Strict):
    """Which series to forecast and how to window it.

    ``horizon`` may be a list: the grid then runs once per horizon and each horizon's rows carry
    the dataset label ``<name>-H<horizon>`` (for example ``etth1-H24``).
    """

    source: str
    target: str | list[str] | None = None
    time_column: str | None = None
    context_length: Integer = Field(gt=0)
    horizon: Integer | list[Integer]
    split: Split | None = None  # None: the data layer's default split
    batch_size: Integer = Field(default=64, gt=0)
    scaling: Literal["zscore", "none"] = "zscore"
    fill_missing: Literal["interpolate", "ffill", "drop"] | None = None
    allow_irregular: bool = False
    stride: Integer = Field(default=1, gt=0)
    id_column: str | None = None
    series: Literal["rows", "columns"] = "rows"
    covariates: CovariatesConfig | None = None
    calendar: list[CalendarFeature] | None = None
    min_series_length: Integer | None = Field(default=None, gt=0)
    window_sampling: Literal["uniform", "per_series"] = "uniform"
    generator: dict[str, Any] | None = None
    """Parameters of a generated source's generator (``{b: 0.1, length: 10000}`` for
    ``thomas``); omitted: the bundled default series. Checked against the generator's own
    parameters; the run's resolved config records every one of them, defaults included."""

    @field_validator("generator")
    @classmethod
    def _known_generator_parameters(
        cls, value: dict[str, Any] | None, info: ValidationInfo
    ) -> dict[str, Any] | None:
        if value is None or "source" not in info.data:
            return value
        from forecastab.data.registry import generator_options

        try:
            full = generator_options(info.data["source"], value)
        except ConfigError as error:
            raise ValueError(str(error)) from None
        # every parameter, defaults included, in signature order (tuples as lists for YAML)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in full.items()}

    @model_serializer(mode="wrap")
    def _without_default_generator(self, handler: Any) -> dict[str, Any]:
        # no generator key at all for the bundled series: resolved configs stay as before
        dumped = handler(self)
        if dumped.get("generator", {}) is None:
            del dumped["generator"]
        return dumped

    @field_validator("horizon")
    @classmethod
    def _positive_horizons(cls, value: int | list[int]) -> int | list[int]:
        horizons = value if isinstance(value, list) else [value]
        if not horizons or any(h <= 0 for h in horizons):
            raise ValueError(f"horizon must be a positive integer or a list of them, got {value}")
        if len(set(horizons)) != len(horizons):
            raise ValueError(f"horizon lists a value twice: {value}")
        return value

    @field_validator("source")
    @classmethod
    def _readable_source(cls, value: str) -> str:
        check_data_source(value)  # a FIFO or a device would block or fill memory when read
        return value

    @property
    def horizons(self) -> list[int]:
        """The horizons of the grid, one or several."""
        return list(self.horizon) if isinstance(self.horizon, list) else [self.horizon]


class ModelSpec(BaseModel):
    """One network: ``name``, ``type`` and the keys of its network config (checked by models).

    ``strategies`` (optional, the runner's own key) restricts the grid for this model to the
    named strategies, e.g. the direct control, which feeds nothing back, needs only one.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    type: str
    strategies: list[str] | None = None

    def options(self) -> dict[str, Any]:
        """The spec as the plain mapping ``forecastab.models.model_from_spec`` takes."""
        return self.model_dump(exclude={"strategies"})


class _StrategyEntry(_Strict):
    """How a model is trained: a strategy ``method`` (default ``scheduled_sampling``) and its
    parameters under a key of the same name; scheduled sampling's ``teacher_forcing`` schedule,
    ``sampling`` mode and ``detach`` may also sit at the top, as in files written before
    strategy methods existed. The whole entry is checked by ``strategy_from_spec``.

    ``init_from`` (any method) starts the network from another checkpoint's weights: an earlier
    strategy of this file (its run of the same model, seed and horizon), an earlier run's
    folder name, or a checkpoint path (with a ``/`` or ending in ``.ckpt``); see
    :mod:`forecastab.experiments.init_from`.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    method: Literal[METHODS] = DEFAULT_METHOD  # type: ignore[valid-type]
    init_from: str | None = Field(default=None, min_length=1)
    teacher_forcing: dict[str, Any] | None = None
    sampling: Literal[SAMPLINGS] | None = None  # type: ignore[valid-type]
    detach: bool | None = None

    @field_validator("teacher_forcing")
    @classmethod
    def _valid_schedule(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        from forecastab.teacher_forcing.schedules import schedule_from_spec

        if value is not None:
            schedule_from_spec(value)  # raises ConfigError naming the bad schedule or key
        return value

    @model_validator(mode="after")
    def _valid_strategy(self) -> _StrategyEntry:
        if self.method == DEFAULT_METHOD and self.spec().get("teacher_forcing") is None and not (
            self.spec().get(DEFAULT_METHOD) or {}
        ).get("teacher_forcing"):
            raise ValueError(
                "missing key 'teacher_forcing' (the ratio schedule, e.g. "
                "{schedule: constant, ratio: 1.0}); or set another 'method'"
            )
        strategy_from_spec(self.spec())  # one line naming the bad method, key or value
        return self

    def spec(self) -> dict[str, Any]:
        """The entry as ``forecastab.strategies.strategy_from_spec`` takes it (nulls left out)."""
        # python mode: JSON mode would turn NaN and inf into None ("std must be a number, got
        # None"); the strategy's own check then names the value given
        return self.model_dump(exclude={"name", "init_from"}, exclude_none=True)

    def resolved(self) -> dict[str, Any]:
        """What a run folder records of the strategy: the keys given, scheduled sampling's
        ``sampling`` filled in (so folders written before strategy methods still match)."""
        entry = self.model_dump(mode="json", exclude_none=True, exclude_unset=True)
        if self.method == DEFAULT_METHOD and DEFAULT_METHOD not in entry:
            entry.setdefault("sampling", "per_step")
        return entry


# One optional key per registered method, so that a typo among them names the nearest one.
StrategyConfig = create_model(
    "StrategyConfig",
    __base__=_StrategyEntry,
    __doc__=_StrategyEntry.__doc__,
    **{method: (dict[str, Any] | None, None) for method in METHODS},  # type: ignore[call-overload]
)


class EarlyStoppingConfig(_Strict):
    """Early stopping on ``val_loss_free_running`` (only when the data has a validation split)."""

    patience: Integer = Field(default=3, gt=0)
    min_delta: float = Field(default=0.0, ge=0)


class TrainerConfig(BaseModel):
    """Keyword arguments for ``pl.Trainer`` plus ``early_stopping``; unknown keys are errors."""

    model_config = ConfigDict(extra="allow", frozen=True)

    early_stopping: EarlyStoppingConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _known_trainer_keys(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            valid = [*_trainer_parameters(), "early_stopping"]
            for key in value:
                if key not in valid:
                    raise ConfigError(_unknown_key_message(str(key), "trainer", valid))
        return value

    def trainer_kwargs(self) -> dict[str, Any]:
        """The keys handed to ``pl.Trainer`` as they are."""
        return dict(self.model_extra or {})


class LongRunConfig(_Strict):
    """A long free run from the start of the test split, scored by D_stsp and D_H.

    ``steps`` must be at least the horizon; a direct model runs in chained blocks of its
    horizon (see :func:`forecastab.evaluation.long_run.long_free_run`).
    """

    steps: Integer = Field(gt=0)
    n_bins: Integer = Field(default=30, gt=1)
    smoothing: float = Field(default=20.0, ge=0)
    chart_steps: Integer = Field(default=500, gt=0)

    @field_validator("steps")
    @classmethod
    def _bounded_steps(cls, value: int) -> int:
        if value > MAX_LONG_RUN_STEPS:
            raise ValueError(
                f"steps must be at most {MAX_LONG_RUN_STEPS:,}, got {value:,}; a long run is "
                "scored against the test split's distribution, which a few thousand steps cover"
            )
        return value


class EvaluationConfig(_Strict):
    """Which modes, metrics and units the test origins are scored in.

    ``num_samples`` sampled paths per origin (each feeding back its own draws, or the mean with
    ``feedback: mean``) score the probabilistic metrics of a probabilistic network;
    ``quantiles`` are the levels of ``quantile_loss``.
    """

    modes: list[Literal["free_running", "teacher_forced"]] = ["free_running", "teacher_forced"]
    metrics: list[str] = ["mae", "rmse"]
    units: Literal["original", "scaled"] = "original"
    stride: Integer = Field(default=1, gt=0)
    n_bootstrap: Integer = Field(default=0, ge=0)
    bootstrap_method: Literal["moving", "circular", "iid"] = "circular"
    block_length: Integer | None = Field(default=None, gt=0)
    long_run: LongRunConfig | None = None
    num_samples: Integer = Field(default=100, ge=1)
    feedback: Literal["sample", "mean"] = "sample"
    quantiles: list[float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]

    @field_validator("quantiles")
    @classmethod
    def _levels(cls, value: list[float]) -> list[float]:
        from forecastab.evaluation.probabilistic import check_quantiles

        twice = sorted({level for level in value if value.count(level) > 1})
        if twice:
            raise ValueError(f"quantiles lists {twice[0]:g} twice; give each level once")
        return list(check_quantiles(value))

    @field_validator("n_bootstrap")
    @classmethod
    def _bounded_resamples(cls, value: int) -> int:
        if value > MAX_BOOTSTRAP:
            raise ValueError(
                f"n_bootstrap must be at most {MAX_BOOTSTRAP:,}, got {value:,}; "
                "1,000 to 10,000 resamples give stable intervals"
            )
        return value

    @field_validator("modes", "metrics")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must list at least one entry")
        return list(dict.fromkeys(value))

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        from forecastab.evaluation.metrics import METRICS
        from forecastab.evaluation.probabilistic import PROBABILISTIC_METRICS

        known = [*METRICS, *PROBABILISTIC_METRICS]
        for metric in value:
            if metric not in known:
                raise ConfigError(unknown_name("metric", metric, known))
        return value

    @model_validator(mode="after")
    def _metrics_fit_units(self) -> EvaluationConfig:
        from forecastab.evaluation.metrics import check_metric_units

        check_metric_units(self.metrics, self.units)
        return self


class ExecutorConfig(_Strict):
    """Where the grid's runs execute: ``local`` (``workers`` processes) or ``ray``.

    ``threads_per_run`` sets torch's CPU threads in each run (``null``: torch's default). The
    default 1 is measured: the small networks of a forecasting grid train several times faster
    on one thread than on two when cores are shared, and workers then do not oversubscribe.
    """

    type: Literal["local", "ray"] = "local"
    workers: Integer = Field(default=1, gt=0)
    address: str | None = None
    cpus_per_run: float = Field(default=1.0, gt=0)
    threads_per_run: Integer | None = Field(default=1, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _keys_of_type(self) -> ExecutorConfig:
        if self.type == "local" and self.address is not None:
            raise ValueError("'address' applies to type ray only")
        return self


class ExperimentConfig(_Strict):
    """A whole experiment file: data x models x strategies x seeds, plus baselines."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    data: DataConfig
    models: list[ModelSpec] = Field(min_length=1)
    strategies: list[StrategyConfig] = Field(min_length=1)
    baselines: list[str | dict[str, Any]] = []
    seeds: list[Integer] = Field(default=[0], min_length=1)
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) else value

    @model_validator(mode="after")
    def _unique_names(self) -> ExperimentConfig:
        for section, names in (
            ("models", [m.name for m in self.models]),
            ("strategies", [s.name for s in self.strategies]),
            ("seeds", [str(s) for s in self.seeds]),
        ):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{section} lists '{twice[0]}' twice; each entry must be unique")
        names = [s.name for s in self.strategies]
        for i, model in enumerate(self.models):
            for name in model.strategies or []:
                if name not in names:
                    raise ValueError(
                        f"models[{i}].strategies: " + unknown_name("strategy", name, names)
                    )
        long_run = self.evaluation.long_run
        horizons = self.data.horizon if isinstance(self.data.horizon, list) else [self.data.horizon]
        if long_run is not None and long_run.steps < max(horizons):
            raise ValueError(
                f"evaluation.long_run.steps ({long_run.steps}) is shorter than the horizon "
                f"({max(horizons)}); a long run must cover at least one horizon: set "
                f"long_run.steps >= {max(horizons)}"
            )
        return self


_SECTIONS: dict[str, type[BaseModel]] = {
    "data": DataConfig,
    "evaluation": EvaluationConfig,
    "executor": ExecutorConfig,
}


@cache
def _trainer_parameters() -> tuple[str, ...]:
    import pytorch_lightning as pl

    parameters = inspect.signature(pl.Trainer.__init__).parameters
    return tuple(name for name in parameters if name != "self")


def _unknown_key_message(key: str, where: str, valid: list[str] | tuple[str, ...]) -> str:
    guess = nearest(key, valid)
    hint = f" (did you mean '{guess}'?)" if guess else ""
    return f"unknown key '{key}' in {where}{hint}"


# Union members and validator wrappers that pydantic puts into an error's location.
_NOT_A_KEY = re.compile(r"^(fractions|protocol|str|int|float|bool|none|.*\[.*\])$")


def _location(loc: tuple[int | str, ...]) -> str:
    """``('models', 0, 'hidden')`` -> ``models[0].hidden``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _NOT_A_KEY.match(part):
            text += f".{part}" if text else part
    return text


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation (through unions, Annotated, lists)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The valid keys of the section that ``loc`` points into."""
    model: type[BaseModel] = ExperimentConfig
    for part in loc:
        if isinstance(part, int) or _NOT_A_KEY.match(part):
            continue
        field = model.model_fields.get(part)
        found = _models_in(field.annotation) if field is not None else []
        if not found:
            break
        model = found[0]
    return list(model.model_fields)


def _one_line(error: ValidationError) -> str:
    """Turn pydantic's report into one line: the first unknown key, else the first problem."""
    errors = error.errors(include_url=False)
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    first = extra[0] if extra else errors[0]
    loc = tuple(first["loc"])
    if first["type"] == "extra_forbidden":
        section = _location(loc[:-1]) or "the config"
        key = str(loc[-1])
        message = _unknown_key_message(key, section, _fields_at(loc[:-1]))
        home = [name for name in _SECTIONS if key in _SECTIONS[name].model_fields]
        if not loc[:-1] and home and "did you mean" not in message:
            message += f" (it belongs in {home[0]})"
        return message
    where = _location(loc)
    message = first["msg"]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ForecastabError):  # a spec checked by its own package
        message = str(cause)
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    elif first["type"] == "literal_error" and isinstance(first.get("input"), str):
        choices = re.findall(r"'([^']*)'", first.get("ctx", {}).get("expected", ""))
        kind = str(loc[-2] if isinstance(loc[-1], int) else loc[-1]).rstrip("s")
        if kind == "type" and len(loc) > 1:
            kind = f"{_location(loc[:-1])} type"
        message = unknown_name(kind, first["input"], choices)
    elif first["type"] == "missing":
        section = _location(loc[:-1]) or "the config"
        return f"missing key '{loc[-1]}' in {section}"
    else:
        message = message[0].lower() + message[1:]
        if "input" in first and not isinstance(first["input"], Mapping | list):
            message += f" (got {first['input']!r})"
    if not where or f" in {where}" in message:
        return message
    return f"{where}: {message}"


def validate_config(raw: Any) -> ExperimentConfig:
    """Validate a parsed experiment file and check its model and baseline specs.

    Args:
        raw: The mapping read from YAML.

    Returns:
        The validated, frozen config.

    Raises:
        ConfigError: One line naming the key path and the problem, with the nearest valid key
            for an unknown one.

    >>> cfg = validate_config({"name": "x", "data": {"source": "sine", "context_length": 8,
    ...     "horizon": 4}, "models": [{"name": "gru", "type": "rnn"}],
    ...     "strategies": [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1}}]})
    >>> cfg.data.horizons, cfg.executor.type
    ([4], 'local')
    >>> validate_config({"name": "x", "dta": {}})
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: unknown key 'dta' in the config (did you mean 'data'?)
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"an experiment file must be a mapping of keys, got {type(raw).__name__}")
    check_raw_config(raw)  # names become folder names, trainer values are bounded: checked first
    try:
        config = ExperimentConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_one_line(error)) from None
    _check_specs(config)
    return config


def _check_specs(config: ExperimentConfig) -> None:
    """Build every model (with each of its strategies) and every baseline once, so that an
    unknown type or key, or a strategy that cannot train a model, fails before training."""
    from forecastab.baselines import baseline_from_spec
    from forecastab.experiments.runner import baseline_name, baseline_spec
    from forecastab.models import model_from_spec
    from forecastab.models.rnn import check_patch_lengths

    for i, spec in enumerate(config.models):
        check_model_size(spec.options(), config, f"models[{i}] ({spec.name})")
        sizes = dict(
            context_length=config.data.context_length, horizon=config.data.horizons[0], n_targets=1
        )
        try:
            model_from_spec(spec.options(), **sizes)
            patch = spec.options().get("patch", 1)
            for horizon in config.data.horizons[1:]:  # a patched network: every horizon
                check_patch_lengths(patch, context_length=sizes["context_length"], horizon=horizon)
        except ForecastabError as error:
            raise ConfigError(f"models[{i}] ({spec.name}): {error}") from None
        for strategy in config.strategies:
            if spec.strategies is not None and strategy.name not in spec.strategies:
                continue
            where = f"models[{i}] ({spec.name}) with strategy '{strategy.name}'"
            check_model_size(spec.options(), config, where, strategy=strategy.spec())
            try:
                model_from_spec(spec.options(), **sizes, strategy=strategy.spec())
            except ForecastabError as error:
                raise ConfigError(
                    f"models[{i}] ({spec.name}) with strategy '{strategy.name}': {error}"
                ) from None
    names = [baseline_name(spec) for spec in config.baselines]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"baselines lists '{twice[0]}' twice; give one of them a 'label'")
    for i, spec in enumerate(config.baselines):
        try:
            baseline_from_spec(baseline_spec(spec))
        except ForecastabError as error:
            raise ConfigError(f"baselines[{i}]: {error}") from None


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment YAML file.

    Args:
        path: The YAML file.

    Returns:
        The validated config.

    Raises:
        ConfigError: A missing file, invalid YAML (with its line) or an invalid config; the
            message starts with the file name.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file '{path}' not found; pass the path of an experiment YAML")
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except ConfigError as error:  # a duplicate key, an alias bomb
        raise ConfigError(f"{path}: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; an experiment file is UTF-8 YAML") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{path}:{where}: invalid YAML: {problem}") from None
    _resolve_data_path(raw, path.parent)
    try:
        return validate_config(raw)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def _resolve_data_path(raw: Any, folder: Path) -> None:
    """A relative CSV path in ``data.source`` names a file next to the YAML file, when one is there.

    A path that exists only relative to the current folder keeps working as before.
    """
    data = raw.get("data") if isinstance(raw, dict) else None
    source = data.get("source") if isinstance(data, dict) else None
    if not isinstance(source, str) or Path(source).is_absolute():
        return
    beside = folder / source
    if beside.is_file() and Path(source).suffix:
        data["source"] = str(beside)


def dump_config(config: ExperimentConfig) -> str:
    """The config as YAML text, every default filled in (the resolved config of a run)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
