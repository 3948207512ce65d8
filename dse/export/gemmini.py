"""``gemmini`` target: a Gemmini ``GemminiArrayConfig`` and a ``gemmini_params.h`` preview.

Files:

* ``<stem>_gemmini_config.scala``: ``GemminiConfigs.defaultConfig.copy(...)`` with
  ``tileRows = tileColumns = 1``, ``meshRows = pe_rows``, ``meshColumns = pe_cols``, the
  dataflow (``Dataflow.OS`` / ``WS`` / ``BOTH``), ``sp_capacity`` = ifmap + filter buffers
  (Gemmini keeps A and B in one scratchpad), ``acc_capacity`` = ofmap buffer (both
  ``CapacityInKilobytes``, rounded up), ``sp_banks = 4``, ``acc_banks = 2`` (Gemmini's
  defaults), ``inputType = SInt(bits.W)``, ``accType = SInt(acc_bits.W)`` and
  ``spatialArrayOutputType`` wide enough for a column of DIM products.
* ``<stem>_gemmini_params.h``: what Gemmini's header generator would emit for that config
  (``DIM``, ``ADDR_LEN``, ``BANK_NUM``, ``BANK_ROWS``, ``ACC_ROWS``, ``MAX_BYTES``,
  ``MAX_BLOCK_LEN``, ``MAX_BLOCK_LEN_ACC``, ``elem_t`` / ``acc_t`` / ``full_t``).

Gemmini sizes follow its generator: ``sp_bank_entries = sp_kB * 1024 * 8 / (sp_banks * DIM *
inputWidth)`` and ``acc_bank_entries = acc_kB * 1024 * 8 / (acc_banks * DIM * accWidth)``,
``BANK_ROWS = sp_bank_entries``, ``ACC_ROWS = acc_banks * acc_bank_entries``.

Designs Gemmini cannot build raise :class:`ExportError` with the reason: a non-square mesh
(DIM = meshRows = meshColumns), DIM not a power of two, scratchpad bank rows not a power of
two or not a multiple of DIM, accumulator bank rows not a multiple of DIM, a step mapped to the
input-stationary dataflow (Gemmini runs OS and WS only), operand widths its C types cannot hold.
"""

from __future__ import annotations

import math
from pathlib import Path

from dse import Design, Metrics
from dse.export._gemms import ceil_kb, ident, lowered_gemms
from dse.export._registry import DEFAULT_EXPORT_OPTIONS, ExportError, ExportOptions, register_exporter

SP_BANKS = 4
"""Scratchpad banks (Gemmini's default)."""
ACC_BANKS = 2
"""Accumulator banks (Gemmini's default)."""
ADDR_LEN = 32
MAX_BYTES = 64
"""``dma_maxbytes`` of Gemmini's default config."""
_ELEM_TYPES = {8: "int8_t", 16: "int16_t", 32: "int32_t"}
_ACC_TYPES = {16: "int16_t", 32: "int32_t"}


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _pow2_neighbours(n: int) -> str:
    lo = 1 << max(0, n.bit_length() - 1)
    return f"{lo} or {lo * 2}" if lo != n else str(n)


def gemmini_dataflow(design: Design, metrics: Metrics) -> str:
    """``OS``, ``WS`` or ``BOTH``; :class:`ExportError` when a step needs input-stationary."""
    hw = design.hardware
    used = {g.dataflow for g in lowered_gemms(design, metrics)}
    if "is" in used or hw.dataflows == ("is",):
        steps = [g.name for g in lowered_gemms(design, metrics) if g.dataflow == "is"]
        where = f" (steps {', '.join(steps[:5])}{' ...' if len(steps) > 5 else ''})" if steps else ""
        raise ExportError(
            f"Gemmini cannot build this design: it maps to the input-stationary dataflow{where}; "
            "Gemmini's mesh runs output-stationary (OS) and weight-stationary (WS) only"
        )
    allowed = {d for d in hw.dataflows if d != "is"}
    if allowed == {"os"}:
        return "OS"
    if allowed == {"ws"}:
        return "WS"
    return "BOTH"


