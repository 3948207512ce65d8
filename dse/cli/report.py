"""``dse report``: per-layer and per-step CSV reports of one design (``layers.csv``, ``steps.csv``),
like SCALE-Sim's COMPUTE and BANDWIDTH reports."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dse import Design, DSEError
from dse.cli._common import open_existing


def add_parser(subparsers: Any) -> None:
    """Register ``dse report``."""
    p = subparsers.add_parser(
        "report",
        help="write layers.csv and steps.csv of one design: STUDY.yaml --trial N, or an exported design file",
    )
    p.add_argument("source", help="study YAML with --trial N, or a design file from `dse export`")
    p.add_argument("--trial", type=int, help="trial number of the study (with a study YAML)")
    p.add_argument("--run-dir", help="with --trial: the study's run folder (default: runs/<study name>)")
    p.add_argument("--storage", help="with --trial: storage URL of the study")
    p.add_argument(
        "-o", "--output", help="output folder (default: <run dir>/reports/trial_<n>, or beside the design file)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate the design, write ``layers.csv`` and ``steps.csv`` and print their paths."""
    from dse.cli.evaluate import design_from_file
    from dse.evaluate import evaluate
    from dse.reports import write_design_reports

    path = Path(args.source)
    if args.trial is not None:
        if path.suffix not in (".yaml", ".yml"):
            raise DSEError(f"--trial N goes with a study YAML file, not {path.name}")
        if args.trial < 0:
            raise DSEError(f"--trial must be a trial number >= 0, got {args.trial}")
        from dse.study import complete_trials

        args.study = args.source
        cfg, study = open_existing(args)
        found = [t for t in complete_trials(study) if t.number == args.trial]
        if not found:
            raise DSEError(f"trial {args.trial} is not a finished trial of study {cfg.name!r}")
        design = Design.from_dict(found[0].user_attrs["design"])
        out_dir = Path(args.output) if args.output else cfg.run_dir / "reports" / f"trial_{args.trial}"
    else:
        for flag, value in (("--run-dir", args.run_dir), ("--storage", args.storage)):
            if value:
                raise DSEError(f"{flag} goes with --trial N (a study's trial); {path.name} is a design file")
        design = design_from_file(path)
        out_dir = Path(args.output) if args.output else path.parent / f"{path.stem}_report"
    for written in write_design_reports(design, evaluate(design), out_dir):
        print(written)
    return 0
