"""Speed of the analytical models: vectorized pricing, mapping search, cache, naive loop.

Plain script (``python benchmarks/bench_analytical.py [--quick]``); prints figures, one core.

Figures:
- vectorized mapping evaluations per second (the whole candidate grid of one GEMM priced at
  once; kernel only, and the full search including best / Pareto selection) -- target >= 1e6;
- best-mapping search time per GEMM: cold (nothing cached), uncached search with warm
  per-shape tables, and warm (``price`` cache hit) -- target < 1 ms warm;
- the same candidates priced by a naive per-mapping Python loop (``Engine.evaluate``), and the
  speed-up of the vectorized path over it;
- uncached search time per GEMM on the realistic mix of the TT-BERT-base training study: the
  distinct (GEMM, hardware, objective) triples that ``analytical_models.price`` receives while
  ``dse.evaluate`` evaluates a few random designs of ``studies/tt_bert_training.yaml``
  (``--mix-designs``, 0 to skip) -- target median <= 0.1 ms. "warm tables": per-shape tile
  grids cached, as in a running study; "cold": every model cache emptied before each design
  (as ``bench_throughput.py`` does), so per-shape tables are built on first use.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np

from analytical_models import (
    DATAFLOWS,
    SYSTOLIC,
    Gemm,
    Hardware,
    Mapping,
    MappingResult,
    Objective,
    get_engine,
    price,
    tune_allocator,
)
from analytical_models._arrays import IntArray
from analytical_models._consts import hw_consts
from analytical_models._cost import grid_objectives
from analytical_models._shaping import Shaping
from analytical_models._stage import _ALL_ORDERS, LOOP_ORDERS, stage
from analytical_models._tiles import tile_grid


def _gemms(n: int, seed: int = 0) -> list[Gemm]:
    """GEMMs shaped like lowered tensor-train contractions: small ranks, mixed mode sizes."""
    rng = np.random.default_rng(seed)
    sizes = [4, 8, 16, 32, 48, 64, 128, 256, 512, 1024]
    out = []
    for _ in range(n):
        m, nn, k = (int(rng.choice(sizes)) for _ in range(3))
        perm = int(rng.integers(0, 2)) * m * k
        out.append(Gemm(m=m, n=nn, k=k, batch=int(rng.choice([1, 1, 4])), permute_a_elements=perm))
    return out


HW = Hardware(
    pe_rows=32,
    pe_cols=32,
    ifmap_sram_kb=64,
    filter_sram_kb=64,
    ofmap_sram_kb=64,
    dram_bw_bytes_per_cycle=16,
    dataflows=DATAFLOWS,
)


def _clear_caches() -> None:
    """Empty ``price`` and every value cache of the model's modules (per-shape tables too)."""
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith("analytical_models"):
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name:
                clear()


def _tt_bert_mix(n_designs: int) -> list[list[tuple[Gemm, Hardware, Objective]]]:
    """Distinct ``price`` calls of ``n_designs`` random TT-BERT training designs, per design."""
    from dataclasses import replace
    from pathlib import Path

    import optuna

    import dse.contraction._costs as costs_mod
    import dse.contraction._plan as plan_mod
    import dse.study as study_mod
    from dse.config import SamplerConfig, load_study_config
    from dse.evaluate import clear_caches, evaluate
    from dse.space import suggest

    root = Path(__file__).resolve().parents[1]
    cfg = load_study_config(
        str(root / "studies" / "tt_bert_training.yaml"), overrides={"run_dir": root / ".bench-unused"}
    )
    sampler_cfg = replace(cfg, sampler=SamplerConfig(name="random", seed=123))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    probe = optuna.create_study(sampler=study_mod.make_sampler(sampler_cfg), directions=cfg.directions)
    calls: dict[tuple[Gemm, Hardware, Objective], int] = {}
    current = [0]  # index of the design being evaluated
    originals = (costs_mod.price, plan_mod.price)

    def recording(gemm: Gemm, hw: Hardware, objective: Objective = "latency") -> MappingResult:
        calls.setdefault((gemm, hw, objective), current[0])
        return price(gemm, hw, objective)

    costs_mod.price = plan_mod.price = recording  # type: ignore[assignment]
    try:
        for i in range(n_designs):
            current[0] = i
            clear_caches()
            evaluate(suggest(probe.ask(), cfg))
    finally:
        costs_mod.price, plan_mod.price = originals
    return [[call for call, i in calls.items() if i == d] for d in range(n_designs)]


def _mix_figures(n_designs: int) -> None:
    per_design = _tt_bert_mix(n_designs)
    mix = [call for calls in per_design for call in calls]
    engines = {hw.engine for _, hw, _ in mix}
    print(
        f"\nTT-BERT-base training mix: {len(mix)} distinct (GEMM, hardware, objective) from "
        f"{n_designs} designs, engines {sorted(engines)}"
    )

    def one(g: Gemm, hw: Hardware, obj: Objective) -> float:
        eng = get_engine(hw.engine)
        t0 = time.perf_counter()
        eng.search(g, hw, obj)
        return time.perf_counter() - t0

    for g, hw, obj in mix:  # warm the per-shape tables
        get_engine(hw.engine).search(g, hw, obj)
    warm = np.minimum(*([one(g, hw, obj) for g, hw, obj in mix] for _ in range(2)))
    cold = []
    for calls in per_design:  # as in a cold design: caches emptied once, then its searches
        _clear_caches()
        cold.extend(one(g, hw, obj) for g, hw, obj in calls)
    for name, ts in (("warm tables", warm), ("cold       ", np.array(cold))):
        print(
            f"  uncached search, {name}: median {np.median(ts) * 1e3:7.3f} ms, "
            f"p90 {np.percentile(ts, 90) * 1e3:7.3f} ms, mean {np.mean(ts) * 1e3:7.3f} ms "
            f"({len(ts) / np.sum(ts):,.0f} GEMMs/s)"
        )


