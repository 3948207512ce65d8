"""Registry of exporters: one module per target, one function each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dse._design import Design, Metrics
from dse._errors import DSEError

Exporter = Callable[[Design, Metrics, Path, str], list[Path]]
"""``(design, metrics, out_dir, stem) -> files written``."""

_EXPORTERS: dict[str, Exporter] = {}


class ExportError(DSEError):
    """A design cannot be exported to a target (the message says why)."""


def register_exporter(name: str, fn: Exporter) -> None:
    """Make ``fn`` available as ``dse export --target name``."""
    _EXPORTERS[name] = fn


def get_exporter(name: str) -> Exporter:
    """The exporter registered as ``name``."""
    try:
        return _EXPORTERS[name]
    except KeyError:
        raise ExportError(f"unknown export target {name!r}; expected one of {sorted(_EXPORTERS)}") from None


def exporter_names() -> tuple[str, ...]:
    """Registered targets."""
    return tuple(sorted(_EXPORTERS))
