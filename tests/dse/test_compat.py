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
