"""Ordered factorizations: exact counts against brute force, balance order, errors."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dse.workload import WorkloadError, balance_key, balanced_factorizations, factorizations


def brute_force(n: int, d: int, minimum: int = 2) -> set[tuple[int, ...]]:
    """Every d-tuple of integers in [minimum, n] with product n (the oracle).

    Only values dividing n can be factors, so the tuples range over those (found by trial).
    """
    candidates = [f for f in range(minimum, n + 1) if n % f == 0]
    return {t for t in itertools.product(candidates, repeat=d) if math.prod(t) == n}


@pytest.mark.parametrize(
    ("n", "d"),
    [(1024, 3), (1024, 2), (768, 3), (360, 3), (3072, 2), (64, 4), (97, 2), (12, 1), (16, 5)],
)
def test_factorizations_match_brute_force(n: int, d: int) -> None:
    got = factorizations(n, d)
    assert len(got) == len(set(got))
    assert set(got) == brute_force(n, d)


def test_known_counts() -> None:
    # 1024 = 2^10 into 3 factors >= 2: compositions of 10 into 3 positive parts = C(9, 2)
    assert len(factorizations(1024, 3)) == 36
    assert len(factorizations(1024, 4)) == math.comb(9, 3)
    assert factorizations(97, 2) == []  # prime
    assert factorizations(8, 4) == []  # 2^3 cannot have 4 factors >= 2
    assert factorizations(12, 1) == [(12,)]


def test_four_factor_count_brute_force_1024() -> None:
    assert len(factorizations(1024, 4)) == len(brute_force(1024, 4))


def test_minimum_factor() -> None:
    assert set(factorizations(12, 2, minimum=1)) == brute_force(12, 2, minimum=1)
    assert set(factorizations(1024, 3, minimum=4)) == brute_force(1024, 3, minimum=4)


def test_ranked_by_balance() -> None:
    got = factorizations(1024, 4)
    keys = [balance_key(s) for s in got]
    assert keys == sorted(keys)
    # the most balanced are the permutations of {4, 4, 8, 8}, lexicographic among themselves
    assert got[:6] == sorted(set(itertools.permutations((4, 4, 8, 8))))
    assert got[-1] in {(2, 2, 2, 128), (2, 2, 128, 2), (2, 128, 2, 2), (128, 2, 2, 2)}
    assert factorizations(768, 3)[0] == (8, 8, 12)


def test_permutations_share_balance_value() -> None:
    for shape in [(12, 8, 8), (3, 5, 7, 11)]:
        values = {balance_key(p)[:2] for p in itertools.permutations(shape)}
        assert len(values) == 1


def test_deterministic() -> None:
    assert factorizations(3600, 3) == factorizations(3600, 3)


@pytest.mark.parametrize("k", [1, 3, 10, 1000])
def test_balanced_factorizations_prefix(k: int) -> None:
    full = factorizations(1024, 3)
    assert balanced_factorizations(1024, 3, k) == full[:k]


@pytest.mark.parametrize(("n", "d", "k"), [(0, 2, 1), (16, 0, 1), (16, 2, 0), (16.0, 2, 1), (True, 2, 1)])
def test_bad_arguments(n: object, d: int, k: int) -> None:
    with pytest.raises(WorkloadError):
        balanced_factorizations(n, d, k)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=1, max_value=3000), d=st.integers(min_value=1, max_value=4))
def test_factorization_invariants(n: int, d: int) -> None:
    got = factorizations(n, d)
    assert len(set(got)) == len(got)
    assert all(len(s) == d and math.prod(s) == n and min(s) >= 2 for s in got)
    assert [balance_key(s) for s in got] == sorted(balance_key(s) for s in got)
    assert set(got) == brute_force(n, d)
