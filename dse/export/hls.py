"""``hls`` target: a C++17 header of ``constexpr`` design parameters and a Vitis HLS script.

Files:

* ``<stem>_hls_params.hpp``: namespace ``tnn_dse::<stem>`` with the array (``PE_ROWS``,
  ``PE_COLS``), buffer sizes in bytes, the ``Dataflow`` enum (``DATAFLOW``: the one to build;
  ``DATAFLOW_MASK``: all the hardware allows), ``BITS``, ``ACC_BITS``, ``FREQ_MHZ``,
  ``DRAM_BW_BYTES_PER_CYCLE``; per layer (namespace ``layer_<name>``) the features, TT shapes
  and ranks; per layer and pass the contraction schedule as a ``constexpr Gemm`` table of
  ``{lhs, rhs, batch, m, n, k, dataflow}`` (``C[b,m,n] = A[b,m,k] B[b,k,n]``); and a global
  ``PASSES`` table ``{layer, pass, steps, n_steps, count}``. ``static_assert`` checks shape
  products against features, positive buffer sizes and a non-empty array.
* ``<stem>_hls_top.cpp``: a small synthesizable top ``tnn_dse_gemm`` (one tiled GEMM on a
  ``PE_ROWS x PE_COLS`` block with partitioned local buffers) that includes the header.
* ``<stem>_hls.tcl``: ``open_project``, ``set_top tnn_dse_gemm``, ``add_files``,
  ``open_solution``, ``set_part`` (an Alveo U250 part by default; edit to your board),
  ``create_clock -period`` = 1000 / ``freq_mhz`` ns, ``csynth_design``.
"""

from __future__ import annotations

import math
from pathlib import Path

from dse import Design, Metrics
from dse.export._gemms import buffer_bytes, dominant_dataflow, ident, lowered_gemms
from dse.export._registry import register_exporter

DEFAULT_PART = "xcu250-figd2104-2L-e"
TOP_FUNCTION = "tnn_dse_gemm"
_DF = {"ws": "WS", "os": "OS", "is": "IS"}
_DF_BIT = {"ws": 1, "os": 2, "is": 4}


def clock_period_ns(freq_mhz: float) -> float:
    """Clock period in ns of a clock of ``freq_mhz`` MHz."""
    return 1000.0 / freq_mhz


def _int_array(name: str, values: tuple[int, ...] | list[int]) -> str:
    return f"constexpr std::int64_t {name}[] = {{{', '.join(str(v) for v in values)}}};"


def header_text(design: Design, metrics: Metrics, stem: str) -> str:
    """The C++17 parameter header."""
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
        "/// One lowered contraction C[b,m,n] = A[b,m,k] * B[b,k,n] (A = ifmap, B = filter).",
        "struct Gemm {",
        "  const char* lhs;",
        "  const char* rhs;",
        "  std::int64_t batch, m, n, k;",
        "  Dataflow dataflow;",
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
        f"constexpr double FREQ_MHZ = {hw.freq_mhz!r};",
        f"constexpr double DRAM_BW_BYTES_PER_CYCLE = {hw.dram_bw_bytes_per_cycle!r};",
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
        by_pass.setdefault((g.layer, g.pass_name), []).append(
            f'    {{"{s.lhs}", "{s.rhs}", {s.batch}, {s.m}, {s.n}, {s.k}, Dataflow::{_DF[g.dataflow]}}},'
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
        f"}}  // namespace tnn_dse::{ns}",
        "",
    ]
    return "\n".join(lines)


def top_text(stem: str) -> str:
    """A small synthesizable GEMM top using the header's array and precision."""
    ns = ident(stem)
    return f"""// HLS top exported by TNN-DSE (design {stem}): one tiled GEMM C = A * B on a
// PE_ROWS x PE_COLS block. A schedule from the header drives it one step at a time.
#include <cstdint>
#include "{stem}_hls_params.hpp"

namespace p = tnn_dse::{ns};
using elem_t = std::int32_t;  // holds BITS-bit operands
using acc_t = std::int64_t;   // holds ACC_BITS-bit sums

void {TOP_FUNCTION}(const elem_t* a, const elem_t* b, acc_t* c, int m, int n, int k) {{
#pragma HLS INTERFACE m_axi port = a offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = b offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = c offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = m
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = k
#pragma HLS INTERFACE s_axilite port = return
  acc_t tile[p::PE_ROWS][p::PE_COLS];
#pragma HLS ARRAY_PARTITION variable = tile complete dim = 0
  for (int i0 = 0; i0 < m; i0 += p::PE_ROWS) {{
    for (int j0 = 0; j0 < n; j0 += p::PE_COLS) {{
      for (int i = 0; i < p::PE_ROWS; ++i)
        for (int j = 0; j < p::PE_COLS; ++j) tile[i][j] = 0;
      for (int kk = 0; kk < k; ++kk) {{
#pragma HLS PIPELINE II = 1
        for (int i = 0; i < p::PE_ROWS; ++i) {{
          for (int j = 0; j < p::PE_COLS; ++j) {{
            if (i0 + i < m && j0 + j < n) {{
              tile[i][j] += static_cast<acc_t>(a[(i0 + i) * k + kk]) * b[kk * n + j0 + j];
            }}
          }}
        }}
      }}
      for (int i = 0; i < p::PE_ROWS; ++i)
        for (int j = 0; j < p::PE_COLS; ++j)
          if (i0 + i < m && j0 + j < n) c[(i0 + i) * n + j0 + j] = tile[i][j];
    }}
  }}
}}
"""


def tcl_text(design: Design, stem: str) -> str:
    """The Vitis HLS synthesis script."""
    period = clock_period_ns(design.hardware.freq_mhz)
    return f"""# Vitis HLS script exported by TNN-DSE (design {stem}). Run: vitis_hls -f {stem}_hls.tcl
open_project -reset {stem}_hls
set_top {TOP_FUNCTION}
add_files {stem}_hls_top.cpp -cflags "-std=c++17"
add_files {stem}_hls_params.hpp
open_solution -reset solution1 -flow_target vivado
# Target device: edit to your board.
set_part {{{DEFAULT_PART}}}
# {design.hardware.freq_mhz:g} MHz
create_clock -period {period:.6g} -name default
csynth_design
exit
"""


def export_hls(design: Design, metrics: Metrics, out_dir: Path, stem: str) -> list[Path]:
    """Write the parameter header, the HLS top and the Tcl script."""
    out_dir.mkdir(parents=True, exist_ok=True)
    header = out_dir / f"{stem}_hls_params.hpp"
    header.write_text(header_text(design, metrics, stem), encoding="utf-8")
    top = out_dir / f"{stem}_hls_top.cpp"
    top.write_text(top_text(stem), encoding="utf-8")
    tcl = out_dir / f"{stem}_hls.tcl"
    tcl.write_text(tcl_text(design, stem), encoding="utf-8")
    return [header, top, tcl]


register_exporter("hls", export_hls)
