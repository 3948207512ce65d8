""":func:`analytical_models.onchip_tiles` in one compiled loop (numba), for the shipped fold timings.

The numpy function prices an on-chip step on every token tile with some sixty array operations
on arrays of a few elements, where the per-call overhead is most of the time. :func:`tiles_kernel`
repeats its IEEE operations, element by element and in the same order (the same rounding of the
token dimension, the same fold counts, the same sums of the SRAM energies, the same tie-breaking
of the dataflows), so every field is the numpy function's bits; the tests compare the two on
random steps, tiles, engines and buffers. Only for dataflows whose fold timing is a shipped one
(the streamed count plus a fixed fill, ``analytical_models._onchip._FOLD_FILL``); a fold
function registered elsewhere keeps the numpy path.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from analytical_models._jit import use_compile_cache

use_compile_cache()


@numba.njit(cache=True, nogil=True)
def tiles_kernel(
    t: Any,
    tokens: float,
    token_col: int,
    gemm: Any,
    axes: Any,
    reads: Any,
    os_: Any,
    fills: Any,
    rows: int,
    cols: int,
    engines: int,
    bpe: float,
    acc: float,
    pj: Any,
    mac_pj: float,
    shaping: Any,
    ia: int,
    ib: int,
    by_energy: bool,
) -> Any:  # pragma: no cover - compiled; tests compare it with the numpy function
    """``(stacked (11, T), dataflow (T,))`` of :class:`analytical_models.OnChipTiles`.

    ``t``: tiles (tokens per tile, floats); ``token_col``: the GEMM dimension holding the tokens
    (0 batch, 1 m, 2 n, 3 k; -1 none); ``gemm``: (batch, m, n, k) floats; ``axes`` (3, D): the
    dimension (0 m, 1 n, 2 k) on the rows, the columns and in time per dataflow; ``reads`` (2, D):
    how A and B are read (0 once, 1 per column fold, 2 per row fold, 3 both); ``os_`` (D,):
    output stationary; ``fills`` (D,): one fold's fill; ``pj`` (3, 2): read and write pJ/bit of
    ifmap, filter, ofmap; ``shaping`` (5, T): shaping cycles, pJ, SRAM read and written bytes,
    DRAM bytes; ``ia``/``ib``: the buffers of A and B; ``by_energy``: pick by energy first."""
    n_t = t.size
    n_d = axes.shape[1]
    stacked = np.empty((11, n_t))
    best = np.empty(n_t, dtype=np.int64)
    dim = np.empty(3)
    rd = np.empty(3)
    wr = np.empty(3)
    e = np.empty(3)
    for i in range(n_t):
        scale = t[i] / tokens if token_col >= 0 else 1.0
        batch = gemm[0]
        dim[0], dim[1], dim[2] = gemm[1], gemm[2], gemm[3]
        if token_col == 0:
            batch = np.rint(batch * scale)
        elif token_col > 0:
            dim[token_col - 1] = np.rint(dim[token_col - 1] * scale)
        m, n, kk = dim[0], dim[1], dim[2]
        macs = batch * m * n * kk
        a_el, b_el, c_el = batch * m * kk, batch * kk * n, batch * m * n
        accumulations = math.ceil(kk / rows)
        p_best = np.inf
        s_best = np.inf
        for d in range(n_d):
            row_folds = math.ceil(dim[axes[0, d]] / rows)
            col_folds = math.ceil(dim[axes[1, d]] / cols)
            folds = batch * row_folds * col_folds
            time = dim[axes[2, d]]
            if engines > 1:
                if folds >= engines:
                    count = math.ceil(folds / engines)
                else:
                    share = max(1.0, math.floor(engines / max(folds, 1.0)))
                    time = math.ceil(time / share)
                    count = 1.0
            else:
                count = folds
            compute = count * time
            fill = count * fills[d]
            rd[0] = rd[1] = rd[2] = 0.0
            wr[0] = wr[1] = wr[2] = 0.0
            rd[ia] = rd[ia] + a_el * bpe * _times(reads[0, d], row_folds, col_folds)
            rd[ib] = rd[ib] + b_el * bpe * _times(reads[1, d], row_folds, col_folds)
            if os_[d]:
                wr[2] = wr[2] + c_el * bpe
                rd[2] = rd[2] + 0.0
            else:
                wr[2] = wr[2] + c_el * acc * accumulations
                rd[2] = rd[2] + c_el * acc * (accumulations - 1)
            for b in range(3):
                e[b] = 8.0 * (rd[b] * pj[b, 0] + wr[b] * pj[b, 1])
            mac_e = macs * mac_pj
            cycles = compute + fill + shaping[0, i]
            energy = mac_e + e[0] + e[1] + e[2] + shaping[1, i]
            p, s = (energy, cycles) if by_energy else (cycles, energy)
            if p < p_best or (p == p_best and s < s_best):
                p_best, s_best = p, s
                best[i] = d
                stacked[0, i] = compute
                stacked[1, i] = fill
                stacked[3, i] = mac_e
                stacked[4, i] = e[0]
                stacked[5, i] = e[1]
                stacked[6, i] = e[2] + shaping[1, i]
                stacked[7, i] = rd[0] + rd[1] + rd[2] + shaping[2, i]
                stacked[8, i] = wr[0] + wr[1] + wr[2] + shaping[3, i]
        stacked[2, i] = shaping[0, i]
        stacked[9, i] = shaping[4, i]
        stacked[10, i] = macs
    return stacked, best


@numba.njit(cache=True, nogil=True)
def _times(kind: int, row_folds: float, col_folds: float) -> float:  # pragma: no cover - compiled
    if kind == 0:
        return 1.0
    if kind == 1:
        return col_folds
    if kind == 2:
        return row_folds
    return row_folds * col_folds


@numba.njit(cache=True, nogil=True)
def untiled_kernel(dims: Any, rows: int, cols: int, axes: Any, fills: Any, engines: int) -> Any:  # pragma: no cover
    """:func:`analytical_models.untiled_cycles_table` for shipped fold timings: ``dims`` is
    ``(G, 4)`` (batch, m, n, k), ``axes`` ``(3, D)`` the dimension (of m, n, k) on the array rows,
    on the columns and in time per dataflow, ``fills`` each dataflow's fill; the same integer
    fold counts and the same IEEE operations per element as the numpy function."""
    g_n = dims.shape[0]
    out = np.full(g_n, math.inf)
    for g in range(g_n):
        out[g] = untiled_one(dims[g, 0], dims[g, 1], dims[g, 2], dims[g, 3], rows, cols, axes, fills, engines)
    return out


@numba.njit(cache=True, nogil=True)
def untiled_one(
    batch: int, m: int, n: int, k: int, rows: int, cols: int, axes: Any, fills: Any, engines: int
) -> float:  # pragma: no cover - compiled
    """One row of :func:`untiled_kernel` (a GEMM of ``batch, m, n, k``), for other compiled
    loops to call."""
    best = math.inf
    for d in range(axes.shape[1]):
        on_rows = _dim(m, n, k, axes[0, d])
        on_cols = _dim(m, n, k, axes[1, d])
        time = _dim(m, n, k, axes[2, d])
        folds = batch * -(-on_rows // rows) * -(-on_cols // cols)
        if engines > 1:
            if folds >= engines:
                folds = -(-folds // engines)
            else:
                time = -(-time // max(1, engines // max(folds, 1)))
                folds = 1
        cycles = float(folds) * (float(time) + fills[d])
        if cycles < best:
            best = cycles
    return best


@numba.njit(cache=True, nogil=True)
def _dim(m: int, n: int, k: int, axis: int) -> int:  # pragma: no cover - compiled
    return m if axis == 0 else (n if axis == 1 else k)
