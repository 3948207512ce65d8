"""``dse gemm``: price one GEMM on one accelerator and print the cost.

Example::

    dse gemm --m 256 --n 128 --k 256 --rows 32 --cols 32 --dataflow ws \
        --ifmap-kb 64 --filter-kb 64 --ofmap-kb 64 --dram-bw 10 --json

``--dataflow best`` lets the mapping search pick among WS / OS / IS; ``--mapping scalesim``
pins SCALE-Sim v3's own loop nest and memory system instead of searching (and adds SCALE-Sim's
predicted report to the output). Bad values print one ``error: ...`` line to stderr and
return 2.

What the totals cover (``totals`` in ``--json``; SCALE-Sim's name of each in brackets):
``cycles`` end to end, first DRAM read to last DRAM write, plus tensor shaping ("Total Cycles
(incl. prefetch)"); ``prefetch_cycles`` the DRAM reads before compute; ``compute_window_cycles``
first compute cycle to the array's last ofmap write ("Total Cycles"); ``drain_tail_cycles`` the
DRAM writes after it. ``cycles = prefetch + compute_window + drain_tail + shaping``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from analytical_models import (
    DATAFLOWS,
    MAPPINGS,
    OBJECTIVES,
    ArrayEngine,
    Cost,
    Gemm,
    Hardware,
    Mapping,
    ModelInputError,
    area_mm2,
    engine_names,
    get_engine,
    get_tech,
    tech_names,
)
from dse.cli import _defaults as defaults


def add_parser(subparsers: Any) -> None:
    """Register the ``gemm`` subcommand on an ``argparse`` subparsers object.

    The subcommand's handler is set as ``func`` (``args.func(args) -> int``).
    """
    p: argparse.ArgumentParser = subparsers.add_parser(
        "gemm",
        help="price one GEMM C[b,m,n] = A[b,m,k] B[b,k,n] on one accelerator",
        description=(
            "Price one GEMM with the analytical models: best mapping (tiles, loop order, "
            "dataflow) for the objective, cycles, energy breakdown, traffic and area."
        ),
    )
    p.add_argument("--m", type=int, required=True, help="rows of A and C (elements)")
    p.add_argument("--n", type=int, required=True, help="columns of B and C (elements)")
    p.add_argument("--k", type=int, required=True, help="reduction depth (elements)")
    p.add_argument("--batch", type=int, default=1, help="independent GEMMs (default 1)")
    p.add_argument("--rows", type=int, default=defaults.PE_ROWS, help=f"PE array rows R (default {defaults.PE_ROWS})")
    p.add_argument(
        "--cols", type=int, default=defaults.PE_COLS, help=f"PE array columns C (default {defaults.PE_COLS})"
    )
    p.add_argument(
        "--dataflow",
        default=None,
        help=f"{defaults.names(DATAFLOWS)}, or best to search all three (default {defaults.DATAFLOW}); "
        "engines that pick the dataflow themselves (contraction_engine, ce_array) take only best",
    )
    p.add_argument(
        "--ifmap-kb",
        type=float,
        default=defaults.SRAM_KB,
        help=f"ifmap buffer, kB (default {defaults.SRAM_KB:g})",
    )
    p.add_argument(
        "--filter-kb",
        type=float,
        default=defaults.SRAM_KB,
        help=f"filter buffer, kB (default {defaults.SRAM_KB:g})",
    )
    p.add_argument(
        "--ofmap-kb",
        type=float,
        default=defaults.SRAM_KB,
        help=f"ofmap buffer, kB (default {defaults.SRAM_KB:g})",
    )
    p.add_argument(
        "--dram-bw",
        type=float,
        default=defaults.DRAM_BW_BYTES_PER_CYCLE,
        help=f"DRAM bandwidth, bytes/cycle (default {defaults.DRAM_BW_BYTES_PER_CYCLE:g})",
    )
    p.add_argument(
        "--freq-mhz", type=float, default=defaults.FREQ_MHZ, help=f"clock, MHz (default {defaults.FREQ_MHZ:g})"
    )
    p.add_argument("--bits", type=int, default=defaults.BITS, help=f"operand precision, bits (default {defaults.BITS})")
    p.add_argument(
        "--acc-bits", type=int, default=defaults.ACC_BITS, help=f"accumulator bits (default {defaults.ACC_BITS})"
    )
    p.add_argument(
        "--memory-timing",
        default="overlapped",
        choices=("overlapped", "serial"),
        help="overlapped (double-buffered, default) or serial (SCALE-Sim-like: load, compute, drain)",
    )
    p.add_argument(
        "--mapping",
        default="search",
        choices=MAPPINGS,
        help="search (default: best dataflow, tiles and loop order) or scalesim (SCALE-Sim v3's own loop "
        "nest and memory system for the dataflow; with --memory-timing serial its cycles are SCALE-Sim's "
        "'Total Cycles (incl. prefetch)')",
    )
    p.add_argument(
        "--tech",
        default=defaults.TECH,
        help=f"technology profile, one of {defaults.names(tech_names())} (default {defaults.TECH})",
    )
    p.add_argument(
        "--engine",
        default=defaults.ENGINE,
        help=f"cost model, one of {defaults.names(engine_names())} (default {defaults.ENGINE})",
    )
    p.add_argument(
        "--objective",
        default="latency",
        help=f"what the mapping minimizes, one of {defaults.names(OBJECTIVES)} (default latency)",
    )
    for op in ("a", "b", "c"):
        p.add_argument(
            f"--permute-{op}",
            type=int,
            default=0,
            help=f"elements of {op.upper()} to re-lay-out (tensor shaping, default 0)",
        )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def _build(args: argparse.Namespace) -> tuple[ArrayEngine, Gemm, Hardware, str]:
    if args.dataflow is not None and args.dataflow not in (*DATAFLOWS, "best"):
        raise ModelInputError(f"--dataflow must be one of ws, os, is, best; got {args.dataflow!r}")
    dataflow = args.dataflow or defaults.DATAFLOW
    if dataflow != "best" and args.engine in engine_names():
        defaults.check_engine_dataflow(args.engine, (dataflow,))
    if args.objective not in OBJECTIVES:
        raise ModelInputError(f"--objective must be one of {', '.join(OBJECTIVES)}; got {args.objective!r}")
    get_tech(args.tech)
    engine = get_engine(args.engine)
    if not isinstance(engine, ArrayEngine):
        raise ModelInputError(f"engine {args.engine!r} does not report memory traffic")
    for flag in ("ifmap_kb", "filter_kb", "ofmap_kb", "dram_bw", "freq_mhz"):
        if not math.isfinite(getattr(args, flag)):
            raise ModelInputError(f"--{flag.replace('_', '-')} must be a finite number, got {getattr(args, flag)}")
    for flag in ("permute_a", "permute_b", "permute_c"):
        if getattr(args, flag) < 0:
            raise ModelInputError(f"--{flag.replace('_', '-')} must be >= 0")
    gemm = Gemm(
        m=args.m,
        n=args.n,
        k=args.k,
        batch=args.batch,
        permute_a_elements=args.permute_a,
        permute_b_elements=args.permute_b,
        permute_c_elements=args.permute_c,
    )
    hw = Hardware(
        engine=args.engine,
        pe_rows=args.rows,
        pe_cols=args.cols,
        ifmap_sram_kb=args.ifmap_kb,
        filter_sram_kb=args.filter_kb,
        ofmap_sram_kb=args.ofmap_kb,
        dram_bw_bytes_per_cycle=args.dram_bw,
        freq_mhz=args.freq_mhz,
        bits=args.bits,
        acc_bits=args.acc_bits,
        tech=args.tech,
        memory_timing=args.memory_timing,
        mapping=args.mapping,
        dataflows=DATAFLOWS if dataflow == "best" else (dataflow,),
    )
    return engine, gemm, hw, args.objective


TOTALS: dict[str, dict[str, str]] = {
    "cycles": {
        "covers": "end to end: first DRAM read to last DRAM write, plus tensor shaping "
        "(prefetch + compute window + drain tail + shaping)",
        "scalesim": "Total Cycles (incl. prefetch)",
    },
    "prefetch_cycles": {
        "covers": "DRAM reads before the first compute cycle",
        "scalesim": "Total Cycles (incl. prefetch) - Total Cycles, before the window",
    },
    "compute_window_cycles": {
        "covers": "first compute cycle to the array's last ofmap write, stalls inside included",
        "scalesim": "Total Cycles",
    },
    "drain_tail_cycles": {
        "covers": "DRAM writes after the array's last ofmap write",
        "scalesim": "Total Cycles (incl. prefetch) - Total Cycles, after the window",
    },
}
"""What each total of ``dse gemm`` covers and SCALE-Sim's name of the same span (``totals``)."""


