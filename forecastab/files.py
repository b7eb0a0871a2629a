"""The one way forecastab writes and removes files: atomically, never through a link.

Every file forecastab writes goes through this module, with three guarantees:

- **Atomic**: :func:`atomic_write` writes a temporary file in the same folder and replaces the
  target in one ``os.replace``, so a reader sees the old content or the new one.
- **Never through a link, never onto a non-file**: the target is examined with ``lstat`` (links
  are not followed) before it is replaced; a symbolic link, a device, a FIFO or a folder there is
  refused with one line, so a link planted in an output folder cannot make forecastab change a
  file elsewhere, and ``--out /dev/full`` never replaces a device node. Files opened in place
  (the lock, an appended ``results.csv``) are opened with ``O_NOFOLLOW`` and checked with
  ``fstat`` on the open descriptor.
- **Derived names stay inside their folder**: a file name made from data (a metric, a label, an
  id) goes through :func:`file_component`, which returns one safe name component whatever the
  text, so ``/../../x`` can never become a path.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from pathlib import Path

from forecastab.errors import ConfigError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]")
MAX_COMPONENT = 80
"""Longest derived name component kept as is (the hash suffix keeps longer ones distinct)."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def check_write_target(path: str | os.PathLike[str]) -> Path:
    """Refuse to write ``path`` unless it is missing or a regular file (links not followed).

    Args:
        path: The file about to be written.

    Returns:
        The path.

    Raises:
        ConfigError: ``path`` is a symbolic link, a device, a FIFO, a socket or a folder.

    >>> check_write_target("/dev/null")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    forecastab.errors.ConfigError: '/dev/null' is a character device; forecastab writes ...
    """
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return path
    if stat.S_ISREG(mode):
        return path
    why = (
        "it would change what the link points to"
        if stat.S_ISLNK(mode)
        else "it would replace it"
    )
    raise ConfigError(
        f"'{path}' is {_kind(mode)}; forecastab writes only regular files ({why}): remove it or "
        "choose another path"
    )


def atomic_write(path: str | os.PathLike[str], content: str | bytes) -> Path:
    """Write a file so that readers see the old content or the new one, never a partial one.

    The content goes to a temporary file in the same folder, is flushed to disk, and then
    replaces ``path`` in one ``os.replace``. A link, device, FIFO or folder at ``path`` is
    refused (see :func:`check_write_target`), and ``os.replace`` itself never follows a link.

    Args:
        path: The file to (over)write; its folder must exist.
        content: Text (written as UTF-8) or bytes.

    Returns:
        The path written.

    Raises:
        ConfigError: ``path`` exists and is not a regular file.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", "hello").read_text()
    'hello'
    """
    path = check_write_target(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o666 & ~_UMASK)  # mkstemp makes 0600; give it a normal file's mode
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def open_regular(path: str | os.PathLike[str], flags: int, mode: int = 0o644) -> int:
    """``os.open`` a file without following a link, and only if it is a regular file.

    Args:
        path: The file.
        flags: ``os.open`` flags (``O_NOFOLLOW`` and ``O_CLOEXEC`` are added).
        mode: The permissions of a file created.

    Returns:
        The open descriptor (the caller closes it).

    Raises:
        ConfigError: ``path`` is a link, not a regular file, or has other hard links (writing
            it would change a file elsewhere).
    """
    path = Path(path)
    try:  # O_NONBLOCK: a FIFO planted there must not block the open
        descriptor = os.open(path, flags | _NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode)
    except OSError as error:
        try:
            kind = _kind(os.lstat(path).st_mode)
        except OSError:
            raise error from None
        raise ConfigError(
            f"'{path}' is {kind}; forecastab opens only its own regular files there: remove it"
        ) from None
    info = os.fstat(descriptor)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = _kind(info.st_mode)
    elif info.st_nlink > 1:
        problem = "a file with another hard link"
    if problem is not None:
        os.close(descriptor)
        raise ConfigError(
            f"'{path}' is {problem}; forecastab opens only its own regular files there: remove it"
        )
    os.set_blocking(descriptor, True)
    return descriptor


def append_text(path: str | os.PathLike[str], text: str) -> None:
    """Append ``text`` to an existing regular file in one write, never through a link.

    Raises:
        ConfigError: ``path`` is a link or not a regular file.
    """
    descriptor = open_regular(path, os.O_WRONLY | os.O_APPEND)
    try:
        data = text.encode("utf-8")
        while data:
            written = os.write(descriptor, data)
            data = data[written:]
    finally:
        os.close(descriptor)


def is_real_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder itself, not a link to one (``lstat``)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def is_real_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a regular file itself, not a link to one (``lstat``)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def file_component(text: str) -> str:
    """One safe file-name component made from any text (a metric, a label, an id).

    Letters, digits, ``.``, ``_`` and ``-`` are kept; anything else (separators, ``..``, control
    characters) becomes ``-`` and a short hash of the original is appended, so two different
    texts never share a file and no text can name a path outside the folder.

    >>> file_component("rmse")
    'rmse'
    >>> file_component("/../../x/PWNED")
    '-..-..-x-PWNED-c8694e3d'
    """
    cleaned = _UNSAFE_CHARACTERS.sub("-", text)
    if cleaned.startswith("."):
        cleaned = "-" + cleaned[1:]
    if cleaned == text and text and len(text) <= MAX_COMPONENT:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{cleaned[:MAX_COMPONENT]}-{digest}"
