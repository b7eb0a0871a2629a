"""Names that become paths are safe folder names, and nothing outside --out is ever removed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from forecastab import cli
from forecastab.errors import ConfigError
from forecastab.experiments.config import validate_config
from forecastab.experiments.names import (
    check_file_name,
    check_output_folder,
    file_name_problem,
    remove_run_folder,
    run_folder_name,
)
from forecastab.experiments.runner import (
    _unmark_corrupt_runs,
    is_complete,
    plan_grid,
    record_run,
    run_experiment,
)

RULE = "use letters, digits, '_', '-' or '.'"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("/tmp/x", "contains '/' (a name is one folder name, never a path)"),
        ("../x", "contains '/' (a name is one folder name, never a path)"),
        ("D/v", "contains '/' (a name is one folder name, never a path)"),
        ("a\\b", "contains '\\\\' (a name is one folder name, never a path)"),
        ("C:x", "contains ':' (a name is one folder name, never a path)"),
        ("..", "is '..', which names a folder, not a new one"),
        (".", "is '.', which names a folder, not a new one"),
        ("", "is empty"),
        ("CON", "'CON' is a reserved device name on Windows"),
        ("nul.txt", "'nul.txt' is a reserved device name on Windows"),
        ("a\x00b", "contains the control character '\\x00'"),
        ("tab\there", "contains the control character '\\t'"),
        ("line\nbreak", "contains the control character '\\n'"),
        (" lead", "starts or ends with a space or ends with '.'"),
        ("dot.", "starts or ends with a space or ends with '.'"),
        ("x" * 101, "is 101 characters long; at most 100"),
    ],
)
def test_unsafe_names_are_refused_with_the_rule(name: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        check_file_name(name, "baselines[0].label")
    assert str(raised.value) == f"baselines[0].label: {name!r} {problem}; {RULE}"
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("name", ["arima210", "ARIMA(2,1,0)", "gru-64.v2", "naïve", "a b"])
def test_ordinary_names_pass(name: str) -> None:
    assert check_file_name(name, "models[0].name") == name


@pytest.mark.parametrize(
    ("where", "key"),
    [
        (lambda c, bad: c.update(name=bad), "name"),
        (lambda c, bad: c["models"][0].update(name=bad), "models[0].name"),
        (lambda c, bad: c["strategies"][1].update(name=bad), "strategies[1].name"),
        (
            lambda c, bad: c.update(baselines=["naive", {"name": "naive", "label": bad}]),
            "baselines[1].label",
        ),
    ],
)
@pytest.mark.parametrize("bad", ["/abs/path", "..", "D/v", "CON", ""])
def test_every_name_that_becomes_a_path_is_checked_when_read(
    make_config: Callable[..., dict], where: Callable[[dict, str], None], key: str, bad: str
) -> None:
    config = make_config()
    where(config, bad)
    with pytest.raises(ConfigError) as raised:
        validate_config(config)
    assert str(raised.value).startswith(f"{key}: ") and RULE in str(raised.value)


def test_label_repro_leaves_the_folder_outside_out_intact(
    tmp_path: Path,
    make_config: Callable[..., dict],
    config_file: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The issue's repro: a folder D/v__baseline anywhere on disk and label D/v (or ../../D/v)."""
    victim = tmp_path / "D" / "v__baseline"
    victim.mkdir(parents=True)
    (victim / "x").write_text("precious")
    out = tmp_path / "out"
    for label in ["D/v", str(tmp_path / "D" / "v"), "../../D/v"]:
        config = make_config(baselines=[{"name": "naive", "label": label}])
        status = cli.main(["run", str(config_file(config)), "--out", str(out), "--quiet"])
        assert status == 2
        err = capsys.readouterr().err
        assert err.startswith("forecastab: error: ") and err.count("\n") == 1
        assert "baselines[0].label" in err and RULE in err
    assert (victim / "x").read_text() == "precious"
    assert not (out / "runs").exists()  # refused before anything was created


def test_record_run_never_removes_outside_out(tmp_path: Path) -> None:
    victim = tmp_path / "D" / "v__baseline"
    victim.mkdir(parents=True)
    (victim / "x").write_text("precious")
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    escaping = out / "runs" / ".." / ".." / "D" / "v__baseline"
    for run_dir, root in [(escaping, out), (victim, out), (escaping, None)]:
        with pytest.raises(ConfigError, match="refusing to remove"):
            record_run(run_dir, "config\n", lambda: None, root)
    assert (victim / "x").read_text() == "precious"


def test_links_are_removed_as_links_never_followed(
    tmp_path: Path, make_config: Callable[..., dict]
) -> None:
    victim = tmp_path / "elsewhere"
    victim.mkdir()
    (victim / "x").write_text("precious")
    config = validate_config(make_config(strategies=make_config()["strategies"][:1]))
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    # an unfinished run folder that is a link, and one that holds a link to a folder outside
    os.symlink(victim, out / "runs" / "naive__baseline")
    (out / "runs" / "gru__tf__seed0").mkdir()
    os.symlink(victim, out / "runs" / "gru__tf__seed0" / "inner")
    result = run_experiment(config, out, progress=False)
    assert sorted(o.status for o in result.outcomes) == ["done", "done"]
    assert (victim / "x").read_text() == "precious"
    assert not (out / "runs" / "naive__baseline").is_symlink()
    assert not (out / "runs" / "gru__tf__seed0" / "inner").exists()


