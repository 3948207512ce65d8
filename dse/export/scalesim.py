"""``scalesim`` target: a SCALE-Sim v3 configuration and GEMM topology of a design.

Files:

* ``<stem>_scalesim.cfg``: ``[architecture_presets]`` ArrayHeight = ``pe_rows``, ArrayWidth =
  ``pe_cols``, the three SRAMs in whole kB (rounded up, at least 1), the dataflow, and the DRAM
  interface in USER mode with ``Bandwidth`` (and the ifmap / filter bank bandwidths, which
  SCALE-Sim 3.0.0 uses for the fill side) = ``dram_bw_bytes_per_cycle`` / bytes per element,
  rounded down, at least 1 word per cycle. SCALE-Sim runs one dataflow: when the hardware allows
  several, the dataflow of the most cycles-heavy step is written and a comment says so.
  SCALE-Sim has no operand precision: its words are elements, its SRAM sizes are physical kB.
* ``<stem>_scalesim_topology.csv``: the GEMM topology (``Layer, M, N, K,``; SCALE-Sim drops the
  last field, hence the trailing comma), one row per lowered contraction step of every layer and
  pass, named ``<layer>_<pass>_s<i>``, ``C[M,N] = A[M,K] B[K,N]`` with A = ifmap, B = filter.
  A batched step (``batch > 1``, a different B per batch element) becomes ``batch`` repeated
  rows ``<name>_b<j>``: folding the batch into M would be exact only for a shared B and changes
  the fold count. A layer with ``count > 1`` keeps one row per step (the cfg comment lists the
  counts); multiply its cycles by the count.
* ``<stem>_scalesim_layout.csv``: the (header-only) layout file SCALE-Sim 3.0.0 requires even
  with custom layouts off.

Run: ``python -c "from scalesim.scale_sim import scalesim; s = scalesim(config=CFG,
topology=TOPO, layout=LAYOUT, input_type_gemm=True); s.run_scale(top_path=OUT)"``.
"""

from __future__ import annotations

from pathlib import Path

from dse import Design, Metrics
from dse.export._gemms import ceil_kb, dominant_dataflow, lowered_gemms
from dse.export._registry import register_exporter


def scalesim_cfg_text(
    *,
    run_name: str,
    rows: int,
    cols: int,
    ifmap_kb: int,
    filter_kb: int,
    ofmap_kb: int,
    dataflow: str,
    bw_words: int,
    interface: str = "USER",
) -> str:
    """The body of a SCALE-Sim v3 ``.cfg`` (sections general .. run_presets).

    ``bw_words`` is the DRAM bandwidth in words per cycle (every port); ``interface`` is
    ``USER`` (bandwidth-limited) or ``CALC`` (SCALE-Sim computes the bandwidth it needs).
    """
    return f"""[general]
run_name = {run_name}

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
ifmapsramszkB = {ifmap_kb}
filtersramszkB = {filter_kb}
ofmapsramszkB = {ofmap_kb}
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = {bw_words}
Dataflow = {dataflow}
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = {bw_words}
IfmapSRAMBankNum = 1
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = {bw_words}
FilterSRAMBankNum = 1
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40

[run_presets]
InterfaceBandwidth = {interface}
UseRamulatorTrace = False
"""


def bandwidth_words_per_cycle(design: Design) -> int:
    """DRAM bandwidth in elements per cycle, rounded down, at least 1."""
    hw = design.hardware
    return max(1, int(hw.dram_bw_bytes_per_cycle // hw.bytes_per_element))


def topology_rows(design: Design, metrics: Metrics) -> list[tuple[str, int, int, int]]:
    """``(name, M, N, K)`` rows of the topology file (batched steps repeated)."""
    rows: list[tuple[str, int, int, int]] = []
    for g in lowered_gemms(design, metrics):
        s = g.step
        if s.batch == 1:
            rows.append((g.name, s.m, s.n, s.k))
        else:
            rows.extend((f"{g.name}_b{j}", s.m, s.n, s.k) for j in range(s.batch))
    return rows


def export_scalesim(design: Design, metrics: Metrics, out_dir: Path, stem: str) -> list[Path]:
    """Write the SCALE-Sim cfg, topology and layout files; returns their paths."""
    hw = design.hardware
    out_dir.mkdir(parents=True, exist_ok=True)
    dataflow, why = dominant_dataflow(design, metrics)
    bw = bandwidth_words_per_cycle(design)
    gemms = lowered_gemms(design, metrics)
    counted = sorted({(g.layer, g.count) for g in gemms if g.count > 1})
    batched = [g.name for g in gemms if g.step.batch > 1]
    notes = [
        f"# SCALE-Sim v3 configuration exported by TNN-DSE (design {stem}).",
        f"# Dataflow: {why}.",
        f"# Array: {hw.pe_rows} rows (ArrayHeight) x {hw.pe_cols} columns (ArrayWidth); engine {hw.engine}.",
        f"# SRAM kB rounded up from ifmap {hw.ifmap_sram_kb:g}, filter {hw.filter_sram_kb:g}, "
        f"ofmap {hw.ofmap_sram_kb:g} kB; {hw.bits}-bit operands, {hw.acc_bits}-bit accumulators "
        "(SCALE-Sim counts elements as 1-byte words).",
        f"# Bandwidth: {hw.dram_bw_bytes_per_cycle:g} B/cycle / {hw.bytes_per_element:g} B per "
        f"element -> {bw} words/cycle (USER mode; switch InterfaceBandwidth to CALC for an ideal "
        "memory).",
        f"# Clock {hw.freq_mhz:g} MHz (not a SCALE-Sim input).",
    ]
    if batched:
        notes.append("# Batched steps are repeated rows <name>_b<j> in the topology: " + ", ".join(batched))
    if counted:
        notes.append(
            "# Layers with several instances (multiply their rows' cycles): "
            + ", ".join(f"{name} x{count}" for name, count in counted)
        )
    cfg_text = (
        "\n".join(notes)
        + "\n\n"
        + scalesim_cfg_text(
            run_name=stem,
            rows=hw.pe_rows,
            cols=hw.pe_cols,
            ifmap_kb=ceil_kb(hw.ifmap_sram_kb),
            filter_kb=ceil_kb(hw.filter_sram_kb),
            ofmap_kb=ceil_kb(hw.ofmap_sram_kb),
            dataflow=dataflow,
            bw_words=bw,
            interface="USER",
        )
    )
    cfg = out_dir / f"{stem}_scalesim.cfg"
    cfg.write_text(cfg_text, encoding="utf-8")
    topo = out_dir / f"{stem}_scalesim_topology.csv"
    lines = ["Layer, M, N, K,"]
    lines += [f"{name}, {m}, {n}, {k}," for name, m, n, k in topology_rows(design, metrics)]
    topo.write_text("\n".join(lines) + "\n", encoding="utf-8")
    layout = out_dir / f"{stem}_scalesim_layout.csv"
    layout.write_text("Layer,\n", encoding="utf-8")
    return [cfg, topo, layout]


register_exporter("scalesim", export_scalesim)
