"""Segment-wise (patch) autoregression: ``patch: P`` on the rnn network (see docs/models.md)."""

from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from forecastab.data.series_data import SeriesCovariates
from forecastab.errors import ConfigError
from forecastab.experiments.checks import estimated_parameters
from forecastab.experiments.config import validate_config
from forecastab.models import ForecastModule, RNNConfig, RNNNetwork, build_network, model_from_spec
from forecastab.strategies import METHODS
from forecastab.teacher_forcing.covariates import Channels, Covariates, patches
from forecastab.teacher_forcing.rollout import rollout
from forecastab.teacher_forcing.sampled import sample_paths
from tests.strategy_examples import example

L, H, P = 12, 6, 3
COUNTS = {"past": 2, "future": 2, "static": 3}


NETWORKS = {
    "gru": {"type": "rnn", "hidden_size": 8},
    "lstm": {"type": "rnn", "cell": "lstm", "hidden_size": 8},
    "transformer": {"type": "transformer", "d_model": 8, "nhead": 2, "num_layers": 1},
}


def config_of(kind: str, **options):
    spec = {"name": kind, **NETWORKS[kind], **options}
    return model_from_spec(spec, context_length=L, horizon=H, n_targets=1).config


def patched(kind: str = "gru", **options) -> torch.nn.Module:
    config = config_of(kind, patch=P, **options)
    torch.manual_seed(0)
    return build_network(config, context_length=L, horizon=H, n_targets=2)


