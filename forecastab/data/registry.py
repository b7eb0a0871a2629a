"""Bundled datasets: real series shipped with the project or with statsmodels, and seeded generators.

``load_dataset(name)`` returns the time-indexed DataFrame and the default target; nothing is
downloaded, everything works offline. ``list_datasets()`` reads each dataset's shape from its
card (``DatasetInfo``) without loading or generating it, so ``forecastab datasets`` is instant;
a test checks every card against the loaded frame.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from forecastab.data import synthetic
from forecastab.errors import ConfigError, DataError, unknown_name


def datasets_dir() -> Path:
    """The folder of bundled data files (``FORECASTAB_DATASETS`` overrides it)."""
    override = os.environ.get("FORECASTAB_DATASETS")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "datasets"


def _etth1() -> pd.DataFrame:
    path = datasets_dir() / "ETTh1.csv"
    if not path.exists():
        raise DataError(
            f"bundled file {path} is missing; reinstall from a full checkout or set FORECASTAB_DATASETS"
        )
    frame = pd.read_csv(path, parse_dates=["date"], index_col="date")
    frame.index.freq = "h"
    return frame


def _chaos135() -> pd.DataFrame:
    from forecastab.data.chaos import load

    return load(datasets_dir())


CHAOS135_ROWS = 199_500
"""Rows of the shipped chaos135 panel (systems that integrated x 1,500 samples)."""


def _statsmodels(name: str, column: str, time: str | None, freq: str | None) -> pd.DataFrame:
    # the dataset's own module: importing statsmodels.api would load every model (seconds)
    frame = importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data
    if time is not None:
        years = frame.pop(time).astype(int).astype(str)
        frame.index = pd.DatetimeIndex(pd.to_datetime(years, format="%Y"), name=time, freq=freq)
    return frame[[column]].astype(float)


def _co2() -> pd.DataFrame:
    frame = importlib.import_module("statsmodels.datasets.co2").load_pandas().data.astype(float)
    frame.index = pd.DatetimeIndex(frame.index, name="date", freq="W-SAT")
    return frame


@dataclass(frozen=True)
class DatasetInfo:
    """What a bundled dataset is and where it comes from."""

    name: str
    loader: Callable[[], pd.DataFrame]
    target: str
    source: str
    license: str
    description: str
    season_length: int | None = None
    length: int = 0
    """Rows of the loaded frame (checked against it by the tests)."""
    frequency: str = "step"
    """The index's pandas frequency string, or ``step`` for a plain integer index."""
    columns: tuple[str, ...] = ()
    """The frame's columns, in order."""


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo(
            "etth1",
            _etth1,
            "OT",
            "ETDataset (Zhou et al., Informer, AAAI 2021), datasets/ETTh1.csv",
            "CC BY-ND 4.0",
            "electricity transformer temperature, hourly, 2016-07 to 2018-06; OT is oil temperature",
            24,
            length=17420,
            frequency="h",
            columns=("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"),
        ),
        DatasetInfo(
            "sunspots",
            lambda: _statsmodels("sunspots", "SUNACTIVITY", "YEAR", "YS-JAN"),
            "SUNACTIVITY",
            "statsmodels.datasets.sunspots",
            "public domain",
            "yearly mean sunspot number 1700-2008; the solar cycle is about 11 years",
            11,
            length=309,
            frequency="YS-JAN",
            columns=("SUNACTIVITY",),
        ),
        DatasetInfo(
            "co2",
            _co2,
            "co2",
            "statsmodels.datasets.co2 (Mauna Loa)",
            "public domain",
            "weekly atmospheric CO2 1958-2001; 59 missing weeks, so use fill_missing",
            52,
            length=2284,
            frequency="W-SAT",
            columns=("co2",),
        ),
        DatasetInfo(
            "nile",
            lambda: _statsmodels("nile", "volume", "year", "YS-JAN"),
            "volume",
            "statsmodels.datasets.nile",
            "public domain",
            "yearly Nile flow at Aswan 1871-1970",
            None,
            length=100,
            frequency="YS-JAN",
            columns=("volume",),
        ),
        DatasetInfo(
            "mackey_glass",
            synthetic.mackey_glass,
            "x",
            "generated: Mackey-Glass delay equation, tau 17",
            "generated",
            "mildly chaotic delay-differential series, seeded",
            None,
            length=2000,
            frequency="step",
            columns=("x",),
        ),
        DatasetInfo(
            "mackey_glass_noisy",
            synthetic.mackey_glass_noisy,
            "x",
            "generated: Mackey-Glass, tau 17, plus Gaussian observation noise (std 0.05)",
            "generated",
            "the chaotic series observed with noise, for calibration checks, seeded",
            None,
            length=2000,
            frequency="step",
            columns=("x",),
        ),
        DatasetInfo(
            "lorenz",
            synthetic.lorenz,
            "x",
            "generated: Lorenz system, x component, RK4",
            "generated",
            "chaotic series, seeded",
            None,
            length=2000,
            frequency="step",
            columns=("x",),
        ),
        DatasetInfo(
            "thomas",
            synthetic.thomas,
            "x",
            "generated: Thomas' cyclically symmetric attractor (b 0.1998), RK4, every 0.1",
            "generated",
            "chaotic three-variable series, seeded; one Lyapunov time is about 290 samples",
            None,
            length=4000,
            frequency="step",
            columns=("x", "y", "z"),
        ),
        DatasetInfo(
            "chaos135",
            _chaos135,
            "x",
            "generated: the dysts flows (Gilpin 2021), first coordinate, 15 points per period, "
            "datasets/chaos135.csv.gz",
            "Apache-2.0 (dysts)",
            "a panel (unique_id = system) of chaotic flows with Lyapunov exponents; docs/chaos135.md",
            None,
            length=CHAOS135_ROWS,
            frequency="step",
            columns=("unique_id", "t", "x", "lyapunov_exponent", "period", "sample_dt",
                     "lyapunov_time_steps"),
        ),
        DatasetInfo(
            "ar",
            synthetic.ar,
            "x",
            "generated: stationary AR(3)",
            "generated",
            "linear autoregressive process, seeded",
            None,
            length=2000,
            frequency="step",
            columns=("x",),
        ),
        DatasetInfo(
            "sine",
            synthetic.sine,
            "x",
            "generated: sum of daily and weekly sines plus noise",
            "generated",
            "noisy multi-period series on an hourly index, seeded",
            24,
            length=2000,
            frequency="h",
            columns=("x",),
        ),
    ]
}


