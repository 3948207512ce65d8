"""``dse check`` (validate only, count the designs, list the searched parameters), ``dse init``
(a commented study template), ``--help`` of every command, the shared hardware defaults of
``dse gemm`` and ``dse paths``, and the warnings for physically absurd hardware."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from analytical_models import Hardware
from dse._physical import MAX_DIE_AREA_MM2, hardware_warnings
from dse.cli import build_parser, main
from dse.config import load_study_config
from dse.study import count_designs, enumerate_space, searched_parameters
from tests.dse.tiny_study import write_study


def _designs_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.strip().startswith("designs"))


@pytest.mark.parametrize(
    ("d", "top_k", "conditional"), [("2", 1, False), ("{choices: [2, 3]}", 1, False), ("{choices: [2, 3]}", 2, True)]
)
def test_check_counts_exactly_what_exhaustive_runs(
    d: str, top_k: int, conditional: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = write_study(tmp_path, d=d, top_k=top_k)
    assert main(["check", str(study)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    n = int(re.search(r"designs\s+([\d,]+) designs \(exact\)", captured.out)[1].replace(",", ""))  # type: ignore[index]
    cfg = load_study_config(study)
    assert n == len(list(enumerate_space(cfg)))
    assert not (tmp_path / "runs").exists()  # validate only: nothing written
    names = [p.name for p in searched_parameters(cfg)]
    for name in names:
        assert name in captured.out
    if conditional:  # the shape parameters of both depths are listed
        assert {"d@fc1", "in_shape_d2@fc1", "in_shape_d3@fc1", "out_shape_d3@fc1"} <= set(names)
    assert main(["run", str(study), "--exhaustive", "--quiet"]) == 0
    assert f"exhaustive: {n} designs in the space" in capsys.readouterr().err


def test_check_labels_an_upper_bound_and_a_real_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = write_study(tmp_path, d="{choices: [2, 3]}", top_k=2)
    assert main(["check", str(study), "--limit", "3"]) == 0
    line = _designs_line(capsys.readouterr().out)
    assert "at most" in line and "upper bound" in line
    cfg = load_study_config(study)
    bound = count_designs(cfg, 3)
    assert not bound.exact and bound.n is not None and bound.n >= count_designs(cfg).n  # type: ignore[operator]
    study.write_text(study.read_text().replace("ofmap_sram_kb: 8", "ofmap_sram_kb: {low: 8, high: 16}"))
    assert main(["check", str(study)]) == 0
    assert "infinitely many designs (ofmap_sram_kb is a real-valued range)" in _designs_line(capsys.readouterr().out)


def test_check_refuses_an_invalid_study_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = write_study(tmp_path)
    study.write_text(study.read_text().replace("mode: inference", "mode: infer"))
    assert main(["check", str(study)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "mode" in captured.err


def test_init_writes_a_valid_commented_study_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "mine", "--dir", str(tmp_path)]) == 0
    study, space = tmp_path / "mine.yaml", tmp_path / "mine_space.yaml"
    assert study.is_file() and space.is_file()
    assert study.read_text().count("#") > 10 and space.read_text().count("#") > 10
    capsys.readouterr()
    assert main(["check", str(study)]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["run", str(study), "--n-trials", "2", "--quiet"]) == 0
    capsys.readouterr()
    before = study.read_text()
    study.write_text(before + "# mine\n")
    assert main(["init", "mine", "--dir", str(tmp_path)]) == 2
    assert "not overwritten" in capsys.readouterr().err
    assert study.read_text() == before + "# mine\n"
    assert main(["init", "../bad", "--dir", str(tmp_path)]) == 2


def _commands() -> list[str]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    assert f"usage: dse {command}" in capsys.readouterr().out


def test_top_level_help_lists_every_command_and_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in _commands():
        assert command in out
    assert "exit status" in out


@pytest.mark.parametrize(
    ("command", "flag", "choices"),
    [
        ("export", "--target", ["json", "scalesim", "gemmini", "timeloop", "zigzag", "hls", "verilog"]),
        ("paths", "--format", ["ttm", "tt", "tucker", "cp", "dense"]),
        ("paths", "--optimizer", ["dp", "greedy", "exhaustive", "mac_optimal"]),
        ("paths", "--engine", ["systolic", "contraction_engine"]),
        ("paths", "--dataflow", ["ws", "os", "is", "best"]),
        ("paths", "--tech", ["horowitz45", "accelergy45"]),
        ("paths", "--cost", ["macs", "bytes", "latency", "energy"]),
        ("paths", "--pass", ["forward", "dx", "dg1", "all"]),
        ("gemm", "--engine", ["systolic", "contraction_engine"]),
        ("gemm", "--dataflow", ["ws", "os", "is", "best"]),
        ("gemm", "--tech", ["horowitz45", "accelergy45"]),
        ("gemm", "--objective", ["latency", "energy", "edp"]),
        ("run", "--backend", ["loky", "dask"]),
    ],
)
def test_help_lists_the_choices(
    command: str, flag: str, choices: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    main([command, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    options = out.split("options:", 1)[1]
    text = options.split(f"{flag} ", 1)[1][:400]  # the flag's help (and a little of the next)
    for choice in choices:
        assert choice in text, (flag, choice, text)


def test_gemm_and_paths_share_their_hardware_defaults() -> None:
    from dse.cli import gemm, paths

    parser = build_parser()
    g = parser.parse_args(["gemm", "--m", "8", "--n", "8", "--k", "8"])
    p = parser.parse_args(["paths", "--in-shape", "4,4", "--out-shape", "4,4", "--ranks", "2", "--cost", "latency"])
    _, _, gemm_hw, _ = gemm._build(g)
    paths_hw = paths._hardware(p)
    assert paths_hw == gemm_hw
    assert gemm_hw.dram_bw_bytes_per_cycle == 16 and gemm_hw.dataflows == ("ws", "os", "is")


def test_absurd_hardware_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gemm", "--m", "8", "--n", "8", "--k", "8", "--rows", "1000000000"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: area") and "reticle limit" in err[0]
    study = write_study(tmp_path)
    study.write_text(study.read_text().replace("pe_rows: {choices: [4, 8]}", "pe_rows: {choices: [4, 1000000000]}"))
    assert main(["check", str(study)]) == 0
    assert "warning:" in capsys.readouterr().err
    big = 4096.0
    sane = Hardware(
        pe_rows=256, pe_cols=256, ifmap_sram_kb=big, filter_sram_kb=big, ofmap_sram_kb=big, dram_bw_bytes_per_cycle=64
    )
    assert hardware_warnings(sane) == []
    assert hardware_warnings(sane, area=MAX_DIE_AREA_MM2 * 2)
    fast = Hardware(
        pe_rows=8, pe_cols=8, ifmap_sram_kb=8, filter_sram_kb=8, ofmap_sram_kb=8, dram_bw_bytes_per_cycle=1e6
    )
    assert any("DRAM bandwidth" in w for w in hardware_warnings(fast))


def test_shipped_studies_check_without_warnings(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for study in sorted((root / "studies").glob("*.yaml")):
        cfg = load_study_config(study)
        from dse._physical import space_warnings

        assert space_warnings(cfg.space) == [], study
