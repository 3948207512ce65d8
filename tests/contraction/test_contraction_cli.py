from __future__ import annotations

import json

import pytest

from dse.cli import main
from dse.cli.paths import full_ranks

BASE = [
    "paths",
    "--in-shape",
    "12,8,8",
    "--out-shape",
    "12,16,16",
    "--ranks",
    "16",
    "--batch",
    "32",
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_forward_exhaustive(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run([*BASE, "--pass", "forward", "--optimizer", "exhaustive", "--json"], capsys)
    assert code == 0 and err == ""
    (entry,) = json.loads(out)
    assert entry["pass"] == "forward"
    assert entry["n_trees"] == 15
    assert entry["best"]["macs"] == 92_798_976
    assert entry["mac_optimal"]["macs"] == 92_798_976
    assert entry["best"]["path"] == entry["mac_optimal"]["path"]
    assert len(entry["best"]["gemms"]) == 3
    assert sum(g["batch"] * g["m"] * g["n"] * g["k"] for g in entry["best"]["gemms"]) == 92_798_976
    assert "cycles" not in entry["best"]


def test_all_passes_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(BASE, capsys)
    assert code == 0
    for label in ("forward:", "dx:", "dg1:", "dg2:", "dg3:"):
        assert label in out
    assert "92,798,976" in out


def test_latency_on_systolic(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        [*BASE, "--pass", "dg2", "--cost", "latency", "--rows", "16", "--cols", "16", "--json"],
        capsys,
    )
    assert code == 0, err
    (entry,) = json.loads(out)
    assert entry["best"]["cycles"] > 0
    assert entry["best"]["macs"] >= entry["mac_optimal"]["macs"]


def test_rank_forms() -> None:
    assert full_ranks((16,), 3) == (1, 16, 16, 1)
    assert full_ranks((16, 8), 3) == (1, 16, 8, 1)
    assert full_ranks((1, 16, 8, 1), 3) == (1, 16, 8, 1)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--ranks", "16,3,4"], "--ranks"),
        (["--pass", "dg9"], "--pass"),
        (["--optimizer", "annealing"], "--optimizer"),
        (["--cost", "watts"], "--cost"),
        (["--batch", "zero"], "--batch"),
        (["--in-shape", "12,64"], "out_shape"),
        (["--memory-limit", "10"], "memory_limit"),
        (["--cost", "latency", "--rows", "0"], "--rows"),
        (["--format", "nope"], "--format"),
    ],
)
def test_bad_input_is_one_error_line(extra: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run([*BASE, *extra], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert needle in err
