"""Where the grid's runs execute: this process, N local worker processes, or a Ray cluster.

Every grid cell is an independent task (:func:`forecastab.experiments.runner.run_cell`) that
writes its own run folder, so an executor only has to start tasks and hand their outcomes back
to the parent, which assembles the results after each one. No scheduler of our own: the local
pool is ``concurrent.futures``, the cluster is Ray's.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from forecastab.errors import ConfigError
from forecastab.experiments import workers
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
        """Run the cells and report each outcome (see :class:`Executor`).

        With several workers, a worker that dies (killed, out of memory) fails the cell it was
        running, recorded in that cell's ``error.txt``; the pool is restarted and every other
        cell runs. Workers die with this process, and on any exit from here (Ctrl-C included)
        the pool's processes are stopped.
        """
        if self.workers == 1 or len(cells) <= 1:
            for cell in cells:
                on_outcome(run_cell(cell))
            return
        remaining = list(cells)
        rounds_without_culprit = 0
        while remaining:
            workers.clear_markers(remaining)
            broken = self._pool_round(remaining, on_outcome)
            culprits = {}
            for cell in broken:
                pid = workers.died_running(cell)
                if pid is not None:
                    culprits[cell.name] = pid
                    on_outcome(workers.record_worker_death(cell, pid))
            remaining = [cell for cell in broken if cell.name not in culprits]
            rounds_without_culprit = 0 if culprits else rounds_without_culprit + 1
            if rounds_without_culprit >= 2:  # workers die before starting any run
                for cell in remaining:
                    on_outcome(
                        RunOutcome(cell.name, "failed", error="worker processes died at start")
                    )
                return

    def _pool_round(self, cells: list[RunCell], on_outcome: OnOutcome) -> list[RunCell]:
        """Run cells in one pool; return those that did not finish because the pool broke."""
        # spawn, not fork: Lightning and torch threads do not survive a fork reliably.
        context = multiprocessing.get_context("spawn")
        before = set(multiprocessing.active_children())
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(cells)),
            mp_context=context,
            initializer=workers.init_worker,
            initargs=(os.getpid(),),
        )
        broken: list[RunCell] = []
        try:
            with workers.children_ignore_ctrl_c():  # the pool starts its workers on submit
                futures = {pool.submit(workers.run_marked, cell): cell for cell in cells}
            for future in as_completed(futures):
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    broken.append(futures[future])
                    continue
                on_outcome(outcome)
        except BaseException:
            _stop(pool, before)
            raise
        pool.shutdown(wait=True)
        order = {cell.name: i for i, cell in enumerate(cells)}
        return sorted(broken, key=lambda cell: order[cell.name])


def _stop(pool: ProcessPoolExecutor, before: set[Any], grace: float = 5.0) -> None:
    """Stop a pool now: cancel what has not started and end its worker processes."""
    pool.shutdown(wait=False, cancel_futures=True)
    started = [p for p in multiprocessing.active_children() if p not in before]
    for process in started:
        process.terminate()  # SIGTERM: the worker leaves without blaming its cell
    deadline = time.monotonic() + grace
    for process in started:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(1.0)


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
        """Run the cells as Ray tasks and report each outcome as it completes.

        A task runs its cell as a local worker does (:func:`workers.run_marked`, a marker with
        its pid while it runs) and is never retried by Ray (``max_retries=0``): when its worker
        process dies (killed, out of memory, its node lost), the cell is recorded as failed in
        its ``error.txt`` exactly as a local worker's death is, and a rerun retries it.
        """
        import ray

        if not cells:
            return
        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False)
        workers.clear_markers(list(cells))
        task = ray.remote(num_cpus=self.cpus_per_run, max_retries=0)(workers.run_marked)
        pending = {task.remote(cell): cell for cell in cells}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                cell = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as error:  # the task's process died or Ray lost it
                    pid = workers.died_running(cell)
                    outcome = (
                        workers.record_worker_death(cell, pid)
                        if pid is not None
                        else _lost_task(cell, error)
                    )
                on_outcome(outcome)


def _lost_task(cell: RunCell, error: Exception) -> RunOutcome:
    """A Ray task that failed before its cell started (no marker): recorded like a death."""
    from forecastab.experiments import report

    message = f"ray task failed before the run started ({type(error).__name__}); rerun to retry it"
    cell.run_dir.mkdir(parents=True, exist_ok=True)
    report.atomic_write(cell.run_dir / report.ERROR, message + "\n")
    return RunOutcome(cell.name, "failed", error=message)


def executor_for(config: ExecutorConfig) -> Executor:
    """The executor an ``executor:`` block describes.

    >>> executor_for(ExecutorConfig(type="local", workers=2)).workers
    2
    """
    if config.type == "ray":
        return RayExecutor(config.address, config.cpus_per_run)
    return LocalExecutor(config.workers)
