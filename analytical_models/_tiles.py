"""Tile candidates of one GEMM and their hardware-independent per-tile statistics.

The tile loops cut the GEMM into tiles ``(tile_m, tile_n, tile_k)``. Candidate sizes per
dimension are the balanced splits and the powers of two (:func:`dim_candidates`).

Buffers. Each operand buffer is double-buffered: a tile may use half of it. A and B tiles
must fit (``tile_m*tile_k`` and ``tile_k*tile_n`` elements at ``bits``); the C tile is kept
at ``acc_bits`` and spills to DRAM when it does not fit (:mod:`analytical_models._stage`).

:func:`grid` enumerates the tile triples that fit, cached by GEMM shape and buffer capacities
in elements; :func:`grid_stats` gathers their per-tile statistics (:class:`TileStats`) from
per-dimension tables, equal to the direct per-tile computation :func:`_compute_tile_stats`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from analytical_models._arrays import BoolArray, FloatArray, IntArray
from analytical_models._timing import K_DIM, M_DIM, N_DIM


@lru_cache(maxsize=16_384)
def dim_candidates(size: int) -> IntArray:
    """Tile-size candidates for one dimension of ``size`` elements.

    The balanced splits ``ceil(size / 2**j)`` (no ragged remainder) and the powers of two up to
    ``size``, sorted ascending.
    """
    vals = {-(-size // (1 << j)) for j in range(size.bit_length())}
    vals.update(1 << j for j in range(size.bit_length()))
    out = np.array(sorted(vals), dtype=np.int64)
    out.setflags(write=False)
    return out


class TileStats(NamedTuple):
    """Hardware-independent per-tile arrays of one GEMM shape (see :func:`grid_stats`)."""

    q: IntArray
    """Full tiles per dimension, ``(3, T)``."""
    rem: IntArray
    """Ragged remainder per dimension, ``(3, T)``."""
    has_rem: BoolArray
    nfull: FloatArray
    ntiles: FloatArray
    both: FloatArray
    """Temporal extents (full tile, remainder) as floats, ``(3, 2, T)``."""
    times: FloatArray
    """Tile count of each operand's irrelevant dimension (A: n, B: m, C: k), ``(3, T)``."""
    class_el: FloatArray
    """Elements of each footprint class of each operand, ``(8, 3, T)``: four classes with both
    dimensions outside (full x full, full x ragged, ragged x full, ragged x ragged), two with
    the first dimension nested inside (whole x full, whole x ragged), two with the second
    (full x whole, ragged x whole). A class is moved once, or ``times`` times if its footprint
    does not fit."""
    class_fp: FloatArray
    """Footprint (elements) of one instance of each class, ``(8, 3, T)``."""
    whole_el: FloatArray
    """Both dimensions nested inside: the whole operand, ``(3, 1)`` elements."""
    footprint: IntArray
    """``tile_m * tile_k + tile_k * tile_n + tile_m * tile_n`` elements, ``(T,)``."""
    fold_idx: IntArray | None = None
    """For :func:`grid_stats`: ``(2, 3, T)`` indices of each tile size into the concatenated
    :func:`_fold_sums` of (m, n, k) on the rows, then on the columns (see
    :func:`analytical_models._stage.stage_modes`)."""


_X1 = np.array(
    [x1 for x1, _, _ in ((M_DIM, K_DIM, N_DIM), (K_DIM, N_DIM, M_DIM), (M_DIM, N_DIM, K_DIM))], dtype=np.int64
)
_X2 = np.array([K_DIM, N_DIM, N_DIM], dtype=np.int64)
_Y = np.array([N_DIM, M_DIM, K_DIM], dtype=np.int64)


# Footprint classes (see TileStats.class_el) as rows of the per-dimension table of
# _compute_tile_stats (0 full tile, 1 ragged tile, 2 covered by full tiles, 3 whole dimension)
# for the operand's first and second dimension: elements, then one instance's footprint.
_EL_1 = np.array([2, 2, 1, 1, 3, 3, 2, 1], dtype=np.int64)[:, None]
_EL_2 = np.array([2, 1, 2, 1, 2, 1, 3, 3], dtype=np.int64)[:, None]
_FP_1 = np.array([0, 0, 1, 1, 3, 3, 0, 1], dtype=np.int64)[:, None]
_FP_2 = np.array([0, 1, 0, 1, 0, 1, 3, 3], dtype=np.int64)[:, None]


def _compute_tile_stats(m: int, n: int, k: int, tiles: IntArray) -> TileStats:
    dims_i = np.array([[m], [n], [k]], dtype=np.int64)
    q = dims_i // tiles
    rem = dims_i - q * tiles
    has_rem = rem > 0
    nfull = q.astype(np.float64)
    ntiles = nfull + has_rem
    per_dim = np.empty((4, 3, tiles.shape[1]))
    per_dim[0] = tiles  # full-tile extent
    per_dim[1] = rem  # ragged-tile extent
    per_dim[2] = nfull * per_dim[0]  # elements covered by the full tiles
    per_dim[3] = dims_i  # whole dimension
    times = ntiles[_Y]
    class_el = per_dim[_EL_1, _X1] * per_dim[_EL_2, _X2]
    class_fp = per_dim[_FP_1, _X1] * per_dim[_FP_2, _X2]
    tm, tn, tk = tiles
    whole = dims_i.astype(np.float64)
    return TileStats(
        q=q,
        rem=rem,
        has_rem=has_rem,
        nfull=nfull,
        ntiles=ntiles,
        both=per_dim[:2].swapaxes(0, 1),
        times=times,
        class_el=class_el,
        class_fp=class_fp,
        whole_el=whole[_X1] * whole[_X2],
        footprint=tm * tk + tk * tn + tm * tn,
    )


