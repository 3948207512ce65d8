"""Timing and traffic of a candidate set: every (dataflow, loop order, tile triple) at once.

All per batch element, multiplied by ``batch``; the batch loop is outermost, and since every
batch element has its own A and B, batch multiplies the folds in every dataflow.

Timing. Each tile runs as SCALE-Sim folds (:mod:`analytical_models._timing`). Summed over
tiles the counts separate: ``folds = FR[row dim] * FC[col dim]`` with
``FR[x] = sum over tiles of ceil(t_x / R)`` (and ``FC`` with C), and the per-fold formula is
summed over the temporal tiles (full tiles plus the remainder). With one tile per dimension
this is exactly SCALE-Sim's ``ceil(Sr/R) * ceil(Sc/C) * per_fold(T)``. ``compute_cycles`` is
the streaming part, ``fill_drain_cycles`` the rest. When the tile loop of the streamed
dimension is innermost (WS: m, IS: n, OS: k; loops of one tile do not count) and a stationary
tile is one fold (its row and column extents within R and C), consecutive temporal tiles
stream through the same stationary fold without refilling the array, as SCALE-Sim streams the
whole dimension in one fold: the fill/drain is paid once per stationary tile, so
``fill_drain_cycles`` depends on the loop order.

DRAM traffic (loop order outermost first). Each operand has one irrelevant loop (A: n,
B: m, C: k). Inside it the operand touches, per relevant dimension, the whole dimension (that
loop nested inside) or one tile (outside; full tiles and the ragged last tile are two
classes). A class whose footprint does not fit the (half) buffer is refetched once per
iteration of the irrelevant loop, one that fits is fetched once: all or nothing, which is what
an LRU buffer does on this cyclic pattern (the tests check it against a tile-by-tile LRU
simulation; a Belady-optimal buffer would keep part of an oversized footprint). A and B:
``bytes = bytes_per_element * sum over classes of elements * (ntiles_irrelevant or 1)``.
C: classes that do not fit at ``acc_bits`` make ``nk - 1`` partial-sum round trips (read and
write, at ``acc_bits``; none when K is not split); the final result is written once at
``bits``.

SRAM accesses. Fills write what DRAM delivers. The array reads the operand whose two
dimensions lie on the array (stationary) once per temporal tile, the operand on (rows, time)
once per column fold, the one on (columns, time) once per row fold; the output buffer is
read-modified-written at ``acc_bits`` once per accumulation (the first one without a read),
and read again for everything written back to DRAM.

:func:`stage_modes` computes the loop-order-free part on ``(D, T)`` arrays (the part that
scales with the tiles), :func:`with_orders` gathers it per loop order into the ``(D, O, T)``
layout of :class:`Stage`; cycles, energy and :class:`Cost` follow in
:mod:`analytical_models._cost`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from analytical_models._arrays import BoolArray, FloatArray, IntArray
from analytical_models._consts import HwConsts
from analytical_models._serial import SerialTerms, _serial_terms
from analytical_models._tiles import TileStats, _compute_tile_stats, _fold_sums
from analytical_models._timing import FOLD_CYCLES, GEOMETRY, K_DIM, M_DIM, N_DIM
from analytical_models._types import Gemm

LOOP_ORDERS: tuple[str, ...] = ("mnk", "mkn", "nmk", "nkm", "kmn", "knm")
"""The six tile-loop orders, outermost first."""

_ORDER_INDEX = {o: i for i, o in enumerate(LOOP_ORDERS)}

# _INNER[o, x, y]: in loop order o, the loop over dimension y is nested inside the loop over x.
_INNER: BoolArray = np.array(
    [[[o.index("mnk"[y]) > o.index("mnk"[x]) for y in range(3)] for x in range(3)] for o in LOOP_ORDERS],
    dtype=np.bool_,
)
_ALL_ORDERS: IntArray = np.arange(len(LOOP_ORDERS), dtype=np.int64)


class Stage(NamedTuple):
    """Mapping-dependent intermediates of a candidate set.

    Layout ``(D, O, T)``: dataflows, loop orders, tile triples (innermost, contiguous).
    Cycles are in cycles, traffic in bytes (whole GEMM, all batch elements).
    """

    compute: FloatArray
    """Streaming cycles, ``(D, 1, T)``."""
    fill: FloatArray
    """Fill/drain cycles, ``(D, O, T)`` (once per stationary tile when the streamed dimension's
    loop is innermost and the tile is one fold)."""
    a_rd: FloatArray
    """ifmap-buffer bytes read by the array, ``(D, O, T)``."""
    b_rd: FloatArray
    """filter-buffer bytes read by the array, ``(D, O, T)``."""
    c_acc: FloatArray
    """Output-element accumulations into the ofmap buffer, ``(D, O, T)`` (the stationary
    operand's accesses, like the fill/drain, depend on whether the streamed loop is innermost)."""
    a_dram: FloatArray
    """A bytes fetched from DRAM, ``(1, O, T)``."""
    b_dram: FloatArray
    """B bytes fetched from DRAM, ``(1, O, T)``."""
    psum: FloatArray
    """Partial-sum bytes spilled to DRAM (each way), ``(1, O, T)``."""
    exposed: FloatArray
    """DRAM cycles not hidden by double buffering (first A+B tile, last C tile), ``(1, 1, T)``."""
    serial: SerialTerms | None = None
    """Serial-timing terms, ``(D, 1, T)`` each (None in overlapped mode)."""


# Per-dataflow index tables: dimension on rows / columns / time, and for each operand the role
# (0 = row, 1 = column, 2 = time) of its irrelevant dimension (A: n, B: m, C: k).
def _role(df: str, x: int) -> int:
    return GEOMETRY[df].index(x)


@lru_cache(maxsize=64)
def _dataflow_tables(dataflows: tuple[str, ...]) -> tuple[IntArray, ...]:
    rows_x = np.array([GEOMETRY[d][0] for d in dataflows], dtype=np.int64)
    cols_x = np.array([GEOMETRY[d][1] for d in dataflows], dtype=np.int64)
    time_x = np.array([GEOMETRY[d][2] for d in dataflows], dtype=np.int64)
    role_a = np.array([_role(d, N_DIM) for d in dataflows], dtype=np.int64)
    role_b = np.array([_role(d, M_DIM) for d in dataflows], dtype=np.int64)
    role_c = np.array([_role(d, K_DIM) for d in dataflows], dtype=np.int64)
    return rows_x, cols_x, time_x, role_a, role_b, role_c


@lru_cache(maxsize=64)
def _after(dataflows: tuple[str, ...]) -> FloatArray:
    """``(D, O, 3)``: 1 where loop order ``o`` nests dimension ``x`` inside dataflow ``d``'s
    streamed dimension."""
    out = np.array(
        [
            [[float(o.index("mnk"[x]) > o.index("mnk"[GEOMETRY[d][2]])) for x in range(3)] for o in LOOP_ORDERS]
            for d in dataflows
        ]
    )
    out.setflags(write=False)
    return out


# _MODES[o, operand]: for A (m, k | n), B (k, n | m), C (m, n | k), which of the operand's two
# dimensions have their loop nested inside its irrelevant loop in order o: bit 0 the first,
# bit 1 the second.
_OPERANDS = ((M_DIM, K_DIM, N_DIM), (K_DIM, N_DIM, M_DIM), (M_DIM, N_DIM, K_DIM))
_MODES: IntArray = np.array(
    [[int(_INNER[o, y, x1]) + 2 * int(_INNER[o, y, x2]) for x1, x2, y in _OPERANDS] for o in range(len(LOOP_ORDERS))],
    dtype=np.int64,
)


class ModeStage(NamedTuple):
    """Loop-order-free intermediates of a candidate set: :class:`Stage` before the order gather.

    ``compute``, ``fill``, ``a_rd``, ``b_rd``, ``c_acc`` as in :class:`Stage` but ``(D, T)``
    (the fill/drain and the stationary operand's accesses paid per temporal tile; ``*_once``
    the same with the streamed dimension's loop innermost, where one-fold stationary tiles stay
    in the array: never larger); ``moved[mode, operand]`` the elements of A, B, C moved
    per batch element in each of the four modes, ``(4, 3, T)``; ``exposed`` ``(T,)``;
    ``after[d, o, x]``: loop order ``o`` nests dimension ``x`` inside dataflow ``d``'s streamed
    dimension; ``multi[x, t]``: dimension ``x`` has more than one tile (the streamed loop is
    effectively innermost when every loop inside it has one tile).
    """

    compute: FloatArray
    fill: FloatArray
    a_rd: FloatArray
    b_rd: FloatArray
    c_acc: FloatArray
    moved: FloatArray
    exposed: FloatArray
    serial: SerialTerms | None = None
    """Serial-timing terms, ``(D, T)`` (``c_model`` ``(D, 1)``); None in overlapped mode."""
    fill_once: FloatArray | None = None
    a_rd_once: FloatArray | None = None
    b_rd_once: FloatArray | None = None
    c_acc_once: FloatArray | None = None
    after: FloatArray | None = None
    multi: FloatArray | None = None

    def once_mask(self, orders: IntArray, keep: IntArray | None = None) -> BoolArray:
        """``(D, O, T)``: the streamed loop is effectively innermost (fill/drain paid once)."""
        assert self.after is not None and self.multi is not None
        multi = self.multi if keep is None else self.multi[:, keep]
        out: BoolArray = (self.after[:, orders] @ multi) == 0.0
        return out

    def once_at(self, d: int, o: int, t: int) -> bool:
        """Candidate ``(d, o, t)`` has its streamed loop effectively innermost."""
        assert self.after is not None and self.multi is not None
        return not bool((self.after[d, o] * self.multi[:, t]).any())


def stage(
    gemm: Gemm,
    c: HwConsts,
    dataflows: tuple[str, ...],
    tiles: IntArray,
    orders: IntArray,
    stats: TileStats | None = None,
) -> Stage:
    """Timing and traffic of every (dataflow, loop order, tile triple) combination at once.

    Args:
        gemm: the operation.
        c: hardware scalars from :func:`analytical_models._consts.hw_consts`.
        dataflows: the D dataflows to price.
        tiles: ``(3, T)`` tile sizes (rows m, n, k) in elements, each ``1 <= tile <= dim``.
        orders: the O loop orders, as indices into :data:`LOOP_ORDERS`.
        stats: :func:`_compute_tile_stats` of ``tiles`` if already known (see
            :func:`analytical_models._tiles.grid_stats`).
    """
    return with_orders(stage_modes(gemm, c, dataflows, tiles, stats), gemm, c, orders)


def with_orders(ms: ModeStage, gemm: Gemm, c: HwConsts, orders: IntArray, keep: IntArray | None = None) -> Stage:
    """The :class:`Stage` of ``ms`` for the loop ``orders``, on the tiles ``keep`` (or all)."""
    sr = ms.serial
    if keep is None:
        compute, fill, a_rd, b_rd, c_acc, moved, exposed = ms[:7]
    else:
        compute, fill, a_rd, b_rd, c_acc = (a[:, keep] for a in ms[:5])
        moved, exposed = ms.moved[:, :, keep], ms.exposed[keep]
        if sr is not None:
            sr = SerialTerms(sr.pad_a[:, keep], sr.pad_b[:, keep], sr.c_fold_wr[:, keep], sr.c_model)
    mask = ms.once_mask(orders, keep)

    def per_order(all_: FloatArray, once: FloatArray | None) -> FloatArray:
        assert once is not None
        out: FloatArray = np.where(mask, (once if keep is None else once[:, keep])[:, None, :], all_[:, None, :])
        return out

    batch = float(gemm.batch)
    bpe = c.bytes_per_el
    modes = _MODES[orders]
    a_el = moved[modes[:, 0], 0]
    b_el = moved[modes[:, 1], 1]
    # Partial sums of a C class that does not fit make nk - 1 round trips (0 when nk = 1).
    c_el = moved[modes[:, 2], 2]
    psum_el = c_el - float(gemm.m) * gemm.n
    return Stage(
        compute=compute[:, None],
        fill=per_order(fill, ms.fill_once),
        a_rd=per_order(a_rd, ms.a_rd_once),
        b_rd=per_order(b_rd, ms.b_rd_once),
        c_acc=per_order(c_acc, ms.c_acc_once),
        a_dram=((batch * bpe) * a_el)[None],
        b_dram=((batch * bpe) * b_el)[None],
        psum=((batch * c.acc_bytes) * psum_el)[None],
        exposed=exposed[None, None],
        serial=None if sr is None else SerialTerms(*(a[:, None] for a in sr)),
    )


def stage_modes(
    gemm: Gemm,
    c: HwConsts,
    dataflows: tuple[str, ...],
    tiles: IntArray,
    stats: TileStats | None = None,
) -> ModeStage:
    """:func:`stage` up to the per-loop-order gather (the part that scales with the tiles).

    Args:
        gemm: the operation.
        c: hardware scalars from :func:`analytical_models._consts.hw_consts`.
        dataflows: the D dataflows to price.
        tiles: ``(3, T)`` tile sizes (rows m, n, k) in elements, each ``1 <= tile <= dim``.
        stats: :func:`_compute_tile_stats` of ``tiles`` if already known (see
            :func:`analytical_models._tiles.grid_stats`).
    """
    batch = float(gemm.batch)
    rows, cols = c.rows, c.cols
    ts = _compute_tile_stats(gemm.m, gemm.n, gemm.k, tiles) if stats is None else stats
    # Row / column folds summed over the tiles of each dimension, and the tile counts:
    # reuse[role, x] for role 0 = on the rows, 1 = on the columns, 2 = in time.
    reuse = np.empty((3, 3, tiles.shape[1]))
    if ts.fold_idx is not None:  # per-dimension sums (cached), gathered per tile
        m, n, k = gemm.m, gemm.n, gemm.k
        per_size = np.concatenate(
            (
                _fold_sums(m, rows),
                _fold_sums(n, rows),
                _fold_sums(k, rows),
                _fold_sums(m, cols),
                _fold_sums(n, cols),
                _fold_sums(k, cols),
            )
        )
        reuse[:2] = per_size[ts.fold_idx]
    else:
        reuse[0] = ts.q * -(-tiles // rows) + -(-ts.rem // rows)
        reuse[1] = ts.q * -(-tiles // cols) + -(-ts.rem // cols)
    reuse[2] = ts.ntiles
    both = ts.both

    rows_x, cols_x, time_x, role_a, role_b, role_c = _dataflow_tables(dataflows)
    folds = batch * (reuse[0, rows_x] * reuse[1, cols_x])  # (D, T)
    w_full = ts.nfull[time_x]
    has_t = ts.has_rem[time_x]
    n_d = len(dataflows)
    stream = np.empty((n_d, 2, tiles.shape[1]))
    fill_fold = np.empty_like(stream)
    for i, d in enumerate(dataflows):
        stream[i], fill_fold[i] = FOLD_CYCLES[d](rows, cols, both[time_x[i]])
    compute = folds * (w_full * stream[:, 0] + np.where(has_t, stream[:, 1], 0.0))
    fill = folds * (w_full * fill_fold[:, 0] + np.where(has_t, fill_fold[:, 1], 0.0))
    fill_once, stat_el, persists = _persistent(ts, tiles, rows, cols, rows_x, cols_x, time_x, fill_fold, batch, fill)

    mk = batch * gemm.m * gemm.k
    kn = batch * gemm.k * gemm.n
    mn = batch * gemm.m * gemm.n
    bpe = c.bytes_per_el
    a_rd = (mk * bpe) * reuse[role_a, N_DIM]
    b_rd = (kn * bpe) * reuse[role_b, M_DIM]
    c_acc = mn * reuse[role_c, K_DIM]
    # The stationary operand (its irrelevant dimension is the streamed one) is read into the
    # array (OS: accumulated out of it) once per temporal tile, or once while it stays there.
    once = [a_rd.copy(), b_rd.copy(), c_acc.copy()]
    scale = (batch * bpe, batch * bpe, batch)
    for i, d in enumerate(dataflows):
        op = _STATIONARY[d]
        once[op][i] = np.where(persists[i], scale[op] * stat_el[i], once[op][i])

    # Refetches. Inside its irrelevant loop an operand touches, per relevant dimension, the
    # whole dimension (that loop nested inside) or one tile (outside; full tiles and the ragged
    # last tile are two classes). A class whose footprint does not fit is refetched once per
    # iteration of the irrelevant loop. Each loop order puts an operand in one of four modes
    # (which of its two dimensions are nested inside); price the modes of the three operands
    # at once on (operand, T) arrays, then gather them per order. Per footprint class this is
    # ``elements * (times if footprint * el_bytes > cap_bytes else 1)``, bit for bit, with the
    # hardware-independent products taken from the tile stats.
    el_bytes, cap_bytes, threshold = _operand_bytes(c)
    # With power-of-two element sizes the product is exact: compare elements to a threshold.
    spill = ts.class_fp > threshold if threshold is not None else ts.class_fp * el_bytes > cap_bytes
    v = ts.class_el * np.where(spill, ts.times, 1.0)  # x times or x 1: exact
    out = np.empty((4, 3, tiles.shape[1]))
    out[0] = (v[0] + v[1]) + (v[2] + v[3])  # both outside: one tile at a time
    out[1] = v[4] + v[5]  # first dimension nested inside
    out[2] = v[6] + v[7]  # second dimension nested inside
    whole = ts.whole_el
    out[3] = whole * np.where(whole * el_bytes > cap_bytes, ts.times, 1.0)
    exposed = (ts.footprint * (bpe / c.bw_bytes_per_cycle)).astype(np.float64, copy=False)
    serial = _serial_terms(gemm, c, dataflows, reuse, c_acc) if c.serial else None
    multi = (ts.ntiles > 1.0).astype(np.float64)
    return ModeStage(
        compute,
        fill,
        a_rd,
        b_rd,
        c_acc,
        out,
        exposed,
        serial,
        fill_once,
        once[0],
        once[1],
        once[2],
        _after(dataflows),
        multi,
    )


_STATIONARY = {"ws": 1, "is": 0, "os": 2}
"""The operand held in the array (A 0, B 1, C 2): its irrelevant dimension is the streamed one."""


def _persistent(
    ts: TileStats,
    tiles: IntArray,
    rows: int,
    cols: int,
    rows_x: IntArray,
    cols_x: IntArray,
    time_x: IntArray,
    fill_fold: FloatArray,
    batch: float,
    fill: FloatArray,
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """With the streamed dimension's loop innermost, a stationary tile of one fold (per class:
    full or ragged on the rows, full or ragged on the columns) stays in the array for all its
    temporal tiles; the others are reloaded per temporal tile. ``(D, T)`` each:

    * the fill/drain cycles (one per one-fold stationary tile; ``fill`` itself, bit for bit,
      where nothing stays);
    * the stationary operand's elements moved into (OS: out of) the array per batch element
      (each one-fold class once, the others once per temporal tile);
    * where anything stays (a one-fold class and more than one temporal tile).

    The four (row class, column class) pairs are priced at once on ``(2, 2, D, T)`` arrays and
    summed in the fixed order (full, full), (full, ragged), (ragged, full), (ragged, ragged).
    """
    w_full = ts.nfull[time_x]
    n_time = ts.ntiles[time_x]
    per = w_full * fill_fold[:, 0] + np.where(ts.has_rem[time_x], fill_fold[:, 1], 0.0)
    once = np.where(w_full > 0, fill_fold[:, 0], fill_fold[:, 1])
    # (count, extent, folds) of the full and the ragged tiles on the rows (r) and columns (c)
    n_r = np.stack((ts.nfull[rows_x], ts.has_rem[rows_x].astype(np.float64)))[:, None]
    n_c = np.stack((ts.nfull[cols_x], ts.has_rem[cols_x].astype(np.float64)))[None]
    t_r = np.stack((tiles[rows_x], ts.rem[rows_x]))[:, None]
    t_c = np.stack((tiles[cols_x], ts.rem[cols_x]))[None]
    f_r = -(-t_r // rows)
    f_c = -(-t_c // cols)
    count = n_r * n_c  # (2, 2, D, T)
    one = (f_r == 1) & (f_c == 1) & (count > 0)
    cyc = count * (f_r * f_c) * np.where(one, once, per)
    el = count * (t_r * t_c) * np.where(one, 1.0, n_time)
    total = ((cyc[0, 0] + cyc[0, 1]) + cyc[1, 0]) + cyc[1, 1]
    stat = ((el[0, 0] + el[0, 1]) + el[1, 0]) + el[1, 1]
    persists = one.any(axis=(0, 1)) & (n_time > 1.0)
    out: FloatArray = np.where(persists, batch * total, fill)
    return out, stat, persists


@lru_cache(maxsize=65_536)
def _operand_bytes(c: HwConsts) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Bytes per element and usable buffer bytes of A, B, C (``(3, 1)`` each), and the
    usable buffers in elements when every element size is a power of two (else None)."""
    el = np.array([c.bytes_per_el, c.bytes_per_el, c.acc_bytes]).reshape(3, 1)
    cap = np.array([c.cap_a_bytes, c.cap_b_bytes, c.cap_c_bytes]).reshape(3, 1)
    exact = all(math.frexp(x)[0] == 0.5 for x in (c.bytes_per_el, c.acc_bytes))
    return el, cap, (cap / el if exact else None)
