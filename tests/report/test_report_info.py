"""Info extraction (pure) and the figures drawn from it: assertions on numbers and ``fig.data``."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from analytical_models import Cost
from dse import Design, PassRecord, StepRecord
from dse.compare import baseline_info, dense_design
from dse.evaluate import evaluate
from dse.outputs import pareto_frame, trials_frame
from dse.pareto import normalized_hypervolume, pareto_mask, to_minimization
from dse.report import (
    build_dashboard,
    dashboard_figures,
    front3d_info,
    front3d_keys,
    front_info,
    hypervolume_info,
    importance_info,
    parallel_info,
    pass_breakdown_info,
    plot_baselines,
    plot_front,
    plot_front_3d,
    plot_hypervolume,
    plot_importance,
    plot_parallel,
    plot_pass_breakdown,
    plot_trees,
    select_designs,
    tree_info,
    write_dashboard,
)
from tests.report.conftest import SmallRun


def _dirs(run: SmallRun) -> dict[str, str]:
    return dict(zip(run.cfg.objectives, run.cfg.directions, strict=True))


def _non_dominated(vals: np.ndarray, i: int) -> bool:
    p = vals[i]
    return not bool(((vals <= p).all(axis=1) & (vals < p).any(axis=1)).any())


# --------------------------------------------------------------------------- fronts
@pytest.mark.parametrize("y_key", ["latency_ms", "energy_uj", "edp_uj_ms", "area_mm2"])
def test_front_info_is_the_2d_front(small_run: SmallRun, y_key: str) -> None:
    df = small_run.df
    info = front_info(df, "params", y_key, _dirs(small_run))
    # every trial is either on the 2-D front (with hover) or behind it (no hover text)
    assert len(info.all_x) + len(info.front_x) == len(df) == info.n_background + len(info.front_x)
    assert len(info.front_hover) == len(info.front_trials) and info.bounds == {}
    assert 1 <= len(info.front_trials) <= len(df)
    assert info.front_x == sorted(info.front_x)
    # params is maximized by the quickstart: the front trades capacity against cost
    vals = np.column_stack([-df["params"].to_numpy(float), df[y_key].to_numpy(float)])
    trials = df["trial"].tolist()
    expected = {trials[i] for i in range(len(df)) if _non_dominated(vals, i)}
    assert set(info.front_trials) == expected
    fig = plot_front(info)
    assert [t.name for t in fig.data] == [f"other trials ({info.n_background:,})", "Pareto front"]
    assert list(fig.data[1].x) == info.front_x and list(fig.data[1].y) == info.front_y
    assert sorted(fig.data[0].customdata) == sorted(info.all_trials) and fig.data[0].text is None
    assert "ms" in info.front_hover[0] and "uJ" in info.front_hover[0]


def test_front3d_info(small_run: SmallRun) -> None:
    keys = front3d_keys(small_run.cfg.objectives)
    assert keys == ("latency_ms", "energy_uj", "params")
    assert front3d_keys(("latency_ms", "energy_uj")) == ("latency_ms", "energy_uj", "params")
    info = front3d_info(small_run.df, keys, _dirs(small_run))
    # with the study's three objectives, the 3-D front is the study's front
    assert sorted(info.front_trials) == sorted(small_run.front["trial"].tolist())
    fig = plot_front_3d(info)
    assert [t.type for t in fig.data] == ["scatter3d", "scatter3d"]
    assert len(fig.data[1].x) == len(info.front_trials)


def test_parallel_info_encodes_categoricals(small_run: SmallRun) -> None:
    info = parallel_info(small_run.df, small_run.cfg.objectives, _dirs(small_run))
    n_params = sum(c.startswith("param:") for c in small_run.df.columns)
    assert len(info.dimensions) == n_params + len(small_run.cfg.objectives)
    by_label = {d.label: d for d in info.dimensions}
    dataflow = by_label["dataflow"]
    assert dataflow.ticktext is not None and set(dataflow.ticktext) <= {"ws", "os", "is"}
    assert set(dataflow.values) <= set(dataflow.tickvals or [])
    assert by_label["rank@fc1"].ticktext is None  # numeric stays numeric
    assert "latency per step [ms]" in by_label
    assert sum(info.on_front) == len(small_run.front)
    fig = plot_parallel(info)
    assert fig.data[0].type == "parcoords" and len(fig.data[0].dimensions) == len(info.dimensions)


# --------------------------------------------------------------------------- hypervolume, importance
def test_hypervolume_info(small_run: SmallRun) -> None:
    cfg, df = small_run.cfg, small_run.df
    info = hypervolume_info(df, cfg.objectives, cfg.directions)
    hv = np.array(info.hypervolume)
    assert len(hv) == len(df) and info.trials == sorted(info.trials)
    assert (np.diff(hv) >= -1e-12).all() and 0 < hv[-1] <= 1
    vals = to_minimization(df.sort_values("trial")[list(cfg.objectives)].to_numpy(float), cfg.directions)
    front = vals[pareto_mask(vals)]
    assert math.isclose(hv[-1], normalized_hypervolume(front, vals.min(0), vals.max(0)), rel_tol=1e-12)
    # reference point: 1.1 of the range beyond the worst value, in the objectives' own units
    lat = df["latency_ms"]
    assert math.isclose(info.reference[0], lat.min() + 1.1 * (lat.max() - lat.min()))
    par = df["params"]  # maximized: the reference lies below the smallest model
    assert math.isclose(info.reference[2], par.max() - 1.1 * (par.max() - par.min()))
    fig = plot_hypervolume(info)
    text = fig.layout.annotations[0].text
    assert "reference point" in text and "latency_ms" in text and "(maximized)" in text
    # printed in the user's units and directions: the best model is the largest, nothing negated
    assert f"best {par.max():.4g}, worst {par.min():.4g} count" in text and "-" not in text.split("params")[1]
    # the step line is drawn at the trials where the value changes (and the last one)
    drawn = dict(zip(fig.data[0].x, fig.data[0].y, strict=True))
    assert drawn[info.trials[-1]] == info.hypervolume[-1]
    assert set(drawn.values()) == set(info.hypervolume)


def test_importance_info(small_run: SmallRun) -> None:
    cfg = small_run.cfg
    info = importance_info(small_run.study, cfg.objectives, cfg.directions)
    assert set(info.importances) | set(info.skipped) == set(cfg.objectives)
    assert info.importances, info.skipped
    params = {c.removeprefix("param:") for c in small_run.df.columns if c.startswith("param:")}
    for imp in info.importances.values():
        assert set(imp) <= params
        assert math.isclose(sum(imp.values()), 1.0, rel_tol=1e-6)
    fig = plot_importance(info)
    assert len(fig.data) == len(info.importances)


def test_importance_info_skips_gracefully(monkeypatch: pytest.MonkeyPatch) -> None:
    study = optuna.create_study(directions=["minimize", "maximize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_int("n", 1, 4)), n_trials=2)
    few = importance_info(study, ["latency_ms", "params"], ["minimize", "maximize"])
    assert few.importances == {} and set(few.skipped) == {"latency_ms", "params"}

    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_int("n", 1, 4)), n_trials=10)

    def boom(*args: Any, **kwargs: Any) -> dict[str, float]:
        raise RuntimeError("evaluator failed")

    monkeypatch.setattr(optuna.importance, "get_param_importances", boom)
    info = importance_info(study, ["latency_ms", "params"], ["minimize", "maximize"])
    assert info.importances == {} and "evaluator failed" in info.skipped["latency_ms"]
    # x and n are hardware-like names: nothing of the model configuration can change params
    assert "no searched parameter can change it" in info.skipped["params"]


# --------------------------------------------------------------------------- chosen designs
def test_select_designs_knee_and_extremes(small_run: SmallRun) -> None:
    cfg, front = small_run.cfg, small_run.front
    choices = select_designs(front, cfg.objectives, cfg.directions)
    trials = [c.trial for c in choices]
    assert len(trials) == len(set(trials)) and 1 <= len(trials) <= 1 + len(cfg.objectives)
    assert "knee" in choices[0].role
    roles = " ".join(c.role for c in choices)
    for key, direction in zip(cfg.objectives, cfg.directions, strict=True):
        assert key in roles
        best = front[key].max() if direction == "maximize" else front[key].min()
        chosen = next(c.trial for c in choices if key in c.role)
        assert front.loc[front["trial"] == chosen, key].iloc[0] == best


def test_pass_breakdown_sums_to_totals(small_run: SmallRun) -> None:
    row = small_run.front.iloc[0]
    metrics = evaluate(Design.from_dict(json.loads(row["design_json"])))
    info = pass_breakdown_info(metrics)
    assert len(info.layers) == len(metrics.passes)
    assert {"forward", "dx", "dg1"} <= set(info.passes)
    cycles = sum(sum(v) for v in info.cycles.values())
    energy = sum(sum(v) for v in info.energy_pj.values())
    assert math.isclose(cycles, metrics.latency_cycles, rel_tol=1e-9)
    assert math.isclose(energy, metrics.energy_pj, rel_tol=1e-9)
    fig = plot_pass_breakdown(info)
    assert len(fig.data) == len(info.cycles) + len(info.energy_pj)
    assert all(t.type == "bar" for t in fig.data)
    assert list(fig.data[0].x[0]) == info.layers and list(fig.data[0].x[1]) == info.passes


def _step(lhs: str, rhs: str, out: str, m: int, n: int, k: int) -> StepRecord:
    return StepRecord(lhs, rhs, out, 1, m, n, k, m * n * k, "ws", m, n, k, "mnk", 10.0, 5.0)


def test_tree_info_layout_and_shapes() -> None:
    # x[a,b] . W1[b,c] . W2[c,d]: contract the weights first, then the activation
    record = PassRecord(
        layer="fc",
        pass_name="forward",
        count=1,
        einsum="ab,bc,cd->ad",
        path=((1, 2), (0, 3)),
        macs=0,
        mac_optimal_macs=0,
        cost=Cost(),
        steps=(_step("W1", "W2", "t3", 4, 6, 5), _step("x", "t3", "t4", 8, 6, 4)),
    )
    info = tree_info(record)
    assert info.gemms == [(1, 4, 6, 5), (1, 8, 6, 4)]
    leaves = {lab for lab, leaf in zip(info.node_label, info.node_is_leaf, strict=True) if leaf}
    assert leaves == {"x", "W1", "W2"}
    steps = [i for i, leaf in enumerate(info.node_is_leaf) if not leaf]
    assert [info.node_label[i] for i in steps] == ["b1 m4 n6 k5", "b1 m8 n6 k4"]
    assert all(info.node_y[i] == 0 for i, leaf in enumerate(info.node_is_leaf) if leaf)
    root = steps[-1]
    assert info.node_y[root] == 2 and info.node_x[root] == pytest.approx(0.75)  # mean of x=0, t3=1.5
    assert "indices bd" in info.node_hover[steps[0]] and "indices ad" in info.node_hover[root]
    assert sum(v is None for v in info.edge_x) == 4  # two edges per step
    fig = plot_trees([info, info])
    assert len(fig.data) == 6  # edges, leaves, steps per tree
    assert list(fig.data[2].text) == ["b1 m4 n6 k5", "b1 m8 n6 k4"]


def test_trees_of_a_real_design(small_run: SmallRun) -> None:
    row = small_run.front.iloc[0]
    metrics = evaluate(Design.from_dict(json.loads(row["design_json"])))
    for p in metrics.passes:
        info = tree_info(p)
        n_inputs = len(p.einsum.split("->")[0].split(","))
        assert sum(info.node_is_leaf) == n_inputs
        assert len(info.gemms) == len(p.steps) == n_inputs - 1
        assert max(info.node_y) <= n_inputs - 1


# --------------------------------------------------------------------------- baselines
def test_dense_design_untensorizes(small_run: SmallRun) -> None:
    design = Design.from_dict(json.loads(small_run.front.iloc[0]["design_json"]))
    dense = dense_design(design)
    assert {s.format for s in dense.workload.layers} == {"dense"}
    assert dense.hardware == design.hardware
    assert dense.workload.params() == design.workload.dense_params()


def test_baseline_info_ratios(small_run: SmallRun) -> None:
    info = baseline_info(small_run.front, limit=4)
    assert info.n_front == len(small_run.front) and len(info.trials) == min(4, len(small_run.front))
    for i in range(len(info.trials)):
        assert math.isclose(info.dense_speedup[i], info.dense_latency_ms[i] / info.latency_ms[i])
        assert math.isclose(info.macopt_energy_ratio[i], info.macopt_energy_uj[i] / info.energy_uj[i])
        # the hardware-aware path minimises latency: never slower than the fewest-MAC path
        assert info.macopt_speedup[i] >= 1 - 1e-9
        assert info.macs_over_macopt[i] >= 1 - 1e-9
    fig = plot_baselines(info)
    assert fig.data[0].type == "table"
    cells = fig.data[0].cells.values
    assert list(cells[0]) == [str(t) for t in info.trials]
    assert len(cells) == len(fig.data[0].header.values)


# --------------------------------------------------------------------------- the page
def test_write_dashboard_offline(small_run: SmallRun, tmp_path: Path) -> None:
    path = write_dashboard(tmp_path / "d.html", small_run.cfg, small_run.study, df=small_run.df, front=small_run.front)
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page)  # nothing fetched: plotly.js inline
    assert "MathJax.js" not in page  # include_mathjax=False: no CDN fetch for LaTeX
    dash = build_dashboard(small_run.cfg, small_run.study, small_run.df, small_run.front)
    n_figs = len(dashboard_figures(dash))
    # the panels but the first are drawn when shown (their figures wait as JSON)
    lazy = sum(len(p.figures) for p in dash.panels[1:])
    assert page.count("Plotly.newPlot(") == n_figs - lazy
    assert page.count('class="lazy-plot"') == lazy
    assert page.count('class="design-panel"') == len(dash.panels) >= 1
    assert 'id="design-select"' in page
    assert {s.key for s in dash.sections} >= {"fronts", "front3d", "parallel", "breakdown"}
    assert {s.key for s in dash.later} == {"baselines", "progress"}
    assert len(page) < 8_000_000


def test_dashboard_of_empty_study(small_run: SmallRun, tmp_path: Path) -> None:
    study = optuna.create_study(directions=["minimize", "minimize", "maximize"])
    df = trials_frame(study)
    path = write_dashboard(tmp_path / "empty.html", small_run.cfg, study, df=df, front=pareto_frame(df, small_run.cfg))
    page = path.read_text(encoding="utf-8")
    assert "0 finished trials" in page and 'id="design-select"' not in page


def test_baseline_info_survives_a_failing_baseline(small_run: SmallRun, monkeypatch: pytest.MonkeyPatch) -> None:
    import dse.compare._baselines as info_module
    from dse.evaluate import EvaluationError

    def fail_dense(design: Design) -> Any:
        if all(s.format == "dense" for s in design.workload.layers):
            raise EvaluationError("no dense model here")
        return evaluate(design)

    monkeypatch.setattr(info_module, "evaluate", fail_dense)
    info = baseline_info(small_run.front, limit=2)
    assert all(math.isnan(v) for v in info.dense_speedup)
    assert all(v >= 1 - 1e-9 for v in info.macopt_speedup)
    cells = plot_baselines(info).data[0].cells.values
    assert set(cells[6]) == {"-"}


def test_data_movement_view_and_schedule_summary(small_run: SmallRun) -> None:
    """The dashboard draws each design's distance from the data-movement limit, and a design's
    detail says which intermediates stay on chip."""
    from dse.report._schedule import schedule_summary
    from dse.report.dashboard import front_figures

    assert "dram_over_compulsory" in small_run.df.columns
    assert (small_run.df["dram_over_compulsory"] >= 1 - 1e-9).all()
    titles = [fig.layout.yaxis.title.text for fig in front_figures(small_run.df, {})]
    assert any("compulsory" in (t or "") for t in titles)
    design = Design.from_dict(json.loads(small_run.front.iloc[0]["design_json"]))
    text = schedule_summary(evaluate(design).passes)
    assert "on chip" in text and "compulsory" in text


_IMPORTANCE_SCRIPT = """
import json, sys
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
if sys.argv[1] == "sklearn-first":
    import sklearn
