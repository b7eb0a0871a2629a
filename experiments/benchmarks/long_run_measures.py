"""Benchmark: D_stsp and D_H on the bundled Lorenz generator (reference numbers for the README).

Two stretches of one long Lorenz series (x component, ``forecastab.data.synthetic.lorenz``,
seed 0) should be close; a stretch against a fixed point (the series' mean plus tiny noise), a
sine of the series' dominant period and amplitude, or an independent Lorenz run (seed 1) show
what "far" and "another trajectory of the same attractor" look like. D_stsp uses the GTF
defaults (delay embedding of dimension 3, 30 bins per dimension); it shrinks with the length of
the series because sparse histograms inflate the KL, so it is printed for several lengths.

Prints, does not assert. Run: .venv/bin/python experiments/benchmarks/long_run_measures.py
"""

from __future__ import annotations

import time

import numpy as np

from forecastab.data.synthetic import lorenz
from forecastab.evaluation.long_run import power_spectrum_distance, state_space_divergence


def main() -> None:
    start = time.perf_counter()
    longest = 10_000
    series = lorenz(2 * longest, seed=0)["x"].to_numpy()
    other = lorenz(longest, seed=1)["x"].to_numpy()
    print(f"generated {2 * longest + longest} Lorenz samples in {time.perf_counter() - start:.0f} s")
    spectrum = np.abs(np.fft.rfft(series - series.mean())) ** 2
    period = len(series) / max(1, int(np.argmax(spectrum[1:]) + 1))
    print(f"{'length':>7} {'pair':<36} {'D_stsp':>8} {'D_H':>7}")
    for length in (2_000, 5_000, 10_000):
        first, second = series[:length], series[longest : longest + length]
        t = np.arange(length)
        candidates = {
            "two stretches of one series": second,
            "independent run (seed 1)": other[:length],
            "fixed point (mean + 1e-3 noise)": series.mean()
            + 1e-3 * np.random.default_rng(0).normal(size=length),
            f"sine (period {period:.0f} samples)": series.std()
            * np.sqrt(2)
            * np.sin(2 * np.pi * t / period),
        }
        for name, generated in candidates.items():
            d_stsp = state_space_divergence(first, generated)
            d_h = power_spectrum_distance(first, generated)
            print(f"{length:>7} {name:<36} {d_stsp:>8.3f} {d_h:>7.3f}")


if __name__ == "__main__":
    main()
