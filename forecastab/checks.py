"""Checks of the library API's arguments: the same one-line errors as the command line.

``ForecastModule``, ``forecast`` and ``predict_origins`` take lengths, learning rates, contexts
and origins from Python callers, who may pass numpy integers, strings, NaN or floats; each is
accepted when it means what it says and refused with one line otherwise.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from forecastab.errors import ConfigError, DataError


def physical_memory() -> int | None:
    """This machine's physical memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def positive_int(value: Any, key: str) -> int:
    """``value`` as an ``int`` when it is a positive whole number (numpy integers included).

    >>> positive_int(np.int64(3), "horizon")
    3
    >>> positive_int(2.5, "horizon")
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: horizon must be a positive integer, got 2.5
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{key} must be a positive integer, got {value!r}")
    return int(value)


def learning_rate(value: Any) -> float:
    """A finite, positive learning rate as a float (text such as ``"1e-3"`` is refused).

    >>> learning_rate(float("inf"))
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: learning_rate must be finite, got inf
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(
            f"learning_rate must be a number, got {type(value).__name__} {value!r}"
            + ("; write it without quotes" if isinstance(value, str) else "")
        )
    if not math.isfinite(value):
        raise ConfigError(f"learning_rate must be finite, got {value!r}")
    if value <= 0:
        raise ConfigError(f"learning_rate must be positive, got {value!r}")
    return float(value)


def forecast_horizon(horizon: Any, default: int) -> int:
    """The horizon of a ``forecast`` call: ``None`` means the trained one, else a positive int."""
    if horizon is None:
        return default
    return positive_int(horizon, "horizon")


def context_tensor(context: Any, *, device: Any = None) -> Any:
    """A forecast's context as a float32 tensor (a copy), refusing what is not real numbers.

    Text, mappings, ragged lists, object arrays holding text and complex values (whose
    imaginary part a cast would drop silently) are one line each.

    >>> context_tensor([[[1], [2]]]).shape
    torch.Size([1, 2, 1])
    >>> context_tensor("hello")
    Traceback (most recent call last):
    ...
    forecastab.errors.DataError: context must be an array of numbers shaped (B, L, C), got str 'hello'
    """
    import torch

    if isinstance(context, torch.Tensor):
        if context.is_complex():
            raise DataError(_COMPLEX_CONTEXT)
        return context.to(device=device, dtype=torch.float32)
    if context is None or isinstance(context, str | bytes | dict):
        shown = repr(context) if len(repr(context)) <= 40 else repr(context)[:37] + "..."
        raise DataError(
            f"context must be an array of numbers shaped (B, L, C), got "
            f"{type(context).__name__} {shown}"
        )
    try:
        array = np.asarray(context)
    except ValueError:  # ragged nested lists
        raise DataError(
            "context must be an array of numbers shaped (B, L, C); its rows differ in length"
        ) from None
    if array.dtype.kind == "c":
        raise DataError(_COMPLEX_CONTEXT)
    if array.dtype.kind not in "biuf":
        for value in array.flat:
            if isinstance(value, complex | np.complexfloating):
                raise DataError(_COMPLEX_CONTEXT)
            try:
                float(value)
            except (TypeError, ValueError):
                raise DataError(
                    f"context must hold numbers, got {type(value).__name__} {value!r}; convert "
                    "the values to float (array.astype(float))"
                ) from None
        array = array.astype(np.float64)
    return torch.tensor(array, dtype=torch.float32, device=device)


_COMPLEX_CONTEXT = (
    "context holds complex numbers; forecasts are of real values (the imaginary part would be "
    "lost): pass the real and imaginary parts as two columns, or the magnitude"
)


def finite_context(context: Any) -> None:
    """Refuse an empty context or one holding NaN or +/-inf (the forecast would be NaN).

    Args:
        context: A ``(B, L, C)`` tensor.
    """
    if context.shape[1] < 1:
        raise DataError("context must hold at least one time step, got length 0")
    finite = context.isfinite()
    if not bool(finite.all()):
        batch, step, column = (int(i) for i in (~finite).nonzero()[0])
        raise DataError(
            f"context holds NaN or +/-inf ({int((~finite).sum())} value(s), the first at "
            f"[{batch}, {step}, {column}]); fill them first (validate_series(fill_missing=...))"
        )


def whole_origins(origins: Any) -> np.ndarray:
    """Origins as int64 row numbers; fractional values are refused instead of truncated."""
    array = np.asarray(origins)
    if array.size == 0 or array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "f":
        bad = array[~(np.isfinite(array) & (array == np.round(array)))]
        if bad.size == 0:
            return array.astype(np.int64)
        raise DataError(f"origins must be whole row numbers, got {float(bad[0])!r}")
    raise DataError(f"origins must be whole row numbers, got values of type {array.dtype}")


def lengths_agree(forecaster: Any, context_length: int, horizon: int, where: str) -> None:
    """Refuse data windows whose lengths differ from those a forecaster was built for.

    Forecasters without ``context_length``/``horizon`` attributes (baselines) fit any windows.

    Args:
        forecaster: A ``ForecastModule`` or any forecaster.
        context_length: The data's context length.
        horizon: The data's horizon.
        where: What holds the data, for the message (``the data module``).

    Raises:
        DataError: Naming both lengths and the fix.
    """
    name = getattr(forecaster, "name", type(forecaster).__name__)
    for key, own, theirs in (
        ("context_length", getattr(forecaster, "context_length", None), context_length),
        ("horizon", getattr(forecaster, "horizon", None), horizon),
    ):
        if own is not None and int(own) != int(theirs):
            raise DataError(
                f"model '{name}' was built for {key} {int(own)} but {where} has {key} "
                f"{int(theirs)}; build {where} with {key}={int(own)}"
            )
