"""``hls`` target: a C++17 header of ``constexpr`` design parameters and a Vitis HLS script.

Files:

* ``<stem>_hls_params.hpp``: namespace ``tnn_dse::<stem>`` with the array (``PE_ROWS``,
  ``PE_COLS``), buffer sizes in bytes, the ``Dataflow`` enum (``DATAFLOW``: the one to build;
  ``DATAFLOW_MASK``: all the hardware allows), ``BITS``, ``ACC_BITS``, ``FREQ_MHZ``,
  ``DRAM_BW_BYTES_PER_CYCLE``, ``ELEM_BYTES`` / ``ACC_BYTES``, ``FPGA_PART``; per layer
  (namespace ``layer_<name>``) the features, TT shapes and ranks; per layer and pass the
  contraction schedule as a ``constexpr Gemm`` table of ``{lhs, rhs, batch, m, n, k, dataflow,
  tile_m, tile_n, tile_k, loop_order, fused, segment, token_tile, n_tiles}`` (``C[b,m,n] =
  A[b,m,k] B[b,k,n]``, the step's mapping and its place in the execution schedule) and the
  intermediates the schedule keeps on chip (``SCHEDULE_<pass>_ON_CHIP``); and a global ``PASSES``
  table ``{layer, pass, steps, n_steps, count}``.
  ``static_assert`` checks shape products against features, positive buffer sizes, a non-empty
  array and that every step's A and B tiles fit half of their buffers (double buffering).
* ``<stem>_hls_top.cpp``: the synthesizable top ``tnn_dse_gemm`` that runs one step with its
  mapping: on-chip A / B tile buffers of half the design's ifmap / filter buffers, the C tile in
  the ofmap buffer (or spilled to DRAM when it does not fit), the tile loops in the step's loop
  order, and inside a tile the PE-array loop nest of the step's dataflow (weight, output or
  input stationary; only the dataflows the hardware allows are generated). Operands are
  ``ap_int<BITS>`` / ``ap_int<ACC_BITS>`` when ``ap_int.h`` is available (Vitis HLS), the
  smallest ``std::int*_t`` holding them otherwise.
* ``<stem>_hls.tcl``: ``open_project``, ``set_top tnn_dse_gemm``, ``add_files``,
  ``open_solution``, ``set_part`` (``dse export --fpga-part PART``; default
  :data:`~dse.export.DEFAULT_FPGA_PART`, an Alveo U250), ``create_clock -period`` =
  1000 / ``freq_mhz`` ns, ``csynth_design``.
"""

from __future__ import annotations

import math
from pathlib import Path

from dse import Design, Metrics
from dse.export._gemms import buffer_bytes, dominant_dataflow, ident, lowered_gemms
from dse.export._registry import DEFAULT_EXPORT_OPTIONS, DEFAULT_FPGA_PART, ExportOptions, register_exporter

DEFAULT_PART = DEFAULT_FPGA_PART
TOP_FUNCTION = "tnn_dse_gemm"
_DF = {"ws": "WS", "os": "OS", "is": "IS"}
_DF_BIT = {"ws": 1, "os": 2, "is": 4}


def clock_period_ns(freq_mhz: float) -> float:
    """Clock period in ns of a clock of ``freq_mhz`` MHz."""
    return 1000.0 / freq_mhz


def _int_array(name: str, values: tuple[int, ...] | list[int]) -> str:
    return f"constexpr std::int64_t {name}[] = {{{', '.join(str(v) for v in values)}}};"


