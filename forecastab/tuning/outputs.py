"""What a tune folder holds once the studies are done.

- ``trials.csv``: one row per trial of every arm (parameters, state, objective, every selection
  criterion, and the test error only where ``test_every_trial`` asked for it);
- ``history.png`` and ``importance.png``: Optuna's optimization history (both arms) and
  parameter importances of the search (``optuna.visualization.matplotlib``);
- ``best.yaml``: the best setting as a runnable experiment file (``forecastab run best.yaml``);
  ``comparison.yaml``: the best setting next to tuned teacher forcing, with the seeds;
- ``final/``: ``comparison.yaml`` run by the ordinary runner (results.csv, chart, summary,
  ``comparisons.csv`` with the paired tests against tuned teacher forcing);
- ``summary.md``: the answer in one line, then the best trials.
"""

from __future__ import annotations

import copy
import math
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from forecastab.files import atomic_write
from forecastab.tuning import study as studies
from forecastab.tuning.config import TuneConfig

TRIALS_CSV = "trials.csv"
HISTORY_CHART = "history.png"
IMPORTANCE_CHART = "importance.png"
BEST_YAML = "best.yaml"
COMPARISON_YAML = "comparison.yaml"
FINAL_DIR = "final"
SUMMARY = "summary.md"
TUNE_FILE = "tune.yaml"
TF_SUFFIX = "_tf"


def write_tune_file(config: TuneConfig, out_dir: Path) -> Path:
    """``tune.yaml``: the checked file as it was run (the study's identity).

    Raises:
        ConfigError: the folder holds the study of a different file (any difference but the
            number of workers, the executor or the storage would mix trials of two searches).
    """
    from forecastab.errors import ConfigError

    raw = {**copy.deepcopy(config.raw), "tune": config.block.model_dump(mode="json")}
    path = out_dir / TUNE_FILE
    if path.is_file():
        saved = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        different = _first_difference(_identity(saved), _identity(raw))
        if different is not None:
            raise ConfigError(
                f"'{out_dir}' holds the study of a different tune file ({different} differs); "
                "rerun with the same file to resume it, or choose another --out"
            )
        return path
    # never write over a user's own files (a dot file may be a second tune's temporary tune.yaml)
    entries = out_dir.iterdir() if out_dir.is_dir() else iter(())
    others = sorted(entry.name for entry in entries if not entry.name.startswith("."))
    if others:
        shown = ", ".join(others[:3])
        raise ConfigError(
            f"tune folder '{out_dir}' already holds files forecastab tune did not write ({shown}); "
            "give a new or empty folder with --out"
        )
    return atomic_write(path, yaml.safe_dump(raw, sort_keys=False))


def _identity(raw: dict[str, Any]) -> dict[str, Any]:
    """What makes two tune files one study: all but where and how widely trials run."""
    raw = copy.deepcopy(raw)
    raw.pop("executor", None)
    for key in ("workers", "storage"):
        (raw.get("tune") or {}).pop(key, None)
    return raw


def _first_difference(old: Any, new: Any, where: str = "") -> str | None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            found = _first_difference(old.get(key), new.get(key), f"{where}.{key}" if where else key)
            if found is not None:
                return found
        return None
    return None if old == new else where


def _studies(config: TuneConfig, out_dir: Path) -> dict[str, Any]:
    from forecastab.tuning.search import arms

    storage = studies.open_storage(out_dir, config.block.storage)
    return {
        arm: studies.make_study(storage, studies.study_name(config.name, arm), config.block)
        for arm in arms(config)
    }


def trials_table(found: dict[str, Any]) -> pd.DataFrame:
    """One row per trial of every arm."""
    rows = []
    for arm, study in found.items():
        for trial in study.get_trials(deepcopy=False):
            scores = trial.user_attrs.get(studies.SCORES) or {}
            rows.append(
                {
                    "arm": arm,
                    "trial": trial.number,
                    "state": trial.state.name.lower(),
                    "strategy": trial.user_attrs.get("label"),
                    "objective": trial.value,
                    "val_free_running": scores.get("val_free_running"),
                    "val_teacher_forced": scores.get("val_teacher_forced"),
                    "val_one_step": scores.get("val_one_step"),
                    "test_free_running": scores.get("test_free_running"),
                    "epochs": scores.get("epochs"),
                    "pruned_at": scores.get("pruned_at"),
                    "seconds": trial.user_attrs.get("seconds"),
                    "retry_of": trial.user_attrs.get(studies.RETRY_OF),
                    "reaped": bool(trial.user_attrs.get(studies.REAPED, False)),
                    **{f"param:{k}": v for k, v in trial.params.items()},
                }
            )
    return pd.DataFrame(rows)


def best_trial(study: Any) -> Any:
    """The completed trial with the lowest objective (None when none completed)."""
    from optuna.trial import TrialState

    done = [
        t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.value is not None and math.isfinite(t.value)
    ]
    return min(done, key=lambda t: (t.value, t.number)) if done else None


