"""Tensorized layers compiled to tensor networks, and workloads made of them.

Formats (registry :func:`get_format`): ``dense``, ``ttm`` (in ``_layers``); ``tt``, ``tucker``,
``tr``, ``cp`` (``_formats_tt``); ``lowrank``, ``lora`` (``_formats_lowrank``); ``embedding``,
``ttm_embedding`` (``_formats_embedding``); ``attention`` (``_formats_attention``); ``conv``,
``ttm_conv`` (``_formats_conv``). Each module's docstring states its index names and what every
network computes. Network labels are ``forward``, ``dx``, ``dg<k>`` or ``<kind>.<what>``
(:func:`pass_kind`); embeddings have no ``dx``, attention has two forward and four ``dx``
networks and no ``dg``, ``lora`` has two forward and two ``dx`` networks (frozen weight and
adapter) and a ``dg`` per adapter factor.

Every format is a plug-in (:class:`LayerFormat`) that declares

- its search knobs, :attr:`LayerFormat.knobs` (:class:`FormatKnobs`: family, depth/shapes,
  rank); :func:`format_names` filters by them;
- its rank expansion, :meth:`LayerFormat.expand_ranks` (one integer or a list -> the rank
  vector stored in :attr:`LayerSpec.ranks`), the only one: YAML, space and CLI call it;
- its parameter counts, :meth:`LayerFormat.params` (stored) and
  :meth:`LayerFormat.trainable_params`;
- :meth:`LayerFormat.configure`: a layer set to this format with given knob values, validated.
"""

from dse.workload._factorize import balance_key, balanced_factorizations, factorizations
from dse.workload._formats_attention import AttentionFormat
from dse.workload._formats_common import expand_ranks
from dse.workload._formats_conv import ConvFormat, TTMConvFormat, conv_output
from dse.workload._formats_embedding import EmbeddingFormat, TTMEmbeddingFormat
from dse.workload._formats_lowrank import LoRAFormat, LowRankFormat
from dse.workload._formats_tt import CPFormat, TRFormat, TTFormat, TuckerFormat
from dse.workload._layers import (
    FORMATS,
    PASS_DX,
    PASS_FORWARD,
    DenseFormat,
    FormatKnobs,
    LayerFormat,
    LayerSpec,
    TTMFormat,
    WeightRef,
    format_names,
    get_format,
    grad_pass,
    pass_kind,
    register_format,
)
from dse.workload._network import ROLES, TensorNetwork, WorkloadError
from dse.workload._workload import (
    Workload,
    load_workload,
    parse_layer,
    parse_workload,
    preset_names,
    split_layer_error,
)

__all__ = [
    "FORMATS",
    "PASS_DX",
    "PASS_FORWARD",
    "ROLES",
    "AttentionFormat",
    "CPFormat",
    "ConvFormat",
    "DenseFormat",
    "EmbeddingFormat",
    "FormatKnobs",
    "LayerFormat",
    "LayerSpec",
    "LoRAFormat",
    "LowRankFormat",
    "TRFormat",
    "TTFormat",
    "TTMConvFormat",
    "TTMEmbeddingFormat",
    "TTMFormat",
    "TensorNetwork",
    "TuckerFormat",
    "WeightRef",
    "Workload",
    "WorkloadError",
    "balance_key",
    "balanced_factorizations",
    "conv_output",
    "expand_ranks",
    "factorizations",
    "format_names",
    "get_format",
    "grad_pass",
    "load_workload",
    "parse_layer",
    "parse_workload",
    "pass_kind",
    "preset_names",
    "register_format",
    "split_layer_error",
]
