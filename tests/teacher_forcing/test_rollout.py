"""The one rollout loop: what it feeds back, under every sampling mode, against slow references."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from forecastab.errors import ConfigError, DataError
from forecastab.models import (
    DirectConfig,
    DirectNetwork,
    RNNConfig,
    RNNNetwork,
    TransformerConfig,
    TransformerNetwork,
)
from forecastab.teacher_forcing.rollout import rollout

B, L, H, C = 16, 12, 10, 2


def make_network(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind in ("gru", "lstm"):
        return RNNNetwork(RNNConfig(cell=kind, hidden_size=16, num_layers=2), n_targets=C)
    config = TransformerConfig(d_model=16, nhead=2, num_layers=2, dim_feedforward=32)
    return TransformerNetwork(config, n_targets=C, max_length=L + H)


@pytest.fixture(params=["gru", "lstm", "transformer"])
def net(request: pytest.FixtureRequest) -> nn.Module:
    return make_network(request.param).eval()


@pytest.fixture
def windows() -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(1)
    series = torch.randn(B, L + H, C, generator=generator).cumsum(1) * 0.3  # (B, L+H, C)
    return series[:, :L], series[:, L:]


def fed_inputs_reference(net: nn.Module, context: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Predictions when the inputs are truth where ``mask`` else the model's own predictions.

    Built only from the parallel ``teacher_forced`` path: prediction ``h`` depends on inputs
    before ``h`` alone, so H passes that each feed back the previous pass's predictions settle
    one more position per pass. Independent of the step-by-step loop under test.
    """
    predictions = torch.zeros_like(targets)
    for _ in range(targets.shape[1]):
        inputs = torch.where(mask[:, :, None], targets, predictions)  # (B, H, C)
        predictions = net.teacher_forced(context, inputs)
    return predictions


def reencoding_rollout(net: TransformerNetwork, context: Tensor, horizon: int) -> Tensor:
    """Free running without a cache: a full causal pass over the whole growing prefix per step."""
    sequence = context
    for _ in range(horizon):
        nxt = net(sequence)[:, -1:]  # (B, 1, C)
        sequence = torch.cat([sequence, nxt], dim=1)  # (B, L+h+1, C)
    return sequence[:, context.shape[1] :]


@torch.no_grad()
def test_ratio_one_loop_equals_parallel_teacher_forced(net, windows):
    context, targets = windows
    parallel = net.teacher_forced(context, targets)
    # return_hidden=True forces the step-by-step loop instead of the parallel shortcut
    looped = rollout(net, context, H, targets=targets, ratio=1.0, return_hidden=True)
    torch.testing.assert_close(looped.predictions, parallel, atol=1e-6, rtol=0)
    assert looped.teacher_mask.all()
    fast = rollout(net, context, H, targets=targets, ratio=1.0)
    torch.testing.assert_close(fast.predictions, parallel, atol=0, rtol=0)


@torch.no_grad()
def test_ratio_zero_equals_free_running_reference(net, windows):
    context, targets = windows
    out = rollout(net, context, H, targets=targets, ratio=0.0)
    assert not out.teacher_mask.any()
    reference = fed_inputs_reference(net, context, targets, out.teacher_mask)
    torch.testing.assert_close(out.predictions, reference, atol=1e-5, rtol=0)
    # targets only matter through the coins: none at ratio 0
    torch.testing.assert_close(rollout(net, context, H).predictions, out.predictions)


@torch.no_grad()
@pytest.mark.parametrize("sampling", ["per_step", "per_sequence", "prefix"])
def test_inputs_follow_the_teacher_mask(net, windows, sampling):
    context, targets = windows
    generator = torch.Generator().manual_seed(3)
    out = rollout(
        net, context, H, targets=targets, ratio=0.5, sampling=sampling, generator=generator
    )
    assert out.teacher_mask.any() and not out.teacher_mask.all()
    reference = fed_inputs_reference(net, context, targets, out.teacher_mask)
    torch.testing.assert_close(out.predictions, reference, atol=1e-5, rtol=0)


