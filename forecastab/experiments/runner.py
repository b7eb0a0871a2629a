"""The experiment runner: a grid of data x models x strategies x seeds, plus baselines.

Each grid cell is an independent :class:`RunCell` that :func:`run_cell` executes in any process
(this one, a worker process, a Ray task) and that writes only its own folder
``runs/<model>__<strategy>__seed<k>/``: the resolved config, the checkpoint, Lightning's logs,
its ``metrics.csv`` and, last, a ``DONE`` marker. The parent appends each finished run's rows to
``results.csv`` as it completes (so a grid of many runs costs time linear in its size) and
rebuilds the file, sorted, from the completed folders when the grid starts and ends, so an
interrupted grid keeps what finished and a rerun skips it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from forecastab.errors import ConfigError, DataError
from forecastab.evaluation.probabilistic import PROBABILISTIC_METRICS
from forecastab.experiments import identity, report
from forecastab.experiments.comparisons import save_errors
from forecastab.experiments.config import DataConfig, ExperimentConfig, ModelSpec, StrategyConfig
from forecastab.experiments.init_from import check_init_from, init_checkpoint
from forecastab.experiments.interrupts import interrupts_kept
from forecastab.experiments.lock import output_folder_lock
from forecastab.experiments.long_runs import record_long_run
from forecastab.experiments.names import (
    check_output_folder,
    check_runs_folder,
    remove_run_folder,
    run_folder_name,
)
from forecastab.files import check_write_target, is_real_file, is_real_folder

LIGHTNING_LOGGERS = (
    "lightning.pytorch",
    "pytorch_lightning",
    "lightning.fabric",
    "lightning_fabric",
)


@dataclass(frozen=True)
class RunCell:
    """One grid cell: a model trained with a strategy and a seed on one dataset and horizon.

    Attributes:
        config: The whole experiment (picklable, so a cell travels to worker processes).
        model: The model's name in ``config.models``.
        strategy: The strategy's name in ``config.strategies``.
        seed: The seed of ``pl.seed_everything`` and of the data loaders.
        horizon: The horizon of this cell (one of ``config.data.horizons``).
        run_dir: The cell's own folder.
    """

    config: ExperimentConfig
    model: str
    strategy: str
    seed: int
    horizon: int
    run_dir: Path

    @property
    def name(self) -> str:
        """The folder name, e.g. ``gru__teacher_forcing__seed0``."""
        return self.run_dir.name

    @property
    def model_spec(self) -> ModelSpec:
        """The model's entry in the config."""
        return next(m for m in self.config.models if m.name == self.model)

    @property
    def strategy_config(self) -> StrategyConfig:
        """The strategy's entry in the config."""
        return next(s for s in self.config.strategies if s.name == self.strategy)


@dataclass(frozen=True)
class RunOutcome:
    """What became of one run: ``done``, ``skipped`` (already complete), ``failed`` or ``diverged``.

    ``diverged`` is a failure whose training loss exploded (see ``forecastab.models.divergence``).
    """

    name: str
    status: str
    seconds: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class ExperimentResult:
    """The outcome of :func:`run_experiment`."""

    out_dir: Path
    outcomes: list[RunOutcome]

    @property
    def failed(self) -> list[RunOutcome]:
        """The runs that raised (diverged ones included)."""
        return [o for o in self.outcomes if o.status in ("failed", "diverged")]


def dataset_label(name: str, horizon: int, data: DataConfig) -> str:
    """The ``dataset`` column: the data's name, plus ``-H<horizon>`` when a list of horizons.

    >>> data = DataConfig(source="etth1", context_length=96, horizon=[24, 48])
    >>> dataset_label("etth1", 24, data)
    'etth1-H24'
    """
    return f"{name}-H{horizon}" if isinstance(data.horizon, list) else name


def _prefix(horizon: int, config: ExperimentConfig) -> str:
    return f"H{horizon}" if isinstance(config.data.horizon, list) else ""


def plan_grid(config: ExperimentConfig, out_dir: Path) -> list[RunCell]:
    """Every cell of the grid in a fixed order: horizon, model, strategy, seed."""
    cells = []
    for horizon in config.data.horizons:
        for model in config.models:
            for strategy in config.strategies:
                if model.strategies is not None and strategy.name not in model.strategies:
                    continue
                for seed in config.seeds:
                    name = run_folder_name(
                        [model.name, strategy.name],
                        prefix=_prefix(horizon, config),
                        suffix=f"seed{seed}",
                    )
                    run_dir = out_dir / "runs" / name
                    cells.append(RunCell(config, model.name, strategy.name, seed, horizon, run_dir))
    return cells


