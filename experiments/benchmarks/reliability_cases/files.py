"""Issue 20's cases that write, delete or lose files: S1-S4, W1-W6, W8, H4, U1, U9.

Each case builds its inputs in its sandbox, runs the real command line (``python -m forecastab``)
there, and returns None when forecastab handled it as it should. Links point into the sentinel
tree beside the sandbox (:func:`common.sentinel`), which the benchmark checks is unchanged. A
tiny trained run, made once and shared (read only), serves the ``predict`` cases.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from reliability_cases.common import Case, one_error_line, run_cli, sentinel

TF = {"teacher_forcing": {"schedule": "constant", "ratio": 1.0}}


def write_series(path: Path, rows: int = 120, freq: str = "D", scale: float = 1.0) -> Path:
    """A noisy sine with a daily time column."""
    rng = np.random.default_rng(0)
    steps = np.arange(rows)
    values = scale * (np.sin(2 * np.pi * steps / 12) + 1.5 + 0.1 * rng.standard_normal(rows))
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=rows, freq=freq), "y": values})
    frame.to_csv(path, index=False)
    return path


def tiny_config(csv: Path, **overrides: Any) -> dict[str, Any]:
    """One small GRU, one strategy, one epoch: a run takes about a second."""
    config: dict[str, Any] = {
        "name": "tiny",
        "data": {"source": str(csv), "target": "y", "time_column": "date", "context_length": 12,
                 "horizon": 4, "split": {"train": 0.7, "test": 0.3}, "batch_size": 32},
        "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
        "strategies": [{"name": "tf", **TF}],
        "seeds": [0],
        "trainer": {"max_epochs": 1, "accelerator": "cpu"},
        "evaluation": {"modes": ["free_running"], "metrics": ["rmse"]},
    }
    config.update(overrides)
    return config


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def results_text(metric: str = "rmse", models: tuple[str, ...] = ("gru",)) -> str:
    """A small, valid results.csv as ``forecastab run`` writes it."""
    lines = ["dataset,model,strategy,seed,mode,target,step,metric,value"]
    for model in models:
        lines += [f"d,{model},tf,0,free_running,y,{step},{metric},{0.1 * step:.10g}"
                  for step in range(1, 5)]
    return "\n".join(lines) + "\n"


@cache
def trained_run() -> Path:
    """A finished run folder of the tiny config, trained once (read only for the cases)."""
    folder = Path(tempfile.mkdtemp(prefix="forecastab-reliability-model-"))
    atexit.register(shutil.rmtree, folder, True)
    csv = write_series(folder / "series.csv")
    cfg = write_config(folder / "tiny.yaml", tiny_config(csv))
    result = run_cli("run", str(cfg), "--out", str(folder / "out"), "--quiet", cwd=folder)
    if result.returncode != 0:
        raise RuntimeError(f"the shared run failed: {result.stderr[-300:]}")
    return folder / "out" / "runs" / "gru__tf__seed0"


def _unchanged(path: Path, content: bytes) -> str | None:
    if path.is_symlink() or not path.is_file() or path.read_bytes() != content:
        return f"{path.name} was changed"
    return None


def s1_lock_link_run(sandbox: Path) -> str | None:
    out = sandbox / "out"
    (out / "runs").mkdir(parents=True)
    (out / "grid.txt").write_text("gru__tf__seed0\n")  # an earlier run's folder: the lock is reached
    (out / ".lock").symlink_to(sentinel(sandbox) / "precious.txt")
    cfg = write_config(sandbox / "tiny.yaml", tiny_config(write_series(sandbox / "s.csv")))
    result = run_cli("run", str(cfg), "--out", str(out), "--quiet", cwd=sandbox)
    return one_error_line(result)  # the sentinel check proves precious.txt kept its bytes


def s1_lock_link_plot(sandbox: Path) -> str | None:
    out = sandbox / "out"
    out.mkdir()
    (out / "results.csv").write_text(results_text())
    (out / ".lock").symlink_to(sentinel(sandbox) / "precious.txt")
    result = run_cli("plot", str(out), cwd=sandbox)
    if result.returncode != 0:
        return f"plot exit {result.returncode}: {result.stderr[-200:]}"
    return None


def s2_metric_path(sandbox: Path) -> str | None:
    out = sandbox / "a" / "b" / "c" / "d" / "out"  # an escape of 3 levels stays in the sandbox
    out.mkdir(parents=True)
    pwned = results_text("/../../../x/PWNED").split("\n", 1)[1]  # beside rmse: not the default
    (out / "results.csv").write_text(results_text() + pwned)
    result = run_cli("plot", str(out), cwd=sandbox)
    escaped = [str(p.relative_to(sandbox)) for p in sandbox.rglob("*PWNED*")]
    if escaped or any(p.name == "x" for p in sandbox.rglob("x")):
        return f"wrote outside the folder: {escaped}"
    return one_error_line(result)


def s3_predict_out_fifo(sandbox: Path) -> str | None:
    """The issue's ``--out /dev/full``, with a FIFO and a link (never a real device here)."""
    run = trained_run()
    fifo = sandbox / "pipe"
    os.mkfifo(fifo)
    link = sandbox / "forecast.csv"
    link.symlink_to(sentinel(sandbox) / "precious.txt")
    data = str(run.parents[2] / "series.csv")
    for target in (fifo, link):
        result = run_cli("predict", str(run), "--data", data, "--out", str(target), cwd=sandbox)
        problem = one_error_line(result)
        if problem:
            return f"--out {target.name}: {problem}"
    if not stat.S_ISFIFO(os.lstat(fifo).st_mode) or not link.is_symlink():
        return "the FIFO or the link was replaced"
    return None


