"""Sequence-level strategies: the multi-step loss (with pushforward) and self-critical REINFORCE
(with the MIXER schedule), each checked against a reference computed by hand.

The checkpoint-resume and contract tests pick both methods up from ``strategy_examples``.
"""

from __future__ import annotations

import copy
import types
import warnings

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from strategy_examples import H, L, make_module, sine_batch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from forecastab.data.splits import Scaler
from forecastab.errors import ConfigError
from forecastab.models import ForecastModule, RNNConfig, model_from_spec
from forecastab.models.distributions import get_distribution
from forecastab.strategies import MultiStep, Reinforce, strategy_from_spec
from forecastab.strategies.reinforce import REWARDS, sequence_reward
from forecastab.teacher_forcing import rollout

warnings.filterwarnings("ignore", ".*self.log.*")


def _module(strategy, *, distribution: str | None = None, seed: int = 0) -> ForecastModule:
    network = RNNConfig(hidden_size=8, distribution=distribution)
    return make_module(strategy, network=network, seed=seed)


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    return sine_batch(offset=2.0)  # positive, for sMAPE


def _grads(module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in module.network.parameters()]


def _loss_and_grads(module, batch):
    module.zero_grad()
    loss = module.strategy.training_step(module, batch, 0)
    loss.backward()
    return loss.detach(), _grads(module)


def _reference_grads(module, loss: torch.Tensor) -> list[torch.Tensor]:
    module.zero_grad()
    loss.backward(retain_graph=True)
    return _grads(module)


def _free_run_by_hand(net, context: torch.Tensor, horizon: int) -> torch.Tensor:
    """The obvious free-running loop: each prediction is the next input (with gradient)."""
    state = net.encode(context)
    x = context[:, -1]  # (B, C)
    outputs = []
    for _ in range(horizon):
        x, state = net.step(x, state)
        outputs.append(x)
    return torch.stack(outputs, dim=1)  # (B, h, C)


def _assert_grads_close(grads, expected) -> None:
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)


def _grads_differ(grads, other) -> bool:
    pairs = zip(grads, other, strict=True)
    return any(not torch.allclose(a, b, rtol=1e-3, atol=1e-6) for a, b in pairs)


# -- multi_step -------------------------------------------------------------------------


def test_multi_step_uniform_is_the_mse_of_the_free_running_rollout(batch) -> None:
    module = _module({"method": "multi_step"})
    loss, grads = _loss_and_grads(module, batch)
    context, targets = batch
    expected = F.mse_loss(_free_run_by_hand(module.network, context, H), targets)
    torch.testing.assert_close(loss, expected.detach())
    _assert_grads_close(grads, _reference_grads(module, expected))
    # and it is not teacher forcing
    forced = F.mse_loss(module.network.teacher_forced(context, targets), targets)
    assert _grads_differ(grads, _reference_grads(module, forced))


def test_multi_step_exponential_weights_match_a_hand_weighted_loss(batch) -> None:
    module = _module(
        {"method": "multi_step", "multi_step": {"weights": "exponential", "decay": 0.5}}
    )
    loss, grads = _loss_and_grads(module, batch)
    context, targets = batch
    per_step = (_free_run_by_hand(module.network, context, H) - targets).square().mean(dim=(0, 2))
    weights = [0.5**h for h in range(H)]
    expected = sum(w * e for w, e in zip(weights, per_step, strict=True)) / sum(weights)
    torch.testing.assert_close(loss, expected.detach())
    _assert_grads_close(grads, _reference_grads(module, expected))
    assert _grads_differ(grads, _reference_grads(module, per_step.mean()))


@pytest.mark.parametrize("k", [1, 3, H - 1])
def test_pushforward_takes_no_gradient_from_the_first_k_steps(batch, k) -> None:
    module = _module({"method": "multi_step", "multi_step": {"pushforward": k}})
    loss, grads = _loss_and_grads(module, batch)
    context, targets = batch
    # the reference: the first k steps by a separate copy of the network, so that no gradient
    # of the trained network's parameters can come from them
    frozen = copy.deepcopy(module.network)
    pushed = _free_run_by_hand(frozen, context, k)
    window = torch.cat([context, pushed], dim=1)[:, -L:]  # (B, L, C)
    expected = F.mse_loss(_free_run_by_hand(module.network, window, H - k), targets[:, k:])
    torch.testing.assert_close(loss, expected.detach())
    _assert_grads_close(grads, _reference_grads(module, expected))
    # backpropagating through the whole rollout (no pushforward) gives other gradients
    leaky = F.mse_loss(_free_run_by_hand(module.network, context, H)[:, k:], targets[:, k:])
    assert _grads_differ(grads, _reference_grads(module, leaky))