def _draw_of(config: TuneConfig, arm: str, trial: Any) -> dict[str, Any]:
    """Re-draw a finished trial's values from its parameters (the space's own logic)."""
    import optuna

    from forecastab.tuning.search import arms

    space = arms(config)[arm]
    fixed = optuna.trial.FixedTrial(trial.params)
    return space.draw(fixed)


def comparison_raw(config: TuneConfig, best: dict[str, Any]) -> dict[str, Any]:
    """The experiment file of the final comparison: the best of each arm, with the seeds.

    The arms become two models (``<model>`` and ``<model>_tf``), each trained with its own
    strategy only; training settings that are one per file (``max_epochs``, early stopping's
    ``patience``) take the larger of the two arms, and every run keeps its best validation
    checkpoint, so neither arm is cut short.
    """
    model = config.model_name
    raw = config.trial_raw(best["search"], seeds=list(config.experiment.seeds))
    raw["baselines"] = copy.deepcopy(config.raw.get("baselines", []))
    if "executor" in config.raw:
        raw["executor"] = copy.deepcopy(config.raw["executor"])
    metrics = list(raw.get("evaluation", {}).get("metrics", ["mae", "rmse"]))
    if config.block.objective.metric not in metrics:
        raw.setdefault("evaluation", {})["metrics"] = [*metrics, config.block.objective.metric]
    strategy = raw["strategies"][0]
    strategy["name"] = f"tuned_{strategy['name']}"
    raw["models"][0]["strategies"] = [strategy["name"]]
    if "teacher_forcing" not in best:
        return raw
    control = config.trial_raw(best["teacher_forcing"])
    tf_model = {**control["models"][0], "name": f"{model}{TF_SUFFIX}"}
    tf_strategy = control["strategies"][0]
    tf_model["strategies"] = [tf_strategy["name"]]
    raw["models"].append(tf_model)
    raw["strategies"].append(tf_strategy)
    for key in ("max_epochs",):
        values = [t.get(key) for t in (raw["trainer"], control["trainer"]) if t.get(key)]
        if values:
            raw["trainer"][key] = max(values)
    patience = [
        (t.get("early_stopping") or {}).get("patience")
        for t in (raw["trainer"], control["trainer"])
    ]
    if any(p is not None for p in patience):
        raw["trainer"]["early_stopping"] = {
            **(raw["trainer"].get("early_stopping") or {}),
            "patience": max(p for p in patience if p is not None),
        }
    return raw


def best_raw(config: TuneConfig, best: dict[str, Any]) -> dict[str, Any]:
    """The best setting alone as a runnable experiment file (with the file's seeds)."""
    raw = config.trial_raw(best["search"], seeds=list(config.experiment.seeds))
    raw["baselines"] = copy.deepcopy(config.raw.get("baselines", []))
    raw["name"] = f"{config.name}_best"
    return raw


def render_charts(found: dict[str, Any], out_dir: Path) -> list[Path]:
    """Optuna's optimization history (every arm) and the search's parameter importances."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.ticker import MaxNLocator
    from optuna.visualization import matplotlib as optuna_plots

    from forecastab.plotting import save_figure

    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental API, few trials per regime: not the user's
        try:
            axes = optuna_plots.plot_optimization_history(
                list(found.values()), target_name="objective (validation)"
            )
            axes.set_title("Optimization history (validation objective per trial)")
            axes.figure.set_size_inches(9, 5)
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # trial numbers
            axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize="small")
            written.append(save_figure(axes.figure, out_dir / HISTORY_CHART))
        except Exception as error:  # a chart must never lose the numbers
            _warn(f"could not draw {HISTORY_CHART}: {error}")
        try:
            axes = optuna_plots.plot_param_importances(found["search"])
            written.append(save_figure(axes.figure, out_dir / IMPORTANCE_CHART))
        except Exception as error:
            _warn(f"could not draw {IMPORTANCE_CHART}: {error}")
    return written


def _warn(message: str) -> None:
    import sys

    print(f"forecastab: warning: {message}", file=sys.stderr)


def _test_error(final_dir: Path, model: str, metric: str, steps: int | None) -> pd.Series:
    """Per seed, the free-running test metric of a model averaged over the objective's steps."""
    from forecastab.experiments import report

    table = report.read_results(final_dir / report.RESULTS)
    rows = table[
        (table["model"] == model) & (table["mode"] == "free_running") & (table["metric"] == metric)
    ]
    if steps is not None:
        rows = rows[rows["step"] <= steps]
    return rows.groupby("seed")["value"].mean()


