"""Weight formats beyond TTM: tensor train, Tucker, tensor ring and CP.

All of them store ``W[(m_1..m_d), (n_1..n_d)]`` with ``in_shape = (m_1..m_d)`` and
``out_shape = (n_1..n_d)``; their networks follow :mod:`dse.workload._formats_common`
(``forward``, ``dx``, then one ``dg<k>`` per stored tensor). Index names: ``b`` (tokens),
``m1..md`` (input modes), ``n1..nd`` (output modes), ``r...`` (ranks, per format below).
"""

from __future__ import annotations

from collections.abc import Sequence

from dse.workload._formats_common import (
    check_modes,
    check_rank_count,
    mode_sizes,
)
from dse.workload._layers import (
    FormatKnobs,
    Indices,
    LayerFormat,
    LayerSpec,
    chain_cores,
    chain_params,
    chain_ranks,
    linear_networks,
    rank_values,
    register_format,
    x_indices,
    y_indices,
)
from dse.workload._network import TensorNetwork, WorkloadError


def _mode_names(d: int) -> list[str]:
    """The 2d modes in weight order: ``m1..md, n1..nd``."""
    return [f"m{k + 1}" for k in range(d)] + [f"n{k + 1}" for k in range(d)]


class TTFormat(LayerFormat):
    """Tensor train over the 2d modes ``[m_1..m_d, n_1..n_d]`` of the reshaped weight.

    Cores ``G_k[r_{k-1}, mode_k, r_k]`` for ``k = 1..2d`` (the first d carry the input modes,
    the last d the output modes); ``ranks = (r_0, .., r_2d)`` with ``r_0 = r_2d = 1``.
    Boundary ranks are left out of the networks, so ``G1`` is ``(m1, r1)`` and ``G<2d>`` is
    ``(r<2d-1>, nd)``. ``dg<k>`` is the gradient of core ``G<k>``, ``k = 1..2d``.
    """

    name = "tt"
    knobs = FormatKnobs(
        family="linear",
        depth=True,
        min_depth=1,
        rank=True,
        rank_structure="(r_0, .., r_2d) over the 2d cores G_k[r_{k-1}, mode_k, r_k], r_0 = r_2d = 1",
    )

    def expand_ranks(self, value: int | Sequence[int], d: int) -> tuple[int, ...]:
        """An int r: ``(1, r, .., r, 1)``; 2d-1 internal ranks; or 2d+1 full ranks."""
        return chain_ranks(value, d, cores=2 * d, fmt=self.name)

    def validate(self, spec: LayerSpec) -> None:
        d = check_modes(spec, minimum_d=1)
        check_rank_count(spec, 2 * d + 1, "r_0..r_2d over the 2d modes m_1..m_d, n_1..n_d")
        if spec.ranks[0] != 1 or spec.ranks[-1] != 1:
            raise WorkloadError(
                f"layer {spec.name!r}: ranks r_0 and r_2d (the TT boundary) must be 1, got {list(spec.ranks)}"
            )

    def params(self, spec: LayerSpec) -> int:
        self.validate(spec)
        modes = (*spec.in_shape, *spec.out_shape)
        r = spec.ranks
        return sum(r[k] * modes[k] * r[k + 1] for k in range(len(modes)))

    def cores(self, spec: LayerSpec) -> list[tuple[str, Indices]]:
        """``(name, indices)`` of every core, ``G1 .. G<2d>``."""
        d = len(spec.in_shape)
        modes = _mode_names(d)
        out: list[tuple[str, Indices]] = []
        for k in range(2 * d):
            idx: list[str] = []
            if k > 0:
                idx.append(f"r{k}")
            idx.append(modes[k])
            if k < 2 * d - 1:
                idx.append(f"r{k + 1}")
            out.append((f"G{k + 1}", tuple(idx)))
        return out

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        self.validate(spec)
        d = len(spec.in_shape)
        sizes = mode_sizes(spec)
        for k in range(1, 2 * d):
            sizes[f"r{k}"] = spec.ranks[k]
        return linear_networks(x=x_indices(d), y=y_indices(d), weights=self.cores(spec), sizes=sizes)


