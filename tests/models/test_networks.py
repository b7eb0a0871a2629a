"""The networks as plain modules (no Trainer), their configs, and the YAML model entries."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forecastab.errors import ConfigError, DataError
from forecastab.models import (
    NETWORK_CONFIGS,
    DirectConfig,
    DirectNetwork,
    ForecastModule,
    RNNConfig,
    RNNNetwork,
    TransformerConfig,
    TransformerNetwork,
    model_from_spec,
)

B, L, H = 5, 9, 6


@pytest.mark.parametrize("n_targets", [1, 3])
@pytest.mark.parametrize(
    "net",
    [
        lambda c: RNNNetwork(RNNConfig(cell="gru", hidden_size=8, num_layers=2), n_targets=c),
        lambda c: RNNNetwork(RNNConfig(cell="lstm", hidden_size=8), n_targets=c),
        lambda c: TransformerNetwork(
            TransformerConfig(d_model=8, nhead=2), n_targets=c, max_length=L + H
        ),
    ],
    ids=["gru", "lstm", "transformer"],
)
def test_autoregressive_network_shapes(net, n_targets):
    net = net(n_targets)
    context, targets = torch.randn(B, L, n_targets), torch.randn(B, H, n_targets)
    state = net.encode(context)
    y, state = net.step(context[:, -1], state)
    assert y.shape == (B, n_targets)
    assert net.hidden(state).shape == (B, 8)
    assert net.teacher_forced(context, targets).shape == (B, H, n_targets)
    predictions, hidden = net.teacher_forced(context, targets, return_hidden=True)
    assert predictions.shape == (B, H, n_targets) and hidden.shape == (B, H, 8)
    assert net.autoregressive


def test_rnn_decoder_starts_from_the_last_context_value():
    torch.manual_seed(0)
    net = RNNNetwork(RNNConfig(hidden_size=8), n_targets=1)
    context = torch.randn(2, L, 1)
    first = net.teacher_forced(context, torch.randn(2, H, 1))[:, 0]
    y, _ = net.step(context[:, -1], net.encode(context))
    torch.testing.assert_close(first, y)
    other = context.clone()
    other[:, -1] += 1.0
    assert not torch.allclose(net.teacher_forced(other, torch.zeros(2, H, 1))[:, 0], first)


def test_transformer_is_causal():
    torch.manual_seed(0)
    net = TransformerNetwork(TransformerConfig(d_model=8, nhead=2), n_targets=1, max_length=L + H)
    context, targets = torch.randn(2, L, 1), torch.randn(2, H, 1)
    before = net.teacher_forced(context, targets)
    changed = targets.clone()
    changed[:, 3] += 5.0  # the input of step 5: steps 1..4 must not see it
    after = net.teacher_forced(context, changed)
    torch.testing.assert_close(after[:, :4], before[:, :4])
    assert not torch.allclose(after[:, 4:], before[:, 4:])


def test_transformer_positions_are_bounded_by_max_length():
    net = TransformerNetwork(TransformerConfig(d_model=8, nhead=2), n_targets=1, max_length=L + H)
    with pytest.raises(ConfigError, match="exceeds the transformer's max_length 15"):
        net.teacher_forced(torch.zeros(1, L, 1), torch.zeros(1, H + 2, 1))
    wide = TransformerNetwork(
        TransformerConfig(d_model=8, nhead=2, max_length=40), n_targets=1, max_length=L + H
    )
    assert wide.teacher_forced(torch.zeros(1, L, 1), torch.zeros(1, 30, 1)).shape == (1, 30, 1)


def test_direct_network_has_no_feedback():
    net = DirectNetwork(
        DirectConfig(cell="lstm", hidden_size=8, num_layers=2), n_targets=2, horizon=H
    )
    assert not net.autoregressive
    assert net(torch.randn(B, L, 2)).shape == (B, H, 2)
    assert not hasattr(net, "step")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: RNNConfig(cell="gruu"),
            "unknown cell 'gruu' (did you mean 'gru'?); valid: gru, lstm",
        ),
        (lambda: DirectConfig(cell="rnn"), "unknown cell 'rnn'; valid: gru, lstm"),
        (lambda: RNNConfig(hidden_size=0), "hidden_size must be a positive integer, got 0"),
        (lambda: RNNConfig(num_layers=1.5), "num_layers must be a positive integer, got 1.5"),
        (lambda: RNNConfig(dropout=1.0), "dropout must lie in [0, 1), got 1.0"),
        (
            lambda: TransformerConfig(d_model=10, nhead=4),
            "d_model (10) must be divisible by nhead (4)",
        ),
        (lambda: TransformerConfig(max_length=1), "max_length must be an integer >= 2, got 1"),
    ],
)
def test_config_validation(make, message):
    with pytest.raises(ConfigError) as raised:
        make()
    assert str(raised.value) == message


def test_configs_are_keyword_only():
    with pytest.raises(TypeError):
        RNNConfig("gru")


def test_model_from_spec_builds_each_type():
    common = dict(context_length=L, horizon=H, n_targets=2)
    gru = model_from_spec(
        {"name": "gru", "type": "rnn", "cell": "gru", "hidden_size": 8, "learning_rate": 0.01},
        **common,
    )
    assert (gru.name, gru.learning_rate, gru.config) == ("gru", 0.01, RNNConfig(hidden_size=8))
    transformer = model_from_spec(
        {"name": "tf", "type": "transformer", "d_model": 8, "nhead": 2}, **common
    )
    assert isinstance(transformer.network, TransformerNetwork)
    assert transformer.network.max_length == L + H
    direct = model_from_spec({"type": "direct", "cell": "lstm"}, **common, sampling="prefix")
    assert (direct.name, direct.sampling, direct.supported_modes) == (
        "direct_lstm",
        "prefix",
        ("free_running",),
    )
    assert sorted(NETWORK_CONFIGS) == ["direct", "linear", "rnn", "transformer"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"name": "g", "type": "rnnn"},
            "model 'g': unknown model type 'rnnn' (did you mean 'rnn'?); valid: direct, linear, rnn, transformer",
        ),
        ({"name": "g"}, "model 'g' needs a 'type' key; valid: direct, linear, rnn, transformer"),
        (
            {"name": "t", "type": "transformer", "n_head": 2},
            "model 't': unknown key 'n_head' (did you mean 'nhead'?); valid: d_model, dim_feedforward, "
            "distribution, dropout, learning_rate, learning_rate_decay, max_length, name, nhead, normalization, "
            "num_layers, patch, revin_affine, type",
        ),
        (
            {"name": "g", "type": "rnn", "cell": "lstn"},
            "model 'g': unknown cell 'lstn' (did you mean 'lstm'?)",
        ),
    ],
)
def test_model_from_spec_errors(spec, message):
    with pytest.raises(ConfigError) as raised:
        model_from_spec(spec, context_length=L, horizon=H, n_targets=1)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(horizon=0), "horizon must be a positive integer, got 0"),
        (dict(learning_rate=0.0), "learning_rate must be positive, got 0.0"),
        (dict(sampling="prefx"), "unknown sampling mode 'prefx' (did you mean 'prefix'?)"),
        (dict(teacher_forcing_ratio=2.0), "teacher_forcing_ratio must lie in [0, 1], got 2.0"),
    ],
)
def test_forecast_module_validates_its_arguments(kwargs, message):
    arguments = dict(context_length=L, horizon=H) | kwargs
    with pytest.raises(ConfigError) as raised:
        ForecastModule(RNNConfig(hidden_size=8), **arguments)
    assert str(raised.value).startswith(message)


@pytest.fixture
def series() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.sin(np.arange(80) / 4.0)[:, None].astype(np.float32) + 0.1 * rng.standard_normal(
        (80, 1)
    ).astype(np.float32)  # (T, C)


@pytest.mark.parametrize("kind", ["rnn", "transformer", "direct"])
def test_predict_origins_matches_a_loop_over_origins(series, kind):
    torch.manual_seed(0)
    module = model_from_spec(
        {
            "type": kind,
            **({"d_model": 8, "nhead": 2} if kind == "transformer" else {"hidden_size": 8}),
        },
        context_length=L,
        horizon=H,
        n_targets=1,
    )
    origins = np.array([L - 1, 20, 21, 40, len(series) - H - 1])
    for mode in module.supported_modes:
        batched = module.predict_origins(
            series, origins, context_length=L, horizon=H, mode=mode, batch_size=2
        )
        assert batched.shape == (len(origins), H, 1) and batched.dtype == np.float32
        for i, t in enumerate(origins):
            context = torch.from_numpy(series[None, t - L + 1 : t + 1])  # (1, L, C)
            with torch.no_grad():
                if mode == "free_running":
                    expected = module.forecast(context)[0]
                else:
                    expected = module.network.teacher_forced(
                        context, torch.from_numpy(series[None, t + 1 : t + H + 1])
                    )[0]
            np.testing.assert_allclose(batched[i], expected, atol=1e-6)
    assert module.predict_origins(series, origins[:0], context_length=L, horizon=H).shape == (
        0,
        H,
        1,
    )


def test_predict_origins_errors(series):
    gru = ForecastModule(RNNConfig(hidden_size=8), context_length=L, horizon=H)
    direct = ForecastModule(DirectConfig(hidden_size=8), context_length=L, horizon=H)
    last = len(series) - 1
    with pytest.raises(DataError, match=rf"origins must lie in \[{L - 1}, {last - H}\]"):
        gru.predict_origins(
            series, np.array([last]), context_length=L, horizon=H, mode="teacher_forced"
        )
    with pytest.raises(DataError, match=rf"origins must lie in \[{L - 1}, {last}\]"):
        gru.predict_origins(series, np.array([L - 2]), context_length=L, horizon=H)
    with pytest.raises(DataError, match=r"values must have shape \(T, 1\)"):
        gru.predict_origins(np.zeros((80, 2)), np.array([20]), context_length=L, horizon=H)
    with pytest.raises(
        ConfigError, match="model 'direct_gru': unknown mode 'teacher_forced'; valid: free_running"
    ):
        direct.predict_origins(
            series, np.array([20]), context_length=L, horizon=H, mode="teacher_forced"
        )
    with pytest.raises(ConfigError, match="forecasts exactly 6 steps, got horizon 8"):
        direct.predict_origins(series, np.array([20]), context_length=L, horizon=8)
    # an autoregressive network can run past its trained horizon
    assert gru.predict_origins(series, np.array([20]), context_length=L, horizon=2 * H).shape == (
        1,
        2 * H,
        1,
    )


def test_forecast_module_rebuilds_from_its_hyperparameters():
    torch.manual_seed(0)
    module = ForecastModule(
        TransformerConfig(d_model=8, nhead=2, max_length=30),
        context_length=L,
        horizon=H,
        n_targets=2,
        name="t",
    )
    assert module.hparams["network"] == {
        "type": "transformer",
        "d_model": 8,
        "nhead": 2,
        "num_layers": 2,
        "dim_feedforward": 128,
        "dropout": 0.0,
        "max_length": 30,
        "distribution": None,
        "normalization": "none",
        "revin_affine": False,
    }
    rebuilt = ForecastModule(**module.hparams)
    rebuilt.load_state_dict(module.state_dict())
    assert rebuilt.config == module.config and rebuilt.name == "t"
    context = np.random.default_rng(0).standard_normal((3, L, 2)).astype(np.float32)
    np.testing.assert_array_equal(rebuilt.forecast(context), module.forecast(context))


def test_forecast_restores_training_mode():
    module = ForecastModule(
        RNNConfig(hidden_size=8, num_layers=2, dropout=0.5), context_length=L, horizon=H
    )
    module.train()
    context = np.ones((2, L, 1), dtype=np.float32)
    # dropout is off while forecasting: the same context gives the same forecast
    np.testing.assert_array_equal(module.forecast(context), module.forecast(context))
    assert module.training
    with pytest.raises(DataError, match=r"context must have shape \(B, L, 1\), got \(9, 1\)"):
        module.forecast(context[0])
