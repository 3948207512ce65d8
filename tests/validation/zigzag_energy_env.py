"""ZigZag's energy of one exported GEMM, broken down like ours (MAC, registers, SRAM, DRAM).

Same venv and files as :mod:`tests.export.zigzag_env` (the exporter's accelerator, mapping and
workload YAML), but the driver prints each layer's cost-model evaluation in detail: MAC energy,
and for every operand and memory level the level's name, its energy (pJ) and its word accesses in
the four directions with the word width (bits per access). The test sums them into our
categories (MAC, per-PE registers, the three SRAMs, DRAM).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.export.zigzag_env import run_driver

# Runs inside the ZigZag venv; one JSON line per run. A level's "bits" is the port bandwidth
# ZigZag counts one access in (our exporter sets bandwidth_min == bandwidth_max), so
# accesses * bits = bits moved through that port.
_DRIVER = r"""
import json, logging, sys
logging.disable(logging.CRITICAL)
from zigzag.api import get_hardware_performance_zigzag
from zigzag.hardware.architecture.memory_port import DataDirection
workload, accelerator, mapping, dump, opt = sys.argv[1:6]
_, _, cmes = get_hardware_performance_zigzag(
    workload, accelerator, mapping, opt=opt, dump_folder=dump, loma_show_progress_bar=False)
layers = []
for cme, _ in cmes[0][1]:
    levels = []
    hier = cme.accelerator.memory_hierarchy
    for layer_op, energies in cme.mem_energy_breakdown.items():
        mem_op = cme.memory_operand_links.layer_to_mem_op(layer_op)
        for lvl, energy, acc in zip(hier.get_memory_levels(mem_op), energies,
                                    cme.memory_word_access[layer_op]):
            bits = {d.value: (lvl.get_max_bandwidth(mem_op, d) or 0) for d in DataDirection}
            levels.append({"operand": str(layer_op), "level": lvl.name, "energy_pj": float(energy),
                           "accesses": {d.value: int(acc.get(d)) for d in DataDirection},
                           "bits": bits})
    layers.append({"name": cme.layer.name, "mac_energy_pj": float(cme.mac_energy),
                   "energy_pj": float(cme.energy_total), "latency_cycles": float(cme.latency_total2),
                   "temporal_mapping": str(cme.temporal_mapping), "levels": levels})
print("ZIGZAG_ENERGY " + json.dumps({"layers": layers}))
"""


@dataclass(frozen=True, slots=True)
class ZigzagEnergy:
    """ZigZag's energy of one layer, summed into our categories (pJ; DRAM in bits moved)."""

    mac_pj: float
    reg_pj: float
    ifmap_sram_pj: float
    filter_sram_pj: float
    ofmap_sram_pj: float
    dram_pj: float
    dram_bits: float
    total_pj: float
    latency_cycles: float
    temporal_mapping: str
    levels: tuple[dict[str, Any], ...]
    """Every (operand, memory level) of the run: ``operand``, ``level``, ``energy_pj``,
    ``accesses`` and ``bits`` per data direction (``rd_out_to_low`` ...)."""

    @property
    def sram_pj(self) -> float:
        """The three on-chip buffers together."""
        return self.ifmap_sram_pj + self.filter_sram_pj + self.ofmap_sram_pj


def summarize(layer: dict[str, Any]) -> ZigzagEnergy:
    """One driver layer record -> :class:`ZigzagEnergy` (levels grouped by the exporter's names)."""
    by_level: dict[str, float] = {}
    dram_bits = 0.0
    for lv in layer["levels"]:
        by_level[lv["level"]] = by_level.get(lv["level"], 0.0) + lv["energy_pj"]
        if lv["level"] == "dram":
            dram_bits += sum(n * lv["bits"][d] for d, n in lv["accesses"].items())
    reg = sum(e for name, e in by_level.items() if name.startswith("reg_"))
    return ZigzagEnergy(
        mac_pj=layer["mac_energy_pj"],
        reg_pj=reg,
        ifmap_sram_pj=by_level.get("ifmap_sram", 0.0),
        filter_sram_pj=by_level.get("filter_sram", 0.0),
        ofmap_sram_pj=by_level.get("ofmap_sram", 0.0),
        dram_pj=by_level.get("dram", 0.0),
        dram_bits=dram_bits,
        total_pj=layer["energy_pj"],
        latency_cycles=layer["latency_cycles"],
        temporal_mapping=layer["temporal_mapping"],
        levels=tuple(layer["levels"]),
    )


def run_zigzag_energy(
    workload: Path,
    accelerator: Path,
    mapping: Path,
    workdir: Path,
    *,
    opt: str = "energy",
    timeout_s: float = 900.0,
) -> list[ZigzagEnergy]:
    """Run ZigZag (LOMA, objective ``opt``) on exported files; one :class:`ZigzagEnergy` per layer."""
    result = run_driver(_DRIVER, "ZIGZAG_ENERGY", workload, accelerator, mapping, workdir, opt=opt, timeout_s=timeout_s)
    return [summarize(layer) for layer in result["layers"]]
