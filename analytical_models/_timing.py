"""Per-fold timing of an R x C systolic array (SCALE-Sim first-order model).

SCALE-Sim (Samajdar et al., ISPASS 2020, "A systematic methodology for characterizing
scalability of DNN accelerators using SCALE-Sim") maps a GEMM onto the array as spatial rows
``Sr`` (on the R array rows), spatial columns ``Sc`` (on the C columns) and a temporal dimension
``T`` streamed through the array. The work is cut into ``ceil(Sr/R) * ceil(Sc/C)`` folds; each
fold takes

- WS (weights stationary, ``Sr = K``, ``Sc = N``, ``T = M``): ``2R + C + T - 2`` cycles
  (R cycles to shift the weights in from the top, then the skewed ifmap stream over R rows and
  C columns);
- IS (inputs stationary, ``Sr = K``, ``Sc = M``, ``T = N``): ``2R + C + T - 2`` cycles;
- OS (outputs stationary, ``Sr = M``, ``Sc = N``, ``T = K``): ``R + C + T - 2`` cycles.

The "2" always goes with R, the array rows, i.e. the side the stationary operand is loaded
through. Each per-fold formula is split into a streaming part (``T``: one new operand vector
per cycle) and a fill/drain part (the rest), and lives in one small function per dataflow
below so that measured corrections are one-line changes. A formula may be any elementwise
function of ``T`` (the tiled sums in :mod:`analytical_models._stage` evaluate it at the full and
at the remainder tile sizes), but the fold count must stay ``ceil(Sr/R) * ceil(Sc/C)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from analytical_models._arrays import FloatArray

FoldFn = Callable[[int, int, FloatArray], tuple[FloatArray, FloatArray]]
"""``(R, C, T) -> (streaming cycles, fill/drain cycles)`` of one fold, elementwise in ``T``."""

M_DIM, N_DIM, K_DIM = 0, 1, 2
"""Indices of the GEMM dimensions m, n, k."""


def ws_fold_cycles(rows: int, cols: int, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """One weight-stationary fold: ``2R + C + T - 2`` cycles, split ``(T, 2R + C - 2)``.

    Args:
        rows: array rows R (they carry the reduction dimension K).
        cols: array columns C (they carry N).
        t: streamed ifmap rows per fold (M of the tile), in cycles.
    """
    return t, np.full_like(t, 2.0 * rows + cols - 2.0)


def is_fold_cycles(rows: int, cols: int, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """One input-stationary fold: ``2R + C + T - 2`` cycles, split ``(T, 2R + C - 2)``.

    Args:
        rows: array rows R (they carry K).
        cols: array columns C (they carry M).
        t: streamed filter columns per fold (N of the tile), in cycles.
    """
    return t, np.full_like(t, 2.0 * rows + cols - 2.0)


def os_fold_cycles(rows: int, cols: int, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """One output-stationary fold: ``R + C + T - 2`` cycles, split ``(T, R + C - 2)``.

    Args:
        rows: array rows R (they carry M).
        cols: array columns C (they carry N).
        t: reduction steps per fold (K of the tile), in cycles.
    """
    return t, np.full_like(t, float(rows) + cols - 2.0)


FOLD_CYCLES: dict[str, FoldFn] = {"ws": ws_fold_cycles, "is": is_fold_cycles, "os": os_fold_cycles}
"""Per-fold timing function of each dataflow."""

GEOMETRY: dict[str, tuple[int, int, int]] = {
    "ws": (K_DIM, N_DIM, M_DIM),
    "is": (K_DIM, M_DIM, N_DIM),
    "os": (M_DIM, N_DIM, K_DIM),
}
"""``(dimension on the array rows, on the columns, streamed in time)`` of each dataflow."""
