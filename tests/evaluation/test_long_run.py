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
    x = lorenz(4000, seed=0)["x"].to_numpy()
    return x[:2000], x[2000:]  # two long stretches of the same Lorenz series


def test_same_attractor_is_close_and_a_collapse_is_far(stretches):
    first, second = stretches
    t = np.arange(2000)
    fixed_point = np.full(2000, 7.5) + 1e-3 * np.random.default_rng(0).normal(size=2000)
    sine = first.std() * np.sqrt(2) * np.sin(2 * np.pi * t / 40)
    same = state_space_divergence(first, second, n_bins=10), power_spectrum_distance(first, second)
    assert same[0] < 0.5 and same[1] < 0.1
    for collapsed in (fixed_point, sine):
        assert state_space_divergence(first, collapsed, n_bins=10) > 5
        assert power_spectrum_distance(first, collapsed) > 0.3


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
    assert state_space_divergence(true, np.full(4, 50.0), n_bins=2, embedding_dimension=1) != 0
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
