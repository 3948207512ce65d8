"""``dse pareto STUDY.yaml``: print the Pareto front as a table (or JSON)."""

from __future__ import annotations

import argparse
from typing import Any

from dse.cli._common import open_existing, positive_int, study_args


def add_parser(subparsers: Any) -> None:
    """Register ``dse pareto``."""
    p = subparsers.add_parser("pareto", help="print the Pareto front")
    study_args(p)
    p.add_argument("--json", action="store_true", help="JSON records instead of a table")
    p.add_argument(
        "--limit", type=positive_int, help="designs at most, in front order (default 50 in the table, all in JSON)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the front, smallest model first, one row per distinct design (text table, or JSON
    records without the design column; inactive parameters are ``-`` in the table, null in JSON)."""
    from dse.outputs import pareto_frame, summary_table, trials_frame

    cfg, study = open_existing(args)
    front = pareto_frame(trials_frame(study, cfg), cfg)
    refresh_tables(study, cfg)
    if args.json:
        cols = [c for c in front.columns if c != "design_json"]
        table = front[cols].rename(columns=lambda c: c.removeprefix("param:"))
        if args.limit is not None:
            table = table.head(args.limit)
        print(table.to_json(orient="records", indent=2))
    else:
        print(summary_table(front, cfg, limit=args.limit or 50))
    return 0


def refresh_tables(study: Any, cfg: Any) -> None:
    """Write the run folder's ``trials.csv`` and ``pareto.csv`` (and JSON exports) when they are
    missing or older than the study's journal (``dse worker`` writes none), so that the table's
    "see pareto.csv" is true; says so on stderr."""
    import sys

    from dse.outputs import write_outputs
    from dse.study import JOURNAL_FILE, complete_trials

    pareto_csv, journal = cfg.run_dir / "pareto.csv", cfg.run_dir / JOURNAL_FILE
    if pareto_csv.is_file() and (not journal.is_file() or pareto_csv.stat().st_mtime >= journal.stat().st_mtime):
        return
    if not complete_trials(study):  # no table to write (the printed one says "no finished trials")
        return
    out = write_outputs(study, cfg, dashboard=False)
    print(f"wrote {out.trials_csv} and {out.pareto_csv} (the study changed since they were written)", file=sys.stderr)
