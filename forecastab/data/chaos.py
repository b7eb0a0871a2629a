"""The ``chaos135`` panel: one trajectory of every chaotic flow in the ``dysts`` collection.

``dysts`` (Gilpin, NeurIPS 2021 Datasets and Benchmarks; Apache-2.0) defines 135 chaotic
flows with metadata estimated by its authors: the dominant period, the largest Lyapunov
exponent, an initial condition on the attractor. :func:`generate` integrates each flow from
that initial condition, samples it at a fixed number of points per period (dysts'
``resample=True``, the benchmark's convention) and keeps one coordinate, as the dysts
forecasting benchmark scores univariate series. The result is a long frame (``unique_id`` =
system name) and a table of per-system metadata, written as two gzip'd CSV files whose bytes
depend only on the :class:`ChaosSpec` and the dysts/scipy versions (gzip ``mtime`` 0, fixed
float format, systems in name order).

The shipped cache ``datasets/chaos135.csv.gz`` (+ ``chaos135_systems.csv``) is checked against
the SHA-256 recorded in :data:`CACHE_SHA256` on every load: a missing or corrupt file is
regenerated when ``dysts`` is importable, and otherwise reported in one line naming the file
and the fix. Regenerate by hand with::

    python -m forecastab.data.chaos --out datasets           # the shipped panel
    python -m forecastab.data.chaos --out /tmp/c --systems Lorenz Rossler --length 300

A flow that fails to integrate (an exception, no trajectory, non-finite values, or a
trajectory that left the attractor: its std off from the dysts metadata's by more than 5x) is dropped
and listed: in one warning at generation time and in the ``failed`` column of the systems
table, never silently.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import io
import json
import os
import signal
import sys
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from forecastab.errors import DataError

SERIES_FILE = "chaos135.csv.gz"
"""The long frame: ``unique_id, t, x`` (x the kept coordinate), one row per sample."""

SYSTEMS_FILE = "chaos135_systems.csv"
"""One row per system: metadata, the sampling interval, and whether it failed to integrate."""

CACHE_SHA256 = {
    SERIES_FILE: "d8e585373ffe4dcc8b272a7684c17571da94b0d532315c07ac28075f5c87d31f",
    SYSTEMS_FILE: "b6deffd045c6bc592d7ee60f9dabffa90e466f52204187d7ce7c39ee22900cfb",
}
"""The shipped files' SHA-256, checked on every load (printed by the generating command)."""

DYSTS_VERSION = "0.96"
"""The dysts release the shipped cache was generated with."""

FLOAT_FORMAT = "%.9g"
"""Nine significant digits: float32 precision, a third smaller than full doubles."""

STATIC_COLUMNS = ("lyapunov_exponent", "period", "sample_dt", "lyapunov_time_steps")
"""Per-system metadata joined onto every row of the loaded frame (usable as static covariates)."""


@dataclass(frozen=True)
class ChaosSpec:
    """What :func:`generate` integrates: the documented generation settings.

    Attributes:
        pts_per_period: samples per dominant period (dysts metadata ``period``); the dysts
            benchmark uses 100 (fine) and 15 (coarse).
        length: samples per system (``length / pts_per_period`` periods).
        coordinate: the state coordinate kept (0: the first, as the dysts benchmark).
        noise: observation noise, the std of added Gaussian noise as a fraction of each
            system's own std over its trajectory (0: none).
        seed: seeds the observation noise (and dysts' own generator).
        method, rtol, atol: scipy ``solve_ivp`` settings. LSODA (switching between stiff and
            non-stiff methods by itself) at 1e-9 takes about a second per system here; dysts'
            default (Radau at 1e-12) takes minutes for some systems.
        time_limit: seconds one system may take before it is dropped (listed as failed, like
            any other failure); generous, so that it only guards against a stuck integration.
        systems: flow names to generate; empty: every chaotic flow dysts lists.
    """

    pts_per_period: int = 15
    length: int = 1500
    coordinate: int = 0
    noise: float = 0.0
    seed: int = 0
    method: str = "LSODA"
    rtol: float = 1e-9
    atol: float = 1e-9
    systems: tuple[str, ...] = field(default_factory=tuple)
    time_limit: int = 300


