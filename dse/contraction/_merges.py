"""Every merge of two input subsets of a network at once: the GEMM each lowers to, from index
membership in a few array operations instead of one lowering per merge (what a search over a
network's trees reads before it builds any plan).

A merge is a pair of input subsets (bitmasks over the network's inputs); its operands are the
tensors holding them (:func:`~dse.contraction._plan._held`) and its result keeps the indices the
rest of the network still needs. The lowering's rules (:mod:`dse.contraction._lowering`) become
array operations over index membership: the index groups (batch: held by both and kept; M and
N: by one of them and kept; K: not kept), operand A (the one holding the activation index, else
the larger, else by index names) and the re-layouts. What depends on index names alone (the
name rule, the re-layouts, which group holds the activation index) is computed per merge a
search uses and cached by the names (:func:`merge_roles`): networks of one format and pass share
it whatever their sizes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from dse.contraction._lowering import ACTIVATION_INDEX, _groups, activation_dim, canonical_order, index_sort_key
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
    ``(indices, 7, pairs)`` boolean array (read-only; the index axis first, so that a product
    over the indices is one vectorised multiply per index): the indices each operand holds (what
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
    by_index = np.ascontiguousarray(np.moveaxis(masks, 2, 0))
    by_index.setflags(write=False)
    return by_index


class MergeRoles(NamedTuple):
    """What the lowering of one merge takes from index names alone, given which operand is A."""

    symmetric: bool
    """Both operands hold the same index names: A is the lhs whichever order they come in."""
    out_tokened: bool
    """The result holds the activation index."""
    relayout: tuple[bool, bool, bool]
    """Whether A, B and C need a re-layout."""
    token_dim: str
    """The GEMM dimension holding the activation index (``batch``, ``m``, ``n``, ``k``; ``""``
    for none)."""


@lru_cache(maxsize=65_536)  # networks of one format and pass share it, whatever their sizes
def merge_roles(
    inputs: tuple[tuple[str, ...], ...], output: tuple[str, ...], a: int, b: int, a_is_lhs: bool
) -> MergeRoles:
    """:class:`MergeRoles` of the merge of input subsets ``a`` (lhs) and ``b``."""
    _, _, _, lt, rt, kept, _ = _merge_names(inputs, output, a, b)
    _, _, (batch, m, n, k, _), relayout = _groups(lt, rt, kept, a_is_lhs)
    return MergeRoles(lt == rt, ACTIVATION_INDEX in kept, relayout, activation_dim(batch, m, n, k))


class RolesTable(NamedTuple):
    """:func:`merge_roles` of every merge of a list, both ways round (:func:`merge_roles_table`;
    read-only arrays, ``M`` merges; axis 0 of the first two: operand A the right subset (0) or
    the left one (1))."""

    relayout: NDArray[np.bool_]
    """``(2, M, 3)``: whether A, B and C need a re-layout."""
    column: NDArray[np.int64]
    """``(2, M)``: the GEMM dimension holding the activation index (0 batch, 1 m, 2 n, 3 k; -1
    none)."""
    out_tokened: NDArray[np.bool_]
    """``(M,)``: the result holds the activation index."""
    symmetric: NDArray[np.bool_]
    """``(M,)``: both operands hold the same index names."""


@lru_cache(maxsize=256)  # networks of one format and pass share it, whatever their sizes
def merge_roles_table(inputs: tuple[tuple[str, ...], ...], output: tuple[str, ...], pairs: Pairs) -> RolesTable:
    """:func:`merge_roles` of every pair of input subsets (bitmasks) of a network of these index
    names, with operand A either subset, in array operations over index membership instead of
    one lowering per merge (tested equal). Along the canonical order of the index names, an
    operand is stored as the GEMM reads it when its index groups come in the GEMM's order (A:
    batch, M, K; B: batch, K, N; C: batch, M, N): the groups' labels never decrease."""
    names = canonical_order(i for idx in (*inputs, output) for i in idx)
    masks = _merge_masks(names, inputs, output, pairs)  # (indices in canonical order, 7, pairs)
    lhs, rhs = masks[:, 0].T, masks[:, 1].T
    kept = (masks[:, 6] & ~masks[:, 5]).T  # (pairs, indices): what the result keeps
    relayout = np.zeros((2, len(pairs), 3), dtype=np.bool_)
    column = np.full((2, len(pairs)), -1, dtype=np.int64)
    token = names.index(ACTIVATION_INDEX) if ACTIVATION_INDEX in names else -1
    for lhs_is_a in (0, 1):
        a, b = (lhs, rhs) if lhs_is_a else (rhs, lhs)
        labels = (
            (a, np.where(b & kept, 0, np.where(kept, 1, 2))),  # A: batch, M, K
            (b, np.where(a & kept, 0, np.where(kept, 2, 1))),  # B: batch, K, N
            (kept, np.where(a & b, 0, np.where(a, 1, 2))),  # C: batch, M, N
        )
        for x, (held, label) in enumerate(labels):
            seen = np.maximum.accumulate(np.where(held, label, -1), axis=1)
            relayout[lhs_is_a, :, x] = (held & (label != seen)).any(axis=1)
        if token >= 0:
            ta, tb, tk = a[:, token], b[:, token], kept[:, token]
            column[lhs_is_a] = np.where(tk, np.where(ta & tb, 0, np.where(ta, 1, 2)), np.where(ta | tb, 3, -1))
    out_tokened = kept[:, token] if token >= 0 else np.zeros(len(pairs), dtype=np.bool_)
    table = RolesTable(relayout, column, np.ascontiguousarray(out_tokened), (lhs == rhs).all(axis=1))
    for arr in table:
        arr.setflags(write=False)
    return table


