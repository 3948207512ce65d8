"""Path optimizers (one :class:`~dse.contraction._types.PathFn` signature each) and their registry.

- ``exhaustive``: minimum over every binary tree (:func:`~dse.contraction.enumerate_trees`) of
  the summed step cost; practical up to about 8 inputs (135,135 trees).
- ``dp``: exact dynamic programming over subsets of inputs. The result of a subset ``S`` has the
  indices of ``S`` that also appear outside ``S`` or in the output, so the cost of a subtree
  depends only on its leaf set and ``best(S) = min over splits (A, S - A) of best(A) + best(S - A)
  + step(A, S - A)``. By default every split is considered (outer products included), so the
  optimum equals the exhaustive one for any additive step cost; ``dp_connected`` only splits into
  parts that share an index (the opt_einsum convention; disconnected components are then
  joined by outer products, smallest first). Cost ``O(3^n)`` splits. A step cost with a cheap
  ``lower_bound`` (every :class:`~dse.contraction.HardwareCost`) is searched top-down by
  branch and bound instead, so that only splits that can still win are priced (3.2x fewer
  engine calls on TT-BERT); the result is the same exact optimum. Step costs must be >= 0.
- ``greedy``: repeatedly contracts the pair (sharing an index, if any does) with the smallest
  size growth ``|out| - |lhs| - |rhs|``, ties by step cost, then by ids.
- ``mac_optimal``: ``dp`` with the MAC cost whatever ``cost`` is passed (the FLOP baseline).

``memory_limit`` bounds the elements of every intermediate (the final result excluded); paths
breaking it are rejected, and :class:`~dse.contraction.PathError` is raised if none fits.
Ties are broken deterministically (first found in a fixed enumeration order).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from analytical_models import Registry, compiled_module
from dse.contraction._costs import mac_cost, step_bound
from dse.contraction._types import PathFn, SSAPath, StepCost
from dse.contraction.trees import (
    MAX_ENUMERATED_INPUTS,
    Node,
    PathError,
    _splits,
    iter_tree_nodes,
    nodes_to_ssa,
)

EXHAUSTIVE_MAX_INPUTS = 9
"""Largest network ``exhaustive`` accepts (``15!! = 2,027,025`` trees)."""

DP_MAX_INPUTS = 16
"""Largest network ``dp`` accepts (``3^16`` splits)."""


@dataclass(slots=True)
class _Problem:
    """A network in bitmask form, with the kept indices and sizes of every subset memoized."""

    n: int
    output: frozenset[str]
    sizes: dict[str, int]
    holders: dict[str, int]
    memory_limit: int | None
    full: int = 0
    _kept: dict[int, frozenset[str]] = field(default_factory=dict)
    _elements: dict[int, int] = field(default_factory=dict)
    _bits: dict[int, tuple[int, int]] = field(default_factory=dict)
    _index: list[tuple[int, int, int, bool]] = field(default_factory=list)
    _shared: dict[int, int] = field(default_factory=lambda: {0: 1})

    @staticmethod
    def build(
        inputs: list[frozenset[str]],
        output: frozenset[str],
        size_dict: dict[str, int],
        memory_limit: int | None,
    ) -> _Problem:
        n = len(inputs)
        if n < 1:
            raise PathError("a network has at least one input")
        holders: dict[str, int] = {}
        for t, idx in enumerate(inputs):
            for i in idx:
                holders[i] = holders.get(i, 0) | (1 << t)
        missing = set(holders) - set(size_dict)
        if missing:
            raise PathError(f"indices without a size: {sorted(missing)}")
        if memory_limit is not None and memory_limit < 1:
            raise PathError(f"memory_limit must be >= 1 element, got {memory_limit}")
        prob = _Problem(
            n=n,
            output=frozenset(output),
            sizes={i: int(size_dict[i]) for i in holders},
            holders=holders,
            memory_limit=memory_limit,
            full=(1 << n) - 1,
        )
        for t, idx in enumerate(inputs):
            prob._kept[1 << t] = frozenset(idx)
        return prob

    def kept(self, mask: int) -> frozenset[str]:
        """Indices of the tensor that contracts the inputs of ``mask``."""
        got = self._kept.get(mask)
        if got is None:
            outside = self.full ^ mask
            out = self.output
            got = frozenset(i for i, h in self.holders.items() if h & mask and (h & outside or i in out))
            self._kept[mask] = got
        return got

    def kept_bits(self, mask: int) -> tuple[int, int]:
        """:meth:`kept` of ``mask`` as a bitmask over the indices (in ``holders`` order) and the
        product of their sizes (exact)."""
        got = self._bits.get(mask)
        if got is None:  # (an input keeps all of its indices)
            if not self._index:
                out = self.output
                holders = enumerate(self.holders.items())
                self._index.extend((1 << j, h, self.sizes[i], i in out) for j, (i, h) in holders)
            outside = self.full ^ mask if mask & (mask - 1) else self.full
            bits, prod = 0, 1
            for bit, h, size, in_out in self._index:
                if h & mask and (h & outside or in_out):
                    bits |= bit
                    prod *= size
            got = self._bits[mask] = (bits, prod)
        return got

    def union_elements(self, a: tuple[int, int], b: tuple[int, int]) -> int:
        """Product of the sizes of the union of two :meth:`kept_bits` (the MACs of their step):
        ``P(A) * P(B) // P(A & B)``, exact."""
        both = a[0] & b[0]
        shared = self._shared.get(both)
        if shared is None:
            shared = self._shared[both] = math.prod(size for bit, _, size, _ in self._index if both & bit)
        return a[1] * b[1] // shared

    def elements(self, mask: int) -> int:
        got = self._elements.get(mask)
        if got is None:
            got = math.prod(self.sizes[i] for i in self.kept(mask))
            self._elements[mask] = got
        return got

    def fits(self, mask: int) -> bool:
        """True when the tensor of ``mask`` respects the memory limit (inputs and result do)."""
        limit = self.memory_limit
        if limit is None or mask == self.full or mask & (mask - 1) == 0:
            return True
        return self.elements(mask) <= limit

    def step(self, cost: StepCost, a: int, b: int) -> float:
        return float(cost(self.kept(a), self.kept(b), self.kept(a | b), self.sizes))


