"""Naive, seasonal naive, drift and mean against slow obvious loops and by-hand formulas."""

from __future__ import annotations

import numpy as np
import pytest

from forecastab.baselines import Drift, Mean, Naive, SeasonalNaive
from forecastab.errors import ConfigError, DataError


@pytest.fixture
def values() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(200, 3)).cumsum(axis=0)  # (T, C)


ORIGINS = np.array([60, 61, 99, 150, 199 - 13, 75])  # unsorted on purpose


@pytest.mark.parametrize("season_length", [1, 7, 12, 24])
def test_seasonal_naive_matches_a_slow_loop(values: np.ndarray, season_length: int) -> None:
    horizon = 13
    model = SeasonalNaive(season_length=season_length).fit(values, 100)
    fast = model.predict_origins(values, ORIGINS, context_length=30, horizon=horizon)
    slow = np.empty_like(fast)
    for i, t in enumerate(ORIGINS):
        for h in range(1, horizon + 1):
            row = t + h
            while row > t:  # step back whole seasons until the row is observed
                row -= season_length
            slow[i, h - 1] = values[row]
    np.testing.assert_array_equal(fast, slow)


def test_seasonal_naive_of_one_is_naive(values: np.ndarray) -> None:
    seasonal = SeasonalNaive(season_length=1).predict_origins(
        values, ORIGINS, context_length=5, horizon=4
    )
    naive = Naive().predict_origins(values, ORIGINS, context_length=5, horizon=4)
    np.testing.assert_array_equal(seasonal, naive)


def test_naive_repeats_the_origin_value(values: np.ndarray) -> None:
    predictions = Naive().predict_origins(values, ORIGINS, context_length=5, horizon=4)
    assert predictions.shape == (len(ORIGINS), 4, 3)
    for i, t in enumerate(ORIGINS):
        np.testing.assert_array_equal(predictions[i], np.tile(values[t], (4, 1)))


def test_drift_by_hand(values: np.ndarray) -> None:
    predictions = Drift().predict_origins(values, ORIGINS, context_length=5, horizon=4)
    for i, t in enumerate(ORIGINS):
        for h in range(1, 5):
            expected = values[t] + h * (values[t] - values[0]) / t
            np.testing.assert_allclose(predictions[i, h - 1], expected, rtol=1e-12)


def test_drift_at_origin_zero_is_naive() -> None:
    values = np.array([[3.0], [5.0]])
    np.testing.assert_array_equal(
        Drift().predict_origins(values, [0], context_length=1, horizon=2)[0, :, 0], [3.0, 3.0]
    )


def test_mean_by_hand(values: np.ndarray) -> None:
    predictions = Mean().predict_origins(values, ORIGINS, context_length=5, horizon=3)
    for i, t in enumerate(ORIGINS):
        np.testing.assert_allclose(predictions[i], np.tile(values[: t + 1].mean(axis=0), (3, 1)))


def test_uses_nothing_after_the_origin(values: np.ndarray) -> None:
    changed = values.copy()
    changed[101:] = 1e6
    for model in (Naive(), SeasonalNaive(season_length=7), Drift(), Mean()):
        a = model.predict_origins(values, [100], context_length=10, horizon=5)
        b = model.predict_origins(changed, [100], context_length=10, horizon=5)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda v: SeasonalNaive().predict_origins(v, [50], context_length=5, horizon=2),
            ConfigError,
            "seasonal_naive needs a season_length; give it in the spec, e.g. "
            "{name: seasonal_naive, season_length: 24}, or use data with a known frequency",
        ),
        (
            lambda v: SeasonalNaive(season_length=24).predict_origins(
                v, [10], context_length=5, horizon=2
            ),
            DataError,
            "seasonal_naive with season_length 24 needs origins >= 23, got 10",
        ),
        (
            lambda v: Naive().predict_origins(v, [3], context_length=5, horizon=2),
            DataError,
            "origin 3 has only 4 rows of context but context_length is 5; use origins >= 4",
        ),
        (
            lambda v: Naive().predict_origins(v, [200], context_length=5, horizon=2),
            DataError,
            "origin 200 is past the last row 199 of the series",
        ),
        (
            lambda v: Naive().predict_origins(v[:, 0], [50], context_length=5, horizon=2),
            DataError,
            "values must be a (T, C) array of rows x target columns, got shape (200,); "
            "reshape a single series with values[:, None]",
        ),
        (
            lambda v: Naive().predict_origins(
                v, [50], context_length=5, horizon=2, mode="teacher_forced"
            ),
            ConfigError,
            "baseline 'naive' supports only mode 'free_running', not 'teacher_forced'; "
            "evaluate baselines with modes=('free_running',)",
        ),
        (
            lambda v: SeasonalNaive(season_length=0),
            ConfigError,
            "season_length must be a positive integer or null, got 0",
        ),
    ],
    ids=[
        "no-season",
        "short-history",
        "short-context",
        "past-end",
        "1d",
        "teacher-forced",
        "season-0",
    ],
)
def test_bad_input(values: np.ndarray, call, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        call(values)
    assert str(caught.value) == message


def test_interface_attributes() -> None:
    for model in (Naive(), SeasonalNaive(season_length=3), Drift(), Mean()):
        assert model.supported_modes == ("free_running",)
        assert model.failed is None
        assert model.is_baseline
