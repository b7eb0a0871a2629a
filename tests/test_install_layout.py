"""The usual "clone, then work beside it" layout: a script in the folder that holds the clone
(a folder named ``forecastab``) imports the installed package, not the clone's folder as an empty
namespace package, and ``forecastab.load`` works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from forecastab.experiments.config import ExperimentConfig
from forecastab.experiments.runner import run_experiment

REPOSITORY = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
import forecastab
model = forecastab.load(sys.argv[1])
print(forecastab.__file__)
print(type(model).__name__, model.horizon)
"""


def _tiny_run(folder: Path) -> Path:
    csv = folder / "series.csv"
    steps = np.arange(80)
    pd.DataFrame({"y": np.sin(steps / 4) + 0.01 * steps}).to_csv(csv, index=False)
    config = {
        "name": "layout",
        "data": {
            "source": str(csv),
            "target": "y",
            "context_length": 8,
            "horizon": 4,
            "split": {"train": 0.7, "test": 0.3},
            "batch_size": 16,
        },
        "models": [{"name": "gru", "type": "rnn", "hidden_size": 4}],
        "strategies": [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}}],
        "seeds": [0],
        "trainer": {"max_epochs": 1, "accelerator": "cpu"},
        "evaluation": {"modes": ["free_running"], "metrics": ["mae"]},
    }
    result = run_experiment(ExperimentConfig.model_validate(config), folder / "out", progress=False)
    assert not result.failed
    return folder / "out" / "runs" / "gru__tf__seed0"


def test_script_beside_the_clone_loads_a_run(tmp_path: Path) -> None:
    run_dir = _tiny_run(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    # the folder holding the clone: "forecastab/" is the repository, with forecastab/forecastab/ inside
    (work / "forecastab").symlink_to(REPOSITORY, target_is_directory=True)
    (work / "script.py").write_text(SCRIPT)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "script.py", str(run_dir)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    package_file, model_line = done.stdout.strip().splitlines()[-2:]
    assert package_file.endswith(os.path.join("forecastab", "__init__.py"))  # not a namespace
    assert model_line.split()[-1] == "4"
