"""The command line: one error line and status 2 for every bad input; datasets, plot, report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from forecastab.cli import main
from forecastab.errors import ConfigError

GOOD = {
    "name": "cli",
    "data": {"source": "sine", "context_length": 12, "horizon": 4},
    "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
    "strategies": [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}],
    "trainer": {"max_epochs": 1},
}


def _write(tmp_path: Path, config: Any, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def _with(section: str, **changes: Any) -> dict:
    config = yaml.safe_load(yaml.safe_dump(GOOD))
    if section:
        config[section] = {**config[section], **changes}
    else:
        config.update(changes)
    return config


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("forecastab: error: "), err
    assert "Traceback" not in err
    return lines[0].removeprefix("forecastab: error: ")


def _python_m(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "forecastab", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_subprocess_bad_inputs(tmp_path: Path) -> None:
    missing = _python_m("run", "nope.yaml", cwd=tmp_path)
    assert missing.returncode == 2
    assert _one_error_line(missing.stderr) == (
        "config file 'nope.yaml' not found; pass the path of an experiment YAML"
    )

    _write(tmp_path, "name: x\ndata: [1, 2\n", "broken.yaml")
    broken = _python_m("run", "broken.yaml", cwd=tmp_path)
    assert broken.returncode == 2
    assert _one_error_line(broken.stderr).startswith("broken.yaml: line 3, column 1: invalid YAML:")

    _write(tmp_path, _with("data", horizn=4), "typo.yaml")
    typo = _python_m("run", "typo.yaml", cwd=tmp_path)
    assert typo.returncode == 2
    assert _one_error_line(typo.stderr) == (
        "typo.yaml: unknown key 'horizn' in data (did you mean 'horizon'?)"
    )

    version = _python_m("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("forecastab ")


BAD_RUNS = [
    (
        _with("data", target="z"),
        "unknown target column 'z'",
    ),
    (
        _with("", models=[{"name": "m", "type": "lstm"}]),
        "config.yaml: models[0] (m): model 'm': unknown model type 'lstm'; "
        "valid: direct, rnn, transformer",
    ),
    (
        _with("", strategies=[{"name": "s", "teacher_forcing": {"schedule": "sigmoid"}}]),
        "config.yaml: strategies[0].teacher_forcing: unknown schedule 'sigmoid' "
        "(did you mean 'inverse_sigmoid'?); valid: constant, exponential, inverse_sigmoid, linear",
    ),
    (_with("data", source="no_such_set"), "unknown dataset 'no_such_set'"),
    (
        _with("data", context_length=0),
        "config.yaml: data.context_length: input should be greater than 0 (got 0)",
    ),
    (_with("data", context_length=400, horizon=400), "too short"),
]


@pytest.mark.parametrize(("config", "message"), BAD_RUNS)
def test_bad_runs_in_process(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config: dict,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, config)
    assert main(["run", "config.yaml", "--out", "out"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    if message.startswith("config.yaml"):
        assert line == message
    else:
        assert message in line
    assert not (tmp_path / "out" / "runs" / "gru__tf__seed0").exists()


def test_unwritable_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, GOOD)
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    assert main(["run", str(path), "--out", str(blocker / "out")]) == 2
    assert _one_error_line(capsys.readouterr().err).startswith(
        f"cannot write to output folder '{blocker / 'out'}' ("
    )


def test_debug_reraises(tmp_path: Path) -> None:
    path = _write(tmp_path, _with("data", horizn=4))
    with pytest.raises(ConfigError, match="did you mean 'horizon'"):
        main(["run", str(path), "--debug"])
    with pytest.raises(ConfigError):
        main(["--debug", "run", str(path)])


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fly"]) == 2
    assert "invalid choice: 'fly'" in _one_error_line(capsys.readouterr().err)
    assert main([]) == 2
    assert "required" in _one_error_line(capsys.readouterr().err)


def test_bad_config_leaves_results_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text("dataset,model\nkeep,me\n")
    path = _write(tmp_path, _with("trainer", max_epoch=1))
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert "did you mean 'max_epochs'" in _one_error_line(capsys.readouterr().err)
    assert (out / "results.csv").read_text() == "dataset,model\nkeep,me\n"


def test_datasets_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("sunspots", "etth1", "mackey_glass", "sine"):
        assert name in out


def _fake_results(out: Path) -> None:
    """A results.csv as a run writes it: two strategies in both modes, one baseline."""
    rows = []
    for strategy, modes in (
        ("tf", ("free_running", "teacher_forced")),
        ("baseline", ("free_running",)),
    ):
        model = "naive" if strategy == "baseline" else "gru"
        for mode in modes:
            for step in range(1, 5):
                for metric in ("mae", "rmse"):
                    value = step * (2.0 if mode == "free_running" else 1.0)
                    rows.append(("sine", model, strategy, 0, mode, step, metric, value))
    columns = ["dataset", "model", "strategy", "seed", "mode", "step", "metric", "value"]
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=columns).to_csv(out / "results.csv", index=False)
    strategies = [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}]
    (out / "config.yaml").write_text(yaml.safe_dump({"name": "exp", "strategies": strategies}))
    error_dir = out / "runs" / "gru__broken__seed0"
    error_dir.mkdir(parents=True)
    (error_dir / "error.txt").write_text("Traceback ...\nValueError: boom\n")


def test_plot_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exp"
    _fake_results(out)
    assert main(["plot", str(out)]) == 0
    drawn = capsys.readouterr().out.split()
    names = ["horizon_error.png", "exposure_gap_mae.png", "horizon_error_mae.png",
             "exposure_gap_rmse.png"]
    assert sorted(Path(p).name for p in drawn) == sorted(names)  # one file per chart
    rmse_chart = (out / "horizon_error.png").read_bytes()
    assert len(rmse_chart) > 1000
    assert main(["plot", str(out), "--metric", "mae"]) == 0
    assert capsys.readouterr().out.split() == [str(out / "horizon_error_mae.png"),
                                               str(out / "exposure_gap_mae.png")]
    assert (out / "horizon_error.png").read_bytes() == rmse_chart  # not overwritten
    assert main(["report", str(out)]) == 0
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# exp\n")
    assert "**Exposure gap**: `gru` trained with `tf` has RMSE 2.5 when fed the true" in summary
    assert "| gru | tf | 2 | 4 | 8 | 5 | 1 |" in summary  # free running: steps 1, 2, 4 and mean
    assert "| gru | tf | 1 | 2 | 4 | 2.5 | 1 |" in summary  # exposure gap
    assert "- `gru__broken__seed0`: ValueError: boom" in summary
    capsys.readouterr()

    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    assert "no experiment folder" in _one_error_line(capsys.readouterr().err)
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "holds no results.csv" in _one_error_line(capsys.readouterr().err)
    assert main(["plot", str(out), "--metric", "smape"]) == 2
    _one_error_line(capsys.readouterr().err)


def test_results_sorting_is_stable() -> None:
    from forecastab.experiments.report import results_csv

    rng = np.random.default_rng(0)
    rows = pd.DataFrame(
        {
            "dataset": "d",
            "model": rng.choice(["a", "b"], 40),
            "strategy": "s",
            "seed": 0,
            "mode": "free_running",
            "step": np.arange(40),
            "metric": "mae",
            "value": rng.random(40),
        }
    )
    assert results_csv(rows) == results_csv(rows.sample(frac=1.0, random_state=1))
