"""Seeded synthetic series with known dynamics: the textbook cases for exposure bias.

Each generator is deterministic for a given seed and returns a one-column DataFrame.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from forecastab.errors import ConfigError


def mackey_glass(
    length: int = 2000,
    *,
    tau: float = 17.0,
    beta: float = 0.2,
    gamma: float = 0.1,
    n: float = 10.0,
    dt: float = 0.1,
    sample_every: float = 1.0,
    burn_in: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """The Mackey-Glass delay equation dx/dt = beta x(t-tau) / (1 + x(t-tau)^n) - gamma x(t).

    With ``tau = 17`` the attractor is mildly chaotic, the standard benchmark setting. The
    equation is integrated with RK4 at step ``dt`` (the delayed term is read from the stored
    trajectory, linearly interpolated at half steps) and sampled every ``sample_every`` time units.

    Args:
        length: samples returned after the burn-in.
        tau: the delay.
        beta, gamma, n: the equation's constants.
        dt: integration step; ``tau`` and ``sample_every`` must be multiples of it.
        sample_every: time between returned samples.
        burn_in: samples discarded at the start, so the series lies on the attractor.
        seed: draws the constant initial history around 1.2.

    Returns:
        A DataFrame with one column ``x`` and a RangeIndex named ``t``.

    >>> a, b = mackey_glass(50, seed=3), mackey_glass(50, seed=3)
    >>> bool((a == b).all().all()), a.shape
    (True, (50, 1))
    """
    delay = int(round(tau / dt))
    every = int(round(sample_every / dt))
    if (
        delay < 1
        or every < 1
        or not np.isclose(delay * dt, tau)
        or not np.isclose(every * dt, sample_every)
    ):
        raise ConfigError(
            f"mackey_glass: tau ({tau}) and sample_every ({sample_every}) must be multiples of dt ({dt})"
        )
    rng = np.random.default_rng(seed)
    steps = (length + burn_in) * every
    x = np.empty(delay + steps + 1)
    x[: delay + 1] = 1.2 + 0.1 * rng.standard_normal()

    def rate(value: float, lagged: float) -> float:
        return beta * lagged / (1.0 + lagged**n) - gamma * value

    for i in range(delay, delay + steps):
        lag_now, lag_next = x[i - delay], x[i - delay + 1]
        lag_mid = 0.5 * (lag_now + lag_next)
        k1 = rate(x[i], lag_now)
        k2 = rate(x[i] + 0.5 * dt * k1, lag_mid)
        k3 = rate(x[i] + 0.5 * dt * k2, lag_mid)
        k4 = rate(x[i] + dt * k3, lag_next)
        x[i + 1] = x[i] + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    samples = x[delay::every][burn_in : burn_in + length]
    return pd.DataFrame({"x": samples}, index=pd.RangeIndex(length, name="t"))


def mackey_glass_noisy(
    length: int = 2000, *, noise: float = 0.05, seed: int = 0, **kwargs: float
) -> pd.DataFrame:
    """Mackey-Glass (see :func:`mackey_glass`) observed with i.i.d. Gaussian noise of std ``noise``.

    The noise makes the next value genuinely uncertain, so a probabilistic forecaster's intervals
    can be checked for calibration (the clean series is nearly deterministic).

    >>> clean, noisy = mackey_glass(300), mackey_glass_noisy(300, noise=0.05)
    >>> round(float((noisy - clean)["x"].std()), 2)
    0.05
    """
    if not noise >= 0:
        raise ConfigError(f"mackey_glass_noisy: noise must be >= 0, got {noise}")
    frame = mackey_glass(length, seed=seed, **kwargs)
    rng = np.random.default_rng(seed + 1)
    return frame.assign(x=frame["x"] + noise * rng.standard_normal(length))


def lorenz(
    length: int = 2000,
    *,
    sigma: float = 10.0,
    rho: float = 28.0,
    beta: float = 8.0 / 3.0,
    dt: float = 0.01,
    sample_every: int = 5,
    burn_in: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """The x component of the Lorenz system, integrated with classical RK4.

    Args:
        length: samples returned after the burn-in.
        sigma, rho, beta: the system's constants (the chaotic defaults).
        dt: integration step.
        sample_every: integration steps between returned samples.
        burn_in: samples discarded at the start.
        seed: draws the initial state.

    Returns:
        A DataFrame with one column ``x`` and a RangeIndex named ``t``.
    """
    rng = np.random.default_rng(seed)
    state = np.array([1.0, 1.0, 1.0]) + rng.standard_normal(3)

    def deriv(s: np.ndarray) -> np.ndarray:
        return np.array(
            [sigma * (s[1] - s[0]), s[0] * (rho - s[2]) - s[1], s[0] * s[1] - beta * s[2]]
        )

    out = _rk4_samples(deriv, state, length + burn_in, dt=dt, sample_every=sample_every)
    return pd.DataFrame({"x": out[burn_in:, 0]}, index=pd.RangeIndex(length, name="t"))


def _rk4_samples(
    deriv: Callable[[np.ndarray], np.ndarray],
    state: np.ndarray,
    samples: int,
    *,
    dt: float,
    sample_every: int,
) -> np.ndarray:
    """``(samples, D)`` states of ``ds/dt = deriv(s)`` from ``state``, integrated with classical
    RK4 at step ``dt`` and kept every ``sample_every`` steps."""
    out = np.empty((samples, len(state)))
    for i in range(samples):
        for _ in range(sample_every):
            k1 = deriv(state)
            k2 = deriv(state + 0.5 * dt * k1)
            k3 = deriv(state + 0.5 * dt * k2)
            k4 = deriv(state + dt * k3)
            state = state + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        out[i] = state
    return out


def thomas(
    length: int = 4000,
    *,
    b: float = 0.1998,
    dt: float = 0.05,
    sample_every: int = 2,
    burn_in: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Thomas' cyclically symmetric attractor, integrated with classical RK4.

    ``dx/dt = sin(y) - b x``, ``dy/dt = sin(z) - b y``, ``dz/dt = sin(x) - b z``; chaotic for
    ``b`` below about 0.208 (0.1998 here). Sampled every ``dt * sample_every = 0.1`` time
    units; the largest Lyapunov exponent measured at this ``b`` (Benettin's method, 3,000 time
    units) is about 0.035, so one Lyapunov time is about 290 samples.

    Args:
        length: samples returned after the burn-in.
        b: the damping constant.
        dt: integration step.
        sample_every: integration steps between returned samples.
        burn_in: samples discarded at the start.
        seed: draws the initial state.

    Returns:
        A DataFrame with columns ``x, y, z`` and a RangeIndex named ``t``.

    >>> frame = thomas(50, burn_in=10)
    >>> list(frame.columns), frame.shape
    (['x', 'y', 'z'], (50, 3))
    """
    rng = np.random.default_rng(seed)
    state = np.array([0.1, 0.0, -0.1]) + 0.1 * rng.standard_normal(3)

    def deriv(s: np.ndarray) -> np.ndarray:
        return np.sin(s[[1, 2, 0]]) - b * s

    out = _rk4_samples(deriv, state, length + burn_in, dt=dt, sample_every=sample_every)
    return pd.DataFrame(
        out[burn_in:], columns=["x", "y", "z"], index=pd.RangeIndex(length, name="t")
    )