def header_text(design: Design, metrics: Metrics, stem: str, fpga_part: str = DEFAULT_FPGA_PART) -> str:
    """The C++17 parameter header (``FPGA_PART`` records the part the Tcl script targets)."""
    hw = design.hardware
    dataflow, why = dominant_dataflow(design, metrics)
    mask = sum(_DF_BIT[d] for d in hw.dataflows)
    ns = ident(stem)
    gemms = lowered_gemms(design, metrics)
    lines = [
        f"// Design parameters exported by TNN-DSE (design {stem}). C++17.",
        "#pragma once",
        "#include <cstdint>",
        "",
        "namespace tnn_dse {",
        "",
        "enum class Dataflow : std::uint8_t { WS = 1, OS = 2, IS = 4 };",
        "",
        "/// Outer tile loops, outermost first (the letters of the model's loop order).",
        "enum class LoopOrder : std::uint8_t { MNK, MKN, NMK, NKM, KMN, KNM };",
        "",
        "/// One lowered contraction C[b,m,n] = A[b,m,k] * B[b,k,n] (A = ifmap, B = filter) and its",
        "/// mapping: dataflow, on-chip tile (elements) and tile loop order. A step of a fused segment",
        "/// (fused = true) runs on chip, token tile by token tile (token_tile tokens, n_tiles tiles):",
        "/// its tile is the tile GEMM, its operands the segment's resident intermediates and cores;",
        "/// segment numbers the pass's segments in execution order (the execution schedule).",
        "struct Gemm {",
        "  const char* lhs;",
        "  const char* rhs;",
        "  std::int64_t batch, m, n, k;",
        "  Dataflow dataflow;",
        "  std::int64_t tile_m, tile_n, tile_k;",
        "  LoopOrder loop_order;",
        "  bool fused;",
        "  int segment;",
        "  std::int64_t token_tile, n_tiles;",
        "};",
        "",
        "/// The contraction schedule of one layer and pass.",
        "struct Pass {",
        "  const char* layer;",
        "  const char* pass;",
        "  const Gemm* steps;",
        "  int n_steps;",
        "  int count;",
        "};",
        "",
        "constexpr std::int64_t product(const std::int64_t* v, int n) {",
        "  std::int64_t p = 1;",
        "  for (int i = 0; i < n; ++i) p *= v[i];",
        "  return p;",
        "}",
        "",
        "}  // namespace tnn_dse",
        "",
        f"namespace tnn_dse::{ns} {{",
        "",
        f"constexpr int PE_ROWS = {hw.pe_rows};",
        f"constexpr int PE_COLS = {hw.pe_cols};",
        f"constexpr std::int64_t IFMAP_BUFFER_BYTES = {buffer_bytes(hw.ifmap_sram_kb)};",
        f"constexpr std::int64_t FILTER_BUFFER_BYTES = {buffer_bytes(hw.filter_sram_kb)};",
        f"constexpr std::int64_t OFMAP_BUFFER_BYTES = {buffer_bytes(hw.ofmap_sram_kb)};",
        f"constexpr int BITS = {hw.bits};",
        f"constexpr int ACC_BITS = {hw.acc_bits};",
        f"constexpr int ELEM_BYTES = {elem_bytes(hw.bits)};  // one operand in memory",
        f"constexpr int ACC_BYTES = {elem_bytes(hw.acc_bits)};  // one partial sum in memory",
        f"constexpr double FREQ_MHZ = {hw.freq_mhz!r};",
        f"constexpr double DRAM_BW_BYTES_PER_CYCLE = {hw.dram_bw_bytes_per_cycle!r};",
        f'constexpr const char* FPGA_PART = "{fpga_part}";  // dse export --fpga-part',
        f"// {why}",
        f"constexpr Dataflow DATAFLOW = Dataflow::{_DF[dataflow]};",
        f"constexpr unsigned DATAFLOW_MASK = {mask}u;  // WS = 1, OS = 2, IS = 4",
        "",
        'static_assert(PE_ROWS > 0 && PE_COLS > 0, "empty PE array");',
        "static_assert(IFMAP_BUFFER_BYTES > 0 && FILTER_BUFFER_BYTES > 0 && OFMAP_BUFFER_BYTES > 0,",
        '              "buffer bytes must be > 0");',
        'static_assert(BITS > 0 && ACC_BITS >= BITS, "need 0 < BITS <= ACC_BITS");',
        "static_assert((DATAFLOW_MASK & static_cast<unsigned>(DATAFLOW)) != 0u,",
        '              "DATAFLOW must be one the hardware allows");',
        "",
    ]
    by_pass: dict[tuple[str, str], list[str]] = {}
    for g in gemms:
        s = g.step
        tm, tn, tk = (s.tile_m or s.m, s.tile_n or s.n, s.tile_k or s.k)
        order = (s.loop_order or "mnk").upper()
        by_pass.setdefault((g.layer, g.pass_name), []).append(
            f'    {{"{s.lhs}", "{s.rhs}", {s.batch}, {s.m}, {s.n}, {s.k}, Dataflow::{_DF[g.dataflow]}, '
            f"{tm}, {tn}, {tk}, LoopOrder::{order}, {'true' if s.fused else 'false'}, {s.segment}, "
            f"{s.token_tile}, {s.n_tiles}}},"
        )
    pass_rows: list[str] = []
    for spec in design.workload.layers:
        lns = f"layer_{ident(spec.name)}"
        lines += [f"namespace {lns} {{", ""]
        lines += [
            f"constexpr std::int64_t IN_FEATURES = {spec.in_features};",
            f"constexpr std::int64_t OUT_FEATURES = {spec.out_features};",
            f"constexpr int COUNT = {spec.count};",
            f"constexpr int N_CORES = {len(spec.in_shape)};",
        ]
        if spec.in_shape and spec.out_shape:
            lines += [_int_array("IN_SHAPE", spec.in_shape), _int_array("OUT_SHAPE", spec.out_shape)]
            for shape, feat, label in (
                (spec.in_shape, "IN_FEATURES", "in"),
                (spec.out_shape, "OUT_FEATURES", "out"),
            ):
                total = "IN_FEATURES" if label == "in" else "OUT_FEATURES"
                if math.prod(shape) == (spec.in_features if label == "in" else spec.out_features):
                    lines.append(
                        f"static_assert(product({label.upper()}_SHAPE, {len(shape)}) == {total}, "
                        f'"{label}_shape product != {feat.lower()}");'
                    )
                else:
                    lines.append(f"// {label}_shape is not a factorization of {feat.lower()} here")
        if spec.ranks:
            lines += [_int_array("RANKS", spec.ranks), f"constexpr int N_RANKS = {len(spec.ranks)};"]
        for p in metrics.passes:
            if p.layer != spec.name:
                continue
            rows = by_pass.get((p.layer, p.pass_name), [])
            table = f"SCHEDULE_{ident(p.pass_name)}"
            if rows:
                lines += [f"constexpr Gemm {table}[] = {{", *rows, "};"]
                steps_ref = f"{lns}::{table}"
            else:
                steps_ref = "nullptr"
            lines.append(f"constexpr int {table}_STEPS = {len(rows)};")
            if p.schedule is not None:
                on_chip = ", ".join(f'"{x}"' for x in p.schedule.on_chip)
                lines.append(
                    f"constexpr const char* {table}_ON_CHIP[] = {{{on_chip or 'nullptr'}}};  "
                    f"// intermediates kept in the buffers ({len(p.schedule.on_chip)}); "
                    f"execution {p.schedule.execution}, DRAM {p.schedule.dram_bytes:.0f} B of which "
                    f"{p.schedule.compulsory_bytes:.0f} B compulsory"
                )
            pass_rows.append(f'    {{"{p.layer}", "{p.pass_name}", {steps_ref}, {len(rows)}, {p.count}}},')
        lines += ["", f"}}  // namespace {lns}", ""]
    if pass_rows:
        lines += ["constexpr Pass PASSES[] = {", *pass_rows, "};"]
    else:
        lines.append("constexpr const Pass* PASSES = nullptr;")
    lines += [
        f"constexpr int N_PASSES = {len(pass_rows)};",
        f"constexpr int N_GEMMS = {len(gemms)};",
        "",
        "/// Every step fed from DRAM has A and B tiles that fit half of their buffers (the other half",
        "/// is the ping-pong buffer of the next tile), as the cost model assumed; the C tile may spill.",
        "/// (Fused steps work on resident tensors: their capacity is the schedule's, checked by the model.)",
        "constexpr bool tiles_fit() {",
        "  for (int i = 0; i < N_PASSES; ++i)",
        "    for (int s = 0; s < PASSES[i].n_steps; ++s) {",
        "      const Gemm& g = PASSES[i].steps[s];",
        "      if (g.fused) continue;",
        "      if (2 * g.tile_m * g.tile_k * BITS > 8 * IFMAP_BUFFER_BYTES) return false;",
        "      if (2 * g.tile_k * g.tile_n * BITS > 8 * FILTER_BUFFER_BYTES) return false;",
        "    }",
        "  return true;",
        "}",
        'static_assert(tiles_fit(), "a step\'s A or B tile does not fit half of its buffer");' if pass_rows else "",
        "",
        f"}}  // namespace tnn_dse::{ns}",
        "",
    ]
    return "\n".join(lines)


