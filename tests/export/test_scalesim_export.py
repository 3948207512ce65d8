"""``scalesim`` target: cfg and topology content, and a run of the real SCALE-Sim v3 on them.

The external test runs the exported files as they are (through the SCALE-Sim venv of
``tests/validation/scalesim_env.py``) and compares every topology row's compute cycles
(``Total Cycles - Stall Cycles``; the design has ample bandwidth) with our per-step
compute + fill/drain cycles of the untiled GEMM for that dataflow
(:func:`analytical_models.fold_cycles`): within 1 cycle per fold per step (SCALE-Sim v3 counts
one cycle less per GEMM, see ``tests/validation/test_scalesim.py``). ``pytest -s`` prints the table.
"""

from __future__ import annotations

import configparser
import csv
import dataclasses
import subprocess
from pathlib import Path

import pytest

from analytical_models import Gemm, fold_cycles
from dse import Design, Metrics
from dse.export import get_exporter
from dse.export.scalesim import distinct_gemms, topology_rows
from tests.export.conftest import require_tool
from tests.export.designs import small_design
from tests.validation.scalesim_env import _DRIVER, scalesim_available, scalesim_python, scalesim_venv


def _cfg(path: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser()
    cp.read(path)
    return cp


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def test_cfg_and_topology(design_metrics: tuple[Design, Metrics], tmp_path: Path) -> None:
    design, metrics = design_metrics
    hw = design.hardware
    cfg_path, topo_path, layout_path, mult_path = get_exporter("scalesim")(design, metrics, tmp_path, "s")
    cp = _cfg(cfg_path)
    arch = cp["architecture_presets"]
    assert (int(arch["ArrayHeight"]), int(arch["ArrayWidth"])) == (hw.pe_rows, hw.pe_cols)
    assert int(arch["ifmapsramszkB"]) == 128 and int(arch["ofmapsramszkB"]) == 64
    assert int(arch["Bandwidth"]) == 16
    assert cp["run_presets"]["InterfaceBandwidth"] == "USER"
    # WS + OS allowed: the dataflow of the most cycles-heavy step, explained in a comment
    steps = [(s.cycles * p.count, s.dataflow) for p in metrics.passes for s in p.steps]
    assert arch["Dataflow"] == max(steps)[1]
    assert "most cycles-heavy step" in cfg_path.read_text()
    lines = topo_path.read_text().splitlines()
    assert lines[0] == "Layer, M, N, K,"
    first = metrics.passes[0].steps[0]
    assert lines[1] == f"fc1_forward_s0, {first.m}, {first.n}, {first.k},"
    # one row per distinct GEMM shape, its runs per training step in the multiplicity file
    shapes = {(s.m, s.n, s.k) for p in metrics.passes for s in p.steps}
    assert len(lines) - 1 == len(shapes) < sum(len(p.steps) for p in metrics.passes)
    assert layout_path.read_text().startswith("Layer")
    mult = list(csv.DictReader(mult_path.open()))
    assert [r["Layer"] for r in mult] == [line.split(",")[0] for line in lines[1:]]
    assert sum(int(r["Runs"]) for r in mult) == sum(s.batch * p.count for p in metrics.passes for s in p.steps)
    named = [step.split("*")[0] for r in mult for step in r["Steps"].split()]
    assert len(named) == len(set(named)) == sum(len(p.steps) for p in metrics.passes)
    assert "multiplicity.csv" in cfg_path.read_text()


def test_fractional_sram_rounds_up_and_single_dataflow(tmp_path: Path) -> None:
    design, metrics = small_design(
        ifmap_sram_kb=0.3, filter_sram_kb=2.5, dataflows=("is",), dram_bw_bytes_per_cycle=3.0, bits=16
    )
    cfg_path, *_ = get_exporter("scalesim")(design, metrics, tmp_path, "s")
    arch = _cfg(cfg_path)["architecture_presets"]
    assert (arch["ifmapsramszkB"], arch["filtersramszkB"]) == ("1", "3")
    assert arch["Dataflow"] == "is"
    assert arch["Bandwidth"] == "1"  # 3 B/cycle of 2-byte elements, at least 1 word


def test_batched_step_and_repeats_are_runs_of_one_row(design_metrics: tuple[Design, Metrics]) -> None:
    design, metrics = design_metrics
    p0 = metrics.passes[0]
    batched = dataclasses.replace(p0.steps[0], batch=3)
    passes = (dataclasses.replace(p0, steps=(batched, *p0.steps[1:]), count=2), *metrics.passes[1:])
    rows = distinct_gemms(design, dataclasses.replace(metrics, passes=passes))
    s = p0.steps[0]
    first = rows[0]
    assert (first.name, first.m, first.n, first.k) == ("fc1_forward_s0", s.m, s.n, s.k)
    assert first.steps[0] == ("fc1_forward_s0", 3 * 2)  # batch 3 x 2 layer instances
    assert len({(r.m, r.n, r.k) for r in rows}) == len(rows)  # each shape once
    assert topology_rows(design, metrics) == [(r.name, r.m, r.n, r.k) for r in distinct_gemms(design, metrics)]


def _read_rows(report: Path) -> list[dict[str, str]]:
    with report.open(newline="") as fh:
        return [
            {k.strip(): v.strip() for k, v in row.items() if k is not None and k.strip()} for row in csv.DictReader(fh)
        ]


@pytest.mark.external
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_scalesim_runs_export(dataflow: str, tmp_path: Path) -> None:
    require_tool(scalesim_available(), f"SCALE-Sim venv at {scalesim_venv()} (tools/scalesim_setup.sh)")
    design, metrics = small_design(
        pe_rows=8,
        pe_cols=16,
        dataflows=(dataflow,),
        dram_bw_bytes_per_cycle=4096.0,
        ifmap_sram_kb=512.0,
        filter_sram_kb=512.0,
        ofmap_sram_kb=512.0,
    )
    stem = f"exp_{dataflow}"
    cfg, topo, layout, _ = get_exporter("scalesim")(design, metrics, tmp_path, stem)
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(scalesim_python()), "-c", _DRIVER, str(cfg), str(topo), str(layout), str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = _read_rows(out / stem / "COMPUTE_REPORT.csv")
    rows = topology_rows(design, metrics)
    assert len(report) == len(rows)
    hw = design.hardware
    print(f"\nSCALE-Sim v3 vs TNN-DSE, {hw.pe_rows}x{hw.pe_cols} {dataflow}, ample bandwidth")
    print(f"{'step':<18}{'M':>5}{'N':>5}{'K':>5}{'folds':>7}{'scalesim':>10}{'ours':>8}{'diff':>6}")
    tot_sim = tot_ours = tot_folds = 0
    for (name, m, n, k), rep in zip(rows, report, strict=True):
        sim = int(float(rep["Total Cycles"])) - int(float(rep["Stall Cycles"]))
        compute, fill = fold_cycles(Gemm(m=m, n=n, k=k), hw.pe_rows, hw.pe_cols, dataflow)
        ours = int(compute + fill)
        dims = {"ws": (k, n), "is": (k, m), "os": (m, n)}[dataflow]
        folds = _ceil(dims[0], hw.pe_rows) * _ceil(dims[1], hw.pe_cols)
        print(f"{name:<18}{m:>5}{n:>5}{k:>5}{folds:>7}{sim:>10}{ours:>8}{ours - sim:>6}")
        assert abs(ours - sim) <= folds, name
        tot_sim, tot_ours, tot_folds = tot_sim + sim, tot_ours + ours, tot_folds + folds
    print(f"{'total':<33}{tot_folds:>7}{tot_sim:>10}{tot_ours:>8}{tot_ours - tot_sim:>6}")
    assert abs(tot_ours - tot_sim) <= tot_folds
