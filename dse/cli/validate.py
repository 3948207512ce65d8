"""``dse validate STUDY.yaml --simulator scalesim``: the front of a finished study against a
cycle-level simulator.

For the chosen designs (every distinct Pareto design; ``--top K`` of them, evenly spread along
the front; or ``--trial N ...``) it lowers every layer and pass to its GEMMs and holds each, on
the design's array, buffers and bandwidth with SCALE-Sim's bandwidth-limited memory system, to
three numbers of one run (:mod:`dse.validate`): the model's mapping search, the model with
SCALE-Sim's own loop nest (``--mapping scalesim``), and SCALE-Sim v3 itself ("Total Cycles
(incl. prefetch)"), run in its own environment (``bash tools/scalesim_setup.sh``). Identical
GEMMs run once (and are remembered in the run folder); GEMMs whose SCALE-Sim run would be
very long (``--max-cycles``) are skipped with a warning. It prints model against simulator per
design and per step, flags the designs whose model total is more than ``--threshold`` percent
off the simulator's, and writes ``<run dir>/validate_scalesim.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from dse import Design, DSEError
from dse.cli._common import EXIT_FAILED, RUN_DIR_HELP, nonnegative_int, open_existing, positive_float, positive_int
from dse.validate import (
    CSV_COLUMNS,
    MAX_CYCLES,
    SCALESIM_SETUP,
    SIMULATORS,
    DesignChecks,
    DesignTotals,
    RunCache,
    SimRun,
    collect,
    csv_rows,
    error_pct,
    run_scalesim,
    scalesim_available,
    scalesim_cycles,
    scalesim_venv,
    simulate_all,
    totals,
)

THRESHOLD_PCT = 10.0
"""Default ``--threshold``: a design is flagged when its model total is further off."""
DEFAULT_JOBS = max(1, min(4, os.cpu_count() or 1))
"""Default ``--jobs``: one SCALE-Sim process per core (each is single-threaded), at most 4."""


def add_parser(subparsers: Any) -> None:
    """Register ``dse validate``."""
    p = subparsers.add_parser(
        "validate",
        help="run the GEMMs of a finished study's front designs through SCALE-Sim: model vs simulator",
        description=(
            "Run the lowered GEMMs of the chosen designs of a finished study through a cycle-level simulator "
            "(SCALE-Sim v3, in its own environment) and compare each with the model: the mapping search and "
            "SCALE-Sim's own loop nest. Writes <run dir>/validate_scalesim.csv."
        ),
    )
    p.add_argument("study", help="study YAML file of a finished run (dse run first)")
    p.add_argument("--simulator", required=True, choices=SIMULATORS, help="the simulator to run (scalesim)")
    p.add_argument("--run-dir", help=RUN_DIR_HELP)
    p.add_argument("--storage", help="optuna storage URL of the study (default: journal file in the run folder)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--top", type=positive_int, help="K designs of the Pareto front, evenly spread along it")
    which.add_argument(
        "--trial", type=nonnegative_int, nargs="+", help="these trials (default: every distinct Pareto design)"
    )
    p.add_argument(
        "--threshold",
        type=positive_float,
        default=THRESHOLD_PCT,
        help=f"flag a design whose model total is more than this many percent off the simulator's "
        f"(default {THRESHOLD_PCT:g})",
    )
    p.add_argument(
        "--max-cycles",
        type=positive_int,
        default=MAX_CYCLES,
        help=f"skip a GEMM whose SCALE-Sim run needs more cycles than this (folds x rows per fold; "
        f"SCALE-Sim takes about 0.2-7 ms per cycle; default {MAX_CYCLES:,})",
    )
    p.add_argument(
        "--jobs",
        type=positive_int,
        default=DEFAULT_JOBS,
        help=f"simulator processes at once (default {DEFAULT_JOBS}: the cores of this machine, at most 4)",
    )
    p.add_argument("--timeout", type=positive_float, help="give up on one SCALE-Sim run after this many seconds")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def _designs(args: argparse.Namespace) -> tuple[Any, list[tuple[int, Design]]]:
    """The study config and the chosen ``(trial, design)`` pairs."""
    from dse.compare import spread
    from dse.outputs import pareto_frame, trials_frame

    cfg, study = open_existing(args)
    df = trials_frame(study)
    if df.empty:
        raise DSEError(f"study {cfg.name!r} has no finished trials yet; run `dse run {args.study}` first")
    if args.trial:
        known = set(int(t) for t in df["trial"])
        missing = [t for t in args.trial if t not in known]
        if missing:
            raise DSEError(f"trial(s) {missing} are not finished trials of study {cfg.name!r}")
        chosen = df[df["trial"].isin(list(dict.fromkeys(args.trial)))]
    else:
        front = pareto_frame(df, cfg)
        chosen = front if args.top is None else spread(front, args.top)
    pairs = [(int(row["trial"]), Design.from_dict(json.loads(row["design_json"]))) for _, row in chosen.iterrows()]
    return cfg, pairs


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:+.2f} %"


def _step_table(c: DesignChecks, cache: RunCache) -> list[str]:
    lines = [
        f"  {'layer':<12} {'pass':<14} {'GEMM (MxNxK)':>18} {'df':>3} {'runs':>6} "
        f"{'search':>11} {'pinned':>11} {'SCALE-Sim':>11} {'search err':>11} {'pinned err':>11}"
    ]
    for s in c.steps:
        r = s.run
        sim = scalesim_cycles(s, cache)
        pinned = "skipped" if s.pinned_cycles is None else f"{s.pinned_cycles:,.0f}"
        lines.append(
            f"  {s.layer[:12]:<12} {s.pass_name[:14]:<14} {f'{r.m}x{r.n}x{r.k}':>18} {r.dataflow:>3} {s.runs:>6} "
            f"{s.search_cycles:>11,.0f} {pinned:>11} {'' if sim is None else f'{sim:,.0f}':>11} "
            f"{_pct(error_pct(s.search_cycles, sim)):>11} {_pct(error_pct(s.pinned_cycles, sim)):>11}"
        )
    return lines


def _design_line(t: DesignTotals, c: DesignChecks, threshold: float) -> str:
    hw = c.design.hardware
    flag = "  FLAGGED" if t.flagged(threshold) else ""
    return (
        f"trial {t.trial}: {hw.pe_rows}x{hw.pe_cols} {'/'.join(hw.dataflows)}, {hw.ifmap_sram_kb:g}/"
        f"{hw.filter_sram_kb:g}/{hw.ofmap_sram_kb:g} kB, {hw.dram_bw_bytes_per_cycle:g} B/cycle: "
        f"{t.simulated_steps} of {t.steps} steps simulated; cycles per workload step: search "
        f"{t.search_cycles:,.0f} ({_pct(t.search_err_pct)}), pinned {t.pinned_cycles:,.0f} "
        f"({_pct(t.pinned_err_pct)}), SCALE-Sim {t.scalesim_cycles:,.0f}{flag}"
    )


def run(args: argparse.Namespace) -> int:
    """``dse validate``: see the module docstring. Input mistakes raise :class:`DSEError` (exit
    2); a missing simulator is one ``error:`` line naming its setup command (exit 1)."""
    from dse.evaluate import evaluate

    cfg, designs = _designs(args)
    if not scalesim_available():
        print(
            f"error: SCALE-Sim is not installed (no working environment at {scalesim_venv()}); "
            f"create it with `{SCALESIM_SETUP}`",
            file=sys.stderr,
        )
        return EXIT_FAILED
    t0 = time.monotonic()
    checks: list[DesignChecks] = []
    latencies: list[float] = []
    for trial, design in designs:
        metrics = evaluate(design)
        checks.append(collect(trial, design, metrics, args.max_cycles))
        latencies.append(float(metrics.latency_cycles))
    steps = [s for c in checks for s in c.steps]
    runs: dict[str, SimRun] = {s.run.key: s.run for s in steps if s.pinned_cycles is not None}
    skipped = sorted({s.run for s in steps if s.pinned_cycles is None})
    for r in skipped:
        print(
            f"warning: skipped {r.label}: SCALE-Sim would need more than --max-cycles {args.max_cycles:,} cycles",
            file=sys.stderr,
        )
    cache = RunCache(cfg.run_dir / ".cache" / "scalesim_runs.jsonl")
    todo = sorted(r for r in runs.values() if r.key not in cache.results)
    _say(
        args,
        f"validating {len(designs)} design(s) of study {cfg.name!r} against SCALE-Sim: {len(steps)} GEMM steps, "
        f"{len(runs)} distinct runs ({len(runs) - len(todo)} remembered, {len(todo)} to simulate, "
        f"{len(skipped)} skipped)",
    )
    work = Path(cfg.run_dir) / ".cache" / "scalesim_work"

    def simulate(r: SimRun) -> dict[str, Any]:
        sizes = (r.ifmap_kb, r.filter_kb, r.ofmap_kb)
        return run_scalesim(r.m, r.n, r.k, r.rows, r.cols, r.dataflow, *sizes, r.bw_words, work, args.timeout)

    def progress(done: int, total: int, r: SimRun, result: dict[str, Any] | None, error: str) -> None:
        if result is None:
            _say(args, f"[{done}/{total}] {r.label}: failed: {error}")
        else:
            cycles, wall = result["total_cycles_incl_prefetch"], result["wall_s"]
            _say(args, f"[{done}/{total}] {r.label}: {cycles:,} cycles in {wall:.1f} s")

    errors = simulate_all(todo, simulate, cache, jobs=args.jobs, progress=progress)
    design_totals = [totals(c, cache, lat) for c, lat in zip(checks, latencies, strict=True)]
    for c, t in zip(checks, design_totals, strict=True):
        print(_design_line(t, c, args.threshold))
        print("\n".join(_step_table(c, cache)))
    flagged = [t.trial for t in design_totals if t.flagged(args.threshold)]
    out = cfg.run_dir / "validate_scalesim.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS))
        writer.writeheader()
        writer.writerows(csv_rows(checks, design_totals, cache, errors, args.threshold, args.max_cycles))
    print(
        f"\n{len(designs)} design(s), {len(runs)} distinct SCALE-Sim runs ({len(errors)} failed, {len(skipped)} "
        f"skipped) in {time.monotonic() - t0:.1f} s; search = the model's mapping search, pinned = the model "
        "with SCALE-Sim's own loop nest, both under SCALE-Sim's bandwidth-limited memory system"
    )
    if flagged:
        print(
            f"flagged (model total more than {args.threshold:g} % off SCALE-Sim's): trial(s) "
            f"{', '.join(map(str, flagged))}; the search's mapping there differs from the loop nest SCALE-Sim runs"
        )
    else:
        print(f"no design is more than {args.threshold:g} % off SCALE-Sim's total")
    print(f"validate:  {out}")
    if runs and len(errors) == len(runs):
        print("error: every SCALE-Sim run failed (see the progress lines)", file=sys.stderr)
        return EXIT_FAILED
    return 0
