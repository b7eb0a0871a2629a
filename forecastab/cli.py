"""The ``forecastab`` command line: ``run``, ``tune``, ``datasets``, ``plot``, ``predict``, ``report`` and
``compare``.

Bad input of any kind (a missing or invalid config, a data error, an unwritable folder) prints
exactly one line ``forecastab: error: <message>`` on stderr and exits with status 2; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
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
USAGE_ERROR = 2


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

    run = commands.add_parser("run", parents=[debug], help="run an experiment YAML file")
    run.add_argument("config", type=Path, metavar="CONFIG.yaml", help="the experiment file")
    run.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: runs/<config name>)"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    tune = commands.add_parser(
        "tune",
        parents=[debug],
        help="search strategy and training settings on free-running validation error (Optuna)",
    )
    tune.add_argument("config", type=Path, metavar="CONFIG.yaml", help="an experiment file with tune:")
    tune.add_argument(
        "--out", type=Path, metavar="DIR", help="tune folder (default: runs/<config name>_tune)"
    )
    tune.add_argument("--quiet", action="store_true", help="no progress bar")
    tune.add_argument(
        "--no-final",
        action="store_true",
        help="search only: skip training the best of each arm with the seeds on test",
    )

    commands.add_parser("datasets", parents=[debug], help="list the bundled datasets")

    plot = commands.add_parser(
        "plot", parents=[debug], help="draw every chart of an experiment folder, each to a file"
    )
    plot.add_argument("dir", type=Path, metavar="DIR", help="an experiment's output folder")
    plot.add_argument(
        "--metric", help="only this metric's charts (default: every metric, and rollouts)"
    )

    predict = commands.add_parser(
        "predict", parents=[debug], help="forecast a CSV with a trained run or checkpoint"
    )
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

    summary = commands.add_parser("report", parents=[debug], help="rewrite DIR/summary.md")
    summary.add_argument("dir", type=Path, metavar="DIR", help="an experiment's output folder")

    compare = commands.add_parser(
        "compare", parents=[debug], help="paired tests against a reference: DIR/comparisons.csv"
    )
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
        "--block-length", type=int, help="origins per block (default: max(H, N^(1/3)))"
    )
    return parser


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
    return 1 if failed else 0


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
        compare_experiment,
        significant_steps,
        write_comparisons,
    )
    from forecastab.experiments.report import check_experiment_dir, write_summary

    out_dir = check_experiment_dir(args.dir)
    if args.n_bootstrap < 1:
        raise ForecastabError(f"--n-bootstrap must be a positive integer, got {args.n_bootstrap}")
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
        dataset, model, strategy, reference, seed = key
        print(
            f"{dataset} {model}/{strategy} vs {reference} (seed {seed}): "
            f"better at steps {better}; worse at steps {worse}"
        )
    print(path)
    print(write_summary(out_dir))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from forecastab.checkpoints import load
    from forecastab.files import atomic_write

    model = load(args.model)
    origin = _origins(args.origin, model.data_spec.time_column is not None)
    frame = model.predict_frame(args.data, origin, horizon=args.horizon)
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
        The exit status: 0 success, 1 some runs failed (recorded in summary.md), 2 bad input,
        130 interrupted.
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
        return 130
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
        raise SystemExit(128 + signum)

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, terminate)


def _os_message(error: OSError) -> str:
    where = f" '{error.filename}'" if error.filename else ""
    return f"{error.strerror or error}{where}"


if __name__ == "__main__":
    sys.exit(main())
