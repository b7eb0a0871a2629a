"""Free-running horizon evaluation, per-step metrics, uncertainty and exposure-bias diagnostics.

>>> from forecastab.evaluation import METRICS
>>> sorted(METRICS)
['mae', 'mase', 'mse', 'nd', 'nrmse', 'nrmse_deepar', 'rmse', 'smape', 'valid_fraction', 'vpt']
"""

from forecastab.evaluation.evaluate import Evaluation, Forecaster, evaluate
from forecastab.evaluation.metrics import METRICS, MetricValues, get_metric
from forecastab.evaluation.uncertainty import bootstrap_interval, seed_spread

__all__ = [
    "METRICS",
    "Evaluation",
    "Forecaster",
    "MetricValues",
    "bootstrap_interval",
    "evaluate",
    "get_metric",
    "seed_spread",
]
