"""statsmodels baselines: applied parameters equal statsmodels' own forecasts, failures are kept."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.arima.model import ARIMA as StatsmodelsARIMA
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.forecasting.theta import ThetaModel
from statsmodels.tsa.statespace.sarimax import SARIMAX as StatsmodelsSARIMAX

from forecastab.baselines import ARIMA, ETS, SARIMAX, BaselineWarning, HoltWinters, Theta
from forecastab.errors import ConfigError, DataError

HORIZON, TRAIN_STOP = 20, 216
CHECKED_ORIGINS = np.array([288, 215, 250])  # unsorted on purpose; 288 is the last test origin


@pytest.fixture(scope="module")
def sunspots() -> np.ndarray:
    return sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()[:, None]  # (T, 1)


@pytest.fixture(scope="module")
def seasonal() -> np.ndarray:
    rng = np.random.default_rng(1)
    steps = np.arange(240)
    base = 10 + 0.02 * steps + 2 * np.sin(2 * np.pi * steps / 12)
    return np.stack([base + rng.normal(0, 0.3, 240), base[::-1] + rng.normal(0, 0.3, 240)], 1)


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.mark.parametrize(
    ("baseline", "statsmodels_model"),
    [
        (ARIMA(order=(2, 0, 1)), lambda y: StatsmodelsARIMA(y, order=(2, 0, 1))),
        (ARIMA(order=(1, 1, 1)), lambda y: StatsmodelsARIMA(y, order=(1, 1, 1))),
        (
            SARIMAX(order=(1, 0, 0), seasonal_order=(1, 0, 0, 11), trend="c"),
            lambda y: StatsmodelsSARIMAX(
                y, order=(1, 0, 0), seasonal_order=(1, 0, 0, 11), trend="c"
            ),
        ),
    ],
    ids=["arima-201", "arima-111", "sarimax"],
)
def test_applied_parameters_equal_statsmodels_apply(sunspots, baseline, statsmodels_model) -> None:
    _quiet(baseline.fit, sunspots, TRAIN_STOP)
    assert baseline.failed is None
    results = baseline.columns[0].results
    reference_fit = _quiet(
        statsmodels_model(sunspots[:TRAIN_STOP, 0]).fit,
        **({"disp": False} if isinstance(baseline, SARIMAX) else {}),
    )
    np.testing.assert_allclose(results.params, reference_fit.params, rtol=1e-10)
    predictions = baseline.predict_origins(
        sunspots, CHECKED_ORIGINS, context_length=30, horizon=HORIZON
    )
    for i, t in enumerate(CHECKED_ORIGINS):
        expected = results.apply(sunspots[: t + 1, 0]).forecast(HORIZON)
        np.testing.assert_allclose(predictions[i, :, 0], expected, rtol=0, atol=1e-8)


def test_arima_order_by_criterion_is_the_grid_minimum(sunspots) -> None:
    fits = {
        (p, d, q): _quiet(StatsmodelsARIMA(sunspots[:TRAIN_STOP, 0], order=(p, d, q)).fit)
        for p in range(2)
        for d in range(2)
        for q in range(2)
    }
    for criterion in ("aic", "bic"):
        model = _quiet(ARIMA(max_order=(1, 1, 1), criterion=criterion).fit, sunspots, TRAIN_STOP)
        best = min(fits, key=lambda order: getattr(fits[order], criterion))
        assert model.orders == [best]
        np.testing.assert_allclose(model.columns[0].params, fits[best].params, rtol=1e-8)


def test_one_model_per_column(seasonal) -> None:
    both = _quiet(ARIMA(order=(1, 0, 0)).fit, seasonal, 200)
    origins = np.arange(199, 220)
    together = both.predict_origins(seasonal, origins, context_length=24, horizon=6)  # (N, H, 2)
    for column in range(2):
        alone = _quiet(ARIMA(order=(1, 0, 0)).fit, seasonal[:, [column]], 200)
        np.testing.assert_allclose(both.columns[column].params, alone.columns[0].params)
        np.testing.assert_allclose(
            together[:, :, column],
            alone.predict_origins(seasonal[:, [column]], origins, context_length=24, horizon=6)[
                ..., 0
            ],
            atol=1e-10,
        )
    assert not np.allclose(both.columns[0].params, both.columns[1].params)


def test_refit_every(sunspots) -> None:
    origins = np.array([215, 216, 230, 231])
    model = _quiet(ARIMA(order=(1, 0, 0), refit_every=2).fit, sunspots, TRAIN_STOP)
    fixed = _quiet(ARIMA(order=(1, 0, 0)).fit, sunspots, TRAIN_STOP)
    refit = _quiet(model.predict_origins, sunspots, origins, context_length=30, horizon=5)
    applied = fixed.predict_origins(sunspots, origins, context_length=30, horizon=5)
    np.testing.assert_allclose(refit[:2], applied[:2], atol=1e-10)  # the first block keeps the fit
    trained = model.columns[0].params
    refitted = _quiet(
        StatsmodelsARIMA(sunspots[:231, 0], order=(1, 0, 0)).fit, start_params=trained
    )
    for i, t in ((2, 230), (3, 231)):
        expected = refitted.apply(sunspots[: t + 1, 0]).forecast(5)
        np.testing.assert_allclose(refit[i, :, 0], expected, atol=1e-8)
    assert not np.allclose(refit[2:], applied[2:])


def test_ets_applies_its_fit_at_every_origin(seasonal) -> None:
    values = seasonal[:, [0]]
    model = _quiet(ETS(trend="add", seasonal="add", season_length=12).fit, values, 200)
    origins = np.array([199, 210, 239])
    predictions = model.predict_origins(values, origins, context_length=24, horizon=7)
    params = model.columns[0].params
    for i, t in enumerate(origins):
        reference = ETSModel(
            values[: t + 1, 0], trend="add", seasonal="add", seasonal_periods=12
        ).smooth(params)
        np.testing.assert_allclose(predictions[i, :, 0], reference.forecast(7), atol=1e-8)
    np.testing.assert_allclose(
        predictions[0, :, 0], model.columns[0].results.forecast(7), atol=1e-8
    )


def test_holt_winters_at_the_first_origin_is_the_training_forecast(seasonal) -> None:
    values = seasonal[:, [0]]
    model = _quiet(
        HoltWinters(trend="add", damped_trend=True, seasonal="add", season_length=12).fit,
        values,
        200,
    )
    predictions = _quiet(
        model.predict_origins, values, np.array([199, 220]), context_length=24, horizon=7
    )
    np.testing.assert_allclose(
        predictions[0, :, 0], model.columns[0].results.forecast(7), atol=1e-8
    )
    assert np.isfinite(predictions).all()


def test_theta_is_refitted_at_every_origin(seasonal) -> None:
    values = seasonal[:, [1]]
    model = _quiet(Theta(season_length=12).fit, values, 200)
    predictions = _quiet(
        model.predict_origins, values, np.array([199, 230]), context_length=24, horizon=5
    )
    for i, t in enumerate((199, 230)):
        expected = _quiet(ThetaModel(values[: t + 1, 0], period=12).fit).forecast(5)
        np.testing.assert_allclose(predictions[i, :, 0], expected, atol=1e-8)


def test_a_failed_fit_is_recorded_not_raised(seasonal) -> None:
    values = seasonal - 20.0  # negative: a multiplicative model cannot be fitted
    model = ETS(error="mul")
    with pytest.warns(BaselineWarning, match="baseline 'ets' failed: fit of column 0 failed: "):
        model.fit(values, 200)
    assert model.failed.startswith("fit of column 0 failed: ")
    predictions = model.predict_origins(values, [199, 200], context_length=24, horizon=3)
    assert predictions.shape == (2, 3, 2)
    assert np.isnan(predictions).all()


def test_a_forced_exception_is_recorded(seasonal, monkeypatch) -> None:
    def broken(self, model, start_params=None, *, low_memory=False):
        raise np.linalg.LinAlgError("Schur decomposition solver error")

    monkeypatch.setattr(ARIMA, "_fit_model", broken)
    model = ARIMA(order=(1, 0, 0))
    with pytest.warns(BaselineWarning) as caught:
        model.fit(seasonal, 200)
    assert [str(w.message) for w in caught] == [
        "baseline 'arima' failed: fit of column 0 failed: LinAlgError: Schur decomposition solver error"
    ]
    assert np.isnan(model.predict_origins(seasonal, [199], context_length=24, horizon=2)).all()


def test_statsmodels_warnings_are_summarised_once(seasonal, monkeypatch) -> None:
    fit = ARIMA._fit_model

    def noisy(self, model, start_params=None, *, low_memory=False):
        for _ in range(5):
            warnings.warn(
                "Maximum Likelihood optimization failed to converge.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return fit(self, model, start_params, low_memory=low_memory)

    monkeypatch.setattr(ARIMA, "_fit_model", noisy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ARIMA(order=(1, 0, 0)).fit(seasonal, 200)
    assert [str(w.message) for w in caught] == [
        "baseline 'arima': statsmodels warned 10 times during fit: ConvergenceWarning: "
        "Maximum Likelihood optimization failed to converge. (10x)"
    ]
    assert model.failed is None
    assert model.warnings == [str(caught[0].message)]


def test_n_jobs_two_equals_one(seasonal) -> None:
    # two columns x two refit blocks: four tasks over two worker processes
    origins = np.arange(199, 233)
    serial = _quiet(ARIMA(order=(1, 0, 0), refit_every=17, progress=False).fit, seasonal, 200)
    parallel = _quiet(
        ARIMA(order=(1, 0, 0), refit_every=17, n_jobs=2, progress=False).fit, seasonal, 200
    )
    np.testing.assert_array_equal(
        _quiet(serial.predict_origins, seasonal, origins, context_length=24, horizon=6),
        _quiet(parallel.predict_origins, seasonal, origins, context_length=24, horizon=6),
    )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda v: ARIMA(order=(1, 0, 0)).predict_origins(v, [199], context_length=5, horizon=2),
            ConfigError,
            "baseline 'arima' is not fitted; call fit(values, train_stop) first",
        ),
        (
            lambda v: _quiet(ARIMA(order=(1, 0, 0)).fit, v, 200).predict_origins(
                v[:, :1], [199], context_length=5, horizon=2
            ),
            DataError,
            "baseline 'arima' was fitted on 2 target column(s), got values with 1",
        ),
        (
            lambda v: ARIMA(order=(1, 0)),
            ConfigError,
            "order must be a list of 3 non-negative integers, got (1, 0)",
        ),
        (
            lambda v: ARIMA(criterion="hqic"),
            ConfigError,
            "criterion must be 'aic' or 'bic', got 'hqic'",
        ),
        (
            lambda v: ARIMA(refit_every=0),
            ConfigError,
            "refit_every must be a positive integer or null, got 0",
        ),
        (lambda v: ARIMA(n_jobs=0), ConfigError, "n_jobs must be a positive integer or -1, got 0"),
        (
            lambda v: SARIMAX(seasonal_order=(1, 0, 0)),
            ConfigError,
            "seasonal_order [P, D, Q] needs a season_length; give seasonal_order as [P, D, Q, s] or set season_length",
        ),
        (
            lambda v: ETS(seasonal="add"),
            ConfigError,
            "seasonal: add needs a season_length; set season_length or seasonal: null",
        ),
        (
            lambda v: ETS(trend="linear"),
            ConfigError,
            "trend must be one of add, mul or null, got 'linear'",
        ),
        (
            lambda v: HoltWinters(damped_trend=True),
            ConfigError,
            "damped_trend: true needs a trend; set trend: add or trend: mul",
        ),
        (
            lambda v: ARIMA().fit(v, 0),
            DataError,
            "train_stop must be an integer in [1, 240], got 0",
        ),
    ],
    ids=[
        "not-fitted",
        "columns",
        "order",
        "criterion",
        "refit",
        "n_jobs",
        "season",
        "ets-season",
        "ets-trend",
        "damped",
        "train_stop",
    ],
)
def test_bad_input(seasonal, call, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        call(seasonal)
    assert str(caught.value) == message


def test_sarimax_takes_the_season_length_for_a_short_seasonal_order() -> None:
    assert SARIMAX(seasonal_order=[1, 0, 0], season_length=24).seasonal_order == (1, 0, 0, 24)
