"""Every target is registered, writes files named after the stem, and yaml == json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dse import Design, Metrics
from dse.export import exporter_names, get_exporter

TARGETS = ("gemmini", "hls", "json", "scalesim", "timeloop", "verilog", "yaml", "zigzag")


def test_all_targets_registered() -> None:
    assert set(TARGETS) <= set(exporter_names())


@pytest.mark.parametrize("target", TARGETS)
def test_files_named_after_stem(target: str, design_metrics: tuple[Design, Metrics], tmp_path: Path) -> None:
    design, metrics = design_metrics
    written = get_exporter(target)(design, metrics, tmp_path, "trial_7")
    assert written, target
    for path in written:
        assert path.is_file() and path.parent == tmp_path
        assert path.name.startswith("trial_7"), path.name
        assert path.stat().st_size > 0


def test_yaml_same_content_as_json(design_metrics: tuple[Design, Metrics], tmp_path: Path) -> None:
    design, metrics = design_metrics
    (jpath,) = get_exporter("json")(design, metrics, tmp_path, "d")
    (ypath,) = get_exporter("yaml")(design, metrics, tmp_path, "d")
    assert ypath.name == "d.yaml"
    from_yaml = yaml.safe_load(ypath.read_text())
    from_json = json.loads(jpath.read_text())
    assert from_yaml == from_json
    assert Design.from_dict(from_yaml["design"]) == design
