"""A probabilistic grid end to end, and its config errors as one line each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from forecastab.errors import ConfigError
from forecastab.experiments.config import validate_config
from forecastab.experiments.runner import run_experiment


def probabilistic(make_config: Callable[..., dict], **evaluation) -> dict:
    return make_config(
        models=[{"name": "gru", "type": "rnn", "hidden_size": 4, "distribution": "gaussian"}],
        strategies=[{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}],
        baselines=["naive", {"name": "arima", "order": [1, 0, 0]}],
        evaluation={
            "modes": ["free_running"],
            "metrics": ["rmse", "crps", "coverage_90"],
            "num_samples": 10,
            **evaluation,
        },
    )


def test_probabilistic_grid_scores_networks_and_gaussian_baselines(
    tmp_path: Path, make_config: Callable[..., dict], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    result = run_experiment(validate_config(probabilistic(make_config)), out, progress=False)
    assert {o.status for o in result.outcomes} == {"done"}
    results = pd.read_csv(out / "results.csv")
    metrics = results.groupby("model")["metric"].agg(set).to_dict()
    assert metrics == {
        "gru": {"rmse", "crps", "coverage_90"},
        "arima": {"rmse", "crps", "coverage_90"},
        "naive": {"rmse"},
    }
    assert "naive: probabilistic metrics crps, coverage_90 skipped" in capsys.readouterr().err
    assert (out / "calibration.png").stat().st_size > 1000
    assert (out / "runs" / "gru__tf__seed0" / "fan_chart.png").stat().st_size > 1000
    # PIT histograms for the sampled network and the Gaussian baseline, none for the point one
    assert (out / "runs" / "gru__tf__seed0" / "pit.png").stat().st_size > 1000
    assert (out / "runs" / "arima__baseline" / "pit.png").stat().st_size > 1000
    assert not (out / "runs" / "naive__baseline" / "pit.png").exists()


@pytest.mark.parametrize(
    ("evaluation", "model", "message"),
    [
        (
            {"num_samples": 0},
            {},
            "evaluation.num_samples: input should be greater than or equal to 1",
        ),
        ({"metrics": ["crsp"]}, {}, "unknown metric 'crsp' (did you mean 'crps'?)"),
        ({"feedback": "samples"}, {}, "unknown feedback 'samples'"),
        ({}, {"distribution": "normal"}, "unknown distribution 'normal'"),
    ],
)
def test_bad_probabilistic_config_is_one_line(
    make_config: Callable[..., dict], evaluation: dict, model: dict, message: str
) -> None:
    config = probabilistic(make_config, **evaluation)
    config["models"][0].update(model)
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    assert message in str(error.value) and "\n" not in str(error.value)
