"""Decomposition algorithms on plain numpy tensors (implemented from the papers' mathematics).

Every function takes a dense tensor and target ranks and returns the factors with exactly the
requested ranks: where the data cannot use a rank (a rank above what an unfolding holds) the
factors are padded with zeros, so they fit the layer's networks as configured, and the rank
actually carried is reported separately.

- :func:`truncated_svd`: best rank-r approximation of a matrix (Eckart-Young).
- :func:`tt_svd`: TT-SVD, Oseledets, "Tensor-Train Decomposition", SIAM J. Sci. Comput. 33(5),
  2011, Algorithm 1: sequential truncated SVDs of the unfoldings; with ``delta_k`` the
  Frobenius norm discarded at step ``k``, ``||X - X_TT|| <= sqrt(sum_k delta_k^2)``
  (Theorem 2.2), and a tensor of exact TT ranks is recovered exactly at those ranks.
- :func:`hosvd`: truncated higher-order SVD, De Lathauwer, De Moor, Vandewalle, "A Multilinear
  Singular Value Decomposition", SIAM J. Matrix Anal. Appl. 21(4), 2000: the leading left
  singular vectors of every mode unfolding, the core by projection; the error is at most
  ``sqrt(sum_k delta_k^2)`` (``delta_k``: what mode ``k``'s truncation discards), and a tensor
  of exact multilinear rank is recovered exactly.
- :func:`cp_als`: CP by alternating least squares (Carroll & Chang 1970; Harshman 1970; as in
  Kolda & Bader, "Tensor Decompositions and Applications", SIAM Review 51(3), 2009, Sec. 3.4),
  initialised with the leading left singular vectors of each unfolding ("nvecs", random
  columns from a seeded generator where a mode has fewer than R), columns rebalanced after
  every sweep. Each update is an exact least-squares solve, so the fit never worsens, but ALS
  may stop in a local minimum or a slow "swamp"; it stops when a sweep changes the relative
  error by less than ``tol`` or after ``max_iterations`` sweeps. Deterministic for a seed.
- :func:`tr_svd` and :func:`tr_als`: tensor ring, Zhao, Zhou, Xie, Zhang, Cichocki, "Tensor
  Ring Decomposition", arXiv:1606.05535, 2016. TR-SVD (their Algorithm 1): the first unfolding
  is truncated to ``r_0 r_1`` singular values and its left factor split into
  ``G_1[r_0, I_1, r_1]``; the rest, with ``r_0`` moved to the end, is a TT-SVD with open ranks
  ``r_1 .. r_{d-1}``. Its error is at most ``sqrt(sum_k delta_k^2)`` as for TT-SVD, but unlike
  TT-SVD it is *not* exact at a ring's own ranks: the orthonormal basis of the first step mixes
  ``r_0`` and ``r_1``, so the later unfoldings can need ranks up to ``r_0 r_k``. TR-ALS (their
  Algorithm 3) therefore refines the TR-SVD cores, one core at a time by exact least squares
  against the product of the other cores (never worse than TR-SVD), with the same stopping
  rule as CP-ALS. It recovers exact rings in practice (tests) but has no guarantee.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def truncated_svd(matrix: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray, float, int]:
    """``U[m, rank]``, ``V[rank, n]`` with ``U V`` the best rank-``rank`` approximation.

    The singular values are split evenly (``U = U_r sqrt(S_r)``, ``V = sqrt(S_r) V_r^T``).

    Returns:
        ``(U, V, discarded, used)``: the factors (zero-padded to ``rank``), the Frobenius norm of
        what was discarded (``sqrt(sum_{i > rank} sigma_i^2)``, the exact error) and the rank
        carried (``min(rank, m, n)``).
    """
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    used = min(rank, s.size)
    root = np.sqrt(s[:used])
    left = np.zeros((matrix.shape[0], rank))
    right = np.zeros((rank, matrix.shape[1]))
    left[:, :used] = u[:, :used] * root
    right[:used] = root[:, None] * vt[:used]
    return left, right, float(np.sqrt(np.sum(s[used:] ** 2))), used


def _truncate(c: np.ndarray, rank: int, cap: int | None = None) -> tuple[np.ndarray, np.ndarray, float, int]:
    """``c ~ left @ right`` with orthonormal ``left`` (zero-padded to ``rank`` columns).

    ``cap``: at most this many singular values can be non-zero (the rows of ``c`` that are not
    zero padding); the rank carried is ``min(rank, cap, min(c.shape))``.
    """
    u, s, vt = np.linalg.svd(c, full_matrices=False)
    used = min(rank, s.size, cap if cap is not None else s.size)
    left = np.zeros((c.shape[0], rank))
    right = np.zeros((rank, c.shape[1]))
    left[:, :used] = u[:, :used]
    right[:used] = s[:used, None] * vt[:used]
    return left, right, float(np.sqrt(np.sum(s[used:] ** 2))), used


def tt_svd(tensor: np.ndarray, ranks: Sequence[int]) -> tuple[list[np.ndarray], tuple[int, ...], list[float]]:
    """TT-SVD of ``tensor`` (shape ``(I_1..I_N)``) with ranks ``(1, r_1, .., r_{N-1}, 1)``.

    Returns:
        ``(cores, used, discarded)``: cores ``G_k[r_{k-1}, I_k, r_k]``, the ranks carried (each
        at most the rank of its unfolding), the Frobenius norm discarded at each of the N-1
        steps.
    """
    dims = tensor.shape
    n = len(dims)
    cores: list[np.ndarray] = []
    used = [1]
    discarded: list[float] = []
    c = tensor.reshape(1, -1)
    for k in range(n - 1):
        c = c.reshape(ranks[k] * dims[k], -1)
        left, c, lost, kept = _truncate(c, ranks[k + 1], used[-1] * dims[k])
        cores.append(left.reshape(ranks[k], dims[k], ranks[k + 1]))
        used.append(kept)
        discarded.append(lost)
    cores.append(c.reshape(ranks[n - 1], dims[n - 1], 1))
    used.append(1)
    return cores, tuple(used), discarded


def ring_to_tensor(cores: Sequence[np.ndarray]) -> np.ndarray:
    """The tensor ``X[i_1..i_N] = trace(G_1[:, i_1, :] .. G_N[:, i_N, :])`` of a ring (or a train:
    boundary ranks 1), shape ``(I_1..I_N)``.

    Splits the ring where the two halves' products are smallest and joins them with one GEMM,
    so the memory is about one copy of the result.
    """
    dims = tuple(g.shape[1] for g in cores)
    n = len(cores)
    r0 = cores[0].shape[0]
    if n == 1:
        return np.asarray(np.einsum("aia->i", cores[0]))
    # split after core h (1 <= h < n): left product (r0, P_left, r_h), right (r_h, P_right, r0)
    total = math.prod(dims)
    h = min(range(1, n), key=lambda j: max(math.prod(dims[:j]), total // math.prod(dims[:j])))

    def product(part: Sequence[np.ndarray]) -> np.ndarray:
        acc = part[0]
        for g in part[1:]:
            a, p, r = acc.shape
            acc = (acc.reshape(a * p, r) @ g.reshape(r, -1)).reshape(a, -1, g.shape[2])
        return acc

    left, right = product(cores[:h]), product(cores[h:])
    _, p_left, rh = left.shape
    p_right = right.shape[1]
    lhs = left.transpose(1, 2, 0).reshape(p_left, rh * r0)  # [P_left, (r_h, r_0)]
    rhs = right.reshape(rh, p_right, r0).transpose(0, 2, 1).reshape(rh * r0, p_right)  # [(r_h, r_0), P_right]
    return np.asarray(lhs @ rhs).reshape(dims)


def hosvd(
    tensor: np.ndarray, ranks: Sequence[int]
) -> tuple[np.ndarray, list[np.ndarray], tuple[int, ...], list[float]]:
    """Truncated HOSVD: ``X ~ C x_1 U_1 .. x_N U_N`` with ``U_k[I_k, r_k]``.

    Returns:
        ``(core, factors, used, discarded)``: the core ``C[r_1..r_N]``, the factors (columns
        beyond ``I_k`` are zero), the ranks carried (``min(r_k, I_k)``), the Frobenius norm
        discarded by each mode's truncation.
    """
    factors: list[np.ndarray] = []
    used: list[int] = []
    discarded: list[float] = []
    for k, size in enumerate(tensor.shape):
        unfolding = np.moveaxis(tensor, k, 0).reshape(size, -1)
        u, s, _ = np.linalg.svd(unfolding, full_matrices=False)
        kept = min(ranks[k], s.size)
        factor = np.zeros((size, ranks[k]))
        factor[:, :kept] = u[:, :kept]
        factors.append(factor)
        used.append(kept)
        discarded.append(float(np.sqrt(np.sum(s[kept:] ** 2))))
    core = tensor
    for k, factor in enumerate(factors):
        core = np.moveaxis(np.tensordot(core, factor, axes=([k], [0])), -1, k)
    return core, factors, tuple(used), discarded


def tucker_to_tensor(core: np.ndarray, factors: Sequence[np.ndarray]) -> np.ndarray:
    """``C x_1 U_1 .. x_N U_N``."""
    out = core
    for k, factor in enumerate(factors):
        out = np.moveaxis(np.tensordot(out, factor, axes=([k], [1])), -1, k)
    return out


def _khatri_rao(factors: Sequence[np.ndarray], rank: int) -> np.ndarray:
    """Column-wise Kronecker product, rows in row-major order of the factors' rows."""
    out = np.ones((1, rank))
    for f in factors:
        out = (out[:, None, :] * f[None, :, :]).reshape(-1, rank)
    return out