def run_config_text(config: ExperimentConfig, run: dict[str, Any]) -> str:
    """The resolved config a run folder keeps: what decides its numbers, and nothing else.

    Only the data, trainer and evaluation blocks and the run's own choices (``run``) go in, so
    adding a model, a strategy, a seed or a baseline to the experiment, or changing the
    executor, leaves finished runs complete; changing what they computed redoes them.
    """
    full = config.model_dump(mode="json")
    resolved = {"run": run, **{key: full[key] for key in ("data", "trainer", "evaluation")}}
    # the data's content, not just its path: an edited CSV redoes the run
    resolved["data"]["content_sha256"] = identity.data_fingerprint(
        config.data.source, config.data.generator
    )
    return yaml.safe_dump(resolved, sort_keys=False)


def _cell_config_text(cell: RunCell) -> str:
    run = {
        "experiment": cell.config.name,
        "model": cell.model_spec.options(),
        "strategy": cell.strategy_config.resolved(),
        "seed": cell.seed,
        "horizon": cell.horizon,
        "threads_per_run": cell.config.executor.threads_per_run,  # changes float results
        "defaults": effective_defaults(cell.model_spec.options(), cell.strategy_config.spec()),
    }
    return run_config_text(cell.config, run)


def effective_defaults(model: dict[str, Any], strategy: dict[str, Any]) -> dict[str, Any]:
    """Every network and strategy parameter a run trains with, the defaults filled in.

    The entries above record only the keys the file gives; a default that changes between
    forecastab versions (a strategy's discriminator width, say) changes the numbers too, so it
    is part of the run's identity and the run is redone, with the reason in summary.md.

    >>> effective_defaults({"type": "rnn", "hidden_size": 8}, {})["network"]["num_layers"]
    1
    """
    from forecastab.models.lightning import NETWORK_CONFIGS, SPEC_KEYS, network_fields
    from forecastab.strategies import strategy_from_spec

    fields = {key: value for key, value in model.items() if key not in SPEC_KEYS}
    network = network_fields(NETWORK_CONFIGS[model["type"]](**fields))
    return {"network": network, "strategy": strategy_from_spec(strategy).spec()}


def is_complete(run_dir: Path, config_text: str | None = None) -> bool:
    """A run is complete when its ``DONE`` marker and metrics exist (and its config matches).

    Only a real folder counts: a run folder that is a link (to anything) is never complete, so
    it is removed (the link alone) and redone instead of read.
    """
    if not is_real_folder(run_dir):
        return False
    if not (is_real_file(run_dir / report.DONE) and is_real_file(run_dir / report.METRICS)):
        return False
    if config_text is None:
        return True
    saved = run_dir / report.RUN_CONFIG
    # bytes, not text: a saved config that is not UTF-8 is a different config, not a crash
    return saved.is_file() and saved.read_bytes() == config_text.encode("utf-8")


def check_writable(out_dir: Path) -> Path:
    """Create the output folder and prove a file can be written there, before any training.

    Raises:
        ConfigError: The folder cannot be created or written.
    """
    try:
        (out_dir / "runs").mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(
            f"cannot write to output folder '{out_dir}' ({reason}); choose another with --out"
        ) from None
    return out_dir


def build_datamodule(config: ExperimentConfig, horizon: int, seed: int) -> Any:
    """The ``WindowDataModule`` of the config's data block at one horizon."""
    from forecastab.data import WindowDataModule

    data = config.data
    options: dict[str, Any] = {}
    if data.split is not None:
        split = data.split
        options["split"] = split if isinstance(split, str) else split.model_dump(exclude_none=True)
    return WindowDataModule(
        data.source,
        target=data.target,
        time_column=data.time_column,
        context_length=data.context_length,
        horizon=horizon,
        batch_size=data.batch_size,
        scaling=data.scaling,
        fill_missing=data.fill_missing,
        allow_irregular=data.allow_irregular,
        stride=data.stride,
        seed=seed,
        id_column=data.id_column,
        series=data.series,
        covariates=None if data.covariates is None else data.covariates.model_dump(),
        calendar=data.calendar,
        min_series_length=data.min_series_length,
        window_sampling=data.window_sampling,
        generator=data.generator,
        **options,
    )


