"""Bad tune files: one line each, exit 2, before anything trains; the space's parsing and draws."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from forecastab.cli import main
from forecastab.experiments.yaml_loader import load_yaml
from forecastab.tuning import load_tune_config
from forecastab.tuning.space import Choices, CornerTrial, Range, parse_space


def _space(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["tune"]["space"]


BAD: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    (
        "unknown parameter",
        lambda r: _space(r).update(hiden_size=[4, 8]),
        "tune.space: unknown parameter 'hiden_size' (did you mean 'hidden_size'?); valid: cell, "
        "distribution, dropout, hidden_size, learning_rate, learning_rate_decay, max_epochs, "
        "normalization, num_layers, patch, patience, revin_affine, strategy",
    ),
    (
        "contradictory range",
        lambda r: _space(r).update(learning_rate={"low": 0.01, "high": 0.001}),
        "tune.space.learning_rate: contradictory range, low 0.01 is above high 0.001; swap them",
    ),
    (
        "empty range",
        lambda r: _space(r).update(learning_rate={"low": 0.01, "high": 0.01}),
        "tune.space.learning_rate: empty range, low and high are both 0.01; give the value "
        "itself to fix it",
    ),
    (
        "empty set",
        lambda r: _space(r).update(hidden_size={"choices": []}),
        "tune.space.hidden_size: empty set of choices; list at least one value",
    ),
    (
        "parameters of a method not searched",
        lambda r: _space(r)["strategy"].update(professor_forcing={"weight": 0.5}),
        "tune.space.strategy.professor_forcing: parameters for method 'professor_forcing', which "
        "tune.space.strategy.method does not list; add it to the methods or remove "
        "tune.space.strategy.professor_forcing",
    ),
    (
        "zero trials",
        lambda r: r["tune"].update(trials=0),
        "tune.trials: must be a positive number of trials, got 0",
    ),
    (
        "negative trials",
        lambda r: r["tune"].update(trials=-3),
        "tune.trials: must be a positive number of trials, got -3",
    ),
    (
        "unknown metric",
        lambda r: r["tune"].update(objective={"metric": "rmsee"}),
        "tune.objective.metric: unknown metric 'rmsee' (did you mean 'rmse'?); valid: crps, mae, "
        "mase, mse, nd, nrmse, nrmse_deepar, quantile_loss, rmse, smape, valid_fraction, vpt",
    ),
    (
        "no validation split",
        lambda r: r["data"].update(split={"train": 0.7, "test": 0.3}),
        "tune needs a validation split to choose on: add val to data.split, e.g. "
        "{train: 0.6, val: 0.2, test: 0.2}",
    ),
    (
        "a probabilistic metric on a point model",
        lambda r: r["tune"].update(objective={"metric": "crps"}),
        "tune.objective.metric 'crps' scores a probabilistic head; set distribution (gaussian "
        "or student_t) on the model, or choose rmse",
    ),
    (
        "selection on test",
        lambda r: r["tune"].update(objective={"split": "test"}),
        "tune.objective.split: split must be 'val' (trials are chosen on the validation split; "
        "test is scored once, after the search), got 'test'",
    ),
    (
        "unknown key in the block",
        lambda r: r["tune"].update(objectiv={"metric": "rmse"}),
        "unknown key 'objectiv' in tune (did you mean 'objective'?)",
    ),
    (
        "unknown method",
        lambda r: _space(r)["strategy"].update(method=["teacher_forcing", "noise_injecton"]),
        "tune.space.strategy.method: unknown method 'noise_injecton' (did you mean "
        "'noise_injection'?); valid: data_as_demonstrator, generalized_teacher_forcing, "
        "multi_step, noise_injection, professor_forcing, reinforce, scheduled_sampling, "
        "teacher_forcing",
    ),
    (
        "unknown strategy parameter",
        lambda r: _space(r)["strategy"].update(noise_injection={"stdd": 0.1}),
        "tune.space at the low ends (method noise_injection): strategies[0]: unknown key 'stdd' "
        "in noise_injection (did you mean 'std'?); valid: context, schedule, std",
    ),
    (
        "a range end the model refuses",
        lambda r: _space(r).update(hidden_size={"low": 0, "high": 8}),
        "tune.space at the low ends (method teacher_forcing): models[0] (gru): model 'gru': "
        "hidden_size must be a positive integer, got 0",
    ),
    (
        "the high end of a range refused",
        lambda r: _space(r).update(dropout={"low": 0.0, "high": 1.5}),
        "tune.space.dropout = 1.5 (method teacher_forcing): models[0] (gru): model 'gru': "
        "dropout must lie in [0, 1), got 1.5",
    ),
    (
        "steps beyond the horizon",
        lambda r: r["tune"].update(objective={"steps": 99}),
        "tune.objective.steps (99) is beyond the horizon (6); give at most 6, or null for the "
        "whole horizon",
    ),
    (
        "a misspelled range key",
        lambda r: _space(r).update(learning_rate={"low": 0.001, "hihg": 0.01}),
        "tune.space.learning_rate: unknown key 'hihg' in a range (did you mean 'high'?); valid: "
        "low, high, log, step (or choices for a set)",
    ),
    (
        "no tune block",
        lambda r: r.pop("tune"),
        "no 'tune' block; add tune: {trials: N, space: {...}} (see docs/tuning.md)",
    ),
]


@pytest.mark.parametrize(("case", "edit", "message"), BAD, ids=[case for case, _, _ in BAD])
def test_bad_tune_file_is_one_line_and_exit_2(
    case: str,
    edit: Callable[[dict[str, Any]], Any],
    message: str,
    tiny_tune: dict[str, Any],
    tune_file: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    edit(tiny_tune)
    path = tune_file(tiny_tune)
    status = main(["tune", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert err == f"forecastab: error: {path}: {message}\n"
    assert not (tmp_path / "out").exists()  # nothing trained, nothing written


def test_a_valid_file_loads_with_its_space(tiny_tune: dict[str, Any]) -> None:
    config = load_tune_config(tiny_tune)
    paths = [p.path for p in config.space.parameters()]
    assert paths == [
        "learning_rate",
        "hidden_size",
        "strategy.method",
        "strategy.noise_injection.std",
    ]
    assert config.space.method_names() == ["teacher_forcing", "noise_injection"]
    assert config.space.teacher_forcing_only().method_names() == ["teacher_forcing"]


def test_ranges_are_integer_or_float_and_draws_become_an_experiment_entry(
    tiny_tune: dict[str, Any],
) -> None:
    space = parse_space(
        {"hidden_size": {"low": 4, "high": 16, "step": 4}, "dropout": {"low": 0.0, "high": 0.5},
         "max_epochs": [2, 3], "patience": 2},
        ["hidden_size", "dropout"],
    )
    assert space.model["hidden_size"] == Range(4, 16, False, 4) and space.model["hidden_size"].integer
    assert not space.model["dropout"].integer
    assert space.trainer == {"max_epochs": Choices((2, 3)), "patience": 2}
    draw = space.draw(CornerTrial("max_epochs", 3))
    assert draw == {
        "model": {"hidden_size": 4, "dropout": 0.0},
        "trainer": {"max_epochs": 3, "patience": 2},
        "strategy": None,
        "label": None,
    }
    config = load_tune_config(tiny_tune)
    raw = config.trial_raw(
        {"model": {"hidden_size": 4}, "trainer": {"max_epochs": 3, "patience": 2},
         "strategy": {"method": "noise_injection", "noise_injection": {"std": 0.1}},
         "label": "noise_injection"}
    )
    assert raw["models"] == [{"name": "gru", "type": "rnn", "cell": "gru", "hidden_size": 4}]
    assert raw["strategies"] == [
        {"name": "noise_injection", "method": "noise_injection", "noise_injection": {"std": 0.1}}
    ]
    assert raw["trainer"]["max_epochs"] == 3
    assert raw["trainer"]["early_stopping"] == {"patience": 2}
    assert raw["seeds"] == [0] and raw["baselines"] == []


def test_scheduled_sampling_without_parameters_searches_its_schedule(
    tiny_tune: dict[str, Any],
) -> None:
    _space(tiny_tune)["strategy"] = {"method": ["scheduled_sampling"]}
    config = load_tune_config(tiny_tune)
    paths = [p.path for p in config.space.parameters()]
    assert "strategy.scheduled_sampling.teacher_forcing.k" in paths


STUDY_FILES = sorted(
    (Path(__file__).resolve().parents[2] / "experiments" / "selection_criterion").glob("*.yaml")
)
# the study's diagnosis files are plain experiment files (forecastab run), without tune:
TUNE_FILES = [p for p in STUDY_FILES if "tune" in (load_yaml(p.read_text(encoding="utf-8")) or {})]
DIAGNOSIS_FILES = [p for p in STUDY_FILES if p not in TUNE_FILES]


@pytest.mark.parametrize("path", TUNE_FILES, ids=[p.stem for p in TUNE_FILES])
def test_every_tune_file_of_the_study_loads(path: Path) -> None:
    config = load_tune_config(path)
    assert config.block.test_every_trial and config.space.methods is not None
    assert config.experiment.seeds == [0, 1, 2]


@pytest.mark.parametrize("path", DIAGNOSIS_FILES, ids=[p.stem for p in DIAGNOSIS_FILES])
def test_every_diagnosis_file_of_the_study_is_an_experiment_file(path: Path) -> None:
    from forecastab.experiments.config import load_config

    config = load_config(path)
    names = [s.name for s in config.strategies]
    assert "teacher_forcing" in names and "free_running" in names
    assert TUNE_FILES and DIAGNOSIS_FILES


def test_missing_optuna_is_one_line(
    tiny_tune: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from forecastab.errors import ConfigError
    from forecastab.tuning import tune

    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    with pytest.raises(ConfigError, match=r"^forecastab tune needs optuna: pip install "):
        tune(tiny_tune, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_folder_of_user_files_is_refused_and_kept(
    tiny_tune: dict[str, Any],
    tune_file: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`tune --out .` beside the user's own summary.md must not write over it (issue 20's W6)."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "summary.md").write_text("my notes\n")
    path = tune_file(tiny_tune)
    assert main(["tune", str(path), "--out", str(folder)]) == 2
    assert capsys.readouterr().err == (
        f"forecastab: error: tune folder '{folder}' already holds files forecastab tune did not "
        "write (summary.md); give a new or empty folder with --out\n"
    )
    assert (folder / "summary.md").read_text() == "my notes\n"
    assert sorted(p.name for p in folder.iterdir()) == ["summary.md"]