class TuckerFormat(LayerFormat):
    """Tucker decomposition of the weight reshaped to the 2d modes ``[m_1..m_d, n_1..n_d]``.

    A core tensor ``C[r1, .., r<2d>]`` and one factor matrix per mode: ``U<k>[m_k, r<k>]`` for
    ``k <= d`` and ``U<d+k>[n_k, r<d+k>]``; ``ranks = (r_1, .., r_2d)``, one per mode (a rank may
    exceed its mode; that wastes parameters but is allowed). ``dg1 .. dg<2d>`` are the
    gradients of ``U1 .. U<2d>``, ``dg<2d+1>`` the gradient of the core ``C``.
    """

    name = "tucker"
    knobs = FormatKnobs(
        family="linear",
        depth=True,
        min_depth=1,
        rank=True,
        rank_structure="(r_1, .., r_2d), one per mode m_1..m_d, n_1..n_d",
    )

    def expand_ranks(self, value: int | Sequence[int], d: int) -> tuple[int, ...]:
        """An int r: r for each of the 2d modes; or 2d ranks."""
        v = rank_values(value)
        if isinstance(v, int):
            return (v,) * (2 * d)
        if len(v) != 2 * d:
            raise WorkloadError(
                f"format 'tucker' takes one integer or {2 * d} ranks (one per mode m_1..m_d, n_1..n_d) "
                f"for d={d}, got {len(v)} values"
            )
        return v

    def validate(self, spec: LayerSpec) -> None:
        d = check_modes(spec, minimum_d=1)
        check_rank_count(spec, 2 * d, "one per mode m_1..m_d, n_1..n_d")

    def params(self, spec: LayerSpec) -> int:
        self.validate(spec)
        modes = (*spec.in_shape, *spec.out_shape)
        core = 1
        for r in spec.ranks:
            core *= r
        return core + sum(m * r for m, r in zip(modes, spec.ranks, strict=True))

    def tensors(self, spec: LayerSpec) -> list[tuple[str, Indices]]:
        """``(name, indices)`` of ``U1 .. U<2d>`` then ``C``."""
        d = len(spec.in_shape)
        modes = _mode_names(d)
        out: list[tuple[str, Indices]] = [(f"U{k + 1}", (modes[k], f"r{k + 1}")) for k in range(2 * d)]
        out.append(("C", tuple(f"r{k + 1}" for k in range(2 * d))))
        return out

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        self.validate(spec)
        d = len(spec.in_shape)
        sizes = mode_sizes(spec)
        for k in range(2 * d):
            sizes[f"r{k + 1}"] = spec.ranks[k]
        return linear_networks(x=x_indices(d), y=y_indices(d), weights=self.tensors(spec), sizes=sizes)


