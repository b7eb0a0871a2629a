"""Files on disk that forecastab wrote and something broke (issue 20, C4-C7): each is one exact
line naming the file and how to rebuild it, from the library and from the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from forecastab.cli import main
from forecastab.errors import DataError
from forecastab.experiments.comparisons import check_resamples, load_errors
from forecastab.experiments.report import COLUMNS, check_experiment_dir, saved_config
from forecastab.experiments.runner import is_complete

RUN = "gru__tf__seed0"


def _experiment(folder: Path) -> Path:
    """An experiment folder as `forecastab run` leaves it: results, a config, one run."""
    folder.mkdir()
    (folder / "results.csv").write_text(
        ",".join(COLUMNS) + "\nsine,gru,tf,0,free_running,y,1,mae,0.5\n", encoding="utf-8"
    )
    (folder / "config.yaml").write_text("name: tiny\n", encoding="utf-8")
    run = folder / "runs" / RUN
    run.mkdir(parents=True)
    for name in ("DONE", "metrics.csv"):
        (run / name).write_text("", encoding="utf-8")
    (run / "errors.npz").write_bytes(_npz())
    return folder


def _npz(**arrays: np.ndarray) -> bytes:
    labels = {"dataset": "sine", "model": "gru", "strategy": "tf", "seed": "0"}
    default = {
        "errors": np.zeros((5, 4, 1), dtype=np.float32),
        "origins": np.arange(5),
        "labels": np.array(json.dumps(labels)),
    }
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{**default, **arrays})
    return buffer.getvalue()


def _fix(folder: Path) -> str:
    return f"rerun `forecastab run CONFIG.yaml --out {folder}` to rewrite it, or delete it"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"name: \xff\xfe\n", "is not UTF-8 text"),  # C4
        (b"a: [1\n", "is not valid YAML (line 2)"),  # C5
        (b"- 1\n- 2\n", "holds a list, not the experiment's settings (a mapping of keys)"),
        (b"x: " + b"[" * 600 + b"]" * 600 + b"\n", ": line 1: the file nests deeper than 50 "
         "levels; an experiment file is far flatter: remove the nesting"),
    ],
    ids=["not-utf8", "invalid-yaml", "a-list", "deep"],
)
@pytest.mark.parametrize("command", ["report", "plot", "compare"])
def test_an_unreadable_saved_config_is_one_line_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, problem: str, command: str
) -> None:
    folder = _experiment(tmp_path / "exp")
    (folder / "config.yaml").write_bytes(content)
    path = folder / "config.yaml"
    expected = f"'{path}' {problem}; {_fix(folder)}".replace(f"'{path}' :", f"'{path}':")
    with pytest.raises(DataError) as caught:
        check_experiment_dir(folder)
    assert str(caught.value) == expected
    assert main([command, str(folder)]) == 2
    assert capsys.readouterr().err == f"forecastab: error: {expected}\n"
    assert not (folder / "summary.md").exists()


def test_an_empty_or_absent_saved_config_is_no_settings(tmp_path: Path) -> None:
    folder = _experiment(tmp_path / "exp")
    (folder / "config.yaml").write_text("", encoding="utf-8")
    assert saved_config(folder) == {}
    (folder / "config.yaml").unlink()
    assert saved_config(folder) == {}


def test_a_run_whose_saved_config_is_not_utf8_is_incomplete_not_a_crash(tmp_path: Path) -> None:
    """C4: `run` compares the saved config with the one it needs; undecodable bytes differ."""
    run = _experiment(tmp_path / "exp") / "runs" / RUN
    (run / "config.yaml").write_bytes(b"name: \xff\xfe\n")
    assert not is_complete(run, "name: tiny\n")
    (run / "config.yaml").write_text("name: tiny\n", encoding="utf-8")
    assert is_complete(run, "name: tiny\n")


def _truncated() -> bytes:
    whole = _npz()
    return whole[: len(whole) // 2]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"junk\n", "is not a readable errors.npz (truncated, or not written by forecastab)"),
        (_truncated(), "is not a readable errors.npz (truncated, or not written by forecastab)"),
        (b"", "is not a readable errors.npz (truncated, or not written by forecastab)"),
        (_npz(labels=np.array("{}")), "lacks 'dataset'"),
        (_npz(labels=np.array("not json")), "is not a readable errors.npz (truncated, or not "
         "written by forecastab)"),
        (_npz(origins=np.arange(3)), "holds errors of shape (5, 4, 1) for (3,) origins, "
         "expected (N, H, C) and (N,)"),
    ],
    ids=["junk", "truncated", "empty", "labels-incomplete", "labels-not-json", "shapes"],
)
def test_a_broken_errors_npz_names_the_file_and_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, problem: str
) -> None:
    folder = _experiment(tmp_path / "exp")
    path = folder / "runs" / RUN / "errors.npz"
    path.write_bytes(content)
    expected = (
        f"'{path}' {problem}; delete the run folder '{path.parent}' and rerun `forecastab run` "
        "with the same --out to recompute it"
    )
    with pytest.raises(DataError) as caught:
        load_errors(folder)
    assert str(caught.value) == expected
    assert main(["compare", str(folder), "--reference", "gru/tf"]) == 2
    assert capsys.readouterr().err == f"forecastab: error: {expected}\n"


def test_an_errors_npz_without_labels(tmp_path: Path) -> None:
    folder = _experiment(tmp_path / "exp")
    path = folder / "runs" / RUN / "errors.npz"
    buffer = io.BytesIO()
    np.savez(buffer, errors=np.zeros((5, 4, 1)))
    path.write_bytes(buffer.getvalue())
    with pytest.raises(DataError, match=r"errors.npz' lacks 'labels'; delete the run folder"):
        load_errors(folder)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "--n-bootstrap must be a whole number from 1 to 100,000, got 0"),
        (-3, "--n-bootstrap must be a whole number from 1 to 100,000, got -3"),
        (
            100_000_000,
            "--n-bootstrap must be a whole number from 1 to 100,000, got 100000000; "
            "1,000 to 10,000 resamples give stable intervals",
        ),
        (True, "--n-bootstrap must be a whole number from 1 to 100,000, got True"),
        (2.5, "--n-bootstrap must be a whole number from 1 to 100,000, got 2.5"),
    ],
)
def test_resamples_are_bounded_before_anything_is_drawn(value: object, message: str) -> None:
    with pytest.raises(DataError) as caught:
        check_resamples(value, "--n-bootstrap")
    assert str(caught.value) == message


def test_compare_refuses_a_huge_bootstrap_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """C7: 10^8 resamples of the origins took 37 GiB before the first one was drawn."""
    folder = _experiment(tmp_path / "exp")
    assert main(["compare", str(folder), "--n-bootstrap", "100000000"]) == 2
    assert capsys.readouterr().err == (
        "forecastab: error: --n-bootstrap must be a whole number from 1 to 100,000, got "
        "100000000; 1,000 to 10,000 resamples give stable intervals\n"
    )


def test_a_write_that_fails_names_the_file_not_its_temporary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """U8: atomic_write's temporary ``.summary.md.<random>.tmp`` is not what the user knows."""
    folder = _experiment(tmp_path / "exp")
    (folder / "summary.md").mkdir()
    assert main(["report", str(folder)]) == 2
    assert capsys.readouterr().err == (
        f"forecastab: error: '{folder / 'summary.md'}' is a folder; forecastab writes only regular "
        "files (it would replace it): remove it or choose another path\n"
    )
