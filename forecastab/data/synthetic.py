"""Seeded synthetic series with known dynamics: the textbook cases for exposure bias.

Each generator is deterministic for a given seed and returns a one-column DataFrame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from forecastab.errors import ConfigError, nearest


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
    initial_value: float | None = None,
    method: str = "rk4",
    noise: float = 0.0,
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
        initial_value: the constant initial history; None draws it around 1.2 from ``seed``.
        method: ``rk4``, or ``euler``: the explicit Euler step ``x += dt f(x, x(t - tau))``
            (at ``dt = 1`` the discrete map the flipped-classroom paper's data come from).
        noise: std of i.i.d. Gaussian observation noise added to the samples (drawn from
            ``seed + 1``); 0 adds none.
        seed: draws the constant initial history around 1.2.

    Returns:
        A DataFrame with one column ``x`` and a RangeIndex named ``t``.

    >>> a, b = mackey_glass(50, seed=3), mackey_glass(50, seed=3)
    >>> bool((a == b).all().all()), a.shape
    (True, (50, 1))
    """
    check_parameters("mackey_glass", locals())
    delay, every = _mackey_glass_steps(tau, sample_every, dt)
    rng = np.random.default_rng(seed)
    steps = (length + burn_in) * every
    x = np.empty(delay + steps + 1)
    start = 1.2 + 0.1 * rng.standard_normal()
    x[: delay + 1] = start if initial_value is None else initial_value

    def rate(value: float, lagged: float) -> float:
        return beta * lagged / (1.0 + lagged**n) - gamma * value

    if method == "euler":
        for i in range(delay, delay + steps):
            x[i + 1] = x[i] + dt * rate(x[i], x[i - delay])
    else:
        for i in range(delay, delay + steps):
            lag_now, lag_next = x[i - delay], x[i - delay + 1]
            lag_mid = 0.5 * (lag_now + lag_next)
            k1 = rate(x[i], lag_now)
            k2 = rate(x[i] + 0.5 * dt * k1, lag_mid)
            k3 = rate(x[i] + 0.5 * dt * k2, lag_mid)
            k4 = rate(x[i] + dt * k3, lag_next)
            x[i + 1] = x[i] + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    samples = _observed(x[delay::every][burn_in : burn_in + length], noise, seed)
    return pd.DataFrame({"x": samples}, index=pd.RangeIndex(length, name="t"))