def s4_linked_run_folder(sandbox: Path) -> str | None:
    out = sandbox / "out"
    (out / "runs").mkdir(parents=True)
    (out / "runs" / "gru__tf__seed0").symlink_to(sentinel(sandbox) / "run_like")
    cfg = write_config(sandbox / "tiny.yaml", tiny_config(write_series(sandbox / "s.csv")))
    result = run_cli("run", str(cfg), "--out", str(out), "--quiet", cwd=sandbox)
    if result.returncode != 0:
        return f"exit {result.returncode}: {result.stderr[-200:]}"
    if (out / "runs" / "gru__tf__seed0").is_symlink():
        return "the linked run folder was used instead of redone"
    return None


def w1_injective_folders(sandbox: Path) -> str | None:
    config = tiny_config(
        write_series(sandbox / "s.csv"),
        models=[{"name": "a__b", "type": "rnn", "hidden_size": 4},
                {"name": "a", "type": "rnn", "hidden_size": 4}],
        strategies=[{"name": "c", **TF}, {"name": "b__c", **TF}],
    )
    cfg = write_config(sandbox / "w1.yaml", config)
    result = run_cli("run", str(cfg), "--out", str(sandbox / "out"), "--quiet", cwd=sandbox)
    if result.returncode != 0:
        return f"exit {result.returncode}: {result.stderr[-200:]}"
    table = pd.read_csv(sandbox / "out" / "results.csv")
    series = table.groupby(["model", "strategy"]).ngroups
    return None if series == 4 else f"{series} of 4 model/strategy series in results.csv"


def u1_long_names(sandbox: Path) -> str | None:
    config = tiny_config(
        write_series(sandbox / "s.csv"),
        models=[{"name": "m" * 90, "type": "rnn", "hidden_size": 4}],
        strategies=[{"name": "s" * 90, **TF}],
        baselines=[{"name": "naive", "label": "n" * 95}],
        data={**tiny_config(sandbox / "s.csv")["data"], "horizon": [4, 5]},
    )
    cfg = write_config(sandbox / "u1.yaml", config)
    result = run_cli("run", str(cfg), "--out", str(sandbox / "out"), "--quiet", cwd=sandbox)
    if result.returncode != 0:
        return f"exit {result.returncode}: {result.stderr[-200:]}"
    table = pd.read_csv(sandbox / "out" / "results.csv")
    return None if len(table) and table["model"].nunique() == 2 else "rows missing"


