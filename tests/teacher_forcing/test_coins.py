"""Coins drawn once per epoch (``coins: per_epoch``): shared within an epoch, new across
epochs, reproducible from the seed, and carried through a checkpoint."""

from __future__ import annotations

import torch

from forecastab.teacher_forcing import EpochCoins


def test_the_same_draws_within_an_epoch_and_new_ones_across_epochs() -> None:
    torch.manual_seed(7)
    coins = EpochCoins()
    epoch0 = coins.for_epoch(0, columns=20).clone()
    torch.rand(100)  # random numbers used by training do not move the coins
    assert torch.equal(coins.for_epoch(0, columns=20), epoch0)
    epoch1 = coins.for_epoch(1, columns=20)
    assert not torch.equal(epoch1, epoch0)
    assert ((0 <= epoch1) & (epoch1 < 1)).all()


def test_the_run_seed_fixes_the_draws() -> None:
    torch.manual_seed(7)
    first = [EpochCoins().for_epoch(e, columns=5) for e in range(3)]
    torch.manual_seed(7)
    again = [EpochCoins().for_epoch(e, columns=5) for e in range(3)]
    torch.manual_seed(8)
    other = EpochCoins().for_epoch(0, columns=5)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other)


def test_the_seed_travels_in_the_state_dict() -> None:
    torch.manual_seed(3)
    coins = EpochCoins()
    epoch2 = coins.for_epoch(2, columns=6)
    torch.manual_seed(99)  # a resumed process starts from another global seed
    restored = EpochCoins()
    restored.load_state_dict(coins.state_dict())
    assert torch.equal(restored.for_epoch(2, columns=6), epoch2)
