"""``dse evaluate``: evaluate one design, from an exported JSON/YAML file or ``STUDY.yaml --trial N``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from dse import ConfigError, Design, DSEError
from dse._catalog import unit
from dse._yaml import parse_yaml, read_text
from dse.cli._common import RUN_DIR_HELP, nonnegative_int, open_existing, warn


def add_parser(subparsers: Any) -> None:
    """Register ``dse evaluate``."""
    p = subparsers.add_parser(
        "evaluate", help="evaluate one design: an exported JSON/YAML file, or STUDY.yaml --trial N"
    )
    p.add_argument("source", help="design file from `dse export`, or a study YAML with --trial")
    p.add_argument("--trial", type=nonnegative_int, help="trial number of the study (with a study YAML)")
    p.add_argument("--run-dir", help=f"with --trial: {RUN_DIR_HELP}")
    p.add_argument("--storage", help="with --trial: storage URL of the study")
    p.add_argument("--json", action="store_true", help="print the design and its metrics as JSON")
    p.set_defaults(func=run)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def read_record(path: Path) -> Any:
    """The record of a design file (JSON, or YAML for ``--target yaml``), refusing duplicate keys."""
    text = read_text(path)
    if path.suffix in (".yaml", ".yml"):
        return parse_yaml(text, str(path))
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            str(path), f"line {exc.lineno}", f"valid JSON, a design exported by `dse export` ({exc.msg})"
        ) from None
    except ValueError as exc:  # a duplicate key
        raise ConfigError(str(path), "", f"valid JSON without repeated keys ({exc})") from None


def design_from_file(path: Path) -> Design:
    """The design of a file written by ``dse export`` (JSON, or YAML for ``--target yaml``)."""
    record = read_record(path)
    if not isinstance(record, dict) or "design" not in record:
        hint = " (a study file: add --trial N)" if isinstance(record, dict) and "workload" in record else ""
        raise ConfigError(str(path), "design", f"an object with a 'design' block (from `dse export`){hint}")
    return Design.from_dict(record["design"], source=str(path))


def run(args: argparse.Namespace) -> int:
    """Evaluate the design and print its metrics (with units) and its per-pass costs."""
    from dse._physical import hardware_warnings
    from dse.evaluate import evaluate

    path = Path(args.source)
    if args.trial is not None:
        if path.suffix not in (".yaml", ".yml"):
            raise DSEError(f"--trial N goes with a study YAML file, not {path.name} (a design file is evaluated as is)")
        from dse.study import complete_trials

        args.study = args.source
        cfg, study = open_existing(args)
        found = [t for t in complete_trials(study) if t.number == args.trial]
        if not found:
            raise DSEError(f"trial {args.trial} is not a finished trial of study {cfg.name!r}")
        design = Design.from_dict(found[0].user_attrs["design"], source=f"{cfg.name} trial {args.trial}")
    else:
        for flag, value in (("--run-dir", args.run_dir), ("--storage", args.storage)):
            if value:
                raise DSEError(f"{flag} goes with --trial N (a study's trial); {path.name} is evaluated as is")
        design = design_from_file(path)
    metrics = evaluate(design)
    for text in hardware_warnings(design.hardware, metrics.area_mm2):
        warn(text)
    if args.json:
        print(json.dumps({"design": design.to_dict(), "metrics": metrics.to_dict()}, indent=2))
        return 0
    for k, v in metrics.scalars().items():
        print(f"{k:>18}  {v:.6g} {unit(k)}")
    print("\n  layer/pass              macs        cycles     energy_pj")
    for p in metrics.passes:
        print(f"  {p.layer + '/' + p.pass_name:<18} {p.macs:>12,} {p.cost.cycles:>13,.0f} {p.cost.energy_pj:>13,.0f}")
    return 0