def test_multi_step_on_a_distribution_head_is_the_nll_of_the_mean_fed_rollout(batch) -> None:
    module = _module({"method": "multi_step"}, distribution="gaussian")
    loss, grads = _loss_and_grads(module, batch)
    context, targets = batch
    expected = module.loss(rollout(module.network, context, H), targets)
    torch.testing.assert_close(loss, expected.detach())
    _assert_grads_close(grads, _reference_grads(module, expected))


# -- reinforce --------------------------------------------------------------------------


class _ScalarGaussian(nn.Module):
    """A toy policy: ``y_h ~ N(w * y_{h-1}, sigma^2)`` with one learnable ``w`` (a mean ``w``
    when ``autoregressive_mean`` is False), behind the encode/step interface of the networks."""

    autoregressive = True

    def __init__(self, w: float, sigma: float, *, autoregressive_mean: bool) -> None:
        super().__init__()
        self.distribution = get_distribution("gaussian")
        self.w = nn.Parameter(torch.tensor(w))
        self.sigma = sigma
        self.autoregressive_mean = autoregressive_mean

    def encode(self, context: torch.Tensor) -> torch.Tensor:
        return context[:, -1]

    def step(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loc = self.w * x if self.autoregressive_mean else self.w.expand_as(x)  # (B, C)
        return torch.stack([loc, torch.full_like(loc, self.sigma)], dim=-1), state  # (B, C, 2)


def _toy(strategy: Reinforce, net: nn.Module, horizon: int):
    module = types.SimpleNamespace(
        network=net, horizon=horizon, name="toy", data_spec=None, log=lambda *a, **k: None
    )
    strategy.attach(module)
    return module


def _toy_gradient(net, horizon: int, windows: int, seed: int) -> float:
    strategy = strategy_from_spec(
        {"method": "reinforce", "reinforce": {"samples": 8, "reward": "mse"}}
    )
    module = _toy(strategy, net, horizon)
    context = torch.ones(windows, 3, 1)  # (B, L, 1), last value 1
    targets = torch.zeros(windows, horizon, 1)
    torch.manual_seed(seed)
    net.zero_grad()
    strategy.training_step(module, (context, targets), 0).backward()
    return float(net.w.grad)


def test_reinforce_gradient_is_unbiased_for_a_gaussian_mean() -> None:
    # y ~ N(w, sigma^2), reward -(y - 0)^2: E[reward] = -(w^2 + sigma^2), so the expected gradient
    # of the loss (minus the reward) is 2 w whatever the baseline.
    net = _ScalarGaussian(0.5, 1.0, autoregressive_mean=False)
    estimate = _toy_gradient(net, 1, windows=4000, seed=0)
    assert estimate == pytest.approx(1.0, abs=0.1)


def test_reinforce_gradient_treats_the_fed_back_draws_as_constants() -> None:
    # y1 ~ N(w, s^2), y2 ~ N(w y1, s^2), reward -(y1^2 + y2^2) / 2:
    # E[reward] = -(w^2 + s^2 + w^2 (w^2 + s^2) + s^2) / 2, d/dw = -(w + 2 w^3 + w s^2).
    w, s = 0.5, 0.5
    expected = w + 2 * w**3 + w * s**2  # 0.875
    net = _ScalarGaussian(w, s, autoregressive_mean=True)
    estimates = [_toy_gradient(net, 2, windows=4000, seed=seed) for seed in range(3)]
    assert np.mean(estimates) == pytest.approx(expected, abs=0.05)


def test_reinforce_loss_matches_a_reference_loop_with_a_mixer_prefix(batch) -> None:
    spec = {"samples": 3, "reward": "mae", "mixer": {"delta": 2, "step": 1, "every": 1}}
    module = _module({"method": "reinforce", "reinforce": spec}, distribution="gaussian")
    torch.manual_seed(7)
    loss, grads = _loss_and_grads(module, batch)

    # the reference: each window repeated K times, the first H - delta inputs the truth, then
    # each path feeds back its own (detached) draw; a draw at every step, as the rollout does
    context, targets = batch
    net, gaussian, prefix, k = module.network, get_distribution("gaussian"), H - 2, 3
    rows, truth = context.repeat_interleave(k, dim=0), targets.repeat_interleave(k, dim=0)
    torch.manual_seed(7)
    state, x, params, draws = net.encode(rows), rows[:, -1], [], []
    for h in range(H):
        out, state = net.step(x, state)  # (B*K, 1, 2)
        draw = out[..., 0] + out[..., 1] * torch.randn_like(out[..., 0])
        params.append(out)
        draws.append(draw.detach())
        x = truth[:, h] if h < prefix else draw.detach()
    params = torch.stack(params, dim=1)  # (B*K, H, 1, 2)
    draws = torch.stack(draws, dim=1)  # (B*K, H, 1)
    with torch.no_grad():
        greedy = rollout(
            net, context, H, targets=targets, feed=lambda v, t, h: t if h < prefix else v
        )
        baseline = -(greedy.predictions[:, prefix:] - targets[:, prefix:]).abs().mean(dim=(1, 2))
        reward = -(draws[:, prefix:] - truth[:, prefix:]).abs().mean(dim=(1, 2))  # (B*K,)
    advantage = reward - baseline.repeat_interleave(k)
    log_prob = gaussian.log_prob(params[:, prefix:], draws[:, prefix:]).sum(dim=(1, 2))
    forced = gaussian.log_prob(params[:, :prefix], truth[:, :prefix]).mean(dim=(0, 2)).sum() / H
    expected = -(advantage * log_prob).mean() - forced
    torch.testing.assert_close(loss, expected.detach())
    _assert_grads_close(grads, _reference_grads(module, expected))


def test_mixer_delta_follows_its_schedule(fast_trainer_kwargs) -> None:
    strategy = strategy_from_spec(
        {"method": "reinforce", "reinforce": {"mixer": {"delta": 1, "step": 2, "every": 2}}}
    )
    module = ForecastModule(
        RNNConfig(hidden_size=4, distribution="gaussian"), context_length=L, horizon=H,
        strategy=strategy,
    )
    assert [strategy.delta_at(epoch) for epoch in range(8)] == [1, 1, 3, 3, 5, 5, 6, 6]
    without = _module({"method": "reinforce"}, distribution="gaussian").strategy
    assert [without.delta_at(epoch) for epoch in range(3)] == [H, H, H]

    # in a fit, the logged delta is the schedule's at the current epoch
    series = torch.sin(torch.arange(80.0) / 3)[:, None] + 2.0
    windows = series.unfold(0, L + H, 1).transpose(1, 2)  # (N, L+H, 1)
    loader = DataLoader(TensorDataset(windows[:, :L], windows[:, L:]), batch_size=32)
    trainer = pl.Trainer(max_epochs=3, limit_train_batches=1, **fast_trainer_kwargs)
    trainer.fit(module, loader)
    assert float(trainer.callback_metrics["reinforce_delta"]) == strategy.delta_at(2) == 3


@pytest.mark.parametrize("reward", REWARDS)
def test_reinforce_runs_with_every_reward(batch, reward) -> None:
    module = _module(
        {"method": "reinforce", "reinforce": {"reward": reward, "samples": 2, "nll_weight": 0.1}},
        distribution="student_t" if reward == "max_error" else "gaussian",
    )
    loss, grads = _loss_and_grads(module, batch)
    assert torch.isfinite(loss)
    assert all(torch.isfinite(g).all() for g in grads)
    assert any(bool(g.abs().sum() > 0) for g in grads)


def test_sequence_rewards_match_hand_computations() -> None:
    predictions = torch.tensor([[[3.0], [1.0]], [[2.0], [2.0]]])  # (2, 2, 1)
    targets = torch.tensor([[[1.0], [1.0]], [[2.0], [4.0]]])
    assert sequence_reward("mae", predictions, targets).tolist() == [-1.0, -1.0]
    assert sequence_reward("rmse", predictions, targets).tolist() == pytest.approx(
        [-np.sqrt(2.0), -np.sqrt(2.0)]
    )
    assert sequence_reward("max_error", predictions, targets).tolist() == [-2.0, -2.0]
    # sMAPE in original units: values * 10 + 100
    scaler = Scaler(mean=np.array([100.0]), std=np.array([10.0]))
    smape = sequence_reward("smape", predictions, targets, scaler=scaler).tolist()
    assert smape == pytest.approx([-(200 * 20 / 240) / 2, -(200 * 20 / 260) / 2])
    context = torch.tensor([[[0.0], [2.0]], [[0.0], [1.0]]])  # naive MAE 2 and 1
    assert sequence_reward("mase", predictions, targets, context=context).tolist() == [-0.5, -1.0]
    assert sequence_reward(
        "valid_prediction_time", predictions, targets, threshold=1.5
    ).tolist() == [0.0, 1.0]


def test_reinforce_on_a_point_model_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError) as caught:
        model_from_spec(
            {"name": "gru", "type": "rnn", "hidden_size": 4},
            context_length=L, horizon=H, n_targets=1, strategy={"method": "reinforce"},
        )
    assert str(caught.value) == (
        "model 'gru' is a point forecaster, so strategy method 'reinforce' cannot train it; "
        "set distribution: gaussian (or student_t) on the model"
    )


