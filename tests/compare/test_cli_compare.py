"""``dse compare`` end to end on a small study written to a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dse.cli import main
from dse.compare import COMPARISONS, CSV_COLUMNS

ROOT = Path(__file__).resolve().parents[2]

STUDY = """
name: tiny_compare
workload:
  batch: 16
  layers:
    - {{name: fc1, format: ttm, in_features: 256, out_features: 256}}
    - {{name: fc2, format: dense, in_features: 256, out_features: 10}}
mode: training
space: {space}
objectives: [latency_ms, energy_uj, {{params: maximize}}]
sampler: {{name: nsga2, seed: 3, population_size: 8}}
n_trials: 16
"""


def _write(tmp: Path) -> Path:
    path = tmp / "tiny_compare.yaml"
    path.write_text(STUDY.format(space=ROOT / "search_spaces" / "quickstart.yaml"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("cmp")
    study = _write(tmp)
    run_dir = tmp / "runs" / "tiny_compare"
    assert main(["run", str(study), "--run-dir", str(run_dir), "--quiet"]) == 0
    return study, run_dir


def test_compare_writes_csv_with_expected_columns(
    tiny_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    study, run_dir = tiny_run
    code = main(["compare", str(study), "--run-dir", str(run_dir), "--limit", "3", "--dense-trials", "4", "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "path_mac_optimal" in out and "summary over the designs" in out
    table = pd.read_csv(run_dir / "compare.csv")
    assert list(table.columns) == list(CSV_COLUMNS)
    assert set(table["comparison"]) == set(COMPARISONS)
    assert 1 <= table["trial"].nunique() <= 3
    assert len(table) == table["trial"].nunique() * len(COMPARISONS)
    for col, stem in (("latency_ms", "latency"), ("energy_uj", "energy"), ("edp_uj_ms", "edp")):
        ratio = table[f"reference_{col}"] / table[f"subject_{col}"]
        assert (abs(ratio - table[f"{stem}_ratio_ref_over_sub"]) <= 1e-12 * ratio).all()
    assert (table[["reference_latency_ms", "subject_latency_ms"]] > 0).all().all()
    # the dense search ran in its own folder and includes the compared designs' hardware
    assert (run_dir / "compare_dense" / "study.journal").is_file()
    dense_best = table[table["comparison"] == "dense_best_hw_latency"]["reference_latency_ms"]
    dense_same = table[table["comparison"] == "dense_same_hw"]["reference_latency_ms"]
    assert dense_best.max() <= dense_same.min() * (1 + 1e-12)
    assert (run_dir / "compare.html").is_file()
    assert "Co-design evidence" in (run_dir / "dashboard.html").read_text(encoding="utf-8")


def test_compare_one_trial(tiny_run: tuple[Path, Path]) -> None:
    study, run_dir = tiny_run
    trial = int(pd.read_csv(run_dir / "trials.csv")["trial"].iloc[0])
    out_dir = run_dir
    code = main(
        [
            "compare",
            str(study),
            "--run-dir",
            str(out_dir),
            "--trial",
            str(trial),
            "--dense-trials",
            "0",
            "--no-dashboard",
            "--quiet",
        ]
    )
    assert code == 0
    table = pd.read_csv(run_dir / "compare.csv")
    assert set(table["trial"]) == {trial}
    assert "dense_best_hw_latency" not in set(table["comparison"])


def _one_error_line(err: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("error:"), err


def test_unknown_trial_exits_2(tiny_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    study, run_dir = tiny_run
    capsys.readouterr()
    code = main(["compare", str(study), "--run-dir", str(run_dir), "--trial", "9999", "--quiet"])
    assert code == 2
    _one_error_line(capsys.readouterr().err)


def test_no_run_yet_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = _write(tmp_path)
    code = main(["compare", str(study), "--run-dir", str(tmp_path / "nowhere"), "--quiet"])
    assert code == 2
    _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("flag", [["--limit", "0"], ["--dense-trials", "-1"]])
def test_bad_flags_exit_2(tiny_run: tuple[Path, Path], flag: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    study, run_dir = tiny_run
    capsys.readouterr()
    assert main(["compare", str(study), "--run-dir", str(run_dir), *flag, "--quiet"]) == 2
    _one_error_line(capsys.readouterr().err)