def test_a_runs_folder_that_is_a_link_is_refused(
    tmp_path: Path, make_config: Callable[..., dict]
) -> None:
    victim = tmp_path / "elsewhere"
    (victim / "naive__baseline").mkdir(parents=True)
    (victim / "naive__baseline" / "x").write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(victim, out / "runs")
    with pytest.raises(ConfigError, match="is a link or not a folder"):
        run_experiment(validate_config(make_config()), out, progress=False)
    assert (victim / "naive__baseline" / "x").read_text() == "precious"


def test_remove_run_folder_removes_an_unfinished_folder_inside_out(tmp_path: Path) -> None:
    run_dir = tmp_path / "out" / "runs" / "gru__tf__seed0"
    (run_dir / "logs").mkdir(parents=True)
    (run_dir / "logs" / "metrics.csv").write_text("x")
    remove_run_folder(run_dir, tmp_path / "out")
    assert not run_dir.exists() and (tmp_path / "out" / "runs").is_dir()


def test_run_folder_names_are_injective_and_short() -> None:
    """W1: model ``a__b`` + strategy ``c`` and model ``a`` + strategy ``b__c`` shared a folder;
    U1: long legal names made a folder name past 100 characters, which aborted the grid."""
    pairs = [
        ("a__b", "c"), ("a", "b__c"), ("a_", "b"), ("a", "_b"), ("a", "b"), ("a_b", "c"),
        ("x" * 100, "y" * 100), ("x" * 100, "y" * 99 + "z"), ("x" * 99, "y" * 100),
    ]
    names = [run_folder_name([m, s], suffix="seed0") for m, s in pairs]
    assert len(set(names)) == len(names)
    assert all(file_name_problem(name) is None for name in names)
    assert names[4] == "a__b__seed0" and names[5] == "a_b__c__seed0"  # plain names unchanged
    baselines = [run_folder_name([label], prefix="H24", suffix="baseline") for label in
                 ("naive", "n" * 100, "n" * 99 + "m")]
    assert baselines[0] == "H24__naive__baseline" and len(set(baselines)) == 3
    assert all(file_name_problem(name) is None for name in baselines)


def test_colliding_names_get_two_folders_in_the_grid(
    tmp_path: Path, make_config: Callable[..., dict]
) -> None:
    config = make_config(
        models=[{"name": "a__b", "type": "rnn", "hidden_size": 4},
                {"name": "a", "type": "rnn", "hidden_size": 4}],
        strategies=[{"name": name, "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}
                    for name in ("c", "b__c")],
    )
    cells = plan_grid(validate_config(config), tmp_path)
    assert len({cell.run_dir for cell in cells}) == len(cells) == 4


def test_a_strategy_named_baseline_is_refused(make_config: Callable[..., dict]) -> None:
    """W2: it was listed under Baselines and duplicated the baselines' rows."""
    config = make_config(
        strategies=[{"name": "baseline", "teacher_forcing": {"schedule": "constant", "ratio": 1}}]
    )
    with pytest.raises(ConfigError, match=r"strategies\[0\].name: 'baseline' is reserved"):
        validate_config(config)


def test_an_output_folder_with_user_files_is_refused(
    tmp_path: Path, make_config: Callable[..., dict], config_file: Callable[..., Path], capsys
) -> None:
    """W6: ``run cfg --out .`` overwrote the user's own config.yaml and summary.md."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("my own notes\n")
    (mine / "summary.md").write_text("my summary\n")
    cfg = config_file(make_config())
    assert cli.main(["run", str(cfg), "--out", str(mine), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "already holds files forecastab did not write (config.yaml, summary.md)" in err
    assert (mine / "config.yaml").read_text() == "my own notes\n"
    assert sorted(p.name for p in mine.iterdir()) == ["config.yaml", "summary.md"]
    assert cli.main(["run", str(cfg), "--out", "", "--quiet"]) == 2
    assert "argument --out: an empty folder name" in capsys.readouterr().err
    check_output_folder(tmp_path / "missing")  # new, empty or forecastab's own: accepted
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / "grid.txt").write_text("x\n")
    (tmp_path / "ours" / "summary.md").write_text("x\n")
    check_output_folder(tmp_path / "ours")


def test_a_linked_run_folder_never_loses_an_outside_done(tmp_path: Path) -> None:
    """S4: ``runs/X`` linked to an outside folder with DONE and an unreadable metrics.csv."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "DONE").write_text("mine\n")
    (outside / "metrics.csv").write_bytes(b"\xff\xfe not csv")
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    (out / "runs" / "gru__tf__seed0").symlink_to(outside)
    _unmark_corrupt_runs(out)
    assert not is_complete(out / "runs" / "gru__tf__seed0")  # a link is never a finished run
    outcome = record_run(out / "runs" / "gru__tf__seed0", "x: 1\n", lambda: None, out)
    assert outcome.status == "done"
    assert (outside / "DONE").read_text() == "mine\n"
    assert sorted(p.name for p in outside.iterdir()) == ["DONE", "metrics.csv"]
    assert not (out / "runs" / "gru__tf__seed0").is_symlink()
