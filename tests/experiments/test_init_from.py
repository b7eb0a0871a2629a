"""``init_from`` on a strategy entry: a run's network starts from an earlier run's (or a file's)
checkpoint, and every bad reference is a one-line error before anything trains."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import forecastab.checkpoints as checkpoints
from forecastab.errors import ConfigError, DataError
from forecastab.experiments import run_experiment, validate_config
from forecastab.models import ForecastModule, RNNConfig

TF = {"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}


def _fine_tune(init_from: str) -> dict:
    return {"name": "ms", "method": "multi_step", "init_from": init_from}


def _network_weights(path: Path) -> dict[str, torch.Tensor]:
    state = checkpoints.read_checkpoint(path)["state_dict"]
    return {k.removeprefix("network."): v for k, v in state.items() if k.startswith("network.")}


@pytest.fixture
def loads(monkeypatch) -> list[tuple[Path, dict[str, torch.Tensor]]]:
    """Every ``load_network_weights`` call: the file and the network's weights right after."""
    calls: list[tuple[Path, dict[str, torch.Tensor]]] = []
    real = checkpoints.load_network_weights

    def recording(module, path):
        file = real(module, path)
        calls.append((file, {k: v.clone() for k, v in module.network.state_dict().items()}))
        return file

    monkeypatch.setattr(checkpoints, "load_network_weights", recording)
    return calls


def test_a_strategy_name_starts_each_run_from_that_strategys_run(
    make_config, tmp_path, loads
) -> None:
    config = validate_config(make_config(strategies=[TF, _fine_tune("tf")], baselines=[]))
    assert config.strategies[1].spec() == {"method": "multi_step"}  # not a strategy parameter
    assert config.strategies[1].resolved()["init_from"] == "tf"  # but part of the run's record
    result = run_experiment(config, tmp_path / "out", progress=False)
    assert [o.status for o in result.outcomes] == ["done", "done"]
    source = tmp_path / "out" / "runs" / "gru__tf__seed0" / "checkpoints" / "model.ckpt"
    ((file, weights),) = loads
    assert file == source
    expected = _network_weights(source)
    assert weights.keys() == expected.keys()
    assert all(torch.equal(weights[k], expected[k]) for k in expected)

    # a run folder given as a path (another experiment's) works the same
    again = validate_config(
        make_config(strategies=[_fine_tune(str(source.parent.parent))], baselines=[])
    )
    run_experiment(again, tmp_path / "other", progress=False)
    assert loads[-1][0] == source


@pytest.mark.parametrize(
    ("strategies", "overrides", "message"),
    [
        (
            [TF, _fine_tune("tff")],
            {},
            "strategy 'ms': init_from 'tff' is no earlier strategy or run of this experiment, "
            "nor a checkpoint path (with a / or .ckpt) (did you mean 'tf'?); runs before "
            "gru__ms__seed0: gru__tf__seed0",
        ),
        (
            [_fine_tune("tf"), TF],
            {},
            "strategy 'ms': init_from 'tf' must be listed before 'ms' in strategies",
        ),
        (
            [TF, _fine_tune("gru__tf__seed1")],
            {},
            "strategy 'ms': init_from 'gru__tf__seed1' is no earlier strategy or run",
        ),
        (
            [TF, _fine_tune("no/such/model.ckpt")],
            {},
            "strategy 'ms': init_from 'no/such/model.ckpt' does not exist",
        ),
        (
            [TF, _fine_tune("tf")],
            {"executor": {"workers": 2}},
            "strategy 'ms': init_from 'tf' needs the grid to run one run at a time",
        ),
    ],
)
def test_bad_references_are_one_line_errors_before_training(
    make_config, tmp_path, strategies, overrides, message
) -> None:
    config = validate_config(make_config(strategies=strategies, baselines=[], **overrides))
    with pytest.raises(ConfigError) as caught:
        run_experiment(config, tmp_path / "out", progress=False)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert not list((tmp_path / "out" / "runs").glob("*/checkpoints"))  # nothing trained


def test_a_checkpoint_of_another_network_is_a_one_line_error(tmp_path) -> None:
    source = ForecastModule(RNNConfig(hidden_size=8), context_length=6, horizon=3)
    path = tmp_path / "m.ckpt"
    torch.save({"state_dict": source.state_dict(), "hyper_parameters": dict(source.hparams)}, path)
    target = ForecastModule(RNNConfig(hidden_size=4), context_length=6, horizon=3)
    with pytest.raises(DataError) as caught:
        checkpoints.load_network_weights(target, path)
    assert "its network does not fit model 'gru' (size mismatch for" in str(caught.value)
    assert "\n" not in str(caught.value)
    same = ForecastModule(RNNConfig(hidden_size=8), context_length=6, horizon=3)
    assert checkpoints.load_network_weights(same, path) == path
    assert all(
        torch.equal(a, b)
        for a, b in zip(source.network.parameters(), same.network.parameters(), strict=True)
    )
