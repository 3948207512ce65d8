"""The ``dse`` command. One module per command, each with ``add_parser(subparsers)`` and
``run(args) -> int``; :func:`main` is the entry point.

User mistakes raise :class:`~dse.DSEError`: :func:`main` prints one ``error:`` line on stderr and
returns 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from analytical_models import ModelInputError
from dse import DSEError
from dse.cli import compare, dashboard, evaluate, export, gemm, pareto, paths, report, resume, run, status, worker
from dse.workload import WorkloadError

COMMANDS: tuple[ModuleType, ...] = (
    run,
    resume,
    worker,
    dashboard,
    pareto,
    export,
    status,
    evaluate,
    report,
    paths,
    gemm,
    compare,
)
"""Command modules in the order ``dse --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dse``."""
    parser = argparse.ArgumentParser(
        prog="dse",
        description="TNN-DSE: joint design-space exploration of tensorized neural networks and accelerators.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. User mistakes (a :class:`~dse.DSEError`, or a model or workload input error)
    print one ``error:`` line on stderr and return 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (DSEError, ModelInputError, WorkloadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
