"""What a Python caller passes to ``forecast`` and ``predict`` (issue 20, C8 and U2): anything
that is not real numbers is one ForecastabError line, and numeric times take text origins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from forecastab.errors import DataError
from forecastab.forecasting import origin_positions
from forecastab.models import ForecastModule, RNNConfig


@pytest.fixture(scope="module")
def model() -> ForecastModule:
    return ForecastModule(RNNConfig(hidden_size=4), context_length=6, horizon=3, n_targets=1)


COMPLEX = (
    "context holds complex numbers; forecasts are of real values (the imaginary part would be "
    "lost): pass the real and imaginary parts as two columns, or the magnitude"
)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ("hello", "context must be an array of numbers shaped (B, L, C), got str 'hello'"),
        (None, "context must be an array of numbers shaped (B, L, C), got NoneType None"),
        ({"y": [1.0]}, "context must be an array of numbers shaped (B, L, C), got dict {'y': [1.0]}"),
        (
            np.array([[[1.0], ["a"]]], dtype=object),
            "context must hold numbers, got str 'a'; convert the values to float "
            "(array.astype(float))",
        ),
        (
            [[[1.0], [2.0]], [[1.0]]],
            "context must be an array of numbers shaped (B, L, C); its rows differ in length",
        ),
        (np.ones((1, 6, 1)) * (1 + 2j), COMPLEX),
        (np.array([[[1 + 2j]] * 6], dtype=object), COMPLEX),
        (torch.ones(1, 6, 1, dtype=torch.complex64), COMPLEX),
    ],
    ids=["text", "none", "mapping", "object-text", "ragged", "complex", "object-complex", "tensor-complex"],
)
def test_a_context_that_is_not_real_numbers_is_one_line(
    model: ForecastModule, context: object, message: str
) -> None:
    with pytest.raises(DataError) as caught:
        model.forecast(context)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "context",
    [
        np.zeros((2, 6, 1)),
        np.zeros((2, 6, 1), dtype=object),
        np.zeros((2, 6, 1), dtype=np.int32),
        [[[0.0]] * 6] * 2,
        torch.zeros(2, 6, 1, dtype=torch.float64),
    ],
    ids=["float", "object-numbers", "int", "lists", "tensor"],
)
def test_numbers_in_any_container_forecast(model: ForecastModule, context: object) -> None:
    assert model.forecast(context).shape == (2, 3, 1)


@pytest.mark.parametrize(
    ("index", "origins", "positions"),
    [
        (pd.Index(np.arange(1700.0, 1800.0), name="YEAR"), ["1720", "1790"], [20, 90]),
        (pd.Index(np.arange(1700, 1800), name="YEAR"), ["1720"], [20]),
        (pd.Index(np.arange(1700, 1800)), [1750.0], [50]),
        (pd.Index(np.arange(100) * 0.5), "10.5", [21]),
    ],
    ids=["float-years", "int-years", "float-origin", "half-steps"],
)
def test_text_origins_on_numeric_times(index: pd.Index, origins: object, positions: list[int]) -> None:
    """U2: `predict --origin 1990` passes text; the data's years are numbers."""
    assert origin_positions(index, origins, context_length=6).tolist() == positions


def test_a_text_origin_that_is_no_number_is_one_line() -> None:
    with pytest.raises(DataError) as caught:
        origin_positions(pd.Index(np.arange(1700.0, 1800.0)), ["abc"], context_length=6)
    assert str(caught.value) == (
        "origin 'abc' is not a number, but the data's times are numbers (1700.0 to 1799.0); "
        "give one of them"
    )