def _quiet_lightning() -> None:
    """The library's quieting (:func:`forecastab.quiet.quiet_lightning`), and for a grid run
    also every Lightning logger at WARNING and the logging-interval warning of short epochs."""
    from forecastab.quiet import quiet_lightning

    quiet_lightning()
    for name in LIGHTNING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*smaller than the logging interval.*")


def _loggers(run_dir: Path) -> list[Any]:
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

    loggers: list[Any] = [CSVLogger(save_dir=run_dir, name="logs", version="")]
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return loggers
    loggers.append(TensorBoardLogger(save_dir=run_dir, name="tensorboard", version=""))
    return loggers


def _trainer(cell: RunCell, has_validation: bool) -> tuple[Any, Any]:
    """The Lightning Trainer of one run and its checkpoint callback."""
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint

    from forecastab.models.divergence import DivergenceMonitor

    trainer_config = cell.config.trainer
    monitor = "val_loss_free_running" if has_validation else None
    checkpoint = ModelCheckpoint(
        dirpath=cell.run_dir / "checkpoints",
        filename="model",
        monitor=monitor,
        mode="min",
        save_top_k=1,
        enable_version_counter=False,
    )
    # the strategy's own callbacks (its ratio schedule) come from the module itself
    callbacks: list[Any] = [checkpoint, DivergenceMonitor()]
    early = trainer_config.early_stopping
    if early is not None and has_validation:
        callbacks.append(
            EarlyStopping(
                monitor="val_loss_free_running", patience=early.patience, min_delta=early.min_delta
            )
        )
    kwargs: dict[str, Any] = {
        "deterministic": True,
        # Lightning's epoch bar only for an interactive, sequential grid
        "enable_progress_bar": sys.stderr.isatty() and multiprocessing.parent_process() is None,
        "enable_model_summary": False,
        "log_every_n_steps": 1,
        "default_root_dir": str(cell.run_dir),
        **trainer_config.trainer_kwargs(),
    }
    if kwargs.get("logger", True) is True:
        kwargs["logger"] = _loggers(cell.run_dir)
    kwargs["callbacks"] = [*callbacks, *kwargs.get("callbacks", [])]
    if not has_validation:
        kwargs["limit_val_batches"] = 0
    return pl.Trainer(**kwargs), checkpoint


def record_run(
    run_dir: Path, config_text: str, work: Callable[[], None], out_dir: Path | None = None
) -> RunOutcome:
    """Do one run's ``work`` in its own folder, so that nothing is lost whatever happens.

    A complete folder (``DONE`` + ``metrics.csv`` + the same resolved config) is skipped; an
    incomplete one is cleared and redone. The resolved config is written first and ``DONE``
    last; an exception is written to ``error.txt`` and returned as a ``failed`` outcome.

    Args:
        run_dir: The run's folder.
        config_text: Its resolved config (``config.yaml``).
        work: Computes the run and writes ``metrics.csv`` into ``run_dir``.
        out_dir: The experiment's ``--out`` folder (default: two levels above ``run_dir``);
            an unfinished folder is removed only when it lies inside it.

    Returns:
        The outcome: ``skipped``, ``done`` or ``failed``.
    """
    if is_complete(run_dir, config_text):
        return RunOutcome(run_dir.name, "skipped")
    start = time.perf_counter()
    reason = identity.redo_reason(
        run_dir, config_text, report.DONE, report.METRICS, report.RUN_CONFIG
    )
    remove_run_folder(run_dir, out_dir if out_dir is not None else run_dir.parent.parent)
    run_dir.mkdir(parents=True)
    report.atomic_write(run_dir / report.RUN_CONFIG, config_text)
    if reason is not None:
        report.atomic_write(run_dir / identity.REDONE, f"{reason}\n")
    try:
        work()
    except Exception as error:  # a failed run is recorded and the grid goes on
        from forecastab.models.divergence import TrainingDiverged

        status = "diverged" if isinstance(error, TrainingDiverged) else "failed"
        report.atomic_write(run_dir / report.ERROR, traceback.format_exc())
        message = f"{type(error).__name__}: {error}".splitlines()[0]
        seconds = time.perf_counter() - start
        if status == "diverged" and (run_dir / report.METRICS).is_file():
            # recorded, NaN rows and all: a rerun of the same config would diverge again
            report.atomic_write(run_dir / report.DONE, f"diverged after {seconds:.1f} s\n")
        return RunOutcome(run_dir.name, status, seconds, message)
    seconds = time.perf_counter() - start
    report.atomic_write(run_dir / report.DONE, f"completed in {seconds:.1f} s\n")
    return RunOutcome(run_dir.name, "done", seconds)


