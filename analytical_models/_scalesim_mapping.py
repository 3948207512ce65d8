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

**Topology.** A GEMM row ``name, M, N, K`` is SCALE-Sim's convolution with an ``M x K`` ifmap
operand matrix, a ``K x N`` filter matrix and an ``M x N`` ofmap: ``C = A B`` with A = ifmap,
B = filter, as in :class:`~analytical_models.Gemm` (and :mod:`dse.export.scalesim`). A batched
GEMM is ``batch`` such rows, simulated one after the other: every total is ``batch`` times
one row's. Words are elements; DRAM bytes are words times ``bits / 8``. SRAM sizes are taken
as SCALE-Sim reads the exported configuration: ``ceil(kB)`` kB of 1-byte words, i.e.
``Z = 1024 * ceil(kB)`` elements per buffer; the DRAM bandwidth is
``max(1, floor(dram_bw_bytes_per_cycle / bytes per element))`` words per cycle per port.

**Loop nest.** With R array rows and C columns, SCALE-Sim puts ``Sr`` on the rows, ``Sc`` on
the columns and streams ``T``: WS ``(Sr, Sc, T) = (K, N, M)``, IS ``(K, M, N)``, OS
``(M, N, K)``. It runs ``FC = ceil(Sc/C)`` column folds (outer loop) of ``FR = ceil(Sr/R)``
row folds (inner loop); fold ``f = fc * FR + fr`` occupies demand rows ``[f F, (f+1) F)``
with ``F = 2R + C + T - 2`` (WS, IS) or ``R + C + T - 2`` (OS). Demand row ``i`` is issued
at cycle ``t_i = i + S_i``, ``S_i`` the stall cycles of the rows before it. Within a fold
(local row ``r``; a ragged last fold has fewer valid rows or columns, the rest empty):

* WS: ifmap ``A[t, fr R + j]`` at ``r = R + t + j``; filter row ``k = fr R + j`` (all its
  ``Sc`` columns of the fold) at ``r = R - 1 - j`` (reversed); the ofmap element
  ``C[t, fc C + c]`` is written at ``r = 2R - 1 + t + c``.
* IS: ifmap row ``k = fr R + j`` of ``A^T`` (its M columns of the fold) at ``r = R - 1 - j``;
  filter ``B[fr R + j, t]`` at ``r = R + t + j``; ofmap ``C[fc C + c, t]`` at
  ``r = 2R - 1 + t + c``.
