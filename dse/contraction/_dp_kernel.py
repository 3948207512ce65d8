"""Compiled loops of the subset DP (:mod:`dse.contraction._optimizers`) over every subset of a
small network, outer products included and no memory limit: the MAC table of ``dp`` with the
MAC cost (:func:`mac_table`) and the bottom-up bound table of the branch and bound
(:func:`bound_table`). Each repeats the Python loop it replaces, split for split, with the same
IEEE operations in the same order (the tests compare both on every shipped format's networks and
on random ones), on integers that the caller has checked cannot overflow int64.

A network is given as its indices: ``holders[j]`` is the bitmask of the inputs holding index
``j``, ``sizes[j]`` its size and ``in_out[j]`` whether the output keeps it.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

from analytical_models import use_compile_cache

use_compile_cache()

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@numba.njit(cache=True, nogil=True)
def _kept(
    full: int, holders: IntArray, sizes: IntArray, in_out: BoolArray
) -> tuple[IntArray, IntArray]:  # pragma: no cover - compiled
    """For every subset mask, the indices its tensor keeps (a bitmask over the indices) and the
    product of their sizes: an input keeps all of its indices, a larger subset those the rest
    of the network or the output still needs (``_Problem.kept_bits``)."""
    n_idx = holders.size
    bits = np.zeros(full + 1, dtype=np.int64)
    prods = np.ones(full + 1, dtype=np.int64)
    for mask in range(1, full + 1):
        outside = full ^ mask if mask & (mask - 1) else full
        b = 0
        p = 1
        for j in range(n_idx):
            h = holders[j]
            if h & mask and (h & outside or in_out[j]):
                b |= 1 << j
                p *= sizes[j]
        bits[mask] = b
        prods[mask] = p
    return bits, prods


@numba.njit(cache=True, inline="always")
def _union(bits: IntArray, sizes: IntArray, a: int, b: int) -> int:  # pragma: no cover - compiled
    """Product of the sizes of the indices either of ``a``'s and ``b``'s tensors keeps (the MACs
    of merging them, ``_Problem.union_elements``), without an intermediate above it."""
    both = bits[a] | bits[b]
    out = 1
    j = 0
    while both:
        if both & 1:
            out *= sizes[j]
        both >>= 1
        j += 1
    return out


@numba.njit(cache=True, nogil=True)
def mac_table(
    n: int, holders: IntArray, sizes: IntArray, in_out: BoolArray
) -> tuple[FloatArray, IntArray]:  # pragma: no cover - compiled
    """``(best, split)`` of the MAC DP over every subset (``_table`` with the MAC cost): the least
    summed MACs of a tree over each subset (a float, summed as the Python loop sums it) and the
    lower part of its best split (the first in :func:`~dse.contraction.trees._splits` order to
    reach it; 0 for an input)."""
    full = (1 << n) - 1
    bits, _ = _kept(full, holders, sizes, in_out)
    best = np.full(full + 1, math.inf)
    split = np.zeros(full + 1, dtype=np.int64)
    for t in range(n):
        best[1 << t] = 0.0
    for s in range(3, full + 1):
        if s & (s - 1) == 0:
            continue
        best_c = math.inf
        best_a = 0
        low = s & -s
        rest = s ^ low
        sub = (rest - 1) & rest
        while True:
            a = low | sub
            b = s ^ a
            base = best[a] + best[b]
            if base < best_c:
                c = base + float(_union(bits, sizes, a, b))
                if c < best_c:
                    best_c = c
                    best_a = a
            if sub == 0:
                break
            sub = (sub - 1) & rest
        best[s] = best_c
        split[s] = best_a
    return best, split


@numba.njit(cache=True, nogil=True)
def bound_table(
    n: int,
    holders: IntArray,
    sizes: IntArray,
    in_out: BoolArray,
    per_mac: float,
    per_el: float,
    energy: bool,
) -> tuple[FloatArray, FloatArray]:  # pragma: no cover - compiled
    """``(low, step_low)`` of the bound DP of ``_bounded_table``: ``low[s]``, a lower bound of the
    best cost of subset ``s``, and ``step_low[s, a]``, :func:`~dse.contraction._costs.step_bound`
    of the split ``(a, s ^ a)`` (``per_mac``, ``per_el``: the cost's bound terms; ``energy``:
    their sum, else the larger of the two)."""
    full = (1 << n) - 1
    bits, prods = _kept(full, holders, sizes, in_out)
    low = np.full(full + 1, math.inf)
    step_low = np.full((full + 1, full + 1), math.inf)
    for t in range(n):
        low[1 << t] = 0.0
    for s in range(3, full + 1):
        if s & (s - 1) == 0:
            continue
        low_c = math.inf
        lo = s & -s
        rest = s ^ lo
        sub = (rest - 1) & rest
        while True:
            a = lo | sub
            b = s ^ a
            macs = _union(bits, sizes, a, b)
            elements = prods[a] + prods[b] + prods[s]
            if energy:
                sl = per_mac * float(macs) + per_el * float(elements)
            elif per_el:
                x = per_mac * float(macs)
                y = per_el * float(elements)
                sl = x if x >= y else y
            else:
                sl = per_mac * float(macs)
            step_low[s, a] = sl
            v = low[a] + low[b] + sl
            if v < low_c:
                low_c = v
            if sub == 0:
                break
            sub = (sub - 1) & rest
        low[s] = low_c
    return low, step_low