BAD = [
    ({"method": "multi_step", "multi_step": {"weights": "exponentail"}},
     "multi_step: unknown weights 'exponentail' (did you mean 'exponential'?); "
     "valid: exponential, uniform"),
    ({"method": "multi_step", "multi_step": {"decay": 0.5}},
     "multi_step: decay applies to weights: exponential, not uniform; remove decay or set "
     "weights: exponential"),
    ({"method": "multi_step", "multi_step": {"weights": "exponential", "decay": 0}},
     "multi_step: decay must lie in (0, 1] (1 is uniform), got 0"),
    ({"method": "multi_step", "multi_step": {"pushforward": -1}},
     "multi_step: pushforward must be an integer >= 0 (0: no pushforward), got -1"),
    ({"method": "multi_step", "multi_step": {"pushforward": 1.5}},
     "multi_step: pushforward must be an integer, got 1.5"),
    ({"method": "reinforce", "reinforce": {"samples": 0}},
     "reinforce: samples must be an integer >= 1, got 0"),
    ({"method": "reinforce", "reinforce": {"reward": "smpae"}},
     "reinforce: unknown reward 'smpae' (did you mean 'smape'?); valid: "
     + ", ".join(sorted(REWARDS))),
    ({"method": "reinforce", "reinforce": {"nll_weight": -1}},
     "reinforce: nll_weight must be a finite number >= 0, got -1"),
    ({"method": "reinforce", "reinforce": {"threshold": 0}},
     "reinforce: threshold must be a positive number, got 0"),
    ({"method": "reinforce", "reinforce": {"mixer": {"delta": 0}}},
     "reinforce.mixer: delta must be an integer >= 1, got 0"),
    ({"method": "reinforce", "reinforce": {"mixer": {"step": 1}}},
     "reinforce: missing key 'delta' in reinforce.mixer; required: delta"),
    ({"method": "reinforce", "reinforce": {"mixer": {"delta": 1, "evry": 2}}},
     "reinforce: unknown key 'evry' in reinforce.mixer (did you mean 'every'?); valid: delta, "
     "every, step"),
    ({"method": "reinforce", "reinforce": {"sample": 2}},
     "unknown key 'sample' in reinforce (did you mean 'samples'?); valid: "),
]


