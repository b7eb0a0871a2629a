"""Sampled rollouts: ancestral feedback, seeding, the zero-variance case, bad input."""

from __future__ import annotations

import pytest
import torch

from forecastab.errors import ConfigError
from forecastab.models import RNNConfig, RNNNetwork, TransformerConfig, TransformerNetwork
from forecastab.models.distributions import Distribution
from forecastab.models.lightning import build_network
from forecastab.teacher_forcing import rollout, sample_paths

L, H = 8, 5


def networks(distribution: str = "gaussian") -> list[torch.nn.Module]:
    torch.manual_seed(0)
    return [
        RNNNetwork(RNNConfig(hidden_size=8, distribution=distribution), n_targets=2),
        TransformerNetwork(
            TransformerConfig(d_model=8, nhead=2, distribution=distribution),
            n_targets=2,
            max_length=L + H,
        ),
    ]


@pytest.mark.parametrize("net", networks("gaussian") + networks("student_t"))
def test_each_path_feeds_back_its_own_draws(net):
    context = torch.randn(3, L, 2)
    with torch.no_grad():
        out = sample_paths(net, context, H, num_samples=4, seed=0)
        paths = out.predictions.flatten(0, 1)  # (12, H, 2)
        # oracle: the network fed those very draws as truth predicts the same parameters
        replay = net.teacher_forced(context.repeat_interleave(4, dim=0), paths)  # (12, H, 2, P)
    torch.testing.assert_close(out.params.flatten(0, 1), replay)


@pytest.mark.parametrize("net", networks())
def test_mean_feedback_feeds_the_mean_path(net):
    context = torch.randn(3, L, 2)
    with torch.no_grad():
        out = sample_paths(net, context, H, num_samples=2, seed=0, feedback="mean")
        means = out.params[..., 0].flatten(0, 1)  # (6, H, 2)
        replay = net.teacher_forced(context.repeat_interleave(2, dim=0), means)
    torch.testing.assert_close(out.params.flatten(0, 1), replay)
    assert not torch.equal(out.predictions, out.params[..., 0])  # draws, not the means


@pytest.mark.parametrize("net", networks())
def test_seeded_paths_are_identical_across_runs_and_leave_global_state(net):
    context = torch.randn(2, L, 2)
    state = torch.get_rng_state()
    with torch.no_grad():
        first = sample_paths(net, context, H, num_samples=50, seed=7).predictions
        again = sample_paths(net, context, H, num_samples=50, seed=7).predictions
        other = sample_paths(net, context, H, num_samples=50, seed=8).predictions
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert torch.equal(torch.get_rng_state(), state)
    assert first.shape == (2, 50, H, 2)


@pytest.mark.parametrize("net", networks())
def test_single_zero_variance_sample_equals_the_point_rollout(net):
    head = net.head
    head.distribution = Distribution(min_scale=0.0)
    with torch.no_grad():
        head.linear.weight[1::2] = 0.0  # the raw scale rows of (C, P=2)
        head.linear.bias[1::2] = -1e4  # softplus(-1e4) == 0: zero variance
        context = torch.randn(4, L, 2)
        point = rollout(net, context, H).predictions  # (4, H, 2)
        sampled = sample_paths(net, context, H, num_samples=1, seed=3).predictions
    assert torch.equal(sampled[:, 0], point)


def test_bad_sampling_requests_are_one_line_errors():
    net = networks()[0]
    with pytest.raises(ConfigError, match="num_samples must be a positive integer, got 0"):
        sample_paths(net, torch.zeros(1, L, 2), H, num_samples=0)
    with pytest.raises(ConfigError, match="unknown feedback 'samples'"):
        sample_paths(net, torch.zeros(1, L, 2), H, num_samples=2, feedback="samples")
    point = RNNNetwork(RNNConfig(hidden_size=8), n_targets=2)
    with pytest.raises(ConfigError, match="need a probabilistic network"):
        sample_paths(point, torch.zeros(1, L, 2), H, num_samples=2)


@pytest.mark.parametrize(
    "config",
    [
        RNNConfig(cell="gru", hidden_size=8, num_layers=2, distribution="gaussian"),
        RNNConfig(cell="lstm", hidden_size=8, distribution="student_t"),
        RNNConfig(hidden_size=8, distribution="gaussian", normalization="revin"),
        TransformerConfig(d_model=8, nhead=2, distribution="gaussian", normalization="last"),
    ],
    ids=["gru", "lstm", "gru-revin", "transformer-last"],
)
def test_one_encoding_per_context_equals_encoding_every_path(config) -> None:
    """The S paths of a context decode from its one encoding, repeated: the same paths (same
    draws, same seed) as encoding the context S times, for every network's state layout."""
    torch.manual_seed(0)
    net = build_network(config, context_length=7, horizon=5, n_targets=2).eval()
    context = torch.randn(3, 7, 2)
    with torch.no_grad():
        shared = sample_paths(net, context, 5, num_samples=4, seed=11)
        torch.manual_seed(11)
        rows = context.repeat_interleave(4, dim=0)  # (12, 7, 2): every path encodes its own
        every = rollout(net, rows, 5, draw=True)
    torch.testing.assert_close(shared.predictions, every.predictions.unflatten(0, (3, 4)))
    torch.testing.assert_close(shared.params, every.params.unflatten(0, (3, 4)))