def _no_fit(name: str, prob: _Problem) -> PathError:
    return PathError(
        f"{name}: no contraction path keeps every intermediate within memory_limit={prob.memory_limit} elements"
    )


def exhaustive(
    inputs: list[frozenset[str]],
    output: frozenset[str],
    size_dict: dict[str, int],
    memory_limit: int | None = None,
    *,
    cost: StepCost | None = None,
) -> SSAPath:
    """Minimum summed step cost over every binary tree (first minimum in enumeration order)."""
    step_cost = mac_cost if cost is None else cost
    prob = _Problem.build(inputs, output, size_dict, memory_limit)
    if prob.n > min(EXHAUSTIVE_MAX_INPUTS, MAX_ENUMERATED_INPUTS):
        raise PathError(f"exhaustive: {prob.n} inputs is too many (limit {EXHAUSTIVE_MAX_INPUTS}); use 'dp'")
    step_of: dict[Node, float] = {}
    for a, b in _all_nodes(prob.full):
        if prob.fits(a) and prob.fits(b):
            step_of[(a, b)] = prob.step(step_cost, a, b)
    best: tuple[Node, ...] | None = None
    best_cost = math.inf
    for nodes in iter_tree_nodes(prob.n):
        total = 0.0
        for node in nodes:
            c = step_of.get(node)
            if c is None:
                break
            total += c
        else:
            if total < best_cost:
                best, best_cost = nodes, total
    if best is None:
        raise _no_fit("exhaustive", prob)
    return nodes_to_ssa(best, prob.n)


def _all_nodes(full: int) -> list[Node]:
    """Every internal node ``(A, B)`` that can appear in a tree over ``full``."""
    out: list[Node] = []
    for s in range(1, full + 1):
        if s & (s - 1) and s & full == s:
            out.extend(_splits(s))
    return out


