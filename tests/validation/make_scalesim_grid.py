"""Regenerate ``tests/validation/data/scalesim_grid.csv``: real SCALE-Sim v3 runs of the grid that
holds :mod:`analytical_models._scalesim_mapping` (the pinned SCALE-Sim loop nest) to account.

SCALE-Sim runs of GEMMs far larger than the buffers take minutes each, so the grid is simulated
once, its outputs are committed, and ``tests/validation/test_scalesim_mapping.py`` checks the
closed form against them on every run (no simulator needed); a small live subset runs against
the simulator itself.

Usage, from the repository root with the project venv (SCALE-Sim runs in its own venv, made by
``tools/scalesim_setup.sh``; at most ``--jobs`` simulations at once)::

    nice -n 19 python -m tests.validation.make_scalesim_grid [--jobs 2] [--only ws] [--dry-run]

The script is resumable: rows already in the CSV are kept and not simulated again (``--redo``
simulates everything). The CSV holds every input (dataflow, array, GEMM, SRAM sizes, bandwidth
mode) and SCALE-Sim's totals, stall cycles, DRAM words and DRAM activity windows; words are
1 byte in SCALE-Sim, so words are bytes at ``bits=8``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from subprocess import TimeoutExpired
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.validation.scalesim_env import SCALESIM_VERSION, run_scalesim  # noqa: E402

DATA_CSV = REPO_ROOT / "tests" / "validation" / "data" / "scalesim_grid.csv"
LIMITED_BW_WORDS = 10
"""Words per cycle of every DRAM port in the limited-bandwidth (USER) runs."""
MAIN_SRAM_KB = 64
SMALL_SRAM_KB = 8


@dataclass(frozen=True, order=True)
class GridCase:
    """One SCALE-Sim run: ``C[m, n] = A[m, k] B[k, n]`` on a ``rows x cols`` array.

    ``bw_words == 0`` is SCALE-Sim's CALC mode (ample bandwidth), otherwise USER mode with that
    many words per cycle on each DRAM port. SRAM sizes in kB (of 1-byte words).
    """

    dataflow: str
    rows: int
    cols: int
    m: int
    n: int
    k: int
    ifmap_kb: int
    filter_kb: int
    ofmap_kb: int
    bw_words: int

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(str(v) for v in astuple(self))

    def demanded_elements(self) -> int:
        """Operand elements the array requests (SCALE-Sim's run time grows with them)."""
        m, n, k, r, c = self.m, self.n, self.k, self.rows, self.cols

        def cdiv(a: int, b: int) -> int:
            return -(-a // b)

        if self.dataflow == "ws":
            return m * k * cdiv(n, c) + k * n + m * n * cdiv(k, r)
        if self.dataflow == "is":
            return k * m + k * n * cdiv(m, c) + m * n * cdiv(k, r)
        return m * k * cdiv(n, c) + k * n * cdiv(m, r) + m * n


RESULT_FIELDS: tuple[str, ...] = (
    "total_cycles",
    "total_cycles_incl_prefetch",
    "stall_cycles",
    "dram_ifmap_reads",
    "dram_filter_reads",
    "dram_ofmap_writes",
    "dram_ifmap_start_cycle",
    "dram_ifmap_stop_cycle",
    "dram_filter_start_cycle",
    "dram_filter_stop_cycle",
    "dram_ofmap_start_cycle",
    "dram_ofmap_stop_cycle",
    "sram_ifmap_reads",
    "sram_filter_reads",
    "sram_ofmap_writes",
    "wall_s",
)
CASE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(GridCase))
HEADER: tuple[str, ...] = (*CASE_FIELDS, *RESULT_FIELDS, "scalesim_version")

DATAFLOWS = ("ws", "os", "is")
MAIN_ARRAYS = ((8, 8), (16, 16), (32, 32), (8, 32))
MAIN_GEMMS = ((64, 64, 64), (100, 40, 70), (128, 256, 64), (4096, 16, 16))
"""Operands that fit; ragged; the deep reduction of issue 13 (8x8); a tall ifmap of 64 kB."""
BEYOND_ARRAYS = ((8, 8), (16, 16), (32, 32))
BEYOND_GEMMS = ((256, 256, 256),)
DEEP_GEMMS = ((64, 64, 1024),)
FAR_GEMM = (512, 768, 768)
SMALL_SRAM_ARRAYS = ((8, 8), (32, 8))
SMALL_SRAM_GEMMS = ((128, 64, 256), (200, 120, 100))
"""With 8 kB buffers these operands are 4-8x larger than a buffer (cheap to simulate)."""
OS_FAR = GridCase("os", 16, 16, 256, 256, 256, SMALL_SRAM_KB, SMALL_SRAM_KB, SMALL_SRAM_KB, 0)
"""OS far beyond the buffers (8x an 8 kB buffer per operand): OS's 512x768x768 on 64 kB thrashes
its filter SRAM about 6000 times, which costs SCALE-Sim about an hour (its DRAM trace is
re-concatenated on every slide); this one shows the same behaviour in minutes."""


def grid() -> list[GridCase]:
    """Every case of the committed grid (about an hour of SCALE-Sim CPU time)."""
    out: list[GridCase] = []
    for bw in (0, LIMITED_BW_WORDS):
        for df in DATAFLOWS:
            for (r, c), gemms in (
                *((a, MAIN_GEMMS) for a in MAIN_ARRAYS),
                *((a, BEYOND_GEMMS) for a in BEYOND_ARRAYS),
                ((8, 8), DEEP_GEMMS),
            ):
                out += [GridCase(df, r, c, m, n, k, *_same(MAIN_SRAM_KB), bw) for m, n, k in gemms]
            out += [
                GridCase(df, r, c, m, n, k, *_same(SMALL_SRAM_KB), bw)
                for r, c in SMALL_SRAM_ARRAYS
                for m, n, k in SMALL_SRAM_GEMMS
            ]
            # Far beyond the buffers (minutes per run): WS and IS limited, WS ample; OS smaller.
            if (df, bw) in (("ws", 0), ("ws", LIMITED_BW_WORDS), ("is", LIMITED_BW_WORDS)):
                out.append(GridCase(df, 32, 32, *FAR_GEMM, *_same(MAIN_SRAM_KB), bw))
            if df == "os":
                out.append(dataclasses.replace(OS_FAR, bw_words=bw))
    return sorted(set(out), key=lambda g: (g.demanded_elements(), g))


def _same(kb: int) -> tuple[int, int, int]:
    return kb, kb, kb


RANDOM_DRAWS = ((1, 105), (7, 60))
"""``(seed, cases)`` of the random draws added to the grid (seconds each in SCALE-Sim)."""


def random_cases(seed: int, count: int) -> list[GridCase]:
    """Small random cases that reach where the grid does not: arrays down to 4x4 and 12x20,
    buffers of 1-16 kB (different per operand for seed 7), 1-64 words/cycle, ragged shapes."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        df = rng.choice(["ws", "is", "os"])
        if seed == 1:
            r, c = rng.choice([(4, 4), (8, 8), (16, 16), (8, 32), (32, 8), (4, 16), (12, 20)])
            m, n, k = (rng.choice([1, 2, 3, 5, 8, 13, 17, 31, 32, 33, 50, 64, 100, 128, 150, 200]) for _ in range(3))
            kbs = _same(rng.choice([1, 2, 4, 8]))
            bw = rng.choice([0, 1, 2, 3, 7, 10, 16, 32, 64])
        else:
            r, c = rng.choice([(4, 4), (8, 8), (16, 16), (8, 32), (32, 8), (4, 16), (12, 20), (16, 8)])
            m, n, k = (rng.choice([1, 3, 8, 17, 32, 33, 64, 100, 128, 150, 256]) for _ in range(3))
            kbs = (rng.choice([1, 2, 3, 4, 8, 16]), rng.choice([1, 2, 3, 4, 8, 16]), rng.choice([1, 2, 3, 4, 8, 16]))
            bw = rng.choice([0, 1, 4, 5, 10, 10, 10, 16, 25])
        out.append(GridCase(df, r, c, m, n, k, *kbs, bw))
    return out


def all_cases() -> list[GridCase]:
    """The grid and the random draws, cheapest first."""
    cases = set(grid())
    for seed, count in RANDOM_DRAWS:
        cases.update(random_cases(seed, count))
    return sorted(cases, key=lambda g: (g.demanded_elements(), g))


def read_rows(path: Path) -> dict[tuple[str, ...], dict[str, str]]:
    """Rows of an existing grid CSV by case key (empty if the file is missing)."""
    if not path.is_file():
        return {}
    with path.open(newline="") as fh:
        return {tuple(row[f] for f in CASE_FIELDS): row for row in csv.DictReader(fh)}


def write_rows(path: Path, rows: Iterable[dict[str, str]]) -> None:
    """Write the grid CSV sorted by case (atomically: temporary file, then rename)."""

    def order(row: dict[str, str]) -> tuple[Any, ...]:
        return tuple(int(row[f]) if f != "dataflow" else row[f] for f in CASE_FIELDS)

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\n")
        w.writeheader()
        for row in sorted(rows, key=order):
            w.writerow({f: row[f] for f in HEADER})
    tmp.replace(path)


def run_case(case: GridCase, workdir: Path, timeout_s: float | None = None) -> dict[str, Any]:
    """SCALE-Sim's report of ``case`` (:func:`~tests.validation.scalesim_env.run_scalesim`;
    ``bw_words`` 0 is CALC mode)."""
    return run_scalesim(
        case.m,
        case.n,
        case.k,
        case.rows,
        case.cols,
        case.dataflow,
        case.ifmap_kb,
        case.filter_kb,
        case.ofmap_kb,
        case.bw_words or None,
        workdir,
        timeout_s=timeout_s,
    )


def simulate(case: GridCase, workdir: Path, timeout_s: float | None) -> dict[str, str]:
    """One SCALE-Sim run of ``case`` as a CSV row."""
    res = run_case(case, workdir, timeout_s)
    row = dict(zip(CASE_FIELDS, case.key, strict=True))
    row.update({f: f"{res[f]:.3f}" if f == "wall_s" else str(res[f]) for f in RESULT_FIELDS})
    row["scalesim_version"] = SCALESIM_VERSION
    return row


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--out", type=Path, default=DATA_CSV, help="grid CSV (read, then rewritten)")
    ap.add_argument("--jobs", type=int, default=2, help="simulations at once (default 2)")
    ap.add_argument("--only", default="", help="only cases whose key contains this text, e.g. 'ws'")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per simulation")
    ap.add_argument("--redo", action="store_true", help="simulate cases already in the CSV again")
    ap.add_argument("--dry-run", action="store_true", help="list the cases to simulate and stop")
    args = ap.parse_args(argv)

    done = read_rows(args.out)
    todo = [g for g in all_cases() if args.only in ",".join(g.key) and (args.redo or g.key not in done)]
    total_el = sum(g.demanded_elements() for g in todo)
    print(f"{len(todo)} cases to simulate ({len(done)} in {args.out}), {total_el / 1e6:.1f} M demanded elements")
    if args.dry_run:
        for g in todo:
            print(",".join(g.key), f"{g.demanded_elements() / 1e6:.2f} M")
        return 0
    lock = threading.Lock()
    t0 = time.perf_counter()
    finished = [0]

    def one(case: GridCase) -> None:
        with tempfile.TemporaryDirectory(prefix="scalesim_grid_") as td:
            try:
                row = simulate(case, Path(td), args.timeout)
            except (RuntimeError, TimeoutExpired) as exc:
                print(f"FAILED {','.join(case.key)}: {str(exc).splitlines()[0]}", flush=True)
                return
        with lock:
            done[case.key] = row
            write_rows(args.out, done.values())
            finished[0] += 1
            print(
                f"[{finished[0]}/{len(todo)} {time.perf_counter() - t0:7.0f} s] {','.join(case.key)}: "
                f"total {row['total_cycles']}, incl. prefetch {row['total_cycles_incl_prefetch']}, "
                f"{row['wall_s']} s",
                flush=True,
            )

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(one, todo))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
