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
scales with the tiles): every term is a product of per-dimension quantities, or (the refetches)
a function of one operand's two tile sizes, so it is computed on each dimension's few candidate
sizes and gathered per tile (:class:`~analytical_models._tiles.TileIndex`).
:func:`with_orders` gathers it per loop order into the ``(D, O, T)`` layout of :class:`Stage`;
cycles, energy and :class:`Cost` follow in :mod:`analytical_models._cost`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from analytical_models._arrays import BoolArray, FloatArray, IntArray
from analytical_models._consts import HwConsts
from analytical_models._serial import SerialTerms, _serial_terms
from analytical_models._tiles import T_ALL, T_DIM, T_FULL, T_REM, T_SIZE, TileIndex, tile_index
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
) -> Stage:
    """Timing and traffic of every (dataflow, loop order, tile triple) combination at once.

    Args:
        gemm: the operation.
        c: hardware scalars from :func:`analytical_models._consts.hw_consts`.
        dataflows: the D dataflows to price.
        tiles: ``(3, T)`` tile sizes (rows m, n, k) in elements, each ``1 <= tile <= dim``.
        orders: the O loop orders, as indices into :data:`LOOP_ORDERS`.
    """
    ti = tile_index(gemm.m, gemm.n, gemm.k, tiles)
    return with_orders(stage_modes(gemm, c, dataflows, ti), gemm, c, orders)


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


def candidate_terms(
    table: FloatArray, rows: int, cols: int, dataflows: tuple[str, ...]
) -> tuple[FloatArray, FloatArray]:
    """Per-candidate terms of :func:`stage_modes` on a candidate ``table``
    (:attr:`~analytical_models._tiles.TileIndex.table`) for an array of ``rows`` x ``cols``.

    ``per_side[q, side, l]`` ``(3, 3, L)``: per array side (0 rows, 1 columns) the folds summed
    over the dimension's tiles (``q = 0``), and the tiles (1) and elements (2) of its one-fold
    tile classes (a stationary tile of one fold stays in the array while the streamed loop is
    innermost); ``per_side[0, 2]`` is the tile count (the operand's loop in time).
    ``per_t[q, d, l]`` ``(3, D, L)``: the fold cycles of the temporal tiles of dataflow ``d``
    when candidate ``l`` is streamed, summed over them (streaming ``q = 0``, fill/drain 1), and
    the fill/drain of one fold (2: a stationary tile that stays). Integers as floats, cycles.
    """
    size, rem, nfull, ntiles = table[T_SIZE], table[T_REM], table[T_FULL], table[T_ALL]
    per_side = np.empty((3, 3, size.size))
    for side, width in ((0, rows), (1, cols)):
        fits, rem_fits = size <= width, (rem > 0) & (rem <= width)
        per_side[0, side] = nfull * np.ceil(size / width) + np.ceil(rem / width)
        per_side[1, side] = nfull * fits + rem_fits
        per_side[2, side] = nfull * size * fits + rem * rem_fits
    per_side[0, 2] = ntiles
    per_t = np.empty((3, len(dataflows), size.size))
    extents = table[T_SIZE : T_REM + 1]
    has_rem = rem > 0
    for i, d in enumerate(dataflows):
        stream, fill_fold = FOLD_CYCLES[d](rows, cols, extents)
        per_t[0, i] = nfull * stream[0] + np.where(has_rem, stream[1], 0.0)
        per_t[1, i] = nfull * fill_fold[0] + np.where(has_rem, fill_fold[1], 0.0)
        per_t[2, i] = np.where(nfull > 0, fill_fold[0], fill_fold[1])
    return per_side, per_t


