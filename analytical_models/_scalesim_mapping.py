"""SCALE-Sim v3's own loop nest for one GEMM (the pinned ``scalesim`` mapping), in closed form.

The mapping search of the systolic engine picks tiles and loop orders; SCALE-Sim 3.0.0 runs
one fixed loop nest and memory system. To compare the two like with like, this module prices
exactly that nest: its fold order, its prefetch order, its sliding SRAM windows (operands far
larger than the buffers included), its partial-sum traffic and its DRAM ports, with the
quantities SCALE-Sim reports. Everything below was read from the scalesim 3.0.0 sources
(``compute/systolic_compute_{ws,is,os}.py``, ``memory/read_buffer.py``,
``memory/read_buffer_estimate_bw.py``, ``memory/write_buffer.py``,
``memory/double_buffered_scratchpad_mem.py``, ``single_layer_sim.py``) and is checked against
real runs in ``tests/validation/test_scalesim_mapping.py``. No SCALE-Sim code is used here:
its behaviour is restated as formulas over folds, SRAM "sets" (a hundredth of a buffer) and
DRAM chunks (half a buffer): numpy work per demand row of one fold, plus a recurrence over the
SRAM-set changes of the demand and over DRAM chunks, never over cycles or elements (a few
milliseconds where SCALE-Sim takes minutes; the set changes grow with the words the array
demands divided by a hundredth of a buffer).

The closed form is split along its nouns: :mod:`analytical_models._scalesim_folds` (topology,
loop nest and fold geometry, the array's SRAM accesses), :mod:`analytical_models._scalesim_reads`
(prefetch orders, the sliding read-SRAM windows of USER mode, CALC mode's reads),
:mod:`analytical_models._scalesim_ofmap` (ofmap production and drains); this module runs them
on one timeline and reports SCALE-Sim's quantities (:func:`scalesim_report`) and ours
(:func:`scalesim_nest_cost`).

**Totals.** Each row's stall is the largest of its ifmap, filter and ofmap stalls (the three
streams run in parallel). "Total Cycles" (the compute window: first demand row to the last
row's ofmap write) ``= T_last = FR FC F - 1 + S``. "Total Cycles (incl. prefetch)" spans the
first DRAM read to the last DRAM write: ``ofmap_stop - read_start`` with ``read_start = -max(
n_a)`` of the two read SRAMs; so ``end_to_end = prefetch + compute window + drain tail``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from analytical_models._scalesim_folds import Folds, _cdiv, scalesim_folds, sram_accesses
from analytical_models._scalesim_ofmap import _Ofmap, ofmap_production
from analytical_models._scalesim_reads import ReadSram, _calc_reads, read_demands, read_sram
from analytical_models._types import Gemm, Hardware, ModelInputError

INTERFACES: tuple[str, ...] = ("USER", "CALC")
"""SCALE-Sim's DRAM interface modes: bandwidth-limited (``USER``) or ample (``CALC``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScalesimReport:
    """SCALE-Sim v3's report of one GEMM layer, as this module predicts it (SCALE-Sim units).

    Cycles are SCALE-Sim's (cycle 0 is the first demand row); DRAM counts are words.
    """

    dataflow: str
    interface: str
    folds: int
    rows_per_fold: int
    total_cycles: int
    """"Total Cycles": the compute window, ``FR FC F - 1`` plus stalls."""
    total_cycles_incl_prefetch: int
    """"Total Cycles (incl. prefetch)": first DRAM read to last DRAM write."""
    stall_cycles: int
    dram_ifmap_reads: int
    dram_filter_reads: int
    dram_ofmap_writes: int
    dram_read_start_cycle: int
    """Earliest DRAM read (negative: before compute)."""
    dram_ofmap_stop_cycle: int
    """Last DRAM write."""
    ifmap_slides: int
    """USER mode: slides of the ifmap SRAM window (0 in CALC mode)."""
    filter_slides: int
    ofmap_drains: int
    """Ofmap drains started during the compute window."""
    sram_ifmap_reads: int
    """Words the array reads from the ifmap SRAM (every demanded element)."""
    sram_filter_reads: int
    sram_ofmap_writes: int
    """Words the array writes to the ofmap SRAM (OS: plus SCALE-Sim's ``R + C`` per fold)."""


