"""Every merge of two input subsets of a network at once: the GEMM each lowers to, from index
membership in a few array operations instead of one lowering per merge (what a search over a
network's trees reads before it builds any plan).

A merge is a pair of input subsets (bitmasks over the network's inputs); its operands are the
tensors holding them (:func:`~dse.contraction._plan._held`) and its result keeps the indices the
rest of the network still needs. The lowering's rules (:mod:`dse.contraction._lowering`) become
array operations over index membership: the index groups (batch: held by both and kept; M and
N: by one of them and kept; K: not kept), operand A (the one holding the activation index, else
the larger, else by index names) and the re-layouts. What depends on index names alone (the
name rule, the re-layouts, which group holds the activation index) is computed once per network
structure (:func:`_merge_roles`): networks of one format and pass share it whatever their sizes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from dse.contraction._lowering import ACTIVATION_INDEX, _structure, index_sort_key
from dse.contraction._plan import _merge_names
from dse.workload import TensorNetwork

_INT64_SAFE = 2**62
"""Integer products below this are exact in int64."""

Pairs = tuple[tuple[int, int], ...]


@lru_cache(maxsize=1024)  # networks of one format and pass share it, whatever their sizes
def _merge_masks(
    names: tuple[str, ...],
    inputs: tuple[tuple[str, ...], ...],
    output: tuple[str, ...],
    pairs: Pairs,
) -> NDArray[np.bool_]:
    """For each pair of input subsets (bitmasks) of a network with indices ``names``, as one
    ``(7, pairs, indices)`` boolean array (read-only): the indices each operand holds (what
    :func:`_held` holds), then the lowering's groups over the indices the result keeps (what
    :func:`_kept_indices` keeps): held by the left operand alone (M or N), by the right alone,
    by both (batch), the contracted ones (K) and all the step's indices."""
    n = len(inputs)
    where = {i: j for j, i in enumerate(names)}
    own = np.zeros((max(n, 1), len(names)), dtype=np.bool_)
    holders = np.zeros(len(names), dtype=np.int64)
    for t, idx in enumerate(inputs):
        for i in idx:
            own[t, where[i]] = True
            holders[where[i]] |= 1 << t
    in_output = np.array([i in output for i in names], dtype=np.bool_)
    full = (1 << n) - 1

    def kept(masks: NDArray[np.int64]) -> NDArray[np.bool_]:
        m = masks[:, None]
        got: NDArray[np.bool_] = ((holders & m) != 0) & (((holders & (full ^ m)) != 0) | in_output)
        return got

    def held(masks: NDArray[np.int64]) -> NDArray[np.bool_]:
        single = (masks & (masks - 1)) == 0
        first = np.zeros(len(masks), dtype=np.int64)
        for t in range(n):
            first[masks == 1 << t] = t
        return np.where(single[:, None], own[first], kept(masks))

    a = np.array([p for p, _ in pairs], dtype=np.int64).reshape(-1)
    b = np.array([q for _, q in pairs], dtype=np.int64).reshape(-1)
    lhs, rhs, out = held(a), held(b), kept(a | b)
    masks = np.stack([lhs, rhs, lhs & ~rhs & out, rhs & ~lhs & out, lhs & rhs & out, (lhs | rhs) & ~out, lhs | rhs])
    masks.setflags(write=False)
    return masks


_DIMS: tuple[str, ...] = ("", "batch", "m", "n", "k")
"""The GEMM dimension holding the activation index, by code (0: none)."""


class _Roles(NamedTuple):
    """What :func:`_merge_roles` gives for each pair (left subset as the lowering's lhs)."""

    name_rule: NDArray[np.bool_]
    """The lowering's last rule for operand A: the lhs's canonical index tuple sorts first."""
    symmetric: tuple[bool, ...]
    """Both operands hold the same index names: A is the lhs whichever order they come in."""
    out_tokened: tuple[bool, ...]
    """The result holds the activation index."""
    relayout: NDArray[np.bool_]
    """``(pairs, 2, 3)``: whether A, B and C need a re-layout, by ``int(a_is_lhs)``."""
    token_dim: NDArray[np.int64]
    """``(pairs, 2)``: the code in :data:`_DIMS` of the GEMM dimension holding the activation
    index, by ``int(a_is_lhs)``."""


@lru_cache(maxsize=1024)  # networks of one format and pass share it, whatever their sizes
def _merge_roles(inputs: tuple[tuple[str, ...], ...], output: tuple[str, ...], pairs: Pairs) -> _Roles:
    """The part of every pair's lowering that depends on index names alone (:class:`_Roles`)."""
    name_rule, symmetric, out_tokened = [], [], []
    relayout = np.zeros((len(pairs), 2, 3), dtype=np.bool_)
    token_dim = np.zeros((len(pairs), 2), dtype=np.int64)
    for j, (a, b) in enumerate(pairs):
        _, _, _, lt, rt, kept, _ = _merge_names(inputs, output, a, b)
        name_rule.append([index_sort_key(i) for i in lt] <= [index_sort_key(i) for i in rt])
        symmetric.append(lt == rt)
        out_tokened.append(ACTIVATION_INDEX in kept)
        for a_is_lhs in (0, 1):
            _, _, groups, flags, _ = _structure(lt, rt, kept, bool(a_is_lhs))
            relayout[j, a_is_lhs] = flags
            token_dim[j, a_is_lhs] = next((c for c, g in enumerate(groups[:4], 1) if ACTIVATION_INDEX in g), 0)
    rule = np.array(name_rule, dtype=np.bool_)
    for x in (rule, relayout, token_dim):
        x.setflags(write=False)
    return _Roles(rule, tuple(symmetric), tuple(out_tokened), relayout, token_dim)


