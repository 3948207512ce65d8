"""A small, fast study used by the scale-out tests (written into a temporary folder)."""

from __future__ import annotations

from pathlib import Path

SPACE = """
hardware:
  pe_rows: {choices: [4, 8, 16, 32]}
  pe_cols: {choices: [4, 8, 16, 32]}
  ifmap_sram_kb: {choices: [8, 32]}
  filter_sram_kb: {choices: [8, 32]}
  ofmap_sram_kb: 16
  dram_bw_bytes_per_cycle: {choices: [4, 16]}
  dataflow: {choices: [ws, os, is]}
model:
  default: {d: 3, shape_top_k: 3, rank: {low: 2, high: 16}}
"""

STUDY = """
name: scaleout
workload: {{batch: 16, layers: [{{name: fc1, format: ttm, in_features: 256, out_features: 256}},
                                {{name: fc2, format: dense, in_features: 256, out_features: 10}}]}}
mode: training
space: space.yaml
objectives: [latency_ms, energy_uj, {{params: maximize}}]
sampler: {{name: nsga2, seed: 3, population_size: {population}}}
n_trials: {n_trials}
"""


def write_study(folder: Path, *, n_trials: int, population: int = 8) -> Path:
    """Write ``space.yaml`` and ``study.yaml`` into ``folder``; return the study path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "space.yaml").write_text(SPACE)
    path = folder / "study.yaml"
    path.write_text(STUDY.format(n_trials=n_trials, population=population))
    return path
