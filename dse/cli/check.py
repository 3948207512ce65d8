"""``dse check STUDY.yaml``: validate a study without running it (nothing is written).

Prints what the study would run (workload, mode, objectives, sampler, budget, run folder), the
number of designs in its space (exact when the space is discrete and has at most ``--limit``
designs, otherwise an upper bound, labelled as such) and every searched parameter with its
choices or range. The space's first design is evaluated once, so a space in which no design
can be priced (no tile fits a buffer, ...) is reported before any trial runs. Warnings for
physically absurd hardware go to stderr. Exit 0 when the study is valid, 2 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dse import DSEError
from dse.cli._common import load, positive_int, study_args, warn
from dse.config import EXHAUSTIVE_LIMIT


def add_parser(subparsers: Any) -> None:
    """Register ``dse check``."""
    p = subparsers.add_parser(
        "check",
        help="validate a study (nothing written): the size of its space and its searched parameters",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    study_args(p, storage=False)
    p.add_argument(
        "--limit",
        type=positive_int,
        default=EXHAUSTIVE_LIMIT,
        help=f"count designs exactly up to this many, else print an upper bound (default {EXHAUSTIVE_LIMIT:,})",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate the study and print its summary; exit 2 (one ``error:`` line) when it is invalid."""
    from dse._physical import space_warnings
    from dse._samplers import sampler_notes
    from dse.evaluate import EvaluationError, evaluate
    from dse.study import JOURNAL_FILE, conditional_parameters, count_designs, first_design, searched_parameters

    cfg = load(args)
    space = cfg.space
    for text in sampler_notes(cfg.sampler.name, conditional_parameters(cfg)):
        warn(text)
    for text in (*space.notices, *space_warnings(space)):
        warn(text)
    constraints = ", ".join(f"{c.metric} <= {c.max:g}" for c in cfg.constraints) or "none"
    objectives = ", ".join(f"{o} ({d})" for o, d in zip(cfg.objectives, cfg.directions, strict=True))
    smp = cfg.sampler
    sampler = f"{smp.name} (seed {smp.seed if smp.seed is not None else 'random'}"
    sampler += f", population {smp.population_size})" if smp.name in ("nsga2", "nsga3") else ")"
    started = (cfg.run_dir / JOURNAL_FILE).is_file()
    print(f"{cfg.source}: valid")
    print(f"  study        {cfg.name} ({cfg.mode}); workload {cfg.workload.name!r}, {len(cfg.workload.layers)} layers")
    print(f"  space        {space.source}")
    print(f"  objectives   {objectives}")
    print(f"  constraints  {constraints}")
    if cfg.quality is not None:  # the accuracy metric's source
        q = cfg.quality
        source = f"callable {q.callable}" if q.callable else f"table {q.table.file if q.table else ''}"
        print(f"  quality      accuracy from the {source} (once per model configuration)")
    timeout = f", timeout {cfg.timeout_s:g} s" if cfg.timeout_s else ""
    print(f"  sampler      {sampler}; n_trials {cfg.n_trials}{timeout}")
    print(f"  policy       path {space.path_policy} ({space.path_optimizer}), mappings: {space.mapping_objective}")
    print(f"  run folder   {cfg.run_dir} ({'holds a run: dse run continues it' if started else 'not started'})")
    print(f"  designs      {count_designs(cfg, args.limit).label()}")
    params = searched_parameters(cfg)
    width = max(len(p.name) for p in params)
    print(f"searched parameters ({len(params)}):")
    for p in params:
        size = f"{p.size:,} values" if p.size is not None else "real"
        print(f"  {p.name:<{width}}  {p.kind:<11}  {size:>12}  {p.values}")
    try:
        evaluate(first_design(cfg))
    except (EvaluationError, DSEError, ValueError) as exc:
        print(f"warning: the space's first design cannot be evaluated: {exc}", file=sys.stderr)
    return 0
