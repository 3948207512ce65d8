"""Embedding tables: a plain lookup table and a TT-matrix (TT-Rec style) table.

A lookup is a row gather, not a product with a one-hot input, so these networks contain no
``x`` operand and no ``dx`` pass (token ids have no gradient): the tuple is
``(forward, dg1, .., dgd)``. ``in_features`` is the vocabulary (table rows), ``out_features``
the embedding dimension, ``tokens_per_step`` the number of lookups per step.
"""

from __future__ import annotations

from collections.abc import Sequence

from dse.workload._formats_common import check_common
from dse.workload._layers import (
    PASS_FORWARD,
    FormatKnobs,
    Indices,
    LayerFormat,
    LayerSpec,
    TTMFormat,
    chain_ranks,
    grad_pass,
    register_format,
)
from dse.workload._network import TensorNetwork, WorkloadError


def _no_shapes(spec: LayerSpec, fmt: str) -> None:
    for field, value in (("in_shape", spec.in_shape), ("out_shape", spec.out_shape), ("ranks", spec.ranks)):
        if value:
            raise WorkloadError(f"layer {spec.name!r}: format {fmt!r} takes no {field}, got {list(value)}")


class EmbeddingFormat(LayerFormat):
    """A dense table ``E[vocab, dim]``; a lookup gathers ``tokens`` rows.

    Networks (index ``b``: lookups, ``n``: embedding dimension):

    - ``forward``: ``E_rows[b, n] -> y[b, n]``, one input, no contraction: the gathered rows are
      the output (zero MACs; the cost is reading ``tokens x dim`` table entries).
    - ``dg1``: ``dy[b, n] -> dE_rows[b, n]``, the per-lookup row gradients, which are
      scatter-added into ``E`` (at most ``tokens x dim`` additions, outside the network).
    """

    name = "embedding"
    knobs = FormatKnobs(family="embedding")

    def validate(self, spec: LayerSpec) -> None:
        check_common(spec)
        _no_shapes(spec, self.name)

    def params(self, spec: LayerSpec) -> int:
        self.validate(spec)
        return spec.in_features * spec.out_features

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        self.validate(spec)
        sizes = {"b": spec.tokens_per_step, "n": spec.out_features}
        fwd = TensorNetwork.build(
            inputs=[("b", "n")],
            output=("b", "n"),
            sizes=sizes,
            names=("E_rows",),
            roles=("weight",),
            label=PASS_FORWARD,
        )
        dg = TensorNetwork.build(
            inputs=[("b", "n")],
            output=("b", "n"),
            sizes=sizes,
            names=("dy",),
            roles=("gradient",),
            label=grad_pass(1),
        )
        return fwd, dg


class TTMEmbeddingFormat(LayerFormat):
    """A TT-matrix table (TT-Rec, TT-embedding): ``E[(p_1..p_d), (q_1..q_d)] = G_1 .. G_d``.

    ``in_shape = (p_1..p_d)`` factors the vocabulary, ``out_shape = (q_1..q_d)`` the embedding
    dimension, cores ``G_k[r_{k-1}, p_k, q_k, r_k]`` with ``r_0 = r_d = 1`` (as ``ttm``). Row
    ``i`` has mixed-radix digits ``(i_1..i_d)`` (row-major over ``p``) and
    ``E[i, :] = G_1[:, i_1, :, :] .. G_d[:, i_d, :, :]``.

    Model: the gather is free address generation; what is contracted is, per core, a
    batch-of-slices tensor ``S<k>[b, r<k-1>, n<k>, r<k>] = G_k[r_{k-1}, p_k(i_b), q_k, r_k]``
    (boundary ranks left out). Index ``b`` is shared by every slice (a hyperedge: each lookup
    contracts its own chain), ``n<k>`` has size ``q_k``, ``r<k>`` size ``r_k``.

    - ``forward``: ``S1 .. S<d> -> y[b, n1..nd]``.
    - ``dg<k>``: ``dy[b, n1..nd]`` and every slice but ``S<k>`` -> ``dS<k>`` with the indices of
      ``S<k>``: per-lookup slice gradients, scatter-added into ``G_k`` at ``p_k(i_b)``
      (outside the network).
    """

    name = "ttm_embedding"
    knobs = FormatKnobs(
        family="embedding", depth=True, min_depth=2, rank=True, rank_structure=TTMFormat.knobs.rank_structure
    )

    def expand_ranks(self, value: int | Sequence[int], d: int) -> tuple[int, ...]:
        """As ``ttm``: an int r gives ``(1, r, .., r, 1)``; d-1 internal or d+1 full ranks."""
        return chain_ranks(value, d, cores=d, fmt=self.name)

    def validate(self, spec: LayerSpec) -> None:
        TTMFormat().validate(spec)

    def params(self, spec: LayerSpec) -> int:
        return TTMFormat().params(spec)

    def slices(self, spec: LayerSpec) -> list[tuple[str, Indices]]:
        """``(name, indices)`` of the slice tensors ``S1 .. S<d>``."""
        d = len(spec.in_shape)
        out: list[tuple[str, Indices]] = []
        for k in range(d):
            idx = ["b"]
            if k > 0:
                idx.append(f"r{k}")
            idx.append(f"n{k + 1}")
            if k < d - 1:
                idx.append(f"r{k + 1}")
            out.append((f"S{k + 1}", tuple(idx)))
        return out

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        self.validate(spec)
        d = len(spec.in_shape)
        sizes: dict[str, int] = {"b": spec.tokens_per_step}
        for k in range(d):
            sizes[f"n{k + 1}"] = spec.out_shape[k]
        for k in range(1, d):
            sizes[f"r{k}"] = spec.ranks[k]
        slices = self.slices(spec)
        y = ("b", *(f"n{k + 1}" for k in range(d)))
        nets = [
            TensorNetwork.build(
                inputs=[t for _, t in slices],
                output=y,
                sizes=sizes,
                names=tuple(n for n, _ in slices),
                roles=("core",) * d,
                label=PASS_FORWARD,
            )
        ]
        for k in range(d):
            others = [s for j, s in enumerate(slices) if j != k]
            nets.append(
                TensorNetwork.build(
                    inputs=[y, *(t for _, t in others)],
                    output=slices[k][1],
                    sizes=sizes,
                    names=("dy", *(n for n, _ in others)),
                    roles=("gradient", *["core"] * (d - 1)),
                    label=grad_pass(k + 1),
                )
            )
        return tuple(nets)


register_format(EmbeddingFormat())
register_format(TTMEmbeddingFormat())
