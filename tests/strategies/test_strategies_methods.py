"""Semantics of every strategy method, each checked against an explicit reference computation
so that the test fails when the method is wrong."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from strategy_examples import B, H, make_module, sine_batch
from torch.utils.data import DataLoader, TensorDataset

from forecastab.models import ForecastModule, RNNConfig, TransformerConfig
from forecastab.strategies import DataAsDemonstrator, ProfessorForcing
from forecastab.strategies.generalized_teacher_forcing import (
    jacobian_growth,
    jacobian_product_bound,
)
from forecastab.strategies.professor_forcing import Behaviours
from forecastab.teacher_forcing import rollout

warnings.filterwarnings("ignore", ".*self.log.*")


def _module(strategy, *, network=None, seed: int = 0) -> ForecastModule:
    return make_module(strategy, network=network, seed=seed)


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    return sine_batch()


def _loss_and_grads(module, batch):
    module.zero_grad()
    loss = module.strategy.training_step(module, batch, 0)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in module.network.parameters()]


TF = {"teacher_forcing": {"schedule": "constant", "ratio": 1.0}}


# -- noise injection --------------------------------------------------------------------


def test_noise_with_std_zero_is_teacher_forcing_exactly(batch) -> None:
    noisy = _module({"method": "noise_injection", "noise_injection": {"std": 0, "context": True}})
    forced = _module(TF)
    loss, grads = _loss_and_grads(noisy, batch)
    expected, expected_grads = _loss_and_grads(forced, batch)
    assert torch.equal(loss, expected)
    assert all(torch.equal(a, b) for a, b in zip(grads, expected_grads, strict=True))


def test_noise_corrupts_the_fed_values_not_the_targets(batch) -> None:
    module = _module({"method": "noise_injection", "noise_injection": {"std": 0.3}})
    context, targets = batch
    torch.manual_seed(5)
    loss = module.strategy.training_step(module, batch, 0)
    torch.manual_seed(5)
    fed = targets + 0.3 * torch.randn_like(targets)
    reference = F.mse_loss(module.network.teacher_forced(context, fed), targets)
    torch.testing.assert_close(loss, reference)
    clean = F.mse_loss(module.network.teacher_forced(context, targets), targets)
    assert not torch.allclose(loss, clean)


def test_noise_schedule_scales_std_over_training() -> None:
    module = _module(
        {
            "method": "noise_injection",
            "noise_injection": {"std": 0.4, "schedule": {"schedule": "exponential", "k": 0.5}},
        }
    )
    assert module.strategy.current_std(module) == 0.4  # outside a fit: progress 0
    # inside a fit the schedule multiplies std by k ** epoch (epochs by default), step by step
    for epoch in (1, 2, 5):
        module._trainer = SimpleNamespace(current_epoch=epoch, global_step=100 * epoch)
        assert module.strategy.current_std(module) == pytest.approx(0.4 * 0.5**epoch)
    module._trainer = None


# -- generalized teacher forcing -----------------------------------------------------------


def _gtf(alpha):
    return {
        "method": "generalized_teacher_forcing",
        "generalized_teacher_forcing": {"alpha": alpha},
    }


def test_gtf_alpha_one_is_teacher_forcing_and_alpha_zero_free_running(batch) -> None:
    context, targets = batch
    loss, grads = _loss_and_grads(_module(_gtf(1.0)), batch)
    expected, expected_grads = _loss_and_grads(_module(TF), batch)
    torch.testing.assert_close(loss, expected)
    for a, b in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(a, b)

    module = _module(_gtf(0.0))
    loss, grads = _loss_and_grads(module, batch)
    module.zero_grad()
    free = F.mse_loss(rollout(module.network, context, H).predictions, targets)
    free.backward()
    assert torch.equal(loss, free.detach())
    assert all(
        torch.equal(a, p.grad) for a, p in zip(grads, module.network.parameters(), strict=True)
    )


def test_gtf_feeds_the_convex_mix_with_gradient_through_the_prediction(batch) -> None:
    context, targets = batch
    module = _module(_gtf(0.3))
    loss, grads = _loss_and_grads(module, batch)
    # reference: an explicit loop over the network's own step
    module.zero_grad()
    net, state, x, outputs = module.network, None, context[:, -1], []
    state = net.encode(context)
    for h in range(H):
        y, state = net.step(x, state)
        outputs.append(y)
        x = 0.7 * y + 0.3 * targets[:, h]
    reference = F.mse_loss(torch.stack(outputs, dim=1), targets)
    reference.backward()
    torch.testing.assert_close(loss, reference.detach())
    for a, p in zip(grads, module.network.parameters(), strict=True):
        torch.testing.assert_close(a, p.grad)


def test_gtf_rollout_growth_alpha_follows_the_jacobian_growth(batch) -> None:
    context, targets = batch
    module = _module(_gtf("rollout_growth"))
    growth = jacobian_growth(module.network, context, H)
    # reference growth by finite differences of the first fed-back value
    net = module.network
    with torch.no_grad():
        state = net.encode(context)
        y0, state0 = net.step(context[:, -1], state)

        def last(first: torch.Tensor) -> torch.Tensor:
            x, s = first, state0
            for _ in range(H - 1):
                x, s = net.step(x, s)
            return x

        eps = 1e-3
        slope = (last(y0 + eps) - last(y0 - eps)) / (2 * eps)  # (B, 1): C = 1
    expected = torch.exp(torch.log(slope.abs()[:, 0]).mean() / (H - 1))
    assert growth == pytest.approx(float(expected), rel=1e-2)
    module.strategy._update_alpha(module, context, targets)
    assert module.strategy.alpha(module) == pytest.approx(max(0.0, 1 - 1 / growth))


def test_gtf_product_bound_is_the_max_geometric_mean_of_per_step_jacobian_norms(batch) -> None:
    # Hess et al.'s rule: per window, the geometric mean over steps of |d y_{t+1} / d x_t| on
    # the teacher-forced path (C = 1: the norm is the absolute slope); the largest window.
    context, targets = batch
    module = _module(_gtf("product_bound"))
    net = module.network
    bound = jacobian_product_bound(net, context, targets)
    eps = 1e-3
    with torch.no_grad():
        state = net.encode(context)
        _, state = net.step(context[:, -1], state)
        slopes = []
        for t in range(H - 1):
            x = targets[:, t]
            up, _ = net.step(x + eps, state)
            down, _ = net.step(x - eps, state)
            slopes.append(((up - down) / (2 * eps)).abs()[:, 0])  # (B,)
            _, state = net.step(x, state)
    expected = torch.exp(torch.log(torch.stack(slopes, dim=1)).mean(dim=1).max())
    assert bound == pytest.approx(float(expected), rel=1e-2)
    strategy = module.strategy
    strategy._update_alpha(module, context, targets)
    first = strategy.alpha(module)
    assert first == pytest.approx(max(0.0, 1 - 1 / bound))
    # a larger estimate is taken at once, a smaller one blended in with gamma
    strategy.adaptive_alpha = first / 2
    strategy._update_alpha(module, context, targets)
    assert strategy.alpha(module) == pytest.approx(first)
    strategy.adaptive_alpha = min(1.0, first + 0.2)
    strategy._update_alpha(module, context, targets)
    assert strategy.alpha(module) == pytest.approx(0.9 * min(1.0, first + 0.2) + 0.1 * first)


def test_gtf_adaptive_is_the_rollout_growth_rule_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="alpha 'adaptive' is the rollout-growth rule"):
        module = _module(_gtf("adaptive"))
    assert module.strategy.rule == "rollout_growth"


# -- Data as Demonstrator -------------------------------------------------------------------


def test_dad_demonstrations_are_the_models_own_detached_rollouts(batch) -> None:
    context, targets = batch
    module = _module({"method": "data_as_demonstrator"})
    strategy: DataAsDemonstrator = module.strategy
    strategy.aggregate(module, [batch])
    with torch.no_grad():
        own = rollout(module.network, context, H).predictions
    assert strategy.size == B and strategy.inputs.grad_fn is None
    assert torch.equal(strategy.inputs, own)
    assert torch.equal(strategy.targets, targets) and torch.equal(strategy.contexts, context)

    # a batch trains on the originals (fed the truth) plus demonstrations (fed own predictions)
    torch.manual_seed(3)
    loss = strategy.training_step(module, batch, 0)
    torch.manual_seed(3)
    pick = torch.randint(B, (B,))
    reference = F.mse_loss(
        module.network.teacher_forced(
            torch.cat([context, context[pick]]), torch.cat([targets, own[pick]])
        ),
        torch.cat([targets, targets[pick]]),
    )
    torch.testing.assert_close(loss, reference)


def test_dad_filter_drops_runaway_rollouts_and_buffer_is_in_the_state(batch) -> None:
    context, targets = batch
    module = _module({"method": "data_as_demonstrator", "data_as_demonstrator": {"max_error": 1.0}})
    strategy = module.strategy
    runaway = (context, targets * 0 + 100.0)  # truth far from anything the model predicts
    strategy.aggregate(module, [batch, runaway])
    assert strategy.dropped >= B and strategy.size == strategy.kept <= B
    again = _module({"method": "data_as_demonstrator", "data_as_demonstrator": {"max_error": 1.0}})
    again.load_state_dict(module.state_dict())
    assert torch.equal(again.strategy.inputs, strategy.inputs)
    assert (again.strategy.kept, again.strategy.dropped) == (strategy.kept, strategy.dropped)


def test_dad_aggregates_after_warmup_every_n_epochs(batch, fast_trainer_kwargs) -> None:
    module = _module(
        {"method": "data_as_demonstrator", "data_as_demonstrator": {"warmup_epochs": 1, "every": 2}}
    )
    assert [module.strategy.aggregates_at(e) for e in range(5)] == [False, True, False, True, False]
    loader = DataLoader(TensorDataset(*batch), batch_size=8, shuffle=True)
    pl.Trainer(max_epochs=2, **fast_trainer_kwargs).fit(module, loader)
    assert module.strategy.size + module.strategy.dropped == B  # one pass over all windows


# -- professor forcing ----------------------------------------------------------------------


def _professor(**parameters) -> ForecastModule:
    spec = {"method": "professor_forcing", "professor_forcing": {"discriminator_hidden": 8}}
    spec["professor_forcing"].update(parameters)
    return _module(spec)


def test_professor_adversarial_gradient_flows_only_through_the_free_running_pass(batch) -> None:
    module = _professor()
    strategy: ProfessorForcing = module.strategy
    behaviours = strategy.behaviours(module, batch)
    assert behaviours.teacher_forced.shape == behaviours.free_running.shape == (B, H, 8 + 1)
    adversarial = strategy.adversarial_loss(behaviours)
    forced, free = torch.autograd.grad(
        adversarial,
        [behaviours.teacher_forced, behaviours.free_running],
        allow_unused=True,
        retain_graph=True,
    )
    assert forced is None and free.abs().sum() > 0
    adversarial.backward()
    assert all(p.grad is None for p in strategy.discriminator.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.network.parameters())


@pytest.mark.parametrize("detach", [True, False])
def test_professor_detach_feeds_back_predictions_without_their_gradient(batch, detach) -> None:
    """With ``detach`` the adversarial gradient equals that of a free-running pass whose fed-back
    predictions are explicitly detached; without it, it differs (gradient flows through them)."""
    module = _professor(detach=detach)
    strategy: ProfessorForcing = module.strategy
    context, _ = batch
    module.zero_grad()
    strategy.adversarial_loss(strategy.behaviours(module, batch)).backward()
    grads = [p.grad.clone() for p in module.network.parameters()]

    module.zero_grad()
    reference = rollout(
        module.network,
        context,
        H,
        ratio=0.0,
        return_hidden=True,
        feed=lambda prediction, truth, step: prediction.detach(),
    )
    behaviour = torch.cat([reference.hidden, reference.predictions], dim=-1)
    strategy.adversarial_loss(Behaviours(behaviour, behaviour, None)).backward()
    expected = [p.grad.clone() for p in module.network.parameters()]
    same = all(torch.allclose(a, b) for a, b in zip(grads, expected, strict=True))
    assert same is detach


def test_professor_warmup_keeps_the_adversarial_term_off(batch, fast_trainer_kwargs) -> None:
    """During ``warmup_epochs`` the forecaster takes plain teacher-forced steps even with the
    gate wide open, while the discriminator still learns."""
    warming = _professor(warmup_epochs=1, pass_above=0.0, train_below=1.0)
    forced = _module(TF)
    discriminator = _snapshot(warming.strategy.discriminator.parameters())
    trainer = _one_batch_fit(warming, batch, fast_trainer_kwargs)
    _one_batch_fit(forced, batch, fast_trainer_kwargs)
    for a, b in zip(warming.network.parameters(), forced.network.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    assert _changed(discriminator, warming.strategy.discriminator.parameters())
    assert trainer.callback_metrics["adversarial_loss"] == 0


def _one_batch_fit(module, batch, fast_trainer_kwargs) -> pl.Trainer:
    trainer = pl.Trainer(max_epochs=1, **fast_trainer_kwargs)
    trainer.fit(module, DataLoader(TensorDataset(*batch), batch_size=B))
    return trainer


def _snapshot(parameters):
    return [p.detach().clone() for p in parameters]


def _changed(before, parameters) -> bool:
    return any(not torch.equal(a, p) for a, p in zip(before, parameters, strict=True))


def test_professor_steps_both_optimizers_and_logs(batch, fast_trainer_kwargs) -> None:
    module = _professor(pass_above=0.0, train_below=1.0)
    network = _snapshot(module.network.parameters())
    discriminator = _snapshot(module.strategy.discriminator.parameters())
    trainer = _one_batch_fit(module, batch, fast_trainer_kwargs)
    assert _changed(network, module.network.parameters())
    assert _changed(discriminator, module.strategy.discriminator.parameters())
    for key in ("train_loss", "discriminator_accuracy", "discriminator_loss", "adversarial_loss"):
        assert torch.isfinite(trainer.callback_metrics[key]), key
    assert trainer.callback_metrics["adversarial_loss"] > 0


def test_professor_gates_hold(batch, fast_trainer_kwargs) -> None:
    # accuracy is never below 0: the discriminator never trains
    module = _professor(train_below=0.0, pass_above=0.0)
    discriminator = _snapshot(module.strategy.discriminator.parameters())
    _one_batch_fit(module, batch, fast_trainer_kwargs)
    assert not _changed(discriminator, module.strategy.discriminator.parameters())

    # accuracy is never above 1: no adversarial gradient, so the step is plain teacher forcing
    gated = _professor(pass_above=1.0)
    forced = _module(TF)
    _one_batch_fit(gated, batch, fast_trainer_kwargs)
    _one_batch_fit(forced, batch, fast_trainer_kwargs)
    for a, b in zip(gated.network.parameters(), forced.network.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_professor_trains_a_distribution_head_on_its_likelihood(batch, fast_trainer_kwargs) -> None:
    """Gated to plain teacher forcing, professor forcing of a Gaussian head takes exactly the
    teacher-forced NLL step (an MSE on the mean would move the weights differently)."""
    network = RNNConfig(hidden_size=8, distribution="gaussian")
    spec = {"method": "professor_forcing", "professor_forcing": {"pass_above": 1.0}}
    gated, forced = _module(spec, network=network), _module(TF, network=network)
    _one_batch_fit(gated, batch, fast_trainer_kwargs)
    _one_batch_fit(forced, batch, fast_trainer_kwargs)
    for a, b in zip(gated.network.parameters(), forced.network.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_professor_discriminator_is_sized_for_the_transformer() -> None:
    module = _module({"method": "professor_forcing"}, network=TransformerConfig(d_model=8, nhead=2))
    assert module.strategy.discriminator.rnn.input_size == 8 + 1
    # by default as wide as the forecaster's decoder; an explicit width wins
    assert module.strategy.discriminator.rnn.hidden_size == 8
    wide = _module(
        {"method": "professor_forcing", "professor_forcing": {"discriminator_hidden": 5}},
        network=TransformerConfig(d_model=8, nhead=2),
    )
    assert wide.strategy.discriminator.rnn.hidden_size == 5


# -- scheduled sampling's detach -------------------------------------------------------------


@pytest.mark.parametrize("detach", [True, False])
def test_detach_stops_gradients_through_fed_back_predictions(batch, detach) -> None:
    context, targets = batch
    spec = {"teacher_forcing": {"schedule": "constant", "ratio": 0.0}, "detach": detach}
    module = _module(spec)
    module.teacher_forcing_ratio = 0.0
    loss, grads = _loss_and_grads(module, batch)
    # reference: the explicit free-running loop, fed-back values detached or not
    module.zero_grad()
    net = module.network
    state, x, outputs = net.encode(context), context[:, -1], []
    for _ in range(H):
        y, state = net.step(x, state)
        outputs.append(y)
        x = y.detach()
    F.mse_loss(torch.stack(outputs, dim=1), targets).backward()
    same = all(
        torch.allclose(a, p.grad) for a, p in zip(grads, module.network.parameters(), strict=True)
    )
    assert same is detach
