"""``dse compare STUDY.yaml``: co-design evidence for the designs of a finished study.

For every Pareto design (or ``--trial N``; ``--limit K`` caps the front, evenly spread) it
prints and writes (``<run dir>/compare.csv``, ``compare.html``, and a section of
``dashboard.html``) the ratios of :mod:`dse.compare`: hardware-aware vs MAC-optimal vs naive
paths, tensorized vs dense on the same hardware and on the best hardware a dense search found,
inference vs training (independent networks and with reuse), systolic vs contraction engine.

The dense search is a hardware-only optuna study of the same hardware space, constraints and
mode for the dense model, stored in ``<run dir>/compare_dense/study.journal`` (resumed on the
next call): first the hardware of every compared design (so the dense model is never judged on
worse hardware than the tensorized one was), then ``--dense-trials`` TPE trials.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from dse import Design, DSEError
from dse.cli._common import RUN_DIR_HELP, nonnegative_int, open_existing, positive_int
from dse.compare import (
    DENSE_TRIALS,
    ComparisonRow,
    DenseBest,
    best_versus_best,
    compare_design,
    dense_search,
    format_summary,
    format_table,
    rows_frame,
    spread,
    summarize,
)
from dse.config import StudyConfig


def add_parser(subparsers: Any) -> None:
    """Register ``dse compare``."""
    p = subparsers.add_parser(
        "compare",
        help="co-design evidence: paths, dense, training, engine ratios for the designs of a finished study",
    )
    p.add_argument("study", help="study YAML file of a finished run (dse run first)")
    p.add_argument("--run-dir", help=RUN_DIR_HELP)
    p.add_argument("--storage", help="optuna storage URL of the study (default: journal file in the run folder)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--trial", type=nonnegative_int, help="compare this trial only (default: every Pareto design)")
    which.add_argument(
        "--limit", type=positive_int, help="at most this many Pareto designs, evenly spread along the front"
    )
    p.add_argument(
        "--dense-trials",
        type=nonnegative_int,
        default=DENSE_TRIALS,
        help=f"trials of the dense hardware-only search (default {DENSE_TRIALS}; 0 skips the search)",
    )
    p.add_argument("--seed", type=nonnegative_int, help="seed of the dense search (default 0)")
    p.add_argument("--no-dashboard", action="store_true", help="do not rewrite dashboard.html")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def _select(df: pd.DataFrame, cfg: StudyConfig, args: argparse.Namespace) -> pd.DataFrame:
    from dse.outputs import pareto_frame

    if args.trial is not None:
        if args.trial not in set(int(t) for t in df["trial"]):
            raise DSEError(f"trial {args.trial} is not a finished trial of study {cfg.name!r}")
        one: pd.DataFrame = df[df["trial"] == args.trial].copy()
        return one
    front = pareto_frame(df, cfg)
    return front if args.limit is None else spread(front, args.limit)


# --------------------------------------------------------------------------- command
def run(args: argparse.Namespace) -> int:
    """``dse compare``: see the module docstring. User mistakes raise :class:`DSEError` (exit 2)."""
    from dse.outputs import pareto_frame, trials_frame

    if args.seed is not None and args.dense_trials == 0:
        raise DSEError("--seed is the dense search's seed; it does not apply with --dense-trials 0")
    args.seed = 0 if args.seed is None else args.seed
    cfg, study = open_existing(args)
    df = trials_frame(study)
    if df.empty:
        raise DSEError(f"study {cfg.name!r} has no finished trials yet; run `dse run {args.study}` first")
    selected = _select(df, cfg, args)
    t0 = time.monotonic()
    dense: DenseBest | None = None
    if args.dense_trials > 0:
        _say(args, f"dense hardware-only search ({args.dense_trials} trials + the compared designs' hardware) ...")
        dense = dense_search(cfg, selected, args.dense_trials, args.seed)
        if dense is None:
            _say(args, "dense search: no feasible design; dense_best_hw rows left out")
    t_dense = time.monotonic() - t0
    rows: list[ComparisonRow] = []
    for i, (_, row) in enumerate(selected.iterrows()):
        design = Design.from_dict(json.loads(row["design_json"]))
        trial = int(row["trial"])
        _say(args, f"[{i + 1}/{len(selected)}] trial {trial}")
        rows += compare_design(
            design,
            trial=trial,
            dense_fastest=dense[0] if dense else None,
            dense_most_efficient=dense[1] if dense else None,
        )
    t_cmp = time.monotonic() - t0 - t_dense
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    table = rows_frame(rows)
    csv_path = cfg.run_dir / "compare.csv"
    table.to_csv(csv_path, index=False)
    html_path = _write_html(cfg, table)
    if not args.no_dashboard:
        from dse.report import write_dashboard

        write_dashboard(cfg.run_dir / "dashboard.html", cfg, study, df=df, front=pareto_frame(df, cfg))
    print(
        f"study {cfg.name!r} ({cfg.mode}): {len(selected)} design(s) compared; ratios are reference / subject "
        "(above 1: the subject is cheaper)"
    )
    if dense:
        fh, eh = dense[0].hardware, dense[1].hardware
        print(
            f"dense search: {dense[2]} trials; fastest dense hw {fh.pe_rows}x{fh.pe_cols} {fh.sram_kb:g} kB, "
            f"lowest-energy dense hw {eh.pe_rows}x{eh.pe_cols} {eh.sram_kb:g} kB"
        )
    for best in best_versus_best(rows):
        what = "latency" if best.comparison.endswith("latency") else "energy"
        col = "latency_ms" if what == "latency" else "energy_uj"
        unit = "ms" if what == "latency" else "uJ"
        print(
            f"best vs best ({what}): tensorized trial {best.trial} {getattr(best.subject, col):.4g} {unit} vs dense "
            f"on its best hardware {getattr(best.reference, col):.4g} {unit}: dense / tensorized = "
            f"{best.ratio(col):.3g}x (EDP {best.ratio('edp_uj_ms'):.3g}x)"
        )
    print("\nlatency ratio per design:")
    print(format_table(rows))
    print("\nsummary over the designs:")
    print(format_summary(summarize(rows)))
    print(
        f"\ncompare:   {csv_path}\nhtml:      {html_path}"
        f"\ntime:      dense search {t_dense:.1f} s, comparisons {t_cmp:.1f} s"
    )
    return 0


def _write_html(cfg: StudyConfig, table: pd.DataFrame) -> Path:
    from dse.report import compare_info, write_compare_html

    path = cfg.run_dir / "compare.html"
    write_compare_html(path, compare_info(table), title=f"TNN-DSE compare: {cfg.name}")
    return path
