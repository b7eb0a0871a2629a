"""A Ray worker killed mid-run: the run is recorded as failed exactly as a local worker's death,
the other runs finish, and a rerun retries it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from worker_kill import kill_when_running

from forecastab.experiments import report, workers
from forecastab.experiments.config import validate_config
from forecastab.experiments.runner import plan_grid, run_experiment

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_a_killed_ray_worker_fails_its_run_like_a_local_worker(
    local_ray: Any, tmp_path: Path, make_config: Callable[..., dict]
) -> None:
    raw = make_config(baselines=[], executor={"type": "ray"})
    raw["trainer"]["max_epochs"] = 3
    config = validate_config(raw)
    out = tmp_path / "out"
    victim = plan_grid(config, out)[0]
    killed = kill_when_running(workers.marker_path(victim))
    result = run_experiment(config, out, progress=False)
    outcomes = {o.name: o for o in result.outcomes}
    message = (
        f"worker process {killed['pid']} died while running this run (killed by a signal or out "
        "of memory); rerun to retry it"
    )
    assert outcomes[victim.name].status == "failed"
    assert outcomes[victim.name].error == message  # the local executor's very words
    assert (victim.run_dir / report.ERROR).read_text(encoding="utf-8") == message + "\n"
    assert not (victim.run_dir / report.DONE).exists()
    assert not workers.marker_path(victim).exists()
    others = [o for name, o in outcomes.items() if name != victim.name]
    assert [o.status for o in others] == ["done"]  # not retried by Ray, not lost either
    again = run_experiment(config, out, progress=False)
    statuses = {o.name: o.status for o in again.outcomes}
    assert statuses[victim.name] == "done" and list(statuses.values()).count("skipped") == 1
