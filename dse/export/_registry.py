"""Registry of exporters: one module per target, one function each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from analytical_models import Registry
from dse import Design, DSEError, Metrics

Exporter = Callable[[Design, Metrics, Path, str], list[Path]]
"""``(design, metrics, out_dir, stem) -> files written``."""


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
