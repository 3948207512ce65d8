"""Regenerate ``golden_search.json``: mapping-search results frozen for the speed work.

    python tests/analytical_models/make_golden_search.py

A deterministic random set of GEMMs (dimensions and batch spanning 1..4096 log-uniformly, odd
sizes included, with and without permutation volumes) is searched on a deterministic random
set of hardware instances (both engines, every dataflow subset, non-square arrays, buffers
8..512 kB, bandwidth 2..64 B/cycle, 8 / 16 bits, every technology profile, every fourth with
the serial memory timing), for every objective. Each GEMM is paired with a few hardware
instances (a full cross product would not fit a small fixture). The fixture stores the inputs
and, per search, the best mapping, every ``Cost`` field (cycle fields exactly, energies and
bytes to 10 significant digits), the number of evaluated candidates and a digest of the Pareto
set. Only regenerate it when the model is meant to change: ``test_am_golden_speed.py`` checks
that optimizations do not.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from analytical_models import DATAFLOWS, OBJECTIVES, Cost, Gemm, Hardware, MappingResult, price

FIXTURE = Path(__file__).with_name("golden_search.json")
SEED = 20240611
N_GEMMS = 300
N_HW = 20
HW_PER_GEMM = 3
EXACT_FIELDS = ("compute_cycles", "fill_drain_cycles", "stall_cycles", "shaping_cycles")
"""Cost fields stored exactly (cycles); every other float field is stored to 10 digits."""
COST_FIELDS = tuple(f.name for f in fields(Cost) if f.name != "macs")


def _loguniform_int(rng: np.random.Generator, lo: int, hi: int) -> int:
    return int(np.clip(round(float(np.exp(rng.uniform(np.log(lo), np.log(hi + 1))))), lo, hi))


def make_gemms(rng: np.random.Generator) -> list[Gemm]:
    """GEMMs with dimensions 1..4096 (log-uniform, odd sizes and powers of two mixed)."""
    out: list[Gemm] = []
    while len(out) < N_GEMMS:
        dims = []
        for _ in range(3):
            if rng.random() < 0.3:
                dims.append(1 << int(rng.integers(0, 13)))  # powers of two 1..4096
            else:
                dims.append(_loguniform_int(rng, 1, 4096))
        m, n, k = dims
        batch = 1 if rng.random() < 0.5 else _loguniform_int(rng, 1, 4096)
        if batch * m * n * k > 2**36:  # keep the fixture's search time bounded
            continue
        pa = int(rng.choice([0, m * k * batch, _loguniform_int(rng, 1, 4096)]))
        pb = int(rng.choice([0, 0, k * n * batch]))
        pc = int(rng.choice([0, 0, m * n * batch]))
        out.append(
            Gemm(m=m, n=n, k=k, batch=batch, permute_a_elements=pa, permute_b_elements=pb, permute_c_elements=pc)
        )
    return out


def make_hardware(rng: np.random.Generator) -> list[Hardware]:
    """Hardware instances spanning both engines, all dataflow subsets, buffers, bits, techs."""
    subsets = [s for r in (1, 2, 3) for s in itertools.combinations(DATAFLOWS, r)]
    techs = ("horowitz45", "accelergy45", "tpu7nm")
    sizes_kb = (8.0, 12.0, 16.0, 32.0, 48.0, 64.0, 100.0, 128.0, 256.0, 384.0, 512.0)
    out = []
    for i in range(N_HW):
        out.append(
            Hardware(
                engine="contraction_engine" if i % 3 == 2 else "systolic",
                pe_rows=_loguniform_int(rng, 4, 128),
                pe_cols=_loguniform_int(rng, 4, 128),
                ifmap_sram_kb=float(rng.choice(sizes_kb)),
                filter_sram_kb=float(rng.choice(sizes_kb)),
                ofmap_sram_kb=float(rng.choice(sizes_kb)),
                dram_bw_bytes_per_cycle=float(rng.choice([2.0, 4.0, 6.0, 8.0, 16.0, 24.0, 32.0, 64.0])),
                freq_mhz=float(rng.choice([200.0, 500.0, 1000.0])),
                bits=int(rng.choice([8, 16])),
                acc_bits=32,
                tech=techs[i % len(techs)],
                dataflows=subsets[i % len(subsets)],
                memory_timing="serial" if i % 4 == 3 else "overlapped",
            )
        )
    return out


def pairs(n_gemms: int, n_hw: int) -> list[tuple[int, int]]:
    """``(gemm index, hardware index)`` pairs: each GEMM on ``HW_PER_GEMM`` instances."""
    return [(g, (g * 7 + j * 5) % n_hw) for g in range(n_gemms) for j in range(HW_PER_GEMM)]


def _sig(x: float) -> float:
    return float(f"{x:.10g}")


def encode(result: MappingResult) -> list[Any]:
    """Compact record of one search result."""
    mp = result.mapping
    cost = result.cost
    values = [getattr(cost, f) if f in EXACT_FIELDS else _sig(getattr(cost, f)) for f in COST_FIELDS]
    front_cycles = sum(c.cycles for _, c in result.pareto)
    front_energy = sum(c.energy_pj for _, c in result.pareto)
    return [
        [mp.dataflow, mp.tile_m, mp.tile_n, mp.tile_k, mp.loop_order, mp.nest],
        values,
        result.n_evaluated,
        [len(result.pareto), _sig(front_cycles), _sig(front_energy)],
    ]


def main() -> None:
    """Search every pair for every objective and write the fixture."""
    rng = np.random.default_rng(SEED)
    gemms = make_gemms(rng)
    hws = make_hardware(rng)
    results = []
    for gi, hi in pairs(len(gemms), len(hws)):
        for obj in OBJECTIVES:
            results.append(encode(price(gemms[gi], hws[hi], obj)))  # type: ignore[arg-type]
    data = {
        "cost_fields": list(COST_FIELDS),
        "exact_fields": list(EXACT_FIELDS),
        "objectives": list(OBJECTIVES),
        "gemms": [list(asdict(g).values()) for g in gemms],
        "gemm_fields": [f.name for f in fields(Gemm)],
        "hardware": [asdict(h) for h in hws],
        "pairs": pairs(len(gemms), len(hws)),
        "results": results,
    }
    FIXTURE.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size / 1e3:.0f} kB, {len(results)} searches)")


if __name__ == "__main__":
    main()
