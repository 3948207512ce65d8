"""Every merge's bound terms and fold times on one hardware in one compiled call (numba):
:func:`merge_terms_kernel` repeats :func:`dse.schedule._merge_table._merge_terms_numpy` (the
numpy arithmetic of :func:`~dse.schedule._set_bounds.step_terms` and
:func:`~dse.schedule._set_bounds.fold_times` over a network's merges) row by row, with the same
IEEE operations in the same order, so the terms are the numpy function's bits (the tests
compare the two on random networks and hardware). A merge's untiled fold time is the compiled
untiled table's own row (``untiled_one``); what only Python can say (the engine's dataflows,
whether it shapes tensors) is read by the caller and passed in.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from analytical_models import compiled_module, use_compile_cache

use_compile_cache()

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

_ONCHIP = compiled_module("analytical_models._onchip_kernel")
assert _ONCHIP is not None, "the merge-terms kernel is imported only where loops are compiled"
untiled_one = _ONCHIP.untiled_one

REDUCE, CORE = 1, 2
"""Step kinds (:data:`~dse.schedule._set_bounds.KIND_CODE`): token 0, reduce 1, core 2, post 3."""

(
    BW,
    BPE,
    SERIAL,
    MAC_PJ,
    DRAM_PJ_BIT,
    ENGINES,
    ON_CORE,
    SHAPES,
    VIEW_BPE,
    VIEW_IFMAP,
    VIEW_FILTER,
    VIEW_OFMAP,
    VIEW_ROWS,
    VIEW_COLS,
    VIEW_BW,
    ROWS,
    COLS,
    TOKENS,
    N_SCALARS,
) = range(19)
"""Positions of :func:`merge_terms_kernel`'s scalars: DRAM bytes per cycle and bytes per
element, the serial memory timing (1.0), pJ per MAC and per DRAM bit, the arrays of the engine,
core merges on a TT-core engine (1.0), the engine shapes tensors through its buffers (1.0), the
bytes per element, buffer sizes (kB), rows, columns and DRAM bytes per cycle of the array it
shapes on, the engine's array rows and columns, the pass's tokens."""


@numba.njit(cache=True, nogil=True)
def merge_terms_kernel(
    dims: IntArray,
    permutes: IntArray,
    kind_macs: IntArray,
    column: IntArray,
    busy: FloatArray,
    one: FloatArray,
    tiles: FloatArray,
    axes: IntArray,
    fills: FloatArray,
    hwf: FloatArray,
) -> tuple[FloatArray, FloatArray]:  # pragma: no cover - compiled
    """``(terms (M, 6), fold times (M, tiles))`` of every merge (``dims`` ``(M, 4)`` batch, m, n,
    k; ``permutes`` ``(M, 3)``; ``kind_macs`` ``(M, 2)``; ``column`` the token dimension's column
    of ``dims``, -1: none; ``busy``, ``one`` their busy floors on every array and untiled cycles
    on one), the TT-core engine's column (2) left at -1.0 for the caller; ``axes``, ``fills``:
    the engine's untiled geometry; ``hwf``: the scalars (:data:`N_SCALARS`)."""
    n_rows = dims.shape[0]
    terms = np.empty((n_rows, 6))
    fold = np.zeros((n_rows, tiles.size))
    engines = int(hwf[ENGINES])
    rows, cols = int(hwf[ROWS]), int(hwf[COLS])
    tokens = hwf[TOKENS]
    widths = (hwf[VIEW_ROWS], hwf[VIEW_COLS], hwf[VIEW_COLS])
    caps = (hwf[VIEW_IFMAP] * 1024.0, hwf[VIEW_FILTER] * 1024.0, hwf[VIEW_OFMAP] * 1024.0)
    for j in range(n_rows):
        batch, m, n, k = dims[j, 0], dims[j, 1], dims[j, 2], dims[j, 3]
        kind = kind_macs[j, 0]
        on_core = kind == CORE and hwf[ON_CORE] != 0.0
        moved = 0.0 if hwf[SERIAL] != 0.0 else (batch * m * k + batch * k * n + batch * m * n) * hwf[BPE]
        terms[j, 0] = 0.0 if on_core else busy[j]
        terms[j, 1] = one[j] if engines > 1 and kind <= REDUCE else 0.0
        terms[j, 2] = -1.0
        if on_core:
            terms[j, 3] = 0.0
        else:
            fed = max(busy[j], moved / hwf[BW])
            if hwf[SHAPES] != 0.0:
                shaping = 0.0
                for c in range(3):
                    elements = permutes[j, c]
                    if elements > 0:
                        nbytes = elements * hwf[VIEW_BPE]
                        if nbytes <= caps[c]:
                            shaping += 2.0 * elements / widths[c]
                        else:
                            shaping += 2.0 * nbytes / hwf[VIEW_BW]
                fed = fed + shaping
            terms[j, 3] = fed
        terms[j, 4] = kind_macs[j, 1] * hwf[MAC_PJ] + moved * 8.0 * hwf[DRAM_PJ_BIT]
        terms[j, 5] = moved
        if kind <= REDUCE:  # (fold times at every token tile: the token dimension cut to the tile)
            col = column[j]
            for t in range(tiles.size):
                cut = (m, n, k)
                if col > 0:
                    scaled = np.int64(np.rint(float(dims[j, col]) * (tiles[t] / tokens)))
                    cut = (scaled if col == 1 else m, scaled if col == 2 else n, scaled if col == 3 else k)
                b = np.int64(np.rint(float(batch) * (tiles[t] / tokens))) if col == 0 else batch
                fold[j, t] = untiled_one(b, cut[0], cut[1], cut[2], rows, cols, axes, fills, engines)
    return terms, fold