* OS: ifmap ``A[fr R + j, t]`` at ``r = t + j``; filter ``B[t, fc C + c]`` at ``r = t + c``;
  ofmap ``C[fr R + q', fc C + c]`` at ``r = T - 1 + q + c`` with ``q = R - 1 - q'``.

Every row fold writes its ``T x Sc`` ofmap block: WS and IS write every partial sum,
``M N FR`` words, OS the result once, ``M N`` words. So with ample bandwidth (CALC mode, no
stall) "Total Cycles" ``= FR FC F - 1``.

**Prefetch order.** Each read SRAM fetches its operand in one fixed order, the *prefetch
matrix*, and cycles through it: the per-fold operand blocks (padded with empty slots to R or
C columns) concatenated over the folds of one sweep, either *rolled* along anti-diagonals
(position of ``(g, j)`` in a ``G x W`` matrix: all elements of earlier anti-diagonals, then
``min(g + j, G - 1) - g``) or *plain* row-major:

* WS: ifmap rolled, blocks ``A[:, fr]`` (``M x R``), swept once per column fold; filter plain,
  blocks ``B[:, fc]`` (``K x C``), read once.
* IS: ifmap plain, blocks ``A^T[:, fc]`` (``K x C``), read once; filter rolled, blocks
  ``B[fr, :]^T`` (``N x R``), swept once per column fold.
* OS: ifmap rolled, blocks ``A^T[:, fr]`` (``K x R``), swept once per column fold; filter
  rolled, blocks ``B[:, fc]`` (``K x C``), each demanded ``FR`` times in a row.

**Read SRAMs, bandwidth-limited (USER mode).** The prefetch matrix's valid elements are cut
into sets of ``E = ceil(Z/100)``, ``L = floor(V/E) + 1`` sets for ``V`` valid elements
(set ``s`` holds valid indices ``[sE, (s+1)E)``). The SRAM holds a window of
``A = min(L, ceil(ceil(Z/2)/E))`` consecutive sets (cyclically); a demanded element outside it
slides the window by ``P = min(L - A, ceil(floor(Z/2)/E))`` sets, again until it is inside.
Hits and misses depend on the order only, so the slides are found by running the window over
the sequence of sets the demand rows touch (each row touches a contiguous run of valid
indices). The demand order is the prefetch order except where it is not, and there SCALE-Sim
*thrashes*: the filter rows of a WS fold (and the ifmap rows of an IS fold) come in reverse,
the rolled blocks of consecutive folds interleave at their boundary, an OS filter block is
demanded again from its start; an element that the last slide evicted makes the window go
round the whole operand (``L/P`` slides). The window logic reproduces all of it. DRAM words
read: ``bw (n_a + J n_p)`` with ``n_a = min(ceil(ceil(Z/2)/bw), ceil(positions/bw))`` the
initial load (the ``positions`` of the prefetch matrix include its empty slots),
``n_p = ceil(floor(Z/2)/bw)`` lines per slide and ``J`` the slides.

Timing: the initial load occupies cycles ``[-n_a, -1]`` and slide ``j`` completes at
``e_j = -1 + j (n_p + 1)``, whenever it was requested (the DRAM read chain never idles in
SCALE-Sim's accounting). A row with slides ``j+1 .. j+k`` at cycle ``t`` is served at
``x = t + 1`` updated per slide as ``x <- e + max(0, e - x)`` (SCALE-Sim counts a positive
wait twice and a negative one pulls ``x`` back to ``e``); its stall is ``x - t - 1``.

**Ofmap SRAM.** ``D = floor(Z/2)`` words is the drain half. Words fill lines of ``bw``
words; a drain takes the oldest ``min(n_d, queued)`` lines, ``n_d = ceil(D/bw)``, at one line
per cycle, and counts (as DRAM writes) and frees at once ``bw`` words per line except the empty
slots of its last line. Words are stored in row order; a word stored at cycle ``c`` when no
drain is running (``c >= drain_end``) and more than ``D`` words are held closes the partly
filled line and starts a drain, ending at ``c + lines - 1``; a word stored while a drain runs
and the buffer holds ``Z`` words waits for the drain's end (an ofmap stall of the row). After
the last row (cycle ``T_last``) the rest drains at one line per cycle from ``T_last`` on,
beside any drain still running: ``ofmap_stop = max(drain_end, T_last + lines left - 1)``.
DRAM writes are ``M N FR`` (WS, IS) or ``M N`` (OS) words plus the empty slots of partial
lines drained inside a chunk. Every threshold crossing is located with the closed-form
cumulative word count of the folds (per fold kind: its ragged extents), so the loop runs over
DRAM chunks, not words.

**Totals.** Each row's stall is the largest of its ifmap, filter and ofmap stalls (the three
streams run in parallel). "Total Cycles" (the compute window: first demand row to the last
row's ofmap write) ``= T_last = FR FC F - 1 + S``. "Total Cycles (incl. prefetch)" spans the
first DRAM read to the last DRAM write: ``ofmap_stop - read_start`` with ``read_start = -max(
n_a)`` of the two read SRAMs; so ``end_to_end = prefetch + compute window + drain tail``.

**Ample bandwidth (CALC mode).** Reads never stall (the read SRAMs only record what they would
fetch) and the ofmap drains ``C`` words per cycle, which the array never outruns: "Total
Cycles" ``= FR FC F - 1``. The read SRAMs form sets of ``floor(Z/100)`` newly demanded words
in demand order and forget everything at every 50th set: an operand of ``V`` words swept ``Q``
times is read ``V`` times if ``V < 50 floor(Z/100)``, else ``Q V`` times (an OS filter block
re-reads the part it had read before such a reset). The first 50 sets are announced as
fetched over ``ceil(50 floor(Z/100) / 10)`` cycles ending just before the operand's first
demand row (fewer sets: all of them, ending at cycle -1); that is the prefetch span.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from analytical_models._types import DATAFLOWS, Gemm, Hardware, ModelInputError

IntArray = npt.NDArray[np.int64]

INTERFACES: tuple[str, ...] = ("USER", "CALC")
"""SCALE-Sim's DRAM interface modes: bandwidth-limited (``USER``) or ample (``CALC``)."""

CALC_RESET_SETS = 50
"""CALC mode: the read SRAMs forget their contents every this many sets."""
CALC_READ_WORDS_PER_CYCLE = 10
"""CALC mode: the nominal fetch rate of the reported read prefetch (words per cycle)."""


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


# --------------------------------------------------------------------------- fold geometry


class Folds(NamedTuple):
    """SCALE-Sim's fold geometry of one GEMM on one array for one dataflow."""

    sr: int
    """Dimension on the array rows (WS, IS: K; OS: M)."""
    sc: int
    """Dimension on the array columns (WS: N; IS: M; OS: N)."""
    t: int
    """Dimension streamed in time (WS: M; IS: N; OS: K)."""
    row_folds: int
    col_folds: int
    rows_per_fold: int
    """Demand rows (cycles without stalls) of one fold, ``F``."""

    @property
    def folds(self) -> int:
        """Folds of the GEMM."""
        return self.row_folds * self.col_folds

    @property
    def demand_rows(self) -> int:
        """Demand rows of the GEMM (``FR FC F``)."""
        return self.folds * self.rows_per_fold


def scalesim_folds(m: int, n: int, k: int, rows: int, cols: int, dataflow: str) -> Folds:
    """Fold geometry of ``C[m, n] = A[m, k] B[k, n]`` on a ``rows x cols`` array."""
    if dataflow == "ws":
        sr, sc, t = k, n, m
    elif dataflow == "is":
        sr, sc, t = k, m, n
    elif dataflow == "os":
        sr, sc, t = m, n, k
    else:
        raise ModelInputError(f"unknown dataflow {dataflow!r}; expected one of {DATAFLOWS}")
    if min(m, n, k) < 1 or min(rows, cols) < 1:
        raise ModelInputError(f"need a GEMM and an array of at least 1, got {m}x{n}x{k} on {rows}x{cols}")
    fill = (rows if dataflow != "os" else 0) + rows + cols - 2
    return Folds(sr, sc, t, _cdiv(sr, rows), _cdiv(sc, cols), fill + t)


def _extents(total: int, width: int, nblocks: int) -> IntArray:
    """Valid extent of each of the ``nblocks`` blocks of ``width`` that cover ``total``."""
    out: IntArray = np.minimum(width, total - width * np.arange(nblocks, dtype=np.int64))
    return out


# --------------------------------------------------------------------------- read demand


class Demand(NamedTuple):
    """Set-level demand of one read operand: the rows where the touched SRAM set changes."""

    rows: IntArray
    """Demand row of each touch, non-decreasing."""
    sets: IntArray
    """Set touched (consecutive duplicates removed)."""
    positions: int
    """Slots of the prefetch matrix, empty ones included."""
    valid: int
    """Valid elements of the prefetch matrix (``V``)."""


def _dedupe(rows: IntArray, sets: IntArray) -> tuple[IntArray, IntArray]:
    keep = np.ones(sets.size, dtype=np.bool_)
    keep[1:] = sets[1:] != sets[:-1]
    return rows[keep], sets[keep]


def _touches(rows: IntArray, lo: IntArray, hi: IntArray) -> tuple[IntArray, IntArray]:
    """Each row touching sets ``lo .. hi`` in order, flattened (consecutive repeats removed)."""
    cnt = hi - lo + 1
    out_rows = np.repeat(rows, cnt)
    first = np.repeat(np.cumsum(cnt) - cnt, cnt)
    out_sets = np.repeat(lo, cnt) + (np.arange(out_rows.size, dtype=np.int64) - first)
    return _dedupe(out_rows, out_sets)


class RolledIndex:
    """Valid-element index of the slots ``(g, j)`` of an anti-diagonally rolled prefetch matrix.

    The matrix stacks ``len(valid_cols)`` blocks of ``block_h`` rows and ``width`` columns,
    block ``b`` valid in its first ``valid_cols[b]`` columns; slots are ordered by
    anti-diagonal ``d = g + j``, higher rows first. The index of a valid slot is the number of
    slots before it (whole earlier anti-diagonals, then ``min(d, G - 1) - g``) minus the empty
    slots among them (per ragged block, a trapezoid count per anti-diagonal, prefix-summed).
    ``O(G + width)`` memory and set-up, ``O(1)`` per slot.
    """

    def __init__(self, block_h: int, width: int, valid_cols: IntArray) -> None:
        self.block_h = block_h
        self.g_rows = valid_cols.size * block_h
        diag = np.arange(self.g_rows + width - 1, dtype=np.int64)
        lengths = np.minimum(diag, self.g_rows - 1) - np.maximum(0, diag - width + 1) + 1
        self.before = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(lengths)))
        self.ragged: list[tuple[int, int, IntArray]] = []
        for b in np.flatnonzero(valid_cols < width).tolist():
            jv, top = int(valid_cols[b]), b * block_h
            # empty slots of block b on each anti-diagonal: columns j' >= jv, row d - j' in b
            lo = np.maximum(jv, diag - top - block_h + 1)
            hi = np.minimum(width - 1, diag - top)
            empty = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(np.maximum(0, hi - lo + 1))))
            self.ragged.append((jv, top, empty))

    def at(self, g: IntArray, j: IntArray) -> IntArray:
        """Indices of the valid slots ``(g, j)`` (elementwise)."""
        d = g + j
        out: IntArray = self.before[d] + (np.minimum(d, self.g_rows - 1) - g)
        for jv, top, empty in self.ragged:
            same = np.maximum(0, np.minimum(j - 1, d - top) - np.maximum(jv, d - top - self.block_h + 1) + 1)
            out -= empty[d] + same
        return out


