"""Strategy entries of an experiment file: methods, their parameters, and one-line errors with
exit status 2 from the command line, before any training starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from forecastab.cli import main
from forecastab.experiments import validate_config

TF = {"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}

GOOD_ENTRIES = [
    TF,
    {"name": "ss", "teacher_forcing": {"schedule": "linear", "k": 1, "c": 0.05}, "detach": True},
    {"name": "noise", "method": "noise_injection", "noise_injection": {"std": 0.1}},
    {
        "name": "dad",
        "method": "data_as_demonstrator",
        "data_as_demonstrator": {"warmup_epochs": 5, "every": 2},
    },
    {
        "name": "gtf",
        "method": "generalized_teacher_forcing",
        "generalized_teacher_forcing": {"alpha": 0.3},
    },
    {"name": "pf", "method": "professor_forcing", "professor_forcing": {"weight": 1.0}},
]


def test_the_issue_example_validates_and_old_entries_resolve_as_before(make_config) -> None:
    config = validate_config(make_config(strategies=GOOD_ENTRIES))
    methods = [s.method for s in config.strategies]
    assert methods == [
        "scheduled_sampling",
        "scheduled_sampling",
        "noise_injection",
        "data_as_demonstrator",
        "generalized_teacher_forcing",
        "professor_forcing",
    ]
    # a run folder records an old-style entry exactly as before strategy methods existed
    assert config.strategies[0].resolved() == {**TF, "sampling": "per_step"}
    assert config.strategies[2].spec() == {
        "method": "noise_injection",
        "noise_injection": {"std": 0.1},
    }


BAD = [
    (
        {"name": "x", "method": "noise"},
        "strategies[0].method: unknown method 'noise' (did you mean",
    ),
    (
        {"name": "x", "method": "noise_injection", "noise_injection": {"std": 0.1}, "detach": True},
        "strategies[0]: 'detach' is a parameter of method scheduled_sampling, not of "
        "noise_injection; set method: scheduled_sampling or move it under 'noise_injection'",
    ),
    (
        {"name": "x", "method": "noise_injection", "generalized_teacher_forcing": {"alpha": 1}},
        "strategies[0]: 'generalized_teacher_forcing' is a parameter of method "
        "generalized_teacher_forcing, not of noise_injection",
    ),
    (
        {"name": "x", "method": "noise_injection", "noise_injection": {"sdt": 0.1}},
        "strategies[0]: unknown key 'sdt' in noise_injection (did you mean 'std'?); valid: "
        "context, schedule, std",
    ),
    (
        {
            "name": "x",
            "method": "generalized_teacher_forcing",
            "generalized_teacher_forcing": {"alpha": 1.5},
        },
        "strategies[0]: generalized_teacher_forcing: alpha must lie in [0, 1] (1 is teacher "
        "forcing, 0 free running), or be 'product_bound', 'rollout_growth' or a schedule "
        "mapping; got 1.5",
    ),
    (
        {"name": "x", "method": "noise_injection", "noise_injection": {"std": -0.1}},
        "strategies[0]: noise_injection: std must be a finite number >= 0 (0 is teacher "
        "forcing), got -0.1",
    ),
    (
        {"name": "x", "method": "data_as_demonstrator", "data_as_demonstrator": {"every": 0}},
        "strategies[0]: data_as_demonstrator: every must be >= 1, got 0",
    ),
    (
        {"name": "x", "noise_injecton": {"std": 0.1}},
        "unknown key 'noise_injecton' in strategies[0] (did you mean 'noise_injection'?)",
    ),
    (
        {"name": "x"},
        "strategies[0]: missing key 'teacher_forcing' (the ratio schedule, e.g. "
        "{schedule: constant, ratio: 1.0}); or set another 'method'",
    ),
]


@pytest.mark.parametrize(("entry", "message"), BAD)
def test_bad_entries_exit_2_with_one_line(entry, message, make_config, tmp_path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(make_config(strategies=[entry])), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"forecastab: error: {path}: {message}")
    assert not (tmp_path / "out" / "runs" / "gru__x__seed0").exists()


def test_professor_forcing_on_the_direct_network_is_refused(make_config, tmp_path, capsys) -> None:
    config = make_config(
        models=[{"name": "direct", "type": "direct", "hidden_size": 4}],
        strategies=[{"name": "pf", "method": "professor_forcing"}],
    )
    path = tmp_path / "direct.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"forecastab: error: {path}: models[0] (direct) with strategy 'pf': model 'direct' is "
        "direct (it feeds nothing back), so strategy method 'professor_forcing' cannot train "
        "it; use scheduled_sampling for it, or list only that strategy under the model's "
        "'strategies' key"
    )
    # restricting the direct model to scheduled sampling makes the same grid valid
    config["models"][0]["strategies"] = ["tf"]
    config["strategies"].append(TF)
    validate_config(config)


def test_a_grid_of_methods_runs(make_config, tmp_path: Path) -> None:
    from forecastab.experiments import run_experiment

    entries = [
        TF,
        {"name": "noise", "method": "noise_injection", "noise_injection": {"std": 0.1}},
        {
            "name": "pf",
            "method": "professor_forcing",
            "professor_forcing": {"discriminator_hidden": 4},
        },
    ]
    config = validate_config(make_config(strategies=entries, baselines=[]))
    result = run_experiment(config, tmp_path / "out", progress=False)
    assert not result.failed, result.failed
    import pandas as pd

    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(results["strategy"]) == {"tf", "noise", "pf"}