def load_dataset(
    name: str, generator: Mapping[str, Any] | None = None
) -> tuple[pd.DataFrame, str]:
    """A bundled dataset and its default target column.

    Args:
        name: one of ``list_datasets()["name"]``.
        generator: parameters of a generated dataset's generator (see
            :func:`generator_options`); None or empty gives the bundled default.

    Returns:
        ``(frame, target)``: the time-indexed DataFrame and the name of its default target.

    Raises:
        DataError: for an unknown name, suggesting the nearest one.

    >>> frame, target = load_dataset("nile")
    >>> target, len(frame)
    ('volume', 100)
    """
    if name not in DATASETS:
        raise DataError(unknown_name("dataset", name, DATASETS))
    info = DATASETS[name]
    if not generator:
        return info.loader(), info.target
    return synthetic.GENERATORS[name](**generator_options(name, generator)), info.target


def generator_options(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of the generated dataset ``name``: its defaults with ``given`` over them,
    each checked (names, types, values and the constraints between them) without generating.

    Raises:
        ConfigError: ``name`` is not generated, or a parameter is unknown or impossible (one
            line naming it and the valid names).

    >>> generator_options("thomas", {"b": 0.1})["b"], generator_options("thomas", {})["length"]
    (0.1, 4000)
    >>> generator_options("etth1", {"length": 10})
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: dataset 'etth1' is not generated, so it takes no generator parameters; generated datasets: ar, lorenz, mackey_glass, mackey_glass_noisy, sine, thomas
    """
    if name not in synthetic.GENERATORS:
        raise ConfigError(
            f"dataset '{name}' is not generated, so it takes no generator parameters; "
            f"generated datasets: {', '.join(sorted(synthetic.GENERATORS))}"
        )
    return synthetic.check_generator(name, given)


def list_datasets() -> pd.DataFrame:
    """One row per bundled dataset: name, length, frequency, columns, target, source, license.

    Read from the datasets' cards: nothing is loaded or generated.
    """
    rows = []
    for info in DATASETS.values():
        rows.append(
            {
                "name": info.name,
                "length": info.length,
                "frequency": info.frequency,
                "columns": ", ".join(info.columns),
                "target": info.target,
                "source": info.source,
                "license": info.license,
                "description": info.description,
            }
        )
    return pd.DataFrame(rows)
