"""Fan chart and calibration chart: drawn from real arrays, bad shapes are one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecastab.errors import DataError
from forecastab.plotting import plot_calibration, plot_fan_chart, save_figure


def test_fan_chart_draws_nested_bands(tmp_path):
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(5, 200, 8)).cumsum(axis=2)  # (N, S, H)
    fig = plot_fan_chart(rng.normal(size=(5, 12)), rng.normal(size=(5, 8)), samples, n=2)
    bands = [c for c in fig.axes[0].collections]
    assert len(bands) == 2  # the 90% and the 50% band
    outer, inner = (b.get_paths()[0].get_extents() for b in bands)
    assert outer.height > inner.height
    assert save_figure(fig, tmp_path / "fan.png").stat().st_size > 1000


def test_fan_chart_rejects_mismatched_shapes():
    with pytest.raises(DataError, match="must share origins"):
        plot_fan_chart(np.zeros((3, 4)), np.zeros((3, 5)), np.zeros((3, 10, 6)))


def test_calibration_chart_has_a_panel_per_metric_group_and_nominal_lines(tmp_path):
    rows = [
        {"dataset": "d", "model": "gru", "strategy": "tf", "seed": 0, "mode": "free_running",
         "step": step, "metric": metric, "value": value}
        for step in (1, 2, 3)
        for metric, value in (("crps", 0.1 * step), ("coverage_90", 0.9), ("coverage_50", 0.5),
                              ("path_coverage_90", 0.9**step), ("coverage_product_90", 0.9**step))
    ]  # fmt: skip
    fig = plot_calibration(pd.DataFrame(rows))
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3
    nominal = [line.get_ydata()[0] for line in fig.axes[1].get_lines() if line.get_linestyle() == ":"]
    assert sorted(nominal) == [0.5, 0.9]
    assert save_figure(fig, tmp_path / "calibration.png").stat().st_size > 1000
    with pytest.raises(DataError, match="no probabilistic metric"):
        plot_calibration(pd.DataFrame(rows).assign(metric="rmse"))


def test_pit_histogram_draws_the_chosen_steps_with_a_flat_reference():
    import matplotlib.pyplot as plt

    from forecastab.errors import DataError
    from forecastab.plotting import plot_pit_histogram

    pit = np.random.default_rng(0).uniform(size=(200, 7))
    fig = plot_pit_histogram(pit, bins=5, label="gru/tf")
    try:
        axes = fig.axes
        assert [ax.get_title() for ax in axes] == [
            "step 1 (200 outcomes)", "step 4 (200 outcomes)", "step 7 (200 outcomes)"
        ]  # fmt: skip
        heights = [patch.get_height() for patch in axes[0].patches if patch.get_width() == 0.2]
        expected = np.histogram(pit[:, 0], bins=5, range=(0, 1))[0] / 200 * 5
        np.testing.assert_allclose(heights, expected)
        assert any(line.get_ydata()[0] == 1.0 for line in axes[0].lines)  # the flat reference
    finally:
        plt.close(fig)
    with pytest.raises(DataError, match=r"steps \[9\] must lie in 1..7"):
        plot_pit_histogram(pit, steps=[9])