def stage_modes(gemm: Gemm, c: HwConsts, dataflows: tuple[str, ...], ti: TileIndex) -> ModeStage:
    """:func:`stage` up to the per-loop-order gather (the part that scales with the tiles).

    Every term is a product of per-dimension quantities (folds on the rows or columns summed
    over a dimension's tiles, its tile counts, the fold cycles of its temporal tiles), or a
    function of one operand's two dimensions (what it refetches), so each is computed on the
    candidate sizes of :class:`~analytical_models._tiles.TileIndex` and gathered per tile. The
    terms are integers (as floats, far below 2**53), so any association gives the same bits.

    Args:
        gemm: the operation.
        c: hardware scalars from :func:`analytical_models._consts.hw_consts`.
        dataflows: the D dataflows to price.
        ti: the tile triples (:func:`~analytical_models._tiles.grid_index` or
            :func:`~analytical_models._tiles.tile_index`).
    """
    batch = float(gemm.batch)
    tab = ti.table
    ntiles = tab[T_ALL]
    per_side, per_t = candidate_terms(tab, c.rows, c.cols, dataflows)
    rows_x, cols_x, time_x, role_a, role_b, role_c = _dataflow_tables(dataflows)
    idx = ti.idx
    ir, ic, it = idx[rows_x], idx[cols_x], idx[time_x]  # (D, T)
    fr, fc = per_side[0, 0][ir], per_side[0, 1][ic]
    n_d, n_l = len(dataflows), tab.shape[1]
    at_t = it + (np.arange(n_d) * n_l)[:, None]
    per_compute, per_fill, once_fill = per_t.reshape(3, -1).take(at_t, axis=1)
    ff = fr * fc
    folds = batch * ff
    compute = folds * per_compute
    fill = folds * per_fill
    stays = per_side[1, 0][ir] * per_side[1, 1][ic]  # one-fold stationary tiles
    fill_once = batch * (ff * per_fill + stays * (once_fill - per_fill))
    n_time = ntiles[it]
    dims = np.array([[float(gemm.m)], [float(gemm.n)], [float(gemm.k)]])
    # Stationary elements moved into (OS: out of) the array per batch element: each one-fold
    # tile once, the rest once per temporal tile.
    stat_el = (dims[rows_x] * dims[cols_x]) * n_time - (per_side[2, 0][ir] * per_side[2, 1][ic]) * (n_time - 1.0)
    persists = (stays > 0.0) & (n_time > 1.0)

    mk = batch * gemm.m * gemm.k
    kn = batch * gemm.k * gemm.n
    mn = batch * gemm.m * gemm.n
    bpe = c.bytes_per_el
    reuse = per_side[0]  # (role, L): 0 row folds, 1 column folds, 2 tiles
    a_rd = (mk * bpe) * reuse[role_a].take(idx[N_DIM], axis=1)
    b_rd = (kn * bpe) * reuse[role_b].take(idx[M_DIM], axis=1)
    c_acc = mn * reuse[role_c].take(idx[K_DIM], axis=1)
    # The stationary operand (its irrelevant dimension is the streamed one) is read into the
    # array (OS: accumulated out of it) once per temporal tile, or once while it stays there.
    once = [a_rd, b_rd, c_acc]
    scale = (batch * bpe, batch * bpe, batch)
    for op in {_STATIONARY[d] for d in dataflows}:
        rows_op = [i for i, d in enumerate(dataflows) if _STATIONARY[d] == op]
        once[op] = once[op].copy()
        once[op][rows_op] = np.where(persists[rows_op], scale[op] * stat_el[rows_op], once[op][rows_op])
    moved = _moved(ti, c)
    exposed = ti.footprint * (bpe / c.bw_bytes_per_cycle)
    serial = None
    if c.serial:
        serial = _serial_terms(gemm, c, dataflows, reuse[:, idx], c_acc)  # reuse[role, x, T]
    multi = (ntiles > 1.0).astype(np.float64)[idx]
    return ModeStage(
        compute,
        fill,
        a_rd,
        b_rd,
        c_acc,
        moved,
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


def _moved(ti: TileIndex, c: HwConsts) -> FloatArray:
    """Elements of A, B, C moved per batch element in each of the four modes, ``(4, 3, T)``.

    Refetches. Inside its irrelevant loop an operand touches, per relevant dimension, the whole
    dimension (that loop nested inside) or one tile (outside; full tiles and the ragged last
    tile are two classes). A class whose footprint does not fit is refetched once per iteration
    of the irrelevant loop. Each loop order puts an operand in one of four modes (which of its
    two dimensions are nested inside). Every class is moved at least once (together: the whole
    operand, ``W``); the classes that spill are moved ``times - 1`` more (``times``: tiles of
    the irrelevant dimension): ``W + (times - 1) * S`` with ``S`` the spilled classes'
    elements, a function of the operand's two tile sizes only (:func:`_spilled`).
    """
    out = np.empty((4, 3, ti.idx.shape[1]))
    for op, (x1, x2, _) in enumerate(_OPERANDS):
        w1, w2 = float(ti.table[T_DIM, ti.starts[x1]]), float(ti.table[T_DIM, ti.starts[x2]])
        whole = w1 * w2
        table = refetch_table(c, op, w1, ti.cands[x1], w2, ti.cands[x2])
        if table is None:
            out[:, op] = whole
            continue
        np.multiply(table.take(ti.pairs[op], axis=1), ti.extra[op], out=out[:, op])
        out[:, op] += whole
    return out


def refetch_table(
    c: HwConsts, op: int, w1: float, cand1: tuple[int, ...], w2: float, cand2: tuple[int, ...]
) -> FloatArray | None:
    """:func:`_spilled` of operand ``op`` (A 0, B 1, C 2; its two dimensions of ``w1`` and ``w2``
    elements with candidate tile sizes ``cand1`` and ``cand2``) on ``c``'s buffers, or None when
    the whole operand fits its buffer (no footprint, none being larger, spills: it moves once)."""
    params = refetch_params(c, op, w1, w2)
    return None if params is None else _spilled(w1, cand1, w2, cand2, *params)


def refetch_params(c: HwConsts, op: int, w1: float, w2: float) -> tuple[float | None, float, float] | None:
    """``(threshold, el_bytes, cap_bytes)`` of :func:`_spilled` for operand ``op`` (see
    :func:`refetch_table`), or None when the whole operand fits its buffer."""
    el_bytes, cap_bytes, threshold = _operand_bytes(c)
    # power-of-two element sizes: compare elements to the threshold (exact)
    thr = None if threshold is None else float(threshold[op, 0])
    whole = w1 * w2
    el, cap = float(el_bytes[op, 0]), float(cap_bytes[op, 0])
    if (whole <= thr) if thr is not None else (whole * el <= cap):
        return None
    return thr, el, cap


@lru_cache(maxsize=4096)  # entries are a few kB
def _spilled(
    w1: float,
    cand1: tuple[int, ...],
    w2: float,
    cand2: tuple[int, ...],
    threshold: float | None,
    el_bytes: float,
    cap_bytes: float,
) -> FloatArray:
    """Per mode, the elements of the footprint classes that do not fit, over every pair of
    candidate tile sizes of an operand's two dimensions (sizes ``w1``, ``w2``): ``(4, L1 * L2)``.

    A footprint of ``fp`` elements does not fit when ``fp * el_bytes > cap_bytes``, or, given a
    ``threshold`` (``cap_bytes / el_bytes``, exact for power-of-two element sizes), ``fp >
    threshold``.
    """

    def spills(fp: FloatArray) -> BoolArray:
        out: BoolArray = fp > threshold if threshold is not None else fp * el_bytes > cap_bytes
        return out

    t1 = np.array(cand1, dtype=np.float64)[:, None]
    t2 = np.array(cand2, dtype=np.float64)[None]
    r1, r2 = w1 - np.floor(w1 / t1) * t1, w2 - np.floor(w2 / t2) * t2  # ragged remainders
    c1, c2 = w1 - r1, w2 - r2  # elements under the full tiles
    table = np.empty((4, t1.size, t2.size))
    table[0] = (c1 * c2 * spills(t1 * t2) + c1 * r2 * spills(t1 * r2)) + (
        r1 * c2 * spills(r1 * t2) + r1 * r2 * spills(r1 * r2)
    )
    table[1] = w1 * (c2 * spills(w1 * t2) + r2 * spills(w1 * r2))
    table[2] = w2 * (c1 * spills(t1 * w2) + r1 * spills(r1 * w2))
    whole = w1 * w2
    table[3] = whole * spills(np.array(whole))
    out = table.reshape(4, -1)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=65_536)
def _operand_bytes(c: HwConsts) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Bytes per element and usable buffer bytes of A, B, C (``(3, 1)`` each), and the
    usable buffers in elements when every element size is a power of two (else None)."""
    el = np.array([c.bytes_per_el, c.bytes_per_el, c.acc_bytes]).reshape(3, 1)
    cap = np.array([c.cap_a_bytes, c.cap_b_bytes, c.cap_c_bytes]).reshape(3, 1)
    exact = all(math.frexp(x)[0] == 0.5 for x in (c.bytes_per_el, c.acc_bytes))
    return el, cap, (cap / el if exact else None)
