"""A progress bar over forecast origins, shown on a terminal for long evaluations."""

from __future__ import annotations

import multiprocessing
import sys

from tqdm.auto import tqdm


def origin_progress(n_origins: int, batch_size: int, mode: str, show: bool | None) -> tqdm:
    """A tqdm bar counting origins; ``show=None`` shows it only when it is worth watching.

    Args:
        n_origins: origins to forecast.
        batch_size: origins per forward pass (one bar update each).
        mode: the evaluation mode, named in the bar.
        show: True or False forces the bar on or off; None shows it on an interactive
            terminal, in the main process, when the origins take more than one batch.

    >>> origin_progress(10, 4, "free_running", show=False).disable
    True
    """
    if show is None:
        show = (
            n_origins > batch_size
            and sys.stderr.isatty()
            and multiprocessing.parent_process() is None
        )
    return tqdm(
        total=n_origins, desc=f"{mode} origins", unit="origin", leave=False, disable=not show
    )
