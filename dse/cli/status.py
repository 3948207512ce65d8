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

    cfg, study = open_existing(args)
    counts = {s.name.lower(): 0 for s in TrialState}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] += 1
    print(f"study {cfg.name!r} in {cfg.run_dir}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return 0
