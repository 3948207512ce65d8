"""A small quickstart study shared by the report tests (run once per session)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import optuna
import pandas as pd
import pytest

from dse.cli import main
from dse.config import StudyConfig, load_study_config
from dse.outputs import pareto_frame, trials_frame
from dse.study import open_study

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "studies" / "quickstart.yaml"


class SmallRun(NamedTuple):
    """The run folder, its configuration, study and tables."""

    run_dir: Path
    cfg: StudyConfig
    study: optuna.Study
    df: pd.DataFrame
    front: pd.DataFrame


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> SmallRun:
    run_dir = tmp_path_factory.mktemp("report") / "quickstart"
    code = main(["run", str(QUICKSTART), "--run-dir", str(run_dir), "--n-trials", "48", "--quiet"])
    assert code == 0
    cfg = load_study_config(QUICKSTART, overrides={"run_dir": str(run_dir)})
    study = open_study(cfg, create=False)
    df = trials_frame(study)
    return SmallRun(run_dir, cfg, study, df, pareto_frame(df, cfg))