def tile_grid(m: int, n: int, k: int, a_cap_elements: int, b_cap_elements: int) -> IntArray:
    """All candidate tile triples whose A and B tiles fit, as a read-only ``(3, T)`` array.

    Args:
        m, n, k: GEMM dimensions in elements.
        a_cap_elements: usable ifmap buffer in elements (``tile_m * tile_k`` must fit).
        b_cap_elements: usable filter buffer in elements (``tile_k * tile_n`` must fit).

    Returns:
        Rows ``tile_m``, ``tile_n``, ``tile_k``; columns in a fixed (m-major, ascending) order.
    """
    return grid(m, n, k, a_cap_elements, b_cap_elements)[0]


@lru_cache(maxsize=1024)  # entries are tens of kB: keep the cache bounded
def grid(m: int, n: int, k: int, a_cap_elements: int, b_cap_elements: int) -> tuple[IntArray, IntArray]:
    """:func:`tile_grid` and, per tile, the index of each tile size in the concatenated
    :func:`dim_candidates` of m, n, k (``(3, T)``, read-only; see :func:`grid_stats`).

    The key is the GEMM shape and the buffer capacities in elements only (not the batch, the
    permutation volumes or any other hardware field), so every GEMM of one shape on buffers of
    one size shares an entry.
    """
    cm, cn, ck = dim_candidates(m), dim_candidates(n), dim_candidates(k)
    # A and B fit tests on the small (m, k) and (k, n) planes, then one 3-D mask.
    ok = (cm[:, None] * ck[None, :] <= a_cap_elements)[:, None, :] & (ck[None, :] * cn[:, None] <= b_cap_elements)[
        None, :, :
    ]
    im, in_, ik = np.nonzero(ok)
    tiles = np.stack((cm[im], cn[in_], ck[ik]))
    idx = np.stack((im, in_ + cm.size, ik + (cm.size + cn.size)))
    tiles.setflags(write=False)
    idx.setflags(write=False)
    return tiles, idx


def grid_stats(m: int, n: int, k: int, tiles: IntArray, idx: IntArray) -> TileStats:
    """:func:`_compute_tile_stats` of :func:`grid` tiles, gathered from per-dimension tables.

    The same integers (as floats) with a few row gathers instead of per-tile arithmetic; not
    cached (the arrays are ~30 floats per tile; building them is cheaper than keeping them).
    """
    table = np.concatenate((_dim_table(m), _dim_table(n), _dim_table(k)), axis=1)
    n_t = idx.shape[1]
    per_tile = np.take(table, idx, axis=1)  # (6, 3, T)
    rows = per_tile.reshape(18, n_t)  # row 3 * quantity + dimension
    nfull, ntiles = per_tile[4], per_tile[5]
    times = np.take(rows, _TIMES_ROWS, axis=0)
    class_el = np.take(rows, _EL_ROWS_1, axis=0) * np.take(rows, _EL_ROWS_2, axis=0)
    class_fp = np.take(rows, _FP_ROWS_1, axis=0) * np.take(rows, _FP_ROWS_2, axis=0)
    class_el = class_el.reshape(8, 3, n_t)
    tm, tn, tk = tiles
    whole = np.array([[float(m)], [float(n)], [float(k)]])
    return TileStats(
        q=nfull.astype(np.int64),
        rem=per_tile[1].astype(np.int64),
        has_rem=per_tile[1] > 0,
        nfull=nfull,
        ntiles=ntiles,
        both=per_tile[:2].swapaxes(0, 1),
        times=times,
        class_el=class_el,
        class_fp=class_fp.reshape(8, 3, n_t),
        whole_el=whole[_X1] * whole[_X2],
        footprint=tm * tk + tk * tn + tm * tn,
        fold_idx=np.stack((idx, idx + table.shape[1])),
    )


# Row numbers (3 * quantity + dimension) in the (18, T) view of grid_stats' gathered table.
_TIMES_ROWS = 3 * 5 + _Y
_EL_ROWS_1 = (3 * _EL_1 + _X1).ravel()
_EL_ROWS_2 = (3 * _EL_2 + _X2).ravel()
_FP_ROWS_1 = (3 * _FP_1 + _X1).ravel()
_FP_ROWS_2 = (3 * _FP_2 + _X2).ravel()


@lru_cache(maxsize=16_384)
def _dim_table(size: int) -> FloatArray:
    """Per tile size of :func:`dim_candidates` ``(size)``: full-tile extent, ragged extent,
    elements under the full tiles, whole dimension, full tiles, all tiles; ``(6, L)``."""
    cand = dim_candidates(size)
    q = size // cand
    rem = size - q * cand
    nfull = q.astype(np.float64)
    full = cand.astype(np.float64)
    return np.stack((full, rem.astype(np.float64), nfull * full, np.full_like(full, size), nfull, nfull + (rem > 0)))


@lru_cache(maxsize=65_536)
def _fold_sums(size: int, width: int) -> FloatArray:
    """Folds of a ``size`` dimension on ``width`` PEs summed over its tiles, per tile size.

    ``q * ceil(t / width) + ceil(rem / width)`` for every :func:`dim_candidates` ``t`` of
    ``size`` (``q`` full tiles, ``rem`` ragged remainder), as floats.
    """
    cand = dim_candidates(size)
    q = size // cand
    rem = size - q * cand
    out: FloatArray = (q * -(-cand // width) + -(-rem // width)).astype(np.float64)
    return out