def rolled_demand(
    block_h: int,
    width: int,
    valid_cols: IntArray,
    offset: int,
    fold_block: IntArray,
    rows_per_fold: int,
    set_size: int,
) -> Demand:
    """Demand of a rolled prefetch matrix (WS / OS ifmap, IS / OS filter).

    Fold ``f`` demands block ``fold_block[f]``, its element ``(h, j)`` at local row
    ``offset + h + j``; a row's elements come in column order, i.e. in prefetch order.
    """
    index = RolledIndex(block_h, width, valid_cols)
    diag = np.arange(block_h + width - 1, dtype=np.int64)
    j_lo = np.maximum(0, diag - block_h + 1)
    per_block: list[tuple[IntArray, IntArray]] = []
    for b, jv in enumerate(valid_cols.tolist()):
        j_hi = np.minimum(diag, jv - 1)
        ok = j_lo <= j_hi
        s, lo_j, hi_j = diag[ok], j_lo[ok], j_hi[ok]
        lo = index.at(b * block_h + s - lo_j, lo_j) // set_size
        hi = index.at(b * block_h + s - hi_j, hi_j) // set_size
        per_block.append(_touches(offset + s, lo, hi))
    order = fold_block.tolist()
    lengths = np.array([per_block[b][0].size for b in order], dtype=np.int64)
    rows = np.concatenate([per_block[b][0] for b in order]) + np.repeat(
        np.arange(len(order), dtype=np.int64) * rows_per_fold, lengths
    )
    sets = np.concatenate([per_block[b][1] for b in order])
    rows, sets = _dedupe(rows, sets)
    return Demand(rows, sets, valid_cols.size * block_h * width, int(valid_cols.sum()) * block_h)


