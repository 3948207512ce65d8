"""SCALE-Sim v3's own loop nest as a mapping of this model: the pinned ``scalesim`` nest.

The closed form of :mod:`analytical_models._scalesim_mapping` predicts SCALE-Sim's report of
one GEMM (its fold order, prefetch and sliding SRAM windows, partial-sum traffic, DRAM ports).
This module turns it into a :class:`Cost` in this package's units, under the memory timing of
the hardware, so the nest can be priced like any mapping (``Hardware.mapping="scalesim"``, and
as one candidate per dataflow of the mapping search):

* ``memory_timing="serial"`` (SCALE-Sim's bandwidth-limited USER mode, one port per operand):
  the cycles are SCALE-Sim's "Total Cycles (incl. prefetch)" exactly, first DRAM read to last
  DRAM write (``prefetch + compute window + drain tail``; SCALE-Sim counts from the cycle of
  the first read to the cycle of the last write). DRAM traffic is SCALE-Sim's: the sliding
  windows' reads (initial load and slides), every row fold's partial result written (WS, IS).
* ``memory_timing="overlapped"`` (double-buffered, one shared port): the nest's compute window
  ``FR FC F`` (folds times rows per fold: one more than SCALE-Sim's "Total Cycles" with ample
  bandwidth, which is the index of the last cycle) plus the overlapped model's stall
  ``max(exposed, dram / bw - window)``, with SCALE-Sim's ample-bandwidth (CALC) reads (an
  operand that fits half its SRAM is read once, else once per sweep), its partial-sum writes
  (``M N FR`` words for WS / IS, ``M N`` for OS) and ``exposed`` the first half-buffer loads
  and the last half-buffer drain.

Both count every fold as the model does (``compute = folds T``, ``fill_drain = folds (F - T)``),
the rest is ``stall_cycles``. Accesses are SCALE-Sim's word counts: the array reads its
operands once per fold and writes every fold's ofmap block, the buffers are written what DRAM
delivers and read what is drained. SCALE-Sim's ports move one word per element whatever its
precision (so the timing above is in words); the bytes, and so the energies, follow this
package's accounting: operands at ``bits``, the array's ofmap writes at ``acc_bits``, drained
partial sums (WS / IS with several row folds: SCALE-Sim never adds them up) at ``acc_bits``,
results at ``bits``, with the same per-bit figures as every other mapping; tensor shaping is
the engine's, added as for any mapping.
SRAM sizes and the bandwidth are converted as the SCALE-Sim export does
(:func:`~analytical_models._scalesim_mapping.scalesim_words`). A batched GEMM is ``batch``
SCALE-Sim layers one after the other.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from analytical_models._consts import hw_consts
from analytical_models._cost import level_cost
from analytical_models._scalesim_folds import Folds, _cdiv, scalesim_folds, sram_accesses
from analytical_models._scalesim_mapping import ScalesimReport, scalesim_report, scalesim_words
from analytical_models._scalesim_reads import _calc_reads
from analytical_models._shaping import Shaping
from analytical_models._timing import GEOMETRY
from analytical_models._types import Cost, Gemm, Hardware, Mapping, ModelInputError

FOLD_ORDERS: dict[str, str] = {"ws": "nkm", "is": "mkn", "os": "nmk"}
"""SCALE-Sim's fold order as a loop order: column folds, row folds, then the streamed dimension."""


class NestSpans(NamedTuple):
    """Where the cycles of a GEMM fed from DRAM go (shaping excluded), in cycles.

    ``prefetch + compute_window + drain_tail`` is the GEMM's cycles without tensor shaping.
    """

    prefetch_cycles: float
    """DRAM reads before the first compute cycle."""
    compute_window_cycles: float
    """First compute cycle to the last ofmap write of the array (stalls inside included)."""
    drain_tail_cycles: float
    """DRAM writes after the array's last ofmap write."""


class PinnedNest(NamedTuple):
    """SCALE-Sim's nest for one GEMM, dataflow and hardware, in this package's units."""

    mapping: Mapping
    cost: Cost
    spans: NestSpans
    access_bytes: dict[str, float]
    """Bytes read and written per level (``{ifmap,filter,ofmap,dram}_{rd,wr}_bytes``)."""
    report: ScalesimReport | None
    """Serial timing: SCALE-Sim's predicted USER-mode report of one topology row (None under
    the overlapped timing, which has no SCALE-Sim counterpart beyond ample bandwidth)."""