def elem_bytes(bits: int) -> int:
    """Bytes one ``bits``-bit value takes in memory (rounded up to a power of two)."""
    size = 1
    while size * 8 < bits:
        size *= 2
    return size


_STD_INT = {1: "std::int8_t", 2: "std::int16_t", 4: "std::int32_t", 8: "std::int64_t"}

_KERNELS = {
    "ws": """// Weight stationary: a PE_ROWS x PE_COLS block of the B tile (k x n) stays in the array while
// the rows of the A tile stream through; each column reduces over the block's k.
static void block_ws(const elem_t* a_buf, const elem_t* b_buf, acc_t* c_out, int ldc, int tm, int tn, int tk) {
  for (int k0 = 0; k0 < tk; k0 += p::PE_ROWS) {
    for (int n0 = 0; n0 < tn; n0 += p::PE_COLS) {
      elem_t w[p::PE_ROWS][p::PE_COLS];
#pragma HLS ARRAY_PARTITION variable = w complete dim = 0
      for (int i = 0; i < p::PE_ROWS; ++i)
        for (int j = 0; j < p::PE_COLS; ++j)
          w[i][j] = (k0 + i < tk && n0 + j < tn) ? b_buf[(k0 + i) * tn + n0 + j] : elem_t(0);
      for (int mm = 0; mm < tm; ++mm) {
#pragma HLS PIPELINE II = 1
        for (int j = 0; j < p::PE_COLS; ++j) {
          acc_t sum = 0;
          for (int i = 0; i < p::PE_ROWS; ++i)
            if (k0 + i < tk) sum += static_cast<acc_t>(a_buf[mm * tk + k0 + i]) * static_cast<acc_t>(w[i][j]);
          if (n0 + j < tn) c_out[mm * ldc + n0 + j] += sum;
        }
      }
    }
  }
}
""",
    "os": """// Output stationary: a PE_ROWS x PE_COLS block of the C tile (m x n) accumulates in the array
// while the tile's k streams through.
static void block_os(const elem_t* a_buf, const elem_t* b_buf, acc_t* c_out, int ldc, int tm, int tn, int tk) {
  for (int m0 = 0; m0 < tm; m0 += p::PE_ROWS) {
    for (int n0 = 0; n0 < tn; n0 += p::PE_COLS) {
      acc_t acc[p::PE_ROWS][p::PE_COLS];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 0
      for (int i = 0; i < p::PE_ROWS; ++i)
        for (int j = 0; j < p::PE_COLS; ++j) acc[i][j] = 0;
      for (int kk = 0; kk < tk; ++kk) {
#pragma HLS PIPELINE II = 1
        for (int i = 0; i < p::PE_ROWS; ++i)
          for (int j = 0; j < p::PE_COLS; ++j)
            if (m0 + i < tm && n0 + j < tn)
              acc[i][j] += static_cast<acc_t>(a_buf[(m0 + i) * tk + kk]) * static_cast<acc_t>(b_buf[kk * tn + n0 + j]);
      }
      for (int i = 0; i < p::PE_ROWS; ++i)
        for (int j = 0; j < p::PE_COLS; ++j)
          if (m0 + i < tm && n0 + j < tn) c_out[(m0 + i) * ldc + n0 + j] += acc[i][j];
    }
  }
}
""",
    "is": """// Input stationary: a PE_ROWS x PE_COLS block of the A tile (k x m, transposed) stays in the
// array while the columns of the B tile stream through; each column reduces over the block's k.
static void block_is(const elem_t* a_buf, const elem_t* b_buf, acc_t* c_out, int ldc, int tm, int tn, int tk) {
  for (int k0 = 0; k0 < tk; k0 += p::PE_ROWS) {
    for (int m0 = 0; m0 < tm; m0 += p::PE_COLS) {
      elem_t x[p::PE_ROWS][p::PE_COLS];
#pragma HLS ARRAY_PARTITION variable = x complete dim = 0
      for (int i = 0; i < p::PE_ROWS; ++i)
        for (int j = 0; j < p::PE_COLS; ++j)
          x[i][j] = (k0 + i < tk && m0 + j < tm) ? a_buf[(m0 + j) * tk + k0 + i] : elem_t(0);
      for (int nn = 0; nn < tn; ++nn) {
#pragma HLS PIPELINE II = 1
        for (int j = 0; j < p::PE_COLS; ++j) {
          acc_t sum = 0;
          for (int i = 0; i < p::PE_ROWS; ++i)
            if (k0 + i < tk) sum += static_cast<acc_t>(x[i][j]) * static_cast<acc_t>(b_buf[(k0 + i) * tn + nn]);
          if (m0 + j < tm) c_out[(m0 + j) * ldc + nn] += sum;
        }
      }
    }
  }
}
""",
}