SHIPPED = ChaosSpec()
"""The settings of the shipped ``chaos135`` cache."""


def _dysts():
    try:
        import dysts.flows as flows
        from dysts.systems import get_attractor_list
    except ImportError:
        return None
    return flows, get_attractor_list


def dysts_version() -> str | None:
    """The installed dysts version, or None when dysts is not importable."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dysts")
    except PackageNotFoundError:
        return None


class _TimeLimit:
    """Raise TimeoutError in the main thread after ``seconds`` (SIGALRM; a no-op elsewhere)."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.active = hasattr(signal, "SIGALRM") and seconds > 0

    def _raise(self, signum, frame):
        raise TimeoutError(f"integration took longer than {self.seconds} s")

    def __enter__(self):
        if self.active:
            try:
                self.previous = signal.signal(signal.SIGALRM, self._raise)
            except ValueError:  # not the main thread
                self.active = False
            else:
                signal.alarm(self.seconds)
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


STD_TOLERANCE = 5.0
"""A trajectory whose std is off from the dysts metadata's (estimated on the attractor) by more
than this factor either way has left the attractor (diverged, or decayed to a fixed point)."""


def _metadata_std(system, coordinate: int) -> float | None:
    std = getattr(system, "std", None)
    try:
        value = float(np.asarray(std, dtype=np.float64).ravel()[coordinate])
    except (TypeError, ValueError, IndexError):
        return None
    return value if np.isfinite(value) and value > 0 else None


def _integrate(flows, name: str, spec: ChaosSpec) -> tuple[np.ndarray, dict[str, float]]:
    """One system's kept coordinate ``(length,)`` and metadata; raises on any failure."""
    system = getattr(flows, name)()
    with warnings.catch_warnings(), _TimeLimit(spec.time_limit):
        warnings.simplefilter("ignore")
        result = system.make_trajectory(
            spec.length,
            pts_per_period=spec.pts_per_period,
            resample=True,
            return_times=True,
            method=spec.method,
            rtol=spec.rtol,
            atol=spec.atol,
            random_seed=spec.seed,
        )
    times, trajectory = result if isinstance(result, tuple) else (None, None)
    if trajectory is None:
        raise RuntimeError("dysts returned no trajectory")
    trajectory = np.asarray(trajectory, dtype=np.float64)
    if trajectory.ndim == 1:
        trajectory = trajectory[:, None]  # (T, 1)
    if trajectory.shape[0] != spec.length:
        raise RuntimeError(
            f"integration stopped after {trajectory.shape[0]} of {spec.length} samples"
        )
    if spec.coordinate >= trajectory.shape[1]:
        raise RuntimeError(f"has {trajectory.shape[1]} coordinates, not {spec.coordinate + 1}")
    values = trajectory[:, spec.coordinate]  # (T,)
    if not np.isfinite(values).all():
        raise RuntimeError("non-finite values (the integration diverged)")
    if np.ptp(values) == 0:
        raise RuntimeError("constant trajectory")
    expected = _metadata_std(system, spec.coordinate)
    with np.errstate(over="ignore", invalid="ignore"):
        std = float(values.std())
    ratio = std / expected if expected else 1.0
    if not 1 / STD_TOLERANCE <= ratio <= STD_TOLERANCE:
        raise RuntimeError(f"left the attractor: std {std:.3g} against {expected:.3g} in the dysts metadata")
    times = np.asarray(times, dtype=np.float64).ravel()
    sample_dt = float(times[1] - times[0])
    lyapunov = float(system.maximum_lyapunov_estimated)
    meta = {
        "lyapunov_exponent": lyapunov,
        "period": float(system.period),
        "integration_dt": float(system.dt),
        "sample_dt": sample_dt,
        # steps per Lyapunov time 1 / lambda: VPT in Lyapunov times = steps / this
        "lyapunov_time_steps": 1.0 / (lyapunov * sample_dt) if lyapunov > 0 else float("inf"),
        "dimension": int(trajectory.shape[1]),
    }
    return values, meta


