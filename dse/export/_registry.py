"""Registry of exporters: one module per target, one function each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from analytical_models import Registry
from dse import Design, DSEError, Metrics

DEFAULT_FPGA_PART = "xcu250-figd2104-2L-e"
"""FPGA part of the ``hls`` target unless ``--fpga-part`` says otherwise (an Alveo U250)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportOptions:
    """What an export needs beyond the design (``dse export`` options).

    Attributes:
        fpga_part: the FPGA part an ``hls`` export synthesizes for (``dse export --fpga-part``).
    """

    fpga_part: str = DEFAULT_FPGA_PART


DEFAULT_EXPORT_OPTIONS = ExportOptions()


class Exporter(Protocol):
    """``(design, metrics, out_dir, stem, options) -> files written``."""

    def __call__(
        self, design: Design, metrics: Metrics, out_dir: Path, stem: str, options: ExportOptions = ...
    ) -> list[Path]: ...


class ExportError(DSEError):
    """A design cannot be exported to a target (the message says why)."""


EXPORTERS: Registry[Exporter] = Registry("export target", error=ExportError)
"""Export targets by name (``dse export --target``)."""


def register_exporter(name: str, fn: Exporter) -> None:
    """Make ``fn`` available as ``dse export --target name`` (a second registration is refused)."""
    EXPORTERS.register(name, fn)


def get_exporter(name: str) -> Exporter:
    """The exporter registered as ``name`` (:class:`ExportError` naming the targets otherwise)."""
    return EXPORTERS.get(name)


def exporter_names() -> tuple[str, ...]:
    """Registered targets."""
    return EXPORTERS.names()
