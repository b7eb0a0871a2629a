"""``forecastab tune``: search the space with Optuna, then compare the winner with tuned teacher forcing.

1. Two studies share the budget rule: ``search`` over the whole space, and ``teacher_forcing``
   over the same space with the strategy fixed to teacher forcing (the fair control), each with
   ``trials`` trials, scored on the validation split (:mod:`.trials`).
2. Trials run in this process, in ``workers`` local processes, or as Ray tasks
   (``executor: ray``), all sharing the study's storage (:mod:`.study`).
3. The best of each study is trained with the file's ``seeds`` and evaluated once on test by
   the ordinary runner into ``DIR/final`` (results.csv, chart, paired tests), and the folder
   gets the trials table, Optuna's charts, the runnable best YAML and ``summary.md``
   (:mod:`.outputs`).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from forecastab.errors import ConfigError, ForecastabError
from forecastab.experiments.config import validate_config
from forecastab.tuning import study as studies
from forecastab.tuning.config import TuneConfig, load_tune_config
from forecastab.tuning.space import SearchSpace
from forecastab.tuning.trials import run_trial

OPTUNA_MISSING = "forecastab tune needs optuna: pip install 'forecastab[tune]'"
TRIALS_DIR = "trials"
WORKER_MARKER = ".worker"


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` produced.

    Attributes:
        out_dir: The tune folder.
        best: Per arm (``search``, ``teacher_forcing``), the best trial's parameters and value.
        summary: The one-line answer of ``summary.md``.
    """

    out_dir: Path
    best: dict[str, dict[str, Any]]
    summary: str


def arms(config: TuneConfig) -> dict[str, SearchSpace]:
    """The studies of a tune file and their spaces."""
    found = {"search": config.space}
    if config.block.compare_teacher_forcing and config.space.methods is not None:
        found["teacher_forcing"] = config.space.teacher_forcing_only()
    return found


def _marker(run_dir: Path) -> Path:
    return run_dir.parent / f".{run_dir.name}{WORKER_MARKER}"


def run_one(config: TuneConfig, arm: str, space: SearchSpace, out_dir: Path, trial: Any) -> None:
    """Draw, train and score one asked trial, and tell the study how it ended."""
    from optuna.trial import TrialState

    draw = space.draw(trial)
    try:
        trial_config = validate_config(config.trial_raw(draw))
    except ForecastabError as error:  # a combination no corner showed: the trial fails alone
        trial.set_user_attr("label", draw["label"])
        trial.set_user_attr("error", str(error))
        trial.study.tell(trial, state=TrialState.FAIL)
        return
    run_dir = out_dir / TRIALS_DIR / arm / f"trial_{trial.number:04d}"
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    marker = _marker(run_dir)
    marker.write_text(f"{os.getpid()}\n", encoding="utf-8")  # who runs it, while it runs

    def report(value: float, epoch: int) -> bool:
        trial.report(value, epoch)
        return bool(trial.should_prune())

    start = time.perf_counter()
    try:
        outcome, scores = run_trial(
            trial_config,
            run_dir,
            config.block.objective,
            report_value=report,
            test=config.block.test_every_trial,
        )
    finally:
        marker.unlink(missing_ok=True)
    trial.set_user_attr("label", draw["label"])
    trial.set_user_attr("seconds", round(time.perf_counter() - start, 2))
    if scores is None:
        trial.set_user_attr("error", outcome.error)
        trial.study.tell(trial, state=TrialState.FAIL)
        return
    trial.set_user_attr(studies.SCORES, asdict(scores))
    if scores.pruned_at is not None:
        trial.study.tell(trial, state=TrialState.PRUNED)
        return
    trial.study.tell(trial, studies.finished_value(scores.objective))


def work_arms(
    config: TuneConfig,
    out_dir: Path,
    owner: Mapping[str, Any],
    *,
    wait: bool,
    dead_tokens: Any = set,
) -> int:
    """Take and run trials of every arm until each budget is met (see :func:`.study.work`)."""
    storage = studies.open_storage(out_dir, config.block.storage)
    ran = 0
    for arm, space in arms(config).items():
        study = studies.make_study(storage, studies.study_name(config.name, arm), config.block)
        ran += studies.work(
            study,
            out_dir,
            config.block.trials,
            partial(run_one, config, arm, space, out_dir),
            dict(owner),
            wait=wait,
            dead_tokens=dead_tokens,
        )
    return ran


def _local_worker(config: TuneConfig, out_dir: Path, parent_pid: int) -> None:
    """A spawned worker process: dies with its parent, leaves Ctrl-C to it."""
    from forecastab.experiments import workers

    workers.die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _threads(config)
    work_arms(config, out_dir, studies.new_owner(), wait=False)


