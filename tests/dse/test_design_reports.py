"""Per-layer and per-step CSV reports of one design (``dse report``): sums against the totals."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from dse import Design, Metrics
from dse.cli import main
from dse.export import get_exporter
from dse.reports import layers_frame, steps_frame, write_design_reports
from tests.export.designs import small_design


@pytest.fixture(scope="module", params=["fused", "unfused"])
def design_metrics(request: pytest.FixtureRequest) -> tuple[Design, Metrics]:
    """The small training design as evaluated (fused TT passes), and one whose steps all run
    from DRAM (tiny buffers: nothing fuses)."""
    if request.param == "fused":
        return small_design()
    return small_design(ifmap_sram_kb=0.25, filter_sram_kb=0.25, ofmap_sram_kb=0.25)


def test_layers_sum_to_the_design_totals(design_metrics: tuple[Design, Metrics]) -> None:
    design, metrics = design_metrics
    layers = layers_frame(design, metrics)
    assert len(layers) == len(metrics.passes)
    total = metrics.total
    assert math.isclose(layers["cycles"].sum(), metrics.latency_cycles, rel_tol=1e-9)
    assert math.isclose(layers["energy_pj"].sum(), metrics.energy_pj, rel_tol=1e-9)
    assert math.isclose(layers["latency_ms"].sum(), metrics.latency_ms, rel_tol=1e-9)
    assert int(layers["macs"].sum()) == metrics.macs
    for col in ("stall_cycles", "fill_drain_cycles", "dram_read_bytes", "dram_write_bytes", "sram_read_bytes"):
        assert math.isclose(layers[col].sum(), getattr(total, col), rel_tol=1e-9, abs_tol=1e-9), col
    cyc = layers[["compute_cycles", "fill_drain_cycles", "stall_cycles", "shaping_cycles"]].sum(axis=1)
    assert (abs(cyc - layers["cycles"]) <= 1e-6 * layers["cycles"]).all()
    assert ((layers["utilization_fraction"] >= 0) & (layers["utilization_fraction"] <= 1)).all()


def test_steps_match_their_passes(design_metrics: tuple[Design, Metrics]) -> None:
    design, metrics = design_metrics
    steps = steps_frame(design, metrics)
    assert len(steps) == sum(len(p.steps) for p in metrics.passes)
    for p in metrics.passes:
        rows = steps[(steps["layer"] == p.layer) & (steps["pass"] == p.pass_name)]
        assert list(rows["step"]) == list(range(len(p.steps)))
        assert (rows[["m", "n", "k"]].to_numpy() == [[s.m, s.n, s.k] for s in p.steps]).all()
        assert int((rows["macs"] * rows["count"]).sum()) == p.macs
        if not rows["fused"].any():
            # unfused: each step is priced on its own and the pass is their sum, component by component
            for col in ("cycles", "compute_cycles", "stall_cycles", "energy_pj", "dram_read_bytes", "sram_write_bytes"):
                assert math.isclose((rows[col] * rows["count"]).sum(), getattr(p.cost, col), rel_tol=1e-9), col
        else:
            assert rows["token_tile"].notna().any()
    if all(not s.fused for p in metrics.passes for s in p.steps):
        assert steps["stall_cycles"].notna().all() and steps["dram_read_bytes"].notna().all()


def test_dse_report_writes_the_csvs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    design, metrics = small_design()
    (exported,) = get_exporter("json")(design, metrics, tmp_path, "trial_0")
    out = tmp_path / "rep"
    assert main(["report", str(exported), "-o", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / "layers.csv"), str(out / "steps.csv")]
    layers = pd.read_csv(out / "layers.csv")
    assert math.isclose(layers["cycles"].sum(), metrics.latency_cycles, rel_tol=1e-9)
    assert {"layer", "pass", "count", "macs", "stall_cycles", "energy_pj", "dram_read_bytes"} <= set(layers)
    steps = pd.read_csv(out / "steps.csv")
    assert {"m", "n", "k", "dataflow", "tile_m", "loop_order", "sram_read_bytes"} <= set(steps)
    assert write_design_reports(design, metrics, tmp_path / "again")[0].name == "layers.csv"


def test_dse_report_refuses_trial_with_a_design_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    design, metrics = small_design()
    (exported,) = get_exporter("json")(design, metrics, tmp_path, "t")
    assert main(["report", str(exported), "--trial", "3"]) == 2
    assert "--trial N goes with a study YAML" in capsys.readouterr().err
