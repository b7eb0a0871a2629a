"""Classical baselines on the same origins as the neural forecasters.

Every baseline has the uniform forecast interface (``name``, ``supported_modes``,
``fit(values, train_stop)``, ``predict_origins(values, origins, context_length=..., horizon=...)``)
and a ``failed`` attribute that holds the error message when it could not be fitted.

>>> import numpy as np
>>> values = np.arange(40.0)[:, None]
>>> model = baseline_from_spec("drift").fit(values, 30)
>>> model.predict_origins(values, [29], context_length=10, horizon=2)[0, :, 0]
array([30., 31.])
"""

from forecastab.baselines.base import Baseline, BaselineWarning
from forecastab.baselines.registry import BASELINES, baseline_from_spec
from forecastab.baselines.simple import Drift, Mean, Naive, SeasonalNaive
from forecastab.baselines.smoothing import ETS, HoltWinters, Theta
from forecastab.baselines.statistical import ARIMA, SARIMAX, FittedColumn, StatsmodelsBaseline

__all__ = [
    "ARIMA",
    "BASELINES",
    "ETS",
    "SARIMAX",
    "Baseline",
    "BaselineWarning",
    "Drift",
    "FittedColumn",
    "HoltWinters",
    "Mean",
    "Naive",
    "SeasonalNaive",
    "StatsmodelsBaseline",
    "Theta",
    "baseline_from_spec",
]
