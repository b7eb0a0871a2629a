"""A real tiny study on a local Ray: trials as Ray tasks sharing the journal; a Ray worker killed
mid-trial has its trial failed and retried once, as a local process's is."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from worker_kill import kill_when_running

import forecastab
from forecastab.tuning import study as studies

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_a_study_on_ray_survives_a_killed_worker(
    local_ray: Any, tiny_tune: dict[str, Any], tmp_path: Path
) -> None:
    tiny_tune["executor"] = {"type": "ray"}
    tiny_tune["tune"].update(trials=3, workers=2, pruner={"name": "none"})
    tiny_tune["trainer"]["max_epochs"] = 3
    out = tmp_path / "out"
    marker = out / "trials" / "search" / ".trial_0001.worker"
    killed = kill_when_running(marker, timeout=180)
    result = forecastab.tune(tiny_tune, out, progress=False)
    assert killed, "the trial's Ray worker was never seen running"
    assert killed["pid"] != os.getpid()  # a Ray worker process, not this one
    trials = pd.read_csv(out / "trials.csv")
    search = trials[trials["arm"] == "search"]
    assert search["state"].value_counts().to_dict() == {"complete": 3, "fail": 1}
    failed = search[search["state"] == "fail"]
    assert failed["trial"].tolist() == [1] and failed["reaped"].tolist() == [True]
    assert search["retry_of"].dropna().astype(int).tolist() == [1]  # retried exactly once
    control = trials[trials["arm"] == "teacher_forcing"]
    assert control["state"].tolist() == ["complete"] * 3
    owners = {
        t.user_attrs[studies.OWNER]["pid"]
        for t in studies.make_study(
            studies.open_storage(out, None), "tiny_tune", _block(tiny_tune)
        ).get_trials()
    }
    assert owners - {os.getpid()}  # trials ran in Ray workers
    assert (out / "final" / "results.csv").is_file() and result.summary


def _block(raw: dict[str, Any]) -> Any:
    from forecastab.tuning import load_tune_config

    return load_tune_config(raw).block
