"""``dse dashboard STUDY.yaml``: rewrite (and open) the study's offline HTML dashboard."""

from __future__ import annotations

import argparse
import sys
import webbrowser
from typing import Any

from dse.cli._common import EXIT_FAILED, open_existing, study_args


def add_parser(subparsers: Any) -> None:
    """Register ``dse dashboard``."""
    p = subparsers.add_parser("dashboard", help="write the study's offline HTML dashboard")
    study_args(p)
    p.add_argument("--open", action="store_true", help="open it in a browser")
    detail = p.add_mutually_exclusive_group()
    detail.add_argument("--detail", type=int, nargs="+", metavar="TRIAL", help="also detail these trials")
    detail.add_argument("--detail-all", action="store_true", help="detail every design of the Pareto front")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write ``dashboard.html`` (optionally with detailed trials) and print its path."""
    from dse.outputs import write_outputs
    from dse.study import complete_trials

    cfg, study = open_existing(args)
    if not complete_trials(study):
        print(f"error: study {cfg.name!r} has no finished trial yet: no dashboard to draw", file=sys.stderr)
        return EXIT_FAILED
    detail: list[int] | str = "all" if args.detail_all else list(args.detail or [])
    out = write_outputs(study, cfg, detail=detail)
    print(out.dashboard_html)
    if args.open:
        webbrowser.open(out.dashboard_html.resolve().as_uri())
    return 0
