"""``zigzag`` target: ZigZag (pip ``zigzag-dse`` 3.9) accelerator, mapping and workload YAML.

Files (formats read from the shipped ``zigzag/inputs`` examples and ``zigzag/parser``):

* ``<stem>_zigzag_accelerator.yaml``: ``name``, ``operational_array`` (``dimensions: [D1,
  D2]``, ``sizes: [pe_rows, pe_cols]``, ``input_precision``, ``unit_energy`` = MAC pJ at
  ``bits`` and ``unit_area`` = PE mm2 of the design's technology profile) and ``memories``,
  innermost first, each with ``size`` in bits, ``r_cost`` / ``w_cost`` in pJ per access of
  ``bandwidth_min`` bits (our SRAM pJ/bit at that size; DRAM pJ/bit), ``latency``,
  ``operands``, ``ports`` (bandwidths in bits per cycle, allocations ``<operand>, fh|tl|fl|th``)
  and ``served_dimensions``:
  per-PE one-word registers ``reg_I`` (I1), ``reg_W`` (I2), ``reg_O`` (O, ``acc_bits``);
  ``ifmap_sram`` (I1, one array row of words per cycle), ``filter_sram`` (I2, one column),
  ``ofmap_sram`` (O at ``acc_bits``, one column) serving the whole array; ``dram`` for all
  operands at ``dram_bw_bytes_per_cycle`` x 8 bits per cycle.
* ``<stem>_zigzag_mapping.yaml``: one entry per lowered GEMM (matched by layer name) plus
  ``default``: ``spatial_mapping`` from the step's dataflow (WS: K on D1 rows, N on D2
  columns; OS: M on D1, N on D2; IS: K on D1, M on D2; factors capped at the dimension),
  ``memory_operand_links`` ``I -> I1``, ``W -> I2``, ``O -> O``; the temporal loop order is
  left to ZigZag's LOMA search.
* ``<stem>_zigzag_workload.yaml``: one ``Gemm`` layer per lowered contraction step,
  ``O[m][n]+=I[m][k]*W[k][n]`` (``O[b][m][n]+=I[b][m][k]*W[b][k][n]`` when batched), loop dims
  ``M, N, K`` (and ``B``), ``operand_precision`` (I, W = ``bits``; O = ``acc_bits``; O_final =
  ``bits``); ``operand_source`` links each operand that an earlier step of the same layer and
  pass produced to that step (producer-consumer edges of the contraction tree), and names the
  layer itself for an operand read from memory (an input tensor or a core: constant for ZigZag).

Run: ``zigzag.api.get_hardware_performance_zigzag(workload, accelerator, mapping)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from analytical_models import get_tech
from dse import Design, Metrics
from dse.export._gemms import LoweredGemm, buffer_bytes, lowered_gemms
from dse.export._registry import DEFAULT_EXPORT_OPTIONS, ExportOptions, register_exporter

DRAM_BITS = 10_000_000_000
"""Capacity given to the DRAM level (bits): effectively unbounded."""

_SPATIAL = {"ws": ("K", "N"), "os": ("M", "N"), "is": ("K", "M")}
"""``(dimension on D1 = array rows, on D2 = array columns)`` of each dataflow."""


def _port(name: str, kind: str, bw_bits: int, allocation: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "bandwidth_min": bw_bits,
        "bandwidth_max": bw_bits,
        "allocation": allocation,
    }


def _memory(
    *,
    size_bits: int,
    pj_per_bit_rw: tuple[float, float],
    bw_bits: int,
    operand: str,
    served: list[str],
) -> dict[str, Any]:
    """One single-operand memory with one read and one write port."""
    if operand == "O":
        read_alloc, write_alloc = ["O, tl", "O, th"], ["O, fh", "O, fl"]
    else:
        read_alloc, write_alloc = [f"{operand}, tl"], [f"{operand}, fh"]
    return {
        "size": size_bits,
        "r_cost": round(pj_per_bit_rw[0] * bw_bits, 6),
        "w_cost": round(pj_per_bit_rw[1] * bw_bits, 6),
        "area": 0,
        "latency": 1,
        "operands": [operand],
        "ports": [
            _port("r_port_1", "read", bw_bits, read_alloc),
            _port("w_port_1", "write", bw_bits, write_alloc),
        ],
        "served_dimensions": served,
    }


def accelerator(design: Design, stem: str) -> dict[str, Any]:
    """The ZigZag accelerator description."""
    hw = design.hardware
    tech = get_tech(hw.tech)
    reg_pj = (tech.sram_read_pj_per_bit(1.0 / 1024), tech.sram_write_pj_per_bit(1.0 / 1024))

    def sram_pj(kb: float) -> tuple[float, float]:
        return tech.sram_read_pj_per_bit(kb), tech.sram_write_pj_per_bit(kb)

    dram_bw_bits = max(8, int(hw.dram_bw_bytes_per_cycle * 8))
    dram_pj = tech.dram_pj_per_bit * dram_bw_bits
    dram_ports = [
        _port(
            "rw_port_1",
            "read_write",
            dram_bw_bits,
            [f"{op}, {d}" for op in ("I1", "I2") for d in ("fh", "tl")] + ["O, fh", "O, tl", "O, fl", "O, th"],
        )
    ]
    memories: dict[str, Any] = {
        "reg_I": _memory(size_bits=hw.bits, pj_per_bit_rw=reg_pj, bw_bits=hw.bits, operand="I1", served=[]),
        "reg_W": _memory(size_bits=hw.bits, pj_per_bit_rw=reg_pj, bw_bits=hw.bits, operand="I2", served=[]),
        "reg_O": _memory(size_bits=hw.acc_bits, pj_per_bit_rw=reg_pj, bw_bits=hw.acc_bits, operand="O", served=[]),
        "ifmap_sram": _memory(
            size_bits=buffer_bytes(hw.ifmap_sram_kb) * 8,
            pj_per_bit_rw=sram_pj(hw.ifmap_sram_kb),
            bw_bits=hw.bits * hw.pe_rows,
            operand="I1",
            served=["D1", "D2"],
        ),
        "filter_sram": _memory(
            size_bits=buffer_bytes(hw.filter_sram_kb) * 8,
            pj_per_bit_rw=sram_pj(hw.filter_sram_kb),
            bw_bits=hw.bits * hw.pe_cols,
            operand="I2",
            served=["D1", "D2"],
        ),
        "ofmap_sram": _memory(
            size_bits=buffer_bytes(hw.ofmap_sram_kb) * 8,
            pj_per_bit_rw=sram_pj(hw.ofmap_sram_kb),
            bw_bits=hw.acc_bits * hw.pe_cols,
            operand="O",
            served=["D1", "D2"],
        ),
        "dram": {
            "size": DRAM_BITS,
            "r_cost": round(dram_pj, 6),
            "w_cost": round(dram_pj, 6),
            "area": 0,
            "latency": 1,
            "operands": ["I1", "I2", "O"],
            "ports": dram_ports,
            "served_dimensions": ["D1", "D2"],
        },
    }
    return {
        "name": stem,
        "memories": memories,
        "operational_array": {
            "input_precision": [hw.bits, hw.bits],
            "unit_energy": round(tech.mac_pj(hw.bits), 6),
            "unit_area": round(tech.pe_area_mm2(hw.bits), 9),
            "dimensions": ["D1", "D2"],
            "sizes": [hw.pe_rows, hw.pe_cols],
        },
    }


def _links() -> dict[str, str]:
    return {"O": "O", "W": "I2", "I": "I1"}


def mapping(design: Design, metrics: Metrics) -> list[dict[str, Any]]:
    """Spatial mapping per lowered GEMM (from its dataflow) plus a default entry."""
    hw = design.hardware
    entries: list[dict[str, Any]] = []
    for g in lowered_gemms(design, metrics):
        s = g.step
        size = {"M": s.m, "N": s.n, "K": s.k}
        d1, d2 = _SPATIAL[g.dataflow]
        entries.append(
            {
                "name": g.name,
                "spatial_mapping": {
                    "D1": [f"{d1}, {min(size[d1], hw.pe_rows)}"],
                    "D2": [f"{d2}, {min(size[d2], hw.pe_cols)}"],
                },
                "memory_operand_links": _links(),
            }
        )
    d1, d2 = _SPATIAL[hw.dataflows[0]]
    entries.append(
        {
            "name": "default",
            "spatial_mapping": {"D1": [f"{d1}, {hw.pe_rows}"], "D2": [f"{d2}, {hw.pe_cols}"]},
            "memory_operand_links": _links(),
        }
    )
    return entries


def _layer(i: int, g: LoweredGemm, bits: int, acc_bits: int, sources: dict[str, int]) -> dict[str, Any]:
    s = g.step
    batched = s.batch > 1
    b = "[b]" if batched else ""
    return {
        "id": i,
        "name": g.name,
        "operator_type": "Gemm",
        "equation": f"O{b}[m][n]+=I{b}[m][k]*W{b}[k][n]",
        "loop_dims": (["B"] if batched else []) + ["M", "N", "K"],
        "loop_sizes": ([s.batch] if batched else []) + [s.m, s.n, s.k],
        "operand_precision": {"I": bits, "W": bits, "O": acc_bits, "O_final": bits},
        "operand_source": {"I": sources.get(s.lhs, i), "W": sources.get(s.rhs, i)},
    }


def workload(design: Design, metrics: Metrics) -> list[dict[str, Any]]:
    """One ZigZag ``Gemm`` layer per lowered contraction step, with its producer-consumer links.

    An operand that an earlier step of the same layer and pass produced (an intermediate
    ``t<id>``) names that step's layer id as its ``operand_source``; an operand read from memory
    (an input tensor or a core) names the layer itself, which ZigZag reads as a constant operand.
    """
    hw = design.hardware
    layers: list[dict[str, Any]] = []
    produced: dict[tuple[str, str], dict[str, int]] = {}
    for i, g in enumerate(lowered_gemms(design, metrics)):
        sources = produced.setdefault((g.layer, g.pass_name), {})
        layers.append(_layer(i, g, hw.bits, hw.acc_bits, sources))
        sources[g.step.out] = i
    return layers


def export_zigzag(
    design: Design, metrics: Metrics, out_dir: Path, stem: str, options: ExportOptions = DEFAULT_EXPORT_OPTIONS
) -> list[Path]:
    """Write the accelerator, mapping and workload YAML files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        f"{stem}_zigzag_accelerator.yaml": accelerator(design, stem),
        f"{stem}_zigzag_mapping.yaml": mapping(design, metrics),
        f"{stem}_zigzag_workload.yaml": workload(design, metrics),
    }
    written: list[Path] = []
    for name, data in files.items():
        path = out_dir / name
        path.write_text(
            f"# ZigZag input exported by TNN-DSE (design {stem}).\n"
            + yaml.safe_dump(data, sort_keys=False, default_flow_style=None),
            encoding="utf-8",
        )
        written.append(path)
    return written


register_exporter("zigzag", export_zigzag)
