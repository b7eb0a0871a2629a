"""One trial: a run of the experiment runner, scored on the validation split.

A trial is a :class:`~forecastab.experiments.runner.RunCell` trained by the runner's own Trainer
(checkpoint on ``val_loss_free_running``, divergence monitor, early stopping) and recorded by
:func:`~forecastab.experiments.runner.record_run` in its own folder, plus one callback,
:class:`ObjectiveReporter`, that scores the objective on the validation split after every
validation epoch and hands it to Optuna's pruner. After training, the kept checkpoint is scored
on the validation split by every selection criterion the criterion study compares (and, only
when asked for that study, on the test split: never used to choose).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from forecastab.experiments import report
from forecastab.experiments.config import ExperimentConfig
from forecastab.experiments.runner import RunCell, RunOutcome
from forecastab.files import atomic_write
from forecastab.tuning.config import ObjectiveConfig

TRIAL_FILE = "trial.json"
TEST_METRICS = "test_metrics.csv"

Report = Callable[[float, int], bool]
"""``report(value, epoch) -> prune?``: hands a per-epoch objective value to Optuna."""


@dataclass(frozen=True)
class TrialScores:
    """What a finished trial scored, at the checkpoint it kept.

    Attributes:
        objective: the objective (``metric`` of ``mode`` on the validation split over ``steps``).
        val_free_running: the metric free running on the validation split, all steps.
        val_teacher_forced: the metric teacher-forced (one step ahead at every position) on the
            validation split, all steps; NaN for a direct network.
        val_one_step: the metric at step 1 on the validation split.
        test_free_running: the metric free running on the test split (the criterion study
            only; NaN unless asked for).
        pruned_at: the epoch the pruner stopped the trial at, or None.
        epochs: epochs trained.
    """

    objective: float
    val_free_running: float
    val_teacher_forced: float
    val_one_step: float
    test_free_running: float = math.nan
    pruned_at: int | None = None
    epochs: int = 0


def _mean_over_steps(table: Any, mode: str, metric: str, steps: int | None) -> float:
    rows = table[(table["mode"] == mode) & (table["metric"] == metric)]
    if steps is not None:
        rows = rows[rows["step"] <= steps]
    if rows.empty:
        return math.nan
    return float(rows.groupby("step")["value"].mean().mean())


def score_split(
    module: Any,
    datamodule: Any,
    config: ExperimentConfig,
    objective: ObjectiveConfig,
    *,
    split: str,
    modes: tuple[str, ...] = ("free_running",),
) -> Any:
    """The evaluation table of ``objective.metric`` on a split, with the experiment's settings."""
    from forecastab.evaluation.evaluate import evaluate

    evaluation = config.evaluation
    return evaluate(
        module,
        datamodule,
        modes=[m for m in modes if m in module.supported_modes] or ["free_running"],
        metrics=[objective.metric],
        units=evaluation.units,
        stride=evaluation.stride,
        split=split,
        seed=0,
        num_samples=evaluation.num_samples,
        feedback=evaluation.feedback,
        quantiles=evaluation.quantiles,
        labels={"dataset": datamodule.name, "model": "trial", "strategy": "trial", "seed": 0},
    ).table


def objective_value(table: Any, objective: ObjectiveConfig) -> float:
    """The objective from an evaluation table: the metric of its mode over its steps."""
    return _mean_over_steps(table, objective.mode, objective.metric, objective.steps)


class ObjectiveReporter(pl.Callback):
    """Scores the objective on the validation split after every validation epoch and reports it.

    When ``report`` answers that the trial should be pruned, training stops at the end of that
    epoch (``trainer.should_stop``) and :attr:`pruned_at` records the epoch.

    Args:
        datamodule: The trial's data module.
        config: The trial's experiment.
        objective: What is scored.
        report: Receives ``(value, epoch)``; returns True to prune.
    """

    def __init__(
        self, datamodule: Any, config: ExperimentConfig, objective: ObjectiveConfig, report: Report
    ) -> None:
        self.datamodule = datamodule
        self.config = config
        self.objective = objective
        self.report = report
        self.pruned_at: int | None = None
        self.values: list[float] = []

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        table = score_split(
            pl_module,
            self.datamodule,
            self.config,
            self.objective,
            split="val",
            modes=(self.objective.mode,),
        )
        value = objective_value(table, self.objective)
        self.values.append(value)
        epoch = trainer.current_epoch
        if self.report(value if math.isfinite(value) else math.inf, epoch):
            self.pruned_at = epoch
            trainer.should_stop = True


def run_trial(
    config: ExperimentConfig,
    run_dir: Path,
    objective: ObjectiveConfig,
    *,
    report_value: Report | None = None,
    test: bool = False,
) -> tuple[RunOutcome, TrialScores | None]:
    """Train and score one trial in ``run_dir`` (kept by the runner's bookkeeping).

    Args:
        config: The trial's experiment (one model, one strategy, one seed).
        run_dir: The trial's folder.
        objective: What the trial is scored by.
        report_value: Receives the objective after every epoch (the pruner); None reports nothing.
        test: Also score the test split (the criterion study; never used to choose).

    Returns:
        The runner's outcome and, unless the run failed, the scores.
    """
    from forecastab.experiments import runner

    model = config.models[0].name
    strategy = config.strategies[0].name
    cell = RunCell(config, model, strategy, config.seeds[0], config.data.horizons[0], run_dir)
    outcome = runner.record_run(
        run_dir,
        runner._cell_config_text(cell),
        lambda: _train_and_score(cell, objective, report_value, test),
        run_dir.parent.parent,
    )
    saved = run_dir / TRIAL_FILE
    if outcome.status in ("done", "skipped") and saved.is_file():
        return outcome, TrialScores(**json.loads(saved.read_text(encoding="utf-8")))
    return outcome, None


def _train_and_score(
    cell: RunCell, objective: ObjectiveConfig, report_value: Report | None, test: bool
) -> None:
    from forecastab.experiments import runner
    from forecastab.models import ForecastModule

    config = cell.config
    datamodule, module = runner.build_cell(cell)
    trainer, checkpoint = runner._trainer(cell, has_validation=True)
    reporter = ObjectiveReporter(datamodule, config, objective, report_value or (lambda v, e: False))
    trainer.callbacks.append(reporter)
    trainer.fit(module, datamodule=datamodule)
    if checkpoint.best_model_path:
        module = ForecastModule.load_from_checkpoint(checkpoint.best_model_path, map_location="cpu")
    module.eval()
    val = score_split(
        module, datamodule, config, objective, split="val",
        modes=("free_running", "teacher_forced"),
    )
    scores = TrialScores(
        objective=objective_value(val, objective),
        val_free_running=_mean_over_steps(val, "free_running", objective.metric, None),
        val_teacher_forced=_mean_over_steps(val, "teacher_forced", objective.metric, None),
        val_one_step=_mean_over_steps(val, "free_running", objective.metric, 1),
        pruned_at=reporter.pruned_at,
        epochs=trainer.current_epoch,
    )
    if test:
        table = score_split(module, datamodule, config, objective, split="test")
        atomic_write(cell.run_dir / TEST_METRICS, report.results_csv(table))
        scores = TrialScores(
            **{**asdict(scores), "test_free_running": _mean_over_steps(
                table, "free_running", objective.metric, objective.steps
            )}
        )
    atomic_write(cell.run_dir / TRIAL_FILE, json.dumps(asdict(scores), indent=1) + "\n")
    report.atomic_write(cell.run_dir / report.METRICS, report.results_csv(val))