def cp_to_tensor(factors: Sequence[np.ndarray]) -> np.ndarray:
    """``sum_r F_1[:, r] o .. o F_N[:, r]``."""
    rank = factors[0].shape[1]
    dims = tuple(f.shape[0] for f in factors)
    return np.asarray(factors[0] @ _khatri_rao(factors[1:], rank).T).reshape(dims)


def cp_als(
    tensor: np.ndarray, rank: int, *, max_iterations: int, tol: float, seed: int
) -> tuple[list[np.ndarray], int]:
    """Rank-``rank`` CP of ``tensor`` by ALS (see the module docstring).

    Returns:
        ``(factors, sweeps)``: ``F_k[I_k, rank]`` and the number of ALS sweeps run.
    """
    dims = tensor.shape
    n = len(dims)
    rng = np.random.default_rng(seed)
    norm = float(np.linalg.norm(tensor))
    unfoldings = [np.moveaxis(tensor, k, 0).reshape(dims[k], -1) for k in range(n)]
    factors: list[np.ndarray] = []
    for k in range(n):
        f = rng.standard_normal((dims[k], rank))
        u = np.linalg.svd(unfoldings[k], full_matrices=False)[0]
        kept = min(rank, u.shape[1])
        f[:, :kept] = u[:, :kept]
        factors.append(f)
    if norm == 0.0:
        return [np.zeros_like(f) for f in factors], 0
    previous = math.inf
    sweeps = 0
    for sweeps in range(1, max_iterations + 1):  # noqa: B007 (the count is returned)
        for k in range(n):
            others = [factors[j] for j in range(n) if j != k]
            gram = np.ones((rank, rank))
            for f in others:
                gram *= f.T @ f
            mttkrp = unfoldings[k] @ _khatri_rao(others, rank)
            factors[k] = np.linalg.lstsq(gram, mttkrp.T, rcond=None)[0].T
        # the residual itself (the expansion ||X||^2 - 2 <X, X_hat> + ||X_hat||^2 loses half the
        # digits near an exact fit)
        error = float(np.linalg.norm(tensor - cp_to_tensor(factors))) / norm
        # rebalance: every factor's column r gets the same norm (the product is unchanged)
        norms = np.stack([np.linalg.norm(f, axis=0) for f in factors])
        scale = np.prod(norms, axis=0) ** (1.0 / n)
        for k in range(n):
            safe = np.where(norms[k] > 0, norms[k], 1.0)
            factors[k] = factors[k] / safe * np.where(norms[k] > 0, scale, 0.0)
        if abs(previous - error) < tol:
            break
        previous = error
    return factors, sweeps


