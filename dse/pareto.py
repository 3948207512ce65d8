"""Non-dominated sorting, constrained domination and hypervolume (all objectives minimised).

Maximised objectives are negated by the caller (:func:`to_minimization`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


def to_minimization(values: NDArray[np.float64], directions: Sequence[str]) -> NDArray[np.float64]:
    """Negate the columns whose direction is ``maximize``."""
    sign = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    result: NDArray[np.float64] = np.asarray(values, dtype=float) * sign
    return result


def pareto_mask(values: NDArray[np.float64], violation: NDArray[np.float64] | None = None) -> NDArray[np.bool_]:
    """Mask of the non-dominated rows of ``values`` (n x m, minimised).

    With ``violation`` (total constraint violation per row, 0 = feasible; a unitless measure such
    as :func:`relative_violation` when constraints have different units), constrained
    domination applies: a feasible row dominates every infeasible one, and among infeasible
    rows only those with the least violation are kept when no row is feasible.
    """
    vals = np.asarray(values, dtype=float)
    n = vals.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    candidates = np.ones(n, dtype=bool)
    if violation is not None:
        viol = np.asarray(violation, dtype=float)
        feasible = viol <= 0
        candidates = feasible if feasible.any() else viol == viol.min()
    idx = np.flatnonzero(candidates)
    mask = np.zeros(n, dtype=bool)
    mask[idx[_non_dominated(vals[idx])]] = True
    return mask


def relative_violation(excess: NDArray[np.float64], bounds: Sequence[float]) -> NDArray[np.float64]:
    """Total violation of each row as a sum of fractions of the bounds (unitless).

    ``excess`` is n x c: metric minus bound per constraint, in the metric's unit (positive = over
    the bound). Each positive excess is divided by its bound, so 10 % over a DSP budget and 10 %
    over a BRAM budget weigh the same; a bound of 0 counts the excess itself.
    """
    ex = np.asarray(excess, dtype=float)
    if not len(bounds):
        return np.zeros(ex.shape[0] if ex.ndim else 0)
    scale = np.array([abs(b) if b != 0 else 1.0 for b in bounds], dtype=float)
    result: NDArray[np.float64] = (np.maximum(ex.reshape(-1, len(scale)), 0.0) / scale).sum(axis=1)
    return result


def _non_dominated(vals: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Non-dominated rows of ``vals``, in O(n x front size): the lexicographically smallest
    remaining row is never dominated; it removes every row it dominates, and so on. Identical
    rows do not dominate each other (all of them stay)."""
    n = vals.shape[0]
    order = np.lexsort(vals.T[::-1])
    sorted_vals = vals[order]
    remaining = np.arange(n)
    keep = np.zeros(n, dtype=bool)
    while remaining.size:
        head = remaining[0]
        keep[head] = True
        rest = remaining[1:]
        p = sorted_vals[head]
        others = sorted_vals[rest]
        dominated = np.all(p <= others, axis=1) & np.any(p < others, axis=1)
        remaining = rest[~dominated]
    mask = np.zeros(n, dtype=bool)
    mask[order[keep]] = True
    return mask


def _hv2d(points: NDArray[np.float64], ref: NDArray[np.float64]) -> float:
    """The staircase of ``points`` (sorted by x, then y) below ``ref``: each point lower than
    every one before it adds ``(ref_x - x) * (lowest y before it - y)``, summed in that order
    (a running sum: the same floating-point result as adding them one by one)."""
    pts = points[np.all(points < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]
    y = pts[:, 1]
    lowest = np.minimum.accumulate(np.concatenate((ref[1:2], y)))[:-1]  # (the lowest y before each point)
    step = y < lowest
    terms = (ref[0] - pts[step, 0]) * (lowest[step] - y[step])
    return float(np.cumsum(terms)[-1])


def hypervolume(points: NDArray[np.float64], ref: NDArray[np.float64]) -> float:
    """Exact hypervolume dominated by ``points`` (minimised) and bounded by ``ref``.

    Exact for any number of objectives by slicing along the last axis (fine for the front
    sizes of a study: hundreds of points, 2-4 objectives).
    """
    pts = np.asarray(points, dtype=float)
    r = np.asarray(ref, dtype=float)
    if pts.size == 0:
        return 0.0
    pts = pts[np.all(pts < r, axis=1)]
    if len(pts) == 0:
        return 0.0
    m = pts.shape[1]
    if m == 1:
        return float(r[0] - pts[:, 0].min())
    if m == 2:
        return _hv2d(pts, r)
    order = np.argsort(pts[:, -1])
    pts = pts[order]
    slices = _hv2d_prefixes(pts[:, :2], r[:2]) if m == 3 and len(pts) <= _PREFIX_LIMIT else None
    hv = 0.0
    for i in range(len(pts)):
        upper = pts[i + 1, -1] if i + 1 < len(pts) else r[-1]
        depth = upper - pts[i, -1]
        if depth <= 0:
            continue
        hv += depth * (slices[i] if slices is not None else hypervolume(pts[: i + 1, :-1], r[:-1]))
    return float(hv)


_PREFIX_LIMIT = 1024
"""Largest 3-objective point set whose slices :func:`_hv2d_prefixes` computes at once (an
n x n table: 8 MB of floats at 1,024 points)."""


def _hv2d_prefixes(pts: NDArray[np.float64], ref: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`_hv2d` of every prefix ``pts[: i + 1]`` (all below ``ref``) in one table, each the
    same bits: row i holds the staircase terms of the points of prefix i in the (x, y) order
    (0.0 for the others, which leaves a running sum unchanged), summed along the row in that
    order."""
    n = len(pts)
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    x, y = pts[order, 0], pts[order, 1]
    heights = np.where(order[None, :] <= np.arange(n)[:, None], y[None, :], np.inf)
    before = np.concatenate((np.full((n, 1), ref[1]), heights[:, :-1]), axis=1)
    lowest = np.minimum.accumulate(before, axis=1)  # (the lowest y before each point, per prefix)
    step = heights < lowest
    terms = np.where(step, (ref[0] - x)[None, :] * (lowest - np.where(step, heights, 0.0)), 0.0)
    return np.cumsum(terms, axis=1)[:, -1]


def normalized_hypervolume(
    points: NDArray[np.float64], lower: NDArray[np.float64], upper: NDArray[np.float64]
) -> float:
    """Hypervolume after scaling every objective to [0, 1] by ``lower``/``upper``, reference 1.1.

    The result is a fraction of the (1.1)^m box; comparable between runs that share the
    bounds (write the bounds next to the number).
    """
    lo = np.asarray(lower, dtype=float)
    span = np.maximum(np.asarray(upper, dtype=float) - lo, 1e-300)
    scaled = (np.asarray(points, dtype=float) - lo) / span
    m = scaled.shape[1] if scaled.ndim == 2 else len(lo)
    ref = np.full(m, 1.1)
    return hypervolume(scaled, ref) / float(np.prod(ref))