def scalesim_report(
    m: int,
    n: int,
    k: int,
    *,
    rows: int,
    cols: int,
    dataflow: str,
    ifmap_sram_words: int,
    filter_sram_words: int,
    ofmap_sram_words: int,
    bw_words: int,
    interface: str = "USER",
) -> ScalesimReport:
    """Predict SCALE-Sim v3's report of ``C[m, n] = A[m, k] B[k, n]`` (one layer, no batch).

    Args:
        m, n, k: the GEMM (a topology row ``M, N, K``).
        rows, cols: ArrayHeight and ArrayWidth.
        dataflow: ``ws``, ``is`` or ``os``.
        ifmap_sram_words, filter_sram_words, ofmap_sram_words: SRAM sizes in words
            (``1024 * kB``).
        bw_words: words per cycle of each DRAM port (USER mode; ignored in CALC mode).
        interface: ``USER`` (bandwidth-limited) or ``CALC`` (ample bandwidth).

    Raises:
        ModelInputError: unknown dataflow or interface, or a size below 1.
    """
    if interface not in INTERFACES:
        raise ModelInputError(f"interface must be one of {INTERFACES}, got {interface!r}")
    srams = (ifmap_sram_words, filter_sram_words, ofmap_sram_words)
    if min(srams) < 100 or bw_words < 1:
        raise ModelInputError(f"need SRAMs of at least 100 words and bw >= 1 word/cycle, got {srams}, {bw_words}")
    fo = scalesim_folds(m, n, k, rows, cols, dataflow)
    calc = interface == "CALC"
    ofmap = _Ofmap(ofmap_production(m, n, k, rows, cols, dataflow), ofmap_sram_words, cols if calc else bw_words)
    if calc:
        reads, prefetch = _calc_reads(m, n, k, rows, cols, dataflow, ifmap_sram_words, filter_sram_words)
        srams_r: tuple[ReadSram, ...] = ()
    else:
        demands = read_demands(
            m, n, k, rows, cols, dataflow, _cdiv(ifmap_sram_words, 100), _cdiv(filter_sram_words, 100)
        )
        srams_r = tuple(read_sram(d, z, bw_words) for d, z in zip(demands, srams[:2], strict=True))
        reads = (srams_r[0].dram_words, srams_r[1].dram_words)
        prefetch = max(s.initial_lines for s in srams_r)
    stall, last_cycle = _timeline(fo, srams_r, ofmap)
    sram = sram_accesses(fo, m, n, k, rows, cols, dataflow)
    drains = ofmap.drains
    stop = ofmap.finish(last_cycle)
    return ScalesimReport(
        dataflow=dataflow,
        interface=interface,
        folds=fo.folds,
        rows_per_fold=fo.rows_per_fold,
        total_cycles=last_cycle,
        total_cycles_incl_prefetch=stop + prefetch,
        stall_cycles=stall,
        dram_ifmap_reads=reads[0],
        dram_filter_reads=reads[1],
        dram_ofmap_writes=ofmap.freed,
        dram_read_start_cycle=-prefetch,
        dram_ofmap_stop_cycle=stop,
        ifmap_slides=srams_r[0].slides if srams_r else 0,
        filter_slides=srams_r[1].slides if srams_r else 0,
        ofmap_drains=drains,
        sram_ifmap_reads=sram[0],
        sram_filter_reads=sram[1],
        sram_ofmap_writes=sram[2],
    )


def _timeline(fo: Folds, reads: tuple[ReadSram, ...], ofmap: _Ofmap) -> tuple[int, int]:
    """``(stall cycles, cycle of the last row)``: rows at ``i + S``, visiting only event rows."""
    last_row = fo.demand_rows - 1
    ptr = [0] * len(reads)
    done = [0] * len(reads)  # slides completed so far per read SRAM
    stall = 0
    row = -1
    while True:
        nxt = [s.miss_rows[p] for s, p in zip(reads, ptr, strict=True) if p < len(s.miss_rows)]
        w = ofmap.next_row(row, stall)
        if w is not None:
            nxt.append(w)
        if not nxt or min(nxt) > last_row:
            break
        row = min(nxt)
        cycle = row + stall
        row_stall = 0
        for i, s in enumerate(reads):
            p = ptr[i]
            if p < len(s.miss_rows) and s.miss_rows[p] == row:
                served = cycle + 1
                for _ in range(s.miss_slides[p]):
                    done[i] += 1
                    ready = -1 + done[i] * (s.slide_lines + 1)
                    served = ready + max(0, ready - served)
                row_stall = max(row_stall, served - cycle - 1)
                ptr[i] = p + 1
        row_stall = max(row_stall, ofmap.write_row(row, cycle) - cycle)
        stall += row_stall
    return stall, last_row + stall


# --------------------------------------------------------------------------- our units