class TRFormat(LayerFormat):
    """Tensor ring matrix: cores ``G_k[r_{k-1}, m_k, n_k, r_k]`` closed into a ring.

    Like TTM, but ``r_0 = r_d`` may exceed 1: the boundary index ``r0`` is shared by ``G1``
    (first axis) and ``G<d>`` (last axis), and ``W`` is the trace over it. ``ranks`` has d+1
    entries ``(r_0, .., r_d)`` with ``r_0 = r_d``; internal rank indices are ``r1..r<d-1>``.
    When ``r_0 = 1`` the index is left out and the networks are those of ``ttm``.
    ``dg<k>`` is the gradient of ``G<k>``.
    """

    name = "tr"
    knobs = FormatKnobs(
        family="linear",
        depth=True,
        min_depth=2,
        rank=True,
        rank_structure="(r_0, .., r_d) with r_0 = r_d closing the ring of cores G_k[r_{k-1}, m_k, n_k, r_k]",
    )

    def expand_ranks(self, value: int | Sequence[int], d: int) -> tuple[int, ...]:
        """An int r: all d+1 ranks r (a closed ring); d ranks ``r_0..r_{d-1}`` (``r_d = r_0``
        is appended); or d+1 ranks (``validate`` checks ``r_0 = r_d``)."""
        v = rank_values(value)
        if isinstance(v, int):
            return (v,) * (d + 1)
        if len(v) == d:
            return (*v, v[0])
        if len(v) == d + 1:
            return v
        raise WorkloadError(
            f"format 'tr' takes one integer, {d} ring ranks (r_0..r_{d - 1}) or {d + 1} ranks with "
            f"r_0 = r_{d} for d={d}, got {len(v)} values"
        )

    def validate(self, spec: LayerSpec) -> None:
        d = check_modes(spec, minimum_d=2)
        check_rank_count(spec, d + 1, "r_0..r_d with r_0 = r_d")
        if spec.ranks[0] != spec.ranks[-1]:
            raise WorkloadError(
                f"layer {spec.name!r}: ranks must close the tensor ring (r_0 = r_d), got {list(spec.ranks)}"
            )

    def params(self, spec: LayerSpec) -> int:
        self.validate(spec)
        return chain_params(spec)

    def cores(self, spec: LayerSpec) -> list[tuple[str, Indices]]:
        """``(name, indices)`` of ``G1 .. G<d>`` (the ring index ``r0`` only when ``r_0 > 1``)."""
        return chain_cores(spec, ring=spec.ranks[0] > 1)

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        self.validate(spec)
        d = len(spec.in_shape)
        sizes = mode_sizes(spec)
        for k in range(d):
            sizes[f"r{k}"] = spec.ranks[k]
        return linear_networks(x=x_indices(d), y=y_indices(d), weights=self.cores(spec), sizes=sizes)


class CPFormat(LayerFormat):
    """CP (canonical polyadic) decomposition in TTM layout.

    ``W[(m_1..m_d), (n_1..n_d)] = sum_r A_1[m_1, n_1, r] * .. * A_d[m_d, n_d, r]``: one factor
    ``A<k>[m_k, n_k, r]`` per input/output mode pair, all sharing the rank index ``r`` (a
    hyperedge: it appears in every factor). This is a TTM whose rank matrices are diagonal, so
    CP and TTM layers with the same shapes compare directly. ``ranks = (R,)``.
    ``dg<k>`` is the gradient of ``A<k>``.
    """

    name = "cp"
    knobs = FormatKnobs(
        family="linear",
        depth=True,
        min_depth=1,
        rank=True,
        rank_structure="(R,): one rank shared by the d factors A_k[m_k, n_k, R]",
    )

    def expand_ranks(self, value: int | Sequence[int], d: int) -> tuple[int, ...]:
        """An int R, or a one-element list ``[R]``."""
        v = rank_values(value)
        if isinstance(v, int):
            return (v,)
        if len(v) != 1:
            raise WorkloadError(f"format 'cp' takes one rank R (an integer or [R]), got {len(v)} values")
        return v

    def validate(self, spec: LayerSpec) -> None:
        check_modes(spec, minimum_d=1)
        check_rank_count(spec, 1, "the CP rank R")

    def params(self, spec: LayerSpec) -> int:
        self.validate(spec)
        return spec.ranks[0] * sum(m * n for m, n in zip(spec.in_shape, spec.out_shape, strict=True))

    def factors(self, spec: LayerSpec) -> list[tuple[str, Indices]]:
        """``(name, indices)`` of ``A1 .. A<d>``."""
        return [(f"A{k + 1}", (f"m{k + 1}", f"n{k + 1}", "r")) for k in range(len(spec.in_shape))]

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        self.validate(spec)
        d = len(spec.in_shape)
        sizes = mode_sizes(spec)
        sizes["r"] = spec.ranks[0]
        return linear_networks(x=x_indices(d), y=y_indices(d), weights=self.factors(spec), sizes=sizes)


register_format(TTFormat())
register_format(TuckerFormat())
register_format(TRFormat())
register_format(CPFormat())
