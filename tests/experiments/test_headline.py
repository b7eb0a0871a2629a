"""The opening of summary.md: the experiment's answer in numbers, from a hand-made table."""

from __future__ import annotations

import pandas as pd

from forecastab.experiments.headline import answer_lines, teacher_forcing_strategies


def _table() -> pd.DataFrame:
    rows = []
    # per-seed mean RMSE over two steps: tf 10/12/11 free-running, 5 teacher-forced;
    # ss 8/9/8.5 free-running; a baseline at 9.5
    for seed, (tf, ss) in enumerate([(10.0, 8.0), (12.0, 9.0), (11.0, 8.5)]):
        for step in (1, 2):
            rows.append(("d", "gru", "tf", seed, "free_running", "y", step, "rmse", tf))
            rows.append(("d", "gru", "tf", seed, "teacher_forced", "y", step, "rmse", 5.0))
            rows.append(("d", "gru", "ss", seed, "free_running", "y", step, "rmse", ss))
    rows += [("d", "naive", "baseline", 0, "free_running", "y", s, "rmse", 9.5) for s in (1, 2)]
    columns = ["dataset", "model", "strategy", "seed", "mode", "target", "step", "metric", "value"]
    return pd.DataFrame(rows, columns=columns)


def test_answer_states_the_gap_the_best_strategy_and_the_seed_ranges() -> None:
    config = {"strategies": [{"name": "tf", "teacher_forcing": {"schedule": "constant", "ratio": 1.0}},
                             {"name": "ss", "teacher_forcing": {"schedule": "linear", "k": 1}}]}
    tf = teacher_forcing_strategies(config, ["tf", "ss", "baseline"])
    assert tf == ["tf"]
    lines = answer_lines(_table(), metric="RMSE", tf_strategies=tf)
    assert lines[0] == (
        "- **Exposure gap**: `gru` trained with `tf` has RMSE 5 when fed the true values "
        "(teacher-forced evaluation) but 11 on its own predictions (free-running evaluation): "
        "a gap of 6 (+120%)."
    )
    assert lines[1] == (
        "- **Best free-running forecaster**: `gru` trained with `ss`, RMSE 8.5, against 11 for "
        "the same model trained with `tf` (-23%); it beats the best baseline, `naive`, 9.5 "
        "(-11%) (3 of 3 seeds beat it)."
    )
    assert lines[2] == (
        "- **How sure**: over 3 seeds the mean RMSE ranges 8–9 (`ss`) and 10–12 (`tf`): the "
        "ranges do not overlap."
    )
    assert "paired significance test" in lines[3]
