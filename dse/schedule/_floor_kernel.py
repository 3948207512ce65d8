"""A fused segment's cycle floor over its token tiles in one compiled loop (numba):
:func:`tiled_floor_kernel` repeats the numpy arithmetic of :func:`dse.schedule._bounds.tiled_floor`
(the ofmap need and exposed bytes of :func:`~dse.schedule._streams._streams`) tile by tile,
with the same IEEE operations in the same order, so the floor is the numpy function's bits (the
tests compare the two on random segments and hardware). The segment's tensors, its ofmap lines
and its steps' fold times are read by the Python model and passed in.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from analytical_models import use_compile_cache

use_compile_cache()

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@numba.njit(cache=True, nogil=True)
def tiled_floor_kernel(
    t: FloatArray,
    tokens: float,
    streamed: FloatArray,
    cores: FloatArray,
    out_bytes: float,
    out_tokened: bool,
    accumulators: FloatArray,
    acc_tokened: BoolArray,
    lines: FloatArray,
    loop: FloatArray,
    merges: float,
    post: float,
    stored: bool,
    core_engine: bool,
    ifmap_cap: float,
    ifmap_fit: float,
    ofmap_fit: float,
    bw: float,
) -> float:  # pragma: no cover - compiled
    """The least cycles (before the 1e-9 margin) of a fused segment over the token tiles ``t``
    that fit (``inf`` when none does). Bytes: ``streamed`` of the streamed inputs (all tokens),
    ``cores`` of the first step's core operands, ``out_bytes`` of the result, ``accumulators``
    of the reduce accumulators (at the accumulator width); ``lines``: the ofmap lines ``(bytes
    per token, token-free bytes)``; ``loop``: the token and reduce steps' fold times per tile
    ``(steps, tiles)``; ``merges``, ``post``: the core merges' and post steps' cycles;
    ``stored``: the merges stay in the filter buffer; ``core_engine``: they run on a TT-core
    engine; ``ifmap_cap``: the ifmap buffer in bytes, ``ifmap_fit``, ``ofmap_fit`` the buffers
    with the fit slack; ``bw``: DRAM bytes per cycle."""
    n = t.size
    tile_in = np.empty(n)  # the streamed inputs' bytes per tile
    need = np.empty(n)
    for j in range(n):
        frac = t[j] / tokens
        n_t = tokens / t[j]
        double = 2.0 if n_t > 1 else 1.0
        total = 0.0
        for x in streamed:
            total = total + x * frac
        tile_in[j] = total
        need[j] = total * double
    any_fits = False
    for j in range(n):
        if need[j] <= ifmap_cap:
            any_fits = True
    if not any_fits:  # (no tile fits the ifmap buffer: the segment cannot run)
        return math.inf
    best = math.inf
    for j in range(n):
        tj = t[j]
        frac = tj / tokens
        n_t = tokens / tj
        double = 2.0 if n_t > 1 else 1.0
        out_tile = out_bytes * frac if out_tokened else out_bytes
        if lines.shape[0] == 0:
            ofmap = 0.0
        else:
            base = 0.0
            for a in range(accumulators.size):
                base = base + ((accumulators[a] * tj) / tokens if acc_tokened[a] else accumulators[a])
            ofmap = -math.inf
            for line in range(lines.shape[0]):
                v = base + (lines[line, 0] * tj + lines[line, 1])
                if v > ofmap:
                    ofmap = v
        if out_tokened:
            ofmap = ofmap + out_tile * (double - 1.0)
        if not (need[j] <= ifmap_fit and ofmap <= ofmap_fit):
            continue
        steps = 0.0
        for r in range(loop.shape[0]):
            steps = steps + loop[r, j]
        if stored:
            busy = n_t * steps + (0.0 if core_engine else merges) + post
        elif core_engine:
            busy = n_t * (steps if steps >= merges else merges) + post
        else:
            busy = n_t * (steps + merges) + post
        e_cores = 0.0
        for x in cores:
            e_cores = e_cores + x
        cycles = busy + ((tile_in[j] + e_cores) + out_tile) / bw
        if cycles < best:
            best = cycles
    return best


@numba.njit(cache=True, nogil=True)
def staged_floors_kernel(
    floors: FloatArray, one_engine: FloatArray, stage: BoolArray, engines: int
) -> FloatArray:  # pragma: no cover - compiled; the tests compare it with staged_floor
    """:func:`dse.schedule._bounds.staged_floors`, row by row: each row's sums left to right
    (a step left out of a sum is skipped), its maxima and minimum exact."""
    rows, cols = floors.shape
    out = np.empty(rows)
    for r in range(rows):
        total = 0.0
        serial = 0.0
        spread = 0.0
        longest = -np.inf
        stages = 0
        for j in range(cols):
            f = floors[r, j]
            total = total + f
            if stage[r, j]:
                spread = spread + one_engine[r, j]
                longest = max(longest, f)
                stages += 1
            else:
                serial = serial + f
        out[r] = total if stages < 2 else min(total, serial + max(longest, spread / engines))
    return out
