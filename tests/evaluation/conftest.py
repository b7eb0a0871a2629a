"""Stand-ins for the data module and forecasters, with just the attributes evaluation reads."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from forecastab.data.windows import window_view


class StandInScaler:
    """z-scores fitted on given rows."""

    def __init__(self, rows: np.ndarray):
        self.mean = rows.mean(axis=0)
        self.std = rows.std(axis=0)

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        return x * self.std + self.mean


class StandInData:
    """The attributes of WindowDataModule that evaluate uses, on a given raw series."""

    def __init__(self, raw: np.ndarray, *, train_stop: int, context_length: int, horizon: int):
        self.raw_values = np.asarray(raw, dtype=np.float64)  # (T, C)
        self.scaler = StandInScaler(self.raw_values[:train_stop])
        self.values = self.scaler.transform(self.raw_values).astype(np.float32)  # (T, C)
        self.context_length, self.horizon = context_length, horizon
        self.borders = SimpleNamespace(train=(0, train_stop), val=None, test=(train_stop, len(raw)))
        self.name = "standin"
        self.season_length = None
        self.target_columns = [f"x{i}" for i in range(self.raw_values.shape[1])]

    def origins(self, split: str = "test", stride: int = 1) -> np.ndarray:
        start, stop = getattr(self.borders, split)
        return np.arange(start - 1, stop - self.horizon, stride)


class DriftForecaster:
    """Last value plus the mean slope of the context; teacher forced: the true previous value."""

    name = "drift"
    supported_modes = ("free_running", "teacher_forced")

    def predict_origins(self, values, origins, *, context_length, horizon, mode="free_running"):
        contexts = window_view(values, context_length)[origins - context_length + 1]  # (N, L, C)
        if mode == "teacher_forced":
            return window_view(values, horizon)[origins]  # (N, H, C) values[t : t+H]
        slope = (contexts[:, -1] - contexts[:, 0]) / max(context_length - 1, 1)  # (N, C)
        steps = np.arange(1, horizon + 1)[None, :, None]
        return contexts[:, -1:, :] + slope[:, None, :] * steps  # (N, H, C)


class NaiveBaseline:
    """Repeats the last value; free running only."""

    name = "naive"
    supported_modes = ("free_running",)
    is_baseline = True

    def predict_origins(self, values, origins, *, context_length, horizon, mode="free_running"):
        last = values[origins]  # (N, C)
        return np.repeat(last[:, None, :], horizon, axis=1)  # (N, H, C)


class DivergingForecaster(DriftForecaster):
    """Blows up at every third origin: inf in free running, NaN in teacher forcing."""

    name = "diverging"

    def predict_origins(self, values, origins, *, context_length, horizon, mode="free_running"):
        out = np.array(
            super().predict_origins(
                values, origins, context_length=context_length, horizon=horizon, mode=mode
            ),
            dtype=np.float64,
        )
        out[::3, horizon // 2 :] = np.inf if mode == "free_running" else np.nan
        return out


@pytest.fixture
def standin_data() -> StandInData:
    rng = np.random.default_rng(0)
    t = np.arange(300)
    raw = np.stack(
        [10 + 3 * np.sin(t / 7) + rng.normal(0, 0.5, 300), 100 + 0.2 * t + rng.normal(0, 5, 300)],
        axis=1,
    )  # (T, 2)
    return StandInData(raw, train_stop=200, context_length=20, horizon=12)


@pytest.fixture
def make_data():
    """Factory: StandInData(raw, train_stop=..., context_length=..., horizon=...)."""
    return StandInData


@pytest.fixture
def drift() -> DriftForecaster:
    return DriftForecaster()


@pytest.fixture
def naive() -> NaiveBaseline:
    return NaiveBaseline()


@pytest.fixture
def diverging() -> DivergingForecaster:
    return DivergingForecaster()