def _subsets(prob: _Problem, outer_products: bool) -> list[int]:
    """Subsets of 2+ inputs the DP visits, ascending (so every part comes before its whole).

    All of them with outer products; else only the connected ones (tensors linked by shared
    indices), grown one neighbour at a time, which keeps chain-like networks polynomial.
    """
    if outer_products:
        return [s for s in range(3, prob.full + 1) if s & (s - 1)]
    touching = [0] * prob.n
    for h in prob.holders.values():
        for t in range(prob.n):
            if h >> t & 1:
                touching[t] |= h
    seen: set[int] = set()
    frontier = [1 << t for t in range(prob.n)]
    while frontier:
        grown: list[int] = []
        for mask in frontier:
            near = 0
            rest = mask
            while rest:
                low = rest & -rest
                near |= touching[low.bit_length() - 1]
                rest ^= low
            near &= ~mask
            while near:
                low = near & -near
                near ^= low
                bigger = mask | low
                if bigger not in seen:
                    seen.add(bigger)
                    grown.append(bigger)
        frontier = grown
    return sorted(seen)


def _dp_table(prob: _Problem, step_cost: StepCost, outer_products: bool) -> tuple[dict[int, float], dict[int, Node]]:
    """Best cost and best split of every subset that has a valid tree (bottom-up).

    Splits are skipped when ``best(A) + best(B)`` alone cannot beat the best split found so far
    (step costs must be >= 0). Costs with a ``lower_bound`` go through :func:`_bounded_table`.
    """
    bound: StepCost | None = getattr(step_cost, "lower_bound", None)
    if bound is not None:
        return _bounded_table(prob, step_cost, bound, outer_products)
    if step_cost is mac_cost:  # kept indices as bitmasks, the MACs as exact integers
        compiled = _kernel_arrays(prob, outer_products)
        if compiled is not None:
            return _compiled_mac_table(prob, *compiled)
        return _table(
            prob,
            outer_products,
            prob.kept_bits,
            lambda a, b: bool(a[0] & b[0]),
            lambda a, b, _: prob.union_elements(a, b),
        )
    sizes = prob.sizes
    return _table(
        prob,
        outer_products,
        prob.kept,
        lambda a, b: not a.isdisjoint(b),
        lambda a, b, s: float(step_cost(a, b, prob.kept(s), sizes)),
    )


def _table(
    prob: _Problem,
    outer_products: bool,
    kept: Callable[[int], Any],
    linked: Callable[[Any, Any], bool],
    step: Callable[[Any, Any, int], float],
) -> tuple[dict[int, float], dict[int, Node]]:
    """The bottom-up DP of :func:`_dp_table` over the tensors' ``kept`` indices (in whatever
    form ``linked``, whether two tensors share an index, and ``step``, the cost of merging two
    into subset ``s``, read)."""
    best: dict[int, float] = {1 << t: 0.0 for t in range(prob.n)}
    split: dict[int, Node] = {}
    for s in _subsets(prob, outer_products):
        if not prob.fits(s):
            continue
        best_c = math.inf
        best_n: Node | None = None
        for a, b in _splits(s):
            ca = best.get(a)
            if ca is None:
                continue
            cb = best.get(b)
            if cb is None:
                continue
            base = ca + cb
            if base >= best_c:
                continue
            ka, kb = kept(a), kept(b)
            if not outer_products and not linked(ka, kb):
                continue
            c = base + step(ka, kb, s)
            if c < best_c:
                best_c, best_n = c, (a, b)
        if best_n is not None:
            best[s] = best_c
            split[s] = best_n
    return best, split


