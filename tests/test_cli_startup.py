"""Commands that train nothing start without torch or Lightning (a fresh process each, since the
test session itself has imported both)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "pytorch_lightning", "lightning", "matplotlib", "statsmodels.api", "scipy.signal")

PROBE = """
import contextlib, io, json, sys
from forecastab.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        status = main(sys.argv[1:])
    except SystemExit as stop:  # --help and --version exit through argparse
        status = stop.code
print(json.dumps({"status": status, "output": out.getvalue(),
                  "loaded": [name for name in HEAVY_NAMES if name in sys.modules]}))
""".replace("HEAVY_NAMES", repr(HEAVY))


@pytest.mark.parametrize(
    "argv", [["--help"], ["--version"], ["datasets"], ["datasets", "--help"], ["run", "--help"]]
)
def test_command_imports_no_torch(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] in (0, None)
    assert report["output"].strip(), "the command printed nothing"
    assert report["loaded"] == [], f"{argv} imported {report['loaded']}"


def test_python_m_forecastab_datasets_imports_no_torch() -> None:
    probe = (
        "import runpy, sys; sys.argv = ['forecastab', 'datasets']\n"
        "try:\n    runpy.run_module('forecastab', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('LOADED', [m for m in ('torch', 'pytorch_lightning') if m in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "mackey_glass" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "LOADED []"


def test_bare_import_reaches_subpackages_lazily() -> None:
    probe = (
        "import sys, forecastab\n"
        "before = 'torch' in sys.modules\n"
        "evaluate = forecastab.evaluation.evaluate\n"
        "print(before, callable(evaluate), 'torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True"]
