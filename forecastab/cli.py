"""The ``forecastab`` command line: ``run``, ``tune``, ``datasets``, ``plot``, ``predict``, ``report`` and
``compare``.

Every failure prints exactly one line ``forecastab: error: <message>`` on stderr (``--debug``
shows the traceback instead), and the exit status says which kind it was:

- 0: done;
- 1: runs failed (each is recorded in ``summary.md``), or an unexpected internal error (a bug:
  the line says so; ``--debug`` shows where);
- 2: bad input: a command line, config, data file or output folder that cannot be used as
  given, or a file or folder the system refuses (missing, unwritable, disk full);
- 130: interrupted by Ctrl-C (SIGINT); 143: stopped by SIGTERM. Completed runs are kept.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn, TextIO

from forecastab.errors import ForecastabError

PROG = "forecastab"
RUNS_FAILED = 1
USAGE_ERROR = 2
INTERRUPTED = 128 + signal.SIGINT  # 130
TERMINATED = 128 + signal.SIGTERM  # 143


class UsageError(Exception):
    """A command line that argparse rejected; main turns it into one error line."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block) and do not exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _version() -> str:
    try:
        return metadata.version("forecastab")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its subcommands."""
    debug = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's default must not undo `forecastab --debug run ...`
    debug.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks instead of one error line",
    )

    parser = _Parser(
        prog=PROG,
        description="Forecasting under exposure bias: train, evaluate free-running, chart by step.",
        parents=[debug],
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def command(name: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
        """A subcommand whose own --help opens with the line `forecastab --help` lists."""
        kwargs.setdefault("description", help[0].upper() + help[1:] + ".")
        return commands.add_parser(name, parents=[debug], help=help, **kwargs)

    run = command("run", help="run an experiment YAML file")
    run.add_argument("config", type=Path, metavar="CONFIG.yaml", help="the experiment file")
    run.add_argument(
        "--out",
        type=_folder,
        metavar="DIR",
        help="output folder, new or written by forecastab (default: runs/<config name>)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    tune = command(
        "tune",
        help="search strategy and training settings on free-running validation error (Optuna)",
    )
    tune.add_argument(
        "config", type=Path, metavar="CONFIG.yaml", help="an experiment file with tune:"
    )
    tune.add_argument(
        "--out",
        type=_folder,
        metavar="DIR",
        help="tune folder, new or written by forecastab tune (default: runs/<config name>_tune)",
    )
    tune.add_argument("--quiet", action="store_true", help="no progress bar")
    tune.add_argument(
        "--no-final",
        action="store_true",
        help="search only: skip training the best of each arm with the seeds on test",
    )

    command(
        "datasets",
        help="list the bundled datasets",
        description="List the bundled datasets: name, length, frequency, default target, "
        "license. Use a name as data.source in a YAML file or in WindowDataModule(name, ...).",
    )

    plot = command("plot", help="draw every chart of an experiment folder, each to a file")
    plot.add_argument("dir", type=Path, metavar="DIR", help="an experiment's output folder")
    plot.add_argument(
        "--metric", help="only this metric's charts (default: every metric, and rollouts)"
    )

    predict = command("predict", help="forecast a CSV with a trained run or checkpoint")
    predict.add_argument(
        "model", metavar="RUN_DIR_OR_CHECKPOINT", help="a run folder or a .ckpt file"
    )
    predict.add_argument(
        "--data", required=True, metavar="CSV", help="the series to forecast from (raw units)"
    )
    predict.add_argument(
        "--out", type=Path, metavar="FILE", help="write the forecast CSV here (default: stdout)"
    )
    predict.add_argument(
        "--origin",
        action="append",
        metavar="TIME",
        help="forecast from this time of the data (repeatable; default: the last row)",
    )
    predict.add_argument("--horizon", type=int, help="steps ahead (default: the trained horizon)")
    predict.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="forecast with the checkpoint of a run that has not finished (no DONE)",
    )
    predict.add_argument(
        "--future",
        metavar="CSV",
        help="future covariates of the forecast dates (a model fitted with future covariates)",
    )
    predict.add_argument(
        "--ids", nargs="+", metavar="ID", help="series to forecast (a panel model; default: all)"
    )

    summary = command("report", help="rewrite DIR/summary.md")
    summary.add_argument("dir", type=Path, metavar="DIR", help="an experiment's output folder")

    compare = command("compare", help="paired tests against a reference: DIR/comparisons.csv")
    compare.add_argument("dir", type=Path, metavar="RUN_DIR", help="an experiment's output folder")
    compare.add_argument(
        "--reference",
        metavar="MODEL/STRATEGY",
        help="the series to compare with (default: each model's teacher_forcing runs)",
    )
    compare.add_argument(
        "--metric", choices=("mse", "mae"), default="mse", help="per-origin loss (default: mse)"
    )
    compare.add_argument(
        "--n-bootstrap", type=int, default=1000, help="block-bootstrap resamples (default 1000)"
    )
    compare.add_argument(
        "--block-length", type=int, help="origins per block (default: automatic per step, see docs/statistics.md)"
    )
    return parser


def _folder(value: str) -> Path:
    """An output folder argument: never empty (``--out ""`` would mean the current folder)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("an empty folder name; give a folder, e.g. runs/mine")
    return Path(value)


