"""Ordinary input never gives a traceback: the issue's points 7, 8, 10 and 11, one line each."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from forecastab import cli
from forecastab.data import WindowDataModule
from forecastab.data.validation import validate_series
from forecastab.errors import ConfigError, DataError, ForecastabError
from forecastab.evaluation.evaluate import evaluate
from forecastab.experiments.config import load_config, validate_config
from forecastab.experiments.report import read_results
from forecastab.experiments.yaml_loader import load_yaml
from forecastab.models import ForecastModule

HEAD = """name: t
data: {source: sine, context_length: 8, horizon: 4}
models: [{name: gru, type: rnn, hidden_size: HIDDEN, learning_rate: RATE}]
strategies: [{name: tf, teacher_forcing: {schedule: constant, ratio: 1.0}}]
"""


def _file(tmp_path: Path, text: str, hidden: str = "4", rate: str = "1e-3") -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(HEAD.replace("HIDDEN", hidden).replace("RATE", rate) + text)
    return path


def _bomb(levels: int = 9) -> str:
    lines = ["trainer:", "  plugins:", "    - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        refs = ", ".join([f"*l{i - 1}"] * 9)
        lines.append(f"    - &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_exponent_numbers_are_numbers(tmp_path: Path) -> None:
    config = load_config(_file(tmp_path, "", rate="1e3"))
    assert config.models[0].model_extra == {"hidden_size": 4, "learning_rate": 1000.0}
    assert (
        load_config(_file(tmp_path, "", rate="2E-4")).models[0].model_extra["learning_rate"] == 2e-4
    )


@pytest.mark.parametrize(
    ("text", "hidden", "rate", "message"),
    [
        (
            "seeds: [0]\nseeds: [1]\n",
            "4",
            "1e-3",
            "line 6: the key 'seeds' appears twice in one mapping (first on line 5); keep one of them",
        ),
        ("", "1000000", "1e-3", "models[0] (gru): the network has 6,000,019,000,001 parameters"),
        (
            "",
            "4",
            "'1e-3'",
            "models[0] (gru): model 'gru': learning_rate must be a number, got str '1e-3'; "
            "write it without quotes",
        ),
        (
            "",
            "4",
            ".inf",
            "models[0] (gru): model 'gru': learning_rate must be finite, got inf",
        ),
        (
            "trainer: {max_epochs: -5}\n",
            "4",
            "1e-3",
            "trainer.max_epochs must be a positive integer or -1 (no limit), got -5",
        ),
        (
            "seeds: [5000000000]\n",
            "4",
            "1e-3",
            "seeds: 5000000000 is out of range; a seed is an integer in [0, 4294967295]",
        ),
        (
            "trainer: {gradient_clip_val: .nan}\n",
            "4",
            "1e-3",
            "trainer.gradient_clip_val must be a finite number >= 0, got nan",
        ),
    ],
)
def test_config_problems_are_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    hidden: str,
    rate: str,
    message: str,
) -> None:
    path = _file(tmp_path, text, hidden, rate)
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"forecastab: error: {path}: {message}")
    assert err.count("\n") == 1


def test_alias_bomb_is_refused_quickly_in_bounded_memory(tmp_path: Path) -> None:
    path = _file(tmp_path, _bomb())  # 9**10 values once expanded
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than 100,000 values"):
        load_config(path)
    assert time.perf_counter() - start < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB


def test_a_bomb_built_in_python_is_refused_too() -> None:
    level: list = ["lol"] * 9
    for _ in range(9):
        level = [level] * 9
    raw = load_yaml(_file_text())
    raw["trainer"] = {"plugins": level}
    with pytest.raises(ConfigError, match="expands to more than"):
        validate_config(raw)


def _file_text() -> str:
    return HEAD.replace("HIDDEN", "4").replace("RATE", "1e-3")


# -- time zones -----------------------------------------------------------------------------


def test_timestamps_with_zones_become_utc() -> None:
    z = pd.DataFrame({"t": [f"2020-01-01T0{i}:00:00Z" for i in range(6)], "y": np.arange(6.0)})
    assert validate_series(z, time_column="t").index[0] == pd.Timestamp("2020-01-01 00:00")
    # Europe/Berlin across the spring change: +01:00 then +02:00, hourly in UTC
    local = pd.date_range("2021-03-28 00:00", periods=6, freq="h", tz="Europe/Berlin")
    dst = pd.DataFrame({"t": [t.isoformat() for t in local], "y": np.arange(6.0)})
    series = validate_series(dst, time_column="t")
    assert list(series.index) == list(pd.date_range("2021-03-27 23:00", periods=6, freq="h"))
    aware = pd.DataFrame({"y": np.arange(6.0)}, index=local)
    assert validate_series(aware).index.equals(series.index.rename(None))


def test_zones_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = pd.date_range("2021-03-20", periods=200, freq="h", tz="Europe/Berlin")
    csv = tmp_path / "zoned.csv"
    pd.DataFrame({"t": [t.isoformat() for t in local], "y": np.sin(np.arange(200.0))}).to_csv(
        csv, index=False
    )
    module = WindowDataModule(str(csv), time_column="t", context_length=8, horizon=4)
    assert module.index.tz is None and len(module.index) == 200


# -- library misuse -------------------------------------------------------------------------


def _frame(n: int = 60) -> pd.DataFrame:
    return pd.DataFrame({"y": np.sin(np.arange(n) / 3.0)})


NET = {"type": "rnn", "hidden_size": 4}


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: validate_series(
                pd.DataFrame({"y": range(4)}, index=pd.MultiIndex.from_product([[1, 2], [1, 2]]))
            ),
            DataError,
            "the DataFrame has a row MultiIndex (2 levels); pass one series",
        ),
        (
            lambda: validate_series(pd.DataFrame([[1.0, 2.0]] * 3, columns=["a", "a"])),
            DataError,
            "the column name 'a' appears twice; give every column its own name",
        ),
        (
            lambda: validate_series(pd.DataFrame({"y": [1.0, 2.0]}, index=["a", "b"])),
            DataError,
            "the index holds a value that is not a time at row 0 ('a')",
        ),
        (
            lambda: validate_series(pd.DataFrame({"y": [1.0, 2.0]}), target=1.5),
            DataError,
            "target must be a column name or a list of them, got 1.5",
        ),
        (
            lambda: WindowDataModule(np.arange(100.0), context_length=5, horizon=2),
            DataError,
            "data must be a bundled dataset name, a CSV path or a pandas DataFrame, got "
            "ndarray; wrap an array as pd.DataFrame(values)",
        ),
        (
            lambda: ForecastModule(NET, context_length=8, horizon=4, learning_rate="1e-3"),
            ConfigError,
            "learning_rate must be a number, got str '1e-3'; write it without quotes",
        ),
        (
            lambda: ForecastModule(NET, context_length=8, horizon=4, learning_rate=float("inf")),
            ConfigError,
            "learning_rate must be finite, got inf",
        ),
        (
            lambda: ForecastModule(NET, context_length=8.0, horizon=4),
            ConfigError,
            "context_length must be a positive integer, got 8.0",
        ),
        (
            lambda: _model().forecast(np.zeros((1, 8, 1)), horizon=0),
            ConfigError,
            "horizon must be a positive integer, got 0",
        ),
        (
            lambda: _model().forecast(np.zeros((1, 8, 1)), horizon=2.5),
            ConfigError,
            "horizon must be a positive integer, got 2.5",
        ),
        (
            lambda: _model().forecast(np.zeros((1, 0, 1))),
            DataError,
            "context must hold at least one time step, got length 0",
        ),
        (
            lambda: _model().forecast(np.array([[[0.0], [np.nan]] * 4])),
            DataError,
            "context holds NaN or +/-inf (4 value(s), the first at [0, 1, 0])",
        ),
        (
            lambda: _model().predict_origins(
                np.zeros((40, 1)), np.array([10.5]), context_length=8, horizon=4
            ),
            DataError,
            "origins must be whole row numbers, got 10.5",
        ),
        (
            lambda: evaluate(_model(), WindowDataModule(_frame(), context_length=10, horizon=4)),
            DataError,
            "model 'gru' was built for context_length 8 but the data module has "
            "context_length 10; build the data module with context_length=8",
        ),
        (
            lambda: evaluate(_model(), WindowDataModule(_frame(), context_length=8, horizon=6)),
            DataError,
            "model 'gru' was built for horizon 4 but the data module has horizon 6",
        ),
    ],
)
def test_library_misuse_gets_one_line(call, error: type[ForecastabError], message: str) -> None:
    with pytest.raises(error) as raised:
        call()
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def _model() -> ForecastModule:
    return ForecastModule(NET, context_length=8, horizon=4)


def test_what_means_what_it_says_is_accepted() -> None:
    module = ForecastModule(NET, context_length=np.int64(8), horizon=np.int64(4))
    assert type(module.horizon) is int and module.horizon == 4
    assert module.forecast(np.zeros((2, 8, 1))).shape == (2, 4, 1)
    assert module.forecast(np.zeros((2, 8, 1)), horizon=np.int64(6)).shape == (2, 6, 1)
    series = pd.Series(np.sin(np.arange(80.0)), name="load")
    assert WindowDataModule(series, context_length=8, horizon=4).target_columns == ["load"]
    assert validate_series(pd.DataFrame({0: [1.0, 2.0, 3.0]}), target=0).columns.tolist() == ["0"]
    whole = module.predict_origins(
        np.zeros((40, 1)), np.array([10.0, 12.0]), context_length=8, horizon=4
    )
    assert whole.shape == (2, 4, 1)


def test_a_data_module_of_other_lengths_is_refused_at_fit() -> None:
    import pytorch_lightning as pl

    trainer = pl.Trainer(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    with pytest.raises(DataError, match="built for context_length 8 but the data module has"):
        trainer.fit(_model(), datamodule=WindowDataModule(_frame(), context_length=12, horizon=4))
    torch.set_num_threads(1)


# -- report and plot on corrupt files ----------------------------------------------------------


ROWS = "dataset,model,strategy,seed,mode,step,metric,value\nd,m,s,0,free_running,1,mae,0.5\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (ROWS.replace("0.5", "abc"), "has a non-numeric value 'abc' at line 2"),
        (ROWS.replace(",1,mae", ",x,mae"), "has a non-numeric step 'x' at line 2"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\x00binary", "is not a readable CSV"),
        ("", "is empty"),
    ],
)
@pytest.mark.parametrize("command", ["plot", "report"])
def test_report_and_plot_survive_corrupt_results(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | bytes,
    message: str,
    command: str,
) -> None:
    path = tmp_path / "results.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert cli.main([command, str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"forecastab: error: '{path}' {message}") and err.count("\n") == 1
    with pytest.raises(DataError):
        read_results(path)


def test_plot_removes_temporary_files_of_a_killed_plot(tmp_path: Path) -> None:
    (tmp_path / "results.csv").write_text(ROWS)
    stale = tmp_path / ".horizon_error.png.abc123.tmp"
    stale.write_bytes(b"half a png")
    assert cli.main(["plot", str(tmp_path)]) == 0
    assert not stale.exists() and (tmp_path / "horizon_error.png").is_file()
