"""``dse resume STUDY.yaml``: continue a study until it holds ``n_trials`` completed trials (after a
crash or ``kill -9``)."""

from __future__ import annotations

import argparse
from typing import Any

from dse.cli._common import (
    announce,
    evaluation_processes,
    exec_args,
    finish,
    load_for_exec,
    positive_int,
    study_args,
)


def add_parser(subparsers: Any) -> None:
    """Register ``dse resume``."""
    p = subparsers.add_parser("resume", help="continue a study until it holds n_trials completed trials")
    study_args(p)
    p.add_argument("--n-trials", type=positive_int, help="the total budget (default: the study's n_trials)")
    exec_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run until the study holds ``n_trials`` completed trials, then write the outputs."""
    from dse.study import resume_study

    cfg = load_for_exec(args)

    def opened(study: Any, resuming: bool) -> None:
        announce("Resuming", cfg, len(study.trials), args.storage or str(cfg.run_dir))

    with evaluation_processes(args, cfg) as evaluator:
        done = resume_study(
            cfg,
            storage=args.storage,
            n_jobs=args.n_jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            progress=not args.quiet,
            on_open=opened,
            evaluator=evaluator,
        )
        summary = done.summary
        if summary.completed + summary.failed == 0 and summary.finished_before >= cfg.n_trials:
            held = summary.finished_before
            print(f"the study already holds {held} completed trials (budget {cfg.n_trials}): nothing to run")
        return finish(done.study, cfg, summary, evaluator)
