"""Covariates: causal in every network, fed at every decoder step, and worth learning from.

- no past covariate or target after the origin changes a free-running forecast;
- a future covariate at horizon step ``h`` changes forecasts at step ``h`` and later only;
- every strategy method trains on a panel with covariates;
- a model given a known-future covariate that drives the next value, or the series' static
  value, beats one without it by a wide margin in free running.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
from network_specs import NETWORK_SPECS

from forecastab.data import WindowDataModule
from forecastab.data.series_data import SeriesCovariates
from forecastab.evaluation import evaluate
from forecastab.models import ForecastModule, RNNConfig, model_from_spec
from forecastab.strategies import METHODS
from tests.strategy_examples import example

L, H, T = 12, 5, 120
ORIGINS = np.array([60, 80, 100])
COUNTS = {"past": 2, "future": 2, "static": 3}



def model(name: str) -> ForecastModule:
    """An untrained network of each kind that reads every kind of covariate."""
    config = model_from_spec(
        {"name": name, **NETWORK_SPECS[name]}, context_length=L, horizon=H, n_targets=1
    ).config
    torch.manual_seed(0)
    return ForecastModule(config, context_length=L, horizon=H, n_targets=1, covariates=COUNTS)


def inputs(seed: int = 0) -> tuple[np.ndarray, SeriesCovariates]:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(T, 1)).astype(np.float32)
    covariates = SeriesCovariates(
        past=rng.normal(size=(T, 2)).astype(np.float32),
        future=rng.normal(size=(T, 2)).astype(np.float32),
        static=rng.normal(size=3).astype(np.float32),
    )
    return values, covariates


def forecast(net: ForecastModule, values: np.ndarray, covariates: SeriesCovariates) -> np.ndarray:
    return net.predict_origins(values, ORIGINS, context_length=L, horizon=H, covariates=covariates)


@pytest.mark.parametrize("name", sorted(NETWORK_SPECS))
def test_no_target_or_past_covariate_after_the_origin_changes_a_forecast(name: str) -> None:
    net = model(name)
    values, covariates = inputs()
    reference = forecast(net, values, covariates)
    assert np.isfinite(reference).all()
    for i, origin in enumerate(ORIGINS):
        changed_values = values.copy()
        changed_values[origin + 1 :] += 25.0
        past = covariates.past.copy()
        past[origin + 1 :] -= 25.0
        changed = forecast(net, changed_values, SeriesCovariates(past, covariates.future, covariates.static))
        np.testing.assert_allclose(changed[i], reference[i], rtol=1e-5, atol=1e-5)
        if i + 1 < len(ORIGINS):  # later origins do see the change: the check can fail
            assert not np.allclose(changed[i + 1], reference[i + 1])


@pytest.mark.parametrize("name", sorted(NETWORK_SPECS))
@pytest.mark.parametrize("step", [1, 3, H])
def test_a_future_covariate_at_step_h_changes_forecasts_at_h_and_later_only(
    name: str, step: int
) -> None:
    net = model(name)
    values, covariates = inputs()
    reference = forecast(net, values, covariates)
    future = covariates.future.copy()
    future[ORIGINS + step] += 10.0  # the covariate of horizon step `step` at every origin
    changed = forecast(net, values, SeriesCovariates(covariates.past, future, covariates.static))
    np.testing.assert_allclose(changed[:, : step - 1], reference[:, : step - 1], atol=1e-5)
    assert not np.allclose(changed[:, step - 1], reference[:, step - 1], atol=1e-4)


def covariate_panel(*, n_series: int = 4, length: int = 240, **options) -> WindowDataModule:
    """Series whose next value is twice a known-future covariate, plus a static label."""
    rng = np.random.default_rng(0)
    parts = []
    for i in range(n_series):
        driver = rng.normal(size=length)
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{i}",
                    "ds": pd.date_range("2024-01-01", periods=length, freq="h"),
                    "y": 2.0 * driver + 0.05 * rng.normal(size=length),
                    "driver": driver,
                    "noise": rng.normal(size=length),
                    "group": "odd" if i % 2 else "even",
                }
            )
        )
    settings = dict(time_column="ds", target="y", context_length=L, horizon=H, batch_size=32)
    settings.update(options)
    return WindowDataModule(pd.concat(parts), **settings)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_strategy_trains_on_a_panel_with_covariates(method: str, fast_trainer_kwargs) -> None:
    data = covariate_panel(
        covariates={"future": ["driver"], "past": ["noise"], "static": ["group"]},
        calendar=["hour"],
    )
    spec = example(method)
    distribution = "gaussian" if method == "reinforce" else None
    torch.manual_seed(0)
    net = ForecastModule(
        RNNConfig(hidden_size=8, distribution=distribution),
        context_length=L,
        horizon=H,
        strategy=spec,
    )
    # two short epochs: data_as_demonstrator aggregates at the start of the second
    trainer = pl.Trainer(
        max_epochs=2, limit_train_batches=3, limit_val_batches=1, **fast_trainer_kwargs
    )
    trainer.fit(net, data)
    assert net.channels.counts() == {"past": 1, "future": 2, "static": 2}
    series = data.series_data("s1")
    out = net.predict_origins(
        series.values, series.origins("test"), context_length=L, horizon=H,
        covariates=series.covariates,
    )  # fmt: skip
    assert np.isfinite(out).all()


def free_running_mse(net: ForecastModule, data: WindowDataModule) -> float:
    table = evaluate(net, data, metrics=["mse"], units="scaled").table
    return float(table.query("series == 'all'")["value"].mean())


def fit(data: WindowDataModule, fast_trainer_kwargs, epochs: int) -> ForecastModule:
    torch.manual_seed(0)
    net = ForecastModule(
        RNNConfig(hidden_size=16), context_length=data.context_length, horizon=data.horizon,
        learning_rate=0.01,
    )  # fmt: skip
    pl.Trainer(max_epochs=epochs, **fast_trainer_kwargs).fit(net, data)
    return net


@pytest.mark.slow
def test_a_known_future_covariate_that_drives_the_next_value_is_learned(fast_trainer_kwargs) -> None:
    given = covariate_panel(covariates={"future": ["driver"]})
    blind = covariate_panel()
    with_covariate = free_running_mse(fit(given, fast_trainer_kwargs, 8), given)
    without = free_running_mse(fit(blind, fast_trainer_kwargs, 8), blind)
    print(f"free-running scaled MSE: with the covariate {with_covariate:.4f}, without {without:.4f}")
    assert with_covariate < 0.2 * without


def static_panel(*, with_static: bool) -> WindowDataModule:
    """AR(1) series that differ only by the sign of their coefficient, given as a static label."""
    rng = np.random.default_rng(1)
    parts = []
    for i in range(6):
        sign = 1.0 if i % 2 else -1.0
        y = np.zeros(300)
        for t in range(1, 300):
            y[t] = sign * 0.9 * y[t - 1] + rng.normal()
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{i}",
                    "ds": pd.date_range("2024-01-01", periods=300, freq="h"),
                    "y": y,
                    "sign": "plus" if sign > 0 else "minus",
                }
            )
        )
    options = {"covariates": {"static": ["sign"]}} if with_static else {}
    return WindowDataModule(
        pd.concat(parts), time_column="ds", target="y", context_length=1, horizon=2,
        batch_size=32, **options,
    )  # fmt: skip


@pytest.mark.slow
def test_a_static_value_that_sets_the_dynamics_is_learned(fast_trainer_kwargs) -> None:
    given, blind = static_panel(with_static=True), static_panel(with_static=False)
    with_static = free_running_mse(fit(given, fast_trainer_kwargs, 8), given)
    without = free_running_mse(fit(blind, fast_trainer_kwargs, 8), blind)
    print(f"free-running scaled MSE: with the static value {with_static:.4f}, without {without:.4f}")
    assert with_static < 0.6 * without
