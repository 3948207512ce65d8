"""Lowering of one pairwise contraction to a batched GEMM (an ``analytical_models.Gemm``).

Index roles, for a step ``lhs x rhs -> kept``:

- **batch**: in both operands and kept;
- **K** (reduction): in both operands and not kept;
- **M**: only in operand A and kept; **N**: only in operand B and kept;
- an index in only one operand and not kept (a plain sum, rare in layer networks) is folded into
  K: the other operand is read broadcast along it, so the GEMM's MACs equal the step's MACs
  (``prod`` of the sizes of all indices of ``lhs | rhs``), exactly what :func:`mac_cost` counts.

Which operand is A (the ifmap) and which is B (the filter), deterministically and independently
of the lhs / rhs order (so a step cost is a function of the index *sets*):

1. the operand holding the activation index ``"b"`` (:data:`ACTIVATION_INDEX`) if only one does;
2. else the operand with more elements;
3. else the operand whose canonical index tuple sorts first.

Layout rule: every tensor (input, intermediate, result) is stored with its indices in the
**canonical order**, the natural sort of the index names (letters, then the integer suffix:
``b, m1, m2, .., m10, n1, .., r1, ..``); for the shipped formats this is
``b, m_1..m_d, n_1..n_d, r_1..r_{d-1}``. The GEMM needs A as ``[batch][M][K]``, B as
``[batch][K][N]`` and produces C as ``[batch][M][N]``, each group in canonical order. A tensor
needs a re-layout (tensor shaping) when the sequence of its index groups in canonical order is
not already ``batch* M* K*`` (A), ``batch* K* N*`` (B) or ``batch* M* N*`` (C); it is then counted
in full in ``permute_{a,b,c}_elements``. Because the canonical order depends only on the index
names, the whole lowering, and any cost derived from it, depends only on the three index sets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from analytical_models import Gemm, quick_init

ACTIVATION_INDEX = "b"
"""Index name of the token / batch dimension; the operand holding it becomes GEMM operand A."""

_NAME = re.compile(r"^(.*?)(\d*)$")

Names = tuple[str, ...]


@lru_cache(maxsize=8192)
def index_sort_key(name: str) -> tuple[str, int, str]:
    """Natural sort key of an index name: ``("m", 10, "m10")`` sorts after ``("m", 2, "m2")``."""
    match = _NAME.match(name)
    prefix, digits = (match.group(1), match.group(2)) if match else (name, "")
    return (prefix, int(digits) if digits else -1, name)


def canonical_order(indices: Iterable[str]) -> tuple[str, ...]:
    """Indices in the canonical storage order (natural sort of their names)."""
    return tuple(sorted(set(indices), key=index_sort_key))


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Lowered:
    """One pairwise step as a batched GEMM ``C[batch, M, N] = sum_K A[batch, M, K] B[batch, K, N]``.

    Attributes:
        gemm: the GEMM sizes and the re-layout volume of each operand and of the result.
        a_is_lhs: True when operand A is the step's lhs.
        a_indices: indices of operand A, canonical order.
        b_indices: indices of operand B, canonical order.
        batch_indices: batch indices (canonical order).
        m_indices: M indices (only in A, kept).
        n_indices: N indices (only in B, kept).
        k_indices: reduced indices, including indices summed out of a single operand.
        out_indices: indices of the result, canonical order.
        a_permutation: ``np.transpose`` axes taking A from canonical order to ``[batch][M][K]``.
        b_permutation: axes taking B from canonical order to ``[batch][K][N]``.
        c_permutation: axes taking C from ``[batch][M][N]`` to its canonical order.
    """

    gemm: Gemm
    a_is_lhs: bool
    a_indices: tuple[str, ...]
    b_indices: tuple[str, ...]
    batch_indices: tuple[str, ...]
    m_indices: tuple[str, ...]
    n_indices: tuple[str, ...]
    k_indices: tuple[str, ...]
    out_indices: tuple[str, ...]
    a_permutation: tuple[int, ...]
    b_permutation: tuple[int, ...]
    c_permutation: tuple[int, ...]

    @property
    def macs(self) -> int:
        """MACs of the GEMM (equal to the step's MACs)."""
        return self.gemm.macs

    @property
    def activation_dim(self) -> str:
        """The GEMM dimension holding the activation index (:func:`activation_dim`)."""
        return activation_dim(self.batch_indices, self.m_indices, self.n_indices, self.k_indices)


def _prod(indices: Iterable[str], sizes: Mapping[str, int]) -> int:
    return math.prod(int(sizes[i]) for i in indices)


def _needs_relayout(stored: tuple[str, ...], groups: tuple[tuple[str, ...], ...]) -> bool:
    """True when ``stored`` is not the concatenation of ``groups`` (ignoring absent indices)."""
    wanted = tuple(i for g in groups for i in g if i in stored)
    return wanted != stored


def _permutation(source: tuple[str, ...], target: tuple[str, ...]) -> tuple[int, ...]:
    pos = {name: p for p, name in enumerate(source)}
    return tuple(pos[i] for i in target)


def _a_first(lhs: tuple[str, ...], rhs: tuple[str, ...], sizes: Mapping[str, int]) -> bool:
    lb, rb = ACTIVATION_INDEX in lhs, ACTIVATION_INDEX in rhs
    if lb != rb:
        return lb
    le, re_ = _prod(lhs, sizes), _prod(rhs, sizes)
    if le != re_:
        return le > re_
    return [index_sort_key(i) for i in lhs] <= [index_sort_key(i) for i in rhs]


def activation_dim(batch: Names, m: Names, n: Names, k: Names) -> str:
    """The GEMM dimension (``batch``, ``m``, ``n`` or ``k``) whose index group holds the
    activation index :data:`ACTIVATION_INDEX`; ``""`` when none does."""
    for name, group in (("batch", batch), ("m", m), ("n", n), ("k", k)):
        if ACTIVATION_INDEX in group:
            return name
    return ""


def lower_step(
    lhs: Iterable[str],
    rhs: Iterable[str],
    kept: Collection[str],
    sizes: Mapping[str, int],
) -> Lowered:
    """Lower the pairwise step ``lhs x rhs -> kept`` to a batched GEMM.

    The order of ``lhs`` and ``rhs`` (and of the indices within them) does not matter: tensors are
    taken in canonical order and operand A is chosen by the rule of this module's docstring.

    Args:
        lhs: indices of one operand.
        rhs: indices of the other operand.
        kept: indices of the result (a subset of ``lhs | rhs``).
        sizes: size of every index.

    Raises:
        ValueError: when ``kept`` holds an index of neither operand.
    """
    lt, rt = canonical_order(lhs), canonical_order(rhs)
    kept_set = frozenset(kept)
    if not kept_set <= set(lt) | set(rt):
        raise ValueError(f"kept indices {sorted(kept_set - set(lt) - set(rt))} are in no operand")
    return lower_canonical(lt, rt, kept_set, sizes)


def lower_canonical(lt: Names, rt: Names, kept_set: frozenset[str], sizes: Mapping[str, int]) -> Lowered:
    """:func:`lower_step` of operands already in canonical order (``lt``, ``rt``) and a result
    ``kept_set`` that is a subset of their indices (not checked)."""
    a_is_lhs = _a_first(lt, rt, sizes)
    a, b, groups, relayout, perms = _structure(lt, rt, kept_set, a_is_lhs)
    batch, m, n, k, out = groups
    gemm = Gemm(
        m=_prod(m, sizes),
        n=_prod(n, sizes),
        k=_prod(k, sizes),
        batch=_prod(batch, sizes),
        permute_a_elements=_prod(a, sizes) if relayout[0] else 0,
        permute_b_elements=_prod(b, sizes) if relayout[1] else 0,
        permute_c_elements=_prod(out, sizes) if relayout[2] else 0,
    )
    return Lowered(
        gemm=gemm,
        a_is_lhs=a_is_lhs,
        a_indices=a,
        b_indices=b,
        batch_indices=batch,
        m_indices=m,
        n_indices=n,
        k_indices=k,
        out_indices=out,
        a_permutation=perms[0],
        b_permutation=perms[1],
        c_permutation=perms[2],
    )


@lru_cache(maxsize=65_536)
def _structure(
    lt: Names, rt: Names, kept_set: frozenset[str], a_is_lhs: bool
) -> tuple[Names, Names, tuple[Names, ...], tuple[bool, bool, bool], tuple[tuple[int, ...], ...]]:
    """What a lowering takes from the index names alone (not their sizes): operands A and B,
    the (batch, M, N, K, result) index groups, whether A, B and C need a re-layout, and the
    three permutations. Cached: layers of one format share their index names whatever their
    ranks and shapes."""
    a, b, groups, relayout = _groups(lt, rt, kept_set, a_is_lhs)
    batch, m, n, k, out = groups
    aset, bset = set(a), set(b)
    a_req = tuple(i for i in (*batch, *m, *k) if i in aset)
    b_req = tuple(i for i in (*batch, *k, *n) if i in bset)
    c_req = (*batch, *m, *n)
    perms = (_permutation(a, a_req), _permutation(b, b_req), _permutation(c_req, out))
    return a, b, groups, relayout, perms


@lru_cache(maxsize=65_536)
def _groups(
    lt: Names, rt: Names, kept_set: frozenset[str], a_is_lhs: bool
) -> tuple[Names, Names, tuple[Names, ...], tuple[bool, bool, bool]]:
    """:func:`_structure` without the permutations (what :func:`~dse.contraction.merge_roles`
    reads); cached as it is."""
    a, b = (lt, rt) if a_is_lhs else (rt, lt)
    aset, bset = set(a), set(b)
    batch = tuple(i for i in a if i in bset and i in kept_set)
    m = tuple(i for i in a if i not in bset and i in kept_set)
    n = tuple(i for i in b if i not in aset and i in kept_set)
    k = canonical_order(i for i in (*a, *b) if i not in kept_set)
    out = canonical_order(kept_set)
    relayout = (_needs_relayout(a, (batch, m, k)), _needs_relayout(b, (batch, k, n)), (*batch, *m, *n) != out)
    return a, b, (batch, m, n, k, out), relayout


@lru_cache(maxsize=16_384)
def lower_sets(
    lhs: frozenset[str],
    rhs: frozenset[str],
    kept: frozenset[str],
    sizes: tuple[tuple[str, int], ...],
) -> Lowered:
    """:func:`lower_step` cached by value (``sizes`` as sorted pairs of the step's indices)."""
    return lower_step(lhs, rhs, kept, dict(sizes))
