"""Shared pieces of the tensorized layer formats: rank layouts, shape checks, linear networks.

Every weight format here stores ``W[(m_1..m_d), (n_1..n_d)]`` (row-major flattening of the
input modes ``m`` and of the output modes ``n``) as a network of small tensors. Its passes are

- ``forward``: ``x[b, m_1..m_d]`` and the weight tensors -> ``y[b, n_1..n_d]``;
- ``dx``: ``dy[b, n_1..n_d]`` and the weight tensors -> ``dx[b, m_1..m_d]``;
- ``dg<k>``: ``x``, ``dy`` and every weight tensor but the k-th -> the gradient of the k-th
  (same indices as the k-th weight tensor).

Index ``b`` is the token (row) index of size ``tokens_per_step``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dse.workload._layers import LayerSpec, get_format
from dse.workload._network import WorkloadError


def expand_ranks(fmt: str, value: int | Sequence[int], d: int) -> tuple[int, ...]:
    """``get_format(fmt).expand_ranks(value, d)``: the rank vector of format ``fmt`` for ``d`` modes.

    A shorthand; the expansion itself is the format's :meth:`LayerFormat.expand_ranks`.
    """
    return get_format(fmt).expand_ranks(value, d)


def check_common(spec: LayerSpec) -> None:
    """Sizes and token count are positive."""
    if spec.in_features < 1:
        raise WorkloadError(f"layer {spec.name!r}: in_features must be >= 1, got {spec.in_features}")
    if spec.out_features < 1:
        raise WorkloadError(f"layer {spec.name!r}: out_features must be >= 1, got {spec.out_features}")
    if spec.tokens_per_step < 1:
        raise WorkloadError(f"layer {spec.name!r}: tokens_per_step must be >= 1, got {spec.tokens_per_step}")


def check_shape(spec: LayerSpec, field: str, shape: Sequence[int], features: int, d: int) -> None:
    """``shape`` has ``d`` factors >= 1 whose product is ``features``."""
    feature_field = "in_features" if field == "in_shape" else "out_features"
    if len(shape) != d:
        raise WorkloadError(f"layer {spec.name!r}: {field} must have {d} factors, got {list(shape)}")
    if any(f < 1 for f in shape):
        raise WorkloadError(f"layer {spec.name!r}: {field} factors must be >= 1, got {list(shape)}")
    if math.prod(shape) != features:
        raise WorkloadError(
            f"layer {spec.name!r}: {field} {list(shape)} multiplies to {math.prod(shape)}, "
            f"expected {feature_field}={features}"
        )


def check_modes(spec: LayerSpec, *, minimum_d: int = 2) -> int:
    """Common checks of a tensorized layer: returns d, the number of input (= output) modes."""
    check_common(spec)
    d = len(spec.in_shape)
    if d < minimum_d:
        raise WorkloadError(
            f"layer {spec.name!r}: in_shape needs at least {minimum_d} factors, got {list(spec.in_shape)}"
        )
    check_shape(spec, "in_shape", spec.in_shape, spec.in_features, d)
    check_shape(spec, "out_shape", spec.out_shape, spec.out_features, d)
    return d


def check_rank_count(spec: LayerSpec, count: int, what: str) -> None:
    """``spec.ranks`` has ``count`` entries, all >= 1."""
    if len(spec.ranks) != count:
        raise WorkloadError(
            f"layer {spec.name!r}: ranks must have {count} entries ({what}), got {len(spec.ranks)}: {list(spec.ranks)}"
        )
    if any(r < 1 for r in spec.ranks):
        raise WorkloadError(f"layer {spec.name!r}: ranks must be >= 1, got {list(spec.ranks)}")


def mode_sizes(spec: LayerSpec) -> dict[str, int]:
    """Sizes of ``b``, ``m1..md`` and ``n1..nd``."""
    sizes = {"b": spec.tokens_per_step}
    for k, (m, n) in enumerate(zip(spec.in_shape, spec.out_shape, strict=True)):
        sizes[f"m{k + 1}"] = m
        sizes[f"n{k + 1}"] = n
    return sizes
