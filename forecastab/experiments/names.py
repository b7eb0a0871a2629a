"""Names that become paths, and removing a run folder without ever leaving the output folder.

A model, strategy, baseline label or experiment name is part of a folder name
(``runs/<model>__<strategy>__seed0``, ``runs/<label>__baseline``, ``runs/<experiment>``), so it
must be one safe file-name component on every operating system: no separators, no ``..``, no
control characters, no reserved device names. :func:`check_file_name` enforces that when the
config is read; :func:`remove_run_folder` is the one place a folder is deleted, and it checks,
right before deleting, that the folder really lies inside ``--out`` and is not a link.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from forecastab.errors import ConfigError
from forecastab.files import is_real_file, is_real_folder

MAX_NAME_LENGTH = 100
"""Longest name accepted: a run folder adds a suffix, and many file systems stop at 255 bytes."""

# Windows device names, reserved with any extension ("con.txt") and in any case.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_FORBIDDEN = set('/\\:*?"<>|')


def file_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be one folder-name component, or None when it can.

    >>> file_name_problem("arima210") is None
    True
    >>> file_name_problem("../x")
    "contains '/' (a name is one folder name, never a path)"
    """
    if not isinstance(name, str):
        return f"must be text, got {type(name).__name__}"
    if not name:
        return "is empty"
    if name in (".", ".."):
        return f"is '{name}', which names a folder, not a new one"
    for char in name:
        if char in _FORBIDDEN:
            return f"contains {char!r} (a name is one folder name, never a path)"
        if ord(char) < 32 or ord(char) == 127:
            return f"contains the control character {char!r}"
    if name != name.strip() or name.endswith("."):
        return "starts or ends with a space or ends with '.'"
    if _RESERVED.match(name):
        return f"'{name}' is a reserved device name on Windows"
    if len(name) > MAX_NAME_LENGTH:
        return f"is {len(name)} characters long; at most {MAX_NAME_LENGTH}"
    return None


def check_file_name(name: object, key: str) -> str:
    """Return ``name`` when it is a safe folder-name component, else raise one line.

    Args:
        name: The value from the config.
        key: Where it came from, e.g. ``baselines[0].label``.

    Returns:
        The name, unchanged.

    Raises:
        ConfigError: ``<key>: '<name>' <rule>; use letters, digits, '_', '-' or '.'``.

    >>> check_file_name("D/v", "baselines[0].label")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: baselines[0].label: 'D/v' contains '/' (a name is one ...
    """
    problem = file_name_problem(name)
    if problem is None:
        return str(name)
    shown = repr(name) if isinstance(name, str) else str(name)
    raise ConfigError(f"{key}: {shown} {problem}; use letters, digits, '_', '-' or '.'")


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def remove_run_folder(run_dir: Path, out_dir: Path) -> None:
    """Delete an unfinished run folder, refusing anything that is not inside ``out_dir``.

    The check is made right before the removal: ``run_dir`` holds no ``..``, its real parent
    (links resolved) lies inside the real ``out_dir``, its name is a safe component, and a link is
    removed as a link (what it points to is never touched). ``shutil.rmtree`` then never
    follows links below it.

    Args:
        run_dir: The folder to remove (missing is fine).
        out_dir: The experiment's output folder.

    Raises:
        ConfigError: ``run_dir`` is not inside ``out_dir``.
    """
    root = out_dir.resolve()
    parent = run_dir.parent.resolve()
    unsafe = ".." in run_dir.parts or file_name_problem(run_dir.name) is not None
    if unsafe or not _inside(parent, root) or parent == root:
        raise ConfigError(
            f"refusing to remove '{run_dir}': it is not a run folder inside '{out_dir}'"
        )
    target = parent / run_dir.name
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode):
        target.unlink()  # the link itself, never what it points to
        return
    if not shutil.rmtree.avoids_symlink_attacks:  # pragma: no cover - platforms without fd ops
        raise ConfigError(f"refusing to remove '{run_dir}': this platform cannot do it safely")
    shutil.rmtree(target)


SEPARATOR = "__"
"""Between the parts of a run folder's name: ``<model>__<strategy>__seed0``."""
HASHED = "___"
"""Marks a folder name shortened with a hash; a plain name never holds three underscores."""
RESERVED_STRATEGIES = frozenset({"baseline"})
"""Strategy names taken by forecastab itself: ``baseline`` is the strategy of the baselines' rows."""


def _plain(label: str) -> bool:
    return SEPARATOR not in label and not label.startswith("_") and not label.endswith("_")


