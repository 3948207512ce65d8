"""Pareto filter and hypervolume against brute-force oracles."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dse.pareto import hypervolume, normalized_hypervolume, pareto_mask


def _brute_front(v: np.ndarray) -> np.ndarray:
    n = len(v)
    keep = np.ones(n, dtype=bool)
    for i, j in itertools.product(range(n), range(n)):
        if i != j and np.all(v[j] <= v[i]) and np.any(v[j] < v[i]):
            keep[i] = False
    return keep


points = arrays(
    np.float64,
    st.tuples(st.integers(1, 25), st.integers(2, 3)),
    elements=st.integers(0, 6).map(float),
)


@given(points)
@settings(max_examples=150, deadline=None)
def test_pareto_mask_matches_brute_force(v: np.ndarray) -> None:
    assert np.array_equal(pareto_mask(v), _brute_front(v))


@given(points)
@settings(max_examples=100, deadline=None)
def test_front_members_are_not_dominated_and_others_are(v: np.ndarray) -> None:
    mask = pareto_mask(v)
    assert mask.any()
    for i in np.flatnonzero(~mask):
        assert any(np.all(v[j] <= v[i]) and np.any(v[j] < v[i]) for j in np.flatnonzero(mask))


def test_constrained_domination_prefers_feasible() -> None:
    v = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 0.5]])
    viol = np.array([0.5, 0.0, 0.0])
    assert pareto_mask(v, viol).tolist() == [False, True, True]
    # nothing feasible: the least violation wins
    assert pareto_mask(v, np.array([0.5, 0.2, 0.9])).tolist() == [False, True, False]


def _hv_monte_carlo_grid(v: np.ndarray, ref: np.ndarray) -> float:
    # exact on an integer grid: count unit cells dominated by some point
    m = v.shape[1]
    cells = itertools.product(*[range(int(r)) for r in ref])
    total = 0
    for c in cells:
        corner = np.array(c, dtype=float)
        if np.any(np.all(v <= corner, axis=1)):
            total += 1
    del m
    return float(total)


@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 8), st.integers(2, 3)),
        elements=st.integers(0, 4).map(float),
    )
)
@settings(max_examples=80, deadline=None)
def test_hypervolume_exact_on_integer_grid(v: np.ndarray) -> None:
    ref = np.full(v.shape[1], 5.0)
    assert hypervolume(v, ref) == _hv_monte_carlo_grid(v, ref)


def test_normalized_hypervolume_bounds() -> None:
    pts = np.array([[0.0, 0.0]])
    assert normalized_hypervolume(pts, np.zeros(2), np.ones(2)) == 1.0
    assert normalized_hypervolume(np.array([[1.0, 1.0]]), np.zeros(2), np.ones(2)) < 0.01


def _hv2d_one_by_one(points: np.ndarray, ref: np.ndarray) -> float:
    """The staircase summed point by point (the loop the vectorized sum must equal bit for bit)."""
    pts = points[np.all(points < ref, axis=1)]
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]
    hv, best_y = 0.0, ref[1]
    for x, y in pts:
        if y < best_y:
            hv += (ref[0] - x) * (best_y - y)
            best_y = y
    return float(hv)


@given(
    st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=80),
    st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=80),
)
@settings(max_examples=150, deadline=None)
def test_hypervolume_2d_sums_as_one_by_one_bit_for_bit(xs: list[float], ys: list[float]) -> None:
    n = min(len(xs), len(ys))
    front = np.column_stack([np.sort(xs[:n]), np.sort(ys[:n])[::-1]])  # (most points are steps)
    v = np.concatenate([front, front[::2] + 0.05])  # (and some dominated ones)
    ref = np.array([1.1, 1.1])
    assert hypervolume(v, ref) == _hv2d_one_by_one(v, ref)  # (== on floats: the same bits)


@given(
    st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=60),
    st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=60),
    st.lists(st.floats(0.0, 1.2, allow_nan=False), min_size=60, max_size=60),
)
@settings(max_examples=100, deadline=None)
def test_hypervolume_3d_slices_at_once_are_the_slices_one_by_one(
    xs: list[float], ys: list[float], zs: list[float]
) -> None:
    import dse.pareto as pareto

    n = min(len(xs), len(ys))  # (a staircase in x, y: most points are steps of most slices)
    v = np.column_stack([np.sort(xs[:n]), np.sort(ys[:n])[::-1], zs[:n]])

    ref = np.array([1.1, 1.1, 1.1])
    at_once = hypervolume(v, ref)
    limit = pareto._PREFIX_LIMIT
    pareto._PREFIX_LIMIT = 0  # (every slice by its own 2-D hypervolume)
    try:
        one_by_one = hypervolume(v, ref)
    finally:
        pareto._PREFIX_LIMIT = limit
    assert at_once == one_by_one
