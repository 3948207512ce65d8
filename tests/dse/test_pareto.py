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
