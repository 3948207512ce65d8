"""Tiny, fast studies for the command-line tests (written into a temporary folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STUDY = """\
name: {name}
workload:
  batch: 4
  layers:
    - {{name: fc1, format: ttm, in_features: 64, out_features: 64}}
    - {{name: fc2, format: dense, in_features: 64, out_features: 10}}
mode: inference
space:
  hardware:
    pe_rows: {{choices: [4, 8]}}
    pe_cols: {{choices: [4, 8]}}
    ifmap_sram_kb: 8
    filter_sram_kb: 8
    ofmap_sram_kb: 8
    dram_bw_bytes_per_cycle: {{choices: [8, 16]}}
    dataflow: {{choices: [ws, os]}}
  model:
    default: {{d: {d}, shape_top_k: {top_k}, rank: {{choices: [2, 4]}}}}
objectives: [latency_ms, energy_uj, {{params: maximize}}]
sampler: {sampler}
n_trials: {n_trials}
"""
"""A study of 32 designs (16 hardware x 2 ranks) with ``d: 2``; with ``d: {choices: [2, 3]}`` and
``shape_top_k: 2`` the shape parameters are conditional on the depth."""


def write_study(
    folder: Path,
    *,
    name: str = "tiny",
    sampler: str = "{name: nsga2, seed: 0, population_size: 4}",
    n_trials: int = 4,
    d: str = "2",
    top_k: int = 1,
) -> Path:
    """Write ``<name>.yaml`` into ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(STUDY.format(name=name, sampler=sampler, n_trials=n_trials, d=d, top_k=top_k), encoding="utf-8")
    return path


def dse(*argv: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``dse ARGV`` in a fresh interpreter (warnings shown as a user would see them)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "default"}
    env.pop("CI", None)
    return subprocess.run(
        [sys.executable, "-c", "import sys; from dse.cli import main; sys.exit(main())", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )
