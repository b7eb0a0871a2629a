"""Killing a worker process from a test: shared by the Ray executor and the Ray tune tests."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path


def kill_when_running(marker: Path, timeout: float = 120.0) -> dict[str, int]:
    """Start a thread that SIGKILLs the process whose pid appears in ``marker``."""
    killed: dict[str, int] = {}

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                text = marker.read_text(encoding="utf-8").strip()
            except OSError:
                text = ""
            if text.isdigit():
                killed["pid"] = int(text)
                os.kill(int(text), signal.SIGKILL)
                return
            time.sleep(0.005)

    threading.Thread(target=watch, daemon=True).start()
    return killed