def _bounded_table(
    prob: _Problem, step_cost: StepCost, bound: StepCost, outer_products: bool
) -> tuple[dict[int, float], dict[int, Node]]:
    """Top-down branch and bound for expensive step costs (e.g. a hardware model).

    ``bound(step) <= step_cost(step)`` is cheap (:func:`~dse.contraction._costs.step_bound` of
    the cost's ``bound_terms`` when it has them: MACs and compulsory traffic); a first bottom-up
    DP with it gives ``low(S)``, a lower bound of the best cost of every subset. The exact search
    then visits the splits of ``S`` by optimistic total ``low(A) + low(B) + bound(A, B)`` and
    stops as soon as that cannot beat the best split found: subsets and steps that cannot be part
    of an optimum are never priced. A step cost with a ``floor`` method (a tighter bound, dearer
    than ``bound`` but cheaper than the cost: :meth:`~dse.contraction.HardwareCost.floor`) has
    it taken before each step is priced. Exact as long as the bounds are valid.
    """
    kept = prob.kept
    sizes = prob.sizes
    terms: tuple[float, float] | None = getattr(step_cost, "bound_terms", None)
    floor: StepCost | None = getattr(step_cost, "floor", None)
    objective = str(getattr(step_cost, "objective", "latency"))
    step_low: dict[Node, float] = {}
    low: dict[int, float] = {1 << t: 0.0 for t in range(prob.n)}
    bits, union = prob.kept_bits, prob.union_elements
    compiled = _kernel_arrays(prob, outer_products) if terms is not None else None
    low_rows: list[list[float]] = []
    if compiled is not None and terms is not None:  # every subset, compiled
        kernel, *arrays = compiled
        low_a, step_a = kernel.bound_table(prob.n, *arrays, *terms, objective != "latency")
        low = dict(enumerate(low_a.tolist()))
        del low[0]  # (no tensor holds no input)
        low_rows = step_a.tolist()
    subsets = _subsets(prob, outer_products) if compiled is None else []  # (else computed above)
    for s in subsets:  # bottom-up DP of the bound: low(S) <= best(S)
        if not prob.fits(s):
            continue
        kept_s = bits(s)
        low_c = math.inf
        for a, b in _splits(s):
            la, lb = low.get(a), low.get(b)
            if la is None or lb is None:
                continue
            ka, kb = bits(a), bits(b)
            if not outer_products and not ka[0] & kb[0]:
                continue
            if terms is not None:
                sl = step_bound(*terms, objective, union(ka, kb), (ka[1], kb[1], kept_s[1]))
            else:
                sl = float(bound(kept(a), kept(b), kept(s), sizes))
            step_low[(a, b)] = sl
            low_c = min(low_c, la + lb + sl)
        if low_c < math.inf:
            low[s] = low_c
    best: dict[int, float] = {1 << t: 0.0 for t in range(prob.n)}
    split: dict[int, Node] = {}
    done: set[int] = set(best)

    def solve(s: int) -> float | None:
        if s in done:
            return best.get(s)
        done.add(s)
        if s not in low:
            return None
        kept_s = kept(s)
        cands: list[tuple[float, int, int, int, float]] = []
        for order, (a, b) in enumerate(_splits(s)):
            sl = low_rows[s][a] if low_rows else step_low.get((a, b))
            if sl is not None:
                cands.append((low[a] + low[b] + sl, order, a, b, sl))
        cands.sort()
        best_c = math.inf
        best_n: Node | None = None
        for optimistic, _, a, b, sl in cands:
            if optimistic >= best_c:
                break
            ca = solve(a)
            cb = solve(b) if ca is not None else None
            if ca is None or cb is None or ca + cb + sl >= best_c:
                continue
            if floor is not None and ca + cb + float(floor(kept(a), kept(b), kept_s, sizes)) >= best_c:
                continue  # (a tighter bound than ``sl``, short of pricing the step)
            c = ca + cb + float(step_cost(kept(a), kept(b), kept_s, sizes))
            if c < best_c:
                best_c, best_n = c, (a, b)
        if best_n is None:
            return None
        best[s] = best_c
        split[s] = best_n
        return best_c

    try:
        solve(prob.full)
        if prob.full not in best and not outer_products:
            for comp in _components(prob):  # disconnected network: solve each component
                solve(comp)
    finally:
        # A recursive closure is a reference cycle (the function holds the cell that holds it):
        # cleared, its tables (up to 4**n floats) are freed now, not left to the cyclic
        # collector, which a study's heap freezes after each trial (dse.study._heap).
        solve = None  # type: ignore[assignment]
    return best, split