@pytest.mark.parametrize(("spec", "message"), BAD)
def test_bad_parameters_are_one_line_errors(spec, message) -> None:
    with pytest.raises(ConfigError) as caught:
        strategy_from_spec(spec)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"method": "multi_step", "multi_step": {"pushforward": H}},
         f"multi_step: pushforward ({H}) must be below the horizon ({H}) of model 'gru'"),
        ({"method": "reinforce", "reinforce": {"mixer": {"delta": H + 1}}},
         f"reinforce.mixer: delta ({H + 1}) must not exceed the horizon ({H}) of model 'gru'"),
    ],
)
def test_parameters_beyond_the_horizon_are_refused_before_training(spec, message) -> None:
    with pytest.raises(ConfigError) as caught:
        _module(spec, distribution="gaussian")
    assert str(caught.value).startswith(message)


def test_strategies_are_rebuilt_from_their_spec() -> None:
    for cls, spec in (
        (MultiStep, {"method": "multi_step", "multi_step": {"weights": "exponential"}}),
        (Reinforce, {"method": "reinforce", "reinforce": {"mixer": {"delta": 2}}}),
    ):
        strategy = strategy_from_spec(spec)
        assert type(strategy) is cls
        assert strategy_from_spec(strategy.spec()).config == strategy.config