def ar(
    length: int = 2000,
    *,
    coefficients: tuple[float, ...] = (0.6, -0.3, 0.2),
    noise_std: float = 1.0,
    burn_in: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """A stationary AR(p) process x_t = sum_i a_i x_{t-i} + e_t with Gaussian noise.

    Raises:
        ConfigError: when the coefficients give a non-stationary process.

    >>> ar(5, coefficients=(1.2,))
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: ar: coefficients (1.2,) are not stationary (a root of the AR polynomial lies inside the unit circle); use coefficients whose polynomial has all roots outside it, e.g. (0.5,)
    """
    coefficients = tuple(float(a) for a in coefficients)
    roots = np.roots(np.r_[-np.array(coefficients[::-1]), 1.0])
    if len(coefficients) and np.any(np.abs(roots) <= 1.0):
        raise ConfigError(
            f"ar: coefficients {coefficients} are not stationary (a root of the AR polynomial lies "
            "inside the unit circle); use coefficients whose polynomial has all roots outside it, e.g. (0.5,)"
        )
    rng = np.random.default_rng(seed)
    noise = noise_std * rng.standard_normal(length + burn_in)
    from scipy.signal import lfilter  # imported here: scipy.signal alone takes seconds

    x = lfilter([1.0], np.r_[1.0, -np.array(coefficients)], noise)
    return pd.DataFrame({"x": x[burn_in:]}, index=pd.RangeIndex(length, name="t"))


def sine(
    length: int = 2000,
    *,
    periods: tuple[float, ...] = (24.0, 168.0),
    amplitudes: tuple[float, ...] = (1.0, 0.5),
    noise_std: float = 0.1,
    seed: int = 0,
) -> pd.DataFrame:
    """A sum of sines with random phases plus Gaussian noise, on an hourly time index.

    The default periods are a day and a week of hourly data.
    """
    if len(periods) != len(amplitudes):
        raise ConfigError(
            f"sine: {len(periods)} periods but {len(amplitudes)} amplitudes; give one amplitude per period"
        )
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    phases = rng.uniform(0, 2 * np.pi, len(periods))
    x = sum(a * np.sin(2 * np.pi * t / p + ph) for p, a, ph in zip(periods, amplitudes, phases))
    x = x + noise_std * rng.standard_normal(length)
    index = pd.date_range("2020-01-01", periods=length, freq="h", name="time")
    return pd.DataFrame({"x": x}, index=index)
