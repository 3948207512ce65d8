"""Tensorized layers compiled to tensor networks, and workloads made of them.

Formats (registry :func:`get_format`): ``dense``, ``ttm`` (in ``_layers``); ``tt``, ``tucker``,
``tr``, ``cp`` (``_formats_tt``); ``embedding``, ``ttm_embedding`` (``_formats_embedding``);
``attention`` (``_formats_attention``); ``conv``, ``ttm_conv`` (``_formats_conv``). Each
module's docstring states its index names and what every network computes. Network labels
are ``forward``, ``dx``, ``dg<k>`` or ``<kind>.<what>`` (:func:`pass_kind`); embeddings have
no ``dx``, attention has two forward and four ``dx`` networks and no ``dg``.
"""

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
