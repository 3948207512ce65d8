"""SCALE-Sim v3's ofmap SRAM under its loop nest: words written per demand row, drains to DRAM.

Part of the closed form of :mod:`analytical_models._scalesim_mapping`.

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
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from analytical_models._scalesim_folds import IntArray, _cdiv, _extents, scalesim_folds


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
