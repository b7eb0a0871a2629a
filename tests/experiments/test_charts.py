"""Chart files of ``forecastab plot``: names made from results stay inside the folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report import results_table

from forecastab import cli
from forecastab.experiments import report
from forecastab.experiments.charts import chart_name, render_all
from forecastab.experiments.lock import LOCK


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its content (None for folders), links not followed."""
    found: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        found[name] = None if path.is_dir() and not path.is_symlink() else path.read_bytes()
    return found


@pytest.mark.parametrize("metric", ["/../../../x/PWNED", "../up", "a/b", ".hidden", "x" * 200])
def test_chart_names_are_one_component(metric: str, tmp_path: Path) -> None:
    name = chart_name("horizon_error", metric, "rmse")
    assert (tmp_path / name).parent == tmp_path and not name.startswith(".")


def test_a_metric_path_in_results_writes_nothing_outside(tmp_path: Path, capsys) -> None:
    """S2: ``plot`` once built ``horizon_error_/../../../x/PWNED.png`` and its folders."""
    out = tmp_path / "deep" / "er" / "out"
    out.mkdir(parents=True)
    text = report.results_csv(results_table()).replace(",rmse,", ",/../../../x/PWNED,")
    (out / report.RESULTS).write_text(text)
    before = tree(tmp_path)
    assert cli.main(["plot", str(out)]) == 2
    assert "has the metric '/../../../x/PWNED'" in capsys.readouterr().err
    assert tree(tmp_path) == before


def test_plot_with_a_lock_link_keeps_its_target(tmp_path: Path, capsys) -> None:
    """S1 for ``plot``: the stale-file cleanup takes the lock; a link there is never opened."""
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / report.RESULTS).write_text(report.results_csv(results_table()))
    (out / LOCK).symlink_to(outside)
    assert cli.main(["plot", str(out)]) == 0
    assert outside.read_text() == "keep me\n"
    assert (out / "horizon_error.png").is_file()


def test_every_chart_lands_in_the_folder(tmp_path: Path) -> None:
    (tmp_path / report.RESULTS).write_text(report.results_csv(results_table()))
    written = render_all(tmp_path)
    assert written and all(path.parent == tmp_path for path in written)
