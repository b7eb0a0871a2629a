"""What a run's identity is made of beyond its config: the content of its data, and why it was redone.

A run folder is reused only when its saved ``config.yaml`` equals the one the current config
resolves to. That text holds every setting that changes the numbers, and, from here, a content
hash of the data (:func:`data_fingerprint`): editing the CSV in place (same path) changes the
hash, so the run is redone instead of reporting numbers of the old data. When a finished run is
redone, :func:`change_reason` says which inputs changed; the reason is kept in the run folder
(``redone.txt``) and listed in ``summary.md``.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REDONE = "redone.txt"
"""The file in a run folder that says why an earlier result of this run was replaced."""

_CHUNK = 1 << 20


@cache
def _file_sha256(path: str, size: int, mtime_ns: int, inode: int) -> str:
    """The SHA-256 of a file's bytes; cached per (path, size, mtime, inode) within a process."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes (recomputed whenever its size, mtime or inode change).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = path.write_text("y\\n1\\n")
    >>> file_sha256(path)[:12]
    'b6ff7597e869'
    """
    resolved = os.path.realpath(path)
    info = os.stat(resolved)
    return _file_sha256(resolved, info.st_size, info.st_mtime_ns, info.st_ino)


def frame_sha256(frame: Any) -> str:
    """The SHA-256 of a DataFrame's values, index and column names (not its memory layout)."""
    import pandas as pd

    digest = hashlib.sha256()
    digest.update(repr([str(c) for c in frame.columns]).encode())
    digest.update(repr(list(frame.dtypes.astype(str))).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return digest.hexdigest()


@cache
def _bundled_sha256(name: str, generator: tuple[tuple[str, Any], ...] = ()) -> str:
    from forecastab.data.registry import load_dataset

    frame, _ = load_dataset(name, {k: v for k, v in generator})
    return frame_sha256(frame)


def data_fingerprint(source: Any, generator: dict[str, Any] | None = None) -> str | None:
    """A content hash of a data source: a CSV's bytes, a bundled set's values, a frame's values.

    Args:
        source: A CSV path, a bundled dataset name or a DataFrame.
        generator: a generated dataset's generator parameters (the series they give is hashed).

    Returns:
        The hex SHA-256, or None when the source cannot be read (the data layer then reports
        the problem in its own words).
    """
    import pandas as pd

    from forecastab.data.registry import DATASETS

    if isinstance(source, pd.DataFrame):
        return frame_sha256(source)
    text = str(source)
    try:
        if text in DATASETS:
            frozen = tuple(
                (k, tuple(v) if isinstance(v, list) else v) for k, v in (generator or {}).items()
            )
            return _bundled_sha256(text, frozen)
        if Path(text).is_file():
            return file_sha256(text)
    except (OSError, ValueError):
        return None
    return None


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def _short(value: Any) -> str:
    text = str(value)
    if isinstance(value, str) and len(value) == 64:  # a hash
        return text[:12]
    return text if len(text) <= 40 else text[:37] + "..."


def change_reason(saved_text: str, new_text: str, limit: int = 3) -> str:
    """Which inputs differ between a run's saved config and the one it must now have.

    >>> change_reason("data:\\n  sha256: aaa\\nseed: 0\\n", "data:\\n  sha256: bbb\\nseed: 0\\n")
    'data.sha256 changed (aaa -> bbb)'
    """
    try:
        old = _flatten(yaml.safe_load(saved_text) or {})
        new = _flatten(yaml.safe_load(new_text) or {})
    except yaml.YAMLError:
        return "its saved config.yaml is unreadable"
    missing = object()
    changes = []
    for key in [*new, *(k for k in old if k not in new)]:
        before, after = old.get(key, missing), new.get(key, missing)
        if before == after:
            continue
        if before is missing:
            changes.append(f"{key} added ({_short(after)})")
        elif after is missing:
            changes.append(f"{key} removed")
        else:
            changes.append(f"{key} changed ({_short(before)} -> {_short(after)})")
    if not changes:
        return "its saved config differs"
    more = f" and {len(changes) - limit} more" if len(changes) > limit else ""
    return ", ".join(changes[:limit]) + more


def redo_reason(
    run_dir: Path, config_text: str, done: str, metrics: str, config: str
) -> str | None:
    """Why an existing run folder is about to be redone, or None when there is no folder.

    Args:
        run_dir: The run's folder.
        config_text: The resolved config the run must have.
        done: The name of the completion marker.
        metrics: The name of the run's metrics file.
        config: The name of the run's saved config.
    """
    if not run_dir.exists():
        return None
    saved = run_dir / config
    finished = (run_dir / done).is_file() and (run_dir / metrics).is_file()
    if not finished or not saved.is_file():
        return "the earlier attempt did not finish"
    try:
        saved_text = saved.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return "its saved config.yaml is unreadable"
    return f"inputs changed since it was computed: {change_reason(saved_text, config_text)}"


def redone_runs(out_dir: Path, names: set[str] | None = None) -> list[str]:
    """One line per run folder that says why its earlier result was replaced.

    Args:
        out_dir: The experiment's output folder.
        names: Only these run folders (the current grid); None: every one.
    """
    lines = []
    for path in sorted((out_dir / "runs").glob(f"*/{REDONE}")):
        if names is not None and path.parent.name not in names:
            continue
        try:
            reason = path.read_text(encoding="utf-8").strip().splitlines()[0]
        except (OSError, UnicodeDecodeError, IndexError):
            continue
        lines.append(f"`{path.parent.name}`: {reason}")
    return lines