def _run(args: argparse.Namespace) -> int:
    from forecastab.experiments.config import load_config
    from forecastab.experiments.runner import run_experiment

    config = load_config(args.config)
    out_dir = args.out if args.out is not None else Path("runs") / config.name
    result = run_experiment(config, out_dir, progress=not args.quiet)
    done = sum(o.status == "done" for o in result.outcomes)
    skipped = sum(o.status == "skipped" for o in result.outcomes)
    failed = len(result.failed)
    diverged = sum(o.status == "diverged" for o in result.outcomes)
    note = f" ({diverged} diverged)" if diverged else ""
    print(f"{out_dir}: {done} run(s) done, {skipped} skipped, {failed} failed{note}")
    for name in ("results.csv", "horizon_error.png", "summary.md"):
        if (out_dir / name).exists():
            print(f"  {out_dir / name}")
    return RUNS_FAILED if failed else 0


def _tune(args: argparse.Namespace) -> int:
    from forecastab.tuning import load_tune_config, tune

    config = load_tune_config(args.config)
    out_dir = args.out if args.out is not None else Path("runs") / f"{config.name}_tune"
    result = tune(config, out_dir, progress=not args.quiet, final=not args.no_final)
    print(result.summary)
    for name in ("summary.md", "trials.csv", "best.yaml", "history.png", "importance.png"):
        if (out_dir / name).exists():
            print(f"  {out_dir / name}")
    return 0


def _datasets(args: argparse.Namespace) -> int:
    from forecastab.data import list_datasets

    table = list_datasets()
    columns = [
        c for c in ("name", "length", "frequency", "target", "license", "description") if c in table
    ]
    cells = [[str(v) for v in row] for row in table[columns].itertuples(index=False)]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    for row in [columns, *cells]:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


def _plot(args: argparse.Namespace) -> int:
    from forecastab.experiments.charts import render_all
    from forecastab.experiments.files import remove_stale_chart_files
    from forecastab.experiments.report import check_experiment_dir

    out_dir = check_experiment_dir(args.dir)
    remove_stale_chart_files(out_dir)
    for path in render_all(out_dir, metric=args.metric):
        print(path)
    return 0


def _report(args: argparse.Namespace) -> int:
    from forecastab.experiments.report import check_experiment_dir, write_summary

    print(write_summary(check_experiment_dir(args.dir)))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from forecastab.experiments.comparisons import (
        ORIGIN_LEVEL_MEANING,
        check_resamples,
        compare_experiment,
        significant_steps,
        untested_steps,
        write_comparisons,
    )
    from forecastab.experiments.report import check_experiment_dir, write_summary

    check_resamples(args.n_bootstrap, "--n-bootstrap")  # before reading anything
    out_dir = check_experiment_dir(args.dir)
    table = compare_experiment(
        out_dir,
        reference=args.reference,
        loss=args.metric,
        n_bootstrap=args.n_bootstrap,
        block_length=args.block_length,
    )
    path = write_comparisons(out_dir, table)
    keys = ["dataset", "model", "strategy", "reference", "seed"]
    for key, rows in table.groupby(keys, sort=True):
        better, worse = significant_steps(rows)
        untested, reason = untested_steps(rows)
        dataset, model, strategy, reference, seed = key
        refused = f"; no test at steps {untested} ({reason})" if untested != "none" else ""
        print(
            f"{dataset} {model}/{strategy} vs {reference} (seed {seed}): "
            f"better at steps {better}; worse at steps {worse}{refused}"
        )
    print(ORIGIN_LEVEL_MEANING)
    print(path)
    print(write_summary(out_dir))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from forecastab.checkpoints import load, unfinished_run
    from forecastab.files import atomic_write, check_write_target

    if args.out is not None:
        check_write_target(args.out)  # a device, FIFO, folder or link: refused before any work
    unfinished = unfinished_run(args.model)
    if unfinished is not None:
        if not args.allow_unfinished:
            raise ForecastabError(
                f"run '{unfinished}' has not finished (no DONE): its checkpoint holds weights "
                "from mid-training or a failed run; rerun the experiment, or pass "
                "--allow-unfinished to forecast with them anyway"
            )
        warnings.warn(f"forecasting with the unfinished run '{unfinished}'", stacklevel=1)
    model = load(args.model)
    origin = _origins(args.origin, model.data_spec.time_column is not None)
    frame = model.predict_frame(
        args.data, origin, horizon=args.horizon, future=args.future, ids=args.ids
    )
    text = frame.to_csv(index=False, lineterminator="\n")
    if args.out is None:
        sys.stdout.write(text)
        return 0
    atomic_write(args.out, text)
    print(f"{args.out}: {frame['origin'].nunique()} origin(s) x {frame['step'].max()} step(s) x "
          f"{frame['target'].nunique()} target(s)")
    return 0