def run_cell(cell: RunCell) -> RunOutcome:
    """Train, evaluate and record one grid cell (see :func:`record_run`); never raises.

    Args:
        cell: The cell to run.

    Returns:
        The outcome.
    """
    import torch

    threads = torch.get_num_threads()
    if cell.config.executor.threads_per_run is not None:
        torch.set_num_threads(cell.config.executor.threads_per_run)
    try:
        return record_run(cell.run_dir, _cell_config_text(cell), lambda: _train_and_evaluate(cell))
    finally:
        torch.set_num_threads(threads)


def build_cell(cell: RunCell) -> tuple[Any, Any]:
    """A cell's seeded data module and untrained forecaster, as every run (and trial) starts.

    Returns:
        ``(datamodule, module)``; the module carries the resolved strategy spec, which its
        checkpoint saves.
    """
    import pytorch_lightning as pl

    from forecastab.models import model_from_spec

    _quiet_lightning()
    config = cell.config
    pl.seed_everything(cell.seed, workers=True, verbose=False)
    datamodule = build_datamodule(config, cell.horizon, cell.seed)
    module = model_from_spec(
        cell.model_spec.options(),
        context_length=config.data.context_length,
        horizon=cell.horizon,
        n_targets=datamodule.n_targets,
        strategy=cell.strategy_config.spec(),
    )
    module.strategy_spec = cell.strategy_config.resolved()  # saved in the checkpoint
    return datamodule, module


def _train_and_evaluate(cell: RunCell) -> None:
    from forecastab.models import ForecastModule
    from forecastab.models.divergence import TrainingDiverged

    config = cell.config
    datamodule, module = build_cell(cell)
    # the grid is planned only when needed: planning it for every run is quadratic in its size
    init = None
    if cell.strategy_config.init_from is not None:
        init = init_checkpoint(cell, plan_grid(config, cell.run_dir.parent.parent))
    if init is not None:
        from forecastab.checkpoints import load_network_weights

        load_network_weights(module, init)  # the network only; the strategy starts afresh
    has_validation = datamodule.has_validation
    trainer, checkpoint = _trainer(cell, has_validation)
    try:
        with interrupts_kept(trainer):
            trainer.fit(module, datamodule=datamodule)
    except TrainingDiverged:
        _record_diverged(cell, module, datamodule)
        raise
    if checkpoint.best_model_path:
        module = ForecastModule.load_from_checkpoint(checkpoint.best_model_path, map_location="cpu")
    module.eval()
    evaluation = _evaluate(cell, module, datamodule)
    _render_fan(cell.run_dir, evaluation, datamodule)
    _render_pit(cell.run_dir, evaluation)
    report.atomic_write(cell.run_dir / report.METRICS, report.results_csv(evaluation.table))
    save_errors(cell.run_dir, evaluation, datamodule)  # per-origin errors for `compare`
    if config.evaluation.long_run is not None:
        record_long_run(
            cell.run_dir,
            module,
            datamodule,
            config.evaluation.long_run,
            units=config.evaluation.units,
            labels=evaluation.labels,
        )
    if config.evaluation.n_bootstrap and not evaluation.intervals.empty:
        intervals = evaluation.intervals.to_csv(
            index=False, float_format=report.FLOAT_FORMAT, lineterminator="\n"
        )
        report.atomic_write(cell.run_dir / "intervals.csv", intervals)


