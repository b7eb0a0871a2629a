"""The one safe write path: never through a link, never onto a device or FIFO, names kept inside."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from forecastab.errors import ConfigError
from forecastab.files import (
    append_text,
    atomic_write,
    check_write_target,
    file_component,
    open_regular,
)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the folder written to, that nothing may change."""
    path = tmp_path / "outside.txt"
    path.write_text("keep me\n")
    return path


def test_atomic_write_replaces_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")
    atomic_write(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary file left


def test_a_link_is_refused_and_its_target_untouched(tmp_path: Path, outside: Path) -> None:
    link = tmp_path / "out" / "summary.md"
    link.parent.mkdir()
    link.symlink_to(outside)
    with pytest.raises(ConfigError, match="is a symbolic link; forecastab writes only regular"):
        atomic_write(link, "overwritten")
    assert outside.read_text() == "keep me\n" and link.is_symlink()


def test_a_fifo_is_refused_not_replaced(tmp_path: Path) -> None:
    """The issue's ``--out /dev/full``: any non-regular target stays what it was."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="'.*pipe' is a FIFO; forecastab writes only regular"):
        atomic_write(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    with pytest.raises(ConfigError, match="is a folder"):
        check_write_target(tmp_path)


def test_open_regular_refuses_links_and_hard_links(tmp_path: Path, outside: Path) -> None:
    link = tmp_path / ".lock"
    link.symlink_to(outside)
    with pytest.raises(ConfigError, match="is a symbolic link"):
        open_regular(link, os.O_RDWR | os.O_CREAT)
    hard = tmp_path / "hard"
    os.link(outside, hard)
    with pytest.raises(ConfigError, match="another hard link"):
        open_regular(hard, os.O_RDWR)
    assert outside.read_text() == "keep me\n"


def test_append_text_appends_and_refuses_a_link(tmp_path: Path, outside: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_text("a\n")
    append_text(path, "b\n")
    assert path.read_text() == "a\nb\n"
    link = tmp_path / "link.csv"
    link.symlink_to(outside)
    with pytest.raises(ConfigError, match="symbolic link"):
        append_text(link, "b\n")
    assert outside.read_text() == "keep me\n"


@pytest.mark.parametrize(
    "text", ["/../../../x/PWNED", "..", ".", "", "a/b", "a\\b", "a\nb", "x" * 300, ".hidden"]
)
def test_file_component_is_one_name_inside_the_folder(tmp_path: Path, text: str) -> None:
    name = file_component(text)
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert 0 < len(name) <= 100
    assert (tmp_path / name).parent == tmp_path


def test_file_component_keeps_plain_names_and_separates_others() -> None:
    assert file_component("rmse") == "rmse"
    assert file_component("coverage_90") == "coverage_90"
    assert file_component("a/b") != file_component("a-b")  # the hash keeps them apart
    assert file_component("a/b") != file_component("a:b")
