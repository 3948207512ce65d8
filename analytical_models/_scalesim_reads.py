"""SCALE-Sim v3's read SRAMs (ifmap, filter) under its loop nest: demand, sliding windows, DRAM reads.

Part of the closed form of :mod:`analytical_models._scalesim_mapping`.

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

from typing import NamedTuple

import numpy as np

from analytical_models._scalesim_folds import IntArray, _cdiv, _extents, scalesim_folds

CALC_RESET_SETS = 50
"""CALC mode: the read SRAMs forget their contents every this many sets."""
CALC_READ_WORDS_PER_CYCLE = 10
"""CALC mode: the nominal fetch rate of the reported read prefetch (words per cycle)."""


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
    if repeats <= 0 or block <= 0:
        return 0, since_reset
    if block >= reset:
        # every pass crosses a reset (it would need ``block`` more words without one), so
        # every pass reads the whole block: closed form of ``repeats`` such passes
        return repeats * block, (since_reset + repeats * block) % reset
    if since_reset + block < reset:  # the first pass fits before the next reset
        return block, since_reset + block
    # the first pass crosses a reset and reads the whole block, holding its last
    # ``since_reset`` words; the second (if any) reads the rest, which fits (block < reset)
    since_reset = (since_reset + block) % reset
    if repeats == 1:
        return block, since_reset
    return 2 * block - since_reset, block
