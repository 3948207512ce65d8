"""Speed check of the path optimizers on TT-BERT-base (run with ``pytest -m benchmark``)."""

from __future__ import annotations

import runpy
import time
from pathlib import Path

import pytest

from dse.contraction import dp

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_paths.py"


@pytest.mark.benchmark
def test_tt_bert_exact_paths_under_a_second(capsys: pytest.CaptureFixture[str]) -> None:
    bench = runpy.run_path(str(BENCH))
    _, nets = bench["workload"]()
    t0 = time.perf_counter()
    for net in nets:
        inputs, output, sizes = net.opt_einsum_form()
        dp(inputs, output, sizes)
    assert time.perf_counter() - t0 < 1.0
    bench["main"]()
    out = capsys.readouterr().out
    assert "same optimum as opt_einsum on 360/360 networks" in out