def _record_diverged(cell: RunCell, module: Any, datamodule: Any) -> None:
    """``metrics.csv`` of a diverged run: every row it would have had, each value NaN.

    So results.csv and the chart show the run (as diverged) instead of leaving it out; the
    weights it stopped with are not evaluated for real. When even the rows cannot be made,
    the run is recorded by its ``error.txt`` alone.
    """
    import warnings

    module.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = _evaluate(cell, module, datamodule, n_bootstrap=0).table
    except Exception:  # the error.txt still records the divergence
        return
    table = table.assign(value=float("nan"))
    report.atomic_write(cell.run_dir / report.METRICS, report.results_csv(table))


def _evaluate(cell: RunCell, module: Any, datamodule: Any, n_bootstrap: int | None = None) -> Any:
    """The run's evaluation, with the experiment's evaluation settings."""
    from forecastab.evaluation.evaluate import evaluate

    config = cell.config
    return evaluate(
        module,
        datamodule,
        modes=config.evaluation.modes,
        metrics=config.evaluation.metrics,
        units=config.evaluation.units,
        stride=config.evaluation.stride,
        n_bootstrap=config.evaluation.n_bootstrap if n_bootstrap is None else n_bootstrap,
        bootstrap_method=config.evaluation.bootstrap_method,
        block_length=config.evaluation.block_length,
        seed=cell.seed,
        num_samples=config.evaluation.num_samples,
        feedback=config.evaluation.feedback,
        quantiles=config.evaluation.quantiles,
        labels={
            "dataset": dataset_label(datamodule.name, cell.horizon, config.data),
            "model": cell.model,
            "strategy": cell.strategy,
            "seed": cell.seed,
        },
    )


def baseline_name(spec: str | dict[str, Any]) -> str:
    """A baseline's ``model`` label: its ``label`` key, else its name.

    >>> baseline_name({"name": "arima", "order": [2, 1, 0], "label": "arima210"})
    'arima210'
    """
    if isinstance(spec, str):
        return spec
    return str(spec.get("label") or spec.get("name") or "baseline")


def baseline_spec(spec: str | dict[str, Any]) -> str | dict[str, Any]:
    """The spec without the runner's own ``label`` key, as ``baseline_from_spec`` takes it."""
    if isinstance(spec, str):
        return spec
    return {key: value for key, value in spec.items() if key != "label"}


def run_baselines(
    config: ExperimentConfig, out_dir: Path, datamodules: dict[int, Any]
) -> list[RunOutcome]:
    """Fit and evaluate the config's baselines once per dataset (not per seed), in this process.

    Each baseline gets a folder ``runs/<name>__baseline/`` with the same files as a neural run;
    complete folders are skipped on a rerun and a failure is recorded in ``error.txt``.
    """
    from forecastab.baselines import baseline_from_spec
    from forecastab.evaluation.evaluate import evaluate

    def fit_and_evaluate(spec: str | dict[str, Any], datamodule: Any, run_dir: Path) -> None:
        baseline = baseline_from_spec(baseline_spec(spec), season_length=datamodule.season_length)
        if getattr(datamodule, "panel", None) is None:  # a panel's are fitted per series
            baseline.fit(datamodule.values, datamodule.borders.train[1])
        evaluation = evaluate(
            baseline,
            datamodule,
            modes=("free_running",),
            metrics=config.evaluation.metrics,
            units=config.evaluation.units,
            stride=config.evaluation.stride,
            quantiles=config.evaluation.quantiles,
            labels={
                "dataset": dataset_label(datamodule.name, datamodule.horizon, config.data),
                "model": baseline_name(spec),
                "strategy": report.BASELINE,
                "seed": 0,
            },
        )
        if evaluation.skipped:
            _warn(evaluation.skipped)
        report.atomic_write(run_dir / report.METRICS, report.results_csv(evaluation.table))
        save_errors(run_dir, evaluation)
        _render_pit(run_dir, evaluation)
        if config.evaluation.long_run is not None:
            record_long_run(
                run_dir,
                baseline,
                datamodule,
                config.evaluation.long_run,
                units=config.evaluation.units,
                labels=evaluation.labels,
            )

    outcomes = []
    for horizon, datamodule in datamodules.items():
        for spec in config.baselines:
            name = run_folder_name(
                [baseline_name(spec)], prefix=_prefix(horizon, config), suffix=report.BASELINE
            )
            run_dir = out_dir / "runs" / name
            run = {"experiment": config.name, "baseline": spec, "horizon": horizon}
            outcomes.append(
                record_run(
                    run_dir,
                    run_config_text(config, run),
                    lambda s=spec, d=datamodule, r=run_dir: fit_and_evaluate(s, d, r),
                    out_dir,
                )
            )
    return outcomes


