"""How the cost of one cold design grows: CPU time per design against the number of layers, the
cores per layer (d), the batch and the size of the hardware space.

    python benchmarks/bench_scaling.py [--designs 4] [--execution auto]

Every row evaluates ``--designs`` designs with every value cache emptied before each one (cold),
and reports the median CPU time per design (``time.process_time``: other processes on the machine
do not count). The workload is a stack of TT-matrix training layers (``d`` cores, rank 16, 768 ->
768 features factored as evenly as possible) on random hardware of the edge-ASIC space; the
hardware-space row evaluates the same layer on ``n`` distinct hardware points one after the other
with the caches kept (what a study does), so its time per design falls as the caches warm.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from analytical_models import Hardware, tune_allocator
from dse import Design, evaluate
from dse.evaluate import clear_caches
from dse.workload import LayerSpec, Workload, balanced_factorizations


def _workload(layers: int, d: int, tokens: int) -> Workload:
    shape = balanced_factorizations(768, d, 1)[0]
    specs = tuple(
        LayerSpec(
            name=f"fc{i}",
            format="ttm",
            in_features=768,
            out_features=768,
            in_shape=shape,
            out_shape=shape,
            ranks=(1, *([16] * (d - 1)), 1),
            tokens_per_step=tokens,
        )
        for i in range(layers)
    )
    return Workload(name="scaling", batch=tokens, seq_len=1, layers=specs)


def _hardware(rng: np.random.Generator) -> Hardware:
    return Hardware(
        engine=str(rng.choice(["systolic", "contraction_engine"])),
        pe_rows=int(rng.choice([8, 16, 32, 64])),
        pe_cols=int(rng.choice([8, 16, 32, 64])),
        ifmap_sram_kb=float(rng.choice([32, 64, 128])),
        filter_sram_kb=float(rng.choice([32, 64, 128])),
        ofmap_sram_kb=float(rng.choice([64, 256, 1024])),
        dram_bw_bytes_per_cycle=float(rng.choice([8, 16, 32])),
        dataflows=("ws", "os", "is"),
    )


def _cold_ms(workload: Workload, designs: int, execution: str, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    times = []
    for _ in range(designs):
        design = Design(workload=workload, hardware=_hardware(rng), mode="training", execution=execution)
        clear_caches()
        t0 = time.process_time()
        evaluate(design)
        times.append(time.process_time() - t0)
    return 1e3 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--designs", type=int, default=4)
    ap.add_argument("--execution", default="auto")
    args = ap.parse_args()
    tune_allocator()
    rows: list[tuple[str, str, float]] = []
    for layers in (1, 2, 4, 8):
        rows.append(("layers", str(layers), _cold_ms(_workload(layers, 3, 256), args.designs, args.execution)))
    for d in (2, 3, 4):
        rows.append(("cores per layer d", str(d), _cold_ms(_workload(1, d, 256), args.designs, args.execution)))
    for tokens in (32, 256, 2048):
        rows.append(("tokens per step", str(tokens), _cold_ms(_workload(1, 3, tokens), args.designs, args.execution)))
    workload = _workload(1, 3, 256)
    for n in (1, 8, 64):
        rng = np.random.default_rng(1)
        points = [_hardware(rng) for _ in range(n)]
        clear_caches()
        t0 = time.process_time()
        for i in range(64):
            evaluate(Design(workload=workload, hardware=points[i % n], mode="training", execution=args.execution))
        rows.append(("hardware points (64 designs, caches kept)", str(n), 1e3 * (time.process_time() - t0) / 64))
    print(f"execution {args.execution}; CPU ms per design (median of {args.designs} cold designs per row)")
    print(f"| {'dimension':<42} | {'value':>6} | {'ms / design':>11} |")
    print(f"|{'-' * 44}|{'-' * 8}|{'-' * 13}|")
    for what, value, ms in rows:
        print(f"| {what:<42} | {value:>6} | {ms:>11.1f} |")


if __name__ == "__main__":
    main()
