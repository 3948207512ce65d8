"""Users' files keep working: the study, space and workload files shipped on 2026-11-29 (copied
verbatim into tests/data/compat_2026_11_29) load, keep their fingerprints (so their run folders
resume) and run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dse.config import load_study_config
from dse.study import run_study
from dse.workload import load_workload

DATA = Path(__file__).parents[1] / "data" / "compat_2026_11_29"
STUDIES = sorted((DATA / "studies").glob("*.yaml"))
WORKLOADS = sorted((DATA / "workloads").glob("*.yaml"))
FINGERPRINTS: dict[str, str] = json.loads((DATA / "fingerprints.json").read_text())


def test_snapshot_is_complete() -> None:
    assert len(STUDIES) == len(FINGERPRINTS) == 10
    assert len(WORKLOADS) == 7


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_study_of_2026_11_29_loads_with_its_fingerprint_and_runs(path: Path, tmp_path: Path) -> None:
    cfg = load_study_config(path, overrides={"run_dir": tmp_path / "run", "n_trials": 2})
    assert cfg.fingerprint() == FINGERPRINTS[path.name]  # an old run folder is still this study
    done = run_study(cfg, progress=False)
    assert done.summary.completed + done.summary.failed == 2
    assert done.summary.completed >= 1


@pytest.mark.parametrize("path", WORKLOADS, ids=lambda p: p.stem)
def test_workload_file_of_2026_11_29_loads(path: Path) -> None:
    workload = load_workload(str(path))
    assert workload.layers and workload.params() > 0


def test_a_design_record_reads_as_text_or_as_the_dict_earlier_studies_stored() -> None:
    """A trial's design is stored as JSON text since 2026-11-30 (``user_attrs["design"]``);
    studies before stored the dict. ``Design.from_dict`` and ``design_record`` read both, and
    the trials table's ``design_json`` column is the same text for both; text that is not a
    JSON object is a clear error."""
    from dse import Design, DSEError, design_record
    from dse.outputs import _design_json

    record = {
        "mode": "inference",
        "path_policy": "mac_optimal",
        "path_optimizer": "dp",
        "mapping_objective": "latency",
        "execution": "unfused",
        "path_choices": {},
        "hardware": {
            "engine": "systolic",
            "pe_rows": 8,
            "pe_cols": 8,
            "ifmap_sram_kb": 16.0,
            "filter_sram_kb": 16.0,
            "ofmap_sram_kb": 16.0,
            "dram_bw_bytes_per_cycle": 8.0,
            "dataflows": ["ws"],
        },
        "workload": {
            "name": "w",
            "batch": 2,
            "seq_len": 1,
            "layers": [{"name": "fc", "format": "dense", "in_features": 8, "out_features": 4}],
        },
    }
    text = json.dumps(record, sort_keys=True)
    assert Design.from_dict(text) == Design.from_dict(record)
    assert design_record(text) == record and design_record(record) is record
    assert _design_json(text) == _design_json(record) == text
    with pytest.raises(DSEError, match="invalid JSON"):
        Design.from_dict("{not json", source="trial 3")
    with pytest.raises(DSEError, match="expected an object"):
        design_record("[1, 2]")
