"""Evaluation of a panel: per series on its own origins, plus aggregates fair across scales."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecastab.baselines import baseline_from_spec
from forecastab.evaluation import evaluate
from forecastab.evaluation.evaluate import TABLE_COLUMNS
from forecastab.evaluation.metrics import mase, nd, nrmse_deepar
from forecastab.evaluation.panel import series_columns
from tests.data.test_panel import LENGTHS, panel


@pytest.fixture(scope="module")
def evaluation():
    data = panel()
    naive = baseline_from_spec({"name": "naive"})
    metrics = ["mae", "mse", "mase", "smape", "nd", "nrmse_deepar"]
    return data, evaluate(naive, data, metrics=metrics)


def test_the_table_has_a_series_column_with_every_id_and_the_aggregate(evaluation) -> None:
    data, result = evaluation
    assert list(result.table.columns) == series_columns(TABLE_COLUMNS)
    assert sorted(result.table["series"].unique()) == ["a", "all", "b", "c"]
    assert set(result.per_series) == set(LENGTHS)


def test_each_series_is_evaluated_on_its_own_origins_like_a_single_series(evaluation) -> None:
    data, result = evaluation
    for name in LENGTHS:
        alone = evaluate(baseline_from_spec({"name": "naive"}), data.series_data(name), metrics=["mase"])
        np.testing.assert_array_equal(result.per_series[name].origins, data.series_data(name).origins())
        got = result.table.query("series == @name and metric == 'mase'")["value"].to_numpy()
        np.testing.assert_allclose(got, alone.table["value"].to_numpy())


def test_the_aggregate_is_the_series_mean_except_nd_and_nrmse_which_pool(evaluation) -> None:
    data, result = evaluation
    table = result.table
    for metric in ("mae", "mase", "smape"):
        rows = table[(table["metric"] == metric) & (table["series"] != "all")]
        expected = rows.groupby("step")["value"].mean().to_numpy()
        got = table.query("series == 'all' and metric == @metric")["value"].to_numpy()
        np.testing.assert_allclose(got, expected)
    predictions = np.concatenate([result.per_series[n].predictions["free_running"] for n in LENGTHS])
    targets = np.concatenate([result.per_series[n].targets for n in LENGTHS])
    errors = np.abs(predictions - targets)  # (N, H, 1) pooled over series
    by_hand = errors.sum(axis=(0, 2)) / np.abs(targets).sum(axis=(0, 2))
    got = table.query("series == 'all' and metric == 'nd'")["value"].to_numpy()
    np.testing.assert_allclose(got, by_hand)
    np.testing.assert_allclose(got, nd(predictions, targets).per_step)
    rmse = np.sqrt(((predictions - targets) ** 2).mean(axis=(0, 2))) / np.abs(targets).mean(axis=(0, 2))
    got = table.query("series == 'all' and metric == 'nrmse_deepar'")["value"].to_numpy()
    np.testing.assert_allclose(got, rmse)
    np.testing.assert_allclose(got, nrmse_deepar(predictions, targets).per_step)


def test_mase_scales_each_series_by_its_own_in_sample_seasonal_naive_error(evaluation) -> None:
    data, result = evaluation
    series = data.series_data("c")
    train = series.raw_values[slice(*series.borders.train)]
    season = data.season_length or 1
    expected = mase(
        result.per_series["c"].predictions["free_running"], result.per_series["c"].targets,
        train=train, season_length=season,
    ).per_step  # fmt: skip
    got = result.table.query("series == 'c' and metric == 'mase'")["value"].to_numpy()
    np.testing.assert_allclose(got, expected)


def test_one_series_keeps_its_table_without_a_series_column() -> None:
    from forecastab.data import WindowDataModule

    data = WindowDataModule("sunspots", context_length=20, horizon=5, split={"train": 0.7, "test": 0.3})
    result = evaluate(baseline_from_spec({"name": "naive"}), data)
    assert list(result.table.columns) == TABLE_COLUMNS


def test_the_aggregate_gets_a_block_bootstrap_band_over_time_with_series_summed_per_time() -> None:
    from tests.data.test_panel import long_frame

    data = panel(long_frame({"a": 900, "b": 800, "c": 700}))
    result = evaluate(
        baseline_from_spec({"name": "naive"}), data, metrics=["mae", "rmse", "nd"], n_bootstrap=200
    )
    bands = result.intervals.query("series == 'all'")
    assert set(bands["metric"]) == {"mae", "rmse"}  # nd pools the origins: no series-mean band
    assert bands["band"].str.endswith("3 series summed per time").all()
    for metric in ("mae", "rmse"):
        rows = bands[bands["metric"] == metric]
        aggregate = result.table.query("series == 'all' and metric == @metric")["value"].to_numpy()
        assert np.isfinite(rows[["lower", "upper"]].to_numpy()).all()
        assert (rows["lower"].to_numpy() < aggregate).all()
        assert (aggregate < rows["upper"].to_numpy()).all()


def test_a_panel_too_short_for_blocks_over_time_gets_no_aggregate_band() -> None:
    data = panel()  # 13-30 test origins a series: fewer than 10 blocks
    result = evaluate(baseline_from_spec({"name": "naive"}), data, metrics=["mae"], n_bootstrap=200)
    bands = result.intervals.query("series == 'all'")
    assert len(bands) == 6 and bands[["lower", "upper"]].isna().all().all()


def test_a_statsmodels_baseline_with_n_jobs_runs_the_series_in_workers_with_equal_numbers() -> None:
    data = panel()
    spec = {"name": "arima", "order": [1, 0, 0]}
    alone = evaluate(baseline_from_spec(spec), data, metrics=["mae", "mase"])
    parallel_spec = {**spec, "n_jobs": 2}
    from forecastab.evaluation import panel as panel_evaluation

    assert panel_evaluation._series_workers(baseline_from_spec(parallel_spec), 3) == 2
    workers = evaluate(baseline_from_spec(parallel_spec), data, metrics=["mae", "mase"])
    assert sorted(workers.per_series) == sorted(alone.per_series)
    pd.testing.assert_frame_equal(workers.table, alone.table)
    np.testing.assert_array_equal(workers.predictions["free_running"], alone.predictions["free_running"])
