"""``timeloop`` target: Timeloop / Accelergy v0.4 architecture and one problem per lowered GEMM.

Files:

* ``<stem>_timeloop_arch.yaml``: ``architecture: {version: 0.4, nodes: [...]}`` with the tags
  Timeloop's v0.4 front end reads (``!Container``, ``!Component``): a ``system`` container
  (technology, ``global_cycle_seconds`` from ``freq_mhz``), ``DRAM`` (``shared_bandwidth`` in
  words per cycle from ``dram_bw_bytes_per_cycle``), three on-chip SRAM levels, one per operand
  (``ifmap_sram`` keeps A, ``filter_sram`` keeps B, ``ofmap_sram`` keeps Z at ``acc_bits``; each
  bypasses the other operands), a ``PE`` container with spatial fanout ``meshX = pe_cols``,
  ``meshY = pe_rows``, a one-word ``pe_register`` holding the operand the dataflow keeps
  stationary (WS: B, OS: Z, IS: A; of the most cycles-heavy step when several are allowed) and
  the ``mac`` compute (``intmac``, ``datawidth = bits``).
* ``<stem>_timeloop_prob_<layer>_<pass>_s<i>.yaml``: ``problem: {version: 0.4, shape: {name:
  GEMM, dimensions: [M, N, K], data_spaces: [A (M,K), B (K,N), Z (M,N) read_write]},
  instance: {M, N, K}}``; a batched step adds a dimension ``B`` to every data space (shape
  name ``BatchedGEMM``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dse import Design, Metrics
from dse.export._gemms import LoweredGemm, buffer_bytes, dominant_dataflow, lowered_gemms
from dse.export._registry import DEFAULT_EXPORT_OPTIONS, ExportOptions, register_exporter

VERSION = 0.4
_STATIONARY = {"ws": "B", "os": "Z", "is": "A"}
_TECH = {"horowitz45": "45nm", "accelergy45": "45nm", "tpu7nm": "7nm"}


class _Tagged(dict[str, Any]):
    """A mapping written with a YAML tag (``!Component``, ``!Container``)."""

    tag = ""


class _Component(_Tagged):
    tag = "!Component"


class _Container(_Tagged):
    tag = "!Container"


class _Dumper(yaml.SafeDumper):
    pass


def _represent_tagged(dumper: yaml.SafeDumper, data: _Tagged) -> yaml.Node:
    return dumper.represent_mapping(data.tag, dict(data))


_Dumper.add_representer(_Component, _represent_tagged)
_Dumper.add_representer(_Container, _represent_tagged)


def _sram(name: str, keep: str, size_bytes: int, word_bits: int, width_words: int) -> _Component:
    width_bits = word_bits * width_words
    depth = max(1, -(-size_bytes * 8 // width_bits))
    return _Component(
        name=name,
        **{"class": "SRAM"},
        attributes={"depth": depth, "width": width_bits, "datawidth": word_bits},
        constraints={"dataspace": {"keep": [keep], "bypass": [o for o in "ABZ" if o != keep]}},
    )


def architecture(design: Design, metrics: Metrics) -> dict[str, Any]:
    """The v0.4 architecture tree (tagged nodes) of the design."""
    hw = design.hardware
    dataflow, why = dominant_dataflow(design, metrics)
    bpe = hw.bytes_per_element
    stationary = _STATIONARY[dataflow]
    nodes: list[_Tagged] = [
        _Container(
            name="system",
            attributes={
                "technology": _TECH.get(hw.tech, hw.tech),
                "global_cycle_seconds": 1.0 / (hw.freq_mhz * 1e6),
            },
        ),
        _Component(
            name="DRAM",
            **{"class": "DRAM"},
            attributes={
                "type": "LPDDR4",
                "width": 64,
                "datawidth": hw.bits,
                "shared_bandwidth": hw.dram_bw_bytes_per_cycle / bpe,
            },
        ),
        _sram("ifmap_sram", "A", buffer_bytes(hw.ifmap_sram_kb), hw.bits, hw.pe_rows),
        _sram("filter_sram", "B", buffer_bytes(hw.filter_sram_kb), hw.bits, hw.pe_cols),
        _sram("ofmap_sram", "Z", buffer_bytes(hw.ofmap_sram_kb), hw.acc_bits, hw.pe_cols),
        _Container(name="PE", spatial={"meshX": hw.pe_cols, "meshY": hw.pe_rows}),
        _Component(
            name="pe_register",
            **{"class": "regfile"},
            attributes={
                "depth": 1,
                "width": hw.acc_bits if stationary == "Z" else hw.bits,
                "datawidth": hw.acc_bits if stationary == "Z" else hw.bits,
            },
            constraints={
                "dataspace": {
                    "keep": [stationary],
                    "bypass": [o for o in "ABZ" if o != stationary],
                }
            },
        ),
        _Component(
            name="mac",
            **{"class": "intmac"},
            attributes={"datawidth": hw.bits, "width": hw.bits},
        ),
    ]
    return {
        "architecture": {"version": VERSION, "nodes": nodes},
        "_comment": f"dataflow {dataflow}: {why}",
    }


def problem(gemm: LoweredGemm) -> dict[str, Any]:
    """The v0.4 problem of one lowered GEMM."""
    s = gemm.step
    batched = s.batch > 1
    pre: list[list[list[str]]] = [[["B"]]] if batched else []
    dims = (["B"] if batched else []) + ["M", "N", "K"]
    instance = ({"B": s.batch} if batched else {}) | {"M": s.m, "N": s.n, "K": s.k}
    return {
        "problem": {
            "version": VERSION,
            "shape": {
                "name": "BatchedGEMM" if batched else "GEMM",
                "dimensions": dims,
                "data_spaces": [
                    {"name": "A", "projection": [*pre, [["M"]], [["K"]]]},
                    {"name": "B", "projection": [*pre, [["K"]], [["N"]]]},
                    {"name": "Z", "projection": [*pre, [["M"]], [["N"]]], "read_write": True},
                ],
            },
            "instance": instance,
        }
    }


def _dump(data: dict[str, Any], header: str) -> str:
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=None)


def export_timeloop(
    design: Design, metrics: Metrics, out_dir: Path, stem: str, options: ExportOptions = DEFAULT_EXPORT_OPTIONS
) -> list[Path]:
    """Write the architecture and one problem file per lowered GEMM."""
    out_dir.mkdir(parents=True, exist_ok=True)
    arch = architecture(design, metrics)
    comment = arch.pop("_comment")
    arch_path = out_dir / f"{stem}_timeloop_arch.yaml"
    arch_path.write_text(
        _dump(
            arch,
            f"# Timeloop/Accelergy v0.4 architecture exported by TNN-DSE ({stem}).\n"
            f"# Per-PE register keeps the stationary operand of the {comment}.\n",
        ),
        encoding="utf-8",
    )
    written = [arch_path]
    for g in lowered_gemms(design, metrics):
        path = out_dir / f"{stem}_timeloop_prob_{g.name}.yaml"
        header = (
            f"# {g.layer} / {g.pass_name} step {g.index}: {g.step.lhs} x {g.step.rhs} -> "
            f"{g.step.out}; runs {g.count}x per step of the workload.\n"
        )
        path.write_text(_dump(problem(g), header), encoding="utf-8")
        written.append(path)
    return written


register_exporter("timeloop", export_timeloop)