def w2_reserved_strategy(sandbox: Path) -> str | None:
    config = tiny_config(
        write_series(sandbox / "s.csv"), strategies=[{"name": "baseline", **TF}],
        models=[{"name": "naive", "type": "rnn", "hidden_size": 4}], baselines=["naive"],
    )
    cfg = write_config(sandbox / "w2.yaml", config)
    result = run_cli("run", str(cfg), "--out", str(sandbox / "out"), "--quiet", cwd=sandbox)
    return one_error_line(result)


def w3_truncated_results(sandbox: Path) -> str | None:
    out = sandbox / "out"
    out.mkdir()
    (out / "results.csv").write_text(results_text()[:-4])  # a value cut mid-number
    for command in ("report", "plot", "compare"):
        problem = one_error_line(run_cli(command, str(out), cwd=sandbox))
        if problem:
            return f"{command}: {problem}"
    if (out / "summary.md").exists():
        return "summary.md written from a cut file"
    return None


def w3_foreign_results(sandbox: Path) -> str | None:
    out = sandbox / "out"
    out.mkdir()
    (out / "results.csv").write_text(results_text(models=("gru", "lstm")).replace(",4,", ",9,"))
    return one_error_line(run_cli("report", str(out), cwd=sandbox))


def w4_other_frequency(sandbox: Path) -> str | None:
    run = trained_run()
    hourly = write_series(sandbox / "hourly.csv", freq="h")
    return one_error_line(run_cli("predict", str(run), "--data", str(hourly), cwd=sandbox))


def w5_horizon_zero(sandbox: Path) -> str | None:
    run = trained_run()
    data = str(run.parents[2] / "series.csv")
    return one_error_line(run_cli("predict", str(run), "--data", data, "--horizon", "0", cwd=sandbox))


def w8_unfinished_run(sandbox: Path) -> str | None:
    run = trained_run()
    copy = sandbox / "gru__tf__seed0"
    shutil.copytree(run, copy)
    (copy / "DONE").unlink()
    data = str(run.parents[2] / "series.csv")
    problem = one_error_line(run_cli("predict", str(copy), "--data", data, cwd=sandbox))
    if problem:
        return problem
    allowed = run_cli("predict", str(copy), "--data", data, "--allow-unfinished", cwd=sandbox)
    if allowed.returncode != 0 or "unfinished" not in allowed.stderr:
        return f"--allow-unfinished: exit {allowed.returncode}, no warning"
    return None


def w6_out_is_the_users_folder(sandbox: Path) -> str | None:
    mine = {"config.yaml": b"", "summary.md": b"my summary\n"}
    config = tiny_config(write_series(sandbox / "s.csv"))
    mine["config.yaml"] = write_config(sandbox / "config.yaml", config).read_bytes()
    (sandbox / "summary.md").write_bytes(mine["summary.md"])
    for out in (".", ""):
        problem = one_error_line(run_cli("run", "config.yaml", "--out", out, "--quiet", cwd=sandbox))
        if problem:
            return f"--out {out!r}: {problem}"
    for name, content in mine.items():
        if (sandbox / name).read_bytes() != content:
            return f"{name} overwritten"
    return None


