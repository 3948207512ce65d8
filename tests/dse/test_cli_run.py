"""End to end: the quickstart study through the CLI into a temporary folder, then resumed."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dse.cli import main

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "studies" / "quickstart.yaml"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "quickstart"
    code = main(["run", str(QUICKSTART), "--run-dir", str(run_dir), "--n-trials", "40", "--quiet"])
    assert code == 0
    return run_dir


def test_outputs_written(quick_run: Path) -> None:
    for name in ("study.journal", "trials.csv", "pareto.csv", "dashboard.html", "hypervolume.csv"):
        assert (quick_run / name).is_file(), name
    trials = pd.read_csv(quick_run / "trials.csv")
    assert len(trials) == 40
    for col in (
        "latency_ms",
        "energy_uj",
        "params",
        "area_mm2",
        "latency_cycles",
        "pe_rows",
        "rank@fc1",
    ):
        assert col in trials.columns, col
    assert (trials["latency_ms"] > 0).all() and (trials["energy_uj"] > 0).all()
    front = pd.read_csv(quick_run / "pareto.csv")
    assert 1 <= len(front) <= len(trials)
    # every front member is non-dominated among all trials (params is maximized: capacity)
    objs = ["latency_ms", "energy_uj", "params"]
    sign = [1.0, 1.0, -1.0]
    v = trials[objs].to_numpy(dtype=float) * sign
    assert front["params"].nunique() > 1  # the front spans model sizes, it does not collapse
    for _, row in front.iterrows():
        p = row[objs].to_numpy(dtype=float) * sign
        dominated = ((v <= p).all(axis=1) & (v < p).any(axis=1)).any()
        assert not dominated
    exports = sorted((quick_run / "exports").glob("trial_*.json"))
    assert len(exports) == len(front)
    hv_lines = (quick_run / "hypervolume.csv").read_text().splitlines()
    assert any(line.startswith("# reference point") for line in hv_lines)
    hv = [float(line.split(",")[1]) for line in hv_lines if line[:1].isdigit()]
    assert hv and all(0 < v <= 1 for v in hv) and hv == sorted(hv)  # the front only improves


def test_dashboard_is_offline_and_has_fronts(quick_run: Path) -> None:
    html = (quick_run / "dashboard.html").read_text()
    import re

    # no script is fetched from the network: plotly.js is inlined (several MB)
    assert not re.search(r"<script[^>]+src=", html)
    assert len(html) > 1_000_000 and "Plotly.newPlot" in html
    assert html.count("Pareto front") >= 3
    assert "latency per step [ms]" in html and "model parameters" in html


def test_export_reevaluates_to_same_numbers(
    quick_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = sorted((quick_run / "exports").glob("trial_*.json"))[0]
    record = json.loads(export.read_text())
    assert main(["evaluate", str(export), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    for key in ("latency_ms", "energy_uj", "params", "area_mm2"):
        assert math.isclose(again["metrics"][key], record["metrics"][key], rel_tol=1e-12)
    # the design of a TTM layer carries its shapes and ranks, and the paths of every pass
    fc1 = next(lay for lay in record["design"]["workload"]["layers"] if lay["name"] == "fc1")
    assert math.prod(fc1["in_shape"]) == 1024 and len(fc1["ranks"]) == len(fc1["in_shape"]) + 1
    passes = {(p["layer"], p["pass"]) for p in record["metrics"]["passes"]}
    d = len(fc1["in_shape"])
    assert {("fc1", "forward")} | {("fc1", f"dg{k}") for k in range(1, d + 1)} <= passes
    # the first layer's input gradient is never needed in training; the second layer's is
    assert ("fc1", "dx") not in passes
    assert ("fc2", "dx") in passes and ("fc2", "dg1") in passes


def test_trial_user_attrs_record_metrics_with_units(quick_run: Path) -> None:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from dse import Design, design_record

    study = optuna.load_study(
        study_name="quickstart",
        storage=JournalStorage(JournalFileBackend(str(quick_run / "study.journal"))),
    )
    t = study.best_trials[0]
    assert t.user_attrs["units"]["latency_ms"] == "ms"
    assert set(t.user_attrs["energy_breakdown_pj"]) >= {"mac", "dram", "leakage"}
    # the design and the paths are stored as JSON text (one string per trial, not nested objects)
    assert any(k.startswith("fc1/") for k in json.loads(t.user_attrs["paths"]))
    stored = t.user_attrs["design"]
    assert isinstance(stored, str)
    design = Design.from_dict(stored)
    assert json.dumps(design.to_dict(), sort_keys=True) == stored
    assert Design.from_dict(design_record(stored)) == design  # (the dict an earlier study stored)


def test_second_run_resumes(tmp_path: Path) -> None:
    run_dir = tmp_path / "quickstart"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "dse.cli",
        "run",
        str(QUICKSTART),
        "--run-dir",
        str(run_dir),
        "--n-trials",
        "16",
    ]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "Starting study 'quickstart'" in first.stderr
    before = pd.read_csv(run_dir / "trials.csv")
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "Resuming study 'quickstart' (16 trials so far)" in second.stderr
    after = pd.read_csv(run_dir / "trials.csv")
    assert len(after) == 32
    assert set(before["trial"]) <= set(after["trial"]) and after["trial"].is_unique
    merged = before.merge(after, on="trial", suffixes=("_a", "_b"))
    assert (merged["latency_ms_a"] == merged["latency_ms_b"]).all()
    assert "Pareto front" in second.stdout


def test_pareto_table_and_design_report(quick_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The printed front: smallest model first, units and hardware in the headers, no nan; and
    the per-layer / per-step reports of one of its designs, summing to its totals."""
    assert main(["pareto", str(QUICKSTART), "--run-dir", str(quick_run)]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("trial"))
    for col in ("params [count]", "latency_ms [ms]", "PE array [RxC]", "ifmap [kB]", "DRAM [B/cycle]", "dataflow"):
        assert col in header, col
    front = pd.read_csv(quick_run / "pareto.csv")
    assert front["design_json"].is_unique and front["params"].is_monotonic_increasing
    trial = int(front["trial"].iloc[0])
    out_dir = quick_run / "report"
    assert (
        main(["report", str(QUICKSTART), "--run-dir", str(quick_run), "--trial", str(trial), "-o", str(out_dir)]) == 0
    )
    layers = pd.read_csv(out_dir / "layers.csv")
    assert math.isclose(layers["latency_ms"].sum(), float(front["latency_ms"].iloc[0]), rel_tol=1e-9)
    steps = pd.read_csv(out_dir / "steps.csv")
    assert len(steps) > len(layers) and {"m", "n", "k", "dataflow", "cycles"} <= set(steps)
