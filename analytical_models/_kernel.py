"""The best candidate of one GEMM in one compiled pass over its tiles (numba).

:func:`analytical_models._search.search_mappings` prices a GEMM's candidates on numpy arrays:
the loop-order-free terms on every tile (:func:`~analytical_models._stage.stage_modes`), exact
bounds to drop tiles (:func:`~analytical_models._search.screen`), then the full
``(dataflow, loop order, tile)`` grid on the kept tiles. For the best candidate alone (what a
design's evaluation asks for, ``pareto=False``) most of that time is numpy's per-call overhead
and the temporaries of arrays of a few thousand elements. :func:`best_candidate` walks the same
grid in one compiled loop instead: per tile it gathers the same per-candidate terms
(:func:`~analytical_models._stage.candidate_terms` per GEMM dimension,
:func:`~analytical_models._kernel_terms.dim_terms_kernel` for the shipped fold timings, and the
refetch tables of
:func:`~analytical_models._stage._spilled`, both repeated here operation for operation and
tested against the numpy functions), and per dataflow and loop order it repeats the IEEE
operations of
:func:`~analytical_models._stage.stage_modes`, :func:`~analytical_models._stage.with_orders` and
:func:`~analytical_models._cost.grid_objectives` in the same order, so every candidate's
cycles and energy are the numpy path's bits, and the best (objective, then the other of cycles
and energy, then the candidate's position in the grid) is the same candidate. The tests check
it against the numpy search on random GEMMs and hardware, for every objective.

For latency, a dataflow is skipped at a tile when ``compute + min(fill, fill once) + exposed +
shaping`` already exceeds the best cycles: every loop order's cycles are at least that (its
stall is at least the exposed time, and a rounded sum of larger terms is never smaller), so
nothing tied with the best is skipped. So is a dataflow whose least DRAM time at the tile (each
operand's least traffic over the four modes, over the bandwidth, plus the shaping cycles, less
a relative 1e-9) exceeds it (the stall covers the DRAM time that compute and fill do not), and
a whole row of tiles (one m candidate, or one m and one n candidate) whose floor of the first
sum over every dataflow (:func:`_row_floor`: the free dimensions' fold counts at their least,
one array fill per fold) does, and a dataflow whose floor over the row does. For energy (and
EDP), a dataflow is skipped at a tile when a floor of every order's energy (the MACs', each
buffer read at the lesser of once and per tile, the least DRAM traffic's transfers and fills,
leakage over the least cycles, less a relative 1e-9; times the least cycles for EDP) exceeds
the best. The walk visits the largest tiles first, where the best usually is, and breaks ties
by the grid position counted beforehand.

Overlapped memory timing only (the serial timing's terms stay on the numpy path).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, NamedTuple

import numba
import numpy as np

from analytical_models._arrays import FloatArray, IntArray
from analytical_models._consts import HwConsts
from analytical_models._jit import use_compile_cache
from analytical_models._kernel_terms import _dim_terms, _dtab, _stationary
from analytical_models._shaping import Shaping, _shaping_energy
from analytical_models._stage import _MODES, _after, _operand_bytes
from analytical_models._tiles import T_DIM, dim_candidates
from analytical_models._types import Gemm, ModelInputError

use_compile_cache()

_OBJECTIVE_CODE = {"latency": 0, "energy": 1, "edp": 2}

# Scalars of one search, in the kernel's argument vector (see best_candidate).
(
    _BATCH,
    _MK_BPE,
    _KN_BPE,
    _MN,
    _SCALE_AB,
    _BPE_BW,
    _C_WR,
    _BW,
    _PSUM_SCALE,
    _MN_F,
    _SHAPING,
    _MAC_E,
    _W_IRD,
    _W_FRD,
    _W_ORD_ACC,
    _W_OWR_ACC,
    _W_IWR,
    _W_FWR,
    _W_ORD,
    _W_OWR,
    _W_DRAM,
    _E_FIXED,
    _LEAK,
    _N_SCALARS,
) = range(24)


@numba.njit(cache=True, nogil=True)
def _walk(
    cm: Any,
    cn: Any,
    ck: Any,
    a_cap: int,
    b_cap: int,
    table: Any,
    per_side: Any,
    per_t: Any,
    dtab: Any,
    stationary: Any,
    after: Any,
    modes: Any,
    sp_a: Any,
    sp_b: Any,
    sp_c: Any,
    spills: Any,
    whole: Any,
    dims: Any,
    sc: Any,
    objective: int,
) -> Any:  # pragma: no cover - compiled; tests compare it with the numpy search
    """``(best, vals)``: the best candidate's ``(dataflow, order, grid position, tile_m, tile_n,
    tile_k, tiles that fit)`` and its stage terms, cycles and energy (see :func:`best_candidate`
    for the arguments' meaning; ``objective``: 0 latency, 1 energy, 2 EDP)."""
    l_m, l_n, l_k = cm.size, cn.size, ck.size
    s_n, s_k = l_m, l_m + l_n
    n_d, n_o = dtab.shape[1], modes.shape[0]
    batch = sc[_BATCH]
    best_p = math.inf
    best_s = math.inf
    best = np.full(7, -1, dtype=np.int64)  # d, o, t, tile_m, tile_n, tile_k, tiles
    vals = np.zeros(11)  # compute, fill, a_rd, b_rd, c_acc, a_dram, b_dram, psum, exposed, cycles, energy
    moved = np.empty((4, 3))
    gi = np.empty(3, dtype=np.int64)
    multi = np.empty(3, dtype=np.bool_)
    # The tiles' positions in the grid (m-major, ascending: the tie-breaking order), counted
    # first; the walk then visits the largest tiles first (usually the fastest: for latency,
    # a good best early lets the bound below skip most of the rest).
    pos = np.full((l_m, l_n, l_k), -1, dtype=np.int64)
    t = -1
    for im in range(l_m):
        for in_ in range(l_n):
            for ik in range(l_k):
                if cm[im] * ck[ik] <= a_cap and ck[ik] * cn[in_] <= b_cap:
                    t += 1
                    pos[im, in_, ik] = t
    n_tiles = t + 1
    best_flat = n_d * n_o * n_tiles  # past every candidate: the first one compares below it
    # For latency, the least fold count of each side and temporal count of each dataflow over
    # the candidates of n and of k (columns: side 0, side 1, then per dataflow), and each
    # dataflow's least fill of one fold over every candidate (row 2), so that a whole row of
    # tiles is skipped when no tile of it can reach the best (see _row_floor).
    least = np.full((3, 2 + n_d), math.inf)
    row = np.zeros(n_d)  # each dataflow's floor over the current row of tiles (latency)
    for x in range(2):
        s0 = s_n if x == 0 else s_k
        l_x = l_n if x == 0 else l_k
        for r in range(2 + n_d):
            for i in range(l_x):
                w = per_side[0, r, s0 + i] if r < 2 else per_t[0, r - 2, s0 + i]
                if w < least[x, r]:
                    least[x, r] = w
    for d in range(n_d):
        for i in range(per_t.shape[2]):
            if per_t[2, d, i] < least[2, 2 + d]:
                least[2, 2 + d] = per_t[2, d, i]
    for im in range(l_m - 1, -1, -1):
        if (
            objective == 0
            and _row_floor(im, -1, n_d, dtab, per_side, per_t, least, s_n, cm, cn, ck, batch, sc, row) > best_p
        ):
            continue
        for in_ in range(l_n - 1, -1, -1):
            if (
                objective == 0
                and _row_floor(im, in_, n_d, dtab, per_side, per_t, least, s_n, cm, cn, ck, batch, sc, row) > best_p
            ):
                continue
            for ik in range(l_k - 1, -1, -1):
                t = pos[im, in_, ik]
                if t < 0:
                    continue
                gi[0], gi[1], gi[2] = im, s_n + in_, s_k + ik
                for x in range(3):
                    multi[x] = table[3, gi[x]] > 1.0
                tm, tn, tk = cm[im], cn[in_], ck[ik]
                exposed = float(tm * tk + tk * tn + tm * tn) * sc[_BPE_BW]
                have_moved = False
                dram_floor = dram_pj = 0.0
                for d in range(n_d):
                    if objective == 0 and row[d] > best_p:
                        continue  # (no tile of the row reaches the best on this dataflow)
                    rx, cx, tx = dtab[0, d], dtab[1, d], dtab[2, d]
                    ir, ic, it = gi[rx], gi[cx], gi[tx]
                    ff = per_side[0, 0, ir] * per_side[0, 1, ic]
                    folds = batch * ff
                    per_fill = per_t[1, d, it]
                    compute = folds * per_t[0, d, it]
                    fill = folds * per_fill
                    stays = per_side[1, 0, ir] * per_side[1, 1, ic]
                    fill_once = batch * (ff * per_fill + stays * (per_t[2, d, it] - per_fill))
                    if objective == 0 and compute + min(fill, fill_once) + exposed + sc[_SHAPING] > best_p:
                        # every order's cycles are at least this (stall >= exposed, and rounded
                        # sums are monotone): none of them can be the best
                        continue
                    n_time = table[3, it]
                    inner = per_side[2, 0, ir] * per_side[2, 1, ic]
                    stat_el = (dims[rx] * dims[cx]) * n_time - inner * (n_time - 1.0)
                    persists = stays > 0.0 and n_time > 1.0
                    a_rd = sc[_MK_BPE] * per_side[0, dtab[3, d], gi[1]]
                    b_rd = sc[_KN_BPE] * per_side[0, dtab[4, d], gi[0]]
                    c_acc = sc[_MN] * per_side[0, dtab[5, d], gi[2]]
                    if not have_moved:
                        # elements each operand moves in each of the four modes (A: m, k | n; B: k, n | m;
                        # C: m, n | k): the whole operand, plus its spilled classes once per extra tile
                        for mode in range(4):
                            moved[mode, 0] = whole[0]
                            moved[mode, 1] = whole[1]
                            moved[mode, 2] = whole[2]
                            if spills[0]:
                                moved[mode, 0] = sp_a[mode, im * l_k + ik] * (table[3, gi[1]] - 1.0) + whole[0]
                            if spills[1]:
                                moved[mode, 1] = sp_b[mode, ik * l_n + in_] * (table[3, gi[0]] - 1.0) + whole[1]
                            if spills[2]:
                                moved[mode, 2] = sp_c[mode, im * l_n + in_] * (table[3, gi[2]] - 1.0) + whole[2]
                        have_moved = True
                        # every order's cycles are at least its DRAM time (the stall covers what
                        # compute and fill do not): at least the least traffic of any mode
                        a_lo = sc[_SCALE_AB] * min(min(moved[0, 0], moved[1, 0]), min(moved[2, 0], moved[3, 0]))
                        b_lo = sc[_SCALE_AB] * min(min(moved[0, 1], moved[1, 1]), min(moved[2, 1], moved[3, 1]))
                        least_c = min(min(moved[0, 2], moved[1, 2]), min(moved[2, 2], moved[3, 2]))
                        psum_lo = sc[_PSUM_SCALE] * (least_c - sc[_MN_F])
                        rd_lo = a_lo + b_lo + psum_lo
                        wr_lo = sc[_C_WR] + psum_lo
                        dram_floor = ((rd_lo + wr_lo) / sc[_BW] + sc[_SHAPING]) * (1.0 - 1e-9)
                        # (and every order's energy at least its DRAM transfers' and buffer fills')
                        dram_pj = _transfer_pj(a_lo, b_lo, wr_lo, psum_lo, rd_lo, sc)
                    if objective == 0 and dram_floor > best_p:
                        continue
                    a_once, b_once, c_once = a_rd, b_rd, c_acc
                    if persists:
                        op = stationary[d]
                        if op == 0:
                            a_once = sc[_SCALE_AB] * stat_el
                        elif op == 1:
                            b_once = sc[_SCALE_AB] * stat_el
                        else:
                            c_once = batch * stat_el
                    if objective != 0:
                        # every order's energy is at least the MACs', the least buffer accesses'
                        # (each operand once or per tile), the least DRAM traffic's and leakage
                        # over the least cycles; an EDP at least the product of the two floors
                        c_lo = min(c_once, c_acc)
                        cycles_lo = max(
                            (compute + min(fill, fill_once) + exposed + sc[_SHAPING]) * (1.0 - 1e-9), dram_floor
                        )
                        energy_lo = (
                            _array_pj(min(a_once, a_rd), min(b_once, b_rd), c_lo, sc)
                            + sc[_E_FIXED]
                            + dram_pj
                            + cycles_lo * sc[_LEAK]
                        ) * (1.0 - 1e-9)
                        if (energy_lo if objective == 1 else energy_lo * cycles_lo) > best_p:
                            continue
                    for o in range(n_o):
                        once = True
                        for x in range(3):
                            if after[d, o, x] != 0.0 and multi[x]:
                                once = False
                        f_do = fill_once if once else fill
                        a_do = a_once if once else a_rd
                        b_do = b_once if once else b_rd
                        c_do = c_once if once else c_acc
                        a_dram = sc[_SCALE_AB] * moved[modes[o, 0], 0]
                        b_dram = sc[_SCALE_AB] * moved[modes[o, 1], 1]
                        psum = sc[_PSUM_SCALE] * (moved[modes[o, 2], 2] - sc[_MN_F])
                        rd = a_dram + b_dram + psum
                        wr = sc[_C_WR] + psum
                        over = (rd + wr) / sc[_BW] - (compute + f_do)
                        stall = exposed if exposed >= over else over
                        cycles = compute + f_do + stall + sc[_SHAPING]
                        e_dt = _array_pj(a_do, b_do, c_do, sc)
                        e_ot = _transfer_pj(a_dram, b_dram, wr, psum, rd, sc)
                        energy = (e_dt + sc[_E_FIXED]) + e_ot + cycles * sc[_LEAK]
                        if objective == 0:
                            p, s = cycles, energy
                        elif objective == 1:
                            p, s = energy, cycles
                        else:
                            p, s = cycles * energy, cycles
                        flat = (d * n_o + o) * n_tiles + t  # the candidate's index in the grid
                        if p < best_p or (p == best_p and (s < best_s or (s == best_s and flat < best_flat))):
                            best_p, best_s, best_flat = p, s, flat
                            best[0], best[1], best[2] = d, o, t
                            best[3], best[4], best[5] = tm, tn, tk
                            vals[0], vals[1], vals[2], vals[3], vals[4] = compute, f_do, a_do, b_do, c_do
                            vals[5], vals[6], vals[7], vals[8] = a_dram, b_dram, psum, exposed
                            vals[9], vals[10] = cycles, energy
    best[6] = n_tiles
    return best, vals


@numba.njit(cache=True, inline="always")
def _array_pj(a_rd: float, b_rd: float, c_acc: float, sc: Any) -> float:  # pragma: no cover - compiled
    """A candidate's MAC energy and the array's buffer reads and accumulations, in pJ (operand
    bytes ``a_rd``, ``b_rd``, output accumulations ``c_acc``; the walk's scalars ``sc``)."""
    pj: float = (
        sc[_MAC_E] + a_rd * sc[_W_IRD] + b_rd * sc[_W_FRD] + (c_acc - sc[_MN]) * sc[_W_ORD_ACC] + c_acc * sc[_W_OWR_ACC]
    )
    return pj


@numba.njit(cache=True, inline="always")
def _transfer_pj(
    a_dram: float, b_dram: float, wr: float, psum: float, rd: float, sc: Any
) -> float:  # pragma: no cover - compiled
    """A candidate's DRAM transfers and the buffer fills and drains they make, in pJ (bytes of A
    and B fetched, written back, of partial sums each way, read in all)."""
    pj: float = (
        a_dram * sc[_W_IWR] + b_dram * sc[_W_FWR] + wr * sc[_W_ORD] + psum * sc[_W_OWR] + (rd + wr) * sc[_W_DRAM]
    )
    return pj


@numba.njit(cache=True, inline="always")
def _row_floor(
    im: int,
    in_: int,
    n_d: int,
    dtab: Any,
    per_side: Any,
    per_t: Any,
    least: Any,
    s_n: int,
    cm: Any,
    cn: Any,
    ck: Any,
    batch: float,
    sc: Any,
    out: Any,
) -> float:  # pragma: no cover - compiled
    """A floor of the latency skip's sum (``compute + min(fill, fill once) + exposed +
    shaping``) of every tile whose m candidate is ``im`` and, when ``in_ >= 0``, whose n
    candidate is ``in_``, over every dataflow: each free dimension's factors at their least
    over its candidates (``least``), one array fill per fold, the exposed time at the least free
    tiles, less a relative 1e-9 (the products' rounding): each dataflow's in ``out``, the least
    returned."""
    tm = cm[im]
    tn = cn[in_] if in_ >= 0 else cn[0]
    tk = ck[0]
    exposed = float(tm * tk + tk * tn + tm * tn) * sc[_BPE_BW]
    floor = math.inf
    for d in range(n_d):
        fr = _factor(dtab[0, d], per_side[0, 0, im], per_side[0, 0, s_n + max(in_, 0)], least[0, 0], least[1, 0], in_)
        fc = _factor(dtab[1, d], per_side[0, 1, im], per_side[0, 1, s_n + max(in_, 0)], least[0, 1], least[1, 1], in_)
        ft = _factor(dtab[2, d], per_t[0, d, im], per_t[0, d, s_n + max(in_, 0)], least[0, 2 + d], least[1, 2 + d], in_)
        folds = batch * (fr * fc)
        # (every fold fills the array at least once: min(fill, fill once) >= folds x the least
        # fill of one fold)
        v = (((folds * ft + folds * least[2, 2 + d]) + exposed) + sc[_SHAPING]) * (1.0 - 1e-9)
        out[d] = v
        if v < floor:
            floor = v
    return floor


@numba.njit(cache=True, inline="always")
def _factor(dim: int, at_m: float, at_n: float, least_n: float, least_k: float, in_: int) -> float:  # pragma: no cover
    if dim == 0:
        return at_m
    if dim == 1:
        return at_n if in_ >= 0 else least_n
    return least_k


class Best(NamedTuple):
    """The best candidate of :func:`best_candidate`."""

    dataflow: int
    """Index into the dataflows searched."""
    order: int
    """Index into :data:`~analytical_models._stage.LOOP_ORDERS`."""
    tile: tuple[int, int, int]
    """``(tile_m, tile_n, tile_k)`` in elements."""
    n_tiles: int
    """Tile triples that fit the buffers (the grid searched has dataflows x 6 x this many)."""
    terms: tuple[float, float, float, float, float, float, float, float, float]
    """The candidate's :class:`~analytical_models._stage.Stage` terms ``(compute, fill, a_rd,
    b_rd, c_acc, a_dram, b_dram, psum, exposed)`` (cycles and bytes;
    :func:`~analytical_models._cost.terms_cost` prices them)."""
    cycles: float
    """Its cycles as the grid computes them (:func:`~analytical_models._cost.grid_objectives`)."""
    energy_pj: float
    """Its energy in pJ as the grid computes it (factored: may differ from
    :attr:`Cost.energy_pj` in the last ulp)."""


def best_candidate(
    gemm: Gemm, c: HwConsts, dataflows: tuple[str, ...], objective: str, shaping: Shaping
) -> Best | None:
    """The best candidate of ``gemm`` on ``c`` over every dataflow, loop order and tile triple
    that fits (the ``pareto=False`` search of
    :func:`~analytical_models._search.search_mappings`, the same candidate), or None when no
    tile fits. Overlapped memory timing only (``c.serial`` is false).
    """
    a_cap = math.floor(c.cap_a_bytes / c.bytes_per_el)
    b_cap = math.floor(c.cap_b_bytes / c.bytes_per_el)
    cands = (dim_candidates(gemm.m), dim_candidates(gemm.n), dim_candidates(gemm.k))
    (t_m, s_m, p_m), (t_n, s_n, p_n), (t_k, s_k, p_k) = (
        _dim_terms(size, c.rows, c.cols, dataflows) for size in (gemm.m, gemm.n, gemm.k)
    )
    use_thr, thr, el, cap, sc_hw = _hw_vectors(c)
    best, vals = _search_walk(
        gemm.m,
        gemm.n,
        gemm.k,
        gemm.batch,
        cands[0],
        cands[1],
        cands[2],
        a_cap,
        b_cap,
        t_m,
        t_n,
        t_k,
        s_m,
        s_n,
        s_k,
        p_m,
        p_n,
        p_k,
        _dtab(dataflows),
        _stationary(dataflows),
        _after(dataflows),
        _MODES,
        use_thr,
        thr,
        el,
        cap,
        sc_hw,
        c.bytes_per_el,
        c.acc_bytes,
        c.mac_pj,
        shaping.cycles,
        _shaping_energy(c, shaping),
        _OBJECTIVE_CODE[objective],
    )
    d, o, _, tm, tn, tk, n_tiles = best.tolist()
    if n_tiles == 0:
        return None
    if d < 0:  # no candidate compared below the start: a cost is NaN
        raise ModelInputError(f"the mapping search of {gemm} found no finite cost")
    got = vals.tolist()
    terms = (got[0], got[1], got[2], got[3], got[4], got[5], got[6], got[7], got[8])  # (Stage's order)
    return Best(d, o, (tm, tn, tk), n_tiles, terms, got[9], got[10])


@numba.njit(cache=True, nogil=True)
def _spilled(
    w1: float,
    cand1: IntArray,
    w2: float,
    cand2: IntArray,
    use_threshold: bool,
    threshold: float,
    el_bytes: float,
    cap_bytes: float,
) -> FloatArray:
    """:func:`analytical_models._stage._spilled` (the refetch table of one operand), the same
    operations per element (a footprint that does not fit counts 1.0, else 0.0)."""
    n1, n2 = len(cand1), len(cand2)
    out = np.empty((4, n1 * n2))
    whole = w1 * w2
    for i in range(n1):
        t1 = float(cand1[i])
        r1 = w1 - np.floor(w1 / t1) * t1
        c1 = w1 - r1
        for j in range(n2):
            t2 = float(cand2[j])
            r2 = w2 - np.floor(w2 / t2) * t2
            c2 = w2 - r2
            x = i * n2 + j
            out[0, x] = (
                c1 * c2 * _spills(t1 * t2, use_threshold, threshold, el_bytes, cap_bytes)
                + c1 * r2 * _spills(t1 * r2, use_threshold, threshold, el_bytes, cap_bytes)
            ) + (
                r1 * c2 * _spills(r1 * t2, use_threshold, threshold, el_bytes, cap_bytes)
                + r1 * r2 * _spills(r1 * r2, use_threshold, threshold, el_bytes, cap_bytes)
            )
            out[1, x] = w1 * (
                c2 * _spills(w1 * t2, use_threshold, threshold, el_bytes, cap_bytes)
                + r2 * _spills(w1 * r2, use_threshold, threshold, el_bytes, cap_bytes)
            )
            out[2, x] = w2 * (
                c1 * _spills(t1 * w2, use_threshold, threshold, el_bytes, cap_bytes)
                + r1 * _spills(r1 * w2, use_threshold, threshold, el_bytes, cap_bytes)
            )
            out[3, x] = whole * _spills(whole, use_threshold, threshold, el_bytes, cap_bytes)
    return out


@numba.njit(cache=True, nogil=True)
def _spills(fp: float, use_threshold: bool, threshold: float, el_bytes: float, cap_bytes: float) -> float:
    if use_threshold:
        return 1.0 if fp > threshold else 0.0
    return 1.0 if fp * el_bytes > cap_bytes else 0.0


@numba.njit(cache=True, nogil=True)
def join_parts(
    t_m: Any, t_n: Any, t_k: Any, s_m: Any, s_n: Any, s_k: Any, p_m: Any, p_n: Any, p_k: Any
) -> tuple[FloatArray, FloatArray, FloatArray]:  # pragma: no cover - compiled
    """The candidate table and its terms of a GEMM from its three dimensions' parts
    (:func:`_dim_terms` of m, n and k), candidates of m first."""
    return (
        np.concatenate((t_m, t_n, t_k), axis=1),
        np.concatenate((s_m, s_n, s_k), axis=2),
        np.concatenate((p_m, p_n, p_k), axis=2),
    )


@lru_cache(maxsize=1024)
def _hw_vectors(c: HwConsts) -> tuple[bool, FloatArray, FloatArray, FloatArray, FloatArray]:
    """What :func:`_search_walk` reads of the hardware (read-only): whether the operands' refetch
    tables compare elements to a threshold, the thresholds, bytes per element and usable buffer
    bytes of A, B and C (:func:`~analytical_models._stage.refetch_params`), and the walk's
    scalar vector with its hardware entries set (the GEMM's are set per search)."""
    el_bytes, cap_bytes, threshold = _operand_bytes(c)
    use_thr = threshold is not None
    thr = threshold.reshape(3).copy() if threshold is not None else np.zeros(3)
    acc8 = 8.0 * c.acc_bytes
    sc = np.zeros(_N_SCALARS)
    sc[_BPE_BW] = c.bytes_per_el / c.bw_bytes_per_cycle
    sc[_BW] = c.bw_bytes_per_cycle
    sc[_W_IRD] = 8.0 * c.ifmap_rd_pj_bit
    sc[_W_FRD] = 8.0 * c.filter_rd_pj_bit
    sc[_W_ORD_ACC] = acc8 * c.ofmap_rd_pj_bit
    sc[_W_OWR_ACC] = acc8 * c.ofmap_wr_pj_bit
    sc[_W_IWR] = 8.0 * c.ifmap_wr_pj_bit
    sc[_W_FWR] = 8.0 * c.filter_wr_pj_bit
    sc[_W_ORD] = 8.0 * c.ofmap_rd_pj_bit
    sc[_W_OWR] = 8.0 * c.ofmap_wr_pj_bit
    sc[_W_DRAM] = 8.0 * c.dram_pj_bit
    sc[_LEAK] = c.leak_pj_per_cycle
    out = (thr, el_bytes.reshape(3).copy(), cap_bytes.reshape(3).copy(), sc)
    for a in out:
        a.setflags(write=False)
    return (use_thr, *out)


@numba.njit(cache=True, inline="always")
def _refetch(
    w1: float, c1: Any, w2: float, c2: Any, use_thr: bool, thr: float, el: float, cap: float
) -> tuple[Any, bool]:  # pragma: no cover - compiled
    """One operand's refetch table (:func:`_spilled`) and whether it spills, as
    :func:`~analytical_models._stage.refetch_params` decides it: not when the whole operand
    fits its buffer."""
    whole = w1 * w2
    if (whole <= thr) if use_thr else (whole * el <= cap):
        return np.zeros((4, 1)), False
    return _spilled(w1, c1, w2, c2, use_thr, thr, el, cap), True


@numba.njit(cache=True, nogil=True)
def _search_walk(
    m: int,
    n: int,
    k: int,
    batch: int,
    cm: Any,
    cn: Any,
    ck: Any,
    a_cap: int,
    b_cap: int,
    t_m: Any,
    t_n: Any,
    t_k: Any,
    s_m: Any,
    s_n: Any,
    s_k: Any,
    p_m: Any,
    p_n: Any,
    p_k: Any,
    dtab: Any,
    stationary: Any,
    after: Any,
    modes: Any,
    use_thr: bool,
    thr: Any,
    el: Any,
    cap: Any,
    sc_hw: Any,
    bpe: float,
    acc_bytes: float,
    mac_pj: float,
    shaping_cycles: float,
    shaping_energy: float,
    objective: int,
) -> Any:  # pragma: no cover - compiled
    """:func:`_walk` of a ``batch`` x ``m`` x ``n`` x ``k`` GEMM from its three dimensions'
    parts of the candidate table and terms (:func:`_dim_terms`, joined by :func:`join_parts`),
    the hardware's vectors (:func:`_hw_vectors`) and scalars (bytes per element, accumulator
    bytes, pJ per MAC) and the shaping's cycles and energy: the operands' refetch tables and the
    walk's scalars, the same operations as the Python setup they replace."""
    table, per_side, per_t = join_parts(t_m, t_n, t_k, s_m, s_n, s_k, p_m, p_n, p_k)
    w_m, w_n, w_k = t_m[T_DIM, 0], t_n[T_DIM, 0], t_k[T_DIM, 0]
    whole = np.array([w_m * w_k, w_k * w_n, w_m * w_n])
    spills = np.zeros(3, dtype=np.bool_)
    t0 = thr[0] if use_thr else 0.0
    t1 = thr[1] if use_thr else 0.0
    t2 = thr[2] if use_thr else 0.0
    sp_a, spill_a = _refetch(w_m, cm, w_k, ck, use_thr, t0, el[0], cap[0])  # A: m, k
    sp_b, spill_b = _refetch(w_k, ck, w_n, cn, use_thr, t1, el[1], cap[1])  # B: k, n
    sp_c, spill_c = _refetch(w_m, cm, w_n, cn, use_thr, t2, el[2], cap[2])  # C: m, n
    spills[0], spills[1], spills[2] = spill_a, spill_b, spill_c
    b = float(batch)
    sc = sc_hw.copy()
    sc[_BATCH] = b
    sc[_MK_BPE] = (b * m * k) * bpe
    sc[_KN_BPE] = (b * k * n) * bpe
    sc[_MN] = b * m * n
    sc[_SCALE_AB] = b * bpe
    sc[_C_WR] = float(batch * m * n) * bpe
    sc[_PSUM_SCALE] = b * acc_bytes
    sc[_MN_F] = float(m) * n
    sc[_SHAPING] = shaping_cycles
    sc[_MAC_E] = float(batch * m * n * k) * mac_pj
    sc[_E_FIXED] = shaping_energy
    dims = np.array([float(m), float(n), float(k)])
    return _walk(
        cm,
        cn,
        ck,
        a_cap,
        b_cap,
        table,
        per_side,
        per_t,
        dtab,
        stationary,
        after,
        modes,
        sp_a,
        sp_b,
        sp_c,
        spills,
        whole,
        dims,
        sc,
        objective,
    )