def plain_demand(
    block_rows: int,
    width: int,
    valid_cols: IntArray,
    fold_first_row: IntArray,
    fold_nrows: IntArray,
    fold_block: IntArray,
    array_rows: int,
    rows_per_fold: int,
    set_size: int,
) -> Demand:
    """Demand of a row-major prefetch matrix (WS filter, IS ifmap).

    The matrix stacks ``len(valid_cols)`` blocks of ``block_rows`` rows, block ``b`` valid in
    its first ``valid_cols[b]`` columns. Fold ``f`` demands its rows
    ``fold_first_row[f] + j`` (``j < fold_nrows[f]``, of block ``fold_block[f]``) at local row
    ``array_rows - 1 - j``: in reverse.
    """
    row_valid = np.repeat(valid_cols, block_rows)
    row_first = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(row_valid)))
    fold = np.repeat(np.arange(fold_nrows.size, dtype=np.int64), fold_nrows)
    start = np.repeat(np.cumsum(fold_nrows) - fold_nrows, fold_nrows)
    j = fold_nrows[fold] - 1 - (np.arange(fold.size, dtype=np.int64) - start)  # reversed
    g = fold_first_row[fold] + j
    lo = row_first[g] // set_size
    hi = (row_first[g] + valid_cols[fold_block[fold]] - 1) // set_size
    rows, sets = _touches(fold * rows_per_fold + array_rows - 1 - j, lo, hi)
    return Demand(rows, sets, int(row_valid.size * width), int(row_first[-1]))


