"""Temporary files that a killed ``forecastab plot`` or ``report`` left in an output folder."""

from __future__ import annotations

from pathlib import Path

from forecastab.errors import ConfigError
from forecastab.experiments.lock import output_folder_lock


def remove_stale_chart_files(out_dir: Path) -> list[Path]:
    """Remove ``.<file>.*.tmp`` files of an atomic write that never finished.

    Only while no ``forecastab run`` holds the folder (its own writes may be in flight then).

    Returns:
        The files removed.
    """
    removed: list[Path] = []
    try:
        with output_folder_lock(out_dir):
            for stale in out_dir.glob(".*.tmp"):
                stale.unlink(missing_ok=True)
                removed.append(stale)
    except (ConfigError, OSError):  # a run holds the folder, or it is read-only
        return removed
    return removed
