"""The one set of hardware defaults of the commands that price without a study (``dse gemm``,
``dse paths --cost latency|energy``), and the help text that lists every flag's choices.

A 32 x 32 systolic array at 500 MHz, 8-bit operands (32-bit accumulators), 64 kB per operand
buffer, 16 bytes/cycle of DRAM bandwidth, the Horowitz 45 nm energy table and ``best`` dataflow
(the mapping search picks WS, OS or IS per GEMM). Clock, precision and tech profile are the
:class:`analytical_models.Hardware` defaults.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from analytical_models import DATAFLOWS, Hardware, get_engine

_FIELD_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Hardware) if f.default is not MISSING}

ENGINE: str = _FIELD_DEFAULTS["engine"]
PE_ROWS = 32
PE_COLS = 32
SRAM_KB = 64.0
"""Each of the ifmap, filter and ofmap buffers."""
DRAM_BW_BYTES_PER_CYCLE = 16.0
FREQ_MHZ: float = _FIELD_DEFAULTS["freq_mhz"]
BITS: int = _FIELD_DEFAULTS["bits"]
ACC_BITS: int = _FIELD_DEFAULTS["acc_bits"]
TECH: str = _FIELD_DEFAULTS["tech"]
DATAFLOW = "best"
"""``best``: the mapping search picks among every dataflow."""


def names(values: Any) -> str:
    """``a, b, c``: choices for a help text."""
    return ", ".join(str(v) for v in values)


def dataflows(text: str, flag: str = "--dataflow") -> tuple[str, ...]:
    """``best`` -> every dataflow; else one dataflow or a comma-separated list of them."""
    from dse import DSEError

    if text.strip() == "best":
        return DATAFLOWS
    chosen = tuple(d.strip() for d in text.split(",") if d.strip())
    bad = [d for d in chosen if d not in DATAFLOWS]
    if not chosen or bad or len(set(chosen)) != len(chosen):
        raise DSEError(f"{flag}: best, or distinct values from {names(DATAFLOWS)} (comma separated), got {text!r}")
    return chosen


def check_engine_dataflow(engine: str, chosen: tuple[str, ...], flag: str = "--dataflow") -> None:
    """Refuse an explicit dataflow the engine would ignore (it picks among all of them itself)."""
    from dse import DSEError

    picks = getattr(get_engine(engine), "dataflows_for", None)
    probe = Hardware(
        engine=engine,
        pe_rows=1,
        pe_cols=1,
        ifmap_sram_kb=1.0,
        filter_sram_kb=1.0,
        ofmap_sram_kb=1.0,
        dram_bw_bytes_per_cycle=1.0,
        dataflows=chosen,
    )
    if picks is not None and set(picks(probe)) != set(chosen):
        raise DSEError(
            f"{flag}: engine {engine!r} picks among {names(picks(probe))} itself; "
            f"leave --dataflow at best (or choose --engine systolic)"
        )
