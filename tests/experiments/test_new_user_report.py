"""What a new user reads: the trend hint in summary.md, the CRPS headline of a probabilistic
run, the units of a paired comparison, and charts that stay readable (dates on fan charts,
whole-step ticks and visible identical lines on the calibration chart, a grouped legend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from forecastab.experiments.comparisons import comparison_markdown
from forecastab.experiments.config import ExperimentConfig
from forecastab.experiments.report import summary_markdown
from forecastab.experiments.runner import run_experiment
from forecastab.plotting import plot_grid
from forecastab.plotting.probabilistic import plot_calibration, plot_fan_chart

HINT = "Test level outside the training range"


def _trend_run(folder: Path, slope: float) -> str:
    """A monthly series with a linear trend (slope per month) and a yearly season; GRU with and
    without per-window normalization, 5 epochs; returns summary.md."""
    steps = np.arange(240)
    rng = np.random.default_rng(0)
    values = 100 + slope * steps + 10 * np.sin(2 * np.pi * steps / 12) + rng.standard_normal(240)
    dates = pd.date_range("2000-01-01", periods=240, freq="MS")
    pd.DataFrame({"date": dates, "y": values}).to_csv(folder / "series.csv", index=False)
    config = {
        "name": "trend",
        "data": {"source": str(folder / "series.csv"), "target": "y", "time_column": "date",
                 "context_length": 24, "horizon": 12,
                 "split": {"train": 0.6, "val": 0.1, "test": 0.3}, "batch_size": 32},
        "models": [
            {"name": "gru", "type": "rnn", "hidden_size": 16},
            {"name": "gru_revin", "type": "rnn", "hidden_size": 16, "normalization": "revin"},
        ],
        "strategies": [
            {"name": "teacher_forcing", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}
        ],
        "seeds": [0],
        "trainer": {"max_epochs": 5, "accelerator": "cpu"},
        "evaluation": {"modes": ["free_running"], "metrics": ["rmse"]},
    }
    result = run_experiment(ExperimentConfig.model_validate(config), folder / "out", progress=False)
    assert not result.failed
    return (folder / "out" / "summary.md").read_text(encoding="utf-8")


def test_trend_outside_the_training_range_suggests_revin(tmp_path: Path) -> None:
    summary = _trend_run(tmp_path, slope=0.5)
    (hint,) = [line for line in summary.splitlines() if HINT in line]
    assert "`gru` (trained with `teacher_forcing`)" in hint  # the network without normalization
    assert "normalization: revin" in hint and "of the test values of `y`" in hint
    assert "gru_revin" not in hint  # it already normalizes per window


def test_stationary_series_gets_no_hint(tmp_path: Path) -> None:
    assert HINT not in _trend_run(tmp_path, slope=0.0)


def _rows(metric: str, model: str, strategy: str, values) -> list[dict]:
    return [
        {"dataset": "d", "model": model, "strategy": strategy, "seed": 0, "mode": "free_running",
         "target": "y", "step": step, "metric": metric, "value": value}
        for step, value in enumerate(values, start=1)
    ]


def test_probabilistic_headline_is_crps() -> None:
    table = pd.DataFrame(
        _rows("rmse", "gru", "teacher_forcing", [1.0, 2.0]) + _rows("crps", "gru", "teacher_forcing", [0.5, 0.7])
        + _rows("rmse", "arima", "baseline", [1.5, 2.5]) + _rows("crps", "arima", "baseline", [0.6, 0.9])
    )
    text = summary_markdown(table, title="p")
    assert "**The answer on d** (CRPS):" in text
    assert "CRPS 0.6; it beats the best baseline, `arima`, 0.75" in text


def test_mean_difference_names_its_units() -> None:
    rows = pd.DataFrame({
        "dataset": "d", "model": "gru", "strategy": "free_running", "reference": "teacher_forcing",
        "seed": "all", "step": [1, 2], "metric": "mse", "mean_difference": [530.0, 531.0],
        "lower": 0.0, "upper": 1.0, "statistic": 1.0, "p_value": 0.5, "p_holm": 0.5,
        "n_seeds": 1,
    })
    text = comparison_markdown(rows)
    assert "530.5 (squared units)" in text and "MSE, not an RMSE" in text


def test_fan_chart_draws_dates_when_given() -> None:
    rng = np.random.default_rng(0)
    index = pd.date_range("2001-01-01", periods=40, freq="D")
    times = [index[i : i + 8] for i in range(3)]  # L 5 + H 3 per origin
    fig = plot_fan_chart(rng.random((3, 5)), rng.random((3, 3)), rng.random((3, 20, 3)), n=3,
                         times=times)
    ax = fig.axes[0]
    plt.close(fig)
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    middle = mdates.num2date(sum(ax.get_xlim()) / 2)
    assert (middle.year, middle.month) == (2001, 1)


def test_calibration_chart_has_whole_steps_and_shows_identical_lines() -> None:
    rows = []
    for model in ("gru_a", "gru_b"):  # identical numbers: both must stay visible
        rows += _rows("crps", model, "teacher_forcing", [0.2, 0.25, 0.3])
        rows += _rows("coverage_90", model, "teacher_forcing", [0.9, 0.88, 0.86])
    fig = plot_calibration(pd.DataFrame(rows))
    ax = fig.axes[0]
    fig.canvas.draw()
    plt.close(fig)
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) == 3]
    assert len({line.get_marker() for line in lines}) == 2
    assert len({line.get_linewidth() for line in lines}) == 2  # the one below is wider
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_crowded_grid_groups_its_legend() -> None:
    rows = []
    for target in ("OT", "HUFL"):
        for model in ("gru", "transformer"):
            for strategy in ("teacher_forcing", "free_running"):
                for mode in ("free_running", "teacher_forced"):
                    rows += [dict(r, target=target, mode=mode)
                             for r in _rows("rmse", model, strategy, np.linspace(1, 2, 12))]
        for baseline in ("naive", "seasonal_naive"):
            rows += [dict(r, target=target) for r in _rows("rmse", baseline, "baseline", [1.5] * 12)]
    fig = plot_grid(pd.DataFrame(rows), by="target")
    (legend,) = fig.legends
    plt.close(fig)
    texts = [text.get_text() for text in legend.get_texts()]
    assert legend._ncols == 2
    left, right = texts[: len(texts) // 2], texts[len(texts) // 2 :]
    assert all("trained with" in text for text in left if text)
    assert not any("trained with" in text for text in right)


@pytest.mark.parametrize("argv", [["datasets", "--help"]])
def test_datasets_help_has_a_description(argv, capsys) -> None:
    from forecastab.cli import main

    with pytest.raises(SystemExit):
        main(argv)
    assert "List the bundled datasets" in capsys.readouterr().out
