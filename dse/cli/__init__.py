"""The ``dse`` command. One module per command, each with ``add_parser(subparsers)`` and
``run(args) -> int``; :func:`main` is the entry point.

Exit statuses (:mod:`dse.cli._common`): 0 the command did what was asked; 1 it ran but could not
(every trial of a run failed, with the most common reason on stderr; a file could not be read
or written); 2 a mistake in the input (command line, study / workload / space / design file),
one ``error:`` line on stderr and nothing done; 130 interrupted (Ctrl-C); 141 the reader of the
output went away (``dse pareto ... | head -1``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from analytical_models import ModelInputError
from dse import DSEError
from dse.cli import (
    check,
    compare,
    dashboard,
    evaluate,
    export,
    gemm,
    init,
    pareto,
    paths,
    quality,
    report,
    resume,
    run,
    status,
    validate,
    worker,
)
from dse.cli._common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_PIPE, EXIT_USAGE
from dse.workload import WorkloadError

COMMANDS: tuple[ModuleType, ...] = (
    init,
    check,
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
    quality,
    gemm,
    compare,
    validate,
)
"""Command modules in the order ``dse --help`` lists them."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one ``error:`` line (exit 2), like every other
    user error of ``dse``; ``--help`` shows the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dse``."""
    parser = _Parser(
        prog="dse",
        description="TNN-DSE: joint design-space exploration of tensorized neural networks and accelerators.",
        epilog="exit status: 0 done; 1 ran but could not (every trial failed, a file could not be written); "
        "2 input mistake, nothing done; 130 interrupted; 141 output pipe closed.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush of a closed pipe does not
    print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (a test's capture): nothing to flush
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. User mistakes (a :class:`~dse.DSEError`, or a model or workload input error)
    print one ``error:`` line on stderr and return 2; see the module docstring for every status."""
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help (0) or a command-line mistake (2, one line printed)
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        code: int = args.func(args)
        sys.stdout.flush()  # a closed pipe is reported here, not at interpreter exit
    except (DSEError, ModelInputError, WorkloadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
