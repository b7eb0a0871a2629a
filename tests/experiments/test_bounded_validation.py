"""Validation is bounded and exact (issue 20): sizes counted before anything is built, YAML
depth measured before it is parsed, counts that are not booleans, trainer options checked
against Lightning, and each refusal one exact line."""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from forecastab.errors import ConfigError, ForecastabError
from forecastab.experiments.checks import estimated_parameters
from forecastab.experiments.config import load_config, validate_config
from forecastab.models import model_from_spec

TINY = """name: t
data: {source: sine, context_length: 8, horizon: 4}
models: [{name: gru, type: rnn, hidden_size: 4}]
strategies: [{name: tf, teacher_forcing: {schedule: constant, ratio: 1.0}}]
"""


def _change(path: str, value: Any) -> Callable[[dict], None]:
    """A mutation that sets ``a.b.0.c`` in a config dict (creating missing mappings)."""

    def mutate(raw: dict) -> None:
        *parents, last = path.split(".")
        node: Any = raw
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[int(last) if last.isdigit() else last] = value

    return mutate


PROFESSOR = {"name": "pf", "method": "professor_forcing"}

REFUSED = [
    # C2: a size whose build overflows; the count is exact integer arithmetic, nothing built
    (
        _change("models.0.hidden_size", 1_000_000_000),
        "models[0] (gru): the network has 6,000,000,019,000,000,001 parameters and needs about "
        "89,406,967,446.2 GiB to train, more than half of this machine's {memory} GiB; reduce "
        "hidden_size: 1000000000",
    ),
    # C3: the discriminator alone is too large: only its setting is named
    (
        _change(
            "strategies", [{**PROFESSOR, "professor_forcing": {"discriminator_hidden": 10**6}}]
        ),
        "models[0] (gru) with strategy 'pf': the network has 9,000,045,000,174 parameters and "
        "needs about 134,111.1 GiB to train, more than half of this machine's {memory} GiB; "
        "reduce professor_forcing.discriminator_hidden: 1000000",
    ),
    # H1: a million layers would take minutes to build even where the memory suffices
    (
        _change("models.0.num_layers", 1_000_000),
        "models[0] (gru): num_layers must be at most 1,000, got 1,000,000; forecasters use a "
        "few layers",
    ),
    # H2: a long run is one step at a time
    (
        _change("evaluation.long_run", {"steps": 10**9}),
        "evaluation.long_run.steps: steps must be at most 100,000, got 1,000,000,000; a long "
        "run is scored against the test split's distribution, which a few thousand steps cover",
    ),
    (
        _change("evaluation.n_bootstrap", 10**8),
        "evaluation.n_bootstrap: n_bootstrap must be at most 100,000, got 100,000,000; 1,000 to "
        "10,000 resamples give stable intervals",
    ),
    # U5: NaN reached the strategy as None through a JSON dump
    (
        _change(
            "strategies",
            [{"name": "n", "method": "noise_injection", "noise_injection": {"std": float("nan")}}],
        ),
        "strategies[0]: noise_injection: std must be a finite number >= 0 (0 is teacher "
        "forcing), got nan",
    ),
    # U7: a float seed bypassed the range check; booleans passed as counts
    (_change("seeds", [-1.0]), "seeds: -1.0 is out of range; a seed is an integer in [0, 4294967295]"),
    (_change("seeds", [True]), "seeds[0]: must be an integer, got true"),
    (_change("seeds", True), "seeds[0]: must be an integer, got true"),
    (_change("data.horizon", True), "data.horizon: must be an integer, got true"),
    (_change("data.context_length", False), "data.context_length: must be an integer, got false"),
    (_change("evaluation.num_samples", True), "evaluation.num_samples: must be an integer, got true"),
    # U10: configurations that train or score nothing, silently
    (
        _change("trainer.max_epochs", 0),
        "trainer.max_epochs must be a positive integer or -1 (no limit), got 0; 0 trains "
        "nothing and every run would score an untrained network",
    ),
    (
        _change("trainer.max_steps", 0),
        "trainer.max_steps must be a positive integer or -1 (no limit), got 0; 0 trains "
        "nothing and every run would score an untrained network",
    ),
    (
        _change(
            "strategies",
            [{**PROFESSOR, "professor_forcing": {"train_below": 0.75, "pass_above": 0.99}}],
        ),
        "strategies[0]: professor_forcing: pass_above (0.99) must be below train_below (0.75): "
        "the discriminator stops learning at train_below accuracy, so the forecaster would "
        "almost never get its adversarial gradient; swap the two values (pass_above: 1 turns "
        "the adversarial term off)",
    ),
    (
        _change("evaluation.quantiles", [0.1, 0.5, 0.1]),
        "evaluation.quantiles: quantiles lists 0.1 twice; give each level once",
    ),
    # U11: trainer options that used to fail in every run, at training
    (
        _change("trainer.precision", 7),
        "trainer.precision must be one of 64, 32, 16, transformer-engine, "
        "transformer-engine-float16, 16-true, 16-mixed, bf16-true, bf16-mixed, 32-true, "
        "64-true, bf16, got 7",
    ),
    (
        _change("trainer.strategy", "dpp"),
        "trainer.strategy: unknown trainer strategy 'dpp' (did you mean 'ddp'?); valid: auto, "
        "ddp, ddp_find_unused_parameters_false, ddp_find_unused_parameters_true, ddp_fork, "
        "ddp_fork_find_unused_parameters_false, ddp_fork_find_unused_parameters_true, "
        "ddp_notebook, ddp_notebook_find_unused_parameters_false, "
        "ddp_notebook_find_unused_parameters_true, ddp_spawn, "
        "ddp_spawn_find_unused_parameters_false, ddp_spawn_find_unused_parameters_true, "
        "deepspeed, deepspeed_stage_1, deepspeed_stage_2, deepspeed_stage_2_offload, "
        "deepspeed_stage_3, deepspeed_stage_3_offload, deepspeed_stage_3_offload_nvme, fsdp, "
        "fsdp_cpu_offload, single_device, single_tpu, single_xla, xla, xla_debug",
    ),
    (
        _change("trainer.accelerator", "gpux"),
        "trainer.accelerator: unknown trainer accelerator 'gpux' (did you mean 'gpu'?); valid: "
        "auto, cpu, cuda, gpu, mps, tpu",
    ),
    # W9: c = inf made the linear schedule 0 at step 0
    (
        _change("strategies.0.teacher_forcing", {"schedule": "linear", "c": float("inf")}),
        "strategies[0].teacher_forcing: linear schedule: c must be finite (c >= 0), got inf",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), REFUSED)
