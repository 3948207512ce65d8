"""How well a layer format can represent a given weight matrix: post-training fidelity.

:func:`weight_error` approximates ``W[in_features, out_features]`` in a layer format with that
format's own algorithm and reports the relative Frobenius error
``||W - W_hat||_F / ||W||_F`` (0 = exact; 1 = as bad as ``W_hat = 0``) next to the parameter
count. This is **post-training fidelity, not accuracy**: a tensorized layer trained in its
format reaches far higher accuracy than a post-hoc decomposition of dense weights suggests,
and pretrained weights are rarely low-rank (shared/research/fused_chains.md, section 5).

Algorithms (:mod:`dse.quality._decompose`), the weight reshaped to the format's modes
(``W[(m_1..m_d), (n_1..n_d)]``, row-major, as the layer formats store it):

========== ======================================================================================
format     algorithm
========== ======================================================================================
lowrank    truncated SVD (Eckart-Young: the optimum; the error is exactly the discarded norm)
tt         TT-SVD over the 2d modes ``(m_1..m_d, n_1..n_d)`` (Oseledets 2011)
ttm        TT-SVD over the d interleaved modes ``(m_k n_k)`` (TT-matrix), cores
           ``G_k[r_{k-1}, m_k, n_k, r_k]``; also ``ttm_conv`` and ``ttm_embedding``
tucker     truncated HOSVD over the 2d modes (De Lathauwer et al. 2000)
tr         TR-SVD then TR-ALS sweeps over the interleaved modes (Zhao et al. 2016)
cp         CP-ALS over the interleaved modes, factors ``A_k[m_k, n_k, R]``
dense      none: exact (also ``conv``, ``embedding``)
lora       none: the frozen dense weight is kept, the adapter starts at zero; exact
========== ======================================================================================

SVD-based results are deterministic; ALS results (cp, tr) are deterministic for a ``seed`` and
an iteration cap, and may be local optima. Cost: one SVD per unfolding (a 4096 x 11008 weight
takes seconds to a minute on two cores); ALS repeats a least-squares solve per sweep.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dse.quality._decompose import (
    cp_als,
    cp_to_tensor,
    hosvd,
    ring_to_tensor,
    tr_als,
    tr_svd,
    truncated_svd,
    tt_svd,
    tucker_to_tensor,
)
from dse.quality._errors import QualityError
from dse.quality._weights import as_weight_matrix, load_weight
from dse.workload import LayerSpec, WorkloadError, get_format, split_layer_error

_LAYOUT: Mapping[str, str] = {
    "dense": "dense",
    "conv": "dense",
    "embedding": "dense",
    "lowrank": "lowrank",
    "lora": "lora",
    "tt": "tt",
    "ttm": "ttm",
    "ttm_conv": "ttm",
    "ttm_embedding": "ttm",
    "tucker": "tucker",
    "tr": "tr",
    "cp": "cp",
}
"""Format -> the format whose weight layout (and algorithm and parameter count) it shares."""

QUALITY_FORMATS: tuple[str, ...] = tuple(sorted(_LAYOUT))
"""Formats :func:`weight_error` takes."""

CP_MAX_ITERATIONS = 500
TR_MAX_ITERATIONS = 100
ALS_TOL = 1e-10


@dataclass(frozen=True, slots=True, kw_only=True)
class Approximation:
    """A weight in one layer format: its factors, as the format's networks name them.

    Attributes:
        format: the format.
        matrix: the approximation ``W_hat[in_features, out_features]``.
        factors: every stored tensor by its network name (``G1..``, ``U1..`` and ``C``,
            ``A1..``, ``U``/``V``, ``W``/``A``/``B``, ``W``), boundary ranks of size 1 included
            (``G1`` of a TTM is ``[1, m_1, n_1, r_1]``); shapes follow the requested ranks.
        ranks: the requested rank vector (as the format expands it).
        ranks_used: ranks the data actually fills (a requested rank above what an unfolding
            holds is zero-padded); same layout as ``ranks``.
        algorithm: what computed it.
        error_bound: the algorithm's a-priori bound on the relative error (``sqrt(sum_k
            delta_k^2) / ||W||`` for the SVD-based ones; the exact error for lowrank), or
            ``None`` (cp; tr's bound is that of its TR-SVD start, which ALS only improves).
        iterations: ALS sweeps run (0 for SVD-based algorithms).
    """

    format: str
    matrix: np.ndarray
    factors: Mapping[str, np.ndarray]
    ranks: tuple[int, ...]
    ranks_used: tuple[int, ...]
    algorithm: str
    error_bound: float | None
    iterations: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityResult:
    """Post-training fidelity of one weight in one layer configuration.

    Attributes:
        format: layer format.
        in_shape: input modes (empty for matrix formats).
        out_shape: output modes.
        ranks: rank vector as configured (the format's :meth:`~dse.workload.LayerFormat.expand_ranks`).
        ranks_used: ranks the data fills (see :class:`Approximation`).
        relative_error: ``||W - W_hat||_F / ||W||_F`` (dimensionless; 0 when ``W = 0``).
        error_bound: the algorithm's relative error bound, or ``None``.
        params: parameters the layer stores in this configuration (elements; for ``lora`` the
            frozen dense weight plus the adapter), as the workload counts them.
        trainable_params: parameters a training step updates (``lora``: the adapter only).
        dense_params: ``in_features x out_features``.
        algorithm: the algorithm used.
        iterations: ALS sweeps (0 for SVD-based algorithms).
    """

    format: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    ranks: tuple[int, ...]
    ranks_used: tuple[int, ...]
    relative_error: float
    error_bound: float | None
    params: int
    trainable_params: int
    dense_params: int
    algorithm: str
    iterations: int = 0

    @property
    def compression(self) -> float:
        """``dense_params / params`` (> 1: fewer stored parameters than the dense weight)."""
        return self.dense_params / self.params

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field (tuples as lists) plus ``compression`` and ``measure``."""
        return {
            "measure": "post-training fidelity (relative Frobenius error of the weight), not accuracy",
            "format": self.format,
            "relative_error": self.relative_error,
            "error_bound": self.error_bound,
            "params": self.params,
            "trainable_params": self.trainable_params,
            "dense_params": self.dense_params,
            "compression": self.compression,
            "in_shape": list(self.in_shape),
            "out_shape": list(self.out_shape),
            "ranks": list(self.ranks),
            "ranks_used": list(self.ranks_used),
            "algorithm": self.algorithm,
            "iterations": self.iterations,
        }


def _shape(value: Sequence[int], field: str) -> tuple[int, ...]:
    try:
        shape = tuple(value)
    except TypeError:
        raise QualityError(field, f"a list of integers, got {value!r}") from None
    if any(isinstance(f, bool) or not isinstance(f, int) or f < 1 for f in shape):
        raise QualityError(field, f"integers >= 1, got {list(shape)}")
    return shape


def _check_product(shape: tuple[int, ...], field: str, size: int, what: str) -> None:
    if math.prod(shape) != size:
        raise QualityError(
            field,
            f"{list(shape)} multiplies to {math.prod(shape)}, but the weight has {size} {what} "
            "(W is [in_features, out_features]; a PyTorch [out, in] weight needs transpose)",
        )


def _spec_error(exc: WorkloadError, name: str) -> QualityError:
    """A format's validation message as a :class:`QualityError` naming the field."""
    field, text = split_layer_error(str(exc), name)
    return QualityError(field if field in ("in_shape", "out_shape") else "ranks", text)


def _configure(
    w: np.ndarray,
    fmt: str,
    in_shape: Sequence[int],
    out_shape: Sequence[int],
    ranks: int | Sequence[int] | None,
) -> tuple[LayerSpec, str]:
    """The layer the weight is approximated in, validated; and its layout format."""
    try:
        get_format(fmt)
    except WorkloadError as exc:
        raise QualityError("format", str(exc)) from None
    if fmt not in _LAYOUT:
        raise QualityError("format", f"format {fmt!r} has no weight matrix; expected one of {list(QUALITY_FORMATS)}")
    layout = _LAYOUT[fmt]
    knobs = get_format(layout).knobs
    m, n = w.shape
    ins, outs = _shape(in_shape, "in_shape"), _shape(out_shape, "out_shape")
    if knobs.depth:
        for field, shape in (("in_shape", ins), ("out_shape", outs)):
            if len(shape) < knobs.min_depth:
                raise QualityError(field, f"format {fmt!r} needs at least {knobs.min_depth} factors, got {list(shape)}")
        if len(outs) != len(ins):
            raise QualityError("out_shape", f"{len(ins)} factors like in_shape {list(ins)}, got {list(outs)}")
    _check_product(ins or (m,), "in_shape", m, "rows (in_features)")
    _check_product(outs or (n,), "out_shape", n, "columns (out_features)")
    if not knobs.depth:
        ins, outs = (), ()
    expanded: tuple[int, ...] = ()
    if knobs.rank:
        if ranks is None:
            raise QualityError("ranks", f"required for format {fmt!r} ({knobs.rank_structure})")
        try:
            expanded = get_format(layout).expand_ranks(ranks, max(1, len(ins)))
        except WorkloadError as exc:
            raise QualityError("ranks", str(exc)) from None
    elif ranks is not None and ranks != ():
        raise QualityError("ranks", f"format {fmt!r} takes no ranks")
    spec = LayerSpec(
        name="weight", format=layout, in_features=m, out_features=n, in_shape=ins, out_shape=outs, ranks=expanded
    )
    try:
        get_format(layout).validate(spec)
    except WorkloadError as exc:
        raise _spec_error(exc, spec.name) from None
    return spec, layout


def _interleaved(w: np.ndarray, spec: LayerSpec) -> np.ndarray:
    """``W[(m_1..m_d), (n_1..n_d)]`` as the order-d tensor ``X[(m_1 n_1), .., (m_d n_d)]``."""
    d = len(spec.in_shape)
    t = w.reshape(*spec.in_shape, *spec.out_shape)
    order = [i for k in range(d) for i in (k, d + k)]
    return t.transpose(order).reshape([m * n for m, n in zip(spec.in_shape, spec.out_shape, strict=True)])


def _from_interleaved(x: np.ndarray, spec: LayerSpec) -> np.ndarray:
    """Inverse of :func:`_interleaved`."""
    d = len(spec.in_shape)
    pairs = [s for m, n in zip(spec.in_shape, spec.out_shape, strict=True) for s in (m, n)]
    t = x.reshape(pairs)
    order = [2 * k for k in range(d)] + [2 * k + 1 for k in range(d)]
    return t.transpose(order).reshape(spec.in_features, spec.out_features)


def _bound(discarded: Sequence[float], norm: float) -> float:
    return math.sqrt(sum(x * x for x in discarded)) / norm if norm else 0.0


def approximate(
    weight: np.ndarray,
    *,
    fmt: str,
    in_shape: Sequence[int] = (),
    out_shape: Sequence[int] = (),
    ranks: int | Sequence[int] | None = None,
    max_iterations: int | None = None,
    tol: float = ALS_TOL,
    seed: int = 0,
) -> Approximation:
    """The approximation of ``weight`` by format ``fmt``'s own algorithm (module docstring).

    Args:
        weight: ``W[in_features, out_features]`` (use :func:`~dse.quality.as_weight_matrix` or
            ``transpose`` of :func:`weights_file_error` for a PyTorch ``[out, in]`` weight).
        fmt: a format of :data:`QUALITY_FORMATS`.
        in_shape: factors of ``in_features`` (formats with modes; matrix formats ignore
            matching shapes).
        out_shape: factors of ``out_features``, as many as ``in_shape``.
        ranks: one integer (the format's expansion) or the format's rank list; ``None`` for
            ``dense`` (and ``conv``, ``embedding``).
        max_iterations: ALS sweep cap (cp: 500, tr: 100 by default).
        tol: ALS stops when a sweep changes the relative error by less than this.
        seed: seed of the random part of the ALS initialisations.

    Raises:
        QualityError: a one-line message naming the field (``format``, ``in_shape``,
            ``out_shape``, ``ranks``, ``max_iterations``, ``tol``).
    """
    w = as_weight_matrix(weight)
    spec, layout = _configure(w, fmt, in_shape, out_shape, ranks)
    return _approximate(w, spec, layout, fmt, max_iterations=max_iterations, tol=tol, seed=seed)


def _approximate(
    w: np.ndarray, spec: LayerSpec, layout: str, fmt: str, *, max_iterations: int | None, tol: float, seed: int
) -> Approximation:
    if max_iterations is not None and (
        isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 1
    ):
        raise QualityError("max_iterations", f"an integer >= 1, got {max_iterations!r}")
    if not tol >= 0:
        raise QualityError("tol", f"a number >= 0, got {tol!r}")
    norm = float(np.linalg.norm(w))
    r = spec.ranks
    if layout == "dense":
        return Approximation(
            format=fmt, matrix=w, factors={"W": w}, ranks=r, ranks_used=r, algorithm="none (dense)", error_bound=0.0
        )
    if layout == "lora":
        zeros = {"A": np.zeros((spec.in_features, r[0])), "B": np.zeros((r[0], spec.out_features))}
        return Approximation(
            format=fmt,
            matrix=w,
            factors={"W": w, **zeros},
            ranks=r,
            ranks_used=r,
            algorithm="none (frozen dense weight kept; adapter A = B = 0)",
            error_bound=0.0,
        )
    if layout == "lowrank":
        u, v, lost, used = truncated_svd(w, r[0])
        return Approximation(
            format=fmt,
            matrix=u @ v,
            factors={"U": u, "V": v},
            ranks=r,
            ranks_used=(used,),
            algorithm="truncated SVD (Eckart-Young optimal)",
            error_bound=_bound([lost], norm),
        )
    if layout == "tt":
        cores, used_tt, lost_tt = tt_svd(w.reshape(*spec.in_shape, *spec.out_shape), r)
        return Approximation(
            format=fmt,
            matrix=ring_to_tensor(cores).reshape(w.shape),
            factors={f"G{k + 1}": g for k, g in enumerate(cores)},
            ranks=r,
            ranks_used=used_tt,
            algorithm="TT-SVD over the 2d modes (Oseledets 2011)",
            error_bound=_bound(lost_tt, norm),
        )
    if layout == "ttm":
        cores, used_ttm, lost_ttm = tt_svd(_interleaved(w, spec), r)
        shaped = [g.reshape(r[k], spec.in_shape[k], spec.out_shape[k], r[k + 1]) for k, g in enumerate(cores)]
        return Approximation(
            format=fmt,
            matrix=_from_interleaved(ring_to_tensor(cores), spec),
            factors={f"G{k + 1}": g for k, g in enumerate(shaped)},
            ranks=r,
            ranks_used=used_ttm,
            algorithm="TT-SVD of the TT-matrix, modes (m_k n_k) (Oseledets 2011)",
            error_bound=_bound(lost_ttm, norm),
        )
    if layout == "tucker":
        core, factors, used_tk, lost_tk = hosvd(w.reshape(*spec.in_shape, *spec.out_shape), r)
        return Approximation(
            format=fmt,
            matrix=tucker_to_tensor(core, factors).reshape(w.shape),
            factors={**{f"U{k + 1}": u for k, u in enumerate(factors)}, "C": core},
            ranks=r,
            ranks_used=used_tk,
            algorithm="truncated HOSVD over the 2d modes (De Lathauwer et al. 2000)",
            error_bound=_bound(lost_tk, norm),
        )
    if layout == "tr":
        x = _interleaved(w, spec)
        start, used_tr, lost_tr = tr_svd(x, r)
        cap = max_iterations or TR_MAX_ITERATIONS
        cores, sweeps = tr_als(x, start, max_iterations=cap, tol=tol)
        shaped = [g.reshape(r[k], spec.in_shape[k], spec.out_shape[k], r[k + 1]) for k, g in enumerate(cores)]
        return Approximation(
            format=fmt,
            matrix=_from_interleaved(ring_to_tensor(cores), spec),
            factors={f"G{k + 1}": g for k, g in enumerate(shaped)},
            ranks=r,
            ranks_used=used_tr,
            algorithm=f"TR-SVD then TR-ALS, {sweeps} sweeps of at most {cap} (Zhao et al. 2016)",
            error_bound=_bound(lost_tr, norm),
            iterations=sweeps,
        )
    # cp
    cap = max_iterations or CP_MAX_ITERATIONS
    factors, sweeps = cp_als(_interleaved(w, spec), r[0], max_iterations=cap, tol=tol, seed=seed)
    return Approximation(
        format=fmt,
        matrix=_from_interleaved(cp_to_tensor(factors), spec),
        factors={f"A{k + 1}": f.reshape(spec.in_shape[k], spec.out_shape[k], r[0]) for k, f in enumerate(factors)},
        ranks=r,
        ranks_used=r,
        algorithm=f"CP-ALS, {sweeps} sweeps of at most {cap}, seed {seed} (SVD initialisation)",
        error_bound=None,
        iterations=sweeps,
    )


def weight_error(
    weight: np.ndarray,
    *,
    fmt: str,
    in_shape: Sequence[int] = (),
    out_shape: Sequence[int] = (),
    ranks: int | Sequence[int] | None = None,
    max_iterations: int | None = None,
    tol: float = ALS_TOL,
    seed: int = 0,
) -> QualityResult:
    """Relative Frobenius error of format ``fmt``'s approximation of ``weight``, with its size.

    Arguments as :func:`approximate`. Post-training fidelity, not accuracy (module docstring).

    Raises:
        QualityError: one line naming the field.
    """
    w = as_weight_matrix(weight)
    spec, layout = _configure(w, fmt, in_shape, out_shape, ranks)
    approx = _approximate(w, spec, layout, fmt, max_iterations=max_iterations, tol=tol, seed=seed)
    norm = float(np.linalg.norm(w))
    error = float(np.linalg.norm(w - approx.matrix)) / norm if norm else 0.0
    layer_format = get_format(layout)
    return QualityResult(
        format=fmt,
        in_shape=spec.in_shape,
        out_shape=spec.out_shape,
        ranks=approx.ranks,
        ranks_used=approx.ranks_used,
        relative_error=error,
        error_bound=approx.error_bound,
        params=layer_format.params(spec),
        trainable_params=layer_format.trainable_params(spec),
        dense_params=spec.dense_params,
        algorithm=approx.algorithm,
        iterations=approx.iterations,
    )


def weights_file_error(
    path: str | Path,
    key: str,
    *,
    fmt: str,
    in_shape: Sequence[int] = (),
    out_shape: Sequence[int] = (),
    ranks: int | Sequence[int] | None = None,
    transpose: bool = False,
    max_iterations: int | None = None,
    tol: float = ALS_TOL,
    seed: int = 0,
) -> QualityResult:
    """:func:`weight_error` of the weight ``key`` of a ``.npz`` or ``.safetensors`` file.

    ``transpose``: the stored tensor is PyTorch's ``[out_features, in_features]`` (every
    ``nn.Linear.weight``). What ``dse quality --weights FILE --key NAME ...`` computes.

    Raises:
        QualityError: one line naming the field (``weights``, ``key``, ``format``, ...).
    """
    w = load_weight(path, key, transpose=transpose)
    return weight_error(
        w,
        fmt=fmt,
        in_shape=in_shape,
        out_shape=out_shape,
        ranks=ranks,
        max_iterations=max_iterations,
        tol=tol,
        seed=seed,
    )