from dse.report import importance_info
study = optuna.create_study(directions=["minimize", "maximize"], sampler=optuna.samplers.RandomSampler(seed=3))
study.optimize(lambda t: (t.suggest_float("x", 0, 1) + 0.1 * t.suggest_int("n", 1, 4), t.suggest_int("n", 1, 4)), 40)
info = importance_info(study, ["latency_ms", "params"], ["minimize", "maximize"])
loaded = "sklearn" in sys.modules
import sklearn.base  # importable afterwards
print(json.dumps({"imp": info.importances, "skipped": info.skipped, "sklearn_loaded": loaded}))
"""


def test_importance_without_sklearn_import_is_the_same() -> None:
    """The dashboard's importances load optuna.importance without scikit-learn (its PED-ANOVA
    default needs none); they equal those computed with scikit-learn loaded first, and
    scikit-learn still imports afterwards."""
    import json
    import subprocess
    import sys

    out = {}
    for mode in ("plain", "sklearn-first"):
        run = subprocess.run(
            [sys.executable, "-c", _IMPORTANCE_SCRIPT, mode], capture_output=True, text=True, check=True, timeout=300
        )
        out[mode] = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["plain"]["imp"] and out["plain"]["imp"] == out["sklearn-first"]["imp"]
    assert out["plain"]["skipped"] == out["sklearn-first"]["skipped"]
    assert out["plain"]["sklearn_loaded"] is False and out["sklearn-first"]["sklearn_loaded"] is True


def test_figures_made_with_the_shared_template_are_the_figures_made_without(small_run: SmallRun) -> None:
    """A figure drawn inside :func:`shared_template` (the template applied as plotly's default,
    not validated again) equals the one drawn outside (the template validated in ``style``),
    both on the shared white template; plotly's default is restored after, also on an error."""
    import plotly.io as pio

    from dse.report._figures import TEMPLATE_NAME, shared_template

    cfg, df = small_run.cfg, small_run.df
    info = hypervolume_info(df, cfg.objectives, cfg.directions)
    default = pio.templates.default
    outside = plot_hypervolume(info).to_plotly_json()
    with shared_template():
        assert pio.templates.default == TEMPLATE_NAME
        inside = plot_hypervolume(info).to_plotly_json()
    assert pio.templates.default == default != TEMPLATE_NAME
    assert json.dumps(inside, sort_keys=True, default=str) == json.dumps(outside, sort_keys=True, default=str)
    assert inside["layout"]["template"]["layout"]["plot_bgcolor"] == "white"
    with pytest.raises(RuntimeError), shared_template():
        raise RuntimeError("drawing failed")
    assert pio.templates.default == default


def test_figures_are_built_as_plotly_would_validate_them(small_run: SmallRun, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard's figures are built unvalidated (``_figures.VALIDATE``): every figure of a
    dashboard (design panels, baselines and progress included) and a front with constraint
    bounds serialize the same as when plotly validates and coerces them."""
    import plotly.io as pio

    import dse.report._figures as figures_module

    front = front_info(small_run.df, "params", "latency_ms", _dirs(small_run))
    bounded = front._replace(bounds={"latency_ms": float(np.median(front.front_y)), "params": float(front.front_x[0])})

    def built() -> list[Any]:
        dash = build_dashboard(small_run.cfg, small_run.study, small_run.df, small_run.front)
        figs = [*dashboard_figures(dash), plot_front(bounded)]
        return [json.loads(pio.to_json(f, validate=False)) for f in figs]

    assert not figures_module.VALIDATE
    fast = built()
    monkeypatch.setattr(figures_module, "VALIDATE", True)
    checked = built()
    assert len(fast) == len(checked) >= 10
    assert any(s["type"] == "line" for s in fast[-1]["layout"]["shapes"])  # the bounds drawn
    for a, b in zip(fast, checked, strict=True):
        assert a == b
