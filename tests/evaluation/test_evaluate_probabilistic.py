"""evaluate() with probabilistic metrics: sampled networks, Gaussian baselines, point skips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from forecastab.baselines import baseline_from_spec
from forecastab.data import WindowDataModule
from forecastab.errors import ConfigError
from forecastab.evaluation.evaluate import evaluate
from forecastab.models import model_from_spec

L, H = 12, 4
PROBABILISTIC = ["rmse", "crps", "coverage_90", "path_coverage_90", "coverage_product_90"]


@pytest.fixture(scope="module")
def data() -> WindowDataModule:
    rng = np.random.default_rng(0)
    t = np.arange(240)
    frame = pd.DataFrame({"x": 5 + np.sin(t / 6) + 0.2 * rng.normal(size=240)})
    return WindowDataModule(frame, context_length=L, horizon=H, split={"train": 0.7, "test": 0.3})


def model(distribution: str | None):
    torch.manual_seed(0)
    spec = {"name": "gru", "type": "rnn", "hidden_size": 8}
    if distribution:
        spec["distribution"] = distribution
    return model_from_spec(spec, context_length=L, horizon=H, n_targets=1)


def test_probabilistic_network_gets_every_metric_in_both_modes(data):
    evaluation = evaluate(
        model("student_t"),
        data,
        modes=["free_running", "teacher_forced"],
        metrics=PROBABILISTIC,
        num_samples=30,
    )
    table = evaluation.table
    for mode in ("free_running", "teacher_forced"):
        for metric in PROBABILISTIC:
            rows = table[(table["mode"] == mode) & (table["metric"] == metric)]
            assert len(rows) == H and rows["value"].notna().all(), (mode, metric)
    samples = evaluation.predictive["free_running"].samples
    assert samples.shape == (len(evaluation.origins), 30, H, 1)
    # the samples are in original units, like the targets
    assert abs(np.median(samples) - np.median(evaluation.targets)) < 3.0
    again = evaluate(model("student_t"), data, metrics=["crps"], num_samples=30)
    crps = table[(table["mode"] == "free_running") & (table["metric"] == "crps")]
    np.testing.assert_allclose(crps["value"].to_numpy(), again.table["value"].to_numpy())


def test_point_model_skips_probabilistic_metrics_with_a_note(data):
    with pytest.warns(RuntimeWarning, match="probabilistic metrics crps.* skipped"):
        evaluation = evaluate(model(None), data, metrics=PROBABILISTIC)
    assert set(evaluation.table["metric"]) == {"rmse"}
    assert "point forecaster" in evaluation.skipped


def test_arima_is_scored_by_closed_form_gaussian_crps(data):
    arima = baseline_from_spec({"name": "arima", "order": [1, 0, 0]})
    arima.fit(data.values, data.borders.train[1])
    evaluation = evaluate(arima, data, metrics=["crps", "coverage_90"])
    origins = evaluation.origins
    mean, std = arima.predict_distribution(data.values, origins, context_length=L, horizon=H)
    scale, offset = data.scaler.std, data.scaler.mean
    mean, std = mean * scale + offset, std * scale  # (N, H, 1) original units
    # the oracle is the definition, CRPS = integral of (F(x) - 1{x >= y})^2 dx, by quadrature
    # on a fine grid around each forecast (not the closed form under test)
    grid = mean[..., None] + std[..., None] * np.linspace(-12, 12, 6001)  # (N, H, 1, G)
    cdf = stats.norm.cdf(grid, loc=mean[..., None], scale=std[..., None])
    step = (grid >= evaluation.targets[..., None]).astype(np.float64)
    expected = np.trapezoid((cdf - step) ** 2, grid, axis=-1)  # (N, H, 1)
    crps = evaluation.table[evaluation.table["metric"] == "crps"]["value"].to_numpy()
    # (the jump of the step function limits the quadrature to about 1e-4 relative)
    np.testing.assert_allclose(crps, expected.mean(axis=(0, 2)), rtol=5e-4)


def test_num_samples_below_one_is_a_one_line_error(data):
    with pytest.raises(ConfigError, match="num_samples must be a positive integer, got 0"):
        evaluate(model("gaussian"), data, metrics=["crps"], num_samples=0)
