"""Convolutions lowered to im2col GEMMs: ``conv`` (dense kernel) and ``ttm_conv`` (TTM kernel).

The im2col matrix has one row per output pixel and image (``tokens_per_step`` = batch x
``H_out`` x ``W_out``) and one column per ``(c_in, i, j)`` kernel tap, flattened row-major
(channels outermost, as a ``[C_out, C_in, kh, kw]`` kernel reshaped to ``[C_out, C_in*kh*kw]``),
so ``in_features = in_channels x kh x kw`` and ``out_features = C_out``. The networks are those
of ``dense`` / ``ttm`` on that matrix; building im2col and the col2im scatter-add of ``dx``
are data movement, not MACs, and are outside the networks. For ``ttm_conv``, ``in_shape``
factors the flattened ``(c_in, i, j)`` axis (e.g. ``[C_in factors.., kh*kw]``).
"""

from __future__ import annotations

from collections.abc import Sequence

from dse.workload._formats_common import check_common
from dse.workload._layers import (
    DenseFormat,
    FormatKnobs,
    LayerFormat,
    LayerSpec,
    TTMFormat,
    chain_ranks,
    register_format,
)
from dse.workload._network import TensorNetwork, WorkloadError


def conv_output(image: Sequence[int], kernel: Sequence[int], stride: int, padding: int) -> tuple[int, int]:
    """Output feature-map size ``(H_out, W_out)``; a dimension may come out < 1."""
    h = (image[0] + 2 * padding - kernel[0]) // stride + 1
    w = (image[1] + 2 * padding - kernel[1]) // stride + 1
    return h, w


def check_conv(spec: LayerSpec) -> tuple[int, int]:
    """Convolution fields are consistent; returns ``(H_out, W_out)``."""
    check_common(spec)
    name = spec.name
    if spec.in_channels < 1:
        raise WorkloadError(f"layer {name!r}: in_channels must be >= 1, got {spec.in_channels}")
    if len(spec.kernel) != 2 or any(k < 1 for k in spec.kernel):
        raise WorkloadError(f"layer {name!r}: kernel must be [kh, kw] with both >= 1, got {list(spec.kernel)}")
    if len(spec.image) != 2 or any(s < 1 for s in spec.image):
        raise WorkloadError(f"layer {name!r}: image must be [H, W] with both >= 1, got {list(spec.image)}")
    if spec.stride < 1:
        raise WorkloadError(f"layer {name!r}: stride must be >= 1, got {spec.stride}")
    if spec.padding < 0:
        raise WorkloadError(f"layer {name!r}: padding must be >= 0, got {spec.padding}")
    taps = spec.in_channels * spec.kernel[0] * spec.kernel[1]
    if spec.in_features != taps:
        raise WorkloadError(
            f"layer {name!r}: in_features must be in_channels x kh x kw = {taps}, got {spec.in_features}"
        )
    h, w = conv_output(spec.image, spec.kernel, spec.stride, spec.padding)
    if h < 1 or w < 1:
        raise WorkloadError(
            f"layer {name!r}: kernel {list(spec.kernel)} does not fit image {list(spec.image)} "
            f"(stride {spec.stride}, padding {spec.padding})"
        )
    if spec.tokens_per_step % (h * w):
        raise WorkloadError(
            f"layer {name!r}: tokens_per_step={spec.tokens_per_step} must be batch x H_out x "
            f"W_out, a multiple of {h * w}"
        )
    return h, w


class ConvFormat(LayerFormat):
    """A dense convolution as an im2col GEMM; networks and index names are those of ``dense``."""

    name = "conv"
    knobs = FormatKnobs(family="conv")

    def validate(self, spec: LayerSpec) -> None:
        check_conv(spec)
        if spec.in_shape or spec.out_shape or spec.ranks:
            raise WorkloadError(
                f"layer {spec.name!r}: format 'conv' takes no in_shape, out_shape or ranks (use ttm_conv)"
            )

    def params(self, spec: LayerSpec) -> int:
        self.validate(spec)
        return spec.in_features * spec.out_features

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        self.validate(spec)
        return DenseFormat().networks(spec)


class TTMConvFormat(LayerFormat):
    """A TTM kernel on the im2col matrix (TT-conv); networks and indices are those of ``ttm``."""

    name = "ttm_conv"
    knobs = FormatKnobs(
        family="conv", depth=True, min_depth=2, rank=True, rank_structure=TTMFormat.knobs.rank_structure
    )

    def expand_ranks(self, value: int | Sequence[int], d: int) -> tuple[int, ...]:
        """As ``ttm``: an int r gives ``(1, r, .., r, 1)``; d-1 internal or d+1 full ranks."""
        return chain_ranks(value, d, cores=d, fmt=self.name)

    def validate(self, spec: LayerSpec) -> None:
        check_conv(spec)
        TTMFormat().validate(spec)

    def params(self, spec: LayerSpec) -> int:
        self.validate(spec)
        return TTMFormat().params(spec)

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        self.validate(spec)
        return TTMFormat().networks(spec)


register_format(ConvFormat())
register_format(TTMConvFormat())
