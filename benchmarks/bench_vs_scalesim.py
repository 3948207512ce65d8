"""Speed of the analytical systolic model vs SCALE-Sim v3 on the same GEMMs.

Usage (from the repo root, SCALE-Sim venv from tools/scalesim_setup.sh)::

    /work/venv/bin/python benchmarks/bench_vs_scalesim.py [--repeat 20] [--dataflow ws]

For each GEMM it prints SCALE-Sim's wall time (one subprocess: interpreter start-up, imports
and the simulation; CALC mode, no trace files) and the same minus the start-up cost of an empty
1x1x1 run, the analytical model's time for one uncached mapping search
(``get_engine("systolic").search``, i.e. what ``price`` does on a cache miss), and the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from analytical_models import Gemm, Hardware, get_engine, tune_allocator  # noqa: E402
from tests.validation.scalesim_env import ensure_scalesim_venv, run_scalesim  # noqa: E402

SRAM_KB = 256
GEMMS: tuple[tuple[int, int, int], ...] = (
    (64, 64, 64),
    (256, 64, 128),
    (128, 512, 64),
    (512, 256, 256),
    (1024, 128, 512),
)
"""(m, n, k): from a few folds up to ~1500 folds on a 16x16 array."""
ARRAY = (16, 16)


def model_seconds(m: int, n: int, k: int, rows: int, cols: int, df: str, repeat: int) -> float:
    """Median seconds of one uncached mapping search."""
    hw = Hardware(
        engine="systolic",
        pe_rows=rows,
        pe_cols=cols,
        ifmap_sram_kb=SRAM_KB,
        filter_sram_kb=SRAM_KB,
        ofmap_sram_kb=SRAM_KB,
        dram_bw_bytes_per_cycle=16.0,
        bits=8,
        dataflows=(df,),
    )
    gemm = Gemm(m=m, n=n, k=k)
    engine = get_engine("systolic")
    engine.search(gemm, hw, "latency")  # warm-up (imports, per-hardware constants)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        engine.search(gemm, hw, "latency")
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20, help="model timing repeats (median)")
    ap.add_argument("--dataflow", default="ws", choices=("ws", "is", "os"))
    args = ap.parse_args(argv)
    tune_allocator()  # as the dse entry points do: keep the search's temporaries in the heap
    ensure_scalesim_venv()
    rows, cols = ARRAY
    df = args.dataflow
    with tempfile.TemporaryDirectory() as td:
        base = statistics.median(
            run_scalesim(1, 1, 1, rows, cols, df, SRAM_KB, SRAM_KB, SRAM_KB, None, td)["wall_s"] for _ in range(3)
        )
        print(f"array {rows}x{cols}, dataflow {df}, SCALE-Sim start-up (1x1x1 GEMM) {base:.3f} s")
        print(
            f"{'M':>5} {'N':>5} {'K':>5} {'ss cycles':>10} {'ss s':>8} {'ss-startup s':>12} "
            f"{'model s':>10} {'ratio':>9} {'ratio(sim only)':>16}"
        )
        for m, n, k in GEMMS:
            sim = run_scalesim(m, n, k, rows, cols, df, SRAM_KB, SRAM_KB, SRAM_KB, None, td)
            ss = float(sim["wall_s"])
            ss_sim = ss - base
            mod = model_seconds(m, n, k, rows, cols, df, args.repeat)
            sim_only = f"{ss_sim / mod:>15.0f}x" if ss_sim > 0 else f"{'(in noise)':>16}"
            print(
                f"{m:>5} {n:>5} {k:>5} {sim['total_cycles']:>10} {ss:>8.3f} "
                f"{max(ss_sim, 0.0):>12.3f} {mod:>10.2e} {ss / mod:>8.0f}x {sim_only}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
