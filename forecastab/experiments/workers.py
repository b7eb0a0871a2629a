"""Worker processes of the local executor: they die with their parent, and a death is traced to its cell.

- :func:`init_worker` runs first in every worker: on Linux the kernel sends it ``SIGKILL`` when
  the parent dies (``prctl(PR_SET_PDEATHSIG)``), elsewhere a watchdog thread notices the parent
  is gone; Ctrl-C is left to the parent, which stops the pool; ``SIGTERM`` (the pool stopping a
  bystander) ends the worker without blaming its cell.
- :func:`run_marked` runs one cell and keeps a marker ``runs/.<cell>.worker`` (the worker's pid)
  while it runs. When the pool breaks because a worker died, the cell whose marker is left is the
  one that worker was running; it is recorded as failed and every other cell is run again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecastab.experiments.names import remove_run_folder
from forecastab.files import atomic_write, is_real_folder

if TYPE_CHECKING:
    from forecastab.experiments.runner import RunCell, RunOutcome

PR_SET_PDEATHSIG = 1
MARKER_SUFFIX = ".worker"

_current_marker: Path | None = None


def die_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` (its parent) ends, however that happens."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent_pid:  # the parent died before prctl took effect
                os._exit(1)
            return

    def watch() -> None:  # pragma: no cover - platforms without PR_SET_PDEATHSIG
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="forecastab-parent-watch", daemon=True).start()


def _terminated(signum: int, frame: Any) -> None:
    """SIGTERM from the pool or the parent: leave quietly, the cell was not at fault."""
    if _current_marker is not None:
        _current_marker.unlink(missing_ok=True)
    os._exit(128 + signum)


def init_worker(parent_pid: int) -> None:
    """The pool's initializer: tie this worker's life to the parent's, set its signals."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: parent decides
    signal.signal(signal.SIGTERM, _terminated)


@contextlib.contextmanager
def children_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes with Ctrl-C already ignored.

    A worker sets ``SIGINT`` to ignored in :func:`init_worker`, but a Ctrl-C that arrives while
    it is still starting (importing torch, unpickling) would print a ``KeyboardInterrupt``
    traceback from ``multiprocessing.spawn``. An ignored signal stays ignored across ``exec``
    and Python then leaves it so, so the parent ignores ``SIGINT`` while it starts them. A
    Ctrl-C in those few milliseconds is lost (press again); off the main thread nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def marker_path(cell: RunCell) -> Path:
    """``runs/.<cell>.worker``: present while a worker runs the cell."""
    return cell.run_dir.parent / f".{cell.name}{MARKER_SUFFIX}"


def run_marked(cell: RunCell) -> RunOutcome:
    """Run one cell in a worker, with its marker present for the duration."""
    global _current_marker
    from forecastab.experiments.runner import run_cell

    marker = marker_path(cell)
    atomic_write(marker, f"{os.getpid()}\n")  # never through a link planted there
    _current_marker = marker
    try:
        return run_cell(cell)
    finally:
        _current_marker = None
        marker.unlink(missing_ok=True)


def clear_markers(cells: list[RunCell]) -> None:
    """Remove markers left by an earlier pool (or an earlier, killed grid)."""
    for cell in cells:
        marker_path(cell).unlink(missing_ok=True)


def died_running(cell: RunCell) -> str | None:
    """The pid of the worker that died while running ``cell``, or None when none did."""
    try:
        return marker_path(cell).read_text(encoding="utf-8").strip() or "unknown"
    except OSError:
        return None


def record_worker_death(cell: RunCell, pid: str) -> RunOutcome:
    """Write the cell's ``error.txt`` for a worker that died running it; the failed outcome."""
    from forecastab.experiments import report
    from forecastab.experiments.runner import RunOutcome

    message = (
        f"worker process {pid} died while running this run (killed by a signal or out of "
        "memory); rerun to retry it"
    )
    if not is_real_folder(cell.run_dir):  # a link there is removed, never written through
        remove_run_folder(cell.run_dir, cell.run_dir.parent.parent)
    cell.run_dir.mkdir(parents=True, exist_ok=True)
    report.atomic_write(cell.run_dir / report.ERROR, message + "\n")
    (cell.run_dir / report.DONE).unlink(missing_ok=True)
    marker_path(cell).unlink(missing_ok=True)
    return RunOutcome(cell.name, "failed", error=message)