def test_per_step_coins_feed_truth_about_ratio_of_the_time():
    net, generator = make_network("gru"), torch.Generator().manual_seed(0)
    context, targets = torch.zeros(256, L, C), torch.zeros(256, 40, C)
    with torch.no_grad():
        mask = rollout(
            net, context, 40, targets=targets, ratio=0.3, generator=generator
        ).teacher_mask
    # 10,240 coins: the standard error of the fraction is 0.0045; allow ~4.5 of them
    assert abs(mask.float().mean().item() - 0.3) < 0.02
    # a coin per sample and step: rows differ, and columns are not all alike
    assert len({tuple(row.tolist()) for row in mask}) > 200


def test_per_sequence_flips_one_coin_per_window():
    net, generator = make_network("gru"), torch.Generator().manual_seed(0)
    context, targets = torch.zeros(400, L, C), torch.zeros(400, H, C)
    with torch.no_grad():
        mask = rollout(
            net,
            context,
            H,
            targets=targets,
            ratio=0.5,
            sampling="per_sequence",
            generator=generator,
        ).teacher_mask
    assert (mask.all(1) | ~mask.any(1)).all()
    assert abs(mask[:, 0].float().mean().item() - 0.5) < 0.1


@torch.no_grad()
@pytest.mark.parametrize("sampling", ["per_step", "two_pass"])
def test_shared_coins_give_every_window_the_same_mask(windows, sampling):
    net = make_network("transformer" if sampling == "two_pass" else "gru").eval()
    context, targets = windows
    coins = torch.tensor([0.1, 0.9, 0.4, 0.6, 0.0, 0.99, 0.5, 0.2, 0.7, 0.3])  # (H,)
    out = rollout(net, context, H, targets=targets, ratio=0.5, sampling=sampling, coins=coins)
    expected = (coins < 0.5).expand(B, H)  # (B, H) the same row for every window
    assert torch.equal(out.teacher_mask, expected)
    if sampling == "per_step":
        reference = fed_inputs_reference(net, context, targets, expected)
        torch.testing.assert_close(out.predictions, reference, atol=1e-5, rtol=0)


def test_one_shared_coin_per_sequence_forces_all_or_nothing(windows):
    context, targets = windows
    net = make_network("gru")
    with torch.no_grad():
        low = rollout(
            net,
            context,
            H,
            targets=targets,
            ratio=0.5,
            sampling="per_sequence",
            coins=torch.tensor([0.3]),
        )
        high = rollout(
            net,
            context,
            H,
            targets=targets,
            ratio=0.5,
            sampling="per_sequence",
            coins=torch.tensor([0.7]),
        )
    assert low.teacher_mask.all() and not high.teacher_mask.any()


@pytest.mark.parametrize(
    ("ratio", "forced"),
    [(0.0, 0), (0.25, 2), (0.5, 4), (0.55, 5), (0.9, 8), (0.99, 8), (1.0, H)],
)
def test_prefix_forces_a_fraction_of_the_inputs_that_are_fed(ratio, forced):
    # H = 10 steps feed H - 1 = 9 inputs; the prefix is round(ratio * 9) of them, and any
    # ratio below 1 leaves at least one prediction fed back.
    net, (context, targets) = make_network("gru"), (torch.zeros(4, L, C), torch.zeros(4, H, C))
    with torch.no_grad():
        mask = rollout(
            net, context, H, targets=targets, ratio=ratio, sampling="prefix"
        ).teacher_mask
    assert (mask.sum(1) == forced).all()
    assert mask[:, :forced].all() and not mask[:, forced:].any()


@torch.no_grad()
@pytest.mark.parametrize("ratio", [0.9, 0.95])
def test_prefix_below_one_feeds_back_a_prediction(windows, ratio):
    net = make_network("gru").eval()
    context, targets = windows
    prefix = rollout(net, context, H, targets=targets, ratio=ratio, sampling="prefix")
    forced = rollout(net, context, H, targets=targets, ratio=1.0)
    # The last step's input is the model's own step H-1 prediction, not the truth.
    assert not torch.allclose(prefix.predictions[:, -1], forced.predictions[:, -1])
    torch.testing.assert_close(prefix.predictions[:, :-1], forced.predictions[:, :-1])


