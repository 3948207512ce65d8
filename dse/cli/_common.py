"""What the ``dse`` commands share: argument types, study arguments, loading a study, opening a
finished run, the end-of-run report and the exit statuses. Every command module has
``add_parser(subparsers)`` and ``run(args)``."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from collections.abc import Iterator
from typing import Any

from dse.config import StudyConfig, load_study_config

EXIT_OK = 0
"""The command did what was asked."""
EXIT_FAILED = 1
"""The command ran but could not do what was asked: every trial of a run failed (the most common
reason is on stderr), or a file could not be read or written."""
EXIT_USAGE = 2
"""A mistake in the input (command line, study, workload, space or design file): nothing was done."""
EXIT_INTERRUPTED = 130
"""Ctrl-C: completed trials are kept, the batch in flight is marked failed."""
EXIT_PIPE = 141
"""The reader of the output went away (``dse pareto ... | head -1``), as for any command killed by
SIGPIPE."""


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"an integer >= 1, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"an integer >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"a finite number > 0, got {text}")
    return value


def warn(text: str) -> None:
    """One ``warning:`` line on stderr."""
    print(f"warning: {text}", file=sys.stderr)


RUN_DIR_HELP = (
    "run folder (default: runs/<study name> in the study file's project, i.e. the nearest folder "
    "above the study file with runs/, pyproject.toml or .git; else next to the study file)"
)


def study_args(p: argparse.ArgumentParser, *, storage: bool = True) -> None:
    """The positional study file, ``--run-dir`` and (unless ``storage`` is false) ``--storage``."""
    p.add_argument("study", help="study YAML file (e.g. studies/quickstart.yaml)")
    p.add_argument("--run-dir", help=RUN_DIR_HELP)
    if storage:
        p.add_argument("--storage", help="optuna storage URL (default: journal file in the run folder)")


def load(args: argparse.Namespace, **extra: Any) -> StudyConfig:
    """The study named by ``args`` with the command-line overrides in ``extra`` (None: unset)."""
    over: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if getattr(args, "run_dir", None):
        over["run_dir"] = args.run_dir
    return load_study_config(args.study, overrides=over)


def exec_args(p: argparse.ArgumentParser) -> None:
    """Options of the commands that run trials (run, resume, worker)."""
    p.add_argument("--timeout", type=positive_float, help="stop starting new batches after this many seconds")
    p.add_argument("--seed", type=nonnegative_int, help="sampler seed (overrides the study's)")
    p.add_argument("--n-jobs", type=positive_int, default=1, help="local evaluation processes (default 1)")
    p.add_argument(
        "--backend",
        choices=("loky", "dask"),
        default="loky",
        help="where batches are evaluated: loky (--n-jobs local processes, default) or dask (a cluster at --scheduler)",
    )
    p.add_argument("--scheduler", help="Dask scheduler address for --backend dask (tcp://host:8786)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def load_for_exec(args: argparse.Namespace) -> StudyConfig:
    """The study of ``run`` / ``resume`` / ``worker``, with the execution options checked
    before anything is written; warnings for physically absurd hardware in its space."""
    from dse._physical import space_warnings
    from dse._samplers import sampler_notes
    from dse.study import check_backend, check_run_dir, conditional_parameters

    cfg = load(args, n_trials=args.n_trials, timeout_s=args.timeout, seed=args.seed)
    check_backend(args.backend, args.scheduler, args.n_jobs)
    check_run_dir(cfg)
    for text in sampler_notes(cfg.sampler.name, conditional_parameters(cfg)):
        warn(text)
    for text in (*cfg.space.notices, *space_warnings(cfg.space)):
        warn(text)
    return cfg


def announce(verb: str, cfg: StudyConfig, n_before: int, where: str) -> None:
    """One line on stderr: which study starts or resumes, where, with what."""
    print(
        f"{verb} study {cfg.name!r} ({n_before} trials so far) -> {where}  "
        f"[{cfg.mode}, {cfg.sampler.name}, objectives: {', '.join(cfg.objectives)}]",
        file=sys.stderr,
    )


def run_status(summary: Any) -> int:
    """The exit status of a run / resume / worker, with the reason on stderr when it is not 0:
    interrupted, or every trial failed (with the most common ``fail_reason``)."""
    if summary.interrupted:
        return EXIT_INTERRUPTED
    if summary.all_failed:
        reason, count = summary.fail_reasons[0] if summary.fail_reasons else ("unknown", summary.failed)
        more = len(summary.fail_reasons) - 1
        others = f"; {more} other reason{'s' if more > 1 else ''} (fail_reason of each trial)" if more > 0 else ""
        print(
            f"error: every trial failed ({summary.failed}); most common reason ({count} trials): {reason}{others}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


@contextlib.contextmanager
def evaluation_processes(args: argparse.Namespace, cfg: StudyConfig) -> Iterator[Any]:
    """The run's evaluation processes (``--n-jobs``, ``--backend``, ``--scheduler``), open for
    its trials and then its outputs (the front's exports run where the study's caches are)."""
    from dse.study import Evaluator, model_quality

    with Evaluator(args.n_jobs, args.backend, args.scheduler, quality=model_quality(cfg)) as evaluator:
        yield evaluator


def finish(study: Any, cfg: StudyConfig, summary: Any, evaluator: Any = None) -> int:
    """Write the run's outputs (the exports on ``evaluator``'s processes when open) and print
    what was done, the front and where the files are."""
    from dse.outputs import summary_table, write_outputs
    from dse.study import complete_trials

    rate = summary.completed / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
    if summary.recovered:
        print(f"marked {len(summary.recovered)} trials of dead workers as failed: {list(summary.recovered)}")
    if summary.interrupted:
        print("interrupted: the trials of the batch in flight are marked failed; `dse resume` continues")
    if summary.exhausted:
        print(f"{cfg.sampler.name}: every design of the space has been tried; the study is complete")
    if not complete_trials(study):  # nothing to tabulate, draw or export
        print(
            f"\n{summary.completed} trials completed, {summary.failed} failed in {summary.elapsed_s:.1f} s; "
            f"the study has no finished trial yet: no outputs written to {cfg.run_dir}"
        )
        return run_status(summary)
    t0 = time.monotonic()
    out = write_outputs(study, cfg, evaluator=evaluator)
    print(
        f"\n{summary.completed} trials completed, {summary.failed} failed in {summary.elapsed_s:.1f} s "
        f"({rate:.1f} trials/s); {len(out.trials)} finished in total, "
        f"{len(out.front)} on the Pareto front (outputs written in {time.monotonic() - t0:.1f} s)"
    )
    print(summary_table(out.front, cfg))
    print(
        f"\ntrials:    {out.trials_csv}\npareto:    {out.pareto_csv}\n"
        f"dashboard: {out.dashboard_html}\nexports:   {out.trials_csv.parent / 'exports'} "
        f"({len(out.exports)} JSON designs)"
    )
    return run_status(summary)


def open_existing(args: argparse.Namespace) -> tuple[StudyConfig, Any]:
    """The study of a finished run (refused, saying where it looked and what to run, when there
    is none)."""
    from dse.study import check_run_dir, missing_run, open_study, run_dir_exists

    cfg = load(args)
    storage = getattr(args, "storage", None)
    check_run_dir(cfg)
    if not storage and not run_dir_exists(cfg):
        raise missing_run(cfg, args.study)
    return cfg, open_study(cfg, storage, create=False)