@lru_cache(maxsize=4096)
def scalesim_words(hw: Hardware) -> tuple[int, int, int, int]:
    """``(ifmap, filter, ofmap SRAM words, DRAM words per cycle)`` SCALE-Sim runs ``hw`` with.

    The SCALE-Sim export's conversion: SRAMs rounded up to whole kB of 1-byte words; the
    bandwidth in elements per cycle, rounded down, at least 1.
    """

    def words(kb: float) -> int:
        return 1024 * max(1, math.ceil(kb - 1e-9))

    bw = max(1, int(hw.dram_bw_bytes_per_cycle // hw.bytes_per_element))
    return words(hw.ifmap_sram_kb), words(hw.filter_sram_kb), words(hw.ofmap_sram_kb), bw


@dataclass(frozen=True, slots=True, kw_only=True)
class ScalesimNestCost:
    """Cost of a GEMM under SCALE-Sim's own loop nest, in this package's units (whole batch).

    ``end_to_end_cycles = prefetch_cycles + compute_window_cycles + drain_tail_cycles``.
    """

    dataflow: str
    interface: str
    folds: int
    """Folds of all batch elements."""
    compute_window_cycles: float
    """SCALE-Sim's "Total Cycles": first demand row to the last row's ofmap write."""
    end_to_end_cycles: float
    """SCALE-Sim's "Total Cycles (incl. prefetch)": first DRAM read to last DRAM write."""
    stall_cycles: float
    """Memory stalls inside the compute window."""
    prefetch_cycles: float
    """DRAM reads before the first demand row."""
    drain_tail_cycles: float
    """DRAM writes after the last demand row's ofmap write."""
    dram_ifmap_read_bytes: float
    dram_filter_read_bytes: float
    dram_ofmap_write_bytes: float
    sram_ifmap_read_bytes: float
    """Bytes the array reads from the ifmap SRAM (SCALE-Sim's counts times bytes per element)."""
    sram_filter_read_bytes: float
    sram_ofmap_write_bytes: float

    @property
    def dram_read_bytes(self) -> float:
        """Bytes read from DRAM (ifmap + filter)."""
        return self.dram_ifmap_read_bytes + self.dram_filter_read_bytes

    @property
    def dram_write_bytes(self) -> float:
        """Bytes written to DRAM (every partial sum for WS / IS)."""
        return self.dram_ofmap_write_bytes


def scalesim_hw_report(gemm: Gemm, hw: Hardware, dataflow: str, *, interface: str = "USER") -> ScalesimReport:
    """:func:`scalesim_report` of one topology row of ``gemm`` (its batch ignored) on the array
    and buffers of ``hw`` in SCALE-Sim's words (:func:`scalesim_words`).

    Raises:
        ModelInputError: unknown dataflow or interface.
    """
    zi, zf, zo, bw = scalesim_words(hw)
    return scalesim_report(
        gemm.m,
        gemm.n,
        gemm.k,
        rows=hw.pe_rows,
        cols=hw.pe_cols,
        dataflow=dataflow,
        ifmap_sram_words=zi,
        filter_sram_words=zf,
        ofmap_sram_words=zo,
        bw_words=bw,
        interface=interface,
    )


def scalesim_nest_cost(
    gemm: Gemm, hw: Hardware, dataflow: str | None = None, *, interface: str = "USER"
) -> ScalesimNestCost:
    """Cost of ``gemm`` on ``hw`` under SCALE-Sim v3's loop nest and memory system.

    Args:
        gemm: the GEMM (its permutation volumes are ignored: SCALE-Sim has no tensor shaping).
        hw: the array (``pe_rows`` = ArrayHeight), SRAMs, bandwidth and precision; see
            :func:`scalesim_words` for the conversion to SCALE-Sim's words.
        dataflow: ``ws``, ``is`` or ``os``; default the first of ``hw.dataflows``.
        interface: ``USER`` (bandwidth-limited; compare ``end_to_end_cycles`` with "Total
            Cycles (incl. prefetch)") or ``CALC`` (ample bandwidth; compare
            ``compute_window_cycles`` with "Total Cycles").

    Raises:
        ModelInputError: unknown dataflow or interface.
    """
    df = hw.dataflows[0] if dataflow is None else dataflow
    rep = scalesim_hw_report(gemm, hw, df, interface=interface)
    b = gemm.batch
    bpe = hw.bytes_per_element
    return ScalesimNestCost(
        dataflow=df,
        interface=interface,
        folds=b * rep.folds,
        compute_window_cycles=float(b * rep.total_cycles),
        end_to_end_cycles=float(b * rep.total_cycles_incl_prefetch),
        stall_cycles=float(b * rep.stall_cycles),
        prefetch_cycles=float(-b * rep.dram_read_start_cycle),
        drain_tail_cycles=float(b * (rep.dram_ofmap_stop_cycle - rep.total_cycles)),
        dram_ifmap_read_bytes=b * rep.dram_ifmap_reads * bpe,
        dram_filter_read_bytes=b * rep.dram_filter_reads * bpe,
        dram_ofmap_write_bytes=b * rep.dram_ofmap_writes * bpe,
        sram_ifmap_read_bytes=b * rep.sram_ifmap_reads * bpe,
        sram_filter_read_bytes=b * rep.sram_filter_reads * bpe,
        sram_ofmap_write_bytes=b * rep.sram_ofmap_writes * bpe,
    )