def read_demands(
    m: int, n: int, k: int, rows: int, cols: int, dataflow: str, ifmap_set: int, filter_set: int
) -> tuple[Demand, Demand]:
    """Set-level (ifmap, filter) demand of SCALE-Sim's loop nest (sets of the given sizes)."""
    fo = scalesim_folds(m, n, k, rows, cols, dataflow)
    nfr, nfc, per_fold = fo.row_folds, fo.col_folds, fo.rows_per_fold
    fr = np.tile(np.arange(nfr, dtype=np.int64), nfc)
    fc = np.repeat(np.arange(nfc, dtype=np.int64), nfr)
    row_ext = _extents(fo.sr, rows, nfr)
    col_ext = _extents(fo.sc, cols, nfc)
    if dataflow == "os":
        return (
            rolled_demand(k, rows, row_ext, 0, fr, per_fold, ifmap_set),
            rolled_demand(k, cols, col_ext, 0, fc, per_fold, filter_set),
        )
    rolled = rolled_demand(fo.t, rows, row_ext, rows, fr, per_fold, filter_set if dataflow == "is" else ifmap_set)
    plain = plain_demand(
        k,
        cols,
        col_ext,
        fc * k + fr * rows,
        row_ext[fr],
        fc,
        rows,
        per_fold,
        ifmap_set if dataflow == "is" else filter_set,
    )
    return (rolled, plain) if dataflow == "ws" else (plain, rolled)


class ReadSram(NamedTuple):
    """A bandwidth-limited read SRAM of SCALE-Sim (USER mode) and its slides."""

    miss_rows: list[int]
    """Demand rows with at least one slide, increasing."""
    miss_slides: list[int]
    """Slides at each of those rows."""
    slides: int
    """All slides (``J``)."""
    initial_lines: int
    """DRAM lines of the initial load (``n_a``); it occupies cycles ``[-n_a, -1]``."""
    slide_lines: int
    """DRAM lines per slide (``n_p``)."""
    words_per_line: int

    @property
    def dram_words(self) -> int:
        """Words SCALE-Sim reports as read from DRAM."""
        return self.words_per_line * (self.initial_lines + self.slides * self.slide_lines)


