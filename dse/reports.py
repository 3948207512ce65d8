"""Per-layer and per-step reports of one design, like SCALE-Sim's COMPUTE and BANDWIDTH reports.

* :func:`layers_frame`: one row per layer and pass (all ``count`` instances): MACs, cycles by
  component, energy by component, DRAM and SRAM traffic, utilization. Its columns sum to the
  design's totals.
* :func:`steps_frame`: one row per contraction step (one layer instance; multiply by ``count``):
  the GEMM, its mapping, cycles by component, energy, traffic per level, utilization.
* :func:`write_design_reports`: ``layers.csv`` and ``steps.csv`` in a folder.

Units are in the column names. Traffic per level is DRAM reads / writes and on-chip SRAM reads /
writes (the three buffers together: the model's cost keeps one SRAM total per direction; the
energy of each buffer is in its own ``*_sram_energy_pj`` column). A step of a fused segment runs
on chip on token tiles (``token_tile`` tokens, ``token_tiles`` of them): its row has its busy
cycles and its MAC + SRAM energy only (the segment's DRAM traffic, buffer fills and leakage
belong to the pass, in ``layers.csv``, whose ``execution``, ``segments`` and ``spilled``
columns say how the pass runs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pandas as pd

from analytical_models import Cost, Objective
from dse._design import Design, Metrics, PassRecord
from dse.contraction import build_plan
from dse.workload import get_format

CYCLE_COLUMNS: tuple[str, ...] = ("compute_cycles", "fill_drain_cycles", "stall_cycles", "shaping_cycles")
ENERGY_COLUMNS: tuple[str, ...] = (
    "mac_energy_pj",
    "ifmap_sram_energy_pj",
    "filter_sram_energy_pj",
    "ofmap_sram_energy_pj",
    "dram_energy_pj",
    "leakage_energy_pj",
)
TRAFFIC_COLUMNS: tuple[str, ...] = ("dram_read_bytes", "dram_write_bytes", "sram_read_bytes", "sram_write_bytes")


def _cost_columns(cost: Cost) -> dict[str, float]:
    row: dict[str, float] = {"cycles": cost.cycles}
    row.update({c: float(getattr(cost, c)) for c in CYCLE_COLUMNS})
    row["energy_pj"] = cost.energy_pj
    row.update({c: float(getattr(cost, c)) for c in ENERGY_COLUMNS})
    row.update({c: float(getattr(cost, c)) for c in TRAFFIC_COLUMNS})
    row["utilization_fraction"] = cost.utilization
    return row


def layers_frame(design: Design, metrics: Metrics) -> pd.DataFrame:
    """One row per layer and pass, all instances of the layer: the columns sum to the totals."""
    freq = design.hardware.freq_mhz
    rows: list[dict[str, Any]] = []
    for p in metrics.passes:
        row: dict[str, Any] = {"layer": p.layer, "pass": p.pass_name, "count": p.count, "macs": p.macs}
        row.update(_cost_columns(p.cost))
        row["latency_ms"] = p.cost.cycles / (freq * 1e3)
        row["steps"] = len(p.steps)
        row["fused_steps"] = sum(s.fused for s in p.steps)
        sched = p.schedule
        row["execution"] = sched.execution if sched is not None else ""
        row["segments"] = len(sched.segments) if sched is not None else 0
        row["spilled"] = " ".join(sched.spilled) if sched is not None else ""
        rows.append(row)
    return pd.DataFrame(rows)


def _step_costs(design: Design, record: PassRecord) -> list[Cost | None]:
    """The cost of each step of an unfused pass (its plan re-priced with the design's mapping
    objective: the same lowering and the same best mapping as the evaluation); ``None`` for the
    steps of a fused pass, or when the re-priced plan does not reproduce the recorded cycles."""
    if any(s.fused for s in record.steps) or not record.steps:
        return [None] * len(record.steps)
    spec = design.workload.layer(record.layer)
    fmt = get_format(spec.format)
    nets = fmt.networks(spec) if design.mode == "training" else fmt.inference_networks(spec)
    net = next((n for n in nets if n.label == record.pass_name), None)
    if net is None:
        return [None] * len(record.steps)
    plan = build_plan(net, record.path, hw=design.hardware, objective=cast(Objective, design.mapping_objective))
    costs = [s.cost for s in plan.steps]
    same = len(costs) == len(record.steps) and all(
        c is not None and abs(c.cycles - s.cycles) <= 1e-6 * max(1.0, s.cycles)
        for c, s in zip(costs, record.steps, strict=False)
    )
    return list(costs) if same else [None] * len(record.steps)


def _token_tiles(record: PassRecord) -> dict[int, tuple[int, int]]:
    """``step -> (tokens per tile, tiles)`` of the steps of fused segments."""
    if record.schedule is None:
        return {}
    return {i: (seg.tile, seg.n_tiles) for seg in record.schedule.segments if seg.fused for i in seg.steps}


def steps_frame(design: Design, metrics: Metrics) -> pd.DataFrame:
    """One row per contraction step of every layer and pass (one layer instance)."""
    rows: list[dict[str, Any]] = []
    for p in metrics.passes:
        tiles = _token_tiles(p)
        for i, (s, cost) in enumerate(zip(p.steps, _step_costs(design, p), strict=True)):
            row: dict[str, Any] = {
                "layer": p.layer,
                "pass": p.pass_name,
                "count": p.count,
                "step": i,
                "segment": s.segment,
                "fused": s.fused,
                "lhs": s.lhs,
                "rhs": s.rhs,
                "out": s.out,
                "batch": s.batch,
                "m": s.m,
                "n": s.n,
                "k": s.k,
                "macs": s.macs,
                "dataflow": s.dataflow,
                "tile_m": s.tile_m,
                "tile_n": s.tile_n,
                "tile_k": s.tile_k,
                "loop_order": s.loop_order,
                "token_tile": tiles.get(i, (0, 0))[0] or None,
                "token_tiles": tiles.get(i, (0, 0))[1] or None,
            }
            if cost is not None:
                row.update(_cost_columns(cost))
            else:
                row.update({"cycles": s.cycles, "energy_pj": s.energy_pj})
            rows.append(row)
    columns = [
        "layer",
        "pass",
        "count",
        "step",
        "segment",
        "fused",
        "lhs",
        "rhs",
        "out",
        "batch",
        "m",
        "n",
        "k",
        "macs",
        "dataflow",
        "tile_m",
        "tile_n",
        "tile_k",
        "loop_order",
        "token_tile",
        "token_tiles",
        "cycles",
        *CYCLE_COLUMNS,
        "energy_pj",
        *ENERGY_COLUMNS,
        *TRAFFIC_COLUMNS,
        "utilization_fraction",
    ]
    return pd.DataFrame(rows, columns=columns)


def write_design_reports(design: Design, metrics: Metrics, out_dir: Path) -> list[Path]:
    """Write ``layers.csv`` and ``steps.csv`` into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    layers = out_dir / "layers.csv"
    layers_frame(design, metrics).to_csv(layers, index=False)
    steps = out_dir / "steps.csv"
    steps_frame(design, metrics).to_csv(steps, index=False)
    return [layers, steps]
