"""The A/B benchmark (``benchmarks/bench_ab.py``) runs two checkouts on the same designs and
says whether their results agree: here the checkout against itself, on a few quickstart designs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "bench_ab.py"


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), *argv], capture_output=True, text=True, cwd=ROOT, timeout=600, check=False
    )


def test_a_checkout_against_itself_has_the_same_results_every_round() -> None:
    got = _run(str(ROOT), "--study", str(ROOT / "studies" / "quickstart.yaml"), "--designs", "3", "--rounds", "2")
    assert got.returncode == 0, got.stderr
    rounds = re.findall(r"round \d: this ([\d.]+) s, other ([\d.]+) s .* digests (\w+) / (\w+): (.*)", got.stdout)
    assert len(rounds) == 2, got.stdout
    for this, other, d1, d2, verdict in rounds:
        assert float(this) > 0 and float(other) > 0
        assert d1 == d2 and verdict == "same results"
    assert "this / other, per round:" in got.stdout


def test_it_refuses_a_folder_that_is_not_a_checkout(tmp_path: Path) -> None:
    got = _run(str(tmp_path), "--designs", "1", "--rounds", "1")
    assert got.returncode != 0 and "is not a checkout of this project" in got.stderr
