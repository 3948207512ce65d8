"""``dse validate STUDY --simulator scalesim``: the designs of a finished study against SCALE-Sim.

The live test runs the real simulator (skipped on a machine without its environment, failing
under ``CI=true``): SCALE-Sim's own loop nest as the model prices it (``pinned``) must match
SCALE-Sim's "Total Cycles (incl. prefetch)" step by step, and the mapping search must never be
slower than it. The offline tests check the bookkeeping around the simulator (totals, the CSV,
the run cache, failures and flags) with a stand-in whose answers are known.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path
from typing import Any

import pytest

import dse.cli.validate as cli_validate
from dse.cli import main
from dse.validate import CSV_COLUMNS, SCALESIM_ENV_VAR, SimRun, scalesim_available, scalesim_venv
from tests._tools import require_tool
from tests.dse.tiny_study import write_study


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny study (run folder runs/tiny next to it)."""
    folder = tmp_path_factory.mktemp("validate")
    study = write_study(folder, n_trials=8)
    assert main(["run", str(study), "--quiet"]) == 0
    return study


def _csv(study: Path) -> list[dict[str, str]]:
    path = study.parent / "runs" / "tiny" / "validate_scalesim.csv"
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_missing_simulator_is_one_line_naming_the_setup(
    finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(SCALESIM_ENV_VAR, str(tmp_path / "nowhere"))
    out = finished.parent / "runs" / "tiny" / "validate_scalesim.csv"
    out.unlink(missing_ok=True)
    assert main(["validate", str(finished), "--simulator", "scalesim", "--top", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "bash tools/scalesim_setup.sh" in err[0]
    assert str(tmp_path / "nowhere") in err[0]
    assert not out.exists()


def test_unknown_trial_is_an_input_error(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(finished), "--simulator", "scalesim", "--trial", "9999"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "9999" in err[0] and err[0].startswith("error: ")


def test_unknown_simulator_is_a_usage_error(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(finished), "--simulator", "gem5"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'gem5'" in err and "scalesim" in err


def test_bookkeeping_with_a_known_simulator(
    finished: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stand-in simulator answers ``1000 + m + n + k`` cycles and fails on one GEMM: totals are
    sums of runs x cycles over the simulated steps, errors are relative to it, failures are kept
    in the CSV, and a second call simulates nothing again (the run cache)."""
    calls: list[tuple[Any, ...]] = []
    failing: list[tuple[Any, ...]] = []

    def fake(m: int, n: int, k: int, *args: Any, **kwargs: Any) -> dict[str, Any]:
        run = (m, n, k, *args[:7])  # rows, cols, dataflow, three buffers (kB), words/cycle
        calls.append(run)
        if not failing:
            failing.append(run)
        if run == failing[0]:
            raise RuntimeError("SCALE-Sim failed (stand-in)")
        return {"total_cycles_incl_prefetch": 1000 + m + n + k, "wall_s": 0.01}

    monkeypatch.setattr(cli_validate, "run_scalesim", fake)
    monkeypatch.setattr(cli_validate, "scalesim_available", lambda: True)
    cache = finished.parent / "runs" / "tiny" / ".cache" / "scalesim_runs.jsonl"
    cache.unlink(missing_ok=True)
    assert main(["validate", str(finished), "--simulator", "scalesim", "--top", "2", "--threshold", "5"]) == 0
    captured = capsys.readouterr()
    assert "[1/" in captured.err  # progress
    rows = _csv(finished)
    assert rows and list(rows[0]) == list(CSV_COLUMNS)
    steps = [r for r in rows if r["level"] == "step"]
    designs = [r for r in rows if r["level"] == "design"]
    run_fields = ("m", "n", "k", "rows", "cols", "dataflow", "ifmap_kb", "filter_kb", "ofmap_kb", "bw_words_per_cycle")
    assert len(designs) == 2 and len(calls) == len({tuple(r[f] for f in run_fields) for r in steps})
    assert len(set(calls)) == len(calls)  # identical runs simulated once
    for d in designs:
        mine = [r for r in steps if r["trial"] == d["trial"]]
        ok = [r for r in mine if r["status"] == "ok"]
        failed = [r for r in mine if r["status"].startswith("failed: SCALE-Sim failed (stand-in)")]
        assert len(ok) + len(failed) == len(mine)
        for r in ok:
            assert float(r["scalesim_cycles"]) == 1000 + int(r["m"]) + int(r["n"]) + int(r["k"])
            want = 100 * (float(r["pinned_cycles"]) - float(r["scalesim_cycles"])) / float(r["scalesim_cycles"])
            assert float(r["pinned_err_pct"]) == pytest.approx(want, rel=1e-5, abs=1e-9)
            assert float(r["search_cycles"]) <= float(r["pinned_cycles"]) * (1 + 1e-9)
        sim = sum(int(r["runs"]) * float(r["scalesim_cycles"]) for r in ok)
        search = sum(int(r["runs"]) * float(r["search_cycles"]) for r in ok)
        assert float(d["scalesim_cycles"] or 0) == pytest.approx(sim, rel=1e-5)
        assert float(d["search_cycles"]) == pytest.approx(search, rel=1e-5)
        assert float(d["coverage"]) == pytest.approx(len(ok) / len(mine), rel=1e-3)
        err = 100 * (search - sim) / sim
        assert d["flagged"] == ("yes" if abs(err) > 5 else "no")
    # the cache: only the failed run is simulated again
    calls.clear()
    assert main(["validate", str(finished), "--simulator", "scalesim", "--top", "2"]) == 0
    assert calls == failing[:1]


def test_runs_are_the_exported_scalesim_sizes() -> None:
    """A run's key names everything SCALE-Sim is given; two runs differing in any field differ."""
    base = SimRun(64, 32, 16, 8, 8, "ws", 8, 8, 8, 16)
    fields = ("m", "n", "k", "rows", "cols", "dataflow", "ifmap_kb", "filter_kb", "ofmap_kb", "bw_words")
    from dataclasses import replace

    changed: list[dict[str, Any]] = [{f: "os" if f == "dataflow" else getattr(base, f) + 1} for f in fields]
    keys = {replace(base, **c).key for c in changed}
    assert len(keys | {base.key}) == len(fields) + 1


@pytest.mark.external
def test_validate_against_scalesim(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_tool(scalesim_available(), f"SCALE-Sim venv at {scalesim_venv()} (tools/scalesim_setup.sh)")
    cache = finished.parent / "runs" / "tiny" / ".cache" / "scalesim_runs.jsonl"
    cache.unlink(missing_ok=True)
    assert main(["validate", str(finished), "--simulator", "scalesim", "--top", "2", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    print(out)
    rows = _csv(finished)
    steps = [r for r in rows if r["level"] == "step"]
    assert steps and all(r["status"] == "ok" for r in steps), [r["status"] for r in steps]
    errs = [abs(float(r["pinned_err_pct"])) for r in steps]
    # the model with SCALE-Sim's own loop nest predicts the simulator (the grid bands)
    assert statistics.median(errs) <= 0.5 and max(errs) <= 3.0, errs
    for r in steps:  # the search never loses to SCALE-Sim's nest
        assert float(r["search_cycles"]) <= float(r["pinned_cycles"]) * (1 + 1e-9)
    for d in (r for r in rows if r["level"] == "design"):
        assert d["flagged"] in ("yes", "no") and float(d["coverage"]) == 1.0
        assert abs(float(d["pinned_err_pct"])) <= 3.0
    assert "validate_scalesim.csv" in out
