"""What a run's tables tell the user: the Pareto table, duplicates, constraint columns, and the
dashboard's constraint bounds, infeasible trials, sampling and labels (on a synthetic study)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import create_trial

from dse.config import ConstraintSpec, StudyConfig, load_study_config
from dse.outputs import merged_duplicates, pareto_frame, summary_table, trials_frame
from dse.report import (
    front_info,
    importance_info,
    parallel_info,
    plot_front,
    plot_importance,
    plot_parallel,
    violation_total,
)
from dse.report._figures import log_axis, tick_text
from dse.report._info import MAX_BACKGROUND, MAX_PARALLEL_PARAMS, parameter_scope
from tests.export.designs import small_design

ROOT = Path(__file__).resolve().parents[2]
BOUNDS = {"dsp_count": 100.0, "bram_blocks": 50.0}


def _cfg(tmp_path: Path, constraints: bool = True) -> StudyConfig:
    cfg = load_study_config(ROOT / "studies" / "quickstart.yaml", overrides={"run_dir": str(tmp_path)})
    cons = tuple(ConstraintSpec(k, v) for k, v in BOUNDS.items()) if constraints else ()
    return dataclasses.replace(cfg, constraints=cons)


def _trial(i: int, *, params: int, latency: float, energy: float, dsp: int, bram: int, rank: int | None) -> Any:
    design, metrics = small_design(pe_rows=4 + i % 3)
    m = metrics.scalars()
    m.update(latency_ms=latency, energy_uj=energy, params=params, dsp_count=dsp, bram_blocks=bram)
    record = design.to_dict()
    record["hardware"]["freq_mhz"] = 400.0 + i  # distinct designs unless asked otherwise
    dist: dict[str, Any] = {"dataflow": CategoricalDistribution(["ws", "os"])}
    values: dict[str, Any] = {"dataflow": "ws" if i % 2 else "os"}
    if rank is not None:  # a conditional parameter: inactive when None
        dist["rank@fc1"] = IntDistribution(2, 32)
        values["rank@fc1"] = rank
    viol = [dsp - BOUNDS["dsp_count"], bram - BOUNDS["bram_blocks"]]
    return create_trial(
        params=values,
        distributions=dist,
        values=[latency, energy, float(params)],
        user_attrs={"metrics": m, "design": record, "feasible": max(viol) <= 0, "constraints": viol},
    )


@pytest.fixture
def study() -> optuna.Study:
    s = optuna.create_study(directions=["minimize", "minimize", "maximize"])
    rows = [
        # params, latency, energy, dsp, bram, rank
        (9000, 1.0, 10.0, 80, 40, 4),
        (4000, 0.5, 5.0, 90, 45, None),
        (4000, 0.5, 5.0, 90, 45, None),  # same numbers: made a duplicate design below
        (20000, 2.0, 20.0, 120, 40, 8),  # infeasible: 20 DSP slices over
        (12000, 3.0, 30.0, 60, 30, 6),
        (1000, 9.0, 90.0, 50, 20, 2),  # dominated
    ]
    trials = [
        _trial(i, params=p, latency=lat, energy=e, dsp=d, bram=b, rank=r) for i, (p, lat, e, d, b, r) in enumerate(rows)
    ]
    dup = trials[2]
    dup.user_attrs["design"] = trials[1].user_attrs["design"]
    s.add_trials(trials)
    return s


def test_trials_csv_has_one_violation_column_per_constraint(study: optuna.Study, tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    df = trials_frame(study, cfg)
    assert "violation" not in df
    assert list(df["violation_dsp_count"]) == [-20.0, -10.0, -10.0, 20.0, -40.0, -50.0]
    assert list(df["violation_bram_blocks"]) == [-10.0, -5.0, -5.0, -10.0, -20.0, -30.0]
    assert list(df["feasible"]) == [True, True, True, False, True, True]
    assert df["duplicate_of"].iloc[2] == 1  # trial 2 repeats trial 1's design
    assert df["duplicate_of"].isna().sum() == 5
    # inactive conditional parameter: missing, and the column stays integer
    assert str(df["param:rank@fc1"].dtype) == "Int64" and df["param:rank@fc1"].isna().sum() == 2
    # the unitless total for constrained domination: fractions of the bounds, 0 when feasible
    total = violation_total(df)
    assert total[3] == pytest.approx(20.0 / 100.0) and (total[[0, 1, 2, 4, 5]] == 0).all()
    # without the study file, the bounds come from the trials' own constraint records
    study_attrs = trials_frame(study)
    assert "duplicate_of" in study_attrs


def test_pareto_frame_merges_duplicates_and_sorts_by_model_size(study: optuna.Study, tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    front = pareto_frame(trials_frame(study, cfg), cfg)
    assert front["trial"].tolist() == [1, 0, 4]  # 3 infeasible, 5 dominated, 2 merged into 1
    assert front["params"].tolist() == sorted(front["params"].tolist())
    assert front.loc[front["trial"] == 1, "duplicate_trials"].iloc[0] == "2"
    assert merged_duplicates(front) == 1
    assert front["design_json"].is_unique
    text = summary_table(front, cfg)
    lines = text.splitlines()
    assert lines[0].startswith("Pareto front: 3 distinct designs, smallest model first")
    header = lines[1]
    for col in ("params [count]", "latency_ms [ms]", "energy_uj [uJ]", "engine", "PE array [RxC]", "ifmap [kB]"):
        assert col in header, col
    assert "filter [kB]" in header and "ofmap [kB]" in header and "DRAM [B/cycle]" in header
    assert "dataflow" in header and "rank@fc1" in header
    assert header.index("params") < header.index("latency_ms")
    body = lines[3:6]
    assert "nan" not in text and body[0].split()[-1] == "-"  # inactive rank printed as "-"
    assert "4,000" in body[0] and "5x16" in body[0] and "128" in body[0]
    assert any("1 duplicate trial merged" in line for line in lines)


def test_pareto_csv_and_exports_hold_each_design_once(study: optuna.Study, tmp_path: Path) -> None:
    from dse.outputs import write_outputs

    cfg = _cfg(tmp_path)
    out = write_outputs(study, cfg, dashboard=False)
    csv = pd.read_csv(out.pareto_csv)
    assert csv["design_json"].is_unique and len(csv) == 3
    assert sorted(p.name for p in out.exports) == ["trial_0.json", "trial_1.json", "trial_4.json"]
    assert sorted(p.name for p in (tmp_path / "exports").glob("*.json")) == sorted(p.name for p in out.exports)
    trials = pd.read_csv(out.trials_csv)
    assert {"violation_dsp_count", "violation_bram_blocks", "feasible", "duplicate_of"} <= set(trials)
    assert trials["rank@fc1"].isna().sum() == 2 and "nan" not in out.trials_csv.read_text()
    # written again: the exports of the unchanged front are kept, not re-evaluated
    before = {p: p.stat().st_mtime_ns for p in out.exports}
    again = write_outputs(study, cfg, dashboard=False)
    assert {p: p.stat().st_mtime_ns for p in again.exports} == before


def test_front_figure_draws_bounds_and_infeasible_trials(study: optuna.Study, tmp_path: Path) -> None:
    df = trials_frame(study, _cfg(tmp_path))
    info = front_info(df, "params", "dsp_count", {"params": "maximize"})
    assert info.bounds == {"dsp_count": 100.0}
    assert 3 in info.all_trials and not info.all_feasible[info.all_trials.index(3)]
    fig = plot_front(info)
    names = [t.name for t in fig.data]
    assert "infeasible trials" in names and "Pareto front" in names
    infeasible = fig.data[names.index("infeasible trials")]
    assert list(infeasible.customdata) == [3] and infeasible.marker.symbol == "x"
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 1 and lines[0].y0 == lines[0].y1 == 100.0
    assert "bound 100 DSP slices" in " ".join(a.text for a in fig.layout.annotations)
    assert fig.layout.title.x == 0.0 and fig.layout.modebar.orientation == "v"


def test_large_studies_draw_a_stated_sample(tmp_path: Path) -> None:
    n = MAX_BACKGROUND + 500
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "trial": np.arange(n),
            "params": rng.integers(1000, 100000, n).astype(float),
            "latency_ms": rng.uniform(0.1, 10.0, n),
            "feasible": True,
            "design_json": [json.dumps(small_design()[0].to_dict())] * n,
        }
    )
    for col, value in (("energy_uj", 1.0), ("edp_uj_ms", 1.0), ("area_mm2", 1.0), ("power_mw", 1.0)):
        df[col] = value
    for col, value in (("latency_cycles", 1.0), ("compression", 1.0), ("utilization", 0.5)):
        df[col] = value
    info = front_info(df, "params", "latency_ms", {"params": "maximize"})
    assert len(info.all_x) == MAX_BACKGROUND and info.n_background == n - len(info.front_x)
    fig = plot_front(info)
    assert fig.data[0].name == f"other trials (random {MAX_BACKGROUND:,} of {info.n_background:,})"
    assert fig.data[0].text is None and len(fig.data[-1].text) == len(info.front_x)  # hover: front only
    payload = fig.to_json()
    assert '"bdata"' in payload  # compact binary arrays, not decimal lists
    many = {f"param:rank@l{i}": 4 for i in range(30)} | {"param:pe_rows": 16}
    par = parallel_info(df.assign(**many), ["latency_ms", "params"], {"params": "maximize"})
    assert len(par.trials) < n and par.n_trials == n and par.n_params == 31
    labels = [d.label for d in par.dimensions]
    assert len(labels) == MAX_PARALLEL_PARAMS + 2 and "pe_rows" in labels  # hardware kept first, then the model
    assert "16 of 31 parameters" in plot_parallel(par).layout.title.text


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.11, 0.9], ["0.2", "0.5"]),
        ([11000, 290000], ["20k", "50k", "100k", "200k"]),
        ([1e-3, 1e3], ["0.001", "0.01", "0.1", "1", "10", "100", "1000"]),
        ([3.1, 3.9], ["3", "4"]),
    ],
)
def test_log_axis_labels_every_tick_in_full(values: list[float], expected: list[str]) -> None:
    axis = log_axis(values)
    assert axis["type"] == "log" and axis["ticktext"] == expected
    assert "minor" in axis  # the other multiples are unlabelled minor ticks
    assert [tick_text(v) for v in axis["tickvals"]] == axis["ticktext"]
    assert tick_text(1.5e6) == "1.5M" and tick_text(20000) == "20k" and tick_text(0.002) == "0.002"


def test_importance_of_the_parameter_count_ignores_the_hardware() -> None:
    assert parameter_scope("rank@fc1") == "model" and parameter_scope("rank") == "model"
    assert parameter_scope("in_shape_d3@fc1") == "model" and parameter_scope("path@fc1/forward") == "path"
    assert parameter_scope("pe_cols") == "hardware" and parameter_scope("dram_bw_bytes_per_cycle") == "hardware"
    study = optuna.create_study(directions=["minimize", "maximize"], sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(t: optuna.Trial) -> tuple[float, float]:
        rank = t.suggest_int("rank@fc1", 2, 32)
        cols = t.suggest_int("pe_cols", 4, 64)
        bw = t.suggest_int("dram_bw_bytes_per_cycle", 4, 32)
        return rank * 100.0 / cols / bw, float(rank * rank)  # latency; params depends on the rank only

    study.optimize(objective, n_trials=40)
    info = importance_info(study, ["latency_ms", "params"], ["minimize", "maximize"])
    assert set(info.importances["params"]) == {"rank@fc1"}
    assert set(info.importances["latency_ms"]) == {"rank@fc1", "pe_cols", "dram_bw_bytes_per_cycle"}
    assert info.considered["params"] == "model-configuration parameters only"
    fig = plot_importance(info)
    assert {t.name for t in fig.data} == {
        "latency_ms (every parameter)",
        "params (model-configuration parameters only)",
    }
    assert "PED-ANOVA" in fig.layout.title.text
    params_bar = next(t for t in fig.data if t.name.startswith("params"))
    assert math.isnan(dict(zip(params_bar.y, params_bar.x, strict=True))["pe_cols"])


def test_panels_are_drawn_from_the_json_exports(tmp_path: Path) -> None:
    """A run's JSON exports carry every pass's cost: the dashboard's panels rebuild from them
    exactly what an evaluation gives, so re-writing the dashboard evaluates nothing again."""
    from dse.export import get_exporter
    from dse.outputs import export_passes
    from dse.report import pass_breakdown_info, tree_info

    design, metrics = small_design()
    (path,) = get_exporter("json")(design, metrics, tmp_path, "trial_7")
    passes = export_passes(path)
    assert passes is not None and len(passes) == len(metrics.passes)
    assert pass_breakdown_info(passes) == pass_breakdown_info(metrics)
    assert [tree_info(p) for p in passes] == [tree_info(p) for p in metrics.passes]
    assert export_passes(tmp_path / "missing.json") is None


def test_outputs_of_a_study_without_finished_trials(tmp_path: Path) -> None:
    from dse.outputs import write_outputs

    cfg = _cfg(tmp_path)
    study = optuna.create_study(directions=["minimize", "minimize", "maximize"])
    out = write_outputs(study, cfg)
    assert out.front.empty and out.exports == ()
    assert "trial,hypervolume_normalized" in (tmp_path / "hypervolume.csv").read_text()
    assert summary_table(out.front, cfg) == "no finished trials"
