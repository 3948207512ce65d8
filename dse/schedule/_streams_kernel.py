"""One compiled loop over the token tiles of a fused segment: :func:`streams_kernel`, the
numpy arithmetic of :func:`dse.schedule._streams._streams` tile by tile, with the same IEEE
operations in the same order (the tests compare the two, bit for bit). The segment's tensors
are read by the Python model and passed in (:func:`dse.schedule._streams._stream_inputs`).
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from analytical_models import use_compile_cache

use_compile_cache()

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
N_ROWS = 9
"""Rows of :func:`streams_kernel`'s result."""


@numba.njit(cache=True, nogil=True)
def streams_kernel(
    t: FloatArray,
    tokens: float,
    sizes: FloatArray,
    counts: NDArray[np.int64],
    lines: FloatArray,
    flags: BoolArray,
    ifmap_cap: float,
) -> tuple[FloatArray, BoolArray]:  # pragma: no cover - compiled
    """Per token tile ``t``: the tiles ``N_t``, the streamed inputs' ifmap need, the ofmap need
    (not pipelined, pipelined), the streamed inputs' bytes over the pass, the bytes before the
    loop no schedule hides (with the first step's cores, with the first token or reduce
    step's), the result tile's bytes and a pipelined tile's DRAM bytes, as rows; and whether
    the ifmap need fits ``ifmap_cap`` bytes. ``sizes``, ``counts``, ``lines`` and ``flags`` as
    :func:`dse.schedule._streams._stream_inputs` lays them out."""
    n = t.size
    rows = np.empty((N_ROWS, n))
    fits = np.empty(n, dtype=np.bool_)
    n_str, n_c0, n_c1, n_acc, n_res = counts[0], counts[1], counts[2], counts[3], counts[4]
    o_c0 = n_str
    o_c1 = o_c0 + n_c0
    o_acc = o_c1 + n_c1
    o_res = o_acc + n_acc
    o_out = o_res + n_res
    out_bytes, last_bytes = sizes[o_out], sizes[o_out + 1]
    out_tokened, last_token, last_tokened = flags[0], flags[1], flags[2]
    c0 = 0.0
    for a in range(n_c0):
        c0 = c0 + sizes[o_c0 + a]
    c1 = 0.0
    for a in range(n_c1):
        c1 = c1 + sizes[o_c1 + a]
    for j in range(n):
        tj = t[j]
        frac = tj / tokens
        n_t = tokens / tj
        double = 2.0 if n_t > 1 else 1.0
        tile_in = 0.0
        total = 0.0
        for a in range(n_str):
            x = sizes[a] * frac
            tile_in = tile_in + x
            total = total + x * n_t
        need = tile_in * double
        out_tile = out_bytes * frac if out_tokened else out_bytes
        base = 0.0
        for a in range(n_acc):
            v = sizes[o_acc + a]
            base = base + ((v * tj) / tokens if flags[3 + a] else v)
        if lines.shape[0] == 0:
            flat = 0.0
        else:
            flat = -np.inf
            for line in range(lines.shape[0]):
                v = base + (lines[line, 0] * tj + lines[line, 1])
                if v > flat:
                    flat = v
        double_piped = 2.0 if tj < tokens else 1.0
        resident = 0.0
        for a in range(n_res):
            resident = resident + double_piped * ((sizes[o_res + a] * tj) / tokens)
        result = ((last_bytes * tj) / tokens if last_tokened else last_bytes) if last_token else 0.0
        piped = (base + resident) + result
        if out_tokened:
            flat = flat + out_tile * (double - 1.0)
            piped = piped + out_tile * (double - 1.0)
        rows[0, j] = n_t
        rows[1, j] = need
        rows[2, j] = flat
        rows[3, j] = piped
        rows[4, j] = total
        rows[5, j] = tile_in + c0
        rows[6, j] = tile_in + c1
        rows[7, j] = out_tile
        rows[8, j] = tile_in + out_tile if out_tokened else tile_in
        fits[j] = need <= ifmap_cap
    return rows, fits
