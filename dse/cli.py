"""The ``dse`` command: run, dashboard, export, pareto, evaluate, status, paths, gemm."""

from __future__ import annotations

import argparse
import json
import sys
import time
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dse._design import Design
from dse._errors import ConfigError, DSEError
from dse.config import EXHAUSTIVE_LIMIT, StudyConfig, load_study_config


def _study_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("study", help="study YAML file (e.g. studies/quickstart.yaml)")
    p.add_argument("--run-dir", help="run folder (default: runs/<study name>)")
    p.add_argument("--storage", help="optuna storage URL (default: journal file in the run folder)")


def _load(args: argparse.Namespace, **extra: Any) -> StudyConfig:
    over: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if getattr(args, "run_dir", None):
        over["run_dir"] = args.run_dir
    return load_study_config(args.study, overrides=over)


def _load_for_exec(args: argparse.Namespace) -> StudyConfig:
    """The study of ``run`` / ``resume`` / ``worker``, with the execution options checked
    before anything is written."""
    from dse.study import check_backend

    cfg = _load(args, n_trials=args.n_trials, timeout_s=args.timeout, seed=args.seed)
    check_backend(args.backend, args.scheduler)
    return cfg


def _exec_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, help="stop starting new batches after this many seconds")
    p.add_argument("--seed", type=int, help="sampler seed (overrides the study's)")
    p.add_argument("--n-jobs", type=int, default=1, help="local evaluation processes (joblib loky)")
    p.add_argument("--backend", choices=("loky", "dask"), default="loky", help="where batches are evaluated")
    p.add_argument("--scheduler", help="Dask scheduler address for --backend dask (tcp://host:8786)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _announce(verb: str, cfg: StudyConfig, n_before: int, where: str) -> None:
    print(
        f"{verb} study {cfg.name!r} ({n_before} trials so far) -> {where}  "
        f"[{cfg.mode}, {cfg.sampler.name}, objectives: {', '.join(cfg.objectives)}]",
        file=sys.stderr,
    )


def _finish(study: Any, cfg: StudyConfig, summary: Any) -> int:
    from dse.outputs import write_outputs
    from dse.results import summary_table

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


def _cmd_run(args: argparse.Namespace) -> int:
    from dse.study import enumerate_space, open_study, run_dir_exists, run_exhaustive, run_trials

    cfg = _load_for_exec(args)
    points: list[dict[str, Any]] | None = None
    if args.exhaustive:  # enumerated (and validated) before anything is written
        points = list(enumerate_space(cfg, args.exhaustive_limit))
        print(f"exhaustive: {len(points)} designs in the space", file=sys.stderr)
    resuming = run_dir_exists(cfg) or bool(args.storage)
    study = open_study(cfg, args.storage)
    n_before = len(study.trials)
    _announce("Resuming" if resuming and n_before else "Starting", cfg, n_before, args.storage or str(cfg.run_dir))
    common = {"n_jobs": args.n_jobs, "backend": args.backend, "scheduler": args.scheduler, "progress": not args.quiet}
    if args.exhaustive:
        summary = run_exhaustive(study, cfg, limit=args.exhaustive_limit, points=points, **common)
    else:
        summary = run_trials(study, cfg, n_trials=cfg.n_trials, timeout_s=cfg.timeout_s, **common)
    return _finish(study, cfg, summary)


def _cmd_resume(args: argparse.Namespace) -> int:
    from dse.study import open_study, run_dir_exists, run_trials

    cfg = _load_for_exec(args)
    if not args.storage and not run_dir_exists(cfg):
        raise ConfigError(cfg.source, "(study)", f"a run to resume in {cfg.run_dir}; start it with `dse run`")
    study = open_study(cfg, args.storage, create=False)
    _announce("Resuming", cfg, len(study.trials), args.storage or str(cfg.run_dir))
    summary = run_trials(
        study,
        cfg,
        until_total=cfg.n_trials,
        timeout_s=cfg.timeout_s,
        n_jobs=args.n_jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        progress=not args.quiet,
    )
    return _finish(study, cfg, summary)


def _cmd_worker(args: argparse.Namespace) -> int:
    from dse.study import open_study, run_trials, worker_id

    cfg = _load_for_exec(args)
    study = open_study(cfg, args.storage)
    summary = run_trials(
        study,
        cfg,
        until_total=cfg.n_trials,
        timeout_s=cfg.timeout_s,
        n_jobs=args.n_jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        progress=not args.quiet,
        batch_size=args.batch_size,
    )
    print(
        f"worker {worker_id()}: {summary.completed} trials completed, {summary.failed} failed "
        f"in {summary.elapsed_s:.1f} s; the study's budget is {cfg.n_trials} completed trials"
    )
    return 130 if summary.interrupted else 0


def _open_existing(args: argparse.Namespace) -> tuple[StudyConfig, Any]:
    from dse.study import open_study, run_dir_exists

    cfg = _load(args)
    if not args.storage and not run_dir_exists(cfg):
        raise ConfigError(
            cfg.source,
            "(study)",
            f"a finished run in {cfg.run_dir}; run `dse run {args.study}` first",
        )
    return cfg, open_study(cfg, args.storage, create=False)


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from dse.outputs import write_outputs

    cfg, study = _open_existing(args)
    detail: list[int] | str = "all" if args.detail_all else list(args.detail or [])
    out = write_outputs(study, cfg, detail=detail)
    print(out.dashboard_html)
    if args.open:
        webbrowser.open(out.dashboard_html.resolve().as_uri())
    return 0


def _cmd_pareto(args: argparse.Namespace) -> int:
    from dse.results import pareto_frame, summary_table, trials_frame

    cfg, study = _open_existing(args)
    front = pareto_frame(trials_frame(study), cfg)
    if args.json:
        cols = [c for c in front.columns if c != "design_json"]
        print(front[cols].to_json(orient="records", indent=2))
    else:
        print(summary_table(front, cfg, limit=args.limit))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from dse.outputs import export_designs
    from dse.results import pareto_frame, trials_frame

    cfg, study = _open_existing(args)
    df = trials_frame(study)
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
    written = export_designs(study, numbers, args.target, out_dir, refused if args.pareto else None)
    for p in written:
        print(p)
    for number, reason in refused.items():
        print(f"refused: trial {number}: {reason}", file=sys.stderr)
    if refused and not written:
        raise DSEError(f"target {args.target!r} refused every design of the front ({len(refused)})")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from optuna.trial import TrialState

    cfg, study = _open_existing(args)
    counts = {s.name.lower(): 0 for s in TrialState}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] += 1
    print(f"study {cfg.name!r} in {cfg.run_dir}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return 0


def _design_from_file(path: Path) -> Design:
    import yaml

    if not path.is_file():
        raise ConfigError(str(path), "", "file not found")
    text = path.read_text(encoding="utf-8")
    try:
        record = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(str(path), f"line {exc.lineno}", "valid JSON (a design exported by `dse export`)") from None
    except yaml.YAMLError:
        raise ConfigError(str(path), "", "valid YAML (a design exported by `dse export --target yaml`)") from None
    if not isinstance(record, dict) or "design" not in record:
        raise ConfigError(str(path), "design", "an object with a 'design' block (from `dse export`)")
    try:
        return Design.from_dict(record["design"])
    except DSEError as exc:
        raise ConfigError(str(path), "design", str(exc)) from None


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from dse.evaluate import evaluate

    path = Path(args.source)
    if path.suffix in (".yaml", ".yml") and args.trial is not None:
        from dse.study import complete_trials

        args.study, args.run_dir, args.storage = args.source, args.run_dir, args.storage
        cfg, study = _open_existing(args)
        found = [t for t in complete_trials(study) if t.number == args.trial]
        if not found:
            raise DSEError(f"trial {args.trial} is not a finished trial of study {cfg.name!r}")
        design = Design.from_dict(found[0].user_attrs["design"])
    else:
        design = _design_from_file(path)
    metrics = evaluate(design)
    if args.json:
        print(json.dumps({"design": design.to_dict(), "metrics": metrics.to_dict()}, indent=2))
        return 0
    from dse.study import UNITS

    for k, v in metrics.scalars().items():
        print(f"{k:>18}  {v:.6g} {UNITS.get(k, '')}")
    print("\n  layer/pass              macs        cycles     energy_pj")
    for p in metrics.passes:
        print(f"  {p.layer + '/' + p.pass_name:<18} {p.macs:>12,} {p.cost.cycles:>13,.0f} {p.cost.energy_pj:>13,.0f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dse``."""
    parser = argparse.ArgumentParser(
        prog="dse",
        description="TNN-DSE: joint design-space exploration of tensorized neural networks and accelerators.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run a study (or continue it): N more trials, then write its outputs")
    _study_args(p)
    p.add_argument("--n-trials", type=int, help="trials to run now (default: the study's n_trials)")
    _exec_args(p)
    p.add_argument("--exhaustive", action="store_true", help="evaluate every design of the (small) space")
    p.add_argument("--exhaustive-limit", type=int, default=EXHAUSTIVE_LIMIT, help="largest space --exhaustive accepts")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("resume", help="continue a study until it holds n_trials completed trials")
    _study_args(p)
    p.add_argument("--n-trials", type=int, help="the total budget (default: the study's n_trials)")
    _exec_args(p)
    p.set_defaults(func=_cmd_resume)

    p = sub.add_parser("worker", help="one of many processes sharing a study until its budget is reached")
    _study_args(p)
    p.add_argument("--n-trials", type=int, help="the total budget (default: the study's n_trials)")
    p.add_argument("--batch-size", type=int, default=4, help="trials asked per batch (default 4)")
    _exec_args(p)
    p.set_defaults(func=_cmd_worker)

    p = sub.add_parser("dashboard", help="write the study's offline HTML dashboard")
    _study_args(p)
    p.add_argument("--open", action="store_true", help="open it in a browser")
    p.add_argument("--detail", type=int, nargs="+", metavar="TRIAL", help="also detail these trials")
    p.add_argument("--detail-all", action="store_true", help="detail every design of the Pareto front")
    p.set_defaults(func=_cmd_dashboard)

    p = sub.add_parser("pareto", help="print the Pareto front")
    _study_args(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_cmd_pareto)

    p = sub.add_parser("export", help="export designs of a study to a target format")
    _study_args(p)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--trial", type=int, help="trial number")
    g.add_argument("--pareto", action="store_true", help="every design on the Pareto front")
    p.add_argument("--target", default="json", help="export target (default json)")
    p.add_argument("-o", "--output", help="output folder (default: <run dir>/exports/<target>)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("status", help="trial counts of a study")
    _study_args(p)
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("evaluate", help="evaluate one design: an exported JSON/YAML file, or STUDY.yaml --trial N")
    p.add_argument("source", help="design file from `dse export`, or a study YAML with --trial")
    p.add_argument("--trial", type=int, help="trial number of the study")
    p.add_argument("--run-dir", help="run folder of the study (default: runs/<study name>)")
    p.add_argument("--storage", help="storage URL of the study")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_evaluate)

    from dse import _cli_gemm, _cli_paths

    _cli_paths.add_parser(sub)
    _cli_gemm.add_parser(sub)
    try:  # `dse compare` (co-design evidence) lives in its own module
        from dse import _cli_compare  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        pass
    else:
        _cli_compare.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. User mistakes print one ``error:`` line on stderr and return 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except DSEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
