"""``results.csv`` read back with a schema check, and appended one run at a time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from forecastab import cli
from forecastab.errors import DataError
from forecastab.experiments import report


def results_table(models: tuple[str, ...] = ("gru",), horizon: int = 3) -> pd.DataFrame:
    """A small valid results table: one free-running RMSE series per model."""
    rows = [
        {"dataset": "d", "model": model, "strategy": "tf", "seed": 0, "mode": "free_running",
         "target": "y", "step": step, "metric": "rmse", "value": 0.1 * step + len(model)}
        for model in models
        for step in range(1, horizon + 1)
    ]
    return pd.DataFrame(rows)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_reads_back_unchanged(tmp_path: Path) -> None:
    text = report.results_csv(results_table(("gru", "lstm")))
    path = write(tmp_path / "results.csv", text)
    assert report.results_csv(report.read_results(path)) == text


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda t: t[:-3], "is cut short (its last line has no line end)"),
        (lambda t: "\n".join(t.splitlines()[:-1]) + "\n", "is incomplete: the series (d, lstm"),
        (lambda t: t + t.splitlines()[-1] + "\n", "repeats the row at line"),
        (lambda t: t.replace("rmse", "/../../../x/PWNED", 1), "has the metric '/../../../x/PWNED'"),
        (lambda t: t.replace("free_running", "", 1), "has the mode '' at line 2"),
        (lambda t: "a,b\n1,2\n", "lacks the column(s) dataset, model"),
        (lambda t: t.replace(",1,rmse", ",0,rmse", 1), "has the step 0 at line 2; steps count from 1"),
    ],
)
def test_a_truncated_or_foreign_file_is_an_error_naming_it(tmp_path: Path, cut, message) -> None:
    """W3: a cut value like ``0.17627738`` used to be summarised with exit 0."""
    text = report.results_csv(results_table(("gru", "lstm")))
    path = write(tmp_path / "results.csv", cut(text))
    with pytest.raises(DataError, match="results.csv") as raised:
        report.read_results(path)
    assert message in str(raised.value)


def test_report_plot_and_compare_refuse_a_truncated_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    text = report.results_csv(results_table())
    write(out / "results.csv", text[:-4])
    for command in ("report", "plot", "compare"):
        assert cli.main([command, str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "results.csv' is cut short" in err[0], (command, err)
    assert not (out / "summary.md").exists()


def test_append_results_adds_one_run_and_the_rebuild_sorts(tmp_path: Path) -> None:
    """H4: a finished run's rows are appended, not the whole file rebuilt."""
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write(first, report.results_csv(results_table(("lstm",))))
    write(second, report.results_csv(results_table(("gru",))))
    report.append_results(tmp_path, first)  # no results.csv yet: written whole
    report.append_results(tmp_path, second)
    appended = (tmp_path / "results.csv").read_text()
    assert appended.count("dataset,model") == 1 and appended.index("lstm") < appended.index("gru")
    assembled = report.assemble_results([first, second])
    assert report.results_csv(report.read_results(tmp_path / "results.csv")) == report.results_csv(
        assembled
    )
    assert report.write_results(tmp_path, assembled)  # the rebuild at the end sorts
    assert (tmp_path / "results.csv").read_text().index("gru") < appended.index("gru") + 1
