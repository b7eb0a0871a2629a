"""Coverage of the panel aggregate band: block bootstrap over time with the series summed per time
(Driscoll-Kraay, forecastab.evaluation.panel) against resampling whole series i.i.d. (the band
before). 7 series sharing 300 origins whose absolute errors move with one AR(1) common factor.

    python experiments/benchmarks/panel_bands.py
"""

import numpy as np

from forecastab.evaluation.compare import PanelLayout, panel_series
from forecastab.evaluation.metrics import MetricValues
from forecastab.evaluation.uncertainty import metric_band

SERIES, TIMES, PHI, SIMULATIONS, RESAMPLES = 7, 300, 0.5, 300, 300


def absolute_errors(rng: np.random.Generator, times: int) -> np.ndarray:
    """``(SERIES, times)`` absolute errors: a common AR(1) factor plus noise per series."""
    factor, shocks = np.zeros(times), rng.normal(size=times)
    for t in range(1, times):
        factor[t] = PHI * factor[t - 1] + shocks[t]
    return np.abs(factor[None, :] + 0.5 * rng.normal(size=(SERIES, times)))


def main() -> None:
    rng = np.random.default_rng(0)
    truth = absolute_errors(rng, 400_000).mean()
    layout = PanelLayout(np.repeat(np.arange(SERIES), TIMES), np.tile(np.arange(TIMES), SERIES))
    over_time = iid = 0
    for _ in range(SIMULATIONS):
        errors = absolute_errors(rng, TIMES)
        series, stride = panel_series(errors.reshape(-1, 1), layout)
        band = metric_band(MetricValues(series), n_bootstrap=RESAMPLES, seed=1, warn=False)
        over_time += band.lower[0] <= truth <= band.upper[0]
        picks = rng.integers(SERIES, size=(RESAMPLES, SERIES))
        means = errors.mean(axis=1)[picks].mean(axis=1)
        lower, upper = np.quantile(means, [0.025, 0.975])
        iid += lower <= truth <= upper
    print(
        f"coverage of 95% bands, {SIMULATIONS} sims, {SERIES} series x {TIMES} common origins, "
        f"AR(1) {PHI} common factor: over time (DK) {over_time / SIMULATIONS:.3f}, "
        f"i.i.d. over series {iid / SIMULATIONS:.3f}"
    )


if __name__ == "__main__":
    main()
