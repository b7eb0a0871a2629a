"""The Optuna study of a tune folder: storage, who runs which trial, and trials left by the dead.

Storage is Optuna's journal file ``DIR/study.journal`` (or the RDB URL in ``tune.storage``), so
any number of processes, here or on other machines, share one study. A process takes a trial
under a short exclusive lock ``DIR/.tune.lock``: it counts the trials that are done, running or
waiting, and asks for a new one only while fewer than ``trials`` are, so parallel processes
never overshoot the budget. Each trial records its owner (host, pid and a token of the worker).

A trial still ``RUNNING`` whose owner is gone (a process killed with SIGKILL, a Ray worker
that died) is marked ``FAIL`` with ``reaped: true`` and enqueued again exactly once, with the
same parameters and ``retry_of`` naming it: the budget counts the retry, not the dead one, so a
resumed study completes with every trial and none twice.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time
import uuid
import warnings
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from forecastab.errors import ConfigError

JOURNAL = "study.journal"
CLAIM_LOCK = ".tune.lock"
ARMS = ("search", "teacher_forcing")
"""The two studies of a tune folder: the whole space, and the same space with teacher forcing."""

OWNER = "owner"
REAPED = "reaped"
RETRY_OF = "retry_of"
SCORES = "scores"
POLL_SECONDS = 1.0

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def study_name(name: str, arm: str) -> str:
    """The Optuna study name of an arm: ``<experiment>`` or ``<experiment>__teacher_forcing``.

    >>> study_name("mg", "search"), study_name("mg", "teacher_forcing")
    ('mg', 'mg__teacher_forcing')
    """
    return name if arm == "search" else f"{name}__{arm}"


def open_storage(out_dir: Path, url: str | None) -> Any:
    """The study storage: ``DIR/study.journal``, or an RDB URL (``postgresql://...``)."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is noise here
    if url is not None:
        try:
            return optuna.storages.RDBStorage(url)
        except Exception as error:  # a bad URL or an unreachable server: one line
            raise ConfigError(f"tune.storage '{url}' cannot be opened: {error}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning of the journal backend
        return JournalStorage(JournalFileBackend(str(out_dir / JOURNAL)))


def make_study(storage: Any, name: str, block: Any) -> Any:
    """Create or load the study ``name`` with the block's seeded sampler and pruner."""
    import optuna

    if block.sampler.name == "tpe":
        sampler: Any = optuna.samplers.TPESampler(
            seed=block.sampler.seed, n_startup_trials=block.sampler.startup_trials
        )
    else:
        sampler = optuna.samplers.RandomSampler(seed=block.sampler.seed)
    pruner: Any = (
        optuna.pruners.MedianPruner(
            n_startup_trials=block.pruner.startup_trials,
            n_warmup_steps=block.pruner.warmup_epochs,
        )
        if block.pruner.name == "median"
        else optuna.pruners.NopPruner()
    )
    return optuna.create_study(
        storage=storage,
        study_name=name,
        sampler=sampler,
        pruner=pruner,
        direction="minimize",
        load_if_exists=True,
    )


@contextlib.contextmanager
def claim_lock(out_dir: Path) -> Iterator[None]:
    """The short exclusive lock under which trials are counted, reaped and asked for."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    descriptor = os.open(out_dir / CLAIM_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def new_owner() -> dict[str, Any]:
    """The owner record of this worker: host, pid and a fresh token."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_gone(owner: Any, dead_tokens: Collection[str]) -> bool:
    """Whether a trial's owner is known to be gone: its token was reported dead, or it ran on
    this host in a process that no longer exists."""
    if not isinstance(owner, dict):
        return False
    if owner.get("token") in dead_tokens:
        return True
    return owner.get("host") == socket.gethostname() and not _alive(int(owner.get("pid", -1)))


def reap(study: Any, dead_tokens: Collection[str] = ()) -> list[int]:
    """Fail every running trial whose owner is gone and enqueue it again, once.

    Call under :func:`claim_lock`. Returns the numbers of the trials reaped.
    """
    import optuna
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get(RETRY_OF) for t in trials}
    reaped = []
    for trial in trials:
        if trial.state != TrialState.RUNNING:
            continue
        if not owner_gone(trial.user_attrs.get(OWNER), set(dead_tokens)):
            continue
        if trial.number not in retried:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.enqueue_trial(
                    trial.params, user_attrs={RETRY_OF: trial.number}, skip_if_exists=False
                )
        study._storage.set_trial_user_attr(trial._trial_id, REAPED, True)
        study.tell(trial.number, state=TrialState.FAIL)
        reaped.append(trial.number)
    return reaped


def counted(study: Any) -> tuple[int, int, int]:
    """``(counted, running, waiting)``: trials toward the budget (done, running, waiting and
    failed ones that were not reaped), and those running or waiting now."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    waiting = sum(t.state == TrialState.WAITING for t in trials)
    total = sum(not (t.state == TrialState.FAIL and t.user_attrs.get(REAPED)) for t in trials)
    return total, running, waiting


RunOne = Callable[[Any], None]
"""Runs one asked trial to its end (``study.tell`` included)."""


def work(
    study: Any,
    out_dir: Path,
    budget: int,
    run_one: RunOne,
    owner: dict[str, Any],
    *,
    wait: bool = True,
    dead_tokens: Callable[[], set[str]] = set,
) -> int:
    """Take and run trials of ``study`` until the budget is met; returns how many this ran.

    With ``wait``, also waits for trials other processes are running, so that on return every
    trial of the study is finished (a retry of a trial whose owner dies meanwhile is run here).
    """
    ran = 0
    while True:
        with claim_lock(out_dir):
            reap(study, dead_tokens())
            total, running, waiting = counted(study)
            trial = None
            if total < budget or waiting:
                trial = study.ask()
                trial.set_user_attr(OWNER, owner)
        if trial is not None:
            run_one(trial)
            ran += 1
            continue
        if not running or not wait:
            return ran
        time.sleep(POLL_SECONDS)


def finished_value(value: float) -> float:
    """A value Optuna accepts from a finished trial (NaN becomes +inf: the worst)."""
    return value if math.isfinite(value) else math.inf
