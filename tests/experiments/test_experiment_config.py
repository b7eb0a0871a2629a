"""The experiment schema: good files validate, every bad key gets its one exact line."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from forecastab.errors import ConfigError
from forecastab.experiments.config import dump_config, load_config, validate_config

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"

DESIGN_EXAMPLE = """
name: quickstart
data:
  source: sunspots        # a bundled dataset name or a CSV path
  target: SUNACTIVITY     # column(s); bundled sets have a default
  time_column: YEAR       # optional
  context_length: 30
  horizon: 20
  split: {train: 0.7, test: 0.3}   # chronological fractions, or the name of a protocol
  batch_size: 128
models:
  - {name: gru, type: rnn, cell: gru, hidden_size: 64}
  - {name: transformer, type: transformer, d_model: 64, nhead: 4, num_layers: 2}
strategies:
  - {name: teacher_forcing, teacher_forcing: {schedule: constant, ratio: 1.0}}
  - {name: scheduled_sampling, teacher_forcing: {schedule: inverse_sigmoid, k: 5, unit: epoch}}
  - {name: free_running, teacher_forcing: {schedule: constant, ratio: 0.0}}
baselines: [naive, seasonal_naive, arima]
seeds: [0]
trainer: {max_epochs: 30}   # passed through to the Lightning Trainer (strategy, devices, ...)
evaluation: {modes: [free_running, teacher_forced], metrics: [mae, rmse], units: original}
"""


def test_design_example_validates_as_is(tmp_path: Path) -> None:
    path = tmp_path / "design.yaml"
    path.write_text(DESIGN_EXAMPLE, encoding="utf-8")
    config = load_config(path)
    assert [m.name for m in config.models] == ["gru", "transformer"]
    assert config.trainer.trainer_kwargs() == {"max_epochs": 30}
    assert config.executor.type == "local" and config.executor.workers == 1
    assert config.data.split is not None and config.data.split.train == 0.7


@pytest.mark.parametrize(
    "name",
    [
        "quickstart/quickstart.yaml",
        "mackey_glass_exposure/mackey_glass_exposure.yaml",
        "etth1_informer/etth1_informer.yaml",
        "flipped_classroom/flipped_classroom.yaml",
        "flipped_classroom/flipped_classroom_thomas.yaml",
    ],
)
def test_shipped_experiments_validate(name: str) -> None:
    config = load_config(EXPERIMENTS / name)
    assert config.name == Path(name).stem


@pytest.mark.parametrize(
    "name",
    ["flipped_classroom/flipped_classroom.yaml", "flipped_classroom/flipped_classroom_thomas.yaml"],
)
def test_flipped_classroom_runs_the_papers_six_curricula(name: str) -> None:
    from forecastab.strategies import strategy_from_spec
    from forecastab.teacher_forcing import schedule_from_spec

    config = load_config(EXPERIMENTS / name)
    last = config.trainer.trainer_kwargs()["max_epochs"] - 1
    built = {entry.name: strategy_from_spec(entry.spec()).config for entry in config.strategies}
    # name -> (sampling, coins, ratio at the first epoch, ratio at the last epoch)
    expected = {
        "teacher_forcing": ("per_step", "per_batch", 1.0, 1.0),
        "free_running": ("per_step", "per_batch", 0.0, 0.0),
        "constant": ("per_sequence", "per_epoch", 0.5, 0.5),
        # the curricula are compressed to the run: r moves by 1 / max_epochs per epoch
        "decreasing_probabilistic": ("per_step", "per_epoch", 1.0, 1 / (last + 1)),
        "increasing_probabilistic": ("per_step", "per_epoch", 0.0, last / (last + 1)),
        "increasing_deterministic": ("prefix", "per_batch", 0.0, last / (last + 1)),
    }
    assert set(built) == set(expected)
    for strategy, (sampling, coins, first, final) in expected.items():
        schedule = schedule_from_spec(built[strategy].teacher_forcing)
        assert (built[strategy].sampling, built[strategy].coins) == (sampling, coins), strategy
        assert schedule(0) == pytest.approx(first, abs=1e-5), strategy
        assert schedule(last) == pytest.approx(final, abs=1e-5), strategy


def test_resolved_config_round_trips(make_config: Callable[..., dict]) -> None:
    import yaml

    config = validate_config(make_config(executor={"type": "local", "workers": 2}))
    again = validate_config(yaml.safe_load(dump_config(config)))
    assert again == config


def test_horizon_list_and_executor_forms(make_config: Callable[..., dict]) -> None:
    raw = make_config()
    raw["data"]["horizon"] = [4, 6]
    config = validate_config({**raw, "executor": "ray", "seeds": 3})
    assert config.data.horizons == [4, 6]
    assert config.executor.type == "ray" and config.executor.address is None
    assert config.seeds == [3]


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """A mutation that sets ``a.b.0.c`` in a config dict."""

    def mutate(raw: dict) -> None:
        *parents, last = path.split(".")
        node: Any = raw
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _drop(path: str) -> Callable[[dict], None]:
    def mutate(raw: dict) -> None:
        *parents, last = path.split(".")
        node: Any = raw
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


BAD_CONFIGS = [
    (_set("nmae", "x"), "unknown key 'nmae' in the config (did you mean 'name'?)"),
    (_set("horizon", 3), "unknown key 'horizon' in the config (it belongs in data)"),
    (_set("data.horizn", 3), "unknown key 'horizn' in data (did you mean 'horizon'?)"),
    (
        _set("data.split", {"train": 0.7, "tset": 0.3}),
        "unknown key 'tset' in data.split (did you mean 'test'?)",
    ),
    (
        _set("strategies.0.samplng", "prefix"),
        "unknown key 'samplng' in strategies[0] (did you mean 'sampling'?)",
    ),
    (_set("evaluation.unit", "scaled"), "unknown key 'unit' in evaluation (did you mean 'units'?)"),
    (
        _set("trainer.max_epoch", 3),
        "unknown key 'max_epoch' in trainer (did you mean 'max_epochs'?)",
    ),
    (
        _set("trainer.early_stopping", {"patiense": 2}),
        "unknown key 'patiense' in trainer.early_stopping (did you mean 'patience'?)",
    ),
    (
        _set("executor", {"type": "ray", "adress": "auto"}),
        "unknown key 'adress' in executor (did you mean 'address'?)",
    ),
    (_drop("data.source"), "missing key 'source' in data"),
    (
        _set("data.context_length", -5),
        "data.context_length: input should be greater than 0 (got -5)",
    ),
    (
        _set("data.horizon", [4, 0]),
        "data.horizon: horizon must be a positive integer or a list of them, got [4, 0]",
    ),
    (
        _set("data.scaling", "minmax"),
        "data.scaling: unknown scaling 'minmax'; valid: none, zscore",
    ),
    (
        _set("strategies.0.sampling", "per_stepp"),
        "strategies[0].sampling: unknown sampling 'per_stepp' (did you mean 'per_step'?); "
        "valid: per_sequence, per_step, prefix, two_pass",
    ),
    (
        _set("evaluation.modes", ["free"]),
        "evaluation.modes[0]: unknown mode 'free' (did you mean 'free_running'?); "
        "valid: free_running, teacher_forced",
    ),
    (
        _set("evaluation.metrics", ["rmsee"]),
        "evaluation.metrics: unknown metric 'rmsee' (did you mean 'rmse'?); "
        "valid: coverage_50, coverage_90, coverage_product_90, crps, interval_width_90, mae, "
        "mase, mse, nd, nrmse, nrmse_deepar, path_coverage_90, quantile_loss, rmse, smape, "
        "valid_fraction, vpt",
    ),
    (
        _set("executor", "slurm"),
        "executor.type: unknown executor type 'slurm'; valid: local, ray",
    ),
    (
        _set("executor", {"type": "local", "address": "auto"}),
        "executor: 'address' applies to type ray only",
    ),
    (
        _set("strategies.0.teacher_forcing", {"schedule": "lineer", "k": 1}),
        "strategies[0].teacher_forcing: unknown schedule 'lineer' (did you mean 'linear'?); "
        "valid: constant, exponential, inverse_sigmoid, linear",
    ),
    (
        _set("models.0.type", "rnnn"),
        "models[0] (gru): model 'gru': unknown model type 'rnnn' (did you mean 'rnn'?); "
        "valid: direct, linear, rnn, transformer",
    ),
    (
        _set("models.0.hiden_size", 4),
        "models[0] (gru): model 'gru': unknown key 'hiden_size' (did you mean 'hidden_size'?); "
        "valid: cell, distribution, dropout, hidden_size, learning_rate, learning_rate_decay, name, normalization, num_layers, patch, revin_affine, type",
    ),
    (
        _set("baselines", ["arma"]),
        "baselines[0]: unknown baseline 'arma' (did you mean 'arima'?); "
        "valid: arima, drift, ets, holt_winters, mean, naive, sarimax, seasonal_naive, theta",
    ),
    (
        _set("baselines", ["naive", "naive"]),
        "baselines lists 'naive' twice; give one of them a 'label'",
    ),
    (_set("seeds", [0, 0]), "seeds lists '0' twice; each entry must be unique"),
    (
        _set("evaluation", {"metrics": ["mae", "smape"], "units": "scaled"}),
        "evaluation: metric 'smape' is meaningless with units: scaled (z-scores cross zero, so "
        "the percentage explodes); use units: original, or mae, rmse or mase",
    ),
    (
        _set("models.0.name", "my gru"),
        "models[0].name: string should match pattern '^[A-Za-z0-9_.-]+$' (got 'my gru')",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), BAD_CONFIGS)
def test_bad_config_names_the_key(
    make_config: Callable[..., dict], mutate: Callable[[dict], None], message: str
) -> None:
    raw = copy.deepcopy(make_config())
    mutate(raw)
    with pytest.raises(ConfigError) as caught:
        validate_config(raw)
    assert str(caught.value) == message


def test_missing_file_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file '.*nope.yaml' not found"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ndata: {source: sine\nmodels: []\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(broken)
    assert str(caught.value).startswith(f"{broken}: line 3, column")
    assert "invalid YAML" in str(caught.value)


def test_file_errors_name_the_file(tmp_path: Path, make_config: Callable[..., dict]) -> None:
    import yaml

    raw = make_config()
    raw["data"]["horizn"] = 2
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: unknown key 'horizn' in data (did you mean 'horizon'?)"


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match="must be a mapping of keys, got list"):
        validate_config([1, 2])
