"""Every spill set's bound of one chain on one hardware in one compiled call (numba).

:func:`dse.schedule._bounds._set_bound` sums the bounds of a spill set's segments
(:func:`~dse.schedule._bounds._group_bound`): for a fused segment its fit in the buffers and
the DRAM time no schedule hides (:func:`~dse.schedule._segment.segment_floor_terms`), its busy
cycles (:func:`~dse.schedule._bounds.busy_bound`, and its floor over the token tiles it may run
at, :func:`~dse.schedule._bounds.tiled_floor`) and MAC energy. A tree's search orders all
its spill sets by that sum, so every segment of every spill set is bounded, a few dozen
additions each, in Python. :func:`set_bounds` does the same arithmetic for all of them at once
over the chain's arrays: the same IEEE operations in the same order (the tests check it equals
the Python functions on random chains and hardware), per-step inputs (fold-time floors, fold
times at every token tile, the bound of a step fed from DRAM) computed by the Python model and
passed in.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from analytical_models import use_compile_cache
from dse.schedule._floor_kernel import tiled_floor_kernel

use_compile_cache()

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

TOKEN, REDUCE, CORE, POST = 0, 1, 2, 3
"""Step kinds (:data:`dse.schedule.STEP_KINDS` order)."""

(
    FILTER_CAP,
    IFMAP_CAP,
    OFMAP_CAP,
    BW,
    ENGINES,
    BPE,
    ACC,
    MAC_PJ,
    DRAM_PJ_BIT,
    TOKENS,
    IFMAP_BYTES,
    N_SCALARS,
) = range(12)
"""Positions of the hardware's scalars in :func:`set_bounds`'s ``hwf`` argument (buffer
capacities in bytes with the fit margin, DRAM bytes per cycle, arrays, bytes per element and
per accumulator, pJ per MAC and per DRAM bit, tokens of the pass, the ifmap buffer in bytes
without the margin)."""


@numba.njit(cache=True, nogil=True)
def _size(elem: IntArray, tok: IntArray, x: int, per: float, frac: float) -> float:
    full = float(elem[x]) * per
    return full * frac if tok[x] else full


@numba.njit(cache=True, nogil=True)
def _ofmap_at(
    elem: IntArray,
    tok: IntArray,
    kind: IntArray,
    lhs: IntArray,
    rhs: IntArray,
    out: IntArray,
    seg: IntArray,
    inside: IntArray,
    t: float,
    tokens: float,
    bpe: float,
    acc: float,
    pipelined: bool,
) -> float:
    """:func:`dse.schedule._segment._ofmap_at` of the segment ``seg`` (step indices)."""
    frac = t / tokens
    double = 2.0 if t < tokens else 1.0
    last = seg[len(seg) - 1]
    need = 0.0
    for s in seg:
        if kind[s] == REDUCE:
            need += _size(elem, tok, out[s], acc, frac)
    if tok[out[last]]:
        need += _size(elem, tok, out[last], bpe, frac) * (double - 1.0)
    if pipelined:
        extra = 0.0
        for x in range(len(elem)):
            if inside[x] and tok[x]:
                extra += double * _size(elem, tok, x, bpe, frac)
        need += extra
        return need + (_size(elem, tok, out[last], bpe, frac) if kind[last] == TOKEN else 0.0)
    live_id = np.empty(len(seg), dtype=np.int64)
    live_val = np.empty(len(seg))
    n_live = 0
    peak = 0.0
    for s in seg:
        if kind[s] == CORE:
            continue
        res = 0.0 if kind[s] == REDUCE else _size(elem, tok, out[s], acc if kind[s] == POST else bpe, frac)
        total = 0.0
        for i in range(n_live):
            total += live_val[i]
        peak = max(peak, total + res)
        kept = 0
        for i in range(n_live):
            if live_id[i] != lhs[s] and live_id[i] != rhs[s]:
                live_id[kept] = live_id[i]
                live_val[kept] = live_val[i]
                kept += 1
        n_live = kept
        if inside[out[s]] and kind[s] != REDUCE:
            live_id[n_live] = out[s]
            live_val[n_live] = res
            n_live += 1
    return need + peak


@numba.njit(cache=True, nogil=True)
def _cores(elem: IntArray, tok: IntArray, inside: IntArray, a: int, b: int, bpe: float) -> float:
    total = 0
    for x in (a, b):
        if not inside[x] and not tok[x]:
            total += elem[x]
    return float(total) * bpe


@numba.njit(cache=True, nogil=True)
def _tiled(
    seg: IntArray,
    elem: IntArray,
    tok: IntArray,
    kind: IntArray,
    lhs: IntArray,
    rhs: IntArray,
    out: IntArray,
    inside: IntArray,
    consumed: IntArray,
    floor: FloatArray,
    on_core: NDArray[np.bool_],
    core_floor: FloatArray,
    fold_t: FloatArray,
    cands: FloatArray,
    hwf: FloatArray,
    stored: bool,
) -> float:
    """:func:`dse.schedule._bounds.tiled_floor` of the segment ``seg`` (not pipelined over
    engine groups), margin included: the arrays :func:`~dse.schedule._bounds._tiled_floor_compiled`
    builds, built here in the same order, for the same compiled floor."""
    bpe, acc, tokens = hwf[BPE], hwf[ACC], hwf[TOKENS]
    nt = len(elem)
    streamed = np.empty(nt)
    k = 0
    for x in range(nt):  # (the external tensors in ascending order)
        if consumed[x] and not inside[x] and tok[x]:
            streamed[k] = float(elem[x]) * bpe
            k += 1
    first = seg[0]
    cores = np.empty(2)
    kc = 0
    for x in (lhs[first], rhs[first]):
        if not inside[x] and not tok[x]:
            cores[kc] = float(elem[x]) * bpe
            kc += 1
    n = len(seg)
    accs = np.empty(n)
    acc_tok = np.zeros(n, dtype=np.bool_)
    lines = np.empty((n, 2))
    loop = np.empty((n, cands.size))
    live = np.zeros(nt, dtype=np.bool_)
    live_tok = np.zeros(nt)
    live_fix = np.zeros(nt)
    per_token = fixed = merges = post = 0.0
    n_acc = n_lines = n_loop = 0
    n_core = 0
    for s in seg:
        if on_core[s]:
            n_core += 1
        if kind[s] == REDUCE:
            accs[n_acc] = float(elem[out[s]]) * acc
            acc_tok[n_acc] = tok[out[s]] != 0
            n_acc += 1
        if kind[s] == TOKEN or kind[s] == REDUCE:
            loop[n_loop] = fold_t[s]
            n_loop += 1
        elif kind[s] == CORE:
            merges += core_floor[s] if on_core[s] else floor[s]
        else:
            post += floor[s]
        if kind[s] == CORE:
            continue  # (merges live in the filter buffer)
        res_tok = res_fix = 0.0
        if kind[s] != REDUCE:
            full = float(elem[out[s]]) * (acc if kind[s] == POST else bpe)
            if tok[out[s]]:
                res_tok = full / tokens
            else:
                res_fix = full
        lines[n_lines, 0] = per_token + res_tok
        lines[n_lines, 1] = fixed + res_fix
        n_lines += 1
        for x in (lhs[s], rhs[s]):
            if live[x]:
                live[x] = False
                per_token -= live_tok[x]
                fixed -= live_fix[x]
        if inside[out[s]] and kind[s] != REDUCE:
            live[out[s]] = True
            live_tok[out[s]] = res_tok
            live_fix[out[s]] = res_fix
            per_token += res_tok
            fixed += res_fix
    last = out[seg[n - 1]]
    got = tiled_floor_kernel(
        cands,
        tokens,
        streamed[:k],
        cores[:kc],
        float(elem[last]) * bpe,
        tok[last] != 0,
        accs[:n_acc],
        acc_tok[:n_acc],
        lines[:n_lines],
        loop[:n_loop],
        merges,
        post,
        stored,
        n_core > 0,  # (a bool, not a literal: the compiled floor keeps one signature)
        hwf[IFMAP_BYTES],
        hwf[IFMAP_CAP],
        hwf[OFMAP_CAP],
        hwf[BW],
    )
    return got * (1.0 - 1e-9)


@numba.njit(cache=True, nogil=True)
def _fused(
    seg: IntArray,
    elem: IntArray,
    tok: IntArray,
    kind: IntArray,
    lhs: IntArray,
    rhs: IntArray,
    out: IntArray,
    macs: IntArray,
    floor: FloatArray,
    one: FloatArray,
    on_core: NDArray[np.bool_],
    core_floor: FloatArray,
    fold_t: FloatArray,
    cands: FloatArray,
    hwf: FloatArray,
) -> tuple[float, float, float]:
    """:func:`dse.schedule._bounds._fused_bound` of the segment ``seg`` (infinite: no fit)."""
    inf = np.inf
    n = len(seg)
    nt = len(elem)
    bpe, acc, tokens = hwf[BPE], hwf[ACC], hwf[TOKENS]
    engines = int(hwf[ENGINES])
    inside = np.zeros(nt, dtype=np.int64)
    consumed = np.zeros(nt, dtype=np.int64)
    for i in range(n):
        s = seg[i]
        if i < n - 1:
            inside[out[s]] = 1
        consumed[lhs[s]] = 1
        consumed[rhs[s]] = 1
    # the filter buffer: token-free external inputs, merges recomputed or stored (_filter_needs)
    recomputed = 0.0
    for x in range(nt):
        if consumed[x] and not inside[x] and not tok[x]:
            recomputed += float(elem[x]) * bpe
    has_merge = False
    for s in seg:
        if kind[s] == CORE:
            has_merge = True
    stored = recomputed
    if has_merge:
        merge_in = np.zeros(nt, dtype=np.int64)
        for s in seg:
            if kind[s] == CORE:
                merge_in[lhs[s]] = 1
                merge_in[rhs[s]] = 1
        stored = 0.0
        for x in range(nt):
            if consumed[x] and not inside[x] and not tok[x] and not merge_in[x]:
                stored += float(elem[x]) * bpe
        for s in seg:
            if kind[s] == CORE and not merge_in[out[s]]:
                stored += float(elem[out[s]]) * bpe
    if min(recomputed, stored) > hwf[FILTER_CAP]:
        return inf, inf, inf
    streamed_el = 0
    for x in range(nt):
        if consumed[x] and not inside[x] and tok[x]:
            streamed_el += elem[x]
    streamed = float(streamed_el) * bpe
    t0 = cands[0]
    fits0 = streamed * t0 / tokens * (2.0 if t0 < tokens else 1.0) <= hwf[IFMAP_CAP]
    fits1 = streamed * tokens / tokens * 1.0 <= hwf[IFMAP_CAP]
    if not (fits0 or fits1):
        return inf, inf, inf
    n_stages = 0
    first_stage = -1
    for s in seg:
        if kind[s] == TOKEN or kind[s] == REDUCE:
            n_stages += 1
            if first_stage < 0:
                first_stage = s
    spatial = engines > 1 and 2 <= n_stages <= engines
    fit = False
    for p in range(2 if spatial else 1):
        for t in (t0, tokens):
            if _ofmap_at(elem, tok, kind, lhs, rhs, out, seg, inside, t, tokens, bpe, acc, p == 1) <= hwf[OFMAP_CAP]:
                fit = True
    if not fit:
        return inf, inf, inf
    first = _cores(elem, tok, inside, lhs[seg[0]], rhs[seg[0]], bpe)
    if spatial:
        first = min(first, _cores(elem, tok, inside, lhs[first_stage], rhs[first_stage], bpe))
    frac = t0 / tokens
    last = seg[n - 1]
    out_b = float(elem[out[last]]) * bpe
    exposed = streamed * frac + first + (out_b * frac if tok[out[last]] else out_b)
    reruns = 1.0
    if has_merge and stored > hwf[FILTER_CAP]:
        largest = -1.0
        for c in cands:
            if streamed * c / tokens * (2.0 if c < tokens else 1.0) <= hwf[IFMAP_CAP]:
                largest = c
        reruns = tokens / largest if largest > 0.0 else 1.0
    # busy cycles (busy_bound, one segment)
    total = 0.0
    for s in seg:
        total += floor[s]
    c = total
    if engines > 1 and 2 <= n_stages <= engines:
        serial = 0.0
        longest = -inf
        one_sum = 0.0
        for s in seg:
            if kind[s] == TOKEN or kind[s] == REDUCE:
                longest = max(longest, floor[s])
                one_sum += one[s]
            else:
                serial += floor[s]
        c = min(total, serial + max(longest, one_sum / engines))
    any_core = False
    for s in seg:
        if on_core[s]:
            any_core = True
    if reruns > 1.0 and not any_core:
        merged = 0.0
        for s in seg:
            if kind[s] == CORE:
                merged += floor[s]
        c = max(c, total + (reruns - 1.0) * merged)
    elif reruns > 1.0:
        merged = 0.0
        for s in seg:
            if kind[s] == CORE:
                merged += core_floor[s]
        c = max(c, reruns * merged * (1.0 - 1e-9))
    c += exposed / hwf[BW] * (1.0 - 1e-9)
    ext = 0
    for x in range(nt):
        if consumed[x] and not inside[x] and x != out[last]:
            ext += elem[x]
    d = float(ext + elem[out[last]]) * bpe
    if not any_core:
        c = max(c, d / hwf[BW])
    if not spatial:
        fits = stored <= hwf[FILTER_CAP]
        tiled = _tiled(
            seg, elem, tok, kind, lhs, rhs, out, inside, consumed, floor, on_core, core_floor, fold_t, cands, hwf, fits
        )
        if tiled == inf:
            return inf, inf, inf
        c = max(c, tiled)
    all_macs = 0
    merge_macs = 0
    for s in seg:
        all_macs += macs[s]
        if kind[s] == CORE:
            merge_macs += macs[s]
    e = (float(all_macs) + (reruns - 1.0) * float(merge_macs)) * hwf[MAC_PJ] * (1.0 - 1e-9)
    e += d * 8.0 * hwf[DRAM_PJ_BIT]
    return c, e, d


@numba.njit(cache=True, nogil=True)
def set_bounds(
    groups: IntArray,
    glen: IntArray,
    set_groups: IntArray,
    tensors: IntArray,
    steps: IntArray,
    step_f: FloatArray,
    fold_t: FloatArray,
    cands: FloatArray,
    hwf: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """``(group bounds (G, 3), spill-set bounds (S, 3))``: ``(cycles, energy_pj, dram_bytes)``
    of every segment ``groups[g, :glen[g]]`` (a step fed from DRAM: its bound from ``step_f``)
    and their sums over each spill set's segments ``set_groups[s]`` (-1 ends a row), in order.
    ``tensors``: ``(T, 2)`` elements and token flag of every tensor; ``steps``: ``(n, 5)`` lhs,
    rhs, out, kind and MACs of every step; ``step_f``: ``(n, 6)`` its busy floor, its untiled
    cycles on one array, its busy floor on the TT-core engine it runs on (-1: none) and its
    bound fed from DRAM; ``fold_t``: ``(n, tiles)`` each token and reduce step's fold time at
    every candidate token tile ``cands`` (other rows not read)."""
    elem, tok = tensors[:, 0], tensors[:, 1]
    lhs, rhs, out, kind, macs = steps[:, 0], steps[:, 1], steps[:, 2], steps[:, 3], steps[:, 4]
    floor, one = step_f[:, 0], step_f[:, 1]
    core_floor = step_f[:, 2]
    on_core = core_floor >= 0.0
    bounds = np.empty((len(glen), 3))
    for g in range(len(glen)):
        seg = groups[g, : glen[g]]
        if glen[g] == 1:
            bounds[g] = step_f[seg[0], 3:6]
        else:
            c, e, d = _fused(
                seg, elem, tok, kind, lhs, rhs, out, macs, floor, one, on_core, core_floor, fold_t, cands, hwf
            )
            bounds[g, 0], bounds[g, 1], bounds[g, 2] = c, e, d
    sums = np.zeros((set_groups.shape[0], 3))
    for s in range(set_groups.shape[0]):
        c = e = d = 0.0
        for j in range(set_groups.shape[1]):
            g = set_groups[s, j]
            if g < 0:
                break
            c += bounds[g, 0]
            e += bounds[g, 1]
            d += bounds[g, 2]
        sums[s, 0], sums[s, 1], sums[s, 2] = c, e, d
    return bounds, sums


@numba.njit(cache=True, nogil=True)
def tree_set_bounds(
    rows: IntArray,
    path_steps: IntArray,
    inputs: IntArray,
    merge_out: IntArray,
    kind_macs: IntArray,
    terms: FloatArray,
    folds: FloatArray,
    singles: IntArray,
    single_terms: FloatArray,
    groups: IntArray,
    glen: IntArray,
    set_groups: IntArray,
    cands: FloatArray,
    hwf: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """:func:`set_bounds` of the tree whose steps make the network's merges ``rows``, its
    arrays taken from the network's merge table (each merge's result ``merge_out``, kind and
    MACs ``kind_macs``, bound terms ``terms`` and fold times ``folds``; the inputs' elements and
    token flags ``inputs``; the steps' operands and results ``path_steps``), each step in
    ``singles`` bounded fed from DRAM by the larger of its terms and ``single_terms`` (term by
    term): what :func:`~dse.schedule._set_bounds.bounds_of` computes from the same arrays."""
    n_in = inputs.shape[0]
    n = rows.size
    tensors = np.empty((n_in + n, 2), dtype=np.int64)
    tensors[:n_in] = inputs
    steps = path_steps.copy()
    step_f = np.empty((n, terms.shape[1]))
    fold_t = np.empty((n, folds.shape[1]))
    for i in range(n):
        r = rows[i]
        tensors[n_in + i] = merge_out[r]
        steps[i, 3] = kind_macs[r, 0]
        steps[i, 4] = kind_macs[r, 1]
        step_f[i] = terms[r]
        fold_t[i] = folds[r]
    for j in range(singles.size):
        s = singles[j]
        for t in range(3):
            step_f[s, 3 + t] = max(step_f[s, 3 + t], single_terms[j, t])
    return set_bounds(groups, glen, set_groups, tensors, steps, step_f, fold_t, cands, hwf)
