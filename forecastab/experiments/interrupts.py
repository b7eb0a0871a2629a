"""Ctrl-C during training: Lightning turns it into ``sys.exit(1)``; give it back as Ctrl-C.

Lightning catches ``KeyboardInterrupt`` in ``Trainer.fit``, tears down, sets ``SIGINT`` to be
ignored and calls ``sys.exit(1)``, which would exit with the status of "runs failed and were
recorded" and no message. :func:`interrupts_kept` turns that exit back into
``KeyboardInterrupt`` (and restores Ctrl-C), so the command line prints its interrupted line and
exits 130 as it does anywhere else. Any other exit (SIGTERM's 143) passes through unchanged.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def interrupts_kept(trainer: Any) -> Iterator[None]:
    """Run ``trainer.fit`` (or any trainer call) inside; Ctrl-C leaves as ``KeyboardInterrupt``.

    Args:
        trainer: The Lightning Trainer whose call runs inside the block.

    Raises:
        KeyboardInterrupt: The trainer was interrupted by Ctrl-C.
    """
    main = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGINT) if main else None
    try:
        yield
    except SystemExit as exit_:
        # only Lightning's sys.exit(1) made while handling Ctrl-C; SIGTERM's exit (143) stays
        ctrl_c = isinstance(exit_.__context__, KeyboardInterrupt)
        if not (ctrl_c and getattr(trainer, "interrupted", False)):
            raise
        if main and handler is not None:
            signal.signal(signal.SIGINT, handler)  # Lightning left Ctrl-C ignored
        raise KeyboardInterrupt from exit_
