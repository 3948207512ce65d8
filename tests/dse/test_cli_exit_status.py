"""Exit statuses and one-line errors of the ``dse`` command: 0 only when the command did what was
asked, 1 when every trial failed (with the most common reason), 2 for an input mistake (one
``error:`` line, nothing written), 130 on Ctrl-C, 141 when the output pipe closes; never a
traceback on user input."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dse.cli import main
from dse.config import load_study_config
from dse.evaluate import EvaluationError
from dse.study import open_study
from tests.dse.tiny_study import ROOT, write_study


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny study (its run folder is runs/tiny next to it) with its JSON exports."""
    folder = tmp_path_factory.mktemp("finished")
    study = write_study(folder, n_trials=8)
    assert main(["run", str(study), "--quiet"]) == 0
    return study


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "", captured.out
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and "Traceback" not in captured.err
    return lines[0]


# --------------------------------------------------------------------------- exit 1 and 130
def test_every_trial_failed_exits_1_with_the_most_common_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dse.study._evaluator as ev

    calls = iter(range(1000))

    def fails(design: Any) -> Any:
        n = next(calls)
        raise EvaluationError("no tile fits the buffers" if n % 3 else "a rarer reason")

    monkeypatch.setattr(ev, "evaluate", fails)
    study = write_study(tmp_path, sampler="{name: random, seed: 0}", n_trials=6)
    assert main(["run", str(study), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        "error: every trial failed (6); most common reason (4 trials): no tile fits the buffers; "
        "1 other reason (fail_reason of each trial)"
    )
    assert not (tmp_path / "runs" / "tiny" / "dashboard.html").exists()  # nothing to draw
    assert main(["pareto", str(study)]) == 0
    assert "no finished trials" in capsys.readouterr().out
    assert main(["dashboard", str(study)]) == 1
    assert _one_error_line(capsys) == "error: study 'tiny' has no finished trial yet: no dashboard to draw"


def test_some_trials_failed_is_still_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dse.study._evaluator as ev

    real = ev.evaluate
    calls = iter(range(1000))

    def sometimes(design: Any) -> Any:
        if next(calls) % 2:
            raise EvaluationError("odd one out")
        return real(design)

    monkeypatch.setattr(ev, "evaluate", sometimes)
    study = write_study(tmp_path, sampler="{name: random, seed: 1}", n_trials=4)
    assert main(["run", str(study), "--quiet"]) == 0
    assert "error" not in capsys.readouterr().err


def test_ctrl_c_exits_130_and_marks_the_batch_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dse.study._evaluator as ev

    def interrupted(design: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(ev, "evaluate", interrupted)
    study = write_study(tmp_path, sampler="{name: random, seed: 0}", n_trials=4)
    assert main(["run", str(study), "--quiet"]) == 130
    assert "Traceback" not in capsys.readouterr().err
    trials = open_study(load_study_config(study), create=False).trials
    assert trials and {t.user_attrs.get("fail_reason") for t in trials} == {"interrupted"}


def test_worker_exit_status_follows_its_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dse.study._evaluator as ev

    def fails(design: Any) -> Any:
        raise EvaluationError("nothing fits")

    monkeypatch.setattr(ev, "evaluate", fails)
    study = write_study(tmp_path, sampler="{name: random, seed: 0}", n_trials=2)
    assert main(["worker", str(study), "--quiet", "--batch-size", "1", "--timeout", "20"]) == 1
    assert "most common reason" in capsys.readouterr().err


# --------------------------------------------------------------------------- exit 141
def test_closed_pipe_is_exit_141_without_a_traceback(finished: Path) -> None:
    code = "import sys; from dse.cli import main; sys.exit(main())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "pareto", str(finished), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away before anything is written (`| head -0`)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err


# --------------------------------------------------------------------------- exit 2: flags
PATHS = ["paths", "--in-shape", "4,4", "--out-shape", "4,4", "--ranks", "2"]
GEMM = ["gemm", "--m", "8", "--n", "8", "--k", "8"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "{study}", "--n-jobs", "0"], "--n-jobs"),
        (["run", "{study}", "--n-trials", "0"], "--n-trials"),
        (["run", "{study}", "--timeout", "-1"], "--timeout"),
        (["run", "{study}", "--timeout", "nan"], "--timeout"),
        (["run", "{study}", "--seed", "-1"], "--seed"),
        (["run", "{study}", "--exhaustive", "--exhaustive-limit", "0"], "--exhaustive-limit"),
        (["run", "{study}", "--exhaustive-limit", "5"], "--exhaustive-limit"),
        (["run", "{study}", "--exhaustive", "--n-trials", "3"], "--n-trials"),
        (["run", "{study}", "--exhaustive", "--seed", "3"], "--seed"),
        (["run", "{study}", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler"),
        (["run", "{study}", "--backend", "dask", "--scheduler", "tcp://127.0.0.1:1", "--n-jobs", "2"], "--n-jobs"),
        (["run", "{study}", "--backend", "dask"], "--scheduler"),
        (["resume", "{study}", "--n-trials", "-2"], "--n-trials"),
        (["worker", "{study}", "--batch-size", "0"], "--batch-size"),
        (["status", "{study}", "--storage", "redis://localhost"], "cannot open storage"),
        (["status", "{study}", "--storage", "sqlite:////nonexistent/x.db"], "does not exist"),
        (["pareto", "{study}", "--limit", "-3"], "--limit"),
        (["pareto", "{study}", "--limit", "0"], "--limit"),
        (["dashboard", "{study}", "--detail", "1", "--detail-all"], "--detail"),
        (["compare", "{study}", "--trial", "1", "--limit", "2"], "--limit"),
        (["compare", "{study}", "--dense-trials", "-1"], "--dense-trials"),
        (["compare", "{study}", "--dense-trials", "0", "--seed", "3"], "--seed"),
        (["check", "{study}", "--limit", "0"], "--limit"),
        (["evaluate", "{design}", "--trial", "3"], "--trial"),
        (["evaluate", "{design}", "--run-dir", "x"], "--run-dir"),
        (["evaluate", "{study}"], "--trial"),
        (["export", "{study}", "--trial", "0", "--target", "nope"], "nope"),
        (["export", "{study}", "--trial", "0", "--fpga-part", "xcu250"], "--fpga-part"),
        ([*PATHS, "--rows", "8"], "--rows"),
        ([*PATHS, "--cost", "bytes", "--tech", "x"], "--tech"),
        ([*PATHS, "--cost", "latency", "--dataflow", "x"], "--dataflow"),
        ([*GEMM, "--engine", "contraction_engine", "--dataflow", "ws"], "--dataflow"),
        ([*GEMM, "--rows", "x"], "--rows"),
        ([*GEMM, "--ifmap-kb", "inf"], "--ifmap-kb"),
        ([*PATHS, "--cost", "latency", "--dram-bw", "inf"], "--dram-bw"),
        (["nope"], "nope"),
        ([], "COMMAND"),
    ],
)
def test_flag_mistakes_are_one_line(
    argv: list[str], needle: str, finished: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    design = sorted((finished.parent / "runs" / "tiny" / "exports").glob("trial_*.json"))[0]
    args = [a.format(study=finished, design=design) for a in argv]
    assert main(args) == 2
    assert needle in _one_error_line(capsys)


# --------------------------------------------------------------------------- exit 2: files
def test_a_file_where_a_run_folder_is_expected(finished: Path, tmp_path: Path, capsys: Any) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    for command in ("run", "status", "pareto", "dashboard", "resume"):
        assert main([command, str(finished), "--run-dir", str(afile)]) == 2, command
        assert "is a file" in _one_error_line(capsys)
    assert main(["export", str(finished), "--trial", "0", "-o", str(afile)]) == 2
    assert "is a file" in _one_error_line(capsys)
    assert afile.read_text() == "x"


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_binary_design_file(suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"design{suffix}"
    path.write_bytes(bytes(range(128, 256)) * 8)
    assert main(["evaluate", str(path)]) == 2
    assert "UTF-8 text file" in _one_error_line(capsys)


def test_a_folder_given_as_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["evaluate", str(tmp_path)], ["check", str(tmp_path)]):
        assert main(argv) == 2
        assert "a file, got a folder" in _one_error_line(capsys)


def test_duplicate_yaml_key_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = write_study(tmp_path)
    text = study.read_text().replace("n_trials: 4", "n_trials: 4\nn_trials: 8")
    study.write_text(text)
    assert main(["check", str(study)]) == 2
    line = _one_error_line(capsys)
    assert str(study) in line and "duplicate key 'n_trials'" in line
    assert f"line {text.splitlines().index('n_trials: 8') + 1}" in line


def test_duplicate_json_key_in_a_design(finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    design = sorted((finished.parent / "runs" / "tiny" / "exports").glob("trial_*.json"))[0]
    text = design.read_text().replace('"mode": "inference"', '"mode": "inference", "mode": "training"', 1)
    path = tmp_path / "dup.json"
    path.write_text(text)
    assert main(["evaluate", str(path)]) == 2
    assert "duplicate key 'mode'" in _one_error_line(capsys)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("ifmap_sram_kb: 8", "ifmap_sram_kb: 0.001", "hardware.ifmap_sram_kb"),
        ("filter_sram_kb: 8", "filter_sram_kb: {choices: [0.0001, 8]}", "hardware.filter_sram_kb"),
        ("ofmap_sram_kb: 8", "ofmap_sram_kb: .inf", "hardware.ofmap_sram_kb"),
        ("ofmap_sram_kb: 8", "ofmap_sram_kb: .nan", "hardware.ofmap_sram_kb"),
        ("ofmap_sram_kb: 8", "ofmap_sram_kb: 8\n    bits: {choices: [8, 64]}", "hardware.bits"),
        ("pe_rows: {choices: [4, 8]}", "pe_rows: {choices: [4, '8']}", "hardware.pe_rows"),
        ("pe_rows: {choices: [4, 8]}", "pe_rows: {choices: [4, 0]}", "hardware.pe_rows"),
        ("dataflow: {choices: [ws, os]}", "dataflow: {choices: [ws, 3]}", "hardware.dataflow"),
        ("rank: {choices: [2, 4]}", "rank: {choices: [2, 4.5]}", "rank"),
    ],
)
def test_space_values_no_design_can_use(
    old: str, new: str, field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = write_study(tmp_path)
    study.write_text(study.read_text().replace(old, new))
    assert main(["check", str(study)]) == 2
    assert field in _one_error_line(capsys)
    assert main(["run", str(study), "--quiet"]) == 2
    capsys.readouterr()
    assert not (tmp_path / "runs").exists()


# --------------------------------------------------------------------------- exit 2: design records
_INTERNALS = ("__init__", "not supported between", "object is not iterable", "object has no attribute")


def _set(record: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(record)
    node: Any = data["design"]
    keys = dotted.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node[key]
    last = keys[-1]
    if last.startswith("-"):
        del node[last[1:]]
    else:
        node[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(
    ("dotted", "value", "field"),
    [
        ("mode", "bogus", "design.mode"),
        ("mode", 3, "design.mode"),
        ("path_policy", "bogus", "design.path_policy"),
        ("path_optimizer", "bogus", "design.path_optimizer"),
        ("mapping_objective", "bogus", "design.mapping_objective"),
        ("-mode", None, "design.mode"),
        ("color", "red", "design.color"),
        ("hardware.foo", 1, "design.hardware.foo"),
        ("hardware.pe_rows", "8", "design.hardware.pe_rows"),
        ("hardware.pe_rows", 8.5, "design.hardware.pe_rows"),
        ("hardware.pe_rows", None, "design.hardware.pe_rows"),
        ("hardware.pe_rows", -8, "design.hardware"),
        ("hardware.dataflows", "ws", "design.hardware.dataflows"),
        ("hardware.dataflows", ["xx"], "design.hardware.dataflows"),
        ("hardware.dataflows", 3, "design.hardware.dataflows"),
        ("hardware.engine", "nope", "design.hardware.engine"),
        ("hardware.tech", "nope", "design.hardware.tech"),
        ("hardware.dram_bw_bytes_per_cycle", "16", "design.hardware.dram_bw_bytes_per_cycle"),
        ("hardware.bits", 64, "design.hardware"),
        ("hardware.memory_timing", "bogus", "design.hardware.memory_timing"),
        ("hardware", [1, 2], "design.hardware"),
        ("workload.batch", 0, "design.workload.batch"),
        ("workload.batch", "x", "design.workload.batch"),
        ("workload.name", 5, "design.workload.name"),
        ("workload.foo", 1, "design.workload.foo"),
        ("workload.layers", "x", "design.workload.layers"),
        ("workload.layers.0.foo", 1, "design.workload.layers[0].foo"),
        ("workload.layers.0.format", "nope", "design.workload.layers[0].format"),
        ("workload.layers.0.ranks", ["a", 2, 1], "design.workload.layers[0].ranks"),
        ("workload.layers.0.in_features", "64", "design.workload.layers[0].in_features"),
        ("workload.layers.0.in_shape", [4, 8, 9], "design.workload.layers[0]"),
        ("workload.layers.0.count", 0, "design.workload.layers[0].count"),
        ("workload.layers.0.name", 5, "design.workload.layers[0].name"),
        ("workload.layers.1.name", "fc1", "design.workload.layers"),
        ("path_choices", [1], "design.path_choices"),
        ("path_choices", {"fc1/forward": 0}, "design.path_choices"),
    ],
)
def test_malformed_design_records_name_the_field(
    dotted: str, value: Any, field: str, finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    design = sorted((finished.parent / "runs" / "tiny" / "exports").glob("trial_*.json"))[0]
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(_set(json.loads(design.read_text()), dotted, value)))
    assert main(["evaluate", str(path)]) == 2
    line = _one_error_line(capsys)
    assert f"{path}: {field}" in line, line
    assert not any(bit in line for bit in _INTERNALS), line


def test_searched_path_choices_are_checked(finished: Path, tmp_path: Path, capsys: Any) -> None:
    design = sorted((finished.parent / "runs" / "tiny" / "exports").glob("trial_*.json"))[0]
    record = _set(json.loads(design.read_text()), "path_policy", "searched")
    for choices, field in (({"zz/forward": 0}, "zz/forward"), ({"fc1/forward": -1}, "fc1/forward")):
        path = tmp_path / "searched.json"
        path.write_text(json.dumps(_set(record, "path_choices", choices)))
        assert main(["evaluate", str(path)]) == 2
        assert field in _one_error_line(capsys)


def test_pareto_limit_applies_to_json(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pareto", str(finished), "--json"]) == 0
    every = json.loads(capsys.readouterr().out)
    assert main(["pareto", str(finished), "--json", "--limit", "1"]) == 0
    assert json.loads(capsys.readouterr().out) == every[:1]


def test_an_exported_design_evaluates_again(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    design = sorted((finished.parent / "runs" / "tiny" / "exports").glob("trial_*.json"))[0]
    assert main(["evaluate", str(design)]) == 0
    assert capsys.readouterr().err == ""
