"""Exporters of chosen designs to files that hardware generators and simulators read."""

from dse.export import gemmini as _gemmini  # noqa: F401  (registers "gemmini")
from dse.export import hls as _hls  # noqa: F401  (registers "hls")
from dse.export import json_export as _json_export  # noqa: F401  (registers "json")
from dse.export import scalesim as _scalesim  # noqa: F401  (registers "scalesim")
from dse.export import timeloop as _timeloop  # noqa: F401  (registers "timeloop")
from dse.export import verilog as _verilog  # noqa: F401  (registers "verilog")
from dse.export import yaml_export as _yaml_export  # noqa: F401  (registers "yaml")
from dse.export import zigzag as _zigzag  # noqa: F401  (registers "zigzag")
from dse.export._registry import (
    DEFAULT_EXPORT_OPTIONS,
    DEFAULT_FPGA_PART,
    EXPORTERS,
    Exporter,
    ExportError,
    ExportOptions,
    exporter_names,
    get_exporter,
    register_exporter,
)

__all__ = [
    "DEFAULT_EXPORT_OPTIONS",
    "DEFAULT_FPGA_PART",
    "EXPORTERS",
    "ExportError",
    "ExportOptions",
    "Exporter",
    "exporter_names",
    "get_exporter",
    "register_exporter",
]
