"""``dse status STUDY.yaml``: trial counts of a study by state."""

from __future__ import annotations

import argparse
from typing import Any

from dse.cli._common import open_existing, study_args


def add_parser(subparsers: Any) -> None:
    """Register ``dse status``."""
    p = subparsers.add_parser("status", help="trial counts of a study")
    study_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print how many trials of the study are in each state."""
    from optuna.trial import TrialState

    from dse.study import stale_trials

    cfg, study = open_existing(args)
    counts = {s.name.lower(): 0 for s in TrialState}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] += 1
    where = args.storage or cfg.run_dir
    text = ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "no trials"
    print(f"study {cfg.name!r} in {where}: {text}")
    dead = stale_trials(study)
    if dead:
        print(f"{len(dead)} of the running trials belong to workers that died; `dse resume` marks them failed")
    return 0
