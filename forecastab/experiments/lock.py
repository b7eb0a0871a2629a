"""One grid per output folder at a time: an exclusive advisory lock on ``<out>/.lock``.

Two ``forecastab run`` on one ``--out`` would remove each other's unfinished run folders, so
the first takes an exclusive ``fcntl.flock`` on ``<out>/.lock`` and writes its pid there; the
second gets one line naming that pid. The operating system releases the lock when its process
ends in any way (even ``kill -9``), so a lock left by a dead process is simply taken over: the
file may still hold the dead pid, but nobody holds the lock.

The lock file is opened without following a link and only when it is a regular file of its own
(:func:`forecastab.files.open_regular`): a link or hard link planted at ``<out>/.lock`` is
refused, so the truncation below can never empty a file elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from forecastab.errors import ConfigError
from forecastab.files import open_regular

LOCK = ".lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks of this kind
    fcntl = None  # type: ignore[assignment]


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"


@contextmanager
def output_folder_lock(out_dir: Path) -> Iterator[Path]:
    """Hold the exclusive lock of an output folder for the duration of the ``with`` block.

    Args:
        out_dir: The experiment's output folder (must exist).

    Yields:
        The lock file's path.

    Raises:
        ConfigError: Another process holds the lock (the message names its pid), or
            ``<out>/.lock`` is a link or not a regular file.
    """
    path = out_dir / LOCK
    if fcntl is None:  # pragma: no cover
        yield path
        return
    descriptor = open_regular(path, os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"output folder '{out_dir}' is in use by another forecastab run (pid "
                f"{_holder(path)}); wait for it to finish or choose another --out"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(descriptor, 0)  # nobody holds it; the file stays (removing it races)
    finally:
        os.close(descriptor)  # closing releases the lock
