"""Every documented sampler runs from a study file with nothing on stderr but the start line;
a sampler that cannot be made fails before anything is written; brute force stops when the
space is exhausted; a crash leaves no trial running."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from dse import SAMPLERS
from dse.cli import main
from dse.config import load_study_config
from dse.study import open_study
from tests.dse.tiny_study import ROOT, dse, write_study

SAMPLER_BLOCKS = {
    "nsga2": "{name: nsga2, seed: 0, population_size: 4}",
    "nsga3": "{name: nsga3, seed: 0, population_size: 4}",
    "tpe": "{name: tpe, seed: 0}",
    "random": "{name: random, seed: 0}",
    "qmc": "{name: qmc, seed: 0}",
    "bruteforce": "{name: bruteforce, seed: 0}",
}


def test_readme_documents_every_registered_sampler() -> None:
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    documented = set(re.findall(r"`(\w+)`", readme.split("Samplers:", 1)[1].split(". ")[0]))
    assert documented == set(SAMPLERS.names()) == set(SAMPLER_BLOCKS)


@pytest.mark.parametrize("name", sorted(SAMPLER_BLOCKS))
def test_sampler_runs_without_warnings(name: str, tmp_path: Path) -> None:
    study = write_study(tmp_path, name=f"s_{name}", sampler=SAMPLER_BLOCKS[name], n_trials=4)
    done = dse("run", str(study), "--quiet")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Starting study 's_{name}'"), done.stderr
    assert "4 trials completed, 0 failed" in done.stdout
    again = dse("status", str(study))
    assert again.returncode == 0 and again.stderr == ""
    assert "complete 4" in again.stdout and "running" not in again.stdout


def test_qmc_without_scipy_fails_before_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "scipy" else real(n, *a))
    study = write_study(tmp_path, name="noscipy", sampler=SAMPLER_BLOCKS["qmc"])
    assert main(["run", str(study), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: sampler 'qmc' needs scipy (optuna's QMCSampler uses it): pip install scipy"]
    assert not (tmp_path / "runs").exists()


def test_bruteforce_stops_when_the_space_is_exhausted(tmp_path: Path, capsys: Any) -> None:
    study = write_study(tmp_path, name="exhaust", sampler="{name: bruteforce, seed: 0}", n_trials=100)
    text = study.read_text().replace("pe_cols: {choices: [4, 8]}", "pe_cols: 4")
    text = text.replace("dram_bw_bytes_per_cycle: {choices: [8, 16]}", "dram_bw_bytes_per_cycle: 8")
    study.write_text(text.replace("dataflow: {choices: [ws, os]}", "dataflow: ws"))  # 2 x 2 designs
    assert main(["run", str(study), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "every design of the space has been tried" in out
    cfg = load_study_config(study)
    trials = open_study(cfg, create=False).trials
    assert len(trials) < 100
    assert {tuple(sorted(t.params.items())) for t in trials} == {
        (("pe_rows", r), ("rank@fc1", k)) for r in (4, 8) for k in (2, 4)
    }


def test_a_crash_mid_run_leaves_no_trial_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dse.study._run as run_mod

    def broken(trial: Any, cfg: Any) -> Any:
        trial.suggest_categorical("pe_rows", [4, 8])
        raise RuntimeError("sampler exploded")

    monkeypatch.setattr(run_mod, "suggest", broken)
    study = write_study(tmp_path, name="crash", sampler=SAMPLER_BLOCKS["random"])
    with pytest.raises(RuntimeError, match="sampler exploded"):
        main(["run", str(study), "--quiet"])
    trials = open_study(load_study_config(study), create=False).trials
    assert trials and all(t.state.name == "FAIL" for t in trials)
    assert {t.user_attrs["fail_reason"] for t in trials} == {"crashed: RuntimeError: sampler exploded"}


@pytest.mark.parametrize(
    ("block", "field"),
    [
        ("{name: tpe, population_size: 8}", "sampler.population_size"),
        ("{name: random, population_size: 8}", "sampler.population_size"),
    ],
)
def test_sampler_options_that_would_be_ignored_are_refused(block: str, field: str, tmp_path: Path, capsys: Any) -> None:
    study = write_study(tmp_path, sampler=block)
    assert main(["check", str(study)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and field in err[0]


def test_bruteforce_refuses_a_real_range(tmp_path: Path, capsys: Any) -> None:
    study = write_study(tmp_path, sampler="{name: bruteforce}")
    study.write_text(study.read_text().replace("ofmap_sram_kb: 8", "ofmap_sram_kb: {low: 8, high: 16}"))
    assert main(["check", str(study)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sampler.name" in err[0] and "ofmap_sram_kb" in err[0]


def test_qmc_on_a_conditional_space_says_so_once(tmp_path: Path) -> None:
    study = write_study(
        tmp_path, name="qmc_cond", sampler=SAMPLER_BLOCKS["qmc"], n_trials=8, d="{choices: [2, 3]}", top_k=2
    )
    done = dse("run", str(study), "--quiet")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2, done.stderr  # our note, then the start line; no optuna log lines
    assert lines[0].startswith("warning: sampler qmc: 4 parameters exist only for some designs")
    assert lines[1].startswith("Starting study 'qmc_cond'")