def windows(batch: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    series = torch.randn(batch, L + H, 2, generator=generator)
    return series[:, :L], series[:, L:]


@pytest.mark.parametrize("kind", sorted(NETWORKS))
@pytest.mark.parametrize("ratio", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("sampling", ["per_step", "per_sequence", "prefix", "two_pass"])
def test_a_patched_rollout_has_the_usual_shapes_and_a_mask_constant_per_patch(
    kind: str, ratio: float, sampling: str
) -> None:
    net = patched(kind, normalization="revin", revin_affine=True)
    context, targets = windows()
    out = rollout(
        net, context, H, targets=targets, ratio=ratio, sampling=sampling,
        generator=torch.Generator().manual_seed(1), return_hidden=True,
    )  # fmt: skip
    assert out.predictions.shape == (4, H, 2)
    assert out.teacher_mask.shape == (4, H)
    assert out.hidden.shape == (4, H, 8)
    assert (out.hidden.reshape(4, H // P, P, 8) == out.hidden[:, ::P, None]).all()
    mask = out.teacher_mask.reshape(4, H // P, P)
    assert (mask == mask[..., :1]).all()  # one coin per patch
    assert torch.isfinite(out.predictions).all()


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_the_parallel_teacher_forced_pass_equals_the_patched_loop(kind: str) -> None:
    net = patched(kind, normalization="revin")
    context, targets = windows()
    parallel = rollout(net, context, H, targets=targets, ratio=1.0).predictions
    # a feed hook forces the step-by-step loop; the identity feeds the same values
    looped = rollout(net, context, H, targets=targets, ratio=1.0, feed=lambda y, t, s: y)
    torch.testing.assert_close(parallel, looped.predictions)


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_a_patched_network_is_fed_whole_patches_of_its_own_predictions(kind: str) -> None:
    """Free running, the input of patch j + 1 is patch j's prediction, not the truth."""
    net = patched(kind)
    context, targets = windows()
    free = rollout(net, context, H, targets=targets, ratio=0.0).predictions
    forced_on_own = rollout(net, context, H, targets=free.detach(), ratio=1.0).predictions
    torch.testing.assert_close(free, forced_on_own, rtol=1e-5, atol=1e-5)
    forced = rollout(net, context, H, targets=targets, ratio=1.0).predictions
    torch.testing.assert_close(free[:, :P], forced[:, :P])  # the first patch sees only context
    assert not torch.allclose(free[:, P:], forced[:, P:])


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_probabilistic_parameters_and_sampled_paths_come_back_per_row(kind: str) -> None:
    net = patched(kind, distribution="gaussian", normalization="revin")
    context, targets = windows()
    out = rollout(net, context, H, targets=targets, ratio=0.0)
    assert out.params.shape == (4, H, 2, 2)
    torch.testing.assert_close(out.predictions, out.params[..., 0])
    paths = sample_paths(net, context, H, num_samples=5, seed=0)
    assert paths.predictions.shape == (4, 5, H, 2)
    assert torch.isfinite(paths.predictions).all()


def test_covariates_are_cut_into_patches_of_their_rows() -> None:
    channels = Channels(n_targets=1, **{f"n_{k}": v for k, v in COUNTS.items()})
    net = RNNNetwork(RNNConfig(hidden_size=8, patch=P), n_targets=1, channels=channels)
    assert net.encoder.input_size == P * (1 + 2 + 2) + 3
    assert net.decoder.input_size == P * (1 + 2) + 3
    context = torch.randn(2, L, 1)
    covariates = Covariates.zeros(channels, batch_size=2, rows=L + H)
    assert rollout(net, context, H, covariates=covariates).predictions.shape == (2, H, 1)


def covariate_inputs(seed: int = 0) -> tuple[np.ndarray, SeriesCovariates]:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(120, 1)).astype(np.float32)
    covariates = SeriesCovariates(
        past=rng.normal(size=(120, 2)).astype(np.float32),
        future=rng.normal(size=(120, 2)).astype(np.float32),
        static=rng.normal(size=3).astype(np.float32),
    )
    return values, covariates


ORIGINS = np.array([60, 80, 100])


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_no_value_after_the_origin_changes_a_free_running_patched_forecast(kind: str) -> None:
    config = config_of(kind, patch=P, normalization="revin")
    torch.manual_seed(0)
    net = ForecastModule(config, context_length=L, horizon=H, n_targets=1, covariates=COUNTS)
    values, covariates = covariate_inputs()

    def forecast(values, covariates):
        return net.predict_origins(values, ORIGINS, context_length=L, horizon=H, covariates=covariates)

    reference = forecast(values, covariates)
    for i, origin in enumerate(ORIGINS):
        later = values.copy()
        later[origin + 1 :] += 25.0
        past = covariates.past.copy()
        past[origin + 1 :] -= 25.0
        changed = forecast(later, SeriesCovariates(past, covariates.future, covariates.static))
        np.testing.assert_allclose(changed[i], reference[i], rtol=1e-5, atol=1e-5)
        if i + 1 < len(ORIGINS):  # later origins do see the change: the check can fail
            assert not np.allclose(changed[i + 1], reference[i + 1])
    # a future covariate at horizon step h reaches its own patch and later ones only
    step = P + 2  # in the second patch
    future = covariates.future.copy()
    future[ORIGINS + step] += 10.0
    changed = forecast(values, SeriesCovariates(covariates.past, future, covariates.static))
    np.testing.assert_allclose(changed[:, :P], reference[:, :P], atol=1e-5)
    assert not np.allclose(changed[:, P:], reference[:, P:], atol=1e-4)


@pytest.mark.parametrize("kind", ["gru", "transformer"])
@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_strategy_trains_a_patched_network(method: str, kind: str, fast_trainer_kwargs) -> None:
    from tests.strategy_examples import B, sine_batch
    from tests.strategy_examples import H as SH
    from tests.strategy_examples import L as SL

    assert SL % 2 == 0 and SH % 2 == 0
    spec = example(method)
    distribution = "gaussian" if method == "reinforce" else None
    config = config_of(kind, patch=2, distribution=distribution)
    torch.manual_seed(0)
    net = ForecastModule(
        config,
        context_length=SL,
        horizon=SH,
        strategy=spec,
        learning_rate=0.01,
    )
    context, targets = sine_batch()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(context, targets), batch_size=B // 2
    )
    trainer = pl.Trainer(max_epochs=2, **fast_trainer_kwargs)
    trainer.fit(net, train_dataloaders=loader, val_dataloaders=loader)
    out = net.predict_origins(
        np.sin(np.arange(60) / 2)[:, None].astype(np.float32), np.array([20, 40]),
        context_length=SL, horizon=SH,
    )  # fmt: skip
    assert out.shape == (2, SH, 1) and np.isfinite(out).all()


@pytest.mark.parametrize(
    "options",
    [
        {"type": "rnn", "hidden_size": 8, "patch": 3},
        {"type": "rnn", "cell": "lstm", "hidden_size": 8, "num_layers": 2, "patch": 2},
        {"type": "rnn", "hidden_size": 8, "patch": 6, "distribution": "student_t",
         "normalization": "revin", "revin_affine": True},
        {"type": "transformer", "d_model": 8, "nhead": 2, "patch": 3},
        {"type": "transformer", "d_model": 8, "nhead": 2, "patch": 2, "max_length": 30,
         "distribution": "gaussian"},
    ],
    ids=["gru", "lstm", "student_t", "transformer", "transformer-gaussian"],
)
def test_the_parameter_count_of_a_patched_network_equals_the_built_one(options) -> None:
    module = model_from_spec(options, context_length=L, horizon=H, n_targets=1)
    built = sum(p.numel() for p in module.parameters())
    assert estimated_parameters(options, context_length=L, horizon=H) == built


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_patch_one_is_the_point_wise_network(kind: str) -> None:
    context, targets = windows()
    outputs = []
    for options in ({}, {"patch": 1}):
        torch.manual_seed(0)
        net = build_network(config_of(kind, **options), context_length=L, horizon=H, n_targets=2)
        outputs.append(rollout(net, context, H, targets=targets, ratio=0.5,
                               generator=torch.Generator().manual_seed(0)).predictions)
    assert torch.equal(*outputs)


def experiment(context_length: int, horizon, patch) -> dict:
    return {
        "name": "x",
        "data": {"source": "sine", "context_length": context_length, "horizon": horizon},
        "models": [{"name": "gru", "type": "rnn", "hidden_size": 8, "patch": patch}],
        "strategies": [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1}}],
    }


@pytest.mark.parametrize(
    ("context_length", "horizon", "patch", "message"),
    [
        (30, 8, 5, "models[0] (gru): model 'gru': patch 5 needs a horizon that is a multiple of 5, "
         "got 8; use horizon 5 or 10, or a patch that divides 8"),
        (31, 8, 2, "patch 2 needs a context length that is a multiple of 2, got 31; "
         "use context length 30 or 32, or a patch that divides 31"),
        (30, [6, 13], 3, "models[0] (gru): patch 3 needs a horizon that is a multiple of 3, "
         "got 13; use horizon 12 or 15, or a patch that divides 13"),
        (30, 6, 0, "patch must be a positive integer (1: one value per step), got 0"),
        (30, 6, True, "patch must be a positive integer (1: one value per step), got True"),
    ],
    ids=["horizon", "context", "second-horizon", "zero", "bool"],
)
def test_lengths_that_are_not_whole_patches_are_refused_in_one_line(
    context_length, horizon, patch, message
) -> None:
    with pytest.raises(ConfigError) as error:
        validate_config(experiment(context_length, horizon, patch))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_patched_rollout_refuses_bad_lengths_and_a_state_encoded_elsewhere() -> None:
    net = patched()
    context, _ = windows()
    with pytest.raises(ConfigError, match="patch 3 needs a horizon that is a multiple of 3, got 4"):
        rollout(net, context, 4)
    with pytest.raises(ConfigError, match="leave encoded out"):
        rollout(net, context, H, encoded=net.encode(patches(context, P)))
