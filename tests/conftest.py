"""Shared test settings: Agg backend, no leaked figures, a fast Lightning trainer."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)
warnings.filterwarnings("ignore", ".*does not have many workers.*")
warnings.filterwarnings("ignore", ".*GPU available but not used.*")


FAST_TRAINER = dict(
    accelerator="cpu",
    devices=1,
    enable_progress_bar=False,
    enable_model_summary=False,
    logger=False,
    enable_checkpointing=False,
    deterministic=True,
)


@pytest.fixture
def fast_trainer_kwargs() -> dict:
    """Keyword arguments for a quiet CPU Trainer; add max_epochs or max_steps per test."""
    return dict(FAST_TRAINER)


@pytest.fixture(autouse=True)
def no_leaked_figures():
    """Fail any test that leaves a matplotlib figure open."""
    before = set(plt.get_fignums())
    yield
    leaked = set(plt.get_fignums()) - before
    plt.close("all")
    assert not leaked, f"test leaked {len(leaked)} matplotlib figure(s)"