def _warn(message: str) -> None:
    print(f"forecastab: warning: {message}", file=sys.stderr)


def run_experiment(
    config: ExperimentConfig,
    out_dir: str | os.PathLike[str],
    *,
    progress: bool = True,
    on_outcome: Callable[[RunOutcome], None] | None = None,
) -> ExperimentResult:
    """Run a whole experiment into ``out_dir``: baselines, the grid, results, chart, summary.

    Bad input (unwritable folder, data errors) is raised before anything trains; so is an
    output folder holding files forecastab did not write, or a link, device or folder where one
    of its output files goes. Completed runs are skipped; each finished run's rows are appended
    to ``results.csv``, which is rebuilt sorted from the completed runs at the start and the end
    (rewritten only when its content changes).

    Args:
        config: The validated experiment.
        out_dir: The output folder (created when missing).
        progress: Show one progress bar over the grid on stderr.
        on_outcome: Called after every run (tests use it).

    Returns:
        The outcome of every run.

    Raises:
        ConfigError: The folder cannot be written, holds files forecastab did not write, or
            holds a link or non-file where an output file goes.
        DataError: The data block names a series that cannot be used.
    """
    from forecastab.experiments.executors import executor_for

    executor = executor_for(config.executor)  # a missing Ray fails before anything runs
    check_output_folder(Path(out_dir))
    out_dir = check_writable(Path(out_dir))
    check_runs_folder(out_dir)
    with output_folder_lock(out_dir):  # one grid per folder: a second process gets one line
        return _run_in_folder(config, out_dir, executor, progress, on_outcome)


def _run_in_folder(
    config: ExperimentConfig,
    out_dir: Path,
    executor: Any,
    progress: bool,
    on_outcome: Callable[[RunOutcome], None] | None,
) -> ExperimentResult:
    """The body of :func:`run_experiment`, run while holding the output folder's lock."""
    for name in OUTPUT_FILES:  # a link or device there is refused before anything trains
        check_write_target(out_dir / name)
    for stale in out_dir.glob(".*.tmp"):  # left by a process killed mid-write
        stale.unlink(missing_ok=True)
    _unmark_corrupt_runs(out_dir)
    datamodules = {h: build_datamodule(config, h, config.seeds[0]) for h in config.data.horizons}
    if config.trainer.early_stopping is not None and any(
        not dm.has_validation for dm in datamodules.values()
    ):
        _warn(
            "trainer.early_stopping is ignored: the data split has no validation part (add 'val')"
        )
    report.atomic_write(
        out_dir / report.RUN_CONFIG, yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    )

    cells = plan_grid(config, out_dir)
    check_init_from(cells)  # every init_from reference, before anything trains
    outcomes = run_baselines(config, out_dir, datamodules)
    for outcome in outcomes:
        if outcome.status in ("failed", "diverged"):
            _warn(f"baseline {outcome.name} failed: {outcome.error}")
    # every run of this config with the resolved config it must have been computed with
    expected: dict[Path, str | None] = {c.run_dir: _cell_config_text(c) for c in cells}
    expected.update({out_dir / "runs" / o.name: None for o in outcomes})
    report.write_grid(out_dir, [path.name for path in expected])

    def refresh() -> None:  # linear in the grid: at the start and the end only
        done = [d / report.METRICS for d, text in expected.items() if is_complete(d, text)]
        report.write_results(out_dir, report.assemble_results(done))

    refresh()
    pending = [c for c in cells if not is_complete(c.run_dir, expected[c.run_dir])]
    skipped = [RunOutcome(c.name, "skipped") for c in cells if c not in pending]
    outcomes += skipped

    from tqdm.auto import tqdm

    baselines_run = len(outcomes) - len(skipped)  # already done (or skipped) before the grid
    bar = tqdm(  # counts every run the final "N run(s) done, M skipped" line counts
        total=len(cells) + baselines_run,
        initial=len(skipped) + baselines_run,
        desc=config.name,
        unit="run",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    )

    def finished(outcome: RunOutcome) -> None:
        outcomes.append(outcome)
        if outcome.status in ("failed", "diverged"):
            bar.write(
                f"forecastab: warning: run {outcome.name} failed: {outcome.error}", file=sys.stderr
            )
        run_dir = out_dir / "runs" / outcome.name
        if outcome.status != "skipped" and is_complete(run_dir, expected.get(run_dir)):
            report.append_results(out_dir, run_dir / report.METRICS)
        bar.set_postfix_str(outcome.name, refresh=False)
        bar.update(1)
        if on_outcome is not None:
            on_outcome(outcome)

    try:
        executor.execute(pending, finished)
    finally:
        bar.close()
        refresh()  # sorted, so a rerun writes the same bytes; also after Ctrl-C
    render_outputs(out_dir)
    return ExperimentResult(out_dir, outcomes)


