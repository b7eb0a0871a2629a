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


def test_the_paired_test_answers_how_sure_and_diverged_runs_are_left_out() -> None:
    table = _table()
    diverged = table[table["strategy"] == "ss"].assign(strategy="exploded", value=float("nan"))
    asked = []

    def paired_test(model: str, strategy: str, reference: str) -> str:
        asked.append((model, strategy, reference))
        return "significantly better at steps 1-2"

    lines = answer_lines(
        pd.concat([table, diverged]), metric="RMSE", tf_strategies=["tf"], paired_test=paired_test
    )
    assert asked == [("gru", "ss", "tf")]  # the best finite strategy against teacher forcing
    assert lines[2] == "- **How sure**: significantly better at steps 1-2."
    assert not any("not on this branch" in line for line in lines)
    only_nan = diverged.assign(strategy="tf")
    assert answer_lines(only_nan, metric="RMSE", tf_strategies=["tf"]) == [
        "- No finite free-running RMSE: every learned run diverged."
    ]


def test_summary_opens_with_the_paired_test_of_a_real_run(
    tmp_path, make_config
) -> None:
    from forecastab.experiments.config import validate_config
    from forecastab.experiments.runner import run_experiment

    out = tmp_path / "out"
    run_experiment(validate_config(make_config(seeds=[0, 1])), out, progress=False)
    summary = (out / "summary.md").read_text()
    opening = summary.split("Values are means")[0]
    assert "**How sure**: origin-level paired Diebold-Mariano test per forecast step" in opening
    assert "(stride 1; squared error, paired over 2 seed(s), Holm-corrected over the" in opening
    # the tiny run's 43 origins are too few at some steps: the sentence says so and why
    assert "different at" in opening or "not testable at any of the 6 steps (" in opening
    assert "Seed-level (does the training procedure win on another seed?)" in opening
    assert "of 2 seeds (t test p = " in opening
    assert "`free` against `tf`" in opening or "`tf` against `free`" in opening