def tr_svd(tensor: np.ndarray, ranks: Sequence[int]) -> tuple[list[np.ndarray], tuple[int, ...], list[float]]:
    """TR-SVD of ``tensor`` (N >= 2 modes) with ranks ``(r_0, r_1, .., r_{N-1}, r_N = r_0)``.

    Returns:
        ``(cores, used, discarded)``: cores ``G_k[r_{k-1}, I_k, r_k]`` (``G_N``'s last rank is
        ``r_0``), the ranks carried (``r_0, r_1`` as requested, their product capped by the first
        unfolding's rank with zero padding; later ones capped by their unfolding), the Frobenius
        norm discarded at each step.
    """
    dims = tensor.shape
    n = len(dims)
    r0, r1 = ranks[0], ranks[1]
    left, rest, lost, first = _truncate(tensor.reshape(dims[0], -1), r0 * r1)
    cores = [left.reshape(dims[0], r0, r1).transpose(1, 0, 2)]
    discarded = [lost]
    used = [r0, r1]
    carried = first  # rank of the train's first unfolding, at most r_1 (r_0 folded) x rows
    # rest[(a0, a1), I_2..I_N] -> [a1, I_2..I_N, a0]: an open train with boundary ranks r_1, r_0
    c = np.moveaxis(rest.reshape(r0, r1, *dims[1:]), 0, -1)
    for k in range(1, n - 1):
        c = c.reshape(ranks[k] * dims[k], -1)
        left, c, lost, kept = _truncate(c, ranks[k + 1], min(carried, ranks[k]) * dims[k])
        cores.append(left.reshape(ranks[k], dims[k], ranks[k + 1]))
        used.append(kept)
        discarded.append(lost)
        carried = kept
    cores.append(c.reshape(ranks[n - 1], dims[n - 1], r0))
    used.append(r0)
    return cores, tuple(used), discarded