def gemmini_sizes(design: Design) -> dict[str, int]:
    """Gemmini's derived sizes of the design; :class:`ExportError` if Gemmini cannot build it."""
    hw = design.hardware
    if hw.pe_rows != hw.pe_cols:
        raise ExportError(
            f"Gemmini cannot build this design: its mesh is square (DIM x DIM), the design's PE "
            f"array is {hw.pe_rows} x {hw.pe_cols}"
        )
    dim = hw.pe_rows
    if not _is_pow2(dim):
        raise ExportError(
            f"Gemmini cannot build this design: DIM = {dim} is not a power of two (nearest: {_pow2_neighbours(dim)})"
        )
    if hw.bits not in _ELEM_TYPES:
        raise ExportError(
            f"Gemmini cannot build this design: {hw.bits}-bit inputs have no elem_t "
            f"(supported: {sorted(_ELEM_TYPES)} bits)"
        )
    if hw.acc_bits not in _ACC_TYPES:
        raise ExportError(
            f"Gemmini cannot build this design: {hw.acc_bits}-bit accumulators have no acc_t "
            f"(Gemmini's header generator supports {sorted(_ACC_TYPES)} bits)"
        )
    sp_kb = ceil_kb(hw.ifmap_sram_kb + hw.filter_sram_kb)
    acc_kb = ceil_kb(hw.ofmap_sram_kb)
    sp_rows = sp_kb * 1024 * 8 // (SP_BANKS * dim * hw.bits)
    acc_rows = acc_kb * 1024 * 8 // (ACC_BANKS * dim * hw.acc_bits)
    if not _is_pow2(sp_rows):
        raise ExportError(
            f"Gemmini cannot build this design: scratchpad bank rows = {sp_rows} "
            f"({sp_kb} KiB over {SP_BANKS} banks of {dim} x {hw.bits}-bit rows) is not a power "
            "of two; choose ifmap + filter buffers whose sum is a power-of-two number of KiB"
        )
    if sp_rows % dim:
        raise ExportError(
            f"Gemmini cannot build this design: scratchpad bank rows = {sp_rows} is not a "
            f"multiple of DIM = {dim} (scratchpad {sp_kb} KiB is too small for the mesh)"
        )
    if acc_rows < 1 or acc_rows % dim:
        raise ExportError(
            f"Gemmini cannot build this design: accumulator bank rows = {acc_rows} "
            f"({acc_kb} KiB over {ACC_BANKS} banks of {dim} x {hw.acc_bits}-bit rows) is not a "
            f"positive multiple of DIM = {dim}"
        )
    return {
        "dim": dim,
        "sp_kb": sp_kb,
        "acc_kb": acc_kb,
        "bank_rows": sp_rows,
        "acc_rows": ACC_BANKS * acc_rows,
        "spatial_output_bits": min(hw.acc_bits, 2 * hw.bits + math.ceil(math.log2(dim))),
    }


def export_gemmini(
    design: Design, metrics: Metrics, out_dir: Path, stem: str, options: ExportOptions = DEFAULT_EXPORT_OPTIONS
) -> list[Path]:
    """Write the Scala config snippet and the ``gemmini_params.h`` preview."""
    hw = design.hardware
    dataflow = gemmini_dataflow(design, metrics)
    z = gemmini_sizes(design)
    dim = z["dim"]
    out_dir.mkdir(parents=True, exist_ok=True)
    name = ident(stem)
    scala = out_dir / f"{stem}_gemmini_config.scala"
    scala.write_text(
        f"""// Gemmini configuration exported by TNN-DSE (design {stem}).
// Add to Gemmini's configs (e.g. src/main/scala/gemmini/CustomConfigs.scala) and select it.
// Scratchpad = ifmap {hw.ifmap_sram_kb:g} kB + filter {hw.filter_sram_kb:g} kB (rounded up);
// accumulator = ofmap {hw.ofmap_sram_kb:g} kB (rounded up). Clock {hw.freq_mhz:g} MHz is set by
// the SoC, not here. Dataflows of the design: {"/".join(hw.dataflows)}.
package gemmini

import chisel3._

object TnnDse_{name} {{
  val config = GemminiConfigs.defaultConfig.copy(
    tileRows = 1,
    tileColumns = 1,
    meshRows = {dim},
    meshColumns = {dim},
    dataflow = Dataflow.{dataflow},
    sp_capacity = CapacityInKilobytes({z["sp_kb"]}),
    acc_capacity = CapacityInKilobytes({z["acc_kb"]}),
    sp_banks = {SP_BANKS},
    acc_banks = {ACC_BANKS},
    inputType = SInt({hw.bits}.W),
    spatialArrayOutputType = SInt({z["spatial_output_bits"]}.W),
    accType = SInt({hw.acc_bits}.W)
  )
}}
""",
        encoding="utf-8",
    )
    elem_t = _ELEM_TYPES[hw.bits]
    acc_t = _ACC_TYPES[hw.acc_bits]
    elem_bytes = hw.bits // 8
    acc_bytes = hw.acc_bits // 8
    header = out_dir / f"{stem}_gemmini_params.h"
    header.write_text(
        f"""// Preview of the gemmini_params.h Gemmini generates for design {stem} (TNN-DSE export).
#ifndef GEMMINI_PARAMS_H
#define GEMMINI_PARAMS_H

#include <stdint.h>
#include <limits.h>

#define DIM {dim}
#define ADDR_LEN {ADDR_LEN}
#define BANK_NUM {SP_BANKS}
#define BANK_ROWS {z["bank_rows"]}
#define ACC_ROWS {z["acc_rows"]}
#define MAX_BYTES {MAX_BYTES}
#define MAX_BLOCK_LEN {max(1, MAX_BYTES // (dim * elem_bytes))}
#define MAX_BLOCK_LEN_ACC {max(1, MAX_BYTES // (dim * acc_bytes))}

typedef {elem_t} elem_t;
static const elem_t elem_t_max = {2 ** (hw.bits - 1) - 1};
static const elem_t elem_t_min = {-(2 ** (hw.bits - 1) - 1)} - 1;
typedef {acc_t} acc_t;
typedef int64_t full_t;

#define row_align(blocks) __attribute__((aligned(blocks*DIM*sizeof(elem_t))))
#define row_align_acc(blocks) __attribute__((aligned(blocks*DIM*sizeof(acc_t))))

#endif // GEMMINI_PARAMS_H
""",
        encoding="utf-8",
    )
    return [scala, header]


register_exporter("gemmini", export_gemmini)
