"""``dse worker STUDY.yaml``: one of many processes sharing a study until its budget is reached."""

from __future__ import annotations

import argparse
from typing import Any

from dse.cli._common import exec_args, load_for_exec, positive_int, run_status, study_args


def add_parser(subparsers: Any) -> None:
    """Register ``dse worker``."""
    p = subparsers.add_parser("worker", help="one of many processes sharing a study until its budget is reached")
    study_args(p)
    p.add_argument("--n-trials", type=positive_int, help="the total budget (default: the study's n_trials)")
    p.add_argument("--batch-size", type=positive_int, default=4, help="trials asked per batch (default 4)")
    exec_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Take trials of a shared study until its budget is reached. Workers write no outputs:
    ``dse pareto`` / ``dse dashboard`` write the run folder's tables and dashboard."""
    from dse.study import open_study, run_trials, worker_id

    cfg = load_for_exec(args)
    study = open_study(cfg, args.storage)
    summary = run_trials(
        study,
        cfg,
        until_total=cfg.n_trials,
        timeout_s=cfg.timeout_s,
        n_jobs=args.n_jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        progress=not args.quiet,
        batch_size=args.batch_size,
    )
    print(
        f"worker {worker_id()}: {summary.completed} trials completed, {summary.failed} failed "
        f"in {summary.elapsed_s:.1f} s; the study's budget is {cfg.n_trials} completed trials\n"
        f"tables and dashboard: `dse pareto {args.study}` (trials.csv, pareto.csv) or "
        f"`dse dashboard {args.study}` (also dashboard.html)"
    )
    return run_status(summary)
