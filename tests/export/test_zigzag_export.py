"""``zigzag`` target: the YAML structure, and a run of the real ZigZag on the export.

The external test runs ``zigzag.api.get_hardware_performance_zigzag`` (LOMA temporal-mapping
search, latency objective) on the three exported files in ZigZag's own venv and prints its
latency and energy beside ours, per lowered GEMM (``pytest -s``).

Why the numbers differ, and the stated factor: our model prices the *given* dataflow with
SCALE-Sim fold timing (fill/drain skew of every fold), first-order DRAM stalls and, on a plain
systolic array, a tensor-permutation ("shaping") round trip per reshaped operand; ZigZag
searches spatial-unrolled + temporal loop orders/tilings over its memory hierarchy (LOMA), has
no systolic fill/drain term and no tensor-shaping cost, and counts on-/off-loading explicitly.
We require ZigZag's total latency to lie within a factor of ``LATENCY_FACTOR`` of ours
(either way) and both energies to be positive and finite.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from dse import Design, Metrics
from dse.export import get_exporter
from tests.export.conftest import require_tool
from tests.export.zigzag_env import run_zigzag, zigzag_available, zigzag_venv

LATENCY_FACTOR = 4.0
"""ZigZag total latency must lie in [ours / 4, ours * 4]."""


def test_zigzag_yaml_structure(design_metrics: tuple[Design, Metrics], tmp_path: Path) -> None:
    design, metrics = design_metrics
    hw = design.hardware
    acc_path, map_path, wl_path = get_exporter("zigzag")(design, metrics, tmp_path, "z")
    acc = yaml.safe_load(acc_path.read_text())
    oa = acc["operational_array"]
    assert oa["sizes"] == [hw.pe_rows, hw.pe_cols] and oa["dimensions"] == ["D1", "D2"]
    assert oa["unit_energy"] > 0 and oa["input_precision"] == [hw.bits, hw.bits]
    mems = acc["memories"]
    assert mems["ifmap_sram"]["size"] == hw.ifmap_sram_kb * 1024 * 8
    assert mems["ofmap_sram"]["operands"] == ["O"]
    assert mems["dram"]["ports"][0]["bandwidth_max"] == hw.dram_bw_bytes_per_cycle * 8
    for mem in mems.values():
        assert {"size", "r_cost", "w_cost", "latency", "operands", "ports", "served_dimensions"} <= set(mem)
    steps = [s for p in metrics.passes for s in p.steps]
    layers = yaml.safe_load(wl_path.read_text())
    assert len(layers) == len(steps)
    for layer, s in zip(layers, steps, strict=True):
        assert layer["operator_type"] == "Gemm"
        assert dict(zip(layer["loop_dims"], layer["loop_sizes"], strict=True)) == {"M": s.m, "N": s.n, "K": s.k}
        assert layer["operand_precision"] == {"I": hw.bits, "W": hw.bits, "O": hw.acc_bits, "O_final": hw.bits}
    # producer-consumer links: an intermediate operand names the step that produced it, an operand
    # read from memory (input tensor, core) the layer itself
    ids: dict[str, int] = {}
    for p in metrics.passes:
        produced: dict[str, int] = {}
        for i, s in enumerate(p.steps):
            layer = layers[len(ids)]
            assert layer["name"] == f"{p.layer}_{p.pass_name}_s{i}"
            want_i = produced.get(s.lhs, layer["id"])
            want_w = produced.get(s.rhs, layer["id"])
            assert layer["operand_source"] == {"I": want_i, "W": want_w}
            produced[s.out] = layer["id"]
            ids[layer["name"]] = layer["id"]
    assert any(src != layer["id"] for layer in layers for src in layer["operand_source"].values())
    mapping = {e["name"]: e for e in yaml.safe_load(map_path.read_text())}
    assert "default" in mapping and len(mapping) == len(steps) + 1
    first = mapping["fc1_forward_s0"]["spatial_mapping"]
    d1 = {"ws": "K", "os": "M", "is": "K"}[steps[0].dataflow]
    assert first["D1"][0].startswith(f"{d1}, ")


@pytest.mark.external
def test_zigzag_runs_export(design_metrics: tuple[Design, Metrics], tmp_path: Path) -> None:
    require_tool(zigzag_available(), f"ZigZag venv at {zigzag_venv()} (tools/zigzag_setup.sh)")
    design, metrics = design_metrics
    acc_path, map_path, wl_path = get_exporter("zigzag")(design, metrics, tmp_path, "z")
    res = run_zigzag(wl_path, acc_path, map_path, tmp_path)
    steps = [(f"{p.layer}_{p.pass_name}_s{i}", s, p.count) for p in metrics.passes for i, s in enumerate(p.steps)]
    print(
        f"\nZigZag (LOMA, latency objective) vs TNN-DSE, {design.hardware.pe_rows}x"
        f"{design.hardware.pe_cols} {'/'.join(design.hardware.dataflows)}"
    )
    print(f"{'step':<18}{'df':>4}{'zz cycles':>11}{'our cycles':>12}{'zz uJ':>10}{'our uJ':>10}")
    assert len(res["layers"]) == len(steps)
    # ZigZag runs the layers in a topological order of the producer-consumer graph
    by_name = {layer["name"]: layer for layer in res["layers"]}
    assert set(by_name) == {name for name, _, _ in steps}
    for name, s, count in steps:
        layer = by_name[name]
        print(
            f"{name:<18}{s.dataflow:>4}{layer['latency_cycles']:>11.0f}{s.cycles * count:>12.0f}"
            f"{layer['energy_pj'] / 1e6:>10.4f}{s.energy_pj * count / 1e6:>10.4f}"
        )
    ours_lat, ours_e = metrics.latency_cycles, metrics.energy_pj
    zz_lat, zz_e = res["latency_cycles"], res["energy_pj"]
    print(f"{'total':<22}{zz_lat:>11.0f}{ours_lat:>12.0f}{zz_e / 1e6:>10.4f}{ours_e / 1e6:>10.4f}")
    shaping = metrics.total.shaping_cycles
    print(
        f"ratio zigzag/ours latency {zz_lat / ours_lat:.3f} (ours without shaping "
        f"{ours_lat - shaping:.0f} -> {zz_lat / (ours_lat - shaping):.3f}); energy {zz_e / ours_e:.3f}"
    )
    for v in (zz_lat, zz_e):
        assert math.isfinite(v) and v > 0
    assert ours_lat / LATENCY_FACTOR <= zz_lat <= ours_lat * LATENCY_FACTOR
