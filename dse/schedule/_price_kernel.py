"""A fused segment's price in one compiled call (numba): :func:`price_segment_kernel` computes the
segment's streams (:func:`dse.schedule._streams_kernel.streams_kernel`) and tries every way of
running it (merge mode, pipelining over engine groups), each by :func:`segment_kernel`, which
prices every step of the segment on chip on every token tile (the compiled loop of
:func:`analytical_models.onchip_tiles`, with the arguments it passes that loop) and combines them
(:func:`dse.schedule._combine_kernel.combine_kernel`). Without it,
:func:`dse.schedule._segment.price_segment` makes a call for the streams, then for each way one
per step and one to combine them, each with its Python around it (about 54 us a way, 15 % of a
study's evaluation). The same compiled functions run on the same arguments, so every number is
theirs (the tests compare the paths on random segments and hardware, bit for bit).
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from analytical_models import compiled_module, use_compile_cache
from dse.schedule._combine import A_BUFFER, B_BUFFER, CORE, KIND, N_PARTS, OUT_FIELDS, TILED, TOKEN_COL
from dse.schedule._combine_kernel import combine_kernel
from dse.schedule._streams_kernel import streams_kernel

use_compile_cache()

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_ONCHIP = compiled_module("analytical_models._onchip_kernel")
assert _ONCHIP is not None, "the segment kernel is imported only where loops are compiled"
tiles_kernel = _ONCHIP.tiles_kernel

N_OUT = len(OUT_FIELDS)
N_STEP_OUT = 8
"""Columns of :func:`segment_kernel`'s per-step result: the first seven rows of the step's
``stacked`` at its column (the picked tile for a tiled step, else its one column), and the
index of its dataflow there."""


@numba.njit(cache=True, nogil=True)
def segment_kernel(
    t: FloatArray,
    tokens: float,
    static: IntArray,
    dims: FloatArray,
    groups: IntArray,
    n_engines: int,
    has_core: bool,
    sizes: IntArray,
    widths: FloatArray,
    pj: FloatArray,
    axes0: IntArray,
    reads0: IntArray,
    os0: BoolArray,
    fills0: FloatArray,
    axes1: IntArray,
    reads1: IntArray,
    os1: BoolArray,
    fills1: FloatArray,
    by_energy: bool,
    n_t: FloatArray,
    fits: BoolArray,
    recompute: bool,
    streamed_total: FloatArray,
    e_in: FloatArray,
    e_out: FloatArray,
    d_tile: FloatArray,
    scalars: FloatArray,
    objective: int,
    pipelined: bool,
    core_recompute: bool,
) -> tuple[int, FloatArray, FloatArray]:  # pragma: no cover - compiled; tests compare both paths
    """``(picked tile, combine's OUT_FIELDS, per-step (S, N_STEP_OUT))`` of a fused segment.

    Per step (rows of ``static`` and ``dims``: (batch, m, n, k) as floats): a core merge runs on
    the TT-core array (index 1 of ``sizes`` (rows, cols), ``widths`` (bytes per element, per
    accumulator, pJ per MAC), ``pj`` and the ``*1`` geometry) when ``has_core``, alone; any other
    step on the engine's array (index 0) on ``n_engines`` arrays, or on its group's
    (``groups``) when ``pipelined``. A token or reduce step is priced on the tiles ``t``, any
    other once on the whole pass. The rest are :func:`combine_kernel`'s arguments."""
    n_steps = static.shape[0]
    n_tiles = t.size
    columns = 1
    for s in range(n_steps):
        if static[s, TILED]:
            columns = n_tiles
    packed = np.zeros((n_steps, N_PARTS, columns))
    picks = np.zeros((n_steps, columns), dtype=np.int64)
    kinds = np.empty(n_steps, dtype=np.int64)
    whole = np.empty(1)
    whole[0] = tokens
    no_shaping = np.zeros((5, n_tiles))
    no_shaping_once = np.zeros((5, 1))
    for s in range(n_steps):
        kind = static[s, KIND]
        kinds[s] = kind
        tiled = static[s, TILED] != 0
        on_core = kind == CORE and has_core
        a = 1 if on_core else 0
        engines = (groups[s] if groups[s] > 0 else 1) if pipelined else (1 if on_core else n_engines)
        if on_core:
            axes, reads, os_, fills = axes1, reads1, os1, fills1
        else:
            axes, reads, os_, fills = axes0, reads0, os0, fills0
        stacked, best = tiles_kernel(
            t if tiled else whole,
            tokens,
            static[s, TOKEN_COL],
            dims[s],
            axes,
            reads,
            os_,
            fills,
            sizes[a, 0],
            sizes[a, 1],
            engines,
            widths[a, 0],
            widths[a, 1],
            pj[a],
            widths[a, 2],
            no_shaping if tiled else no_shaping_once,
            static[s, A_BUFFER],
            static[s, B_BUFFER],
            by_energy,
        )
        n = stacked.shape[1]
        packed[s, :, :n] = stacked
        picks[s, :n] = best
    i, out = combine_kernel(
        n_t,
        fits,
        packed,
        kinds,
        recompute,
        streamed_total,
        e_in,
        e_out,
        d_tile,
        scalars,
        objective,
        pipelined,
        core_recompute,
    )
    per_step = np.empty((n_steps, N_STEP_OUT))
    for s in range(n_steps):
        col = i if static[s, TILED] else 0
        for f in range(N_STEP_OUT - 1):
            per_step[s, f] = packed[s, f, col]
        per_step[s, N_STEP_OUT - 1] = picks[s, col]
    return i, out, per_step


@numba.njit(cache=True, nogil=True)
def price_segment_kernel(
    t: FloatArray,
    tokens: float,
    static: IntArray,
    dims: FloatArray,
    n_engines: int,
    has_core: bool,
    sizes: IntArray,
    widths: FloatArray,
    pj: FloatArray,
    axes0: IntArray,
    reads0: IntArray,
    os0: BoolArray,
    fills0: FloatArray,
    axes1: IntArray,
    reads1: IntArray,
    os1: BoolArray,
    fills1: FloatArray,
    by_energy: bool,
    stream_sizes: FloatArray,
    stream_counts: IntArray,
    stream_lines: FloatArray,
    stream_flags: BoolArray,
    ifmap_cap: float,
    ofmap_cap: float,
    recompute: BoolArray,
    pipelined: BoolArray,
    groups: IntArray,
    store_first: bool,
    scalars: FloatArray,
    objective: int,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:  # pragma: no cover - compiled; tests compare
    """Every way ``c`` of running a fused segment (``recompute[c]``, ``pipelined[c]`` over the
    engine groups ``groups[c]``), in order, as :func:`dse.schedule._segment.price_segment`
    tries them: the segment's streams on the tiles ``t``
    (:func:`dse.schedule._streams_kernel.streams_kernel` of its ``stream_*`` inputs and the
    ifmap buffer's bytes), then each way's tiles that fit the ofmap buffer too priced by
    :func:`segment_kernel`; a recomputing way is not tried once an earlier way fitted when
    ``store_first`` (a stored merge that fits is never worse). Returns each way's picked tile
    (-1: nothing fits, or not tried), :func:`segment_kernel`'s sums and per-step rows, and the
    ifmap and ofmap bytes and token tiles at its picked tile."""
    n_ways = recompute.size
    n_steps = static.shape[0]
    picked = np.full(n_ways, -1, dtype=np.int64)
    outs = np.zeros((n_ways, N_OUT))
    per_step = np.zeros((n_ways, n_steps, N_STEP_OUT))
    at = np.zeros((n_ways, 3))
    rows, ifmap_fits = streams_kernel(t, tokens, stream_sizes, stream_counts, stream_lines, stream_flags, ifmap_cap)
    if not ifmap_fits.any():
        return picked, outs, per_step, at
    n_t, ifmap_need, streamed_total, e_out, d_tile = rows[0], rows[1], rows[4], rows[7], rows[8]
    found = False
    for c in range(n_ways):
        if recompute[c] and found and store_first:
            break
        ofmap_need = rows[3] if pipelined[c] else rows[2]
        fits = ifmap_fits & (ofmap_need <= ofmap_cap)
        if not fits.any():
            continue
        i, out, steps_out = segment_kernel(
            t,
            tokens,
            static,
            dims,
            groups[c],
            n_engines,
            has_core,
            sizes,
            widths,
            pj,
            axes0,
            reads0,
            os0,
            fills0,
            axes1,
            reads1,
            os1,
            fills1,
            by_energy,
            n_t,
            fits,
            recompute[c],
            streamed_total,
            rows[6] if pipelined[c] else rows[5],
            e_out,
            d_tile,
            scalars,
            objective,
            pipelined[c],
            has_core and recompute[c],
        )
        picked[c] = i
        outs[c] = out
        per_step[c] = steps_out
        at[c, 0] = ifmap_need[i]
        at[c, 1] = ofmap_need[i]
        at[c, 2] = n_t[i]
        found = True
    return picked, outs, per_step, at