def _ray_worker(config: TuneConfig, out_dir: str, token: str) -> int:
    """A Ray task: runs trials until the budgets are met, as owner ``token``."""
    _threads(config)
    owner = {**studies.new_owner(), "token": token}
    return work_arms(config, Path(out_dir), owner, wait=False)


def _threads(config: TuneConfig) -> None:
    import torch

    if config.experiment.executor.threads_per_run is not None:
        torch.set_num_threads(config.experiment.executor.threads_per_run)


def _run_local(config: TuneConfig, out_dir: Path) -> None:
    from forecastab.experiments import workers

    extra = config.block.workers - 1
    context = multiprocessing.get_context("spawn")
    processes = []
    with workers.children_ignore_ctrl_c():
        for _ in range(extra):
            process = context.Process(
                target=_local_worker, args=(config, out_dir, os.getpid()), daemon=True
            )
            process.start()
            processes.append(process)
    try:
        _threads(config)
        work_arms(config, out_dir, studies.new_owner(), wait=True)
    except BaseException:  # Ctrl-C, an error: stop the workers (their trials are reaped later)
        for process in processes:
            process.terminate()
        raise
    for process in processes:
        process.join()


def _run_ray(config: TuneConfig, out_dir: Path) -> None:
    """Trials as Ray tasks (``executor: ray``); a task whose worker dies has its trial reaped and
    retried once, and a replacement task is started (at most as many as there are workers)."""
    from forecastab.experiments.executors import RayExecutor

    executor_config = config.experiment.executor
    RayExecutor(executor_config.address)  # one line when ray is missing
    import ray

    if not ray.is_initialized():
        ray.init(address=executor_config.address, log_to_driver=False)
    task = ray.remote(num_cpus=executor_config.cpus_per_run, max_retries=0)(_ray_worker)
    dead: set[str] = set()
    replacements = config.block.workers

    def start() -> tuple[Any, str]:
        token = uuid.uuid4().hex
        return task.remote(config, str(out_dir), token), token

    pending = dict(start() for _ in range(config.block.workers))
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            token = pending.pop(ref)
            try:
                ray.get(ref)
            except Exception as error:  # the worker died or Ray lost the task
                print(f"forecastab: warning: a Ray trial worker failed: {type(error).__name__}; "
                      "its trial is retried", file=sys.stderr)
                dead.add(token)
                if replacements > 0:
                    replacements -= 1
                    new_ref, new_token = start()
                    pending[new_ref] = new_token
    # whatever is left (a retry of a trial whose worker died last) runs here
    work_arms(config, out_dir, studies.new_owner(), wait=True, dead_tokens=lambda: set(dead))


def _writable(out_dir: Path) -> Path:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as error:
        raise ConfigError(
            f"cannot write to output folder '{out_dir}' ({error.strerror or error}); choose "
            "another with --out"
        ) from None
    return out_dir


def _check_data(config: TuneConfig) -> None:
    from forecastab.experiments.runner import build_datamodule

    experiment = config.experiment
    datamodule = build_datamodule(experiment, experiment.data.horizons[0], config.block.seed)
    if datamodule.borders.val is None:
        raise ConfigError(
            "tune needs a validation split to choose on: the data split has none; give "
            "data.split as fractions with val, e.g. {train: 0.6, val: 0.2, test: 0.2}"
        )


def tune(
    config: str | os.PathLike[str] | Mapping[str, Any] | TuneConfig,
    out_dir: str | os.PathLike[str],
    *,
    progress: bool = True,
    final: bool = True,
) -> TuneResult:
    """Tune an experiment's strategy and training settings on free-running validation error.

    Args:
        config: A tune file (path), its parsed mapping, or a checked :class:`TuneConfig`.
        out_dir: The tune folder; a rerun resumes the study stored there.
        progress: Show the final runs' progress bar.
        final: Train the best of each arm with the seeds and evaluate on test (``DIR/final``).

    Returns:
        The folder, the best trials and the summary line.

    Raises:
        ConfigError: bad input (one line), before any trial trains.

    >>> import forecastab
    >>> callable(forecastab.tune)
    True
    """
    from forecastab.tuning import outputs

    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ConfigError(OPTUNA_MISSING) from None
    if not isinstance(config, TuneConfig):
        config = load_tune_config(config if isinstance(config, Mapping) else Path(config))
    out_dir = _writable(Path(out_dir))
    _check_data(config)
    outputs.write_tune_file(config, out_dir)
    if config.experiment.executor.type == "ray":
        _run_ray(config, out_dir)
    else:
        _run_local(config, out_dir)
    return outputs.write_outputs(config, out_dir, progress=progress, final=final)
