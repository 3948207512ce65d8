"""Compiled cycles of SCALE-Sim's own loop nest under the overlapped timing (numba): what the
mapping search compares before it prices a nest (:func:`nests_below`). Each function repeats a
Python one of :mod:`analytical_models._pinned`, :mod:`analytical_models._scalesim_folds` and
:mod:`analytical_models._scalesim_reads` with the same integer and IEEE operations in the same
order (the tests compare them on random GEMMs and arrays): :func:`pinned_cycles_floor` and
:func:`pinned_cycles`.

Dataflows are coded ``0`` (ws), ``1`` (is), ``2`` (os): :data:`DATAFLOW_CODE`.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from analytical_models._jit import use_compile_cache
from analytical_models._scalesim_reads import CALC_RESET_SETS

use_compile_cache()

DATAFLOW_CODE = {"ws": 0, "is": 1, "os": 2}
_OS = 2


@numba.njit(cache=True, inline="always")
def _cdiv(a: int, b: int) -> int:  # pragma: no cover - compiled
    return -(-a // b)


@numba.njit(cache=True, inline="always")
def _folds(
    m: int, n: int, k: int, rows: int, cols: int, df: int
) -> tuple[int, int, int, int, int, int]:  # pragma: no cover
    """:func:`~analytical_models._scalesim_folds.scalesim_folds`: ``(sr, sc, t, row folds,
    column folds, rows per fold)``."""
    if df == 0:
        sr, sc, t = k, n, m
    elif df == 1:
        sr, sc, t = k, m, n
    else:
        sr, sc, t = m, n, k
    fill = (rows if df != _OS else 0) + rows + cols - 2
    return sr, sc, t, _cdiv(sr, rows), _cdiv(sc, cols), fill + t


@numba.njit(cache=True, inline="always")
def _block_reads(block: int, repeats: int, reset: int, since_reset: int) -> tuple[int, int]:  # pragma: no cover
    """:func:`~analytical_models._scalesim_reads.calc_block_reads`."""
    if repeats <= 0 or block <= 0:
        return 0, since_reset
    if block >= reset:
        return repeats * block, (since_reset + repeats * block) % reset
    if since_reset + block < reset:
        return block, since_reset + block
    since_reset = (since_reset + block) % reset
    if repeats == 1:
        return block, since_reset
    return 2 * block - since_reset, block


@numba.njit(cache=True, inline="always")
def _operand_reads(sram: int, blocks: NDArray[np.int64], repeats: int) -> int:  # pragma: no cover
    """DRAM words one operand reads in CALC mode (the loop of ``_calc_reads``)."""
    reset = CALC_RESET_SETS * (sram // 100)
    since_reset = 0
    got = 0
    for block in blocks:
        read, since_reset = _block_reads(block, repeats, reset, since_reset)
        got += read
    return got


@numba.njit(cache=True)
def _calc_reads(
    m: int, n: int, k: int, rows: int, cols: int, df: int, zi: int, zf: int
) -> tuple[int, int]:  # pragma: no cover
    """The (ifmap, filter) DRAM words of ``_calc_reads`` (its prefetch span is not needed)."""
    _, _, _, row_folds, col_folds, _ = _folds(m, n, k, rows, cols, df)
    if df == 0:
        a = _operand_reads(zi, np.array([m * k]), col_folds)
        b = _operand_reads(zf, np.array([k * n]), 1)
    elif df == 1:
        a = _operand_reads(zi, np.array([k * m]), 1)
        b = _operand_reads(zf, np.array([k * n]), col_folds)
    else:
        blocks = np.empty(col_folds, dtype=np.int64)
        for j in range(col_folds):
            blocks[j] = k * min(cols, n - cols * j)
        a = _operand_reads(zi, np.array([m * k]), col_folds)
        b = _operand_reads(zf, blocks, row_folds)
    return a, b


@numba.njit(cache=True, inline="always")
def _edges(
    m: int, n: int, k: int, row_folds: int, df: int, zi: int, zf: int, zo: int, bits: int, acc_bits: int, bw: float
) -> tuple[float, float]:  # pragma: no cover - compiled
    """``_edges``: the first half-buffer loads of the ifmap and filter, the last drain of the
    ofmap, in cycles."""
    va, vb = m * k, k * n
    w = m * n * (1 if df == _OS else row_folds)
    first = (min(_cdiv(zi, 2), va) + min(_cdiv(zf, 2), vb)) * (bits / 8.0) / bw
    partial = df != _OS and row_folds > 1
    last = min(zo // 2, w) * (acc_bits if partial else bits) / 8.0 / bw
    return first, last


@numba.njit(cache=True, inline="always")
def _cycles_with_stall(
    m: int,
    n: int,
    k: int,
    b: float,
    rows: int,
    cols: int,
    df: int,
    zi: int,
    zf: int,
    zo: int,
    bits: int,
    acc_bits: int,
    bw: float,
    dram_cycles: float,
    shaping_cycles: float,
) -> float:  # pragma: no cover - compiled
    """``_cycles(...)[2]`` of the nest whose DRAM traffic takes ``dram_cycles``: compute and
    fill of every fold, the stall (the larger of the exposed edges and the traffic beyond the
    compute window) and the shaping."""
    _, _, t, row_folds, col_folds, rows_per_fold = _folds(m, n, k, rows, cols, df)
    first, last = _edges(m, n, k, row_folds, df, zi, zf, zo, bits, acc_bits, bw)
    folds = row_folds * col_folds
    spread = dram_cycles - float(folds * rows_per_fold) * b
    edge = first + last
    stall = edge if edge >= spread else spread
    compute = b * folds * t
    fill = b * folds * (rows_per_fold - t)
    return compute + fill + stall + shaping_cycles


@numba.njit(cache=True)
def pinned_cycles_floor(
    m: int,
    n: int,
    k: int,
    batch: int,
    rows: int,
    cols: int,
    df: int,
    zi: int,
    zf: int,
    zo: int,
    bits: int,
    acc_bits: int,
    bw: float,
    shaping_cycles: float,
) -> float:  # pragma: no cover - compiled
    """:func:`analytical_models._pinned.pinned_cycles_floor` (``zi, zf, zo``: the SRAMs in words
    of :func:`~analytical_models._scalesim_mapping.scalesim_words`; ``bw``: DRAM bytes per cycle)."""
    b = float(batch)
    least = b * (m * k + k * n + m * n) * (bits / 8.0)  # (every operand read, every result written once)
    return _cycles_with_stall(m, n, k, b, rows, cols, df, zi, zf, zo, bits, acc_bits, bw, least / bw, shaping_cycles)


@numba.njit(cache=True)
def pinned_cycles(
    m: int,
    n: int,
    k: int,
    batch: int,
    rows: int,
    cols: int,
    df: int,
    zi: int,
    zf: int,
    zo: int,
    bits: int,
    acc_bits: int,
    bw: float,
    shaping_cycles: float,
    shaping_dram_rd: float,
    shaping_dram_wr: float,
) -> float:  # pragma: no cover - compiled
    """:func:`analytical_models._pinned.pinned_cycles` (the nest's cycles under the overlapped
    timing; arguments as :func:`pinned_cycles_floor`, plus the shaping's DRAM bytes)."""
    _, _, _, row_folds, _, _ = _folds(m, n, k, rows, cols, df)
    reads_a, reads_b = _calc_reads(m, n, k, rows, cols, df, zi, zf)
    partial = df != _OS and row_folds > 1
    ofmap_words = m * n * (1 if df == _OS else row_folds)
    b = float(batch)
    bpe, acc = bits / 8.0, acc_bits / 8.0
    a_dram = b * float(reads_a) * bpe
    b_dram = b * float(reads_b) * bpe
    w_dram = b * float(ofmap_words) * (acc if partial else bpe)
    dram = (a_dram + b_dram + shaping_dram_rd) + (w_dram + shaping_dram_wr)
    traffic = (dram - shaping_dram_rd - shaping_dram_wr) / bw
    return _cycles_with_stall(m, n, k, b, rows, cols, df, zi, zf, zo, bits, acc_bits, bw, traffic, shaping_cycles)
