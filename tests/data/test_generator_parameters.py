"""Generator parameters from the experiment file (issue 24, item 6): every parameter of every
synthetic generator settable in ``data.generator``, checked in one line, recorded in the run's
resolved config, and the bundled default series unchanged byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from forecastab.cli import main
from forecastab.data import WindowDataModule, load_dataset, synthetic
from forecastab.data.registry import generator_options
from forecastab.errors import ConfigError
from forecastab.experiments.config import dump_config, validate_config
from forecastab.experiments.identity import frame_sha256
from forecastab.experiments.runner import run_experiment

# frame_sha256 of each bundled generated series, computed with the generators as they were
# before their parameters became settable (commit a561a20): the defaults must not move a bit
BUNDLED_SHA256 = {
    "mackey_glass": "5c22f36089c4fb9c3fa8cd82f66b1f776083b8aae20d4aed976e317e241a141e",
    "mackey_glass_noisy": "4dcd50e1126b85c94dea19b4f6e60dcb0420cb351f6993cfa9e2a4b76373c99c",
    "lorenz": "f3f84012f7302725177b8322f11d0405d334a9880ffc959c13617591265e2852",
    "thomas": "4a4bf485f0f9d998685f28b894fe4999e2add3659738175cfef8481ff50725ea",
    "ar": "3622b52eef3c88bc7b9f601e8ba420df188270a78329dff138aefbd647367ecc",
    "sine": "e9e0b2231ea0992268bb332cadcf3790ae62480035cd6c740f1cdfc7768eb3bf",
}


def test_every_generator_is_covered() -> None:
    assert set(synthetic.GENERATORS) == set(BUNDLED_SHA256)


@pytest.mark.parametrize("name", sorted(BUNDLED_SHA256))
def test_defaults_give_the_bundled_series_byte_for_byte(name: str) -> None:
    frame, _ = load_dataset(name)
    assert frame_sha256(frame) == BUNDLED_SHA256[name]
    # every default spelled out, as the resolved config records them, gives the same bytes
    spelled, _ = load_dataset(name, generator_options(name, {}))
    assert frame_sha256(spelled) == BUNDLED_SHA256[name]


SHORT = {"length": 300}
CHANGES: list[tuple[str, dict[str, Any]]] = [
    ("mackey_glass", {"tau": 30.0}),
    ("mackey_glass", {"beta": 0.25}),
    ("mackey_glass", {"gamma": 0.12}),
    ("mackey_glass", {"n": 9.0}),
    ("mackey_glass", {"dt": 0.5}),
    ("mackey_glass", {"sample_every": 2.0}),
    ("mackey_glass", {"burn_in": 100}),
    ("mackey_glass", {"initial_value": 0.5}),
    ("mackey_glass", {"method": "euler"}),
    ("mackey_glass", {"noise": 0.1}),
    ("mackey_glass", {"seed": 1}),
    ("mackey_glass_noisy", {"noise": 0.0}),
    ("mackey_glass_noisy", {"tau": 30.0}),
    ("mackey_glass_noisy", {"seed": 1}),
    ("lorenz", {"sigma": 11.0}),
    ("lorenz", {"rho": 30.0}),
    ("lorenz", {"beta": 2.0}),
    ("lorenz", {"dt": 0.005}),
    ("lorenz", {"sample_every": 3}),
    ("lorenz", {"burn_in": 50}),
    ("lorenz", {"initial_state": [0.0, 1.0, 0.0]}),
    ("lorenz", {"noise": 0.1}),
    ("lorenz", {"seed": 2}),
    ("thomas", {"b": 0.1}),
    ("thomas", {"dt": 0.1, "sample_every": 1}),
    ("thomas", {"burn_in": 10}),
    ("thomas", {"initial_state": [0.0, 1.0, 0.0]}),
    ("thomas", {"noise": 0.01}),
    ("thomas", {"seed": 3}),
    ("ar", {"coefficients": [0.5]}),
    ("ar", {"noise_std": 2.0}),
    ("ar", {"burn_in": 10}),
    ("ar", {"seed": 1}),
    ("sine", {"periods": [12.0], "amplitudes": [1.0]}),
    ("sine", {"amplitudes": [2.0, 0.5]}),
    ("sine", {"noise_std": 0.0}),
    ("sine", {"seed": 1}),
]


def test_every_parameter_is_exercised() -> None:
    for name in synthetic.GENERATORS:
        # the noisy Mackey-Glass hands every parameter but noise to mackey_glass itself
        also = "mackey_glass" if name == "mackey_glass_noisy" else name
        named = {k for n, change in CHANGES if n in (name, also) for k in change} | {"length"}
        missing = set(synthetic.generator_parameters(name)) - named - {"components"}
        assert not missing, f"{name}: no test changes {sorted(missing)}"


@pytest.mark.parametrize(("name", "change"), CHANGES, ids=[f"{n}-{c}" for n, c in CHANGES])
def test_each_parameter_reaches_the_series(name: str, change: dict[str, Any]) -> None:
    base, _ = load_dataset(name, SHORT)
    changed, _ = load_dataset(name, {**SHORT, **change})
    assert len(base) == len(changed) == 300
    assert not np.array_equal(base.to_numpy(), changed.to_numpy())


def test_thomas_b_length_and_lorenz_components() -> None:
    frame, target = load_dataset("thomas", {"b": 0.1, "length": 500, "burn_in": 100})
    assert frame.shape == (500, 3) and target == "x"
    direct = synthetic.thomas(500, b=0.1, burn_in=100)
    assert frame.equals(direct)
    lorenz, _ = load_dataset("lorenz", {"components": ["x", "y", "z"], "length": 50})
    assert list(lorenz.columns) == ["x", "y", "z"]
    alone, _ = load_dataset("lorenz", {"length": 50})
    np.testing.assert_array_equal(lorenz["x"].to_numpy(), alone["x"].to_numpy())
    noisy, _ = load_dataset("thomas", {"length": 2000, "burn_in": 10, "noise": 0.2})
    clean, _ = load_dataset("thomas", {"length": 2000, "burn_in": 10})
    assert abs(float((noisy - clean).to_numpy().std()) - 0.2) < 0.01


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("thomas", {"bb": 0.1}, "thomas has no parameter 'bb' (did you mean 'b'?); its parameters: b, burn_in, dt, initial_state, length, noise, sample_every, seed"),
    ("thomas", {"b": -1}, "thomas: parameter 'b' must be a number > 0 (chaotic below about 0.208), got -1"),
    ("thomas", {"b": "0.1"}, "thomas: parameter 'b' must be a number > 0 (chaotic below about 0.208), got '0.1'"),
    ("thomas", {"length": 0}, "thomas: parameter 'length' must be a positive integer, got 0"),
    ("thomas", {"length": 10.5}, "thomas: parameter 'length' must be a positive integer, got 10.5"),
    ("thomas", {"length": True}, "thomas: parameter 'length' must be a positive integer, got True"),
    ("thomas", {"sample_every": 0.5}, "thomas: parameter 'sample_every' must be a positive integer (integration steps), got 0.5"),
    ("thomas", {"initial_state": [1, 2]}, "thomas: parameter 'initial_state' must be a list of 3 numbers [x, y, z] or null, got [1, 2]"),
    ("lorenz", {"noise": -0.1}, "lorenz: parameter 'noise' must be a number >= 0, got -0.1"),
    ("lorenz", {"rho": float("nan")}, "lorenz: parameter 'rho' must be a finite number, got nan"),
    ("lorenz", {"components": ["x", "w"]}, "lorenz: parameter 'components' must be a non-empty list of distinct names out of x, y, z, got ['x', 'w']"),
    ("lorenz", {"burn_in": -1}, "lorenz: parameter 'burn_in' must be an integer >= 0, got -1"),
    ("mackey_glass", {"dt": 0}, "mackey_glass: parameter 'dt' must be a number > 0, got 0"),
    ("mackey_glass", {"method": "rk45"}, "mackey_glass: parameter 'method' must be rk4 or euler, got 'rk45'"),
    ("mackey_glass", {"tau": 17.05}, "mackey_glass: tau (17.05) and sample_every (1.0) must be multiples of dt (0.1)"),
    ("mackey_glass", {"seed": -1}, "mackey_glass: parameter 'seed' must be an integer >= 0, got -1"),
    ("ar", {"coefficients": [1.2]}, "ar: coefficients (1.2,) are not stationary (a root of the AR polynomial lies inside the unit circle); use coefficients whose polynomial has all roots outside it, e.g. (0.5,)"),
    ("sine", {"periods": [24.0]}, "sine: 1 periods but 2 amplitudes; give one amplitude per period"),
    ("sine", {"periods": [-24.0, 168.0]}, "sine: parameter 'periods' must be a list of numbers > 0, got [-24.0, 168.0]"),
    ("etth1", {"length": 10}, "dataset 'etth1' is not generated, so it takes no generator parameters; generated datasets: ar, lorenz, mackey_glass, mackey_glass_noisy, sine, thomas"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "given", "message"), BAD, ids=[m[:40] for _, _, m in BAD])
def test_a_bad_parameter_is_one_line_before_generating(
    name: str, given: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        generator_options(name, given)
    assert str(caught.value) == message
    raw = {
        "name": "x",
        "data": {"source": name, "generator": given, "context_length": 8, "horizon": 4},
        "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
        "strategies": [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1}}],
    }
    with pytest.raises(ConfigError) as caught:
        validate_config(raw)
    assert str(caught.value) == f"data.generator: {message}"


def test_the_cli_exits_2_with_the_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "exp.yaml"
    raw = {
        "name": "x",
        "data": {"source": "thomas", "generator": {"b": 0.1, "lenght": 10}, "context_length": 8,
                 "horizon": 4},
        "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
        "strategies": [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1}}],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "data.generator: thomas has no parameter 'lenght' (did you mean 'length'?)" in err
    assert not (tmp_path / "out").exists()


def _tiny(generator: dict[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "source": "thomas",
        "target": ["x", "y", "z"],
        "context_length": 8,
        "horizon": 4,
        "split": {"train": 0.6, "val": 0.2, "test": 0.2},
    }
    if generator is not None:
        data["generator"] = generator
    return {
        "name": "tiny",
        "data": data,
        "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
        "strategies": [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1}}],
        "trainer": {"max_epochs": 1, "accelerator": "cpu"},
        "evaluation": {"modes": ["free_running"], "metrics": ["nrmse"], "units": "scaled"},
    }


def test_no_block_keeps_the_resolved_config_as_it_was() -> None:
    text = dump_config(validate_config(_tiny(None)))
    assert "generator" not in text


def test_a_run_records_every_parameter_and_the_series_hash(tmp_path: Path) -> None:
    given = {"b": 0.1, "length": 200, "burn_in": 20}
    config = validate_config(_tiny(given))
    full = config.data.generator
    assert full is not None and list(full) == list(synthetic.generator_parameters("thomas"))
    assert {k: full[k] for k in given} == given and full["dt"] == 0.05 and full["seed"] == 0
    result = run_experiment(config, tmp_path / "out", progress=False)
    assert [o.status for o in result.outcomes] == ["done"]
    resolved = yaml.safe_load(
        (tmp_path / "out" / "runs" / "gru__tf__seed0" / "config.yaml").read_text()
    )
    assert resolved["data"]["generator"] == full
    frame, _ = load_dataset("thomas", given)
    assert resolved["data"]["content_sha256"] == frame_sha256(frame)
    assert resolved["data"]["content_sha256"] != BUNDLED_SHA256["thomas"]
    # the data module trained on that series, not on the bundled one
    module = WindowDataModule(
        "thomas", target=["x", "y", "z"], context_length=8, horizon=4, generator=given,
        split={"train": 0.6, "val": 0.2, "test": 0.2},
    )  # fmt: skip
    assert module.name == "thomas" and module.borders.test[1] == 200