def _best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer GEMMs and repetitions")
    ap.add_argument(
        "--mix-designs", type=int, default=4, help="TT-BERT designs whose GEMMs form the realistic mix (0: skip)"
    )
    ap.add_argument("--mix-only", action="store_true", help="only the realistic-mix figures")
    args = ap.parse_args()
    tune_allocator()  # as the dse entry points do: keep the search's temporaries in the heap
    if args.mix_only:
        _mix_figures(max(1, args.mix_designs))
        return
    n_gemms = 40 if args.quick else 200
    repeat = 2 if args.quick else 5
    gemms = _gemms(n_gemms)
    print(f"hardware: {HW.pe_rows}x{HW.pe_cols} PEs, 64/64/64 kB, 16 B/cycle, WS+OS+IS")
    print(f"workload: {n_gemms} GEMMs (m, n, k in 4..1024, batch 1 or 4)")

    # 1. vectorized evaluation rate: kernel only and full search (best + Pareto).
    c = hw_consts(HW)
    n_eval = 0
    kernel_s = 0.0
    for g in gemms:
        tiles = tile_grid(g.m, g.n, g.k, 32768, 32768)
        sh = SYSTOLIC.shaping(g, HW)

        def kernel(g: Gemm = g, tiles: IntArray = tiles, sh: Shaping = sh) -> None:
            st = stage(g, c, DATAFLOWS, tiles, _ALL_ORDERS)
            grid_objectives(st, g, c, sh)

        kernel_s += _best_of(kernel, repeat)
        n_eval += len(DATAFLOWS) * len(LOOP_ORDERS) * tiles.shape[1]
    search_s = sum(_best_of(lambda g=g: SYSTOLIC.search(g, HW), repeat) for g in gemms)
    print(f"\ncandidates per GEMM: mean {n_eval / n_gemms:,.0f}")
    print(f"vectorized kernel : {n_eval / kernel_s:>14,.0f} mapping evaluations/s")
    print(f"full search       : {n_eval / search_s:>14,.0f} mapping evaluations/s (incl. best + Pareto selection)")

    # 2. search time per GEMM: cold, uncached search, warm (price cache hit).
    cold = []
    for g in gemms:
        _clear_caches()
        t0 = time.perf_counter()
        price(g, HW)
        cold.append(time.perf_counter() - t0)
    uncached = [_best_of(lambda g=g: SYSTOLIC.search(g, HW), repeat) for g in gemms]
    for g in gemms:
        price(g, HW)
    t0 = time.perf_counter()
    reps = 20
    for _ in range(reps):
        for g in gemms:
            price(g, HW)
    warm = (time.perf_counter() - t0) / (reps * n_gemms)
    print("\nbest-mapping search time per GEMM:")
    print(
        f"  cold (all caches cleared) : median {np.median(cold) * 1e3:7.3f} ms, "
        f"p90 {np.percentile(cold, 90) * 1e3:7.3f} ms"
    )
    print(
        f"  uncached search           : median {np.median(uncached) * 1e3:7.3f} ms, "
        f"p90 {np.percentile(uncached, 90) * 1e3:7.3f} ms "
        f"({n_gemms / sum(uncached):,.0f} GEMMs/s)"
    )
    print(f"  warm (price cache hit)    : {warm * 1e6:7.3f} us")

    # 3. naive per-mapping loop over the same candidates (a subset, rate extrapolated).
    g = Gemm(m=256, n=128, k=256)
    tm, tn, tk = tile_grid(g.m, g.n, g.k, 32768, 32768)
    mappings = [
        Mapping(dataflow=df, tile_m=int(a), tile_n=int(b), tile_k=int(k_), loop_order=o)
        for df in DATAFLOWS
        for o in LOOP_ORDERS
        for a, b, k_ in zip(tm, tn, tk, strict=True)
    ]
    subset = mappings[:: max(1, len(mappings) // (300 if args.quick else 2000))]
    t0 = time.perf_counter()
    naive_best = min(SYSTOLIC.evaluate(g, HW, m).cycles for m in subset)
    naive_rate = len(subset) / (time.perf_counter() - t0)
    vec_s = _best_of(lambda: SYSTOLIC.search(g, HW), repeat)
    vec_rate = len(mappings) / vec_s
    print(f"\nnaive per-mapping loop (Engine.evaluate), m=256 n=128 k=256, {len(subset)} of {len(mappings)} mappings:")
    print(
        f"  naive loop  : {naive_rate:>12,.0f} mappings/s "
        f"(full grid would take {len(mappings) / naive_rate * 1e3:,.0f} ms)"
    )
    print(f"  vectorized  : {vec_rate:>12,.0f} mappings/s (full grid {vec_s * 1e3:.3f} ms)")
    print(f"  speed-up    : {vec_rate / naive_rate:,.0f}x")
    assert SYSTOLIC.search(g, HW).cost.cycles <= naive_best

    if args.mix_designs > 0:
        _mix_figures(args.mix_designs)


if __name__ == "__main__":
    main()
