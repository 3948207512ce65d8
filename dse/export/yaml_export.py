"""``yaml`` target: the same record as the ``json`` target, written as YAML.

``<stem>.yaml`` holds ``tnn_dse_design`` (format version), ``design`` (reloads with
:meth:`dse._design.Design.from_dict`) and ``metrics``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from dse import Design, Metrics
from dse.export._registry import DEFAULT_EXPORT_OPTIONS, ExportOptions, register_exporter
from dse.export.json_export import design_record


def export_yaml(
    design: Design, metrics: Metrics, out_dir: Path, stem: str, options: ExportOptions = DEFAULT_EXPORT_OPTIONS
) -> list[Path]:
    """Write ``<stem>.yaml`` into ``out_dir``; returns the written path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stem}.yaml"
    record = design_record(design, metrics)
    path.write_text(yaml.safe_dump(record, sort_keys=False, default_flow_style=None), encoding="utf-8")
    return [path]


register_exporter("yaml", export_yaml)
