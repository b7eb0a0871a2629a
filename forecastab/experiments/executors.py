"""Where the grid's runs execute: this process, N local worker processes, or a Ray cluster.

Every grid cell is an independent task (:func:`forecastab.experiments.runner.run_cell`) that
writes its own run folder, so an executor only has to start tasks and hand their outcomes back
to the parent, which assembles the results after each one. No scheduler of our own: the local
pool is ``concurrent.futures``, the cluster is Ray's.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from forecastab.errors import ConfigError
from forecastab.experiments.config import ExecutorConfig
from forecastab.experiments.runner import RunCell, RunOutcome, run_cell

OnOutcome = Callable[[RunOutcome], None]

RAY_MISSING = "executor ray needs the ray extra: pip install 'forecastab[ray]'"


class Executor(Protocol):
    """Runs grid cells and reports each outcome as soon as it is known."""

    def execute(self, cells: Sequence[RunCell], on_outcome: OnOutcome) -> None:
        """Run every cell; call ``on_outcome`` once per cell, in the parent process."""
        ...


class LocalExecutor:
    """Cells one after another in this process, or in ``workers`` spawned processes.

    Args:
        workers: How many cells run at once; 1 runs them here, in grid order.
    """

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ConfigError(f"executor workers must be at least 1, got {workers}")
        self.workers = workers

    def execute(self, cells: Sequence[RunCell], on_outcome: OnOutcome) -> None:
        """Run the cells and report each outcome (see :class:`Executor`)."""
        if self.workers == 1 or len(cells) <= 1:
            for cell in cells:
                on_outcome(run_cell(cell))
            return
        workers = min(self.workers, len(cells))
        # spawn, not fork: Lightning and torch threads do not survive a fork reliably.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(run_cell, cell): cell for cell in cells}
            try:
                for future in as_completed(futures):
                    on_outcome(_outcome_of(future, futures[future]))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise


def _outcome_of(future: Any, cell: RunCell) -> RunOutcome:
    """The future's outcome; a worker that died (killed, out of memory) is a failed run."""
    try:
        return future.result()
    except BrokenProcessPool as error:
        return RunOutcome(cell.name, "failed", error=f"worker process died: {error}")


class RayExecutor:
    """Each cell a Ray task, on an existing cluster (``address``) or a local Ray.

    The output folder must be reachable from every node under the same path (a shared file
    system), since each task writes its own run folder there.

    Args:
        address: ``None`` starts a local Ray; ``"auto"`` or ``"ray://host:10001"`` joins a cluster.
        cpus_per_run: CPUs Ray reserves for each task.

    Raises:
        ConfigError: Ray is not installed.
    """

    def __init__(self, address: str | None = None, cpus_per_run: float = 1.0) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ConfigError(RAY_MISSING) from None
        self.address = address
        self.cpus_per_run = cpus_per_run

    def execute(self, cells: Sequence[RunCell], on_outcome: OnOutcome) -> None:
        """Run the cells as Ray tasks and report each outcome as it completes."""
        import ray

        if not cells:
            return
        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False)
        task = ray.remote(num_cpus=self.cpus_per_run)(run_cell)
        pending = {task.remote(cell): cell for cell in cells}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                cell = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as error:  # the task's process died or Ray lost it
                    outcome = RunOutcome(cell.name, "failed", error=f"ray task failed: {error}")
                on_outcome(outcome)


def executor_for(config: ExecutorConfig) -> Executor:
    """The executor an ``executor:`` block describes.

    >>> executor_for(ExecutorConfig(type="local", workers=2)).workers
    2
    """
    if config.type == "ray":
        return RayExecutor(config.address, config.cpus_per_run)
    return LocalExecutor(config.workers)
