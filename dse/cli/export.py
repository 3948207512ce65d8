"""``dse export STUDY.yaml``: export designs of a study (one trial or the front) to a target format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dse import DSEError
from dse.cli._common import open_existing, study_args
from dse.export import DEFAULT_FPGA_PART


def add_parser(subparsers: Any) -> None:
    """Register ``dse export``."""
    p = subparsers.add_parser("export", help="export designs of a study to a target format")
    study_args(p)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--trial", type=int, help="trial number")
    g.add_argument("--pareto", action="store_true", help="every design on the Pareto front")
    from dse.export import exporter_names

    targets = ", ".join(exporter_names())
    p.add_argument("--target", default="json", help=f"export target, one of {targets} (default json)")
    p.add_argument("-o", "--output", help="output folder (default: <run dir>/exports/<target>)")
    p.add_argument(
        "--fpga-part",
        default=None,
        help=f"FPGA part of the hls target's set_part, recorded in its header (default {DEFAULT_FPGA_PART})",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export one trial or every distinct Pareto design; exit 2 when nothing could be exported
    (the target refused every design, or there is none)."""
    from dse.export import get_exporter
    from dse.outputs import export_designs, pareto_frame, trials_frame

    get_exporter(args.target)  # an unknown target is refused before the study is opened
    if args.fpga_part is not None and args.target != "hls":
        raise DSEError(f"--fpga-part is for --target hls (the target is {args.target!r})")
    if args.output and Path(args.output).exists() and not Path(args.output).is_dir():
        raise DSEError(f"-o/--output: a folder, but {args.output} is a file")
    cfg, study = open_existing(args)
    df = trials_frame(study, cfg)
    if args.pareto:
        numbers = [int(t) for t in pareto_frame(df, cfg)["trial"]] if not df.empty else []
    else:
        if args.trial is None:
            raise DSEError("give --trial N or --pareto")
        if df.empty or args.trial not in set(df["trial"]):
            raise DSEError(f"trial {args.trial} is not a finished trial of study {cfg.name!r}")
        numbers = [args.trial]
    out_dir = Path(args.output or (cfg.run_dir / "exports" / args.target))
    refused: dict[int, str] = {}
    from dse.export import ExportOptions

    options = ExportOptions(fpga_part=args.fpga_part or DEFAULT_FPGA_PART)
    written = export_designs(study, numbers, args.target, out_dir, refused if args.pareto else None, options)
    for p in written:
        print(p)
    for number, reason in refused.items():
        print(f"refused: trial {number}: {reason}", file=sys.stderr)
    if not written:
        if refused:
            raise DSEError(
                f"nothing exported: target {args.target!r} refused every design of the front "
                f"({len(refused)}; reasons above)"
            )
        raise DSEError(f"nothing exported: study {cfg.name!r} has no finished trial on its front")
    if refused:
        print(
            f"exported {len(numbers) - len(refused)} of {len(numbers)} designs; "
            f"{len(refused)} refused by {args.target!r}",
            file=sys.stderr,
        )
    return 0
