"""Per-step metrics against hand-computed tables."""

from __future__ import annotations

import numpy as np
import pytest

from forecastab.errors import ConfigError, DataError
from forecastab.evaluation.metrics import METRICS, get_metric

# two origins, two steps, one column; errors: origin 0 -> [1, 0], origin 1 -> [-2, 4]
TARGETS = np.array([[[1.0], [2.0]], [[3.0], [4.0]]])
PREDICTIONS = np.array([[[2.0], [2.0]], [[1.0], [8.0]]])
TRAIN = np.array([[0.0], [1.0], [3.0], [6.0]])  # naive MAE 2, lag-2 MAE 4, std sqrt(5.25)


@pytest.mark.parametrize(
    ("name", "season_length", "expected"),
    [
        ("mae", 1, [1.5, 2.0]),
        ("mse", 1, [2.5, 8.0]),
        ("rmse", 1, [np.sqrt(2.5), np.sqrt(8.0)]),
        # 200|e|/(|y|+|yhat|): origin 0 -> [66.67, 0], origin 1 -> [100, 66.67]
        ("smape", 1, [(200 / 3 + 100) / 2, 200 / 3 / 2]),
        ("mase", 1, [0.75, 1.0]),
        ("mase", 2, [0.375, 0.5]),
        ("nrmse", 1, [np.sqrt(2.5 / 5.25), np.sqrt(8.0 / 5.25)]),
    ],
)
def test_metric_matches_hand_computed_table(name, season_length, expected):
    values = get_metric(name)(PREDICTIONS, TARGETS, train=TRAIN, season_length=season_length)
    np.testing.assert_allclose(values.per_step, expected, rtol=1e-12)
    assert values.per_origin.shape == (2, 2)


def test_per_origin_contributions_rebuild_the_metric():
    rmse = get_metric("rmse")(PREDICTIONS, TARGETS)
    np.testing.assert_allclose(rmse.per_origin, [[1.0, 0.0], [4.0, 16.0]])
    np.testing.assert_allclose(rmse.finalize(rmse.per_origin.mean(axis=0)), rmse.per_step)


def test_scaled_metrics_scale_each_column_by_its_own_training_rows():
    targets = np.zeros((1, 1, 2))
    predictions = np.array([[[1.0, 10.0]]])
    train = np.array([[0.0, 0.0], [2.0, 20.0]])  # std 1 and 10, naive MAE 2 and 20
    assert get_metric("nrmse")(predictions, targets, train=train).per_step.tolist() == [1.0]
    assert get_metric("mase")(predictions, targets, train=train).per_step.tolist() == [0.5]
    assert get_metric("mae")(predictions, targets).per_step.tolist() == [5.5]


def test_smape_counts_zero_over_zero_as_zero():
    zeros = np.zeros((3, 2, 1))
    assert get_metric("smape")(zeros, zeros).per_step.tolist() == [0.0, 0.0]


def test_diverged_predictions_give_nan_or_inf_not_an_error():
    predictions = PREDICTIONS.copy()
    predictions[0, 1, 0] = np.inf
    predictions[1, 0, 0] = np.nan
    for name in METRICS:
        if name in ("valid_fraction", "vpt"):
            continue  # a diverged origin is no longer valid: finite by design (test_chaos_metrics)
        values = get_metric(name)(predictions, TARGETS, train=TRAIN)
        assert not np.isfinite(values.per_step).any(), name


def test_unknown_metric_names_the_nearest():
    with pytest.raises(ConfigError, match=r"unknown metric 'smap' \(did you mean 'smape'\?\)"):
        get_metric("smap")


def test_scaled_metrics_need_training_rows():
    with pytest.raises(ConfigError, match="metric 'mase' needs the training rows"):
        get_metric("mase")(PREDICTIONS, TARGETS)
    with pytest.raises(DataError, match="MASE is undefined"):
        get_metric("mase")(PREDICTIONS, TARGETS, train=np.ones((5, 1)))


def test_shape_mismatch_is_a_data_error():
    with pytest.raises(DataError, match=r"must both be \(N, H, C\)"):
        get_metric("mae")(PREDICTIONS[:, :1], TARGETS)
