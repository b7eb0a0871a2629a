"""The chaos135 panel: deterministic generation, a verified cache, loading as a panel."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecastab.data import chaos
from forecastab.data.registry import datasets_dir, load_dataset
from forecastab.errors import DataError

SMALL = chaos.ChaosSpec(length=120, systems=("Lorenz", "Rossler", "Halvorsen"))


def _needs_dysts() -> None:
    pytest.importorskip("dysts", reason="dysts is not installed: pip install dysts numba")


def test_generation_is_deterministic(tmp_path: Path) -> None:
    _needs_dysts()
    first = chaos.write(tmp_path / "a", SMALL)
    second = chaos.write(tmp_path / "b", SMALL)
    for name in (chaos.SERIES_FILE, chaos.SYSTEMS_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first == second
    frame = pd.read_csv(tmp_path / "a" / chaos.SERIES_FILE)
    assert frame.groupby("unique_id").size().to_dict() == {
        "Halvorsen": 120,
        "Lorenz": 120,
        "Rossler": 120,
    }


def test_generation_matches_the_shipped_cache() -> None:
    """The first systems of the shipped panel come out of the generator bit for bit."""
    _needs_dysts()
    shipped = load_dataset("chaos135")[0]
    series, systems = chaos.generate(chaos.ChaosSpec(systems=("Lorenz",)))
    lorenz = shipped[shipped["unique_id"] == "Lorenz"]["x"].to_numpy()
    np.testing.assert_array_equal(lorenz, series["x"].map(lambda v: float(f"{v:.9g}")).to_numpy())
    assert systems.loc[0, "failed"] == ""


def test_observation_noise_is_seeded(tmp_path: Path) -> None:
    _needs_dysts()
    spec = chaos.ChaosSpec(length=100, systems=("Lorenz",), noise=0.1, seed=3)
    clean = chaos.generate(chaos.ChaosSpec(length=100, systems=("Lorenz",)))[0]["x"]
    noisy = chaos.generate(spec)[0]["x"]
    again = chaos.generate(spec)[0]["x"]
    assert noisy.equals(again)
    assert 0.05 < (noisy - clean).std() / clean.std() < 0.15


def test_failed_system_is_dropped_and_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    _needs_dysts()
    real = chaos._integrate

    def failing(flows, name, spec):
        if name == "Rossler":
            raise RuntimeError("step size underflow")
        return real(flows, name, spec)

    monkeypatch.setattr(chaos, "_integrate", failing)
    with pytest.warns(
        RuntimeWarning,
        match=r"1 system\(s\) failed to integrate and were dropped: Rossler \(step size underflow\)",
    ):
        series, systems = chaos.generate(chaos.ChaosSpec(length=50, systems=("Lorenz", "Rossler")))
    assert set(series["unique_id"]) == {"Lorenz"}
    assert systems.set_index("unique_id").loc["Rossler", "failed"] == "step size underflow"


def _copy_cache(tmp_path: Path) -> Path:
    folder = tmp_path / "datasets"
    folder.mkdir()
    for name in (chaos.SERIES_FILE, chaos.SYSTEMS_FILE):
        shutil.copy(datasets_dir() / name, folder / name)
    return folder


def test_shipped_cache_matches_its_record() -> None:
    for name, digest in chaos.CACHE_SHA256.items():
        assert hashlib.sha256((datasets_dir() / name).read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_corrupt_cache_without_dysts_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    folder = _copy_cache(tmp_path)
    path = folder / chaos.SERIES_FILE
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    else:
        path.unlink()
    monkeypatch.setattr(chaos, "_dysts", lambda: None)
    state = (
        "is missing"
        if damage == "delete"
        else "is corrupt (its SHA-256 differs from the shipped record)"
    )
    with pytest.raises(DataError) as caught:
        chaos.load(folder)
    assert str(caught.value) == (
        f"{path} {state}; restore it (git checkout -- datasets/chaos135.csv.gz "
        "datasets/chaos135_systems.csv) or pip install dysts==0.96 numba to regenerate it"
    )


def test_corrupt_cache_gives_exit_status_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from forecastab.cli import main

    folder = _copy_cache(tmp_path)
    (folder / chaos.SYSTEMS_FILE).write_text("garbage\n")
    monkeypatch.setattr(chaos, "_dysts", lambda: None)
    monkeypatch.setenv("FORECASTAB_DATASETS", str(folder))
    config = tmp_path / "c.yaml"
    config.write_text(
        "name: c\ndata: {source: chaos135, context_length: 30, horizon: 15}\n"
        "models: [{name: gru, type: rnn, cell: gru, hidden_size: 4}]\n"
        "strategies: [{name: tf, teacher_forcing: {schedule: constant, ratio: 1.0}}]\n"
    )
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1
        and "chaos135_systems.csv is corrupt" in err[0]
        and "pip install dysts==0.96" in err[0]
    )


def test_corrupt_cache_is_regenerated_with_dysts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _needs_dysts()
    folder = tmp_path / "cache"
    digests = chaos.write(folder, SMALL)
    monkeypatch.setattr(chaos, "SHIPPED", SMALL)
    monkeypatch.setattr(chaos, "CACHE_SHA256", digests)
    path = folder / chaos.SERIES_FILE
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.warns(RuntimeWarning, match="is corrupt .* regenerating it"):
        frame = chaos.load(folder)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digests[chaos.SERIES_FILE]
    assert len(frame) == 360


def test_chaos135_loads_as_a_panel() -> None:
    from forecastab.data import WindowDataModule

    frame, target = load_dataset("chaos135")
    assert target == "x" and frame["unique_id"].nunique() == len(chaos.lyapunov_time_steps())
    dm = WindowDataModule(
        "chaos135",
        context_length=30,
        horizon=15,
        covariates={"static": ["lyapunov_exponent", "period"]},
    )
    assert dm.has_ids and len(dm.series_ids) == frame["unique_id"].nunique()
    lorenz = dm.series_data("Lorenz")
    assert lorenz.covariates.static.shape == (2,)
    failed = chaos.read_systems(datasets_dir())["failed"]
    assert failed["VossDelay"].startswith("left the attractor: std inf") and failed["Lorenz"] == ""
    steps = chaos.lyapunov_time_steps()["Lorenz"]
    assert 10 < steps < 12.5  # lambda 0.89 per time unit, period 1.50 / 15 samples
