"""When the teacher-forcing coins are drawn: fresh for every batch, or once per epoch.

Scheduled sampling (Bengio et al. 2015) flips a fresh coin per sample and step in every batch
(``per_batch``, the default). The curricula of Teutsch & Mader (2022), "Flipped Classroom:
Effective Teaching for Time Series Forecasting", draw one uniform number per decoder step at
the start of an epoch and compare the same numbers with the ratio in every batch of it, so
the whole epoch trains on one mask over the horizon (``per_epoch``). :class:`EpochCoins` makes
those draws: reproducible from the seed torch was given when training began, the same for a
resumed run, and kept in the forecaster's checkpoints (its ``extra_state``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

COIN_DRAWS: tuple[str, ...] = ("per_batch", "per_epoch")
"""When the teacher-forcing coins are drawn: for every batch, or once per training epoch."""

# Keeps each epoch's seed distinct for any run seed; a large prime spreads consecutive seeds.
_EPOCH_STRIDE = 1_000_003


class EpochCoins(nn.Module):
    """Uniform draws made once per training epoch, shared by every batch of that epoch.

    The first call fixes the run's coin seed from ``torch.initial_seed()`` (what
    ``seed_everything`` or ``torch.manual_seed`` set), without consuming random numbers; each
    epoch's draws then come from a generator seeded by that seed and the epoch, so they do not
    depend on how many random numbers training used before, and a resumed run (which restores
    the seed from the checkpoint) draws the same coins for the same epoch.

    >>> coins = EpochCoins()
    >>> first = coins.for_epoch(0, columns=4)
    >>> bool(torch.equal(first, coins.for_epoch(0, columns=4))), tuple(first.shape)
    (True, (4,))
    >>> bool(torch.equal(first, coins.for_epoch(1, columns=4)))
    False
    """

    def __init__(self) -> None:
        super().__init__()
        self.seed: int | None = None
        self._epoch: int | None = None
        self._coins: Tensor | None = None

    def for_epoch(self, epoch: int, columns: int) -> Tensor:
        """The ``(columns,)`` uniform draws in ``[0, 1)`` of training epoch ``epoch``."""
        if self.seed is None:
            self.seed = int(torch.initial_seed())
        if self._epoch != epoch or self._coins is None or len(self._coins) != columns:
            seed = (self.seed * _EPOCH_STRIDE + epoch) % (2**63)
            generator = torch.Generator().manual_seed(seed)
            self._coins = torch.rand(columns, generator=generator)  # (columns,)
            self._epoch = epoch
        return self._coins

    def get_extra_state(self) -> dict[str, Any]:
        return {"seed": self.seed}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.seed = state.get("seed")
        self._epoch = self._coins = None
