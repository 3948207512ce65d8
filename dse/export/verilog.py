"""``verilog`` target: a ``localparam`` include file with the design's hardware parameters.

``<stem>_params.vh`` holds ``localparam integer`` values (array, buffer bytes and address
widths, precision, dataflow codes, the largest lowered GEMM dimensions, clock period in ps)
and ``localparam real`` for the clock and DRAM bandwidth. Include it inside a module:
``module top; `include "<stem>_params.vh" ... endmodule``.
"""

from __future__ import annotations

import math
from pathlib import Path

from dse import Design, Metrics
from dse.export._gemms import buffer_bytes, dominant_dataflow, lowered_gemms
from dse.export._registry import DEFAULT_EXPORT_OPTIONS, ExportError, ExportOptions, register_exporter

_DF_CODE = {"ws": 0, "os": 1, "is": 2}
_INT_MAX = 2**31 - 1


def integer_params(design: Design, metrics: Metrics) -> dict[str, int]:
    """The ``localparam integer`` values, by name."""
    hw = design.hardware
    dataflow, _ = dominant_dataflow(design, metrics)
    gemms = lowered_gemms(design, metrics)
    ifmap, filt, ofmap = (
        buffer_bytes(hw.ifmap_sram_kb),
        buffer_bytes(hw.filter_sram_kb),
        buffer_bytes(hw.ofmap_sram_kb),
    )
    values = {
        "PE_ROWS": hw.pe_rows,
        "PE_COLS": hw.pe_cols,
        "N_PES": hw.n_pes,
        "DATA_BITS": hw.bits,
        "ACC_BITS": hw.acc_bits,
        "IFMAP_SRAM_BYTES": ifmap,
        "FILTER_SRAM_BYTES": filt,
        "OFMAP_SRAM_BYTES": ofmap,
        "IFMAP_ADDR_BITS": max(1, math.ceil(math.log2(ifmap))),
        "FILTER_ADDR_BITS": max(1, math.ceil(math.log2(filt))),
        "OFMAP_ADDR_BITS": max(1, math.ceil(math.log2(ofmap))),
        "DATAFLOW_WS": _DF_CODE["ws"],
        "DATAFLOW_OS": _DF_CODE["os"],
        "DATAFLOW_IS": _DF_CODE["is"],
        "DATAFLOW": _DF_CODE[dataflow],
        "DATAFLOW_MASK": sum(1 << _DF_CODE[d] for d in hw.dataflows),
        "CLOCK_PERIOD_PS": round(1e6 / hw.freq_mhz),
        "N_LAYERS": len(design.workload.layers),
        "N_GEMMS": len(gemms),
        "MAX_GEMM_M": max((g.step.m for g in gemms), default=0),
        "MAX_GEMM_N": max((g.step.n for g in gemms), default=0),
        "MAX_GEMM_K": max((g.step.k for g in gemms), default=0),
        "MAX_GEMM_BATCH": max((g.step.batch for g in gemms), default=0),
    }
    too_big = [k for k, v in values.items() if v > _INT_MAX]
    if too_big:
        raise ExportError(f"Verilog integer parameters overflow 32 bits: {', '.join(too_big)}")
    return values


def export_verilog(
    design: Design, metrics: Metrics, out_dir: Path, stem: str, options: ExportOptions = DEFAULT_EXPORT_OPTIONS
) -> list[Path]:
    """Write ``<stem>_params.vh``."""
    hw = design.hardware
    _, why = dominant_dataflow(design, metrics)
    out_dir.mkdir(parents=True, exist_ok=True)
    ints = integer_params(design, metrics)
    width = max(len(k) for k in ints)
    lines = [
        f"// Hardware parameters exported by TNN-DSE (design {stem}).",
        '// Include inside a module body: `include "' + f'{stem}_params.vh"',
        f"// DATAFLOW: {why}. DATAFLOW_MASK bit i = dataflow code i allowed.",
    ]
    lines += [f"localparam integer {k.ljust(width)} = {v};" for k, v in ints.items()]
    lines += [
        f"localparam real    {'FREQ_MHZ'.ljust(width)} = {float(hw.freq_mhz)!r};",
        f"localparam real    {'DRAM_BW_BYTES_PER_CYCLE'.ljust(width)} = {float(hw.dram_bw_bytes_per_cycle)!r};",
    ]
    path = out_dir / f"{stem}_params.vh"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [path]


register_exporter("verilog", export_verilog)