def _unmark_corrupt_runs(out_dir: Path) -> None:
    """A finished run whose ``metrics.csv`` cannot be read is redone, not fatal to the grid.

    Only real run folders are looked at: a run folder that is a link is left alone here (and
    later removed as a link), so a ``DONE`` outside the output folder is never deleted.
    """
    runs = sorted((out_dir / "runs").iterdir())
    for done in [run / report.DONE for run in runs if is_real_folder(run)]:
        if not is_real_file(done):
            continue
        try:
            report.read_results(done.parent / report.METRICS)
        except DataError as error:
            _warn(f"run {done.parent.name} is redone: {error}")
            done.unlink(missing_ok=True)


def render_outputs(out_dir: Path) -> None:
    """Draw the chart and write the summary; a chart that cannot be drawn is a warning."""
    table = report.read_results(out_dir / report.RESULTS)
    if not table.empty:
        try:
            report.render_chart(out_dir)
        except Exception as error:  # a chart must never lose the numbers
            _warn(f"could not draw {report.CHART}: {error}")
        if table["metric"].isin(PROBABILISTIC_METRICS).any():
            try:
                render_calibration(out_dir, table)
            except Exception as error:  # a chart must never lose the numbers
                _warn(f"could not draw {CALIBRATION_CHART}: {error}")
    report.write_summary(out_dir)


CALIBRATION_CHART = "calibration.png"
FAN_CHART = "fan_chart.png"
OUTPUT_FILES = (
    report.RESULTS,
    report.SUMMARY,
    report.CHART,
    report.RUN_CONFIG,
    report.GRID,
    CALIBRATION_CHART,
)
"""The files ``forecastab run`` writes at the top of its output folder."""
PIT_CHART = "pit.png"


def render_calibration(out_dir: Path, table: Any) -> None:
    """``calibration.png``: CRPS and coverage by step of the first dataset, free running."""
    from forecastab.plotting import plot_calibration, save_figure

    save_figure(plot_calibration(table), out_dir / CALIBRATION_CHART)


def _render_pit(run_dir: Path, evaluation: Any) -> None:
    """``pit.png`` in a run folder whose evaluation has a free-running predictive distribution
    (sampled paths or a baseline's Gaussian); never fails the run."""
    predictive = evaluation.predictive.get("free_running")
    if predictive is None:
        return
    from forecastab.evaluation.probabilistic import pit_values
    from forecastab.plotting import plot_pit_histogram, save_figure

    labels = evaluation.labels
    try:
        pit = pit_values(predictive, evaluation.targets)  # (N, H, C)
        label = f"{labels['model']}/{labels['strategy']}, free running"
        save_figure(plot_pit_histogram(pit, label=label), run_dir / PIT_CHART)
    except Exception as error:  # a chart must never lose the numbers
        _warn(f"could not draw {run_dir.name}/{PIT_CHART}: {error}")


def _render_fan(run_dir: Path, evaluation: Any, datamodule: Any) -> None:
    """``fan_chart.png`` in a run folder whose evaluation sampled paths; never fails the run."""
    if "free_running" not in evaluation.predictive:
        return
    if not hasattr(evaluation.predictive["free_running"], "samples"):
        return
    from forecastab.plotting import plot_evaluation_fan, save_figure

    try:
        save_figure(plot_evaluation_fan(evaluation, datamodule), run_dir / FAN_CHART)
    except Exception as error:  # a chart must never lose the numbers
        _warn(f"could not draw {run_dir.name}/{FAN_CHART}: {error}")
