"""Tensorized layers compiled to tensor networks, and workloads made of them."""

from dse.workload._factorize import balance_key, balanced_factorizations, factorizations
from dse.workload._formats_attention import AttentionFormat
from dse.workload._formats_common import TensorFormat, expand_ranks
from dse.workload._formats_conv import ConvFormat, TTMConvFormat, conv_output
from dse.workload._formats_embedding import EmbeddingFormat, TTMEmbeddingFormat
from dse.workload._formats_tt import CPFormat, TRFormat, TTFormat, TuckerFormat
from dse.workload._layers import (
    PASS_DX,
    PASS_FORWARD,
    DenseFormat,
    LayerFormat,
    LayerSpec,
    TTMFormat,
    format_names,
    get_format,
    grad_pass,
    pass_kind,
    register_format,
)
from dse.workload._network import ROLES, TensorNetwork, WorkloadError
from dse.workload._workload import (
    Workload,
    full_ranks,
    load_workload,
    parse_layer,
    parse_workload,
    preset_names,
)

__all__ = [
    "PASS_DX",
    "PASS_FORWARD",
    "ROLES",
    "AttentionFormat",
    "CPFormat",
    "ConvFormat",
    "DenseFormat",
    "EmbeddingFormat",
    "LayerFormat",
    "LayerSpec",
    "TRFormat",
    "TTFormat",
    "TTMConvFormat",
    "TTMEmbeddingFormat",
    "TTMFormat",
    "TensorFormat",
    "TensorNetwork",
    "TuckerFormat",
    "Workload",
    "WorkloadError",
    "balance_key",
    "balanced_factorizations",
    "conv_output",
    "expand_ranks",
    "factorizations",
    "format_names",
    "full_ranks",
    "get_format",
    "grad_pass",
    "load_workload",
    "parse_layer",
    "parse_workload",
    "pass_kind",
    "preset_names",
    "register_format",
]
