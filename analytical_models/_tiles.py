"""Tile candidates of one GEMM, indexed by per-dimension candidate sizes.

The tile loops cut the GEMM into tiles ``(tile_m, tile_n, tile_k)``. Candidate sizes per
dimension are the balanced splits and the powers of two (:func:`dim_candidates`).

Buffers. Each operand buffer is double-buffered: a tile may use half of it. A and B tiles
must fit (``tile_m*tile_k`` and ``tile_k*tile_n`` elements at ``bits``); the C tile is kept
at ``acc_bits`` and spills to DRAM when it does not fit (:mod:`analytical_models._stage`).

:func:`grid` enumerates the tile triples that fit, cached by GEMM shape and buffer capacities
in elements; :func:`grid_index` (and :func:`tile_index` for any tile set) describes them as
indices into per-dimension tables (:class:`TileIndex`), from which the model computes every
per-tile quantity (:mod:`analytical_models._stage`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from analytical_models._arrays import FloatArray, IntArray


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


class TileIndex(NamedTuple):
    """Tile triples of one GEMM shape as indices into per-dimension candidate tables.

    Every per-tile quantity of the model is a product of per-dimension ones (or a function of
    one operand's two dimensions), so it is computed on the few candidate sizes of each
    dimension and gathered per tile (:func:`analytical_models._stage.stage_modes`).
    """

    tiles: IntArray
    """``(3, T)`` tile sizes, rows m, n, k."""
    idx: IntArray
    """``(3, T)``: each tile size's column in :attr:`table` (the dimensions' candidates are
    concatenated: m's, then n's, then k's)."""
    table: FloatArray
    """``(5, L)`` per candidate: tile size, ragged remainder, full tiles, all tiles, size of its
    dimension (see :data:`T_SIZE` ...)."""
    starts: tuple[int, int, int]
    """First column of each dimension's candidates in :attr:`table`."""
    lens: tuple[int, int, int]
    """Number of candidates of each dimension."""
    footprint: FloatArray
    """``tile_m * tile_k + tile_k * tile_n + tile_m * tile_n`` elements, ``(T,)``."""
    cands: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]
    """The candidate tile sizes of m, n and k."""
    pairs: IntArray
    """``(3, T)``: per operand (A: m x k, B: k x n, C: m x n), the flat index of the tile's
    (first, second) dimension sizes in a table over the two dimensions' candidates."""
    extra: FloatArray
    """``(3, T)``: per operand, the tiles of its irrelevant dimension (A: n, B: m, C: k) less one."""


T_SIZE, T_REM, T_FULL, T_ALL, T_DIM = range(5)
"""Rows of :attr:`TileIndex.table`."""

OPERAND_DIMS = ((0, 2, 1), (2, 1, 0), (0, 1, 2))
"""Per operand (A, B, C): its first and second dimension and its irrelevant one (m 0, n 1, k 2)."""


def candidate_table(
    sizes: tuple[int, int, int], cands: tuple[IntArray, ...]
) -> tuple[FloatArray, tuple[int, int, int]]:
    """The ``(5, L)`` per-candidate table of :attr:`TileIndex.table` over the concatenated
    candidate sizes of m, n, k (``cands``) of a GEMM of dimensions ``sizes``, and the number of
    candidates of each dimension."""
    cand = np.concatenate(cands)
    lens = (int(cands[0].size), int(cands[1].size), int(cands[2].size))
    dim_i = np.repeat(np.array(sizes, dtype=np.int64), lens)
    q = dim_i // cand
    rem = dim_i - q * cand
    table = np.empty((5, cand.size))
    table[T_SIZE] = cand
    table[T_REM] = rem
    table[T_FULL] = q
    table[T_ALL] = q + (rem > 0)
    table[T_DIM] = dim_i
    return table, lens


def _index(sizes: tuple[int, int, int], cands: tuple[IntArray, ...], tiles: IntArray, idx: IntArray) -> TileIndex:
    table, lens = candidate_table(sizes, cands)
    starts = (0, lens[0], lens[0] + lens[1])
    tm, tn, tk = tiles
    footprint = (tm * tk + tk * tn + tm * tn).astype(np.float64)
    local = idx - np.array(starts, dtype=np.int64)[:, None]
    pairs = np.stack([local[x1] * lens[x2] + local[x2] for x1, x2, _ in OPERAND_DIMS])
    extra = np.stack([table[3][idx[y]] - 1.0 for _, _, y in OPERAND_DIMS])
    for a in (table, footprint, pairs, extra):
        a.setflags(write=False)
    cand_tuples = tuple(tuple(c.tolist()) for c in cands)
    return TileIndex(tiles, idx, table, starts, lens, footprint, cand_tuples, pairs, extra)  # type: ignore[arg-type]


def tile_index(m: int, n: int, k: int, tiles: IntArray) -> TileIndex:
    """The :class:`TileIndex` of arbitrary tile triples ``(3, T)`` (each ``1 <= tile <= dim``)."""
    cands = []
    rows = []
    offset = 0
    for x in range(3):
        cand, inv = np.unique(tiles[x], return_inverse=True)
        cands.append(cand.astype(np.int64))
        rows.append(inv.reshape(-1) + offset)
        offset += cand.size
    return _index((m, n, k), tuple(cands), np.asarray(tiles, dtype=np.int64), np.stack(rows))


@lru_cache(maxsize=256)  # entries are tens of kB; few shapes repeat on one buffer size
def grid_index(m: int, n: int, k: int, a_cap_elements: int, b_cap_elements: int) -> TileIndex:
    """The :class:`TileIndex` of :func:`tile_grid` (candidates: :func:`dim_candidates`).

    The key is the GEMM shape and the buffer capacities in elements only (not the batch, the
    permutation volumes or any other hardware field), so every GEMM of one shape on buffers of
    one size shares an entry.
    """
    tiles, idx = grid(m, n, k, a_cap_elements, b_cap_elements)
    return _index((m, n, k), (dim_candidates(m), dim_candidates(n), dim_candidates(k)), tiles, idx)


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


def grid(m: int, n: int, k: int, a_cap_elements: int, b_cap_elements: int) -> tuple[IntArray, IntArray]:
    """:func:`tile_grid` and, per tile, the index of each tile size in the concatenated
    :func:`dim_candidates` of m, n, k (``(3, T)``, read-only; cached by :func:`grid_index`)."""
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