class _Sized(NamedTuple):
    """Per pair, as int64 arrays: the elements of the lhs and the rhs, of their indices held by
    the lhs alone and the rhs alone (kept), by both (kept), contracted and all, and whether the
    lhs is operand A."""

    e_l: NDArray[np.int64]
    e_r: NDArray[np.int64]
    m_l: NDArray[np.int64]
    m_r: NDArray[np.int64]
    both: NDArray[np.int64]
    contracted: NDArray[np.int64]
    used: NDArray[np.int64]
    a_is_lhs: NDArray[np.bool_]


@lru_cache(maxsize=256)  # merge_dims and merge_lowerings of one network
def _sized(network: TensorNetwork, pairs: Pairs) -> _Sized | None:
    """:class:`_Sized` of every pair; None when a product might overflow int64."""
    if math.prod(s for _, s in network.sizes) >= _INT64_SAFE:
        return None
    names = tuple(i for i, _ in network.sizes)
    sizes = np.array([s for _, s in network.sizes], dtype=np.int64)
    masks = _merge_masks(names, network.inputs, network.output, pairs)
    lhs, rhs = masks[0], masks[1]
    e_l, e_r, m_l, m_r, both, contracted, used = np.where(masks, sizes, 1).prod(axis=2)  # (exact: below 2**62)
    a_is_lhs = e_l > e_r
    if ACTIVATION_INDEX in names:
        where = names.index(ACTIVATION_INDEX)
        act_l, act_r = lhs[:, where], rhs[:, where]
        a_is_lhs = np.where(act_l != act_r, act_l, a_is_lhs)
        ties = (act_l == act_r) & (e_l == e_r)
    else:
        ties = e_l == e_r
    if ties.any():  # equal sizes: the rule on index names decides
        a_is_lhs = np.where(ties, _merge_roles(network.inputs, network.output, pairs).name_rule, a_is_lhs)
    return _Sized(e_l, e_r, m_l, m_r, both, contracted, used, a_is_lhs)


def merge_dims(network: TensorNetwork, pairs: Sequence[tuple[int, int]]) -> NDArray[np.int64] | None:
    """``(len(pairs), 5)``: the ``(batch, m, n, k, macs)`` of the GEMM merging the tensors of
    each pair of input subsets (bitmasks), exactly those of :func:`merge_gemm`, for every pair in
    a few array operations instead of one lowering per merge: the lowering's index groups
    (batch: held by both and kept; M and N: by one of them and kept; K: not kept) and its
    choice of operand A (the one holding the token index, else the larger, else by index names)
    over the index membership of every tensor. None when a product might overflow int64 (the
    caller lowers each merge instead)."""
    got = _sized(network, tuple(pairs))
    if got is None:
        return None
    a = got.a_is_lhs
    table = np.stack(
        [got.both, np.where(a, got.m_l, got.m_r), np.where(a, got.m_r, got.m_l), got.contracted, got.used], axis=1
    )
    table.setflags(write=False)
    return table


class MergeLowerings(NamedTuple):
    """What the lowering of every merge of :func:`merge_lowerings` gives a chain of steps (the
    left subset of each pair as the lhs), one list entry per pair."""

    gemms: NDArray[np.int64]
    """``(pairs, 7)``: the GEMM's fields ``m, n, k, batch, permute_a_elements,
    permute_b_elements, permute_c_elements`` (read-only)."""
    a_is_lhs: list[bool]
    token_dim: list[str]
    """The GEMM dimension holding the activation index (``""``: none)."""
    out_elements: list[int]
    out_tokened: tuple[bool, ...]
    symmetric: tuple[bool, ...]
    """Both operands hold the same index names (A is the lhs in either order)."""


def merge_lowerings(network: TensorNetwork, pairs: Sequence[tuple[int, int]]) -> MergeLowerings | None:
    """For each pair of input subsets (bitmasks), what :func:`merge_gemm`'s lowering of it gives:
    the GEMM with its re-layout volumes, which operand is A, the GEMM dimension of the
    activation index, and the result's elements and whether it holds that index, for every
    pair at once (array operations over index membership, and what depends on index names
    alone once per network structure). None when a product might overflow int64."""
    pairs = tuple(pairs)
    got = _sized(network, pairs)
    if got is None:
        return None
    roles = _merge_roles(network.inputs, network.output, pairs)
    a = got.a_is_lhs
    m, n = np.where(a, got.m_l, got.m_r), np.where(a, got.m_r, got.m_l)
    out = got.both * m * n
    rows, choice = np.arange(len(pairs)), a.astype(np.int64)
    e_a, e_b = np.where(a, got.e_l, got.e_r), np.where(a, got.e_r, got.e_l)
    permute = np.where(roles.relayout[rows, choice], np.stack([e_a, e_b, out], axis=1), 0)
    fields = np.stack([m, n, got.contracted, got.both, permute[:, 0], permute[:, 1], permute[:, 2]], axis=1)
    fields.setflags(write=False)
    return MergeLowerings(
        gemms=fields,
        a_is_lhs=a.tolist(),
        token_dim=[_DIMS[c] for c in roles.token_dim[rows, choice].tolist()],
        out_elements=out.tolist(),
        out_tokened=roles.out_tokened,
        symmetric=roles.symmetric,
    )