def generate(spec: ChaosSpec = SHIPPED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Integrate every system of ``spec`` (dysts must be importable).

    Returns:
        ``(series, systems)``: the long frame ``unique_id, t, x`` of the systems that
        integrated, and one row per requested system with its metadata and ``failed``
        (empty, or why it was dropped), both in name order.

    Raises:
        DataError: dysts is not installed, or a requested system is unknown.
    """
    found = _dysts()
    if found is None:
        raise DataError(
            "generating chaos135 needs the dysts package; pip install dysts numba "
            "(or use the shipped datasets/chaos135.csv.gz)"
        )
    flows, attractor_list = found
    known = sorted(attractor_list())
    names = sorted(spec.systems) if spec.systems else known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DataError(f"unknown dysts system(s) {', '.join(unknown)}; valid: {', '.join(known)}")
    rng = np.random.default_rng(spec.seed)
    frames, rows, failed = [], [], []
    for name in names:
        try:
            values, meta = _integrate(flows, name, spec)
        except Exception as error:  # any failure of a third-party integrator drops the system
            reason = " ".join(str(error).split())[:120] or type(error).__name__
            failed.append(f"{name} ({reason})")
            rows.append({"unique_id": name, "failed": reason})
            continue
        if spec.noise > 0:
            values = values + rng.normal(0.0, spec.noise * values.std(), size=values.shape)
        frames.append(pd.DataFrame({"unique_id": name, "t": np.arange(len(values)), "x": values}))
        rows.append({"unique_id": name, **meta, "failed": ""})
    if failed:
        warnings.warn(
            f"chaos135: {len(failed)} system(s) failed to integrate and were dropped: "
            + "; ".join(failed),
            RuntimeWarning,
            stacklevel=2,
        )
    series = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["unique_id", "t", "x"])
    )
    systems = pd.DataFrame(rows)
    return series, systems


def _series_bytes(series: pd.DataFrame) -> bytes:
    text = series.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    buffer = io.BytesIO()
    # mtime 0 and no file name in the header: the bytes depend on the data only
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as handle:
        handle.write(text.encode())
    return buffer.getvalue()


def _systems_bytes(systems: pd.DataFrame, spec: ChaosSpec) -> bytes:
    header = json.dumps({**asdict(spec), "dysts": dysts_version()}, sort_keys=True)
    text = systems.to_csv(index=False, float_format="%.12g", lineterminator="\n")
    return f"# {header}\n{text}".encode()


def write(out: Path, spec: ChaosSpec = SHIPPED) -> dict[str, str]:
    """Generate and write ``chaos135.csv.gz`` and ``chaos135_systems.csv`` into ``out``.

    Returns:
        file name -> SHA-256 of the bytes written.
    """
    series, systems = generate(spec)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {SERIES_FILE: _series_bytes(series), SYSTEMS_FILE: _systems_bytes(systems, spec)}
    digests = {}
    for name, data in payload.items():
        tmp = out / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, out / name)
        digests[name] = hashlib.sha256(data).hexdigest()
    return digests


def _problem(folder: Path) -> str | None:
    """Why the cache in ``folder`` cannot be used (missing, or bytes unlike the record), or None."""
    for name, expected in CACHE_SHA256.items():
        path = folder / name
        if not path.exists():
            return f"{path} is missing"
        if expected and hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            return f"{path} is corrupt (its SHA-256 differs from the shipped record)"
    return None


def ensure_cache(folder: Path) -> Path:
    """The folder's cache, verified; regenerated (with a warning) when missing or corrupt.

    Raises:
        DataError: the cache is missing or corrupt and dysts is not importable, or the
            regenerated bytes differ from the record (another dysts version).
    """
    folder = Path(folder)
    problem = _problem(folder)
    if problem is None:
        return folder
    if _dysts() is None:
        raise DataError(
            f"{problem}; restore it (git checkout -- datasets/{SERIES_FILE} "
            f"datasets/{SYSTEMS_FILE}) or pip install dysts=={DYSTS_VERSION} numba to regenerate it"
        )
    warnings.warn(
        f"{problem}; regenerating it with dysts (a few minutes)", RuntimeWarning, stacklevel=2
    )
    write(folder, SHIPPED)
    again = _problem(folder)
    if again is not None:
        raise DataError(
            f"regenerated {folder / SERIES_FILE} with dysts {dysts_version()}, but {again.split(' is ', 1)[1]}; "
            f"install dysts=={DYSTS_VERSION} (the version of the record) and load again"
        )
    return folder


def read_systems(folder: Path) -> pd.DataFrame:
    """The systems table of a cache folder (no verification), indexed by ``unique_id``."""
    table = pd.read_csv(Path(folder) / SYSTEMS_FILE, comment="#", keep_default_na=False)
    for column in STATIC_COLUMNS:
        table[column] = pd.to_numeric(table[column], errors="coerce")
    return table.set_index("unique_id")


def load(folder: Path | None = None) -> pd.DataFrame:
    """The chaos135 panel as a long frame, verified (or regenerated) first.

    Columns ``unique_id, t, x`` and the static metadata :data:`STATIC_COLUMNS` repeated on
    every row of a system; the systems that failed to integrate are absent.
    """
    if folder is None:
        from forecastab.data.registry import datasets_dir

        folder = datasets_dir()
    folder = ensure_cache(Path(folder))
    series = pd.read_csv(
        folder / SERIES_FILE, dtype={"unique_id": str, "t": np.int64, "x": np.float64}
    )
    systems = read_systems(folder)
    kept = systems[systems["failed"] == ""]
    meta = kept[list(STATIC_COLUMNS)]
    return series.join(meta, on="unique_id")


def lyapunov_time_steps(folder: Path | None = None) -> dict[str, float]:
    """System name -> samples per Lyapunov time ``1 / (lambda_max * sample_dt)``.

    Read once per version of the systems file (evaluation asks for it once per series)."""
    if folder is None:
        from forecastab.data.registry import datasets_dir

        folder = datasets_dir()
    path = Path(folder) / SYSTEMS_FILE
    return dict(_lyapunov_table(str(path.parent), path.stat().st_mtime_ns))


@functools.cache
def _lyapunov_table(folder: str, modified_ns: int) -> tuple[tuple[str, float], ...]:
    systems = read_systems(Path(folder))
    kept = systems[systems["failed"] == ""]
    return tuple((str(k), float(v)) for k, v in kept["lyapunov_time_steps"].items())


def main(argv: list[str] | None = None) -> int:
    """``python -m forecastab.data.chaos --out DIR``: generate the panel and print the hashes."""
    parser = argparse.ArgumentParser(
        prog="python -m forecastab.data.chaos", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", required=True, type=Path, help="folder for the two files")
    parser.add_argument("--systems", nargs="*", default=[], help="flow names (default: all)")
    parser.add_argument("--length", type=int, default=SHIPPED.length)
    parser.add_argument("--pts-per-period", type=int, default=SHIPPED.pts_per_period)
    parser.add_argument("--coordinate", type=int, default=SHIPPED.coordinate)
    parser.add_argument("--noise", type=float, default=SHIPPED.noise)
    parser.add_argument("--seed", type=int, default=SHIPPED.seed)
    args = parser.parse_args(argv)
    spec = ChaosSpec(
        pts_per_period=args.pts_per_period, length=args.length, coordinate=args.coordinate,
        noise=args.noise, seed=args.seed, systems=tuple(args.systems),
    )  # fmt: skip
    try:
        digests = write(args.out, spec)
    except DataError as error:
        print(f"forecastab: error: {error}", file=sys.stderr)
        return 2
    for name, digest in digests.items():
        print(f"{digest}  {args.out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
