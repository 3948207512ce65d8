"""``dse pareto STUDY.yaml``: print the Pareto front as a table (or JSON)."""

from __future__ import annotations

import argparse
from typing import Any

from dse.cli._common import open_existing, study_args


def add_parser(subparsers: Any) -> None:
    """Register ``dse pareto``."""
    p = subparsers.add_parser("pareto", help="print the Pareto front")
    study_args(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the front, smallest model first, one row per distinct design (text table, or JSON
    records without the design column; inactive parameters are ``-`` in the table, null in JSON)."""
    from dse.outputs import pareto_frame, summary_table, trials_frame

    cfg, study = open_existing(args)
    front = pareto_frame(trials_frame(study, cfg), cfg)
    if args.json:
        cols = [c for c in front.columns if c != "design_json"]
        table = front[cols].rename(columns=lambda c: c.removeprefix("param:"))
        print(table.to_json(orient="records", indent=2))
    else:
        print(summary_table(front, cfg, limit=args.limit))
    return 0
