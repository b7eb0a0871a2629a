"""Per-window normalization (``normalization: last | revin``) in every rollout path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from forecastab.errors import ConfigError
from forecastab.models import ForecastModule, RNNConfig, TransformerConfig, model_from_spec
from forecastab.models.direct import DirectConfig
from forecastab.models.normalization import (
    REVIN_EPSILON,
    NormalizedNetwork,
)
from forecastab.teacher_forcing.rollout import rollout

B, L, H, C = 4, 12, 5, 2


class IdentityDirect(nn.Module):
    """A direct network that returns the last H context values: the identity on its input."""

    autoregressive = False

    def forward(self, context: Tensor) -> Tensor:
        return context[:, -H:]


class IdentityStep(nn.Module):
    """An autoregressive network whose every prediction is its input (the identity)."""

    autoregressive = True

    def encode(self, context: Tensor) -> None:
        return None

    def step(self, x_prev: Tensor, state: None) -> tuple[Tensor, None]:
        return x_prev.clone(), state

    def hidden(self, state: None) -> Tensor:
        return torch.zeros(1)

    def teacher_forced(self, context: Tensor, targets: Tensor, *, return_hidden: bool = False):
        return torch.cat([context[:, -1:], targets[:, :-1]], dim=1)  # (B, H, C)


def _wrapped(net: nn.Module, normalization: str, affine: bool) -> NormalizedNetwork:
    wrapped = NormalizedNetwork(net, normalization=normalization, n_targets=C, revin_affine=affine)
    if affine:
        with torch.no_grad():  # a non-trivial affine map, as after training
            wrapped.affine_weight.copy_(torch.tensor([1.7, -0.4]))
            wrapped.affine_bias.copy_(torch.tensor([0.3, -2.0]))
    return wrapped


@pytest.mark.parametrize(
    ("normalization", "affine"), [("last", False), ("revin", False), ("revin", True)]
)
def test_identity_network_round_trips_exactly(normalization, affine):
    torch.manual_seed(0)
    context = torch.randn(B, L, C) * 5 + 40
    direct = _wrapped(IdentityDirect(), normalization, affine)
    torch.testing.assert_close(direct(context), context[:, -H:], rtol=0, atol=1e-4)
    stepper = _wrapped(IdentityStep(), normalization, affine)
    free = rollout(stepper, context, H).predictions
    torch.testing.assert_close(free, context[:, -1:].expand(B, H, C), rtol=0, atol=1e-4)
    targets = torch.randn(B, H, C) + 40
    forced = stepper.teacher_forced(context, targets)
    torch.testing.assert_close(forced[:, 1:], targets[:, :-1], rtol=0, atol=1e-4)


def _networks(normalization: str, affine: bool) -> list[ForecastModule]:
    torch.manual_seed(1)
    keys = dict(normalization=normalization, revin_affine=affine)
    configs = [
        RNNConfig(cell="gru", hidden_size=8, **keys),
        RNNConfig(cell="lstm", hidden_size=8, **keys),
        TransformerConfig(d_model=8, nhead=2, num_layers=1, dim_feedforward=16, **keys),
    ]
    modules = [ForecastModule(c, context_length=L, horizon=H, n_targets=C) for c in configs]
    for module in modules:
        module.eval()
        if affine:
            with torch.no_grad():
                module.network.affine_weight.copy_(torch.tensor([1.7, -0.4]))
                module.network.affine_bias.copy_(torch.tensor([0.3, -2.0]))
    return modules


@pytest.mark.parametrize(
    ("normalization", "affine"), [("last", False), ("revin", False), ("revin", True)]
)
def test_teacher_forced_and_free_running_paths_agree_at_ratio_one(normalization, affine):
    torch.manual_seed(2)
    context, targets = torch.randn(B, L, C) * 3 + 10, torch.randn(B, H, C) * 3 + 10
    for module in _networks(normalization, affine):
        net = module.network
        parallel = rollout(net, context, H, targets=targets, ratio=1.0).predictions
        # a feed hook forces the step-by-step loop; it feeds the truth at ratio 1 all the same
        loop = rollout(net, context, H, targets=targets, ratio=1.0, feed=lambda y, t, s: y)
        torch.testing.assert_close(loop.predictions / parallel, torch.ones_like(parallel))
        two_pass = rollout(net, context, H, targets=targets, ratio=1.0, sampling="two_pass")
        torch.testing.assert_close(two_pass.predictions, parallel)


@pytest.mark.parametrize("normalization", ["last", "revin"])
def test_every_path_is_equivariant_to_the_window_level(normalization):
    """Shifting a window (and, for revin, scaling it) shifts every path's forecast the same way.

    This holds only if the context, the fed-back values, the teacher-forced inputs and the
    outputs all go through the same per-window normalization.
    """
    torch.manual_seed(3)
    context, targets = torch.randn(B, L, C), torch.randn(B, H, C)
    scale = 3.0 if normalization == "revin" else 1.0
    shift = 25.0

    def moved(x: Tensor) -> Tensor:
        return x * scale + shift

    for module in _networks(normalization, affine=normalization == "revin"):
        for name, path in _paths(module.network).items():
            expected = moved(path(context, targets))
            actual = path(moved(context), moved(targets))
            torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-3, msg=name)


def _paths(net: nn.Module) -> dict:
    """Every way a forecast leaves the rollout, as ``path(context, targets) -> (B, H, C)``."""

    def coins() -> torch.Generator:
        return torch.Generator().manual_seed(0)  # the same coins for both windows

    return {
        "free_running": lambda c, t: rollout(net, c, H).predictions,
        "teacher_forced": lambda c, t: net.teacher_forced(c, t),
        "mixed": lambda c, t: (
            rollout(net, c, H, targets=t, ratio=0.5, generator=coins()).predictions
        ),
        "fed_back_noise": lambda c, t: (
            rollout(
                net,
                c,
                H,
                targets=t,
                ratio=0.5,
                generator=coins(),
                feed=lambda y, truth, s: y * 0.9 + truth * 0.1,
            ).predictions
        ),
        "two_pass": lambda c, t: (
            rollout(
                net, c, H, targets=t, ratio=0.5, generator=coins(), sampling="two_pass"
            ).predictions
        ),
    }


def test_without_normalization_the_forecast_is_not_equivariant():
    """The equivariance test above can fail: a plain network does not have the property."""
    (module, *_) = _networks("none", affine=False)
    context = torch.randn(B, L, C)
    shifted = rollout(module.network, context + 25.0, H).predictions
    assert not torch.allclose(shifted, rollout(module.network, context, H).predictions + 25.0)


def test_predict_origins_teacher_forced_path_is_normalized():
    torch.manual_seed(4)
    values = np.cumsum(np.random.default_rng(0).normal(size=(60, C)), axis=0).astype(np.float32)
    origins = np.arange(L - 1, 60 - H - 1, 7)
    for module in _networks("revin", affine=True):
        forced = module.predict_origins(
            values, origins, context_length=L, horizon=H, mode="teacher_forced"
        )
        shifted = module.predict_origins(
            values + 100, origins, context_length=L, horizon=H, mode="teacher_forced"
        )
        np.testing.assert_allclose(shifted, forced + 100, rtol=1e-4, atol=1e-3)
        context = torch.from_numpy(np.stack([values[o - L + 1 : o + 1] for o in origins]))
        targets = torch.from_numpy(np.stack([values[o + 1 : o + H + 1] for o in origins]))
        with torch.no_grad():
            loop = rollout(
                module.network, context, H, targets=targets, ratio=1.0, feed=lambda y, t, s: y
            ).predictions
        np.testing.assert_allclose(forced, loop.numpy(), rtol=1e-4, atol=1e-5)


def test_direct_network_is_normalized():
    module = ForecastModule(
        DirectConfig(hidden_size=8, normalization="last"), context_length=L, horizon=H, n_targets=C
    )
    context = torch.randn(B, L, C)
    with torch.no_grad():
        torch.testing.assert_close(
            module.network(context + 7.0), module.network(context) + 7.0, rtol=1e-5, atol=1e-4
        )


def test_revin_on_a_constant_context_is_finite_and_restores_the_level():
    context = torch.full((B, L, C), 3.5)
    net = _wrapped(IdentityStep(), "revin", affine=True)
    statistics = net.statistics(context)
    torch.testing.assert_close(statistics.scale, torch.full((B, 1, C), REVIN_EPSILON**0.5))
    free = rollout(net, context, H).predictions
    assert torch.isfinite(free).all()
    torch.testing.assert_close(free, context[:, -H:])
    for module in _networks("revin", affine=False):
        assert torch.isfinite(rollout(module.network, context, H).predictions).all()


def test_normalization_survives_a_checkpoint_round_trip():
    (module, *_) = _networks("revin", affine=True)
    again = ForecastModule(module.hparams["network"], context_length=L, horizon=H, n_targets=C)
    again.load_state_dict(module.state_dict())
    context = torch.randn(B, L, C)
    torch.testing.assert_close(again.forecast(context), module.forecast(context))
    assert isinstance(again.network, NormalizedNetwork)


def test_none_keeps_the_plain_network():
    module = ForecastModule(RNNConfig(hidden_size=4), context_length=L, horizon=H)
    assert not isinstance(module.network, NormalizedNetwork)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"type": "rnn", "normalization": "revn"},
            "model 'rnn': unknown normalization 'revn' (did you mean 'revin'?); "
            "valid: last, none, revin",
        ),
        (
            {"type": "transformer", "normalization": "last", "revin_affine": True},
            "model 'transformer': revin_affine needs normalization 'revin', got 'last'; "
            "set normalization: revin or drop revin_affine",
        ),
        (
            {"type": "direct", "normalization": "revin", "revin_affine": "yes"},
            "model 'direct': revin_affine must be true or false, got 'yes'",
        ),
    ],
)
def test_bad_normalization_is_one_line_error(spec, message):
    with pytest.raises(ConfigError) as error:
        model_from_spec(spec, context_length=L, horizon=H, n_targets=1)
    assert str(error.value) == message


def test_every_network_config_defaults_to_no_normalization():
    from forecastab.models import NETWORK_CONFIGS

    for config_class in NETWORK_CONFIGS.values():
        config = config_class()
        assert (config.normalization, config.revin_affine) == ("none", False)