def _origins(values: list[str] | None, timed: bool) -> list[object] | None:
    """``--origin`` values: times as given, or row numbers when the data has no time column."""
    if values is None:
        return None
    if timed:
        return list(values)
    try:
        return [int(v) for v in values]
    except ValueError:
        from forecastab.errors import DataError

        raise DataError(f"--origin {values[0]!r} must be a row number: the data has no time column") from None


COMMANDS = {
    "run": _run,
    "tune": _tune,
    "datasets": _datasets,
    "plot": _plot,
    "predict": _predict,
    "report": _report,
    "compare": _compare,
}


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Warnings as one line each, like the errors, instead of a source excerpt."""
    text = str(message).splitlines()[0] if str(message) else category.__name__
    print(f"{PROG}: warning: {text}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status: 0 success, 1 some runs failed (recorded in summary.md) or an internal
        error, 2 bad input, 130 interrupted (SIGINT); SIGTERM exits with 143 (``SystemExit``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        return _fail(str(error))
    sigterm = _exit_cleanly_on_sigterm()
    shown = warnings.showwarning
    if not getattr(args, "debug", False):
        warnings.showwarning = _show_warning
    try:
        return COMMANDS[args.command](args)
    except (ForecastabError, OSError) as error:
        if getattr(args, "debug", False):
            raise
        message = str(error) if isinstance(error, ForecastabError) else _os_message(error)
        return _fail(message.splitlines()[0] if message else type(error).__name__)
    except KeyboardInterrupt:
        if getattr(args, "debug", False):
            raise
        print(f"{PROG}: interrupted; completed runs are kept, rerun to continue", file=sys.stderr)
        return INTERRUPTED
    except SystemExit as exit_:
        if exit_.code != TERMINATED:
            raise
        print(f"{PROG}: terminated; completed runs are kept, rerun to continue", file=sys.stderr)
        return TERMINATED
    except MemoryError:
        if getattr(args, "debug", False):
            raise
        print(
            f"{PROG}: error: out of memory; completed runs are kept: use smaller models, "
            "batches or data (--debug shows where)",
            file=sys.stderr,
        )
        return RUNS_FAILED
    except Exception as error:  # a bug: still one line, never a traceback unless asked for
        if getattr(args, "debug", False):
            raise
        text = str(error).splitlines()[0] if str(error) else ""
        print(
            f"{PROG}: error: internal error {type(error).__name__}: {text[:300]} (a bug in "
            "forecastab; rerun with --debug for the traceback and report it)",
            file=sys.stderr,
        )
        return RUNS_FAILED
    finally:
        warnings.showwarning = shown
        if sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)


def _exit_cleanly_on_sigterm() -> Any:
    """SIGTERM unwinds like Ctrl-C (temporary files removed, workers stopped), exit 143.

    Returns:
        The previous handler, to restore (None off the main thread, where none is set).
    """

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(TERMINATED)

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, terminate)


# atomic_write's temporary file beside its target: ``.<name>.<random>.tmp``
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]+\.tmp$")


def _os_message(error: OSError) -> str:
    """``<problem> '<file>'``, naming the file the user asked for, not its temporary stand-in.

    >>> _os_message(IsADirectoryError(21, "Is a directory", "/tmp/.out.csv.k2j_x9.tmp"))
    "Is a directory '/tmp/out.csv'"
    """
    name = error.filename
    if name:
        path = Path(os.fsdecode(name))
        temporary = _TEMPORARY.match(path.name)
        name = str(path.with_name(temporary["name"])) if temporary else str(path)
    where = f" '{name}'" if name else ""
    return f"{error.strerror or error}{where}"


if __name__ == "__main__":
    sys.exit(main())
