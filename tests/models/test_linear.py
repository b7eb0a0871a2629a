"""The linear direct controls: NLinear and DLinear (``type: linear``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forecastab.errors import ConfigError
from forecastab.models import ForecastModule, LinearConfig, LinearNetwork, model_from_spec
from forecastab.models.linear import moving_average

L, H = 8, 3


def _numpy_moving_average(series: np.ndarray, kernel_size: int) -> np.ndarray:
    """The obvious reference: replicate-pad ``(k-1)//2`` in front, the rest behind, average."""
    front = (kernel_size - 1) // 2
    back = kernel_size - 1 - front
    padded = np.concatenate([np.repeat(series[:1], front), series, np.repeat(series[-1:], back)])
    return np.array([padded[i : i + kernel_size].mean() for i in range(len(series))])


def test_nlinear_equals_a_hand_computed_linear_map():
    net = LinearNetwork(LinearConfig(variant="nlinear"), context_length=L, horizon=H, n_targets=1)
    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(H, L)), rng.normal(size=H)
    with torch.no_grad():
        net.layer.weight.copy_(torch.from_numpy(weight))
        net.layer.bias.copy_(torch.from_numpy(bias))
    series = np.array([3.0, 5.0, 4.0, 8.0, 7.0, 9.0, 12.0, 10.0])
    # by hand: y_h = sum_j W[h, j] * (x_j - x_L) + b_h + x_L
    expected = [
        sum(weight[h, j] * (series[j] - series[-1]) for j in range(L)) + bias[h] + series[-1]
        for h in range(H)
    ]
    context = torch.tensor(series, dtype=torch.float32).view(1, L, 1)
    np.testing.assert_allclose(net(context)[0, :, 0].detach().numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5, 8])
def test_dlinear_decomposition_equals_numpy_moving_average(kernel_size):
    series = np.random.default_rng(kernel_size).normal(size=(2, L, 3))
    trend = moving_average(torch.tensor(series), kernel_size).numpy()
    for b in range(2):
        for c in range(3):
            np.testing.assert_allclose(
                trend[b, :, c], _numpy_moving_average(series[b, :, c], kernel_size), rtol=1e-12
            )


def test_dlinear_equals_two_hand_computed_linear_maps():
    net = LinearNetwork(
        LinearConfig(variant="dlinear", kernel_size=3), context_length=L, horizon=H, n_targets=1
    )
    series = np.random.default_rng(1).normal(size=L)
    trend = _numpy_moving_average(series, 3)
    seasonal = series - trend
    ws, bs = net.seasonal.weight.detach().double().numpy(), net.seasonal.bias.detach().numpy()
    wt, bt = net.trend.weight.detach().double().numpy(), net.trend.bias.detach().numpy()
    expected = ws @ seasonal + bs + wt @ trend + bt
    context = torch.tensor(series, dtype=torch.float32).view(1, L, 1)
    np.testing.assert_allclose(net(context)[0, :, 0].detach().numpy(), expected, rtol=1e-4)


def test_linear_layer_is_shared_across_targets():
    net = LinearNetwork(LinearConfig(), context_length=L, horizon=H, n_targets=2)
    column = torch.randn(1, L, 1)
    both = net(torch.cat([column, column], dim=2))
    torch.testing.assert_close(both[..., 0], both[..., 1])


def test_linear_model_runs_through_the_module_as_a_direct_control():
    model = model_from_spec(
        {"name": "dl", "type": "linear", "variant": "dlinear", "kernel_size": 5},
        context_length=L,
        horizon=H,
        n_targets=1,
    )
    assert model.supported_modes == ("free_running",)
    values = np.sin(np.arange(40, dtype=np.float32) / 3)[:, None]
    forecast = model.predict_origins(values, np.arange(L - 1, 30), context_length=L, horizon=H)
    assert forecast.shape == (30 - L + 1, H, 1)
    assert ForecastModule(LinearConfig(), context_length=L, horizon=H).name == "nlinear"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"type": "linear", "variant": "dlinear", "kernel_size": 9},
            "model 'linear': dlinear kernel_size 9 is longer than the context (8); use kernel_size <= 8",
        ),
        (
            {"type": "linear", "variant": "nlinaer"},
            "model 'linear': unknown linear variant 'nlinaer' (did you mean 'nlinear'?); "
            "valid: dlinear, nlinear",
        ),
        (
            {"type": "linear", "kernel_size": 0},
            "model 'linear': kernel_size must be a positive integer, got 0",
        ),
    ],
)
def test_bad_linear_spec_is_one_line_error(spec, message):
    with pytest.raises(ConfigError) as error:
        model_from_spec(spec, context_length=L, horizon=H, n_targets=1)
    assert str(error.value) == message


def test_learning_rate_decay_multiplies_the_rate_after_every_epoch(fast_trainer_kwargs):
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader, TensorDataset

    model = model_from_spec(
        {"type": "linear", "learning_rate": 0.01, "learning_rate_decay": 0.5},
        context_length=L,
        horizon=H,
        n_targets=1,
    )
    batches = DataLoader(TensorDataset(torch.randn(8, L, 1), torch.randn(8, H, 1)), batch_size=4)
    trainer = pl.Trainer(max_epochs=3, limit_val_batches=0, **fast_trainer_kwargs)
    trainer.fit(model, train_dataloaders=batches)
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.01 * 0.5**3)
    with pytest.raises(ConfigError, match=r"learning_rate_decay must lie in \(0, 1\], got 0"):
        model_from_spec(
            {"type": "linear", "learning_rate_decay": 0}, context_length=L, horizon=H, n_targets=1
        )