def top_text(stem: str, design: Design | None = None) -> str:
    """The synthesizable top: one GEMM step of the schedule, run with the step's mapping.

    The A and B tiles live in on-chip buffers of half the design's ifmap / filter buffers (the
    other half is the ping-pong buffer of the next tile, as the cost model assumes); the C tile
    accumulates in the ofmap buffer when it fits there, else in DRAM (a spill, as in the model).
    The tile loops run in the step's loop order; inside a tile, the PE-array block loop nest of
    the step's dataflow (only those the hardware allows are generated). Operands are
    ``ap_int<BITS>`` / ``ap_int<ACC_BITS>`` under Vitis HLS, the smallest ``std::int*_t``
    holding them elsewhere (plain C++ compilers).
    """
    ns = ident(stem)
    hw = design.hardware if design is not None else None
    dataflows = hw.dataflows if hw is not None else ("ws", "os", "is")
    bits = hw.bits if hw is not None else 8
    acc_bits = hw.acc_bits if hw is not None else 32
    kernels = "\n".join(_KERNELS[d] for d in ("ws", "os", "is") if d in dataflows)
    dispatch = "\n".join(
        f"    {'if' if i == 0 else 'else if'} (dataflow == static_cast<int>(tnn_dse::Dataflow::{_DF[d]})) "
        f"block_{d}(a_buf, b_buf, c_out, ldc, tm, tn, tk);"
        for i, d in enumerate(d for d in ("ws", "os", "is") if d in dataflows)
    )
    return f"""// HLS top exported by TNN-DSE (design {stem}): one step of the contraction schedule,
// C[m,n] = A[m,k] * B[k,n], run with the step's mapping (dataflow, tile, loop order) on a
// PE_ROWS x PE_COLS array; the caller zeroes C and loops over the step's batch.
#include <cstdint>
#include "{stem}_hls_params.hpp"

#if defined(__has_include)
#if __has_include(<ap_int.h>)
#include <ap_int.h>
#define TNN_DSE_AP_INT 1
#endif
#endif

namespace p = tnn_dse::{ns};
#ifdef TNN_DSE_AP_INT
using elem_t = ap_int<p::BITS>;
using acc_t = ap_int<p::ACC_BITS>;
#else
using elem_t = {_STD_INT[elem_bytes(bits)]};  // holds BITS-bit operands
using acc_t = {_STD_INT[elem_bytes(acc_bits)]};  // holds ACC_BITS-bit sums
#endif

// On-chip buffers, in elements of BITS (ACC_BITS) bits: half of the ifmap / filter buffers per
// tile (double buffering), the whole ofmap buffer for the C tile.
constexpr int A_TILE_WORDS = static_cast<int>(p::IFMAP_BUFFER_BYTES * 8 / 2 / p::BITS);
constexpr int B_TILE_WORDS = static_cast<int>(p::FILTER_BUFFER_BYTES * 8 / 2 / p::BITS);
constexpr int C_TILE_WORDS = static_cast<int>(p::OFMAP_BUFFER_BYTES * 8 / p::ACC_BITS);
static_assert(A_TILE_WORDS > 0 && B_TILE_WORDS > 0 && C_TILE_WORDS > 0, "buffers hold no element");

{kernels}
// Outer tile loop: tile t of a ({{m, n, k}} tiles) grid, decoded in the given loop order.
static void tile_index(int t, int order, int nm, int nn, int nk, int& im, int& in, int& ik) {{
  static const int DIMS[6][3] = {{{{0, 1, 2}}, {{0, 2, 1}}, {{1, 0, 2}}, {{1, 2, 0}}, {{2, 0, 1}}, {{2, 1, 0}}}};
  const int counts[3] = {{nm, nn, nk}};
  int idx[3] = {{0, 0, 0}};
  int rest = t;
  for (int level = 2; level >= 0; --level) {{
    const int d = DIMS[order][level];
    idx[d] = rest % counts[d];
    rest /= counts[d];
  }}
  im = idx[0];
  in = idx[1];
  ik = idx[2];
}}

void {TOP_FUNCTION}(const elem_t* a, const elem_t* b, acc_t* c, int m, int n, int k, int tile_m, int tile_n,
                  int tile_k, int loop_order, int dataflow) {{
#pragma HLS INTERFACE m_axi port = a offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = b offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = c offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = m
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = k
#pragma HLS INTERFACE s_axilite port = tile_m
#pragma HLS INTERFACE s_axilite port = tile_n
#pragma HLS INTERFACE s_axilite port = tile_k
#pragma HLS INTERFACE s_axilite port = loop_order
#pragma HLS INTERFACE s_axilite port = dataflow
#pragma HLS INTERFACE s_axilite port = return
  static elem_t a_buf[A_TILE_WORDS];
  static elem_t b_buf[B_TILE_WORDS];
  static acc_t c_buf[C_TILE_WORDS];
  const int nm = (m + tile_m - 1) / tile_m, nn = (n + tile_n - 1) / tile_n, nk = (k + tile_k - 1) / tile_k;
  const bool c_on_chip = tile_m * tile_n <= C_TILE_WORDS;
  for (int t = 0; t < nm * nn * nk; ++t) {{
    int im = 0, in = 0, ik = 0;
    tile_index(t, loop_order, nm, nn, nk, im, in, ik);
    const int m0 = im * tile_m, n0 = in * tile_n, k0 = ik * tile_k;
    const int tm = m - m0 < tile_m ? m - m0 : tile_m;
    const int tn = n - n0 < tile_n ? n - n0 : tile_n;
    const int tk = k - k0 < tile_k ? k - k0 : tile_k;
    for (int i = 0; i < tm; ++i)
      for (int kk = 0; kk < tk; ++kk) a_buf[i * tk + kk] = a[(m0 + i) * k + k0 + kk];
    for (int kk = 0; kk < tk; ++kk)
      for (int j = 0; j < tn; ++j) b_buf[kk * tn + j] = b[(k0 + kk) * n + n0 + j];
    // the C tile accumulates on chip when it fits the ofmap buffer, else in DRAM (a spill)
    acc_t* c_out = c_on_chip ? c_buf : c + m0 * n + n0;
    const int ldc = c_on_chip ? tn : n;
    if (c_on_chip)
      for (int i = 0; i < tm * tn; ++i) c_buf[i] = 0;
{dispatch}
    if (c_on_chip)
      for (int i = 0; i < tm; ++i)
        for (int j = 0; j < tn; ++j) c[(m0 + i) * n + n0 + j] += c_buf[i * tn + j];
  }}
}}
"""


