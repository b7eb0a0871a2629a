"""One quick-training spec per registered strategy method, shared by the strategy tests and the
forecaster contract test (importable because tests/ holds the root conftest), and the small
forecaster and batch the strategy semantics tests share."""

from __future__ import annotations

from typing import Any

import torch

from forecastab.models import ForecastModule, RNNConfig

EXAMPLES: dict[str, dict[str, Any]] = {
    "scheduled_sampling": {
        "teacher_forcing": {"schedule": "linear", "k": 1.0, "c": 0.3},
        "sampling": "per_step",
    },
    "noise_injection": {"noise_injection": {"std": 0.1, "context": True}},
    "data_as_demonstrator": {"data_as_demonstrator": {"warmup_epochs": 1, "every": 1}},
    "generalized_teacher_forcing": {
        "generalized_teacher_forcing": {"alpha": "product_bound", "update_every": 2}
    },
    "professor_forcing": {
        "professor_forcing": {"weight": 1.0, "discriminator_hidden": 8, "pass_above": 0.0}
    },
    "multi_step": {"multi_step": {"weights": "exponential", "decay": 0.8, "pushforward": 2}},
    "reinforce": {
        "reinforce": {
            "samples": 2,
            "reward": "mae",
            "nll_weight": 0.5,
            "mixer": {"delta": 2, "step": 2, "every": 1},
        }
    },
}
"""method -> a spec that exercises the method within two short epochs. A method whose class
sets ``needs_distribution`` (reinforce) runs on the probabilistic networks only."""


def example(method: str) -> dict[str, Any]:
    """The example spec of ``method``, with its ``method`` key."""
    if method not in EXAMPLES:
        raise KeyError(f"add an example spec for strategy method '{method}' to {__file__}")
    return {"method": method, **EXAMPLES[method]}


B, L, H = 16, 10, 6
"""Windows per batch, context length and horizon of every strategy test."""


def make_module(strategy, *, network=None, seed: int = 0) -> ForecastModule:
    """A seeded forecaster (a GRU of 8 units unless ``network`` is given) with ``strategy``."""
    torch.manual_seed(seed)
    return ForecastModule(
        network or RNNConfig(hidden_size=8),
        context_length=L,
        horizon=H,
        learning_rate=0.01,
        strategy=strategy,
    )


def sine_batch(offset: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(context (B, L, 1), targets (B, H, 1))`` of sines with seeded phases, plus ``offset``."""
    generator = torch.Generator().manual_seed(1)
    t = torch.arange(L + H, dtype=torch.float32)
    phase = torch.rand(B, 1, generator=generator) * 6
    series = torch.sin(t / 2 + phase)[..., None] + offset  # (B, L+H, 1)
    return series[:, :L], series[:, L:]
