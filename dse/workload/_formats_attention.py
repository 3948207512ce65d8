"""The weight-free matrix products of multi-head attention: ``Q K^T`` and ``A V``.

``in_features`` (= ``out_features``) is the model width ``heads x head_dim``;
``tokens_per_step = sequences x seq_len``. Indices: ``b`` sequences, ``h`` heads, ``s`` query
positions (``seq_len``), ``t`` key positions (``kv_len``, which is ``seq_len`` unless the layer
sets it: one decoded token attending to a KV cache of the context has ``seq_len = 1`` and
``kv_len`` = the context length), ``e`` head dimension. ``Q``, ``K``,
``V`` are ``[b, s|t, h, e]`` (the projection outputs ``[tokens, width]`` reshaped), scores and
probabilities ``[b, h, s, t]``. Scaling by ``1/sqrt(e)`` and the softmax are element-wise and
not modelled.

Networks (labels ``<pass>.<what>``, see :func:`dse.workload.pass_kind`):

- ``forward.qk``: ``Q, K -> S[b, h, s, t]``; ``forward.av``: ``A, V -> O[b, s, h, e]``.
- ``dx.q``: ``dS, K -> dQ``; ``dx.k``: ``dS, Q -> dK`` (the two operand gradients of ``Q K^T``);
  ``dx.a``: ``dO, V -> dA``; ``dx.v``: ``A, dO -> dV`` (the two of ``A V``).
- no ``dg`` network: attention has no weights.
"""

from __future__ import annotations

from dse.workload._formats_common import check_common
from dse.workload._layers import FormatKnobs, LayerFormat, LayerSpec, register_format
from dse.workload._network import TensorNetwork, WorkloadError

QKV = ("b", "s", "h", "e")
KV = ("b", "t", "h", "e")
SCORES = ("b", "h", "s", "t")


class AttentionFormat(LayerFormat):
    """Dense multi-head attention products (no parameters). See the module docstring."""

    name = "attention"
    knobs = FormatKnobs(family="attention")
    has_weights = False

    def validate(self, spec: LayerSpec) -> None:
        check_common(spec)
        if spec.in_shape or spec.out_shape or spec.ranks:
            raise WorkloadError(f"layer {spec.name!r}: format 'attention' takes no in_shape, out_shape or ranks")
        if spec.out_features != spec.in_features:
            raise WorkloadError(
                f"layer {spec.name!r}: attention out_features must equal in_features "
                f"(the model width {spec.in_features}), got {spec.out_features}"
            )
        if spec.heads < 1 or spec.in_features % spec.heads:
            raise WorkloadError(
                f"layer {spec.name!r}: heads must be >= 1 and divide in_features={spec.in_features}, got {spec.heads}"
            )
        if spec.kv_len < 0:
            raise WorkloadError(f"layer {spec.name!r}: kv_len must be >= 1 (or 0 for seq_len), got {spec.kv_len}")
        if spec.seq_len < 1 or spec.tokens_per_step % spec.seq_len:
            raise WorkloadError(
                f"layer {spec.name!r}: seq_len must be >= 1 and divide tokens_per_step="
                f"{spec.tokens_per_step}, got {spec.seq_len}"
            )

    def params(self, spec: LayerSpec) -> int:
        self.validate(spec)
        return 0

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        self.validate(spec)
        sizes = {
            "b": spec.tokens_per_step // spec.seq_len,
            "h": spec.heads,
            "s": spec.seq_len,
            "t": spec.kv_len or spec.seq_len,
            "e": spec.in_features // spec.heads,
        }

        def net(
            label: str,
            a: tuple[str, tuple[str, ...], str],
            b: tuple[str, tuple[str, ...], str],
            out: tuple[str, ...],
        ) -> TensorNetwork:
            return TensorNetwork.build(
                inputs=[a[1], b[1]],
                output=out,
                sizes=sizes,
                names=(a[0], b[0]),
                roles=(a[2], b[2]),
                label=label,
            )

        q = ("Q", QKV, "activation")
        k = ("K", KV, "activation")
        v = ("V", KV, "activation")
        a = ("A", SCORES, "activation")
        ds = ("dS", SCORES, "gradient")
        do = ("dO", QKV, "gradient")
        return (
            net("forward.qk", q, k, SCORES),
            net("forward.av", a, v, QKV),
            net("dx.q", ds, k, QKV),
            net("dx.k", ds, q, KV),
            net("dx.a", do, v, SCORES),
            net("dx.v", a, do, KV),
        )

    def inference_networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        """Both forward products."""
        return self.networks(spec)[:2]


register_format(AttentionFormat())
