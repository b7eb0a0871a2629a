"""baseline_from_spec: the YAML entries of the design, and exact errors for bad ones."""

from __future__ import annotations

import pytest

from forecastab.baselines import (
    ARIMA,
    BASELINES,
    ETS,
    SARIMAX,
    Drift,
    Mean,
    Naive,
    SeasonalNaive,
    Theta,
    baseline_from_spec,
)
from forecastab.errors import ConfigError


@pytest.mark.parametrize(
    ("spec", "cls", "attributes"),
    [
        ("naive", Naive, {}),
        ("seasonal_naive", SeasonalNaive, {"season_length": None}),
        ("drift", Drift, {}),
        ("mean", Mean, {}),
        ("arima", ARIMA, {"order": None, "criterion": "aic", "refit_every": None}),
        ({"name": "arima", "order": [2, 1, 0]}, ARIMA, {"order": (2, 1, 0)}),
        ({"name": "seasonal_naive", "season_length": 11}, SeasonalNaive, {"season_length": 11}),
        (
            {"name": "sarimax", "order": [1, 0, 0], "seasonal_order": [1, 0, 0, 24]},
            SARIMAX,
            {"order": (1, 0, 0), "seasonal_order": (1, 0, 0, 24)},
        ),
        (
            {"name": "ets", "trend": "add", "seasonal": None},
            ETS,
            {"trend": "add", "seasonal": None},
        ),
        ({"name": "theta"}, Theta, {"theta": 2.0, "season_length": None}),
        (
            {"name": "arima", "refit_every": 10, "n_jobs": 2},
            ARIMA,
            {"refit_every": 10, "n_jobs": 2},
        ),
    ],
)
def test_good_specs(spec, cls, attributes: dict) -> None:
    baseline = baseline_from_spec(spec)
    assert type(baseline) is cls
    assert baseline.name == (spec if isinstance(spec, str) else spec["name"])
    for key, value in attributes.items():
        assert getattr(baseline, key) == value


def test_the_data_season_length_fills_in_but_never_overrides() -> None:
    assert baseline_from_spec("seasonal_naive", season_length=24).season_length == 24
    spec = {"name": "seasonal_naive", "season_length": 11}
    assert baseline_from_spec(spec, season_length=24).season_length == 11
    assert baseline_from_spec("theta", season_length=12).season_length == 12
    assert not hasattr(baseline_from_spec("naive", season_length=12), "season_length")


def test_every_registered_name_builds() -> None:
    assert sorted(BASELINES) == [
        "arima",
        "drift",
        "ets",
        "holt_winters",
        "mean",
        "naive",
        "sarimax",
        "seasonal_naive",
        "theta",
    ]
    for name in BASELINES:
        assert baseline_from_spec(name, season_length=12).name == name


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "seasonal_naiv",
            "unknown baseline 'seasonal_naiv' (did you mean 'seasonal_naive'?); valid: arima, drift, "
            "ets, holt_winters, mean, naive, sarimax, seasonal_naive, theta",
        ),
        (
            {"name": "arima", "ordr": [1, 0, 0]},
            "unknown arima key 'ordr' (did you mean 'order'?); valid: criterion, max_order, n_jobs, "
            "order, progress, refit_every, trend",
        ),
        (
            {"name": "theta", "refit_every": 5},
            "unknown theta key 'refit_every'; valid: method, n_jobs, progress, season_length, theta",
        ),
        (
            {"order": [1, 0, 0]},
            "baseline {'order': [1, 0, 0]} has no 'name'; write e.g. {name: arima, order: [2, 1, 0]}",
        ),
        (
            ["arima"],
            "a baseline must be a name or a mapping with a 'name', got ['arima']; "
            "write e.g. arima or {name: arima, order: [2, 1, 0]}",
        ),
        (
            {"name": "arima", "order": [1, 0]},
            "order must be a list of 3 non-negative integers, got [1, 0]",
        ),
        (
            {"name": "seasonal_naive", "season_length": "daily"},
            "season_length must be a positive integer or null, got 'daily'",
        ),
    ],
    ids=["name", "key", "theta-no-refit", "no-name", "list", "order", "season"],
)
def test_bad_specs(spec, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        baseline_from_spec(spec)
    assert str(caught.value) == message