def test_generator_makes_coins_reproducible():
    net, (context, targets) = make_network("gru"), (torch.zeros(32, L, C), torch.zeros(32, H, C))

    def mask(seed: int) -> Tensor:
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            return rollout(
                net, context, H, targets=targets, ratio=0.5, generator=generator
            ).teacher_mask

    assert torch.equal(mask(7), mask(7))
    assert not torch.equal(mask(7), mask(8))


@torch.no_grad()
def test_cached_transformer_equals_reencoding(windows):
    net = make_network("transformer").eval()
    context, _ = windows
    cached = rollout(net, context, H).predictions
    torch.testing.assert_close(cached, reencoding_rollout(net, context, H), atol=1e-5, rtol=0)


@torch.no_grad()
def test_cached_transformer_with_one_context_value():
    net = make_network("transformer").eval()
    context = torch.randn(3, 1, C)
    torch.testing.assert_close(
        rollout(net, context, H).predictions, reencoding_rollout(net, context, H), atol=1e-5, rtol=0
    )


@torch.no_grad()
def test_two_pass(windows):
    net = make_network("transformer").eval()
    context, targets = windows
    teacher_forced = net.teacher_forced(context, targets)
    full = rollout(net, context, H, targets=targets, ratio=1.0, sampling="two_pass")
    torch.testing.assert_close(full.predictions, teacher_forced)
    # ratio 0: the second pass is fed the first pass's predictions, not its own
    second = rollout(net, context, H, targets=targets, ratio=0.0, sampling="two_pass")
    torch.testing.assert_close(second.predictions, net.teacher_forced(context, teacher_forced))
    assert not torch.allclose(second.predictions, teacher_forced)
    generator = torch.Generator().manual_seed(0)
    mixed = rollout(
        net, context, H, targets=targets, ratio=0.5, sampling="two_pass", generator=generator
    )
    inputs = torch.where(mixed.teacher_mask[:, :, None], targets, teacher_forced)  # (B, H, C)
    torch.testing.assert_close(mixed.predictions, net.teacher_forced(context, inputs))


def test_two_pass_first_pass_carries_no_gradient(windows):
    net = make_network("transformer")
    context, targets = windows
    targets = targets.clone().requires_grad_(True)
    out = rollout(net, context, H, targets=targets, ratio=0.0, sampling="two_pass")
    out.predictions.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    # At ratio 0 the targets reach the output only through the first pass: no gradient may
    # flow back to them through it (it would if the first pass were differentiated).
    assert targets.grad is None or not targets.grad.any()


@torch.no_grad()
@pytest.mark.parametrize("sampling", ["per_step", "two_pass"])
def test_hidden_states(net, windows, sampling):
    context, targets = windows
    out = rollout(
        net, context, H, targets=targets, ratio=1.0, sampling=sampling, return_hidden=True
    )
    width = 16
    assert out.hidden.shape == (B, H, width)
    _, hidden = net.teacher_forced(context, targets, return_hidden=True)
    torch.testing.assert_close(out.hidden, hidden, atol=1e-6, rtol=0)
    # the step-by-step loop (an identity feed hook forces it) gives the same hidden states
    looped = rollout(
        net, context, H, targets=targets, ratio=1.0, return_hidden=True, feed=lambda y, t, s: y
    )
    torch.testing.assert_close(looped.hidden, hidden, atol=1e-6, rtol=0)
    assert rollout(net, context, H).hidden is None


