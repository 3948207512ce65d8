"""The ``systolic`` engine: an R x C systolic array running WS / OS / IS (SCALE-Sim timing).

The array runs the dataflows listed in ``Hardware.dataflows`` (the mapping search picks
among them) and pays every tensor permutation of the lowered GEMM as a buffer or DRAM round
trip (see :mod:`analytical_models._shaping`). Per-fold timing: :mod:`analytical_models._timing`.
"""

from __future__ import annotations

import numpy as np

from analytical_models._engine import ArrayEngine
from analytical_models._registry import register_engine
from analytical_models._timing import FOLD_CYCLES, GEOMETRY
from analytical_models._types import DATAFLOWS, Gemm, ModelInputError


class SystolicEngine(ArrayEngine):
    """Plain systolic array: dataflows from ``Hardware.dataflows``, tensor shaping is paid."""

    name: str = "systolic"
    shaping_free: bool = False


def fold_cycles(gemm: Gemm, rows: int, cols: int, dataflow: str) -> tuple[float, float]:
    """SCALE-Sim cycles of ``gemm`` run untiled on an R x C array, no memory stalls.

    ``batch * ceil(Sr/R) * ceil(Sc/C)`` folds of the per-fold formula of ``dataflow``.

    Args:
        gemm: the operation (its permutation volumes are ignored).
        rows: array rows R.
        cols: array columns C.
        dataflow: ``ws``, ``os`` or ``is``.

    Returns:
        ``(compute_cycles, fill_drain_cycles)``: the streaming part ``folds * T`` and the rest.
    """
    if dataflow not in DATAFLOWS:
        raise ModelInputError(f"unknown dataflow {dataflow!r}; expected one of {DATAFLOWS}")
    if rows < 1 or cols < 1:
        raise ModelInputError(f"PE array must be at least 1x1, got {rows}x{cols}")
    dims = (gemm.m, gemm.n, gemm.k)
    row_x, col_x, time_x = GEOMETRY[dataflow]
    folds = gemm.batch * (-(-dims[row_x] // rows)) * (-(-dims[col_x] // cols))
    stream, fill = FOLD_CYCLES[dataflow](rows, cols, np.array([float(dims[time_x])]))
    return folds * float(stream[0]), folds * float(fill[0])


SYSTOLIC = SystolicEngine()
register_engine(SYSTOLIC.name, SYSTOLIC)