def read_sram(demand: Demand, sram_words: int, bw_words: int) -> ReadSram:
    """Slides of SCALE-Sim's sliding set window over ``demand`` (see the module docstring)."""
    set_size = _cdiv(sram_words, 100)
    nsets = demand.valid // set_size + 1
    active = min(nsets, _cdiv(_cdiv(sram_words, 2), set_size))
    step = min(nsets - active, _cdiv(sram_words // 2, set_size))
    miss_rows: list[int] = []
    miss_slides: list[int] = []
    total = 0
    if step > 0:
        start = 0
        for r, s in zip(demand.rows.tolist(), demand.sets.tolist(), strict=True):
            if (s - start) % nsets < active:
                continue
            cnt = 0
            while (s - start) % nsets >= active:
                start = (start + step) % nsets
                cnt += 1
            if miss_rows and miss_rows[-1] == r:
                miss_slides[-1] += cnt
            else:
                miss_rows.append(r)
                miss_slides.append(cnt)
            total += cnt
    initial = min(_cdiv(_cdiv(sram_words, 2), bw_words), _cdiv(demand.positions, bw_words))
    return ReadSram(miss_rows, miss_slides, total, initial, _cdiv(sram_words // 2, bw_words), bw_words)


# --------------------------------------------------------------------------- ofmap production


class Production(NamedTuple):
    """Ofmap words written per demand row, as cumulative counts (closed form per fold type)."""

    fold_end: IntArray
    """Words written up to the end of each fold, ``(folds,)``."""
    fold_type: IntArray
    """Index into :attr:`type_cum` of each fold."""
    type_cum: tuple[IntArray, ...]
    """Per fold type (valid extents of the fold), words written up to each local row."""
    rows_per_fold: int

    @property
    def total(self) -> int:
        """Ofmap words written (``M N FR`` for WS / IS, ``M N`` for OS)."""
        return int(self.fold_end[-1])

    def upto(self, row: int) -> int:
        """Words written in the rows ``<= row``."""
        if row < 0:
            return 0
        f, r = divmod(row, self.rows_per_fold)
        if f >= self.fold_end.size:
            return self.total
        return (int(self.fold_end[f - 1]) if f else 0) + int(self.type_cum[int(self.fold_type[f])][r])

    def row_of(self, word: int) -> int:
        """Demand row in which the ``word``-th word (1-based, ``<= total``) is written."""
        f = int(np.searchsorted(self.fold_end, word, side="left"))
        before = int(self.fold_end[f - 1]) if f else 0
        r = int(np.searchsorted(self.type_cum[int(self.fold_type[f])], word - before, side="left"))
        return f * self.rows_per_fold + r


def ofmap_production(m: int, n: int, k: int, rows: int, cols: int, dataflow: str) -> Production:
    """Cumulative ofmap words written by SCALE-Sim's demand rows (see the module docstring)."""
    fo = scalesim_folds(m, n, k, rows, cols, dataflow)
    nfr, nfc = fo.row_folds, fo.col_folds
    col_ext = _extents(fo.sc, cols, nfc)
    r = np.arange(fo.rows_per_fold, dtype=np.int64)[:, None]
    c = np.arange(cols, dtype=np.int64)[None, :]
    if dataflow == "os":
        row_ext = _extents(fo.sr, rows, nfr)
        kinds = sorted({(a, b) for a in row_ext.tolist() for b in col_ext.tolist()})
        q = r - (fo.t - 1) - c  # position in the flipped R x C block
        cums = tuple(np.cumsum(((q >= rows - a) & (q < rows) & (c < b)).sum(axis=1)) for a, b in kinds)
        fold_type = np.array([kinds.index((a, b)) for b in col_ext.tolist() for a in row_ext.tolist()])
    else:
        kinds_1 = sorted(set(col_ext.tolist()))
        t_idx = r - (2 * rows - 1) - c
        cums = tuple(np.cumsum(((t_idx >= 0) & (t_idx < fo.t) & (c < b)).sum(axis=1)) for b in kinds_1)
        fold_type = np.repeat(np.array([kinds_1.index(b) for b in col_ext.tolist()]), nfr)
    fold_type = fold_type.astype(np.int64)
    typed = tuple(x.astype(np.int64) for x in cums)
    totals = np.array([typed[t][-1] for t in fold_type.tolist()], dtype=np.int64)
    return Production(np.cumsum(totals), fold_type, typed, fo.rows_per_fold)


@dataclass
class _Ofmap:
    """State of SCALE-Sim's ofmap SRAM: words stored, the lines waiting to drain, the drain.

    Words fill lines of ``words_per_line``; starting a drain also closes the partly filled
    line. A drain takes the oldest ``ceil(D / words_per_line)`` lines and counts them as full
    except for the empty slots of its last line, and it frees what it counts (so an earlier
    partial line drained in the middle of a chunk counts, and frees, its empty slots too).
    """

    production: Production
    sram_words: int
    words_per_line: int
    freed: int = 0
    """Words counted as drained (DRAM writes), empty slots of inner partial lines included."""
    drain_end: int = -1
    drains: int = 0
    closed: int = 0
    """Words stored into lines that were closed (queued for draining)."""
    queue: deque[list[int]] = field(default_factory=deque)
    """Closed lines not drained yet, as ``[full lines, words of the final partial line]``."""

    @property
    def drain_half(self) -> int:
        return self.sram_words // 2

    def close_lines(self, stored: int) -> None:
        """Queue the lines of the words stored since the last close (the last one partial)."""
        full, part = divmod(stored - self.closed, self.words_per_line)
        if full or part:
            self.queue.append([full, part])
        self.closed = stored

    def drain(self, max_lines: int) -> tuple[int, int]:
        """Drain up to ``max_lines`` queued lines: ``(lines, words counted)``."""
        lines = 0
        last_valid = self.words_per_line
        while lines < max_lines and self.queue:
            seg = self.queue[0]
            take = min(seg[0], max_lines - lines)
            seg[0] -= take
            lines += take
            if take:
                last_valid = self.words_per_line
            if lines < max_lines and seg[0] == 0:
                self.queue.popleft()
                if seg[1]:
                    lines += 1
                    last_valid = seg[1]
        counted = lines * self.words_per_line - (self.words_per_line - last_valid) if lines else 0
        self.freed += counted
        return lines, counted

    def next_row(self, after: int, stall: int) -> int | None:
        """First row after ``after`` that stalls on, or starts, a drain (stall constant)."""
        prod = self.production
        first = prod.upto(after) + 1
        if first > prod.total:
            return None
        trigger_from = first
        if prod.row_of(first) + stall < self.drain_end:  # a drain is running
            full = max(self.freed + self.sram_words, first)
            drain_done = self.drain_end - stall  # first row at or after the drain's end
            if full <= prod.total and prod.row_of(full) < drain_done:
                return prod.row_of(full)
            trigger_from = prod.upto(drain_done - 1) + 1
        word = max(trigger_from, self.freed + self.drain_half + 1)
        return prod.row_of(word) if word <= prod.total else None

    def write_row(self, row: int, cycle: int) -> int:
        """Store row ``row``'s words from ``cycle`` on; returns the cycle its last word is stored."""
        prod = self.production
        word, last = prod.upto(row - 1), prod.upto(row)
        drain_lines = _cdiv(self.drain_half, self.words_per_line)
        while word < last:
            if cycle < self.drain_end:
                full = max(self.freed + self.sram_words, word + 1)
                if full > last:
                    break
                word, cycle = full, self.drain_end  # the buffer is full: wait for the drain
                continue
            trig = max(word + 1, self.freed + self.drain_half + 1)
            if trig > last:
                break
            self.close_lines(trig)
            lines, _ = self.drain(drain_lines)
            self.drain_end = cycle + lines - 1
            self.drains += 1
            word = trig
        return cycle

    def finish(self, last_cycle: int) -> int:
        """Drain everything left after the last row (from ``last_cycle`` on, one line per
        cycle, beside a drain still running); returns the cycle of the last DRAM write."""
        self.close_lines(self.production.total)
        stop = self.drain_end
        cycle = last_cycle
        drain_lines = _cdiv(self.drain_half, self.words_per_line)
        while self.queue:
            lines, _ = self.drain(drain_lines)
            stop = cycle + lines - 1
            cycle = stop + 1
        return max(stop, self.drain_end)


# --------------------------------------------------------------------------- the report


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


def sram_accesses(fo: Folds, m: int, n: int, k: int, rows: int, cols: int, dataflow: str) -> tuple[int, int, int]:
    """SCALE-Sim's SRAM counts: (ifmap reads, filter reads, ofmap writes) in words.

    Every fold reads its operand blocks once: the operand swept per column fold is read
    ``FC`` times (WS, OS ifmap; IS filter), OS's filter once per row fold; every row fold
    writes its ofmap block (OS once, plus the ``R + C`` SCALE-Sim adds per fold).
    """
    if dataflow == "ws":
        return m * k * fo.col_folds, k * n, m * n * fo.row_folds
    if dataflow == "is":
        return k * m, k * n * fo.col_folds, m * n * fo.row_folds
    return m * k * fo.col_folds, k * n * fo.row_folds, m * n + fo.folds * (rows + cols)


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


def _calc_reads(
    m: int, n: int, k: int, rows: int, cols: int, dataflow: str, ifmap_words: int, filter_words: int
) -> tuple[tuple[int, int], int]:
    """CALC mode: (ifmap, filter) DRAM words and the prefetch span before cycle 0."""
    fo = scalesim_folds(m, n, k, rows, cols, dataflow)
    first_reversed = rows - min(rows, fo.sr)  # first row of a reversed block that has data
    # Per operand: the words of each block in demand order, times each is demanded in a row,
    # and the first demand row.
    if dataflow == "ws":
        passes = (([m * k], fo.col_folds, rows), ([k * n], 1, first_reversed))
    elif dataflow == "is":
        passes = (([k * m], 1, first_reversed), ([k * n], fo.col_folds, rows))
    else:
        blocks = (k * _extents(n, cols, fo.col_folds)).tolist()
        passes = (([m * k], fo.col_folds, 0), (blocks, fo.row_folds, 0))
    words: list[int] = []
    prefetch = 0
    for sram, (blocks_words, repeats, first_row) in zip((ifmap_words, filter_words), passes, strict=True):
        items = sram // 100
        reset = CALC_RESET_SETS * items
        since_reset = 0
        got = 0
        for block in blocks_words:
            read, since_reset = calc_block_reads(block, repeats, reset, since_reset)
            got += read
        words.append(got)
        if got >= reset:
            prefetch = max(prefetch, _cdiv(reset, CALC_READ_WORDS_PER_CYCLE) - first_row)
        else:
            prefetch = max(prefetch, _cdiv(_cdiv(got, items) * items, CALC_READ_WORDS_PER_CYCLE))
    return (words[0], words[1]), prefetch


def calc_block_reads(block: int, repeats: int, reset: int, since_reset: int) -> tuple[int, int]:
    """CALC mode: words read for a block demanded ``repeats`` times in a row, and the words
    read since the last reset afterwards.

    The SRAM forgets everything each time ``reset`` more words have been read. A pass reads
    the block's leading words it does not hold (all of them at first); if a reset falls in
    the pass, the rest of the block is forgotten too and read again, so the pass reads the
    whole block and holds what it read after its last reset.
    """
    missing = block
    read = 0
    for _ in range(repeats):
        if missing == 0:
            break
        if since_reset + missing < reset:
            read += missing
            since_reset += missing
            missing = 0
        else:
            read += block
            since_reset = (since_reset + block) % reset
            missing = block - since_reset
    return read, since_reset


# --------------------------------------------------------------------------- our units


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
    zi, zf, zo, bw = scalesim_words(hw)
    rep = scalesim_report(
        gemm.m,
        gemm.n,
        gemm.k,
        rows=hw.pe_rows,
        cols=hw.pe_cols,
        dataflow=df,
        ifmap_sram_words=zi,
        filter_sram_words=zf,
        ofmap_sram_words=zo,
        bw_words=bw,
        interface=interface,
    )
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