def scalesim_block(engine: ArrayEngine, gemm: Gemm, hw: Hardware, mapping: Mapping) -> dict[str, Any]:
    """SCALE-Sim's predicted report of the pinned nest, in SCALE-Sim's units (cycles from its
    cycle 0, words), per topology row (a batched GEMM is ``batch`` rows): the USER (bandwidth-
    limited) report under the serial timing, the CALC (ample bandwidth) report otherwise."""
    from dataclasses import asdict

    from analytical_models import scalesim_hw_report, scalesim_words

    view = engine.array_view(hw)
    zi, zf, zo, bw = scalesim_words(view)
    interface = "USER" if hw.memory_timing == "serial" else "CALC"
    rep = scalesim_hw_report(gemm, view, mapping.dataflow, interface=interface)
    out: dict[str, Any] = {
        "topology_rows": gemm.batch,
        "config": {"rows": view.pe_rows, "cols": view.pe_cols, "sram_words": [zi, zf, zo], "bw_words": bw},
    }
    out.update(asdict(rep))
    return out


def report(
    engine: ArrayEngine, gemm: Gemm, hw: Hardware, mapping: Mapping, cost: Cost, n_evaluated: int
) -> dict[str, Any]:
    """The JSON-ready result of ``dse gemm`` (cycles, pJ, bytes, mm2)."""
    acc = engine.access_bytes(gemm, hw, mapping)
    spans = engine.spans(gemm, hw, mapping)
    return {
        "engine": engine.name,
        "tech": hw.tech,
        "macs": cost.macs,
        "cycles": cost.cycles,
        "prefetch_cycles": spans.prefetch_cycles,
        "compute_window_cycles": spans.compute_window_cycles,
        "drain_tail_cycles": spans.drain_tail_cycles,
        "totals": TOTALS,
        "compute_cycles": cost.compute_cycles,
        "fill_drain_cycles": cost.fill_drain_cycles,
        "stall_cycles": cost.stall_cycles,
        "shaping_cycles": cost.shaping_cycles,
        "latency_us": cost.latency_s(hw.freq_mhz) * 1e6,
        "energy_pj": cost.energy_pj,
        "energy_breakdown_pj": cost.energy_breakdown_pj(),
        "dram_bytes": cost.dram_bytes,
        "dram_read_bytes": cost.dram_read_bytes,
        "dram_write_bytes": cost.dram_write_bytes,
        "sram_accesses": {
            buf: {"read_bytes": acc[f"{buf}_rd_bytes"], "write_bytes": acc[f"{buf}_wr_bytes"]}
            for buf in ("ifmap", "filter", "ofmap")
        },
        "utilization": cost.utilization,
        "mapping": {
            "dataflow": mapping.dataflow,
            "tile_m": mapping.tile_m,
            "tile_n": mapping.tile_n,
            "tile_k": mapping.tile_k,
            "loop_order": mapping.loop_order,
            "nest": mapping.nest,
        },
        "memory_timing": hw.memory_timing,
        "n_evaluated": n_evaluated,
        "area_mm2": area_mm2(hw),
    }


