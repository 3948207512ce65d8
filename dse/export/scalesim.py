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
  last field, hence the trailing comma), one row per *distinct* GEMM shape
  ``C[M,N] = A[M,K] B[K,N]`` (A = ifmap, B = filter) among the lowered contraction steps of
  every layer and pass, named after the first step of that shape (``<layer>_<pass>_s<i>``).
  SCALE-Sim's GEMM rows have no repeat count (a fifth field is read as a sparsity ratio), so:
* ``<stem>_scalesim_multiplicity.csv``: ``Layer, Runs, Steps``: how many times each topology
  row runs per training (or inference) step, and which steps it stands for
  (``<step>*<runs>``). A step of batch ``b`` (a different B per batch element: folding the batch
  into M would be exact only for a shared B and changes the fold count) of a layer with
  ``count`` instances runs ``b x count`` times. Total cycles = sum of each row's SCALE-Sim
  cycles x its ``Runs``.
* ``<stem>_scalesim_layout.csv``: the (header-only) layout file SCALE-Sim 3.0.0 requires even
  with custom layouts off.

Run: ``python -c "from scalesim.scale_sim import scalesim; s = scalesim(config=CFG,
topology=TOPO, layout=LAYOUT, input_type_gemm=True); s.run_scale(top_path=OUT)"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dse import Design, Metrics
from dse.export._gemms import ceil_kb, dominant_dataflow, lowered_gemms
from dse.export._registry import DEFAULT_EXPORT_OPTIONS, ExportOptions, register_exporter


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


@dataclass(frozen=True, slots=True)
class TopologyRow:
    """One distinct GEMM of the topology and the steps it stands for.

    Attributes:
        name: the first step of this shape (``<layer>_<pass>_s<i>``).
        m, n, k: the GEMM ``C[M,N] = A[M,K] B[K,N]``.
        runs: times it runs per training (or inference) step: over its steps, ``batch x count``.
        steps: ``(step name, runs of that step)`` in evaluation order.
    """

    name: str
    m: int
    n: int
    k: int
    runs: int
    steps: tuple[tuple[str, int], ...]


def distinct_gemms(design: Design, metrics: Metrics) -> list[TopologyRow]:
    """The design's lowered steps grouped by GEMM shape (first occurrence order)."""
    groups: dict[tuple[int, int, int], list[tuple[str, int]]] = {}
    for g in lowered_gemms(design, metrics):
        s = g.step
        groups.setdefault((s.m, s.n, s.k), []).append((g.name, s.batch * g.count))
    return [
        TopologyRow(steps[0][0], m, n, k, sum(r for _, r in steps), tuple(steps)) for (m, n, k), steps in groups.items()
    ]


def topology_rows(design: Design, metrics: Metrics) -> list[tuple[str, int, int, int]]:
    """``(name, M, N, K)`` rows of the topology file: one per distinct GEMM shape."""
    return [(r.name, r.m, r.n, r.k) for r in distinct_gemms(design, metrics)]


def export_scalesim(
    design: Design, metrics: Metrics, out_dir: Path, stem: str, options: ExportOptions = DEFAULT_EXPORT_OPTIONS
) -> list[Path]:
    """Write the SCALE-Sim cfg, topology and layout files; returns their paths."""
    hw = design.hardware
    out_dir.mkdir(parents=True, exist_ok=True)
    dataflow, why = dominant_dataflow(design, metrics)
    bw = bandwidth_words_per_cycle(design)
    gemms = lowered_gemms(design, metrics)
    distinct = distinct_gemms(design, metrics)
    runs = sum(r.runs for r in distinct)
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
    notes.append(
        f"# Topology: {len(distinct)} distinct GEMMs for {len(gemms)} contraction steps ({runs} GEMM runs per "
        f"step of the workload); multiply each row's cycles by its Runs in {stem}_scalesim_multiplicity.csv."
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
    lines += [f"{r.name}, {r.m}, {r.n}, {r.k}," for r in distinct]
    topo.write_text("\n".join(lines) + "\n", encoding="utf-8")
    layout = out_dir / f"{stem}_scalesim_layout.csv"
    layout.write_text("Layer,\n", encoding="utf-8")
    mult = out_dir / f"{stem}_scalesim_multiplicity.csv"
    rows = ["Layer,Runs,Steps"] + [f"{r.name},{r.runs},{' '.join(f'{n}*{k}' for n, k in r.steps)}" for r in distinct]
    mult.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return [cfg, topo, layout, mult]


register_exporter("scalesim", export_scalesim)