def nest_timeable(hw: Hardware) -> bool:
    """False when the serial timing would need SCALE-Sim's ports below one word per cycle (the
    SCALE-Sim export rounds the bandwidth down to whole words, but never below one)."""
    return hw.memory_timing != "serial" or hw.dram_bw_bytes_per_cycle >= hw.bits / 8.0


def pinned_mapping(gemm: Gemm, hw: Hardware, dataflow: str) -> Mapping:
    """The :class:`Mapping` of SCALE-Sim's nest: ``nest="scalesim"``, its fold order, and as
    tiles its fold-granular image, the loop nest a tiled array runs to do the same work in the
    same order: one stationary fold per tile (``R`` x ``C`` of the row and column dimensions),
    the streamed dimension in the largest chunks whose A and B tiles fit half their buffers
    (exports build these tiles; the cost is the nest's closed form, not the tiles')."""
    c = hw_consts(hw)
    cap_a = max(1, int(c.cap_a_bytes // c.bytes_per_el))
    cap_b = max(1, int(c.cap_b_bytes // c.bytes_per_el))
    rows_x, cols_x, time_x = GEOMETRY[dataflow]
    dims = [gemm.m, gemm.n, gemm.k]
    tile = list(dims)
    tile[rows_x] = min(dims[rows_x], hw.pe_rows)
    tile[cols_x] = min(dims[cols_x], hw.pe_cols)
    tile[time_x] = 1

    def fits(t: list[int]) -> bool:
        return t[0] * t[2] <= cap_a and t[2] * t[1] <= cap_b

    for x in (cols_x, rows_x):  # a stationary fold larger than a half buffer: narrow it
        while not fits(tile) and tile[x] > 1:
            tile[x] = -(-tile[x] // 2)
    lo, hi = 1, dims[time_x]
    while lo < hi:  # the largest chunk of the streamed dimension that still fits
        mid = (lo + hi + 1) // 2
        tile[time_x] = mid
        lo, hi = (mid, hi) if fits(tile) else (lo, mid - 1)
    tile[time_x] = lo
    return Mapping(
        dataflow=dataflow,
        tile_m=tile[0],
        tile_n=tile[1],
        tile_k=tile[2],
        loop_order=FOLD_ORDERS[dataflow],
        nest="scalesim",
    )


@lru_cache(maxsize=4096)
def user_report(
    m: int, n: int, k: int, rows: int, cols: int, dataflow: str, words: tuple[int, int, int, int]
) -> ScalesimReport:
    """SCALE-Sim's USER-mode report of one topology row (cached: it can take milliseconds)."""
    zi, zf, zo, bw = words
    return scalesim_report(
        m,
        n,
        k,
        rows=rows,
        cols=cols,
        dataflow=dataflow,
        ifmap_sram_words=zi,
        filter_sram_words=zf,
        ofmap_sram_words=zo,
        bw_words=bw,
        interface="USER",
    )


def _valid_words(gemm: Gemm, dataflow: str) -> tuple[int, int]:
    """Words of the ifmap and filter operands (one topology row)."""
    return gemm.m * gemm.k, gemm.k * gemm.n


def _ofmap_words(gemm: Gemm, fo: Folds, dataflow: str) -> int:
    """Ofmap words SCALE-Sim writes to DRAM (every row fold's block for WS / IS)."""
    return gemm.m * gemm.n * (1 if dataflow == "os" else fo.row_folds)


def _levels(
    gemm: Gemm,
    hw: Hardware,
    shaping: Shaping,
    dram_words: tuple[float, float, float],
    sram_words: tuple[int, int, int],
    partial: bool,
) -> dict[str, float]:
    """Bytes read and written per level (whole batch, shaping included), keyed as
    :meth:`~analytical_models.ArrayEngine.access_bytes`.

    SCALE-Sim counts words; bytes follow this package's accounting: operands at ``bits``, the
    array's ofmap writes at ``acc_bits`` (accumulator values), the ofmap words drained to DRAM
    at ``acc_bits`` when they are partial sums (``partial``: WS / IS with more than one row
    fold) and at ``bits`` when they are the result."""
    sh = shaping
    b = float(gemm.batch)
    bpe = hw.bits / 8.0
    acc = hw.acc_bits / 8.0
    a_dram, b_dram = (b * w * bpe for w in dram_words[:2])
    w_dram = b * dram_words[2] * (acc if partial else bpe)
    return {
        "ifmap_rd_bytes": b * sram_words[0] * bpe + sh.ifmap_rd_bytes,
        "ifmap_wr_bytes": a_dram + sh.ifmap_wr_bytes,
        "filter_rd_bytes": b * sram_words[1] * bpe + sh.filter_rd_bytes,
        "filter_wr_bytes": b_dram + sh.filter_wr_bytes,
        "ofmap_rd_bytes": w_dram + sh.ofmap_rd_bytes,
        "ofmap_wr_bytes": b * sram_words[2] * acc + sh.ofmap_wr_bytes,
        "dram_rd_bytes": a_dram + b_dram + sh.dram_rd_bytes,
        "dram_wr_bytes": w_dram + sh.dram_wr_bytes,
    }


def _partial(fo: Folds, dataflow: str) -> bool:
    """The ofmap words SCALE-Sim drains are partial sums (WS / IS with several row folds)."""
    return dataflow != "os" and fo.row_folds > 1


def _cycles(gemm: Gemm, fo: Folds, stall: float, shaping: Shaping) -> tuple[float, float, float]:
    """``(compute, fill, cycles)`` of the nest (whole batch) with ``stall`` cycles: every fold
    counted as the model does, then the stall and the engine's shaping."""
    b = float(gemm.batch)
    compute = b * fo.folds * fo.t
    fill = b * fo.folds * (fo.rows_per_fold - fo.t)
    return compute, fill, compute + fill + stall + shaping.cycles


def _cost(gemm: Gemm, hw: Hardware, shaping: Shaping, fo: Folds, stall: float, lv: dict[str, float]) -> Cost:
    """The :class:`Cost` of the nest (whole batch) from its stall and its bytes per level."""
    c = hw_consts(hw)
    compute, fill, cycles = _cycles(gemm, fo, stall, shaping)
    level_bytes = (
        lv["ifmap_rd_bytes"],
        lv["ifmap_wr_bytes"],
        lv["filter_rd_bytes"],
        lv["filter_wr_bytes"],
        lv["ofmap_rd_bytes"],
        lv["ofmap_wr_bytes"],
        lv["dram_rd_bytes"],
        lv["dram_wr_bytes"],
    )
    spans = (compute, fill, stall, shaping.cycles)
    return level_cost(c, gemm.macs, spans, cycles, gemm.macs * c.mac_pj, gemm.macs / c.n_pes, level_bytes)


def pinned_nest(gemm: Gemm, hw: Hardware, dataflow: str, shaping: Shaping) -> PinnedNest:
    """SCALE-Sim's nest for ``gemm`` on ``hw`` (its array: ``pe_rows x pe_cols``) with
    ``dataflow``, priced under ``hw.memory_timing`` (see the module docstring).

    Raises:
        ModelInputError: unknown dataflow, or the serial timing with less than one element per
            cycle of DRAM bandwidth (:func:`nest_timeable`).
    """
    if not nest_timeable(hw):
        raise ModelInputError(
            "SCALE-Sim's memory system moves whole words: mapping 'scalesim' with the serial memory "
            f"timing needs at least one element per cycle of DRAM bandwidth ({hw.bits / 8:g} B/cycle), "
            f"got {hw.dram_bw_bytes_per_cycle:g}"
        )
    m, n, k = gemm.m, gemm.n, gemm.k
    rows, cols = hw.pe_rows, hw.pe_cols
    fo = scalesim_folds(m, n, k, rows, cols, dataflow)
    words = scalesim_words(hw)
    sram = sram_accesses(fo, m, n, k, rows, cols, dataflow)
    b = float(gemm.batch)
    window = float(fo.demand_rows) * b  # this model's count: FR FC F cycles per layer
    if hw.memory_timing == "serial":
        rep = user_report(m, n, k, rows, cols, dataflow, words)
        stall = b * rep.total_cycles_incl_prefetch - window
        spans = NestSpans(
            b * -rep.dram_read_start_cycle,
            b * rep.total_cycles,
            b * (rep.dram_ofmap_stop_cycle - rep.total_cycles),
        )
        dram = (float(rep.dram_ifmap_reads), float(rep.dram_filter_reads), float(rep.dram_ofmap_writes))
        lv = _levels(gemm, hw, shaping, dram, sram, _partial(fo, dataflow))
        return PinnedNest(pinned_mapping(gemm, hw, dataflow), _cost(gemm, hw, shaping, fo, stall, lv), spans, lv, rep)
    o = _overlapped(gemm, hw, fo, dataflow, shaping, words)
    lv = _levels(gemm, hw, shaping, o.dram_words, sram, _partial(fo, dataflow))
    spans = NestSpans(o.first, window + max(0.0, o.traffic - window - o.first - o.last), o.last)
    return PinnedNest(pinned_mapping(gemm, hw, dataflow), _cost(gemm, hw, shaping, fo, o.stall, lv), spans, lv, None)


class _Overlapped(NamedTuple):
    dram_words: tuple[float, float, float]
    first: float
    last: float
    traffic: float
    stall: float


def _overlapped(
    gemm: Gemm, hw: Hardware, fo: Folds, dataflow: str, shaping: Shaping, words: tuple[int, int, int, int]
) -> _Overlapped:
    """Overlapped timing: the nest's DRAM words (ifmap and filter reads, ofmap writes), its exposed
    edge loads (:func:`_edges`), its DRAM time (shaping's traffic excluded) and its stall, in
    words and cycles."""
    zi, zf, _, _ = words
    (reads_a, reads_b), _ = _calc_reads(gemm.m, gemm.n, gemm.k, hw.pe_rows, hw.pe_cols, dataflow, zi, zf)
    dram_words = (float(reads_a), float(reads_b), float(_ofmap_words(gemm, fo, dataflow)))
    # (the DRAM bytes as _levels sums them, so that the nest's cost has the same bits)
    b, sh = float(gemm.batch), shaping
    bpe, acc = hw.bits / 8.0, hw.acc_bits / 8.0
    a_dram, b_dram = (b * w * bpe for w in dram_words[:2])
    w_dram = b * dram_words[2] * (acc if _partial(fo, dataflow) else bpe)
    dram = (a_dram + b_dram + sh.dram_rd_bytes) + (w_dram + sh.dram_wr_bytes)
    traffic = (dram - sh.dram_rd_bytes - sh.dram_wr_bytes) / hw.dram_bw_bytes_per_cycle
    first, last = _edges(gemm, hw, fo, dataflow, words)
    return _Overlapped(dram_words, first, last, traffic, max(first + last, traffic - float(fo.demand_rows) * b))


def pinned_cycles(gemm: Gemm, hw: Hardware, dataflow: str, shaping: Shaping) -> float:
    """``pinned_nest(gemm, hw, dataflow, shaping).cost.cycles`` (the same bits) under the
    overlapped timing, without building the nest's cost: what the mapping search compares
    before it prices a nest that may beat its best."""
    fo = scalesim_folds(gemm.m, gemm.n, gemm.k, hw.pe_rows, hw.pe_cols, dataflow)
    return _cycles(gemm, fo, _overlapped(gemm, hw, fo, dataflow, shaping, scalesim_words(hw)).stall, shaping)[2]


def _edges(gemm: Gemm, hw: Hardware, fo: Folds, dataflow: str, words: tuple[int, int, int, int]) -> tuple[float, float]:
    """Overlapped timing: the nest's exposed DRAM cycles, ``(first half-buffer loads of the
    ifmap and filter, last half-buffer drain of the ofmap)``."""
    zi, zf, zo, _ = words
    va, vb = _valid_words(gemm, dataflow)
    bw = hw.dram_bw_bytes_per_cycle
    w = _ofmap_words(gemm, fo, dataflow)
    first = (min(_cdiv(zi, 2), va) + min(_cdiv(zf, 2), vb)) * (hw.bits / 8.0) / bw
    last = min(zo // 2, w) * (hw.acc_bits if _partial(fo, dataflow) else hw.bits) / 8.0 / bw
    return first, last


def pinned_cycles_floor(gemm: Gemm, hw: Hardware, dataflow: str, shaping: Shaping) -> float:
    """Cycles :func:`pinned_nest` never goes below under the overlapped timing, without reading
    SCALE-Sim's sweeps: its compute, fill and shaping cycles plus the least stall, the larger of
    its exposed edge loads (exact) and the DRAM time of every operand read once and the result
    written once (the nest reads each operand whole at least once and writes every result
    word) beyond its compute window."""
    fo = scalesim_folds(gemm.m, gemm.n, gemm.k, hw.pe_rows, hw.pe_cols, dataflow)
    b = float(gemm.batch)
    first, last = _edges(gemm, hw, fo, dataflow, scalesim_words(hw))
    least = b * (gemm.m * gemm.k + gemm.k * gemm.n + gemm.m * gemm.n) * (hw.bits / 8.0)
    stall = max(first + last, least / hw.dram_bw_bytes_per_cycle - float(fo.demand_rows) * b)
    return _cycles(gemm, fo, stall, shaping)[2]


def pinned_lower_bound(gemm: Gemm, hw: Hardware, dataflow: str, shaping: Shaping) -> tuple[float, float]:
    """``(cycles, energy_pj)`` no more than :func:`pinned_nest`'s, computed in microseconds.

    Serial timing (where the nest's closed form can take milliseconds): SCALE-Sim's initial
    load (exact) plus the largest of the compute window ``FR FC F - 1``, the read chain's
    slides (each sweep of an operand that does not fit its window slides it at least
    ``ceil((L - A - 1) / P)`` times, each slide ``n_p + 1`` cycles apart) and the ofmap port
    (its lines after cycle 0, drained ``n_d`` at a time, a drain starting on the cycle the last
    one ends). Energy: MACs, the array's SRAM accesses
    (exact), every ofmap word drained through DRAM once (reads only add), shaping, leakage over
    the cycle bound. Overlapped timing: the nest itself (cheap).
    """
    if hw.memory_timing != "serial":
        cost = pinned_nest(gemm, hw, dataflow, shaping).cost
        return cost.cycles, cost.energy_pj
    m, n, k = gemm.m, gemm.n, gemm.k
    rows, cols = hw.pe_rows, hw.pe_cols
    fo = scalesim_folds(m, n, k, rows, cols, dataflow)
    zi, zf, zo, bw = scalesim_words(hw)
    va, vb = _valid_words(gemm, dataflow)
    fr, fc = fo.row_folds, fo.col_folds
    if dataflow == "ws":  # (positions, valid words, sweeps) of the ifmap and the filter
        ops = ((fr * m * rows, va, fc), (fc * k * cols, vb, 1))
    elif dataflow == "is":
        ops = ((fc * k * cols, va, 1), (fr * n * rows, vb, fc))
    else:
        ops = ((fr * k * rows, va, fc), (fc * k * cols, vb, 1))
    prefetch = 0
    t_last = fo.demand_rows - 1
    for (positions, valid, sweeps), z in zip(ops, (zi, zf), strict=True):
        prefetch = max(prefetch, min(_cdiv(_cdiv(z, 2), bw), _cdiv(positions, bw)))
        e = _cdiv(z, 100)
        n_sets = valid // e + 1
        active = min(n_sets, _cdiv(_cdiv(z, 2), e))
        step = min(n_sets - active, _cdiv(z // 2, e))
        if step > 0:
            per_sweep = _cdiv(max(0, _cdiv(valid, e) - active - 1), step)
            t_last = max(t_last, sweeps * per_sweep * (_cdiv(z // 2, bw) + 1) - 2)
    w = _ofmap_words(gemm, fo, dataflow)
    # Drains during compute take n_d lines each and may start on the cycle the last one ends;
    # the rest drains from the last row on: at least lines (1 - 1/n_d) - n_d cycles in all.
    n_d = _cdiv(zo // 2, bw)
    stop = max(t_last, _cdiv(w, bw) * (n_d - 1) // n_d - n_d)
    cycles = gemm.batch * float(prefetch + stop) + shaping.cycles
    sram = sram_accesses(fo, m, n, k, rows, cols, dataflow)
    lv = _levels(gemm, hw, shaping, (0.0, 0.0, float(w)), sram, _partial(fo, dataflow))
    writes_only = _cost(gemm, hw, shaping, fo, 0.0, lv)
    leak = hw_consts(hw).leak_pj_per_cycle
    return cycles, writes_only.energy_pj - writes_only.leakage_energy_pj + cycles * leak
