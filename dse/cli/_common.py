"""What the ``dse`` commands share: study arguments, loading a study, opening a finished run,
the end-of-run report. Every command module has ``add_parser(subparsers)`` and ``run(args)``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from dse import ConfigError
from dse.config import StudyConfig, load_study_config


def study_args(p: argparse.ArgumentParser) -> None:
    """The positional study file, ``--run-dir`` and ``--storage``."""
    p.add_argument("study", help="study YAML file (e.g. studies/quickstart.yaml)")
    p.add_argument("--run-dir", help="run folder (default: runs/<study name>)")
    p.add_argument("--storage", help="optuna storage URL (default: journal file in the run folder)")


def load(args: argparse.Namespace, **extra: Any) -> StudyConfig:
    """The study named by ``args`` with the command-line overrides in ``extra`` (None: unset)."""
    over: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if getattr(args, "run_dir", None):
        over["run_dir"] = args.run_dir
    return load_study_config(args.study, overrides=over)


def exec_args(p: argparse.ArgumentParser) -> None:
    """Options of the commands that run trials (run, resume, worker)."""
    p.add_argument("--timeout", type=float, help="stop starting new batches after this many seconds")
    p.add_argument("--seed", type=int, help="sampler seed (overrides the study's)")
    p.add_argument("--n-jobs", type=int, default=1, help="local evaluation processes (joblib loky)")
    p.add_argument("--backend", choices=("loky", "dask"), default="loky", help="where batches are evaluated")
    p.add_argument("--scheduler", help="Dask scheduler address for --backend dask (tcp://host:8786)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def load_for_exec(args: argparse.Namespace) -> StudyConfig:
    """The study of ``run`` / ``resume`` / ``worker``, with the execution options checked
    before anything is written."""
    from dse.study import check_backend

    cfg = load(args, n_trials=args.n_trials, timeout_s=args.timeout, seed=args.seed)
    check_backend(args.backend, args.scheduler)
    return cfg


def announce(verb: str, cfg: StudyConfig, n_before: int, where: str) -> None:
    """One line on stderr: which study starts or resumes, where, with what."""
    print(
        f"{verb} study {cfg.name!r} ({n_before} trials so far) -> {where}  "
        f"[{cfg.mode}, {cfg.sampler.name}, objectives: {', '.join(cfg.objectives)}]",
        file=sys.stderr,
    )


def finish(study: Any, cfg: StudyConfig, summary: Any) -> int:
    """Write the run's outputs and print what was done, the front and where the files are."""
    from dse.outputs import summary_table, write_outputs

    t0 = time.monotonic()
    out = write_outputs(study, cfg)
    rate = summary.completed / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
    if summary.recovered:
        print(f"marked {len(summary.recovered)} trials of dead workers as failed: {list(summary.recovered)}")
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
    return 130 if summary.interrupted else 0


def open_existing(args: argparse.Namespace) -> tuple[StudyConfig, Any]:
    """The study of a finished run (refused, with the command to run, when there is none)."""
    from dse.study import open_study, run_dir_exists

    cfg = load(args)
    if not args.storage and not run_dir_exists(cfg):
        raise ConfigError(
            cfg.source,
            "(study)",
            f"a finished run in {cfg.run_dir}; run `dse run {args.study}` first",
        )
    return cfg, open_study(cfg, args.storage, create=False)
