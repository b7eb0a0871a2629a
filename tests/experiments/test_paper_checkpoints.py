"""experiments/flipped_classroom/paper_checkpoints.py: the paper's weight layout loads, the
forecasts are wired as the paper's test runs them, and the table names every model found."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "flipped_classroom" / "paper_checkpoints.py"


@pytest.fixture(scope="module")
def script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("paper_checkpoints", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["paper_checkpoints"] = module
    spec.loader.exec_module(module)
    return module


def _save(folder: Path, channels: int, hidden: int, *, bias: float, zero: bool) -> None:
    """Weights in the paper's layout: ``encoder`` and ``decoder`` state dicts."""
    torch.manual_seed(0)
    encoder = torch.nn.GRU(channels, hidden)
    decoder = torch.nn.GRU(channels, hidden)
    linear = torch.nn.Linear(hidden, channels)
    if zero:
        for part in (encoder, decoder, linear):
            for weight in part.parameters():
                torch.nn.init.zeros_(weight)
        torch.nn.init.constant_(linear.bias, bias)
    folder.mkdir(parents=True)
    torch.save({f"encoder_gru.{k}": v for k, v in encoder.state_dict().items()}, folder / "encoder")
    torch.save(
        {
            **{f"decoder_gru.{k}": v for k, v in decoder.state_dict().items()},
            **{f"linear.{k}": v for k, v in linear.state_dict().items()},
        },
        folder / "decoder",
    )


def test_a_constant_model_forecasts_its_bias(script, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # all weights zero: the head's bias is every forecast, whatever the context
    _save(tmp_path / "w", channels=2, hidden=6, bias=0.25, zero=True)
    model = script.load_paper_model(tmp_path / "w")
    assert model.encoder_gru.hidden_size == 6
    contexts = np.random.default_rng(0).standard_normal((5, 10, 2))
    targets = np.random.default_rng(1).standard_normal((5, 4, 2))
    errors = script.score(model, contexts, targets)
    np.testing.assert_allclose(errors, 0.25 - targets, atol=1e-6)


def test_the_table_lists_every_model_found(script, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    results = tmp_path / "essential"
    for folder in ("TF", "FR", "CL_ITF_P_Lin"):
        _save(results / folder / "mackeyglass" / "checkpoints", 1, 4, bias=0.0, zero=False)
    config = {
        "name": "fc",
        "data": {"source": "mackey_glass", "generator": {"length": 400}, "context_length": 16,
                 "horizon": 8, "split": {"train": 0.6, "val": 0.1, "test": 0.3}},
        "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
        "strategies": [{"name": "teacher_forcing",
                        "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}],
    }  # fmt: skip
    path = tmp_path / "fc.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert script.main([str(path), str(results), "mackeyglass", "--long-run-scaling", "2000"]) == 0
    out = capsys.readouterr().out
    assert "z-scored with 2,000 samples of the generator" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[1] for row in rows] == [
        "teacher_forcing", "free_running", "increasing_probabilistic"
    ]  # fmt: skip
    assert rows[0].split(" | ")[3] == "1"  # teacher forcing is the ratio's reference
