"""Tests of the compounding-error charts: rendered under Agg, labels, styles, diverged input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from forecastab.errors import DataError
from forecastab.plotting import (
    plot_exposure_gap,
    plot_grid,
    plot_horizon_error,
    plot_prefix_survival,
    plot_rollouts,
    save_figure,
)
from forecastab.plotting.curves import COLUMNS, gap_curves, horizon_curves

MODELS = ("gru", "transformer")
STRATEGIES = ("teacher_forcing", "scheduled_sampling", "free_running")
BASELINES = ("naive", "seasonal_naive")
HORIZON = 20


def make_results(
    datasets: tuple[str, ...] = ("sunspots",),
    seeds: tuple[int, ...] = (0, 1, 2),
    models: tuple[str, ...] = MODELS,
) -> pd.DataFrame:
    """Errors that grow with the step when free running, stay flat teacher forced; baselines."""
    rng = np.random.default_rng(0)
    steps = np.arange(1, HORIZON + 1)
    growth = {"teacher_forcing": 0.09, "scheduled_sampling": 0.05, "free_running": 0.03}
    rows = []
    for scale, dataset in enumerate(datasets, start=1):
        for model in models:
            for strategy in STRATEGIES:
                for seed in seeds:
                    for metric, k in (("mae", 1.0), ("rmse", 1.25)):
                        start = scale * k * (1 + 0.05 * rng.standard_normal())
                        free = start * (1 + growth[strategy] * (steps - 1))
                        forced = start * (1 + 0.005 * steps)
                        for mode, values in (("free_running", free), ("teacher_forced", forced)):
                            rows += [
                                (dataset, model, strategy, seed, mode, int(h), metric, float(v))
                                for h, v in zip(steps, values)
                            ]
        for i, baseline in enumerate(BASELINES):
            for metric, k in (("mae", 1.0), ("rmse", 1.25)):
                values = scale * k * (1.5 + 0.2 * i) * np.sqrt(steps)
                rows += [
                    (dataset, baseline, "baseline", 0, "free_running", int(h), metric, float(v))
                    for h, v in zip(steps, values)
                ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    return make_results()


def line(ax, label: str):
    """The plotted line whose label is ``label``."""
    (found,) = [artist for artist in ax.get_lines() if artist.get_label() == label]
    return found


def legend_texts(fig) -> list[str]:
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    return [text.get_text() for legend in legends for text in legend.get_texts()]


def saved(fig, tmp_path: Path, name: str = "chart.png") -> Path:
    path = save_figure(fig, tmp_path / name)
    assert path.exists() and path.stat().st_size > 10_000
    assert fig.number not in plt.get_fignums()
    return path


def test_horizon_error_labels_styles_and_png(results, tmp_path):
    fig = plot_horizon_error(results, units_label="original")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "forecast step (steps ahead)"
    assert ax.get_ylabel() == "RMSE (original units)"
    assert ax.get_title() == "sunspots: RMSE by forecast step"
    assert tuple(fig.get_size_inches()) == pytest.approx((3.5, fig.get_size_inches()[1]))
    free = line(ax, "gru trained with teacher_forcing [free_running]")
    forced = line(ax, "gru trained with teacher_forcing [teacher_forced]")
    assert free.get_linestyle() == "-" and forced.get_linestyle() == "--"
    assert to_rgba(free.get_color()) == to_rgba(forced.get_color())
    other = line(ax, "transformer trained with free_running [free_running]")
    assert to_rgba(other.get_color()) != to_rgba(free.get_color())
    texts = legend_texts(fig)
    assert texts == [
        *(f"{m} trained with {s}" for m in MODELS for s in STRATEGIES),
        "naive (baseline)",
        "seasonal_naive (baseline)",
        "evaluated free-running (fed its own predictions)",
        "evaluated teacher-forced (fed the true values)",
        "min–max over 3 seeds",
    ]
    saved(fig, tmp_path)


def test_baselines_are_grey_with_distinct_styles(results):
    fig = plot_horizon_error(results, metric="mae")
    ax = fig.axes[0]
    naive = line(ax, "naive (baseline) [free_running]")
    seasonal = line(ax, "seasonal_naive (baseline) [free_running]")
    for baseline in (naive, seasonal):
        red, green, blue, _ = to_rgba(baseline.get_color())
        assert red == green == blue
    assert naive.get_linestyle() != seasonal.get_linestyle()
    assert naive.get_marker() != seasonal.get_marker()
    # Baselines have no teacher-forced curve.
    assert not [a for a in ax.get_lines() if a.get_label() == "naive (baseline) [teacher_forced]"]
    plt.close(fig)


def test_legend_sits_outside_the_axes(results):
    fig = plot_horizon_error(results)
    fig.canvas.draw()
    (legend,) = fig.legends
    assert not legend.get_window_extent().overlaps(fig.axes[0].get_window_extent())
    plt.close(fig)


def test_caller_axes_gets_the_legend_beside_it(results, tmp_path):
    fig, ax = plt.subplots(figsize=(6, 4))
    assert plot_horizon_error(results, ax=ax) is fig
    assert ax.get_legend() is not None and not fig.legends
    assert fig.get_size_inches().tolist() == [6, 4]
    saved(fig, tmp_path)


@pytest.mark.parametrize(
    "band, expected", [("range", "min–max over 3 seeds"), ("std", "mean ± 1 sd over 3 seeds")]
)
def test_bands_over_seeds(results, band, expected):
    fig = plot_horizon_error(results, band=band)
    assert expected in legend_texts(fig)
    assert fig.axes[0].collections  # fill_between bands
    plt.close(fig)


def test_band_none_draws_no_band(results):
    fig = plot_horizon_error(results, band="none")
    assert not fig.axes[0].collections
    assert not any("seeds" in text for text in legend_texts(fig))
    plt.close(fig)


def test_curves_match_a_reference_loop(results):
    rows = results[results["metric"] == "rmse"]
    curves = {(c.model, c.strategy, c.mode): c for c in horizon_curves(rows, band="range")}
    assert len(curves) == len(MODELS) * len(STRATEGIES) * 2 + len(BASELINES)
    for (model, strategy, mode), curve in curves.items():
        for i, step in enumerate(curve.steps):
            values = rows.loc[
                (rows["model"] == model)
                & (rows["strategy"] == strategy)
                & (rows["mode"] == mode)
                & (rows["step"] == step),
                "value",
            ]
            assert curve.center[i] == pytest.approx(values.mean())
            if curve.lower is not None:
                assert curve.lower[i] == pytest.approx(values.min())
                assert curve.upper[i] == pytest.approx(values.max())


def test_single_seed_uses_bootstrap_intervals(tmp_path):
    one = make_results(seeds=(0,), models=("gru",))
    intervals = one.assign(lower=one["value"] * 0.9, upper=one["value"] * 1.1)
    curves = horizon_curves(one[one["metric"] == "rmse"], intervals=intervals)
    assert all(c.lower is not None for c in curves)
    first = curves[0]
    expected = intervals[
        (intervals["model"] == first.model)
        & (intervals["strategy"] == first.strategy)
        & (intervals["mode"] == first.mode)
        & (intervals["metric"] == "rmse")
    ].sort_values("step")
    np.testing.assert_allclose(first.lower, expected["lower"].to_numpy())
    fig = plot_horizon_error(one, intervals=intervals, units_label="scaled")
    assert fig.axes[0].get_ylabel() == "RMSE (scaled)"
    texts = legend_texts(fig)
    assert "bootstrap CI over origins" in texts
    assert "trained with teacher_forcing" in texts  # one model: strategies name the series
    saved(fig, tmp_path)


def test_diverged_runs_render_and_are_labelled(results, tmp_path):
    diverged = results.copy()
    whole = (diverged["model"] == "gru") & (diverged["strategy"] == "teacher_forcing")
    diverged.loc[whole & (diverged["step"] > 8), "value"] = np.nan
    one_seed = (
        (diverged["model"] == "transformer")
        & (diverged["strategy"] == "free_running")
        & (diverged["seed"] == 1)
        & (diverged["mode"] == "free_running")
        & (diverged["step"] > 12)
    )
    diverged.loc[one_seed, "value"] = np.inf
    fig = plot_horizon_error(diverged)
    texts = legend_texts(fig)
    assert "gru trained with teacher_forcing (diverged)" in texts
    assert "transformer trained with free_running (1/3 seeds diverged)" in texts
    ax = fig.axes[0]
    ydata = np.asarray(line(ax, "gru trained with teacher_forcing [free_running]").get_ydata())
    assert np.isnan(ydata[8:]).all() and np.isfinite(ydata[:8]).all()
    partial = np.asarray(
        line(ax, "transformer trained with free_running [free_running]").get_ydata()
    )
    assert np.isfinite(partial).all()  # the mean of the two finite seeds goes on
    markers = [a for a in ax.get_lines() if a.get_marker() == "x"]
    assert len(markers) == 3  # gru free + teacher forced, transformer free
    saved(fig, tmp_path)


def test_entirely_diverged_run_renders(results, tmp_path):
    broken = results.copy()
    broken.loc[broken["model"] == "transformer", "value"] = np.inf
    fig = plot_horizon_error(broken)
    assert "transformer trained with teacher_forcing (diverged)" in legend_texts(fig)
    saved(fig, tmp_path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(metric="rmsee"),
            "unknown metric 'rmsee' (did you mean 'rmse'?); valid: mae, rmse",
        ),
        (
            dict(dataset="sunspot"),
            "unknown dataset 'sunspot' (did you mean 'sunspots'?); valid: sunspots",
        ),
        (dict(band="minmax"), "unknown band 'minmax'; valid: none, range, std"),
    ],
)
def test_bad_arguments_name_the_fix(results, kwargs, message):
    with pytest.raises(DataError) as error:
        plot_horizon_error(results, **kwargs)
    assert str(error.value) == message
    assert not plt.get_fignums()


def test_bad_tables_name_the_fix(results):
    with pytest.raises(DataError, match="lacks column"):
        plot_horizon_error(results.drop(columns="mode"))
    with pytest.raises(DataError, match="results table is empty"):
        plot_horizon_error(results.iloc[:0])
    with pytest.raises(DataError, match="more than one row for dataset=sunspots"):
        plot_horizon_error(pd.concat([results, results.iloc[:1]]))
    two = make_results(datasets=("sunspots", "traffic"))
    with pytest.raises(DataError) as error:
        plot_horizon_error(two)
    assert str(error.value) == (
        "results table holds 2 datasets (sunspots, traffic); pass dataset=... or draw them "
        "all with plot_grid(results, by='dataset')"
    )
    fig = plot_horizon_error(two, dataset="traffic")
    assert fig.axes[0].get_title() == "traffic: RMSE by forecast step"
    plt.close(fig)


def test_exposure_gap_is_free_minus_forced(results, tmp_path):
    rows = results[results["metric"] == "mae"]
    curves = {(c.model, c.strategy): c for c in gap_curves(rows)}
    assert set(curves) == {(m, s) for m in MODELS for s in STRATEGIES}
    sub = rows[(rows["model"] == "gru") & (rows["strategy"] == "free_running")]
    table = sub.pivot_table(index="step", columns="mode", values="value", aggfunc="mean")
    np.testing.assert_allclose(
        curves["gru", "free_running"].center, table["free_running"] - table["teacher_forced"]
    )
    fig = plot_exposure_gap(results, metric="mae", units_label="original")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "MAE gap (original units)"
    assert ax.get_title() == "sunspots: free running − teacher forced"
    assert any(np.allclose(a.get_ydata(), 0.0) for a in ax.get_lines())  # the zero line
    texts = legend_texts(fig)
    assert "naive (baseline)" not in texts and "gru trained with teacher_forcing" in texts
    saved(fig, tmp_path)


def test_exposure_gap_needs_both_modes(results):
    free_only = results[results["mode"] == "free_running"]
    with pytest.raises(DataError, match="has both free_running and teacher_forced rows"):
        plot_exposure_gap(free_only)
    assert not plt.get_fignums()


def test_prefix_survival_single_and_several(tmp_path):
    steps = np.arange(1, HORIZON + 1)
    independent = np.cumprod(np.full(HORIZON, 0.9))
    observed = independent**0.5
    fig = plot_prefix_survival(steps, observed, independent, tau=0.5)
    ax = fig.axes[0]
    assert ax.get_title() == "prefix survival (τ = 0.5)"
    assert ax.get_xlabel() == "forecast step h (steps ahead)"
    assert line(ax, "model [independent]").get_linestyle() == "--"
    assert legend_texts(fig) == ["observed", "if steps were independent"]
    saved(fig, tmp_path, "single.png")

    series = {"teacher_forcing": (observed, independent), "free_running": (observed**0.5, observed)}
    fig = plot_prefix_survival(steps, series, log_y=True)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert legend_texts(fig)[:2] == ["teacher_forcing", "free_running"]
    free_observed = line(ax, "free_running [observed]")
    assert to_rgba(free_observed.get_color()) == to_rgba(
        line(ax, "free_running [independent]").get_color()
    )
    saved(fig, tmp_path, "several.png")


def test_prefix_survival_rejects_bad_input():
    steps = np.arange(1, 6)
    with pytest.raises(DataError, match="observed of model has 4 values but steps has 5"):
        plot_prefix_survival(steps, np.ones(4), np.ones(5))
    with pytest.raises(DataError, match=r"must be fractions in \[0, 1\]"):
        plot_prefix_survival(steps, np.full(5, 2.0), np.ones(5))
    with pytest.raises(DataError, match="pass independent=None"):
        plot_prefix_survival(steps, {"a": (np.ones(5), np.ones(5))}, np.ones(5))
    with pytest.raises(DataError, match="independent is missing"):
        plot_prefix_survival(steps, np.ones(5))
    assert not plt.get_fignums()


def rollout_arrays(count: int = 12, context_length: int = 30, channels: int | None = None):
    rng = np.random.default_rng(1)
    time = np.arange(count)[:, None] + np.arange(context_length + HORIZON)[None, :]
    series = np.sin(2 * np.pi * time / 11) + 0.1 * rng.standard_normal(time.shape)
    if channels:
        series = np.stack([series * (c + 1) for c in range(channels)], axis=-1)  # (N, L+H, C)
    contexts, targets = series[:, :context_length], series[:, context_length:]
    drift = np.cumsum(rng.normal(0, 0.1, targets.shape), axis=1)
    return contexts, targets, drift


def test_rollouts_show_context_truth_and_dashed_forecasts(tmp_path):
    contexts, targets, drift = rollout_arrays()
    predictions = {"teacher_forcing": targets + 2 * drift, "scheduled_sampling": targets + drift}
    fig = plot_rollouts(contexts, targets, predictions, n=4, origins=list(range(215, 227)))
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 4
    assert [ax.get_title() for ax in panels] == [
        "origin 215",
        "origin 219",
        "origin 222",
        "origin 226",
    ]
    ax = panels[0]
    context = line(ax, "context")
    assert context.get_xdata()[0] == -29 and context.get_xdata()[-1] == 0
    forecast = line(ax, "teacher_forcing")
    assert forecast.get_linestyle() == "--"
    assert forecast.get_xdata()[-1] == HORIZON
    assert forecast.get_ydata()[0] == context.get_ydata()[-1]  # starts at the origin
    assert any(list(a.get_xdata()) == [0, 0] for a in ax.get_lines())  # the origin line
    assert panels[2].get_xlabel() == "steps from origin" and not panels[0].get_xlabel()
    assert legend_texts(fig) == ["context", "truth", "teacher_forcing", "scheduled_sampling"]
    saved(fig, tmp_path)


def test_rollouts_of_one_column_and_diverged_forecast(tmp_path):
    contexts, targets, drift = rollout_arrays(channels=2)
    broken = targets + drift
    broken[:, 10:] = np.inf
    fig = plot_rollouts(contexts, targets, broken, n=1, target=1, ylabel="load (MW)")
    (ax,) = fig.axes
    assert ax.get_ylabel() == "load (MW)"
    np.testing.assert_allclose(line(ax, "truth").get_ydata()[1:], targets[0, :, 1])
    assert legend_texts(fig)[-1] == "forecast (diverged)"
    saved(fig, tmp_path)


def test_rollouts_reject_mismatched_shapes():
    contexts, targets, drift = rollout_arrays()
    with pytest.raises(DataError, match="predictions 'forecast' have shape"):
        plot_rollouts(contexts, targets, drift[:, :5])
    with pytest.raises(DataError, match="contexts has 11 origins but targets has 12"):
        plot_rollouts(contexts[:11], targets, drift)
    with pytest.raises(DataError, match="target=3 but contexts has 2 target columns"):
        c, t, d = rollout_arrays(channels=2)
        plot_rollouts(c, t, t + d, target=3)
    assert not plt.get_fignums()


def test_grid_by_dataset_shares_one_legend(tmp_path):
    results = make_results(datasets=("sunspots", "electricity", "traffic", "ett_h1"))
    fig = plot_grid(results, by="dataset", units_label="scaled")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["sunspots", "electricity", "traffic", "ett_h1"]
    assert panels[0].get_ylabel() == "RMSE (scaled)" and not panels[1].get_ylabel()
    assert len(fig.legends) == 1
    colours = {
        to_rgba(line(ax, "gru trained with scheduled_sampling [free_running]").get_color())
        for ax in panels
    }
    assert len(colours) == 1  # one colour per series across panels
    saved(fig, tmp_path)


def test_grid_by_model_holds_strategies_and_baselines(tmp_path):
    results = make_results(datasets=("sunspots", "traffic"))
    fig = plot_grid(results, by="model", dataset="traffic", metric="mae")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == list(MODELS)
    assert fig.get_suptitle() == "traffic: MAE by forecast step"
    labels = {a.get_label() for a in panels[1].get_lines()}
    assert "trained with teacher_forcing [teacher_forced]" in labels
    assert "naive (baseline) [free_running]" in labels
    saved(fig, tmp_path)


def test_grid_on_callers_axes_and_bad_arguments(tmp_path):
    results = make_results(datasets=("sunspots", "traffic"))
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    assert plot_grid(results, axes=axes) is fig
    assert axes[1].get_legend() is not None
    saved(fig, tmp_path)
    with pytest.raises(DataError, match="unknown grouping 'models'"):
        plot_grid(results, by="models")
    with pytest.raises(DataError, match="holds 2 datasets"):
        plot_grid(results, by="model")
    assert not plt.get_fignums()


def test_save_figure_is_atomic_and_closes(tmp_path):
    target = tmp_path / "figures" / "horizon_error.png"
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    save_figure(fig, target)
    first = target.read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.get_fignums()

    fig, ax = plt.subplots()
    with pytest.raises(ValueError):
        save_figure(fig, tmp_path / "figures" / "chart.notaformat")
    assert not plt.get_fignums()  # closed even when saving fails
    assert sorted(p.name for p in target.parent.iterdir()) == ["horizon_error.png"]
    assert target.read_bytes() == first


def test_importing_plotting_does_not_import_matplotlib():
    code = "import sys, forecastab.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_series_are_named_by_what_varies():
    results = make_results()
    one_strategy = results[results["strategy"].isin(["scheduled_sampling", "baseline"])]
    fig = plot_horizon_error(one_strategy)
    assert legend_texts(fig)[:2] == ["gru", "transformer"]
    plt.close(fig)
    fig = plot_grid(one_strategy, by="model")
    assert legend_texts(fig)[0] == "trained with scheduled_sampling"
    colours = {
        to_rgba(line(ax, "trained with scheduled_sampling [free_running]").get_color())
        for ax in fig.axes
    }
    assert len(colours) == 1
    plt.close(fig)