H4_SCRIPT = """
import sys, time
from pathlib import Path
import forecastab.experiments.runner as runner
from forecastab.experiments import report
from forecastab.experiments.config import validate_config

rows = "".join(f"d,gru,tf,0,free_running,y,{s},rmse,0.5\\n" for s in range(1, 5))
header = "dataset,model,strategy,seed,mode,target,step,metric,value\\n"
def fake_training(cell):  # the bookkeeping of a run, without the training
    text = (header + rows).replace(",0,free", f",{cell.seed},free")
    report.atomic_write(cell.run_dir / report.METRICS, text)
runner._train_and_evaluate = fake_training
seeds = int(sys.argv[2])
times = []
config = validate_config({
    "name": "h4", "data": {"source": sys.argv[1], "target": "y", "time_column": "date",
    "context_length": 12, "horizon": 4, "split": {"train": 0.7, "test": 0.3}},
    "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
    "strategies": [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1}}],
    "seeds": list(range(seeds)), "trainer": {"max_epochs": 1}})
last = [time.perf_counter()]
def tick(outcome):
    now = time.perf_counter(); times.append(now - last[0]); last[0] = now
runner.run_experiment(config, Path("out"), progress=False, on_outcome=tick)
quarter = seeds // 4
first, final = sum(times[:quarter]), sum(times[-quarter:])
print(f"{first:.3f} {final:.3f} {len(report.read_results(Path('out/results.csv')))}")
"""


def h4_results_appended(sandbox: Path, seeds: int = 1000) -> str | None:
    """A grid of ``seeds`` runs with the training stubbed out: the bookkeeping per run must not
    grow with the grid (the last quarter of runs within 2x the time of the first)."""
    csv = write_series(sandbox / "s.csv")
    result = subprocess.run(
        [sys.executable, "-c", H4_SCRIPT, str(csv), str(seeds)],
        cwd=sandbox, capture_output=True, text=True, timeout=600, check=False,
    )
    if result.returncode != 0:
        return f"exit {result.returncode}: {result.stderr[-300:]}"
    first, final, rows = result.stdout.split()
    print(f"  H4: {seeds} runs (training stubbed): first quarter {first} s, last quarter {final} s")
    if int(rows) != 4 * seeds:
        return f"results.csv has {rows} rows, expected {4 * seeds}"
    if float(final) > 2 * float(first) + 0.5:
        return f"last quarter of runs {final} s vs first {first} s: grows with the grid"
    return None


def u9_only_model_diverged(sandbox: Path) -> str | None:
    csv = write_series(sandbox / "huge.csv", scale=1e30)
    config = tiny_config(csv, baselines=["naive"])
    config["data"]["scaling"] = "none"
    cfg = write_config(sandbox / "u9.yaml", config)
    out = sandbox / "out"
    ran = run_cli("run", str(cfg), "--out", str(out), "--quiet", cwd=sandbox)
    if ran.returncode != 1:
        return f"the diverging run exited {ran.returncode}, expected 1"
    result = run_cli("compare", str(out), "--reference", "naive/baseline", cwd=sandbox)
    problem = one_error_line(result)
    if problem:
        return problem
    return None if "diverged" in result.stderr else f"no word of divergence: {result.stderr[-200:]}"


CASES = [
    Case("S1 lock link (run)", s1_lock_link_run),
    Case("S1 lock link (plot)", s1_lock_link_plot),
    Case("S2 metric path in results.csv", s2_metric_path),
    Case("S3 predict --out FIFO/link", s3_predict_out_fifo),
    Case("S4 run folder linked outside", s4_linked_run_folder),
    Case("W1 colliding run folders", w1_injective_folders),
    Case("W2 strategy named baseline", w2_reserved_strategy),
    Case("W3 truncated results.csv", w3_truncated_results),
    Case("W3 foreign results.csv", w3_foreign_results),
    Case("W4 predict hourly on daily model", w4_other_frequency),
    Case("W5 predict --horizon 0", w5_horizon_zero),
    Case("W6 --out . / --out ''", w6_out_is_the_users_folder),
    Case("W8 predict unfinished run", w8_unfinished_run),
    Case("H4 results.csv appended", h4_results_appended),
    Case("U1 long names", u1_long_names),
    Case("U9 compare, only model diverged", u9_only_model_diverged),
]