def _table(r: dict[str, Any]) -> str:
    mp = r["mapping"]
    nest = "SCALE-Sim's own loop nest, " if mp["nest"] == "scalesim" else ""
    lines = [
        f"engine          {r['engine']} ({r['tech']})",
        f"mapping         {mp['dataflow']}  {nest}tiles m={mp['tile_m']} n={mp['tile_n']} "
        f"k={mp['tile_k']}  loop order {mp['loop_order']}  ({r['n_evaluated']} evaluated)",
        f"MACs            {r['macs']:,}",
        f"cycles          {r['cycles']:,.1f}  ({r['latency_us']:,.3f} us)  end to end "
        f"({r['memory_timing']} memory timing)",
        f"  prefetch      {r['prefetch_cycles']:,.1f}",
        f"  window        {r['compute_window_cycles']:,.1f}  (first compute cycle to the last ofmap write)",
        f"  drain tail    {r['drain_tail_cycles']:,.1f}",
        "by component:",
        f"  compute       {r['compute_cycles']:,.1f}",
        f"  fill/drain    {r['fill_drain_cycles']:,.1f}",
        f"  stall         {r['stall_cycles']:,.1f}",
        f"  shaping       {r['shaping_cycles']:,.1f}",
        f"utilization     {100 * r['utilization']:.1f} %",
        f"energy          {r['energy_pj']:,.1f} pJ",
    ]
    lines += [f"  {k:<13} {v:,.1f} pJ" for k, v in r["energy_breakdown_pj"].items()]
    lines.append(
        f"DRAM            {r['dram_bytes']:,.0f} B  (read {r['dram_read_bytes']:,.0f} B, "
        f"write {r['dram_write_bytes']:,.0f} B)"
    )
    for buf, a in r["sram_accesses"].items():
        lines.append(f"  {buf + ' SRAM':<13} read {a['read_bytes']:,.0f} B, write {a['write_bytes']:,.0f} B")
    lines.append(f"area            {r['area_mm2']:.4f} mm2")
    ss = r.get("scalesim")
    if ss is not None:
        lines.append(
            f"SCALE-Sim ({ss['interface']}, per topology row x {ss['topology_rows']}): Total Cycles "
            f"{ss['total_cycles']:,}, incl. prefetch {ss['total_cycles_incl_prefetch']:,}, stalls "
            f"{ss['stall_cycles']:,}; DRAM words read {ss['dram_ifmap_reads'] + ss['dram_filter_reads']:,}, "
            f"written {ss['dram_ofmap_writes']:,}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Price the GEMM and print the cost (bad values raise :class:`ModelInputError`: exit 2)."""
    engine, gemm, hw, objective = _build(args)
    result = engine.search(gemm, hw, objective)  # type: ignore[arg-type]
    out = report(engine, gemm, hw, result.mapping, result.cost, result.n_evaluated)
    if result.mapping.nest == "scalesim":
        out["scalesim"] = scalesim_block(engine, gemm, hw, result.mapping)
    from dse._physical import hardware_warnings

    for text in hardware_warnings(hw, out["area_mm2"]):
        print(f"warning: {text}", file=sys.stderr)
    print(json.dumps(out, indent=2) if args.json else _table(out))
    return 0
