"""README.md: the notebook-sized snippet runs exactly as printed, and the two commands stay first."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from forecastab.forecasting import FRAME_COLUMNS

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
    # the forecast frame: the last 24 rows, in original units, equal to the model's forecast
    frame, dm, model = namespace["frame"], namespace["dm"], namespace["model"]
    assert list(frame.columns) == FRAME_COLUMNS
    assert frame["timestamp"].tolist() == dm.series.index[-24:].tolist()
    context = dm.values[-48 - 24 : -24][None]  # (1, L, C) ending at the origin
    expected = dm.scaler.inverse_transform(model.forecast(context))[0, :, 0]  # (H,)
    np.testing.assert_allclose(frame["forecast"], expected, rtol=1e-6)
    np.testing.assert_allclose(frame["actual"], dm.raw_values[-24:, 0])
    assert (tmp_path / "forecast.png").stat().st_size > 10_000
    plt.close("all")


def test_quickstart_excerpt_is_the_real_file():
    page = README.parent / "docs" / "experiments.md"
    match = re.search(r"<!-- quickstart-yaml -->\s*```yaml\n(.*?)```", page.read_text(), re.S)
    assert match, "docs/experiments.md lost its <!-- quickstart-yaml --> block"
    real = (README.parent / "experiments" / "quickstart" / "quickstart.yaml").read_text()
    assert match.group(1) == real, "the quickstart excerpt differs from the file; copy it"
