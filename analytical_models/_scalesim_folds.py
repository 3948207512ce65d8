"""SCALE-Sim v3's loop nest of one GEMM: its fold geometry and the SRAM accesses of the array.

Part of the closed form of :mod:`analytical_models._scalesim_mapping` (see there for the sources
and the whole picture).

**Topology.** A GEMM row ``name, M, N, K`` is SCALE-Sim's convolution with an ``M x K`` ifmap
operand matrix, a ``K x N`` filter matrix and an ``M x N`` ofmap: ``C = A B`` with A = ifmap,
B = filter, as in :class:`~analytical_models.Gemm` (and :mod:`dse.export.scalesim`). A batched
GEMM is ``batch`` such rows, simulated one after the other: every total is ``batch`` times
one row's. Words are elements; DRAM bytes are words times ``bits / 8``. SRAM sizes are taken
as SCALE-Sim reads the exported configuration: ``ceil(kB)`` kB of 1-byte words, i.e.
``Z = 1024 * ceil(kB)`` elements per buffer; the DRAM bandwidth is
``max(1, floor(dram_bw_bytes_per_cycle / bytes per element))`` words per cycle per port.

**Loop nest.** With R array rows and C columns, SCALE-Sim puts ``Sr`` on the rows, ``Sc`` on
the columns and streams ``T``: WS ``(Sr, Sc, T) = (K, N, M)``, IS ``(K, M, N)``, OS
``(M, N, K)``. It runs ``FC = ceil(Sc/C)`` column folds (outer loop) of ``FR = ceil(Sr/R)``
row folds (inner loop); fold ``f = fc * FR + fr`` occupies demand rows ``[f F, (f+1) F)``
with ``F = 2R + C + T - 2`` (WS, IS) or ``R + C + T - 2`` (OS). Demand row ``i`` is issued
at cycle ``t_i = i + S_i``, ``S_i`` the stall cycles of the rows before it. Within a fold
(local row ``r``; a ragged last fold has fewer valid rows or columns, the rest empty):

* WS: ifmap ``A[t, fr R + j]`` at ``r = R + t + j``; filter row ``k = fr R + j`` (all its
  ``Sc`` columns of the fold) at ``r = R - 1 - j`` (reversed); the ofmap element
  ``C[t, fc C + c]`` is written at ``r = 2R - 1 + t + c``.
* IS: ifmap row ``k = fr R + j`` of ``A^T`` (its M columns of the fold) at ``r = R - 1 - j``;
  filter ``B[fr R + j, t]`` at ``r = R + t + j``; ofmap ``C[fc C + c, t]`` at
  ``r = 2R - 1 + t + c``.
* OS: ifmap ``A[fr R + j, t]`` at ``r = t + j``; filter ``B[t, fc C + c]`` at ``r = t + c``;
  ofmap ``C[fr R + q', fc C + c]`` at ``r = T - 1 + q + c`` with ``q = R - 1 - q'``.

Every row fold writes its ``T x Sc`` ofmap block: WS and IS write every partial sum,
``M N FR`` words, OS the result once, ``M N`` words. So with ample bandwidth (CALC mode, no
stall) "Total Cycles" ``= FR FC F - 1``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from analytical_models._types import DATAFLOWS, ModelInputError

IntArray = npt.NDArray[np.int64]


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


class Folds(NamedTuple):
    """SCALE-Sim's fold geometry of one GEMM on one array for one dataflow."""

    sr: int
    """Dimension on the array rows (WS, IS: K; OS: M)."""
    sc: int
    """Dimension on the array columns (WS: N; IS: M; OS: N)."""
    t: int
    """Dimension streamed in time (WS: M; IS: N; OS: K)."""
    row_folds: int
    col_folds: int
    rows_per_fold: int
    """Demand rows (cycles without stalls) of one fold, ``F``."""

    @property
    def folds(self) -> int:
        """Folds of the GEMM."""
        return self.row_folds * self.col_folds

    @property
    def demand_rows(self) -> int:
        """Demand rows of the GEMM (``FR FC F``)."""
        return self.folds * self.rows_per_fold


def scalesim_folds(m: int, n: int, k: int, rows: int, cols: int, dataflow: str) -> Folds:
    """Fold geometry of ``C[m, n] = A[m, k] B[k, n]`` on a ``rows x cols`` array."""
    if dataflow == "ws":
        sr, sc, t = k, n, m
    elif dataflow == "is":
        sr, sc, t = k, m, n
    elif dataflow == "os":
        sr, sc, t = m, n, k
    else:
        raise ModelInputError(f"unknown dataflow {dataflow!r}; expected one of {DATAFLOWS}")
    if min(m, n, k) < 1 or min(rows, cols) < 1:
        raise ModelInputError(f"need a GEMM and an array of at least 1, got {m}x{n}x{k} on {rows}x{cols}")
    fill = (rows if dataflow != "os" else 0) + rows + cols - 2
    return Folds(sr, sc, t, _cdiv(sr, rows), _cdiv(sc, cols), fill + t)


def _extents(total: int, width: int, nblocks: int) -> IntArray:
    """Valid extent of each of the ``nblocks`` blocks of ``width`` that cover ``total``."""
    out: IntArray = np.minimum(width, total - width * np.arange(nblocks, dtype=np.int64))
    return out


def sram_accesses(fo: Folds, m: int, n: int, k: int, rows: int, cols: int, dataflow: str) -> tuple[int, int, int]:
    """SCALE-Sim's SRAM counts: (ifmap reads, filter reads, ofmap writes) in words.

    Every fold reads its operand blocks once: the operand swept per column fold is read
    ``FC`` times (WS, OS ifmap; IS filter), OS's filter once per row fold; every row fold
    writes its ofmap block (OS once, plus the ``R + C`` SCALE-Sim adds per fold).
    """
    if dataflow == "ws":
        return m * k * fo.col_folds, k * n, m * n * fo.row_folds
    if dataflow == "is":
        return k * m, k * n * fo.col_folds, m * n * fo.row_folds
    return m * k * fo.col_folds, k * n * fo.row_folds, m * n + fo.folds * (rows + cols)