def run_folder_name(labels: Sequence[str], *, prefix: str = "", suffix: str) -> str:
    """A run folder's name, different for every different ``(prefix, labels, suffix)``.

    The plain form ``[prefix__]label__label__suffix`` is kept whenever it is unambiguous: no
    label holds ``__`` or starts or ends with ``_``, and the whole stays within
    :data:`MAX_NAME_LENGTH`. Otherwise the labels are shortened and a hash of every part is
    added after ``___`` (three underscores, which no plain name holds), so model ``a__b`` with
    strategy ``c`` and model ``a`` with strategy ``b__c`` never share a folder, and long legal
    names still give a legal folder name.

    Args:
        labels: The user's names (model and strategy, or a baseline's label).
        prefix: ``H<horizon>`` when the experiment has several horizons, else empty.
        suffix: ``seed<k>`` or ``baseline``.

    Returns:
        One folder-name component.

    >>> run_folder_name(["gru", "teacher_forcing"], suffix="seed0")
    'gru__teacher_forcing__seed0'
    >>> run_folder_name(["a__b", "c"], suffix="seed0") != run_folder_name(["a", "b__c"], suffix="seed0")
    True
    """
    head = f"{prefix}{SEPARATOR}" if prefix else ""
    tail = f"{SEPARATOR}{suffix}"
    plain = f"{head}{SEPARATOR.join(labels)}{tail}"
    if all(_plain(label) for label in labels) and len(plain) <= MAX_NAME_LENGTH:
        return plain
    digest = hashlib.sha256("\0".join([prefix, *labels, suffix]).encode("utf-8")).hexdigest()
    marker = f"{HASHED}{digest[:16]}"
    room = MAX_NAME_LENGTH - len(head) - len(marker) - len(tail)
    readable = SEPARATOR.join(labels)[: max(room, 0)].rstrip(" .")
    return f"{head}{readable}{marker}{tail}"


def check_config_names(raw: object) -> None:
    """Check every name of a parsed experiment file that becomes part of a path.

    The experiment's ``name`` (the default ``runs/<name>`` folder), every model's and
    strategy's ``name`` and every baseline's ``label`` (or ``name``) are checked with
    :func:`check_file_name` before anything else, so the message names the key and the rule.
    Values of the wrong type are left to the schema, which reports them. A strategy may not be
    called ``baseline``: that name marks the baselines' rows (:data:`RESERVED_STRATEGIES`).

    Args:
        raw: The mapping read from YAML.

    Raises:
        ConfigError: A name that is not a safe folder-name component, or a reserved one.
    """
    if not isinstance(raw, dict):
        return
    if isinstance(raw.get("name"), str):
        check_file_name(raw["name"], "name")
    for section in ("models", "strategies"):
        entries = raw.get(section)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                check_file_name(entry["name"], f"{section}[{i}].name")
                if section == "strategies" and entry["name"] in RESERVED_STRATEGIES:
                    raise ConfigError(
                        f"{section}[{i}].name: '{entry['name']}' is reserved (it marks the "
                        "baselines' rows in results.csv); give the strategy another name"
                    )
    baselines = raw.get("baselines")
    for i, spec in enumerate(baselines if isinstance(baselines, list) else []):
        if isinstance(spec, str):
            check_file_name(spec, f"baselines[{i}]")
        elif isinstance(spec, dict):
            if spec.get("label") is not None:
                check_file_name(spec["label"], f"baselines[{i}].label")
            elif isinstance(spec.get("name"), str):
                check_file_name(spec["name"], f"baselines[{i}].name")


def check_runs_folder(out_dir: Path) -> None:
    """Refuse an output folder whose ``runs`` is a link: run folders would land elsewhere.

    Raises:
        ConfigError: ``<out>/runs`` is a link or not a folder.
    """
    runs = out_dir / "runs"
    if runs.is_symlink() or not runs.is_dir():
        raise ConfigError(
            f"'{runs}' is a link or not a folder; forecastab writes run folders only inside "
            "--out: remove it or choose another --out"
        )


OWN_FILES = (".lock", "grid.txt")
"""Files every output folder of ``forecastab run`` holds: a folder with one is forecastab's."""


def check_output_folder(out_dir: Path) -> None:
    """Refuse an output folder that already holds files forecastab did not write.

    ``--out .`` in a folder holding the user's own ``config.yaml`` would overwrite it with the
    resolved config, and ``summary.md`` likewise. A missing or empty folder (or one holding only
    ``runs``), or one an earlier ``forecastab run`` wrote (it holds ``.lock`` or ``grid.txt``, or
    ``results.csv`` beside ``runs``), is accepted.

    Raises:
        ConfigError: The folder holds other files, naming a few of them.
    """
    if not out_dir.is_dir():  # missing: created; a file there: check_writable says so
        return
    entries = sorted(entry.name for entry in os.scandir(out_dir))
    if set(entries) <= {"runs"} or any(is_real_file(out_dir / name) for name in OWN_FILES):
        return
    if is_real_file(out_dir / "results.csv") and is_real_folder(out_dir / "runs"):
        return  # written by a forecastab from before the lock and grid.txt
    shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    raise ConfigError(
        f"output folder '{out_dir}' already holds files forecastab did not write ({shown}); "
        "forecastab never overwrites them: give a new or empty folder with --out"
    )

