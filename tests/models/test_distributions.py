"""Distribution heads: likelihoods against torch.distributions, positive scales, NLL training."""

from __future__ import annotations

import pytest
import torch

from forecastab.errors import ConfigError, DataError
from forecastab.models import model_from_spec
from forecastab.models.distributions import (
    DistributionHead,
    get_distribution,
    negative_log_likelihood,
    rollout_loss,
)
from forecastab.teacher_forcing import rollout


def test_gaussian_log_prob_matches_torch_distributions():
    torch.manual_seed(0)
    loc, scale, values = torch.randn(50), torch.rand(50) + 0.1, torch.randn(50) * 2
    params = torch.stack([loc, scale], dim=-1)  # (50, 2)
    ours = get_distribution("gaussian").log_prob(params, values)
    oracle = torch.distributions.Normal(loc, scale).log_prob(values)
    torch.testing.assert_close(ours, oracle)


def test_student_t_log_prob_matches_torch_distributions():
    torch.manual_seed(1)
    loc, scale, df = torch.randn(50), torch.rand(50) + 0.1, torch.rand(50) * 10 + 2.0
    values = torch.randn(50) * 3
    params = torch.stack([loc, scale, df], dim=-1)  # (50, 3)
    ours = get_distribution("student_t").log_prob(params, values)
    oracle = torch.distributions.StudentT(df, loc, scale).log_prob(values)
    torch.testing.assert_close(ours, oracle)


def test_nll_of_a_gaussian_rollout_matches_torch_distributions():
    module = model_from_spec(
        {"type": "rnn", "hidden_size": 8, "distribution": "gaussian"},
        context_length=6,
        horizon=4,
        n_targets=2,
    )
    context, targets = torch.randn(5, 6, 2), torch.randn(5, 4, 2)
    out = rollout(module.network, context, 4, targets=targets, ratio=1.0)
    assert out.params.shape == (5, 4, 2, 2)
    normal = torch.distributions.Normal(out.params[..., 0], out.params[..., 1])
    torch.testing.assert_close(
        rollout_loss(module.network, out, targets), -normal.log_prob(targets).mean()
    )
    # the point forecast is the mean
    torch.testing.assert_close(out.predictions, out.params[..., 0])


@pytest.mark.parametrize("name", ["gaussian", "student_t"])
def test_head_scale_is_positive_for_any_input(name):
    head = DistributionHead(4, 3, get_distribution(name))
    with torch.no_grad():
        head.linear.bias.fill_(-1e4)  # raw scale (and df) pushed far below zero
    params = head(torch.randn(10, 4) * 100)  # (10, 3, P)
    assert bool((params[..., 1] > 0).all())
    if name == "student_t":
        assert bool((params[..., 2] > 2).all())


def test_negative_scale_reaching_the_likelihood_is_a_one_line_error():
    params = torch.tensor([[[[0.0, -1.0]]]])
    with pytest.raises(DataError, match="scale must be positive") as error:
        negative_log_likelihood(get_distribution("gaussian"), params, torch.zeros(1, 1, 1))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("kind", ["rnn", "transformer", "direct"])
def test_unknown_distribution_is_a_one_line_error(kind):
    with pytest.raises(ConfigError) as error:
        model_from_spec(
            {"type": kind, "distribution": "gausian"}, context_length=6, horizon=3, n_targets=1
        )
    assert str(error.value) == (
        f"model '{kind}': unknown distribution 'gausian' (did you mean 'gaussian'?); "
        "valid: gaussian, student_t"
    )


@pytest.mark.parametrize("kind", ["rnn", "transformer", "direct"])
@pytest.mark.parametrize("name", ["gaussian", "student_t"])
def test_every_network_emits_parameters_and_learns_by_nll(kind, name):
    torch.manual_seed(0)
    module = model_from_spec(
        {"type": kind, "distribution": name, "learning_rate": 0.01},
        context_length=6,
        horizon=3,
        n_targets=1,
    )
    net = module.network
    context = torch.randn(64, 6, 1)
    targets = 3.0 + 0.5 * torch.randn(64, 3, 1)  # far from the initial mean 0
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        out = rollout(net, context, 3, targets=targets, ratio=1.0)
        assert out.params.shape == (64, 3, 1, get_distribution(name).n_params)
        loss = rollout_loss(net, out, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5


def test_point_models_are_unchanged_by_the_distribution_key():
    torch.manual_seed(0)
    module = model_from_spec(
        {"type": "rnn", "hidden_size": 8}, context_length=6, horizon=3, n_targets=1
    )
    assert module.distribution is None
    out = rollout(module.network, torch.randn(2, 6, 1), 3)
    assert out.params is None and out.predictions.shape == (2, 3, 1)