def test_refused_with_one_exact_line(
    make_config: Callable[..., dict], mutate: Callable[[dict], None], message: str
) -> None:
    from forecastab.checks import physical_memory

    raw = copy.deepcopy(make_config())
    mutate(raw)
    start = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        validate_config(raw)
    assert str(caught.value) == message.format(memory=f"{physical_memory() / 2**30:,.0f}")
    assert time.perf_counter() - start < 10  # bounded: nothing of that size was built


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x: " + "[" * 60 + "]" * 60 + "\n", "line 5: the file nests deeper than 50 levels"),
        (
            "x:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 600)) + "  " * 600 + "y: 1\n",
            "line 55: the file nests deeper than 50 levels",
        ),
        ("x: " + "{a: " * 600 + "1" + "}" * 600 + "\n", "line 5: the file nests deeper than 50 levels"),
    ],
    ids=["flow-60", "block-600", "flow-600"],
)
def test_deep_yaml_is_one_line_not_a_recursion_error(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(TINY + body, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: {message}; an experiment file is far flatter: remove the nesting"
    )


def test_merge_keys_merge_and_written_keys_override(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(
        "name: t\n"
        "data: {source: sine, context_length: 8, horizon: 4}\n"
        "models:\n"
        "  - &small {name: gru, type: rnn, hidden_size: 4, num_layers: 2}\n"
        "  - {<<: *small, name: wide, hidden_size: 16}\n"
        "strategies: [{name: tf, teacher_forcing: {schedule: constant, ratio: 1.0}}]\n",
        encoding="utf-8",
    )
    wide = load_config(path).models[1]
    assert (wide.name, wide.model_extra) == ("wide", {"hidden_size": 16, "num_layers": 2})


def test_a_key_written_twice_beside_a_merge_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(
        TINY.replace(
            "models: [{name: gru, type: rnn, hidden_size: 4}]",
            "base: &b {type: rnn}\nmodels: [{<<: *b, name: gru, name: gru2}]",
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="the key 'name' appears twice in one mapping"):
        load_config(path)


NETWORKS = [
    {"type": "rnn", "cell": "gru", "hidden_size": 8},
    {"type": "rnn", "cell": "lstm", "hidden_size": 6, "num_layers": 3},
    {"type": "rnn", "hidden_size": 5, "distribution": "student_t"},
    {"type": "rnn", "hidden_size": 4, "normalization": "revin", "revin_affine": True},
    {"type": "direct", "cell": "lstm", "hidden_size": 7, "num_layers": 2},
    {"type": "direct", "hidden_size": 4, "distribution": "gaussian"},
    {"type": "transformer", "d_model": 8, "nhead": 2, "num_layers": 3, "dim_feedforward": 12},
    {"type": "transformer", "d_model": 8, "nhead": 2, "max_length": 40},
    {"type": "linear", "variant": "nlinear"},
    {"type": "linear", "variant": "dlinear", "kernel_size": 5},
]
PROFESSOR_SPECS = [{"method": "professor_forcing"}, {"method": "professor_forcing",
                                                     "professor_forcing": {"discriminator_hidden": 3}}]


@pytest.mark.parametrize(
    ("options", "strategy"),
    [(options, None) for options in NETWORKS]
    + [  # professor forcing needs an autoregressive network
        (options, spec)
        for options in NETWORKS
        if options["type"] in ("rnn", "transformer")
        for spec in PROFESSOR_SPECS
    ],
    ids=lambda value: "-".join(str(v) for v in (value or {"": "plain"}).values()),
)
def test_parameter_count_equals_the_built_network(
    options: dict[str, Any], strategy: dict[str, Any] | None
) -> None:
    """The arithmetic count against the slow, obvious one: build it and add up the tensors."""
    module = model_from_spec(options, context_length=12, horizon=5, n_targets=1, strategy=strategy)
    built = sum(p.numel() for p in module.parameters())  # the discriminator's included
    counted = estimated_parameters(options, context_length=12, horizon=5, strategy=strategy)
    assert counted == built


@pytest.mark.parametrize(
    ("make_source", "message"),
    [
        (lambda folder: _fifo(folder / "pipe.csv"), "{path} is a FIFO (named pipe), not a regular file"),
        (lambda folder: "/dev/zero", "/dev/zero is a device or socket, not a regular file"),
    ],
    ids=["fifo", "device"],
)
def test_a_data_source_that_is_not_a_regular_file_is_refused_at_validation(
    tmp_path: Path, make_config: Callable[..., dict], make_source: Callable, message: str
) -> None:
    """Reading a FIFO blocks forever, reading /dev/zero fills memory: stat first, never open."""
    source = str(make_source(tmp_path))
    raw = make_config()
    raw["data"]["source"] = source
    with pytest.raises(ForecastabError) as caught:
        validate_config(raw)
    assert str(caught.value) == (
        "data.source: " + message.format(path=source) + "; save the data to a CSV file and "
        "give its path"
    )


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path
