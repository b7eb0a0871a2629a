"""The transformer's preallocated key/value buffers give the forecasts of the concatenated cache."""

from __future__ import annotations

import pytest
import torch

from forecastab.models import TransformerConfig, build_network
from forecastab.models.transformer import CacheBuffer, TransformerNetwork
from forecastab.teacher_forcing.covariates import Channels, Covariates
from forecastab.teacher_forcing.rollout import rollout
from forecastab.teacher_forcing.sampled import sample_paths

CONFIGS = {
    "point": (TransformerConfig(d_model=16, nhead=2, num_layers=2), 2),
    "revin_gaussian": (
        TransformerConfig(d_model=16, nhead=2, num_layers=2, normalization="revin",
                          distribution="gaussian"),
        1,
    ),
    "patch": (TransformerConfig(d_model=16, nhead=2, num_layers=1, patch=4), 1),
}


def both_ways(name: str, run) -> tuple:
    config, targets = CONFIGS[name]
    torch.manual_seed(0)
    net = build_network(config, context_length=24, horizon=8, n_targets=targets).eval()
    inner = getattr(net, "inner", net)
    results = []
    for buffered in (False, True):
        inner.buffer_cache = buffered
        with torch.no_grad():
            results.append(run(net, targets))
    return tuple(results)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_buffered_and_concatenated_caches_give_identical_forecasts(name: str) -> None:
    context = torch.randn(5, 24, CONFIGS[name][1])
    targets = torch.randn(5, 8, CONFIGS[name][1])

    def run(net, _):
        free = rollout(net, context, 8, return_hidden=True)
        mixed = rollout(net, context, 8, targets=targets, ratio=0.5,
                        generator=torch.Generator().manual_seed(0))
        return free.predictions, free.hidden, mixed.predictions

    concatenated, buffered = both_ways(name, run)
    for a, b in zip(concatenated, buffered, strict=True):
        assert torch.equal(a, b)


def test_sampled_paths_and_covariates_are_the_same_with_buffers() -> None:
    context = torch.randn(3, 24, 1)
    paths = both_ways("revin_gaussian", lambda net, _: sample_paths(
        net, context, 8, num_samples=4, seed=0).predictions)
    assert torch.equal(*paths)
    channels = Channels(n_targets=1, n_past=1, n_future=2, n_static=1)
    torch.manual_seed(0)
    net = TransformerNetwork(TransformerConfig(d_model=8, nhead=2), n_targets=1, max_length=32,
                             channels=channels).eval()
    covariates = Covariates(torch.randn(3, 24, 1), torch.randn(3, 32, 2), torch.randn(3, 1))
    outputs = []
    for buffered in (False, True):
        net.buffer_cache = buffered
        with torch.no_grad():
            outputs.append(rollout(net, context, 8, covariates=covariates).predictions)
    assert torch.equal(*outputs)


def test_a_buffered_state_is_copied_when_repeated_and_refuses_to_overflow() -> None:
    torch.manual_seed(0)
    net = TransformerNetwork(TransformerConfig(d_model=8, nhead=2), n_targets=1, max_length=12).eval()
    context = torch.randn(2, 10, 1)
    with torch.no_grad():
        state = net.encode(context)
        _, state = net.step(context[:, -1], state)  # moves the cache into buffers
        assert isinstance(state.cache[0], CacheBuffer) and state.cache[0].length == 10
        copies = net.repeat_state(state, 2)
        first, _ = net.step(torch.ones(4, 1), copies)
        again, _ = net.step(torch.ones(4, 1), copies)  # the copy's buffer was written past 10
        assert torch.equal(first, again)  # ... but each step reads its own 11 positions
        for _ in range(2):  # 11, 12 positions: full
            _, state = net.step(torch.ones(2, 1), state)
        assert state.cache[0].length == 12
        with pytest.raises(Exception, match="exceeds"):
            net.step(torch.ones(2, 1), state)


def test_training_through_the_loop_keeps_concatenating() -> None:
    torch.manual_seed(0)
    net = TransformerNetwork(TransformerConfig(d_model=8, nhead=2), n_targets=1, max_length=32)
    out = rollout(net, torch.randn(2, 24, 1), 8)  # with gradients: no in-place writes
    out.predictions.sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