KERNEL_MAX_INPUTS = 8
"""Networks of up to this many inputs have their MAC table and bound table computed by the
compiled loops (:mod:`dse.contraction._dp_kernel`; a bound table holds ``4**n`` floats)."""


def _kernel_arrays(prob: _Problem, outer_products: bool) -> tuple[ModuleType, Any, Any, Any] | None:
    """The compiled tables' module and ``(holders, sizes, in_out)`` of ``prob``'s indices, as
    they read them; None when they do not apply (a memory limit, connected subsets only, a network of more than
    :data:`KERNEL_MAX_INPUTS` inputs, a product that might overflow int64, or
    :data:`analytical_models.NO_JIT_ENV` set): the Python loops run instead."""
    if not outer_products or prob.memory_limit is not None or not 1 < prob.n <= KERNEL_MAX_INPUTS:
        return None
    kernel = compiled_module("dse.contraction._dp_kernel")
    if kernel is None or math.prod(prob.sizes.values()) >= 2**60:
        return None
    names = list(prob.holders)
    return (
        kernel,
        np.array([prob.holders[i] for i in names], dtype=np.int64),
        np.array([prob.sizes[i] for i in names], dtype=np.int64),
        np.array([i in prob.output for i in names], dtype=np.bool_),
    )


def _compiled_mac_table(
    prob: _Problem, kernel: ModuleType, holders: Any, sizes: Any, in_out: Any
) -> tuple[dict[int, float], dict[int, Node]]:
    """:func:`_table` with the MAC cost over every subset, from the compiled loop."""
    best_a, split_a = kernel.mac_table(prob.n, holders, sizes, in_out)
    best = dict(enumerate(best_a.tolist()))
    del best[0]
    split = {s: (a, s ^ a) for s, a in enumerate(split_a.tolist()) if s & (s - 1)}
    return best, split


def _nodes_from_split(split: dict[int, Node], mask: int) -> list[Node]:
    if mask & (mask - 1) == 0:
        return []
    a, b = split[mask]
    return [*_nodes_from_split(split, a), *_nodes_from_split(split, b), (a, b)]


def _components(prob: _Problem) -> list[int]:
    """Connected components of the tensor graph (tensors sharing an index), as masks."""
    comps: list[int] = []
    seen = 0
    for t in range(prob.n):
        if seen >> t & 1:
            continue
        comp = 1 << t
        grow = True
        while grow:
            grow = False
            for h in prob.holders.values():
                if h & comp and h & ~comp:
                    comp |= h
                    grow = True
        comps.append(comp)
        seen |= comp
    return comps


def _dp(
    inputs: list[frozenset[str]],
    output: frozenset[str],
    size_dict: dict[str, int],
    memory_limit: int | None,
    cost: StepCost | None,
    *,
    outer_products: bool,
    name: str,
) -> SSAPath:
    step_cost = mac_cost if cost is None else cost
    prob = _Problem.build(inputs, output, size_dict, memory_limit)
    if prob.n > DP_MAX_INPUTS:
        raise PathError(f"{name}: {prob.n} inputs is too many (limit {DP_MAX_INPUTS}); use 'greedy'")
    if prob.n == 1:
        return ()
    best, split = _dp_table(prob, step_cost, outer_products)
    if prob.full in best:
        return nodes_to_ssa(_nodes_from_split(split, prob.full), prob.n)
    if outer_products:
        raise _no_fit(name, prob)
    comps = _components(prob)
    if any(c not in best for c in comps):
        raise _no_fit(name, prob)
    nodes: list[Node] = []
    for c in comps:
        nodes.extend(_nodes_from_split(split, c))
    live = sorted(comps, key=lambda c: (prob.elements(c), c))
    while len(live) > 1:
        a, b = live[0], live[1]
        if not prob.fits(a | b):
            raise _no_fit(name, prob)
        nodes.append((a, b))
        live = sorted([a | b, *live[2:]], key=lambda c: (prob.elements(c), c))
    return nodes_to_ssa(nodes, prob.n)


