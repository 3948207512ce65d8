"""Exports on a study's evaluation processes (``export_designs(..., evaluator=...)``, what
``dse run --n-jobs N`` writes its front with) are the exports written here one by one: the same
files byte for byte, the same refusals, the first refusal raised when nothing collects them; a
closed evaluator exports here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dse.config import load_study_config
from dse.export import ExportError
from dse.outputs import export_designs
from dse.study import Evaluator, complete_trials, run_study
from tests.dse.tiny_study import write_study


def _files(paths: list[Path]) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in paths]


def test_exports_on_the_study_processes_are_the_exports_written_here(tmp_path: Path) -> None:
    study_file = write_study(tmp_path, sampler="{name: random, seed: 3}", n_trials=10)
    cfg = load_study_config(study_file, overrides={"run_dir": tmp_path / "run"})
    evaluator = Evaluator(2, "loky", None)
    try:
        study = run_study(cfg, n_jobs=2, progress=False, evaluator=evaluator).study
        numbers = [t.number for t in complete_trials(study)]
        assert len(numbers) == 10 and not evaluator.closed  # (left open by the run)
        here = export_designs(study, numbers, "json", tmp_path / "a")
        there = export_designs(study, numbers, "json", tmp_path / "b", evaluator=evaluator)
        refused_here: dict[int, str] = {}
        refused_there: dict[int, str] = {}
        g_here = export_designs(study, numbers, "gemmini", tmp_path / "c", refused_here)
        g_there = export_designs(study, numbers, "gemmini", tmp_path / "d", refused_there, evaluator=evaluator)
    finally:
        evaluator.close()
    assert len(here) >= 5 and _files(there) == _files(here)
    assert 0 < len(refused_here) < len(numbers)  # (non-square arrays: Gemmini's mesh is square)
    assert refused_there == refused_here
    assert _files(g_there) == _files(g_here) and g_here
    first = refused_here[min(refused_here)]
    assert evaluator.closed and evaluator.map(len, [[1]]) is None
    with pytest.raises(ExportError) as raised:  # (a closed evaluator: exported here)
        export_designs(study, numbers, "gemmini", tmp_path / "e", evaluator=evaluator)
    assert str(raised.value) == first


def test_outputs_written_with_the_study_processes_are_the_outputs_written_here(tmp_path: Path) -> None:
    from dataclasses import replace

    from dse.outputs import write_outputs

    cfg = load_study_config(write_study(tmp_path, sampler="{name: random, seed: 5}", n_trials=12))
    cfg = replace(cfg, run_dir=tmp_path / "run")
    evaluator = Evaluator(2, "loky", None)
    try:
        study = run_study(cfg, n_jobs=2, progress=False, evaluator=evaluator).study
        here = write_outputs(study, replace(cfg, run_dir=tmp_path / "here"))
        there = write_outputs(study, replace(cfg, run_dir=tmp_path / "there"), evaluator=evaluator)
    finally:
        evaluator.close()
    assert len(here.exports) >= 2 and _files(list(there.exports)) == _files(list(here.exports))
    folders = (tmp_path / "here", tmp_path / "there")
    cached = [json.loads((p / ".cache" / "baselines.json").read_text()) for p in folders]
    assert len(cached[0]) >= 2 and cached[1] == cached[0]  # (the dashboard's baselines)
    assert there.trials_csv.read_bytes() == here.trials_csv.read_bytes()