def _name_rule(inputs: tuple[tuple[str, ...], ...], output: tuple[str, ...], a: int, b: int) -> bool:
    """The lowering's last rule for operand A: the lhs's canonical index tuple sorts first."""
    _, _, _, lt, rt, _, _ = _merge_names(inputs, output, a, b)
    return [index_sort_key(i) for i in lt] <= [index_sort_key(i) for i in rt]


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


@lru_cache(maxsize=1024)  # merge_dims and merge_lowerings of one network (at 256, 18 % of misses were evicted)
def _sized(network: TensorNetwork, pairs: Pairs) -> _Sized | None:
    """:class:`_Sized` of every pair; None when a product might overflow int64."""
    if math.prod(s for _, s in network.sizes) >= _INT64_SAFE:
        return None
    names = tuple(i for i, _ in network.sizes)
    sizes = np.array([s for _, s in network.sizes], dtype=np.int64)
    masks = _merge_masks(names, network.inputs, network.output, pairs)
    products = np.where(masks, sizes[:, None, None], 1).prod(axis=0)  # (exact: below 2**62)
    e_l, e_r, m_l, m_r, both, contracted, used = products
    a_is_lhs = e_l > e_r
    if ACTIVATION_INDEX in names:
        where = names.index(ACTIVATION_INDEX)
        act_l, act_r = masks[where, 0], masks[where, 1]
        a_is_lhs = np.where(act_l != act_r, act_l, a_is_lhs)
        ties = (act_l == act_r) & (e_l == e_r)
    else:
        ties = e_l == e_r
    for j in np.flatnonzero(ties).tolist():  # equal sizes: the rule on index names decides
        a_is_lhs[j] = _name_rule(network.inputs, network.output, *pairs[j])
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


class MergeStep(NamedTuple):
    """What the lowering of one merge gives a chain of steps (the pair's left subset as lhs)."""

    gemm: tuple[int, int, int, int, int, int, int]
    """The GEMM's fields: ``m, n, k, batch, permute_a_elements, permute_b_elements,
    permute_c_elements``."""
    a_is_lhs: bool
    token_dim: str
    """The GEMM dimension holding the activation index (``""``: none)."""
    out_elements: int
    out_tokened: bool
    symmetric: bool
    """Both operands hold the same index names (A is the lhs in either order)."""


class MergeLowerings(NamedTuple):
    """The sizes of the lowering of every merge of :func:`merge_lowerings` (what depends on index
    names alone is read per merge, :meth:`step`)."""

    inputs: tuple[tuple[str, ...], ...]
    output: tuple[str, ...]
    pairs: Pairs
    sizes: NDArray[np.int64]
    """``(pairs, 7)``: the GEMM's ``m, n, k, batch``, the elements of operands A and B and of
    the result (read-only)."""
    a_is_lhs: list[bool]

    def step(self, row: int) -> MergeStep:
        """The lowering of merge ``row``: the GEMM with its re-layouts, operand A, the activation
        index's GEMM dimension, the result's elements and whether it holds that index."""
        a_is_lhs = self.a_is_lhs[row]
        roles = merge_roles(self.inputs, self.output, *self.pairs[row], a_is_lhs)
        m, n, k, batch, e_a, e_b, out = self.sizes[row].tolist()
        ra, rb, rc = roles.relayout
        gemm = (m, n, k, batch, e_a if ra else 0, e_b if rb else 0, out if rc else 0)
        return MergeStep(gemm, a_is_lhs, roles.token_dim, out, roles.out_tokened, roles.symmetric)


def merge_lowerings(network: TensorNetwork, pairs: Sequence[tuple[int, int]]) -> MergeLowerings | None:
    """For each pair of input subsets (bitmasks), what :func:`merge_gemm`'s lowering of it gives
    (:meth:`MergeLowerings.step`): its sizes and operand A for every pair at once, in array
    operations over index membership; what depends on index names alone per merge, cached by
    the names (:func:`merge_roles`). None when a product might overflow int64."""
    pairs = tuple(pairs)
    got = _sized(network, pairs)
    if got is None:
        return None
    a = got.a_is_lhs
    m, n = np.where(a, got.m_l, got.m_r), np.where(a, got.m_r, got.m_l)
    e_a, e_b = np.where(a, got.e_l, got.e_r), np.where(a, got.e_r, got.e_l)
    sizes = np.stack([m, n, got.contracted, got.both, e_a, e_b, got.both * m * n], axis=1)
    sizes.setflags(write=False)
    return MergeLowerings(network.inputs, network.output, pairs, sizes, a.tolist())
