"""The low-rank family: a factorized weight (``lowrank``) and a frozen weight with a LoRA adapter.

Both keep the matrix view of the layer, ``W[m, n]`` with ``m = in_features`` and
``n = out_features``; no ``in_shape``/``out_shape``. ``ranks = (r,)``. Index names: ``b``
(tokens, ``tokens_per_step``), ``m`` (input features), ``n`` (output features), ``r`` (rank).

``lowrank``: ``W = U V`` with ``U[m, r]``, ``V[r, n]`` (training-free low-rank compression by a
truncated SVD, or a layer trained in factorized form). Networks, as every weight format
(:func:`dse.workload._layers.linear_networks`):

- ``forward``: ``x[b, m], U, V -> y[b, n]``;
- ``dx``: ``dy[b, n], U, V -> dx[b, m]``;
- ``dg1``: ``x, dy, V -> dU[m, r]``; ``dg2``: ``x, dy, U -> dV[r, n]``.

``lora`` (Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR 2022): a frozen
dense ``W[m, n]`` plus a trainable adapter ``A[m, r]``, ``B[r, n]``; ``y = x W + (x A) B`` (the
scale ``alpha / r`` of the adapter path and the sum of the two paths are element-wise, not MACs,
and are not modelled). The sum is not one tensor network, so each pass that goes through the
weight has two networks (labels ``<kind>.<what>``, see :func:`dse.workload.pass_kind`):

- ``forward.base``: ``x, W -> y``; ``forward.adapter``: ``x, A, B -> y``;
- ``dx.base``: ``dy, W -> dx``; ``dx.adapter``: ``dy, A, B -> dx`` (the input gradient is the
  sum of both);
- ``dg1``: ``x, dy, B -> dA[m, r]``; ``dg2``: ``x, dy, A -> dB[r, n]``. ``W`` is frozen: there
  is no ``dW`` network. ``dg<k>`` numbers the *trainable* tensors.

Parameter counts of ``lora``: :meth:`LoRAFormat.params` counts what the layer **stores**, the
frozen ``W`` and the adapter, ``m n + r (m + n)``, so a LoRA layer's compression
(``dense_params / params``) is slightly below 1: LoRA saves optimizer state and gradient
traffic, not weight storage. :meth:`LoRAFormat.trainable_params` counts the adapter only,
``r (m + n)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dse.workload._formats_common import check_common, check_rank_count
from dse.workload._layers import (
    PASS_DX,
    PASS_FORWARD,
    FormatKnobs,
    LayerFormat,
    LayerSpec,
    linear_networks,
    rank_values,
    register_format,
)
from dse.workload._network import TensorNetwork, WorkloadError

_X = ("b", "m")
_Y = ("b", "n")


def _one_rank(fmt: str, value: int | Sequence[int]) -> tuple[int, ...]:
    v = rank_values(value)
    if isinstance(v, int):
        return (v,)
    if len(v) != 1:
        raise WorkloadError(f"format {fmt!r} takes one rank r (an integer or [r]), got {len(v)} values")
    return v


def _check_matrix(spec: LayerSpec) -> None:
    """Common checks of the low-rank family: sizes, no shapes, one rank ``r >= 1``."""
    check_common(spec)
    for field, value in (("in_shape", spec.in_shape), ("out_shape", spec.out_shape)):
        if value:
            raise WorkloadError(
                f"layer {spec.name!r}: {field} is not taken by format {spec.format!r} (a matrix format), "
                f"got {list(value)}"
            )
    check_rank_count(spec, 1, "the rank r")


def _sizes(spec: LayerSpec) -> dict[str, int]:
    return {"b": spec.tokens_per_step, "m": spec.in_features, "n": spec.out_features, "r": spec.ranks[0]}


class LowRankFormat(LayerFormat):
    """``W[m, n] = U[m, r] V[r, n]``; see the module docstring for the networks.

    ``params = r (m + n)`` (a rank above ``min(m, n)`` is allowed; it only wastes parameters).
    """

    name = "lowrank"
    knobs = FormatKnobs(family="linear", rank=True, rank_structure="(r,): U[in, r] V[r, out]")

    def expand_ranks(self, value: int | Sequence[int], d: int) -> tuple[int, ...]:
        """An int r or ``[r]`` -> ``(r,)`` (``d`` is ignored: the format has no modes)."""
        return _one_rank(self.name, value)

    def validate(self, spec: LayerSpec) -> None:
        _check_matrix(spec)

    def params(self, spec: LayerSpec) -> int:
        self.validate(spec)
        return spec.ranks[0] * (spec.in_features + spec.out_features)

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        self.validate(spec)
        weights = [("U", ("m", "r")), ("V", ("r", "n"))]
        return linear_networks(x=_X, y=_Y, weights=weights, sizes=_sizes(spec))


class LoRAFormat(LayerFormat):
    """Frozen ``W[m, n]`` plus a trainable adapter ``A[m, r] B[r, n]``; see the module docstring.

    ``params = m n + r (m + n)`` (stored), ``trainable_params = r (m + n)``.
    """

    name = "lora"
    knobs = FormatKnobs(family="linear", rank=True, rank_structure="(r,): frozen W[in, out] + A[in, r] B[r, out]")

    def expand_ranks(self, value: int | Sequence[int], d: int) -> tuple[int, ...]:
        """An int r or ``[r]`` -> ``(r,)`` (``d`` is ignored: the format has no modes)."""
        return _one_rank(self.name, value)

    def validate(self, spec: LayerSpec) -> None:
        _check_matrix(spec)

    def params(self, spec: LayerSpec) -> int:
        """Stored parameters: the frozen dense weight and the adapter, ``m n + r (m + n)``."""
        return spec.in_features * spec.out_features + self.trainable_params(spec)

    def trainable_params(self, spec: LayerSpec) -> int:
        """Adapter parameters ``r (m + n)`` (the only ones a fine-tuning step updates)."""
        self.validate(spec)
        return spec.ranks[0] * (spec.in_features + spec.out_features)

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        """``forward.base``, ``forward.adapter``, ``dx.base``, ``dx.adapter``, ``dg1`` (dA), ``dg2`` (dB)."""
        self.validate(spec)
        sizes = _sizes(spec)
        base = linear_networks(x=_X, y=_Y, weights=[("W", ("m", "n"))], sizes=sizes, role="weight")
        adapter = linear_networks(x=_X, y=_Y, weights=[("A", ("m", "r")), ("B", ("r", "n"))], sizes=sizes)
        return (
            replace(base[0], label=f"{PASS_FORWARD}.base"),
            replace(adapter[0], label=f"{PASS_FORWARD}.adapter"),
            replace(base[1], label=f"{PASS_DX}.base"),
            replace(adapter[1], label=f"{PASS_DX}.adapter"),
            *adapter[2:],
        )

    def inference_networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        """Both forward networks (an un-merged adapter; a merged one is a ``dense`` layer)."""
        return self.networks(spec)[:2]


register_format(LowRankFormat())
register_format(LoRAFormat())