def answer(config: TuneConfig, final_dir: Path, labels: dict[str, str]) -> str:
    """The one-line answer: the setting, its test error against tuned teacher forcing, how sure."""
    import numpy as np

    from forecastab.experiments.comparisons import (
        compare_experiment,
        significant_steps,
        write_comparisons,
    )

    objective = config.block.objective
    model = config.model_name
    best = _test_error(final_dir, model, objective.metric, objective.steps)
    control = _test_error(final_dir, f"{model}{TF_SUFFIX}", objective.metric, objective.steps)
    setting = labels["search"]
    if best.empty:
        return f"best setting `{setting}`: no finished final run to score on test"
    if control.empty:
        return f"best setting `{setting}`: free-running test {objective.metric} {best.mean():.4g}"
    cut = 1 - best.mean() / control.mean()
    table = compare_experiment(final_dir, reference=f"{model}{TF_SUFFIX}/{labels['teacher_forcing']}")
    write_comparisons(final_dir, table)
    pooled = table[(table["model"] == model) & (table["seed"] == "all")]
    if pooled.empty:
        pooled = table[table["model"] == model]
    better, worse = significant_steps(pooled)
    n_seeds = len(set(best.index) & set(control.index))
    wins = int(np.sum(best.reindex(control.index) < control))
    return (
        f"**{setting}** (tuned) reaches free-running test {objective.metric} {best.mean():.4g} "
        f"against {control.mean():.4g} for tuned teacher forcing, a {100 * cut:.1f}% cut "
        f"(mean of {n_seeds} seeds, lower in {wins} of {n_seeds}; paired Diebold-Mariano per "
        f"step over the seeds, Holm-corrected: significantly better at steps {better}, worse "
        f"at steps {worse})"
    )


def _run_final(comparison: Any, final_dir: Path, progress: bool) -> None:
    """Run the final comparison; when another tune process on this folder is running it, wait
    for it and then run (its finished runs are skipped), instead of failing."""
    import time

    from forecastab.errors import ConfigError
    from forecastab.experiments.runner import run_experiment

    while True:
        try:
            run_experiment(comparison, final_dir, progress=progress)
            return
        except ConfigError as error:
            if "in use by another forecastab run" not in str(error):
                raise
            time.sleep(studies.POLL_SECONDS)


def _params_line(trial: Any) -> str:
    return ", ".join(f"`{k}`={_fmt(v)}" for k, v in sorted(trial.params.items())) or "(none)"


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def write_outputs(
    config: TuneConfig, out_dir: Path, *, progress: bool = True, final: bool = True
) -> Any:
    """Write every output of a finished study (see the module docstring)."""
    from forecastab.experiments.config import validate_config
    from forecastab.tuning.search import TuneResult

    found = _studies(config, out_dir)
    table = trials_table(found)
    atomic_write(out_dir / TRIALS_CSV, table.to_csv(index=False, lineterminator="\n"))
    render_charts(found, out_dir)
    winners = {arm: best_trial(study) for arm, study in found.items()}
    missing = [arm for arm, trial in winners.items() if trial is None]
    if missing:
        line = f"no completed trial in arm {', '.join(missing)}; see {TRIALS_CSV} for the errors"
        atomic_write(out_dir / SUMMARY, f"# Tuning {config.name}\n\n{line}\n")
        return TuneResult(out_dir, {}, line)
    draws = {arm: _draw_of(config, arm, trial) for arm, trial in winners.items()}
    labels = {arm: str(draw["label"] or config.experiment.strategies[0].name)
              for arm, draw in draws.items()}
    atomic_write(out_dir / BEST_YAML, yaml.safe_dump(best_raw(config, draws), sort_keys=False))
    comparison = comparison_raw(config, draws)
    atomic_write(out_dir / COMPARISON_YAML, yaml.safe_dump(comparison, sort_keys=False))
    final_dir = out_dir / FINAL_DIR
    if final:
        _run_final(validate_config(comparison), final_dir, progress)
        line = answer(config, final_dir, labels)
    else:
        line = f"best setting `{labels['search']}` (validation {winners['search'].value:.4g}); "
        line += "not yet trained with the seeds and evaluated on test"
    best = {
        arm: {"trial": t.number, "value": t.value, "params": t.params, "label": labels[arm]}
        for arm, t in winners.items()
    }
    lines = [f"# Tuning {config.name}", "", line, "", "## Best trial of each arm", ""]
    objective = config.block.objective
    steps = "all steps" if objective.steps is None else f"steps 1-{objective.steps}"
    lines.append(
        f"Objective: {objective.mode} {objective.metric} on the validation split, {steps}; "
        f"{config.block.trials} trials per arm (seed {config.block.seed})."
    )
    lines.append("")
    for arm, trial in winners.items():
        lines.append(f"- {arm}: trial {trial.number}, objective {trial.value:.4g}: "
                     f"{_params_line(trial)}")
    states = table.groupby(["arm", "state"]).size()
    lines += ["", "## Trials", ""]
    lines += [f"- {arm} {state}: {count}" for (arm, state), count in states.items()]
    lines += ["", f"Files: {TRIALS_CSV}, {HISTORY_CHART}, {IMPORTANCE_CHART}, {BEST_YAML}, "
              f"{COMPARISON_YAML}, {FINAL_DIR}/ (results.csv, comparisons.csv, summary.md)."]
    atomic_write(out_dir / SUMMARY, "\n".join(lines) + "\n")
    return TuneResult(out_dir, best, line)
