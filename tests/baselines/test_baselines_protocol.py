"""The sunspots protocol: naive baselines reproduce published-by-hand RMSE on the same origins."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from forecastab.baselines import Naive, SeasonalNaive
from forecastab.data import WindowDataModule
from forecastab.evaluation import evaluate

CONTEXT_LENGTH, HORIZON, TRAIN_STOP = 30, 20, 216
# mean over steps h of sqrt(mean over the 74 origins of err^2), computed independently
EXPECTED_RMSE = {"naive": 66.70, "seasonal_naive": 40.04}


@pytest.fixture(scope="module")
def sunspots() -> np.ndarray:
    series = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
    return series[:, None]  # (T, 1)


def test_origins_of_the_convention(sunspots: np.ndarray) -> None:
    # test rows [216, 309): origins a-1 .. b-H-1
    origins = np.arange(TRAIN_STOP - 1, len(sunspots) - HORIZON)
    assert len(sunspots) == 309
    assert (origins[0], origins[-1], len(origins)) == (215, 288, 74)


def _mean_step_rmse(predictions: np.ndarray, values: np.ndarray, origins: np.ndarray) -> float:
    targets = np.stack([values[t + 1 : t + HORIZON + 1] for t in origins])  # (N, H, C)
    return float(np.sqrt(((predictions - targets) ** 2).mean(axis=(0, 2))).mean())


@pytest.mark.parametrize(
    ("baseline", "expected"),
    [
        (Naive(), EXPECTED_RMSE["naive"]),
        (SeasonalNaive(season_length=11), EXPECTED_RMSE["seasonal_naive"]),
    ],
    ids=["naive", "seasonal_naive"],
)
def test_sunspots_rmse(sunspots: np.ndarray, baseline, expected: float) -> None:
    origins = np.arange(TRAIN_STOP - 1, len(sunspots) - HORIZON)
    baseline.fit(sunspots, TRAIN_STOP)
    predictions = baseline.predict_origins(
        sunspots, origins, context_length=CONTEXT_LENGTH, horizon=HORIZON
    )
    assert predictions.shape == (74, HORIZON, 1)
    assert _mean_step_rmse(predictions, sunspots, origins) == pytest.approx(expected, abs=0.01)


def _datamodule() -> WindowDataModule:
    return WindowDataModule(
        "sunspots",
        context_length=CONTEXT_LENGTH,
        horizon=HORIZON,
        split={"train": 0.7, "test": 0.3},
        scaling="none",
    )


@pytest.mark.parametrize("name", ["naive", "seasonal_naive"])
def test_sunspots_rmse_through_the_datamodule(name: str) -> None:
    dm = _datamodule()
    origins = dm.origins("test")
    assert (origins[0], origins[-1], len(origins)) == (215, 288, 74)
    baseline = Naive() if name == "naive" else SeasonalNaive(season_length=11)
    baseline.fit(dm.values, dm.borders.train[1])
    predictions = baseline.predict_origins(
        dm.values, origins, context_length=dm.context_length, horizon=dm.horizon
    )
    assert _mean_step_rmse(predictions, dm.raw_values, origins) == pytest.approx(
        EXPECTED_RMSE[name], abs=0.01
    )


@pytest.mark.parametrize("name", ["naive", "seasonal_naive"])
def test_sunspots_rmse_through_evaluate(name: str) -> None:
    dm = _datamodule()
    baseline = Naive() if name == "naive" else SeasonalNaive(season_length=11)
    baseline.fit(dm.values, dm.borders.train[1])
    table = evaluate(baseline, dm, metrics=("rmse",)).table
    rows = table[(table["metric"] == "rmse") & (table["mode"] == "free_running")]
    assert sorted(rows["step"]) == list(range(1, HORIZON + 1))
    assert set(rows["strategy"]) == {"baseline"}
    assert rows["value"].mean() == pytest.approx(EXPECTED_RMSE[name], abs=0.01)
