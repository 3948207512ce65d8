"""What the compiled mapping walk (:mod:`analytical_models._kernel`) reads of a GEMM's
dimensions and of its dataflows, computed once per dimension size or dataflow set (cached):
each dimension's candidate table and terms (:func:`_dim_terms`, one compiled loop for the
shipped fold timings, :func:`dim_terms_kernel`) and the dataflows' operand tables.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np

from analytical_models._arrays import FloatArray, IntArray
from analytical_models._jit import use_compile_cache
from analytical_models._onchip import _FOLD_FILL, _fills
from analytical_models._stage import _STATIONARY, _dataflow_tables, candidate_terms
from analytical_models._tiles import T_ALL, T_DIM, T_FULL, T_REM, T_SIZE, candidate_table, dim_candidates
from analytical_models._timing import FOLD_CYCLES

use_compile_cache()


@lru_cache(maxsize=4096)
def _dim_terms(
    size: int, rows: int, cols: int, dataflows: tuple[str, ...]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`~analytical_models._tiles.candidate_table` and
    :func:`~analytical_models._stage.candidate_terms` of one GEMM dimension of ``size``
    elements (its candidates' columns): one compiled loop for the shipped fold timings
    (:func:`dim_terms_kernel`), numpy for a fold timing registered elsewhere."""
    cands = dim_candidates(size)
    if all(FOLD_CYCLES.get(d) in _FOLD_FILL for d in dataflows):
        table, per_side, per_t = dim_terms_kernel(size, cands, rows, cols, _fills(dataflows, rows, cols))
    else:
        table, _ = candidate_table((size, size, size), (cands, cands[:0], cands[:0]))
        per_side, per_t = candidate_terms(table, rows, cols, dataflows)
    per_side[1:, 2] = 0.0  # (not read: a defined value rather than np.empty's)
    for a in (table, per_side, per_t):
        a.setflags(write=False)  # (shared; and one compiled signature of the walk)
    return table, per_side, per_t


@lru_cache(maxsize=64)
def _dtab(dataflows: tuple[str, ...]) -> IntArray:
    out: IntArray = np.stack(_dataflow_tables(dataflows))
    out.setflags(write=False)
    return out


@lru_cache(maxsize=64)
def _stationary(dataflows: tuple[str, ...]) -> IntArray:
    out = np.array([_STATIONARY[d] for d in dataflows], dtype=np.int64)
    out.setflags(write=False)
    return out


@numba.njit(cache=True, nogil=True)
def dim_terms_kernel(
    size: int, cands: IntArray, rows: int, cols: int, fills: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:  # pragma: no cover - compiled
    """:func:`~analytical_models._tiles.candidate_table` and
    :func:`~analytical_models._stage.candidate_terms` of one GEMM dimension of ``size``
    elements over its tile-size candidates ``cands``, for dataflows whose fold timing is a
    shipped one (the streamed count plus ``fills``, one per dataflow): the same integer and
    IEEE operations per candidate (the third side's rows of ``per_side`` are left unset)."""
    n_c, n_d = cands.size, fills.size
    table = np.empty((5, n_c))
    per_side = np.empty((3, 3, n_c))
    per_t = np.empty((3, n_d, n_c))
    for col in range(n_c):
        c = cands[col]
        q = size // c
        rem = size - q * c
        table[T_SIZE, col] = c
        table[T_REM, col] = rem
        table[T_FULL, col] = q
        table[T_ALL, col] = q + (1 if rem > 0 else 0)
        table[T_DIM, col] = size
        tile, ragged, nfull = table[T_SIZE, col], table[T_REM, col], table[T_FULL, col]
        for side in range(2):
            width = rows if side == 0 else cols
            fits = 1.0 if tile <= width else 0.0
            rem_fits = 1.0 if ragged > 0 and ragged <= width else 0.0
            per_side[0, side, col] = nfull * np.ceil(tile / width) + np.ceil(ragged / width)
            per_side[1, side, col] = nfull * fits + rem_fits
            per_side[2, side, col] = nfull * tile * fits + ragged * rem_fits
        per_side[0, 2, col] = table[T_ALL, col]
        for d in range(n_d):
            fill = fills[d]
            per_t[0, d, col] = nfull * tile + (ragged if ragged > 0 else 0.0)
            per_t[1, d, col] = nfull * fill + (fill if ragged > 0 else 0.0)
            per_t[2, d, col] = fill
    return table, per_side, per_t
