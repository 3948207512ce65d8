"""Binary contraction trees: enumeration, counting and conversion to SSA paths.

A contraction of ``n`` tensors by pairwise steps is a full binary tree whose leaves are the
``n`` inputs. There are ``(2n - 3)!!`` such trees (1, 3, 15, 105, 945 for n = 2 .. 6).

Trees are handled internally as bitmasks: the node that contracts the leaf set ``S`` is the
integer with bit ``i`` set for every input ``i`` in ``S``. Every tree is enumerated exactly once
by splitting each set ``S`` into ``(A, S - A)`` where ``A`` holds the lowest leaf of ``S``.

The SSA form of a tree lists its internal nodes in post-order, the subtree holding the lowest
leaf first, each step as ``(id of that subtree, id of the other)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Union

from dse import DSEError
from dse.contraction._types import SSAPath

Tree = Union[int, tuple["Tree", "Tree"]]  # noqa: UP007  (recursive alias needs the Union form)
"""A leaf id, or a pair of subtrees."""

Node = tuple[int, int]
"""An internal node as the bitmasks of its two children."""

MAX_ENUMERATED_INPUTS = 10
"""Largest network whose trees :func:`enumerate_trees` lists (``17!! = 34,459,425`` trees)."""


class PathError(DSEError, ValueError):
    """A contraction path is malformed, or no path satisfies the constraints (a user error)."""


def count_trees(n: int) -> int:
    """Number of distinct binary contraction trees of ``n`` inputs: ``(2n - 3)!!``, 1 for n = 1.

    Raises:
        PathError: when ``n < 1``.
    """
    if n < 1:
        raise PathError(f"a network has at least one input, got n={n}")
    count = 1
    for k in range(3, 2 * n - 2, 2):
        count *= k
    return count


def _splits(mask: int) -> Iterator[tuple[int, int]]:
    """Unordered splits ``(A, B)`` of ``mask`` into two non-empty parts, ``A`` with the lowest bit.

    The order is deterministic: ``A`` starts as all of ``mask`` but one bit and shrinks.
    """
    low = mask & -mask
    rest = mask ^ low
    sub = (rest - 1) & rest  # proper submasks of rest, largest first, ending with 0
    while True:
        a = low | sub
        yield a, mask ^ a
        if sub == 0:
            return
        sub = (sub - 1) & rest


@lru_cache(maxsize=4096)
def _tree_nodes(mask: int) -> tuple[tuple[Node, ...], ...]:
    """Every tree over the leaves of ``mask``, each as its internal nodes in post-order."""
    if mask & (mask - 1) == 0:
        return ((),)
    out: list[tuple[Node, ...]] = []
    for a, b in _splits(mask):
        for ta in _tree_nodes(a):
            for tb in _tree_nodes(b):
                out.append((*ta, *tb, (a, b)))
    return tuple(out)


def iter_tree_nodes(n: int) -> Iterator[tuple[Node, ...]]:
    """Every tree of ``n`` inputs as its internal nodes (bitmask pairs) in post-order.

    Lazy at the top level; subtrees are memoized.
    """
    if n < 1:
        raise PathError(f"a network has at least one input, got n={n}")
    full = (1 << n) - 1
    if n == 1:
        yield ()
        return
    for a, b in _splits(full):
        for ta in _tree_nodes(a):
            for tb in _tree_nodes(b):
                yield (*ta, *tb, (a, b))


def nodes_to_ssa(nodes: Sequence[Node], n: int) -> SSAPath:
    """SSA path of a tree given by its internal nodes in post-order (children before parents)."""
    ids: dict[int, int] = {1 << i: i for i in range(n)}
    steps: list[tuple[int, int]] = []
    for a, b in nodes:
        steps.append((ids.pop(a), ids.pop(b)))
        ids[a | b] = n + len(steps) - 1
    return tuple(steps)


def enumerate_trees(n: int) -> Iterator[SSAPath]:
    """Every distinct binary contraction tree of ``n`` inputs, exactly once, as an SSA path.

    Raises:
        PathError: when ``n < 1`` or ``n > MAX_ENUMERATED_INPUTS``.
    """
    if n > MAX_ENUMERATED_INPUTS:
        raise PathError(f"{count_trees(n)} trees for n={n}; enumeration is limited to n <= {MAX_ENUMERATED_INPUTS}")
    for nodes in iter_tree_nodes(n):
        yield nodes_to_ssa(nodes, n)


def ssa_to_nodes(path: Sequence[Sequence[int]], n: int) -> tuple[Node, ...]:
    """Internal nodes (bitmask pairs) of an SSA path, in step order; validates the path.

    Raises:
        PathError: when an id is out of range or reused, or the path does not end in one tensor.
    """
    if n < 1:
        raise PathError(f"a network has at least one input, got n={n}")
    if len(path) != n - 1:
        raise PathError(f"a path over {n} inputs has {n - 1} steps, got {len(path)}")
    masks: dict[int, int] = {i: 1 << i for i in range(n)}
    nodes: list[Node] = []
    for s, step in enumerate(path):
        if len(step) != 2:
            raise PathError(f"step {s} must be a pair of ids, got {tuple(step)}")
        i, j = int(step[0]), int(step[1])
        if i == j or i not in masks or j not in masks:
            raise PathError(f"step {s} ({i}, {j}) uses an id that does not exist yet or was already used")
        a, b = masks.pop(i), masks.pop(j)
        nodes.append((a, b))
        masks[n + s] = a | b
    return tuple(nodes)


def ssa_to_tree(path: Sequence[Sequence[int]], n: int) -> Tree:
    """The nested-pair tree of a validated SSA path (leaves are input ids)."""
    ssa_to_nodes(path, n)
    trees: dict[int, Tree] = {i: i for i in range(n)}
    for s, (i, j) in enumerate(path):
        trees[n + s] = (trees.pop(int(i)), trees.pop(int(j)))
    (root,) = trees.values()
    return root


def left_to_right_path(n: int) -> SSAPath:
    """The naive sweep ``((0, 1), (n, 2), (n + 1, 3), ...)``."""
    if n < 1:
        raise PathError(f"a network has at least one input, got n={n}")
    if n == 1:
        return ()
    steps = [(0, 1)]
    for k in range(2, n):
        steps.append((n + k - 2, k))
    return tuple(steps)
