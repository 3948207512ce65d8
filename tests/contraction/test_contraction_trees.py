from __future__ import annotations

import pytest

from dse.contraction import PathError, count_trees, enumerate_trees, left_to_right_path, ssa_to_tree
from dse.contraction.trees import ssa_to_nodes


@pytest.mark.parametrize(("n", "expected"), [(1, 1), (2, 1), (3, 3), (4, 15), (5, 105), (6, 945), (7, 10395)])
def test_count_trees(n: int, expected: int) -> None:
    assert count_trees(n) == expected


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7])
def test_enumerate_trees_distinct_and_complete(n: int) -> None:
    paths = list(enumerate_trees(n))
    assert len(paths) == count_trees(n)

    # distinct as trees (unordered children), not just as SSA sequences
    def canon(t: object) -> object:
        if isinstance(t, int):
            return t
        assert isinstance(t, tuple)
        a, b = canon(t[0]), canon(t[1])
        return frozenset([a, b])

    trees = {canon(ssa_to_tree(p, n)) for p in paths}
    assert len(trees) == len(paths)
    for p in paths:
        assert len(ssa_to_nodes(p, n)) == n - 1


def test_enumeration_is_deterministic() -> None:
    assert list(enumerate_trees(5)) == list(enumerate_trees(5))


def test_left_to_right_path() -> None:
    assert left_to_right_path(1) == ()
    assert left_to_right_path(2) == ((0, 1),)
    assert left_to_right_path(5) == ((0, 1), (5, 2), (6, 3), (7, 4))
    assert left_to_right_path(4) in set(enumerate_trees(4))


@pytest.mark.parametrize("path", [((0, 1),), ((0, 1), (0, 2)), ((0, 1), (3, 5)), ((0, 0), (1, 2)), ((0, 1, 2), (3, 4))])
def test_invalid_paths_raise(path: tuple[tuple[int, ...], ...]) -> None:
    with pytest.raises(PathError):
        ssa_to_nodes(path, 3)


def test_count_trees_rejects_zero() -> None:
    with pytest.raises(PathError):
        count_trees(0)