def _observed(values: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """``values`` plus i.i.d. Gaussian noise of std ``noise`` drawn from ``seed + 1`` (the
    values themselves, untouched, when ``noise`` is 0)."""
    if noise == 0:
        return values
    rng = np.random.default_rng(seed + 1)
    return values + noise * rng.standard_normal(values.shape)


def mackey_glass_noisy(
    length: int = 2000,
    *,
    tau: float = 17.0,
    beta: float = 0.2,
    gamma: float = 0.1,
    n: float = 10.0,
    dt: float = 0.1,
    sample_every: float = 1.0,
    burn_in: int = 500,
    initial_value: float | None = None,
    method: str = "rk4",
    noise: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Mackey-Glass (see :func:`mackey_glass`) observed with i.i.d. Gaussian noise of std ``noise``.

    The noise makes the next value genuinely uncertain, so a probabilistic forecaster's intervals
    can be checked for calibration (the clean series is nearly deterministic). The same
    parameters as :func:`mackey_glass`, with ``noise`` 0.05 by default.

    >>> clean, noisy = mackey_glass(300), mackey_glass_noisy(300, noise=0.05)
    >>> round(float((noisy - clean)["x"].std()), 2)
    0.05
    """
    options = dict(locals())
    check_parameters("mackey_glass_noisy", options)
    return mackey_glass(options.pop("length"), **options)


def lorenz(
    length: int = 2000,
    *,
    sigma: float = 10.0,
    rho: float = 28.0,
    beta: float = 8.0 / 3.0,
    dt: float = 0.01,
    sample_every: int = 5,
    burn_in: int = 200,
    initial_state: tuple[float, float, float] | None = None,
    components: tuple[str, ...] = ("x",),
    noise: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """The Lorenz system (its x component by default), integrated with classical RK4.

    Args:
        length: samples returned after the burn-in.
        sigma, rho, beta: the system's constants (the chaotic defaults).
        dt: integration step.
        sample_every: integration steps between returned samples.
        burn_in: samples discarded at the start.
        initial_state: the state ``(x, y, z)`` the integration starts from; None draws it
            around ``(1, 1, 1)`` from ``seed``.
        components: the coordinates returned, in order (a subset of ``x, y, z``).
        noise: std of i.i.d. Gaussian observation noise (drawn from ``seed + 1``); 0 adds none.
        seed: draws the initial state.

    Returns:
        A DataFrame with one column per component (``x`` by default) and a RangeIndex named ``t``.
    """
    check_parameters("lorenz", locals())
    rng = np.random.default_rng(seed)
    state = np.array([1.0, 1.0, 1.0]) + rng.standard_normal(3)
    if initial_state is not None:
        state = np.array(initial_state, dtype=float)

    def deriv(s: np.ndarray) -> np.ndarray:
        return np.array(
            [sigma * (s[1] - s[0]), s[0] * (rho - s[2]) - s[1], s[0] * s[1] - beta * s[2]]
        )

    out = _rk4_samples(deriv, state, length + burn_in, dt=dt, sample_every=sample_every)
    columns = list(components)
    kept = _observed(out[burn_in:, ["xyz".index(c) for c in columns]], noise, seed)
    return pd.DataFrame(kept, columns=columns, index=pd.RangeIndex(length, name="t"))


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
    initial_state: tuple[float, float, float] | None = None,
    noise: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Thomas' cyclically symmetric attractor, integrated with classical RK4.

    ``dx/dt = sin(y) - b x``, ``dy/dt = sin(z) - b y``, ``dz/dt = sin(x) - b z``; chaotic for
    ``b`` below about 0.208 (0.1998 here). Sampled every ``dt * sample_every = 0.1`` time
    units; the largest Lyapunov exponent measured at this ``b`` (Benettin's method, 3,000 time
    units) is about 0.035, so one Lyapunov time is about 290 samples; at ``b = 0.1`` (the
    flipped-classroom paper's value) it is about 0.055, one Lyapunov time 182 samples.

    Args:
        length: samples returned after the burn-in.
        b: the damping constant.
        dt: integration step.
        sample_every: integration steps between returned samples.
        burn_in: samples discarded at the start.
        initial_state: the state ``(x, y, z)`` the integration starts from; None draws it
            around ``(0.1, 0, -0.1)`` from ``seed``.
        noise: std of i.i.d. Gaussian observation noise (drawn from ``seed + 1``); 0 adds none.
        seed: draws the initial state.

    Returns:
        A DataFrame with columns ``x, y, z`` and a RangeIndex named ``t``.

    >>> frame = thomas(50, burn_in=10)
    >>> list(frame.columns), frame.shape
    (['x', 'y', 'z'], (50, 3))
    """
    check_parameters("thomas", locals())
    rng = np.random.default_rng(seed)
    state = np.array([0.1, 0.0, -0.1]) + 0.1 * rng.standard_normal(3)
    if initial_state is not None:
        state = np.array(initial_state, dtype=float)

    def deriv(s: np.ndarray) -> np.ndarray:
        return np.sin(s[[1, 2, 0]]) - b * s

    out = _rk4_samples(deriv, state, length + burn_in, dt=dt, sample_every=sample_every)
    return pd.DataFrame(
        _observed(out[burn_in:], noise, seed),
        columns=["x", "y", "z"],
        index=pd.RangeIndex(length, name="t"),
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
    check_parameters("ar", locals())
    coefficients = _stationary(coefficients)
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
    check_parameters("sine", locals())
    _one_amplitude_per_period(periods, amplitudes)
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    phases = rng.uniform(0, 2 * np.pi, len(periods))
    x = sum(a * np.sin(2 * np.pi * t / p + ph) for p, a, ph in zip(periods, amplitudes, phases))
    x = x + noise_std * rng.standard_normal(length)
    index = pd.date_range("2020-01-01", periods=length, freq="h", name="time")
    return pd.DataFrame({"x": x}, index=index)


# -- parameters ---------------------------------------------------------------------------------
# Every generator's parameters can be set from an experiment file (``data.generator``), so each
# is checked here, before anything is integrated: a wrong type or an impossible value is one line.


def _mackey_glass_steps(tau: float, sample_every: float, dt: float) -> tuple[int, int]:
    """The delay and the sampling interval in integration steps; both must be whole."""
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
    return delay, every


def _stationary(coefficients: tuple[float, ...]) -> tuple[float, ...]:
    coefficients = tuple(float(a) for a in coefficients)
    roots = np.roots(np.r_[-np.array(coefficients[::-1]), 1.0])
    if len(coefficients) and np.any(np.abs(roots) <= 1.0):
        raise ConfigError(
            f"ar: coefficients {coefficients} are not stationary (a root of the AR polynomial lies "
            "inside the unit circle); use coefficients whose polynomial has all roots outside it, e.g. (0.5,)"
        )
    return coefficients


def _one_amplitude_per_period(periods: tuple[float, ...], amplitudes: tuple[float, ...]) -> None:
    if len(periods) != len(amplitudes):
        raise ConfigError(
            f"sine: {len(periods)} periods but {len(amplitudes)} amplitudes; give one amplitude per period"
        )


GENERATORS: dict[str, Callable[..., pd.DataFrame]] = {
    "mackey_glass": mackey_glass,
    "mackey_glass_noisy": mackey_glass_noisy,
    "lorenz": lorenz,
    "thomas": thomas,
    "ar": ar,
    "sine": sine,
}
"""The generators by dataset name (the bundled datasets of the same names are their defaults)."""


def _real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _reals(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(_real(v) for v in value)


# (test, what it must be) per parameter name; a name means the same in every generator
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "length": (lambda v: _integer(v) and v > 0, "a positive integer"),
    "burn_in": (lambda v: _integer(v) and v >= 0, "an integer >= 0"),
    "seed": (lambda v: _integer(v) and v >= 0, "an integer >= 0"),
    "dt": (lambda v: _real(v) and v > 0, "a number > 0"),
    "tau": (lambda v: _real(v) and v > 0, "a number > 0"),
    "b": (lambda v: _real(v) and v > 0, "a number > 0 (chaotic below about 0.208)"),
    "noise": (lambda v: _real(v) and v >= 0, "a number >= 0"),
    "noise_std": (lambda v: _real(v) and v >= 0, "a number >= 0"),
    "initial_value": (lambda v: v is None or _real(v), "a number or null"),
    "method": (lambda v: v in ("rk4", "euler"), "rk4 or euler"),
    "initial_state": (
        lambda v: v is None or (_reals(v) and len(v) == 3),
        "a list of 3 numbers [x, y, z] or null",
    ),
    "components": (
        lambda v: isinstance(v, list | tuple)
        and 0 < len(v) == len(set(v))
        and all(c in ("x", "y", "z") for c in v),
        "a non-empty list of distinct names out of x, y, z",
    ),
    "coefficients": (_reals, "a list of numbers"),
    "periods": (lambda v: _reals(v) and len(v) > 0 and all(p > 0 for p in v), "a list of numbers > 0"),
    "amplitudes": (lambda v: _reals(v) and len(v) > 0, "a list of numbers"),
}


def _rule(name: str, parameter: str, default: Any) -> tuple[Callable[[Any], bool], str]:
    if parameter == "sample_every":
        if _integer(default):  # a count of integration steps (lorenz, thomas)
            return (lambda v: _integer(v) and v > 0, "a positive integer (integration steps)")
        return (lambda v: _real(v) and v > 0, "a number > 0 (time units)")
    return _RULES.get(parameter, (_real, "a finite number"))


def generator_parameters(name: str) -> dict[str, Any]:
    """The parameters of the generator ``name`` and their defaults, in signature order.

    >>> list(generator_parameters("thomas"))
    ['length', 'b', 'dt', 'sample_every', 'burn_in', 'initial_state', 'noise', 'seed']
    """
    import inspect

    return {
        parameter: value.default
        for parameter, value in inspect.signature(GENERATORS[name]).parameters.items()
    }


def check_parameters(name: str, given: Mapping[str, Any]) -> None:
    """Check parameters of the generator ``name``: known names, right types, possible values.

    Raises:
        ConfigError: one line naming the parameter and what it must be, or, for an unknown
            one, the nearest name and every valid one.

    >>> check_parameters("thomas", {"b": 0.1, "length": 10_000})
    >>> check_parameters("thomas", {"bb": 0.1})
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: thomas has no parameter 'bb' (did you mean 'b'?); its parameters: b, burn_in, dt, initial_state, length, noise, sample_every, seed
    >>> check_parameters("thomas", {"b": -1})
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: thomas: parameter 'b' must be a number > 0 (chaotic below about 0.208), got -1
    """
    defaults = generator_parameters(name)
    for parameter, value in given.items():
        if parameter not in defaults:
            guess = nearest(str(parameter), defaults)
            hint = f" (did you mean '{guess}'?)" if guess else ""
            raise ConfigError(
                f"{name} has no parameter '{parameter}'{hint}; its parameters: "
                + ", ".join(sorted(defaults))
            )
        test, must = _rule(name, parameter, defaults[parameter])
        if not test(value):
            raise ConfigError(f"{name}: parameter '{parameter}' must be {must}, got {value!r}")


def check_generator(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of the generator ``name``: the defaults with ``given`` over them, each
    checked, and the constraints between them (Mackey-Glass steps, AR stationarity, one sine
    amplitude per period) checked too, all without generating anything.

    Returns:
        The full parameter mapping the generator will be called with.

    >>> check_generator("mackey_glass", {"tau": 17.05})
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: mackey_glass: tau (17.05) and sample_every (1.0) must be multiples of dt (0.1)
    """
    check_parameters(name, given)
    full = {**generator_parameters(name), **given}
    if name.startswith("mackey_glass"):
        _mackey_glass_steps(full["tau"], full["sample_every"], full["dt"])
    elif name == "ar":
        _stationary(full["coefficients"])
    elif name == "sine":
        _one_amplitude_per_period(full["periods"], full["amplitudes"])
    return full