def tr_als(
    tensor: np.ndarray, cores: Sequence[np.ndarray], *, max_iterations: int, tol: float
) -> tuple[list[np.ndarray], int]:
    """Refine ring cores by alternating least squares (see the module docstring).

    Returns:
        ``(cores, sweeps)``: the best cores seen (never worse than the input) and the sweeps run.
    """
    out = [np.array(g, dtype=np.float64) for g in cores]
    n = len(out)
    dims = tensor.shape
    norm = float(np.linalg.norm(tensor))
    if norm == 0.0:
        return out, 0
    # X permuted to start at mode k (cyclic), unfolded [I_k, rest]
    cyclic = [tensor.transpose([*range(k, n), *range(k)]).reshape(dims[k], -1) for k in range(n)]
    best = [g.copy() for g in out]
    best_error = float(np.linalg.norm(tensor - ring_to_tensor(out))) / norm
    previous = best_error
    sweeps = 0
    for sweeps in range(1, max_iterations + 1):  # noqa: B007 (the count is returned)
        error = previous
        for k in range(n):
            others = [out[(k + j) % n] for j in range(1, n)]  # G_{k+1} .. G_N, G_1 .. G_{k-1}
            q = others[0]
            for g in others[1:]:
                a, p, r = q.shape
                q = (q.reshape(a * p, r) @ g.reshape(r, -1)).reshape(a, -1, g.shape[2])
            # q[r_k, P, r_{k-1}];  X_k[i, p] = sum_{a, b} G_k[a, i, b] q[b, p, a]
            r_prev, r_k = out[k].shape[0], out[k].shape[2]
            qmat = q.transpose(2, 0, 1).reshape(r_prev * r_k, -1)
            gram = qmat @ qmat.T
            rhs = cyclic[k] @ qmat.T
            solution = np.linalg.lstsq(gram, rhs.T, rcond=None)[0].T  # [I_k, (a, b)]
            out[k] = np.asarray(solution.reshape(dims[k], r_prev, r_k).transpose(1, 0, 2), dtype=np.float64)
            if k == n - 1:
                error = float(np.linalg.norm(cyclic[k] - solution @ qmat)) / norm
        if error < best_error:
            best_error = error
            best = [g.copy() for g in out]
        if abs(previous - error) < tol:
            break
        previous = error
    return best, sweeps