def dp(
    inputs: list[frozenset[str]],
    output: frozenset[str],
    size_dict: dict[str, int],
    memory_limit: int | None = None,
    *,
    cost: StepCost | None = None,
) -> SSAPath:
    """Exact subset DP over every binary tree (outer products included); equals ``exhaustive``."""
    return _dp(inputs, output, size_dict, memory_limit, cost, outer_products=True, name="dp")


def dp_connected(
    inputs: list[frozenset[str]],
    output: frozenset[str],
    size_dict: dict[str, int],
    memory_limit: int | None = None,
    *,
    cost: StepCost | None = None,
) -> SSAPath:
    """Subset DP over connected subsets only (no outer product inside a connected component)."""
    return _dp(inputs, output, size_dict, memory_limit, cost, outer_products=False, name="dp_connected")


def mac_optimal(
    inputs: list[frozenset[str]],
    output: frozenset[str],
    size_dict: dict[str, int],
    memory_limit: int | None = None,
    *,
    cost: StepCost | None = None,
) -> SSAPath:
    """The MAC-optimal path (``dp`` with :data:`mac_cost`); ``cost`` is ignored."""
    return _dp(inputs, output, size_dict, memory_limit, mac_cost, outer_products=True, name="mac_optimal")


def greedy(
    inputs: list[frozenset[str]],
    output: frozenset[str],
    size_dict: dict[str, int],
    memory_limit: int | None = None,
    *,
    cost: StepCost | None = None,
) -> SSAPath:
    """Pairwise greedy: smallest size growth, then smallest step cost, then smallest ids."""
    step_cost = mac_cost if cost is None else cost
    prob = _Problem.build(inputs, output, size_dict, memory_limit)
    live: dict[int, int] = {t: 1 << t for t in range(prob.n)}  # ssa id -> mask
    steps: list[tuple[int, int]] = []
    next_id = prob.n
    while len(live) > 1:
        ids = sorted(live)
        pairs = [(i, j) for x, i in enumerate(ids) for j in ids[x + 1 :]]
        connected = [(i, j) for i, j in pairs if not prob.kept(live[i]).isdisjoint(prob.kept(live[j]))]
        best_key: tuple[float, float, int, int] | None = None
        for i, j in connected or pairs:
            a, b = live[i], live[j]
            if not prob.fits(a | b):
                continue
            grow = prob.elements(a | b) - prob.elements(a) - prob.elements(b)
            key = (float(grow), prob.step(step_cost, a, b), i, j)
            if best_key is None or key < best_key:
                best_key = key
        if best_key is None:
            raise _no_fit("greedy", prob)
        i, j = best_key[2], best_key[3]
        steps.append((i, j))
        live[next_id] = live.pop(i) | live.pop(j)
        next_id += 1
    return tuple(steps)


PATH_OPTIMIZERS: Registry[PathFn] = Registry("path optimizer", error=PathError)
"""Path optimizers by name (``policy.path_optimizer`` of a space, ``dse paths --optimizer``)."""


def register_path_fn(name: str, fn: PathFn) -> None:
    """Make ``fn`` available as optimizer ``name`` (a second registration of a name is refused)."""
    PATH_OPTIMIZERS.register(name, fn)


def get_path_fn(name: str) -> PathFn:
    """The optimizer registered as ``name``.

    Raises:
        PathError: naming the registered optimizers when ``name`` is unknown.
    """
    return PATH_OPTIMIZERS.get(name)


def path_fn_names() -> tuple[str, ...]:
    """Names of the registered optimizers."""
    return PATH_OPTIMIZERS.names()


_BUILTIN: dict[str, Callable[..., SSAPath]] = {
    "exhaustive": exhaustive,
    "dp": dp,
    "dp_connected": dp_connected,
    "greedy": greedy,
    "mac_optimal": mac_optimal,
}
for _name, _fn in _BUILTIN.items():
    register_path_fn(_name, _fn)
