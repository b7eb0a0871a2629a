"""Writing files so that a reader sees the old content or the new one, never a partial one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write(path: str | os.PathLike[str], content: str | bytes) -> Path:
    """Write a file so that readers see the old content or the new one, never a partial one.

    The content goes to a temporary file in the same folder, is flushed to disk, and then
    replaces ``path`` in one ``os.replace``.

    Args:
        path: The file to (over)write; its folder must exist.
        content: Text (written as UTF-8) or bytes.

    Returns:
        The path written.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", "hello").read_text()
    'hello'
    """
    path = Path(path)
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
