"""Where a study's results go (the same folder from any current directory), what a command says
when there is none, optuna metric names, and the local worker pool."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import optuna
import pytest

from dse.cli import main
from dse.config import load_study_config
from dse.study import open_study
from dse.study._evaluator import _process_pool
from tests.dse.tiny_study import write_study


def test_default_run_folder_is_in_the_study_files_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    (project / "studies").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    study = write_study(project / "studies", name="where")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for cwd in (project, elsewhere, project / "studies"):
        monkeypatch.chdir(cwd)
        assert load_study_config(study).run_dir == project / "runs" / "where"
    monkeypatch.chdir(project)
    assert main(["run", "studies/where.yaml", "--quiet"]) == 0
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    for command in (["status"], ["pareto"], ["export", "--pareto"]):
        assert main([command[0], str(study), *command[1:]]) == 0, command
    assert "complete 4" in capsys.readouterr().out
    assert not (elsewhere / "runs").exists()


def test_without_a_project_the_run_folder_is_next_to_the_study(tmp_path: Path) -> None:
    study = write_study(tmp_path / "loose", name="loose")
    if any((p / m).exists() for p in study.parents for m in ("runs", "pyproject.toml", ".git")):
        pytest.skip("the temporary folder is inside a project")
    assert load_study_config(study).run_dir == study.parent / "runs" / "loose"


def test_a_run_folder_under_the_current_directory_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    study = write_study(tmp_path / "project" / "studies", name="legacy")
    (tmp_path / "project" / ".git").mkdir()
    old = tmp_path / "repo"
    monkeypatch.chdir(old.parent)
    assert main(["run", str(study), "--run-dir", str(old / "runs" / "legacy"), "--quiet"]) == 0
    monkeypatch.chdir(old)  # where a run made by the earlier rule (./runs/<name>) lives
    assert load_study_config(study).run_dir == old / "runs" / "legacy"


def test_missing_run_says_where_it_looked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = write_study(tmp_path, name="never")
    for command in ("status", "pareto", "dashboard", "resume", "compare"):
        assert main([command, str(study)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and str(tmp_path / "runs" / "never") in err
        assert f"dse run {study}" in err and "--run-dir" in err
    assert not (tmp_path / "runs").exists()


def test_pareto_writes_the_tables_a_worker_did_not(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = write_study(tmp_path, name="workers", n_trials=4)
    assert main(["worker", str(study), "--quiet"]) == 0
    run_dir = tmp_path / "runs" / "workers"
    assert not (run_dir / "pareto.csv").exists()
    assert "dse pareto" in capsys.readouterr().out
    assert main(["pareto", str(study)]) == 0
    assert (run_dir / "pareto.csv").is_file() and (run_dir / "trials.csv").is_file()
    assert "wrote" in capsys.readouterr().err
    assert main(["pareto", str(study)]) == 0
    assert capsys.readouterr().err == ""  # up to date: not rewritten


def test_metric_names_for_optuna_dashboard(tmp_path: Path) -> None:
    study = write_study(tmp_path, name="named")
    assert main(["run", str(study), "--quiet"]) == 0
    cfg = load_study_config(study)
    stored = optuna.load_study(
        study_name="named",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(cfg.run_dir / "study.journal"))
        ),
    )
    assert stored.metric_names == ["latency_ms", "energy_uj", "params"]


def test_metric_names_added_to_an_older_study_on_resume(tmp_path: Path) -> None:
    study = write_study(tmp_path, name="older", n_trials=2)
    cfg = load_study_config(study)
    opened = open_study(cfg)  # as an earlier version left it: no metric names
    opened._storage.set_study_system_attr(opened._study_id, "study:metric_names", None)  # type: ignore[attr-defined]
    assert optuna.load_study(study_name="older", storage=opened._storage).metric_names is None
    assert main(["resume", str(study), "--quiet"]) == 0
    assert open_study(cfg, create=False).metric_names == ["latency_ms", "energy_uj", "params"]


def _grow(megabytes: int) -> int:
    """Keep ``megabytes`` alive in the worker (like the model's cost caches) and return its pid."""
    import builtins

    builtins.__dict__.setdefault("_tnn_dse_test_hold", []).append(bytearray(megabytes * 2**20))
    time.sleep(1.1)  # past loky's memory check interval
    return os.getpid()


def test_local_workers_keep_their_caches_without_warnings() -> None:
    pool = _process_pool(1)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pids = [pool.submit(_grow, 1).result()]
            for _ in range(3):
                pids += list(pool.map(_grow, [150, 150]))
    finally:
        pool.shutdown()
    assert len(set(pids)) == 1  # the worker was never restarted (450 MB > loky's 300 MB "leak")
    assert not [w for w in caught if "worker stopped" in str(w.message)]


def test_status_tells_trials_of_dead_workers_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from dse.study import WORKER_ATTR

    study = write_study(tmp_path, name="dead", n_trials=4)
    assert main(["run", str(study), "--quiet"]) == 0
    opened = open_study(load_study_config(study), create=False)
    orphan = opened.ask()
    orphan.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{2**22 + 12345}")  # no such process
    capsys.readouterr()
    assert main(["status", str(study)]) == 0
    out = capsys.readouterr().out
    assert "running 1" in out and "1 of the running trials belong to workers that died" in out
    assert main(["resume", str(study), "--quiet"]) == 0
    assert "marked 1 trials of dead workers as failed" in capsys.readouterr().out
    assert main(["status", str(study)]) == 0
    assert "running" not in capsys.readouterr().out
