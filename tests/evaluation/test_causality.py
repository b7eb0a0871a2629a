"""Change the future, the forecast does not change: every forecaster is causal.

``evaluate`` hands each forecaster the whole series and the origins; nothing but the
forecaster itself keeps a forecast from origin ``t`` away from ``values[t+1:]``. This runs the
same check over every network type and every registered baseline: the forecast from an origin
is identical when everything after that origin is replaced by something else.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from network_specs import NETWORK_SPECS

from forecastab.baselines import BASELINES, baseline_from_spec
from forecastab.baselines.registry import baseline_keys
from forecastab.models import model_from_spec
from forecastab.models.lightning import NETWORK_CONFIGS

L, H, T, TRAIN_STOP = 16, 6, 160, 110
ORIGINS = np.array([115, 130, 145])

BASELINE_SPECS = {
    **{name: {"name": name} for name in BASELINES},
    "arima_refit": {"name": "arima", "order": [1, 0, 0], "refit_every": 1},
    "holt_winters_seasonal": {"name": "holt_winters", "seasonal": "add", "season_length": 12},
}


def test_every_forecaster_kind_is_listed():
    # A new network type or baseline must join the causality check below.
    assert {spec["type"] for spec in NETWORK_SPECS.values()} == set(NETWORK_CONFIGS)
    assert {spec["name"] for spec in BASELINE_SPECS.values()} == set(BASELINES)


@pytest.fixture(scope="module")
def series() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(T)
    return (np.sin(2 * np.pi * t / 12) + 0.01 * t + 0.2 * rng.normal(size=T))[:, None]  # (T, 1)


def changed_after(values: np.ndarray, origin: int) -> np.ndarray:
    """The same series up to ``origin``; a different, larger and noisier future after it."""
    changed = values.copy()
    rng = np.random.default_rng(origin)
    changed[origin + 1 :] = 50.0 + 10.0 * rng.normal(size=changed[origin + 1 :].shape)
    return changed


def assert_causal(forecaster, values: np.ndarray) -> None:
    reference = forecaster.predict_origins(values, ORIGINS, context_length=L, horizon=H)
    assert np.isfinite(reference).all()
    for i, origin in enumerate(ORIGINS):
        changed = changed_after(values, origin)
        forecast = forecaster.predict_origins(changed, ORIGINS, context_length=L, horizon=H)
        np.testing.assert_allclose(forecast[i], reference[i], rtol=1e-6, atol=1e-6)
        if i + 1 < len(ORIGINS):  # the check itself can fail: later origins do see the change
            assert not np.allclose(forecast[i + 1 :], reference[i + 1 :])


@pytest.mark.parametrize("name", sorted(NETWORK_SPECS))
def test_networks_ignore_the_future(series, name):
    torch.manual_seed(0)
    model = model_from_spec(
        {"name": name, **NETWORK_SPECS[name]}, context_length=L, horizon=H, n_targets=1
    )
    assert_causal(model, series.astype(np.float32))


@pytest.mark.parametrize("name", sorted(BASELINE_SPECS))
def test_baselines_ignore_the_future(series, name):
    spec = dict(BASELINE_SPECS[name])
    if "progress" in baseline_keys(BASELINES[spec["name"]]):
        spec["progress"] = False
    baseline = baseline_from_spec(spec, season_length=12)
    baseline.fit(series, TRAIN_STOP)
    assert_causal(baseline, series)
