"""One compiled loop over the token tiles of a fused segment: :func:`combine_kernel`, the same
IEEE operations in the same order as :func:`dse.schedule._combine.combine_numpy` (the tests
check every field, bit for bit)."""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from analytical_models import use_compile_cache
from dse.schedule._combine import (
    BW,
    CORE,
    DRAM_PJ_BIT,
    EDP,
    ENERGY,
    FILTER_WR_PJ_BIT,
    IFMAP_WR_PJ_BIT,
    LEAK_PJ_PER_CYCLE,
    N_PARTS,
    NETWORK_PJ_PER_BYTE,
    OFMAP_RD_PJ_BIT,
    OUT_BYTES,
    OUT_FIELDS,
    REDUCE,
    TOKEN,
    TOKEN_FREE_BYTES,
)

use_compile_cache()

FloatArray = NDArray[np.float64]
_N_OUT = len(OUT_FIELDS)


@numba.njit(cache=True, inline="always")
def _before(p: float, s: float, best_p: float, best_s: float) -> bool:  # pragma: no cover (compiled)
    """``(p, s)`` sorts before ``(best_p, best_s)`` as np.lexsort sorts (NaN after every number)."""
    if p < best_p or (best_p != best_p and p == p):
        return True
    if p == best_p or (p != p and best_p != best_p):
        return s < best_s or (best_s != best_s and s == s)
    return False


@numba.njit(cache=True)
def combine_kernel(
    n_t: FloatArray,
    fits: NDArray[np.bool_],
    packed: FloatArray,
    kinds: NDArray[np.int64],
    recompute: bool,
    streamed_total: FloatArray,
    e_in: FloatArray,
    e_out: FloatArray,
    d_tile: FloatArray,
    sc: FloatArray,
    objective: int,
    pipelined: bool,
    core_recompute: bool,
) -> tuple[int, FloatArray]:  # pragma: no cover (compiled; checked against combine_numpy)
    """:func:`dse.schedule._combine.combine` (``packed``: the steps' prices, ``(steps, parts,
    columns)``, a step's first column standing for every tile when it is not a token or reduce
    step)."""
    n_tiles = n_t.size
    n_steps = kinds.size
    bw = sc[BW]
    # the steps' cycles that do not depend on the tile (stored merges, post steps)
    stored = 0.0
    post = 0.0
    for s in range(n_steps):
        kind = kinds[s]
        if kind in (TOKEN, REDUCE) or (kind == CORE and recompute):
            continue
        step = packed[s, 0, 0] + packed[s, 1, 0] + packed[s, 2, 0]
        if kind == CORE:
            stored += step
        else:
            post += step
    fill_fi = 8.0 * sc[TOKEN_FREE_BYTES] * sc[FILTER_WR_PJ_BIT]
    drain_of = 8.0 * sc[OUT_BYTES] * sc[OFMAP_RD_PJ_BIT]
    best = -1
    best_p = 0.0
    best_s = 0.0
    out = np.empty(_N_OUT)
    summed = np.empty(N_PARTS)
    for j in range(n_tiles):
        for p in range(N_PARTS):
            summed[p] = 0.0
        stage_tile = 0.0
        stage_max = 0.0
        merge_tile = 0.0
        for s in range(n_steps):
            kind = kinds[s]
            tiled = kind in (TOKEN, REDUCE)
            recomputed = kind == CORE and recompute
            col = j if tiled else 0
            times = n_t[j] if tiled or recomputed else 1.0
            for p in range(N_PARTS):
                summed[p] = summed[p] + packed[s, p, col] * times
            cycles = packed[s, 0, col] + packed[s, 1, col] + packed[s, 2, col]
            if tiled:
                stage_tile = stage_tile + cycles
                stage_max = max(stage_max, cycles)
            elif recomputed:
                merge_tile = merge_tile + cycles
        dram_rd = streamed_total[j] + sc[TOKEN_FREE_BYTES] + summed[9] / 2
        dram_wr = sc[OUT_BYTES] + summed[9] / 2
        dram = dram_rd + dram_wr
        if core_recompute:
            loop = n_t[j] * max(stage_tile, merge_tile) + min(stage_tile, merge_tile)
        else:
            loop = n_t[j] * (stage_tile + merge_tile)
        if pipelined:
            interval = max(stage_max, d_tile[j] / bw)
            critical = stage_tile + (n_t[j] - 1) * stage_max
            work = stored + critical + post
            latency = stored + e_in[j] / bw + stage_tile + (n_t[j] - 1) * interval + e_out[j] / bw + post
            latency = max(latency, dram / bw)
        else:
            work = stored + loop + post
            latency = work + max((e_in[j] + e_out[j]) / bw, dram / bw - work)
        fill_if = 8.0 * streamed_total[j] * sc[IFMAP_WR_PJ_BIT]
        dram_pj = dram * 8.0 * sc[DRAM_PJ_BIT]
        leak_pj = latency * sc[LEAK_PJ_PER_CYCLE]
        network = sc[NETWORK_PJ_PER_BYTE] * summed[7]
        energy = summed[3] + summed[4] + summed[5] + summed[6] + network
        energy = energy + fill_if + fill_fi + drain_of + dram_pj + leak_pj
        if objective == ENERGY:
            score, second = energy, latency
        elif objective == EDP:
            score, second = energy * latency, latency
        else:
            score, second = latency, energy
        primary = score if fits[j] else math.inf
        # (np.lexsort: the least (primary, second), the first on a tie)
        if best < 0 or _before(primary, second, best_p, best_s):
            best, best_p, best_s = j, primary, second
            for p in range(N_PARTS):
                out[p] = summed[p]
            out[N_PARTS] = work
            out[N_PARTS + 1] = latency
            out[N_PARTS + 2] = network
            out[N_PARTS + 3] = fill_if
            out[N_PARTS + 4] = fill_fi
            out[N_PARTS + 5] = drain_of
            out[N_PARTS + 6] = dram_pj
            out[N_PARTS + 7] = leak_pj
            out[N_PARTS + 8] = dram_rd
            out[N_PARTS + 9] = dram_wr
            out[N_PARTS + 10] = dram
            out[N_PARTS + 11] = streamed_total[j]
    return best, out
