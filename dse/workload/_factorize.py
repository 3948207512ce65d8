"""Ordered factorizations of a feature size into tensor modes, ranked by balance.

A tensorized layer reshapes ``n`` features into ``d`` modes ``(n_1, ..., n_d)`` with
``n_1 * ... * n_d = n``. The search space proposes these shapes; balanced shapes (all modes of
similar size) usually give the smallest cores for a given rank, so the shapes are ranked by
balance and the search can keep only the ``k`` most balanced ones.

Balance, from most to least balanced, is the sort key

1. the variance of the natural logarithms of the factors (population variance, computed on the
   *sorted* factors and rounded to 12 decimals, so that every permutation of one multiset of
   factors gets exactly the same value);
2. then the ratio ``max / min`` of the factors (an exact fraction);
3. then the factor tuple itself, lexicographically (deterministic tie-break between the
   permutations of one multiset: ``(4, 8, 8, 4)`` comes after ``(4, 4, 8, 8)``).
"""

from __future__ import annotations

import math
from fractions import Fraction

from dse.workload._network import WorkloadError

Shape = tuple[int, ...]


def _check(n: int, d: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise WorkloadError(f"factorizations: n must be an integer >= 1, got {n!r}")
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise WorkloadError(f"factorizations: d must be an integer >= 1, got {d!r}")


def _divisors(n: int) -> list[int]:
    """Divisors of ``n`` in increasing order."""
    small: list[int] = []
    large: list[int] = []
    i = 1
    while i * i <= n:
        if n % i == 0:
            small.append(i)
            if i * i != n:
                large.append(n // i)
        i += 1
    return small + large[::-1]


def _ordered(n: int, d: int, minimum: int) -> list[Shape]:
    """All ordered tuples of ``d`` factors ``>= minimum`` whose product is ``n``."""
    if d == 1:
        return [(n,)] if n >= minimum else []
    out: list[Shape] = []
    for f in _divisors(n):
        if f < minimum:
            continue
        rest = n // f
        # the remaining d-1 factors need at least minimum**(d-1)
        if rest < minimum ** (d - 1):
            break
        out.extend((f, *tail) for tail in _ordered(rest, d - 1, minimum))
    return out


def balance_key(shape: Shape) -> tuple[float, Fraction, Shape]:
    """Sort key of a shape: smaller is more balanced (see the module docstring)."""
    logs = [math.log(f) for f in sorted(shape)]
    mean = sum(logs) / len(logs)
    var = sum((v - mean) ** 2 for v in logs) / len(logs)
    return round(var, 12), Fraction(max(shape), min(shape)), shape


def factorizations(n: int, d: int, *, minimum: int = 2) -> list[Shape]:
    """All ordered factorizations of ``n`` into exactly ``d`` factors, each ``>= minimum``.

    Args:
        n: the number to factor (a feature size), ``>= 1``.
        d: the number of factors (tensor modes), ``>= 1``.
        minimum: smallest allowed factor (default 2: a mode of size 1 is no mode).

    Returns:
        Every ordered tuple ``(f_1, ..., f_d)`` with ``prod(f) == n`` and ``f_k >= minimum``,
        most balanced first (:func:`balance_key`). Empty when there is none (e.g. ``n`` prime and
        ``d >= 2``).

    Raises:
        WorkloadError: ``n`` or ``d`` is not an integer ``>= 1``, or ``minimum < 1``.
    """
    _check(n, d)
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
        raise WorkloadError(f"factorizations: minimum must be an integer >= 1, got {minimum!r}")
    return sorted(_ordered(n, d, minimum), key=balance_key)


def balanced_factorizations(n: int, d: int, k: int, *, minimum: int = 2) -> list[Shape]:
    """The ``k`` most balanced ordered factorizations of ``n`` into ``d`` factors.

    The first ``k`` entries of :func:`factorizations` (fewer when fewer exist).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise WorkloadError(f"balanced_factorizations: k must be an integer >= 1, got {k!r}")
    return factorizations(n, d, minimum=minimum)[:k]
