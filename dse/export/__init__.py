"""Exporters of chosen designs to files that hardware generators and simulators read."""

from dse.export import json_export as _json_export  # noqa: F401  (registers "json")
from dse.export._registry import (
    Exporter,
    ExportError,
    exporter_names,
    get_exporter,
    register_exporter,
)

__all__ = ["ExportError", "Exporter", "exporter_names", "get_exporter", "register_exporter"]
