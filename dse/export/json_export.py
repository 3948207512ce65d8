"""``json`` target: the full design, its metrics, chosen paths and mappings, in one file.

The ``design`` block re-loads with ``dse evaluate FILE`` to the same numbers.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dse import Design, Metrics
from dse.export._registry import DEFAULT_EXPORT_OPTIONS, ExportOptions, register_exporter

FORMAT_VERSION = 1


def design_record(design: Design, metrics: Metrics) -> dict[str, Any]:
    """The record the ``json`` and ``yaml`` targets write: format version, design, metrics."""
    record = metrics.to_dict()
    for entry, p in zip(record.get("passes", []), metrics.passes, strict=False):
        entry.setdefault("cost", asdict(p.cost))  # every component: what the dashboard's panels draw
    return {
        "tnn_dse_design": FORMAT_VERSION,
        "design": design.to_dict(),
        "metrics": record,
    }


def export_json(
    design: Design, metrics: Metrics, out_dir: Path, stem: str, options: ExportOptions = DEFAULT_EXPORT_OPTIONS
) -> list[Path]:
    """Write ``<stem>.json`` into ``out_dir``; returns the written path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stem}.json"
    record = design_record(design, metrics)
    path.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return [path]


register_exporter("json", export_json)