def tcl_text(design: Design, stem: str, fpga_part: str = DEFAULT_FPGA_PART) -> str:
    """The Vitis HLS synthesis script for ``fpga_part``."""
    period = clock_period_ns(design.hardware.freq_mhz)
    return f"""# Vitis HLS script exported by TNN-DSE (design {stem}). Run: vitis_hls -f {stem}_hls.tcl
open_project -reset {stem}_hls
set_top {TOP_FUNCTION}
add_files {stem}_hls_top.cpp -cflags "-std=c++17"
add_files {stem}_hls_params.hpp
open_solution -reset solution1 -flow_target vivado
# Target device (dse export --fpga-part; default {DEFAULT_FPGA_PART}, an Alveo U250).
set_part {{{fpga_part}}}
# {design.hardware.freq_mhz:g} MHz
create_clock -period {period:.6g} -name default
csynth_design
exit
"""


def export_hls(
    design: Design, metrics: Metrics, out_dir: Path, stem: str, options: ExportOptions = DEFAULT_EXPORT_OPTIONS
) -> list[Path]:
    """Write the parameter header, the HLS top and the Tcl script."""
    out_dir.mkdir(parents=True, exist_ok=True)
    header = out_dir / f"{stem}_hls_params.hpp"
    header.write_text(header_text(design, metrics, stem, options.fpga_part), encoding="utf-8")
    top = out_dir / f"{stem}_hls_top.cpp"
    top.write_text(top_text(stem, design), encoding="utf-8")
    tcl = out_dir / f"{stem}_hls.tcl"
    tcl.write_text(tcl_text(design, stem, options.fpga_part), encoding="utf-8")
    return [header, top, tcl]


register_exporter("hls", export_hls)