@torch.no_grad()
def test_feed_hook_changes_what_is_fed(net, windows):
    context, targets = windows
    calls: list[tuple[int, bool]] = []

    def shifted(prediction: Tensor, truth: Tensor | None, step: int) -> Tensor:
        calls.append((step, truth is None))
        return prediction + 1.0

    out = rollout(net, context, H, feed=shifted)
    assert calls == [(step, True) for step in range(H - 1)]  # the last prediction is not fed
    plain = rollout(net, context, H)
    torch.testing.assert_close(out.predictions[:, 0], plain.predictions[:, 0])
    assert not torch.allclose(out.predictions[:, 1:], plain.predictions[:, 1:])
    # the reference: predictions consistent with feeding back prediction + 1 at every step
    shifted_inputs = torch.cat([out.predictions[:, :-1] + 1.0, targets[:, -1:]], dim=1)
    torch.testing.assert_close(
        net.teacher_forced(context, shifted_inputs), out.predictions, atol=1e-5, rtol=0
    )


@torch.no_grad()
def test_feed_hook_only_rewrites_the_model_side(net, windows):
    context, targets = windows
    out = rollout(net, context, H, targets=targets, ratio=1.0, feed=lambda p, t, s: p * 0 + 99.0)
    torch.testing.assert_close(
        out.predictions, net.teacher_forced(context, targets), atol=1e-6, rtol=0
    )


def test_gradients_flow_through_fed_back_predictions(windows):
    net = make_network("gru")
    context, targets = windows
    out = rollout(net, context, H, targets=targets, ratio=0.0)
    (grad,) = torch.autograd.grad(out.predictions[:, -1].sum(), net.head.bias)
    detached = rollout(net, context, H, ratio=0.0, feed=lambda p, t, s: p.detach())
    (grad_detached,) = torch.autograd.grad(detached.predictions[:, -1].sum(), net.head.bias)
    # the head bias reaches the last step directly, and through every fed-back prediction
    assert not torch.allclose(grad, grad_detached)


@torch.no_grad()
def test_direct_network_rollout_is_its_forward():
    torch.manual_seed(0)
    net = DirectNetwork(DirectConfig(hidden_size=8), n_targets=C, horizon=H)
    context, targets = torch.randn(B, L, C), torch.randn(B, H, C)
    out = rollout(net, context, H, targets=targets, ratio=1.0)
    torch.testing.assert_close(out.predictions, net(context))
    assert out.teacher_mask.shape == (B, H) and not out.teacher_mask.any()
    assert out.hidden is None


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            dict(sampling="per_stepp"),
            ConfigError,
            "unknown sampling mode 'per_stepp' (did you mean 'per_step'?); "
            "valid: per_sequence, per_step, prefix, two_pass",
        ),
        (dict(ratio=1.5), ConfigError, "teacher forcing ratio must lie in [0, 1], got 1.5"),
        (dict(ratio=0.5, targets=None), ConfigError, "teacher forcing ratio 0.5 > 0 needs targets"),
        (
            dict(sampling="two_pass", targets=None),
            ConfigError,
            "sampling 'two_pass' needs targets for its teacher-forced pass",
        ),
        (
            dict(ratio=0.5, coins=torch.rand(H - 1)),
            ConfigError,
            f"coins for sampling 'per_step' must have shape ({H},), got ({H - 1},)",
        ),
        (
            dict(ratio=0.5, sampling="per_sequence", coins=torch.rand(H)),
            ConfigError,
            f"coins for sampling 'per_sequence' must have shape (1,), got ({H},)",
        ),
        (
            dict(ratio=0.5, sampling="prefix", coins=torch.rand(H)),
            ConfigError,
            "sampling 'prefix' flips no coins; leave coins out",
        ),
        (
            dict(targets=torch.zeros(2, H + 1, C)),
            DataError,
            f"targets must have shape (B, H, C) = (2, {H}, {C}), got (2, {H + 1}, {C})",
        ),
    ],
)
def test_bad_arguments(kwargs, error, message):
    arguments = dict(targets=torch.zeros(2, H, C)) | kwargs
    with pytest.raises(error) as raised:
        rollout(make_network("gru"), torch.zeros(2, L, C), H, **arguments)
    assert str(raised.value).startswith(message)
