"""D_stsp and D_H: small for two stretches of one attractor, large for a collapse."""

from __future__ import annotations

import numpy as np
import pytest

from forecastab.data.synthetic import lorenz
from forecastab.evaluation.long_run import (
    delay_embedding,
    power_spectrum_distance,
    state_space_divergence,
)


@pytest.fixture(scope="module")
def stretches() -> tuple[np.ndarray, np.ndarray]:
    x = lorenz(40000, seed=0)["x"].to_numpy()
    return x[:20000], x[20000:]  # two long stretches of the same Lorenz series


def test_same_attractor_is_close_and_a_collapse_is_far(stretches):
    # default settings (30 bins per embedded dimension): two 20,000-point stretches of one
    # attractor are close; a fixed point and a sine are far
    first, second = stretches
    t = np.arange(20000)
    fixed_point = np.full(20000, 7.5) + 1e-3 * np.random.default_rng(0).normal(size=20000)
    sine = first.std() * np.sqrt(2) * np.sin(2 * np.pi * t / 40)
    assert state_space_divergence(first, second) < 0.5
    assert power_spectrum_distance(first, second) < 0.1
    for collapsed in (fixed_point, sine):
        assert state_space_divergence(first, collapsed) > 5
        assert power_spectrum_distance(first, collapsed) > 0.3


def test_histogram_estimate_is_biased_upward_on_short_stretches(stretches):
    # the same attractor from 2,000 points a side: most of the 27,000 bins are empty, and the
    # estimate is far from 0 (about 3); this is why long runs should be long
    first, second = stretches
    assert state_space_divergence(first[:2000], second[:2000]) > 1.0


def test_histogram_divergence_by_hand():
    # 1-D, 2 bins over [min - 0.1 sd, max + 0.1 sd]: truth half in each bin, run all in one.
    true = np.array([0.0, 0.0, 1.0, 1.0])
    generated = np.array([0.0, 0.0, 0.0, 0.0])
    alpha = 1e-5
    p = (np.array([2.0, 2.0]) + alpha) / (4 + 2 * alpha)
    q = (np.array([4.0, 0.0]) + alpha) / (4 + 2 * alpha)
    expected = float(np.sum(p * np.log(p / q)))
    got = state_space_divergence(true, generated, n_bins=2, embedding_dimension=1)
    assert got == pytest.approx(expected, rel=1e-12)
    # a run that never visits the true data's range has no estimate: NaN, as documented
    assert np.isnan(
        state_space_divergence(true, np.full(4, 50.0), n_bins=2, embedding_dimension=1)
    )
    # one of four generated points inside, in the first bin: q = (1 + a, a) / (1 + 2 a)
    q_partial = (np.array([1.0, 0.0]) + alpha) / (1 + 2 * alpha)
    partial = state_space_divergence(
        true, np.array([0.0, 50.0, 50.0, 50.0]), n_bins=2, embedding_dimension=1
    )
    assert partial == pytest.approx(float(np.sum(p * np.log(p / q_partial))), rel=1e-12)
    assert partial > 5
    assert np.isnan(state_space_divergence(true, np.array([0.0, np.nan]), embedding_dimension=1))


def test_mixture_estimate_from_six_dimensions():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(800, 6)), rng.normal(size=(800, 6))
    near = state_space_divergence(a, b, mc_samples=400)
    far = state_space_divergence(a, b * 0.05 + 3.0, mc_samples=400)
    assert abs(near) < 0.2 and far > 2.0


def test_power_spectrum_distance_by_hand():
    # No smoothing: spectra of cos at bins 5 and 9 are disjoint deltas, Hellinger distance 1.
    t = np.arange(64)
    a, b = np.cos(2 * np.pi * 5 * t / 64), np.cos(2 * np.pi * 9 * t / 64)
    assert power_spectrum_distance(a, b, smoothing=0) == pytest.approx(1.0)
    assert power_spectrum_distance(a, 3 * a + 1, smoothing=0) == pytest.approx(0.0, abs=1e-12)


def test_delay_embedding_rows():
    assert delay_embedding(np.arange(6.0), dimension=3, lag=2).tolist() == [
        [0.0, 2.0, 4.0],
        [1.0, 3.0, 5.0],
    ]


def test_a_panel_runs_each_series_free_and_adds_the_mean_over_series(tmp_path) -> None:
    from forecastab.baselines import baseline_from_spec
    from forecastab.experiments.config import LongRunConfig
    from forecastab.experiments.long_runs import read_long_runs, record_long_run
    from tests.data.test_panel import long_frame, panel

    data = panel(long_frame({"a": 400, "b": 360, "c": 300}), calendar=["hour"])
    run_dir = tmp_path / "runs" / "naive__baseline"
    run_dir.mkdir(parents=True)
    labels = {"dataset": "long", "model": "naive", "strategy": "baseline", "seed": 0}
    naive = baseline_from_spec("naive").fit(data.series_data("a"))
    row = record_long_run(
        run_dir, naive, data, LongRunConfig(steps=60, chart_steps=60), units="scaled", labels=labels
    )
    assert row["series"].tolist() == ["a", "b", "c", "all"]
    per_series = row[row["series"] != "all"]
    assert np.isfinite(per_series["d_h"]).all()
    np.testing.assert_allclose(row["d_h"].iloc[-1], per_series["d_h"].mean())
    assert (run_dir / "long_run.png").stat().st_size > 5_000
    (run_dir / "DONE").write_text("")
    summary = read_long_runs(tmp_path)
    assert len(summary) == 1 and "series" not in summary.columns  # the aggregate row only
