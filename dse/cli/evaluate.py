"""``dse evaluate``: evaluate one design, from an exported JSON/YAML file or ``STUDY.yaml --trial N``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from dse import ConfigError, Design, DSEError
from dse._catalog import unit
from dse.cli._common import open_existing


def add_parser(subparsers: Any) -> None:
    """Register ``dse evaluate``."""
    p = subparsers.add_parser(
        "evaluate", help="evaluate one design: an exported JSON/YAML file, or STUDY.yaml --trial N"
    )
    p.add_argument("source", help="design file from `dse export`, or a study YAML with --trial")
    p.add_argument("--trial", type=int, help="trial number of the study")
    p.add_argument("--run-dir", help="run folder of the study (default: runs/<study name>)")
    p.add_argument("--storage", help="storage URL of the study")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def design_from_file(path: Path) -> Design:
    """The design of a file written by ``dse export`` (JSON, or YAML for ``--target yaml``)."""
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


def run(args: argparse.Namespace) -> int:
    """Evaluate the design and print its metrics (with units) and its per-pass costs."""
    from dse.evaluate import evaluate

    path = Path(args.source)
    if path.suffix in (".yaml", ".yml") and args.trial is not None:
        from dse.study import complete_trials

        args.study, args.run_dir, args.storage = args.source, args.run_dir, args.storage
        cfg, study = open_existing(args)
        found = [t for t in complete_trials(study) if t.number == args.trial]
        if not found:
            raise DSEError(f"trial {args.trial} is not a finished trial of study {cfg.name!r}")
        design = Design.from_dict(found[0].user_attrs["design"])
    else:
        design = design_from_file(path)
    metrics = evaluate(design)
    if args.json:
        print(json.dumps({"design": design.to_dict(), "metrics": metrics.to_dict()}, indent=2))
        return 0
    for k, v in metrics.scalars().items():
        print(f"{k:>18}  {v:.6g} {unit(k)}")
    print("\n  layer/pass              macs        cycles     energy_pj")
    for p in metrics.passes:
        print(f"  {p.layer + '/' + p.pass_name:<18} {p.macs:>12,} {p.cost.cycles:>13,.0f} {p.cost.energy_pj:>13,.0f}")
    return 0
