"""README.md: the notebook-sized snippet runs exactly as printed, and the two commands stay first."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_snippet() -> str:
    text = README.read_text()
    match = re.search(r"<!-- readme-snippet -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md lost its <!-- readme-snippet --> python block"
    return match.group(1)


def test_first_code_block_holds_exactly_the_two_commands():
    first = re.search(r"```[a-z]*\n(.*?)```", README.read_text(), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_readme_snippet_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_snippet(), "README.md", "exec"), namespace)
    assert namespace["forecast"].shape == (8, 24, 1)
    table = namespace["result"].table
    assert set(table["mode"]) == {"free_running", "teacher_forced"}
    assert (tmp_path / "horizon_error.png").stat().st_size > 10_000
    assert "free_running" in capsys.readouterr().out
    plt.close("all")
