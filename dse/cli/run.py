"""``dse run STUDY.yaml``: run a study (or continue it) for ``n_trials`` more trials, then write its outputs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dse import DSEError
from dse.cli._common import (
    announce,
    evaluation_processes,
    exec_args,
    finish,
    load_for_exec,
    positive_int,
    study_args,
)
from dse.config import EXHAUSTIVE_LIMIT


def add_parser(subparsers: Any) -> None:
    """Register ``dse run``."""
    p = subparsers.add_parser("run", help="run a study (or continue it): N more trials, then write its outputs")
    study_args(p)
    p.add_argument("--n-trials", type=positive_int, help="trials to run now (default: the study's n_trials)")
    exec_args(p)
    p.add_argument("--exhaustive", action="store_true", help="evaluate every design of the (small, discrete) space")
    p.add_argument(
        "--exhaustive-limit",
        type=positive_int,
        help=f"with --exhaustive: the largest space it accepts (default {EXHAUSTIVE_LIMIT:,} designs)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the study's trials (or enumerate the space with ``--exhaustive``) and write the outputs."""
    from dse.study import enumerate_space, run_study

    if args.exhaustive:
        for flag, value in (("--n-trials", args.n_trials), ("--seed", args.seed)):
            if value is not None:
                raise DSEError(f"{flag} does not apply to --exhaustive (every design of the space is evaluated once)")
    elif args.exhaustive_limit is not None:
        raise DSEError("--exhaustive-limit applies only with --exhaustive")
    limit = args.exhaustive_limit or EXHAUSTIVE_LIMIT
    cfg = load_for_exec(args)
    where = args.storage or str(cfg.run_dir)
    points: list[dict[str, Any]] | None = None
    if args.exhaustive:  # enumerated (and validated) before anything is written
        points = list(enumerate_space(cfg, limit))
        print(f"exhaustive: {len(points)} designs in the space", file=sys.stderr)

    def opened(study: Any, resuming: bool) -> None:
        announce("Resuming" if resuming else "Starting", cfg, len(study.trials), where)

    with evaluation_processes(args, cfg) as evaluator:
        done = run_study(
            cfg,
            storage=args.storage,
            n_jobs=args.n_jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            progress=not args.quiet,
            exhaustive=args.exhaustive,
            exhaustive_limit=limit,
            points=points,
            on_open=opened,
            evaluator=evaluator,
        )
        return finish(done.study, cfg, done.summary, evaluator)
