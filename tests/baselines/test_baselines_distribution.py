"""Baselines' Gaussian predictive distributions against statsmodels' own forecast variances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecastab.baselines import baseline_from_spec

ORIGINS = np.array([120, 133, 150])


@pytest.fixture(scope="module")
def series() -> np.ndarray:
    rng = np.random.default_rng(0)
    noise = rng.normal(size=170)
    values = np.zeros(170)
    for t in range(1, 170):
        values[t] = 0.7 * values[t - 1] + noise[t] + 0.3 * np.sin(t / 5)
    return values[:, None]  # (170, 1)


def statsmodels_oracle(spec, series, fitted_column):
    """mean and std per origin from statsmodels' own get_forecast / get_prediction / intervals."""
    means, stds = [], []
    for t in ORIGINS:
        history = series[: t + 1, 0]
        if spec["name"] in ("arima", "sarimax"):
            forecast = fitted_column.results.apply(history).get_forecast(5)
            means.append(forecast.predicted_mean)
            stds.append(np.sqrt(forecast.var_pred_mean))
        elif spec["name"] == "ets":
            from statsmodels.tsa.exponential_smoothing.ets import ETSModel

            smoothed = ETSModel(pd.Series(history), trend="add").smooth(fitted_column.params)
            prediction = smoothed.get_prediction(t + 1, t + 5)
            means.append(prediction.predicted_mean)
            # statsmodels scales by the residual mean square of the rows it smoothed; the
            # baseline keeps the training fit's, as it keeps the training parameters
            rescale = fitted_column.spec["mse"] / smoothed.mse
            stds.append(np.sqrt(np.asarray(prediction.var_pred_mean) * rescale))
        else:
            from statsmodels.tsa.forecasting.theta import ThetaModel

            results = ThetaModel(history, deseasonalize=False).fit()
            means.append(results.forecast(5))
            bounds = np.asarray(results.prediction_intervals(5, alpha=0.1))  # (5, 2)
            stds.append((bounds[:, 1] - bounds[:, 0]) / (2 * 1.6448536269514722))
    return np.array(means), np.array(stds)


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "arima", "order": [1, 0, 1]},
        {"name": "arima", "order": [1, 1, 0]},
        {"name": "sarimax", "order": [1, 0, 0], "seasonal_order": [1, 0, 0, 4]},
        {"name": "ets", "trend": "add"},
        {"name": "theta"},
    ],
)
def test_gaussian_predictive_matches_statsmodels(spec, series):
    baseline = baseline_from_spec(spec).fit(series, 100)
    mean, std = baseline.predict_distribution(series, ORIGINS, context_length=10, horizon=5)
    oracle_mean, oracle_std = statsmodels_oracle(spec, series, baseline.columns[0])
    np.testing.assert_allclose(mean[..., 0], oracle_mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(std[..., 0], oracle_std, rtol=1e-5, atol=1e-8)
    assert np.all(np.diff(std[..., 0], axis=1) >= -1e-12)  # uncertainty never shrinks here


def test_baselines_without_a_distribution_say_so(series):
    for spec in ({"name": "naive"}, {"name": "ets", "error": "mul"}):
        try:
            baseline = baseline_from_spec(spec)
        except Exception:  # noqa: BLE001
            continue
        reason = getattr(baseline, "predict_distribution", None)
        if reason is None:
            continue
        baseline.fit(np.abs(series) + 1.0, 100)
        out = baseline.predict_distribution(
            np.abs(series) + 1.0, ORIGINS, context_length=10, horizon=5
        )
        assert isinstance(out, str) and "no closed-form predictive distribution" in out
