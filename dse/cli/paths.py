"""``dse paths``: best contraction paths of one layer's networks (forward, dx, dg_k).

Example::

    dse paths --format ttm --in-shape 12,8,8 --out-shape 12,16,16 --ranks 16 --batch 32
    dse paths ... --optimizer exhaustive --cost latency --rows 32 --cols 32 --json
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from analytical_models import Hardware, engine_names
from dse import DSEError
from dse.contraction import COST_KINDS, count_trees, optimize_network, path_fn_names
from dse.workload import LayerSpec, format_names, get_format


class _CLIError(DSEError):
    """Bad command-line input."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``paths`` subcommand on ``subparsers`` (from ``parser.add_subparsers()``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "paths",
        help="best contraction paths of one layer (forward, dx, dg_k)",
        description="Best contraction path of each network of one layer, with its GEMMs.",
    )
    p.add_argument("--format", default="ttm", help="layer format (default ttm)")
    p.add_argument("--in-shape", required=True, help="input factorization, e.g. 12,8,8")
    p.add_argument("--out-shape", required=True, help="output factorization, e.g. 12,16,16")
    p.add_argument(
        "--ranks",
        default="",
        help="one internal rank (r0=rd=1), d-1 internal ranks, or d+1 full ranks, comma separated",
    )
    p.add_argument("--batch", default="1", help="tokens per step (default 1)")
    p.add_argument("--pass", dest="pass_", default="all", help="forward, dx, dg1..dgd or all")
    p.add_argument("--optimizer", default="dp", help="path optimizer (default dp)")
    p.add_argument("--cost", default="macs", help=f"step cost, one of {', '.join(COST_KINDS)}")
    p.add_argument("--memory-limit", default=None, help="max elements of any intermediate")
    hw = p.add_argument_group("hardware (for --cost latency / energy)")
    hw.add_argument("--engine", default="systolic", help="cost engine (default systolic)")
    hw.add_argument("--rows", default=None, help="PE rows (default 32)")
    hw.add_argument("--cols", default=None, help="PE columns (default 32)")
    hw.add_argument("--dataflow", default="ws", help="dataflows, comma separated (default ws)")
    hw.add_argument("--ifmap-kb", default="64", help="ifmap buffer kB (default 64)")
    hw.add_argument("--filter-kb", default="64", help="filter buffer kB (default 64)")
    hw.add_argument("--ofmap-kb", default="64", help="ofmap buffer kB (default 64)")
    hw.add_argument("--dram-bw", default="16", help="DRAM bytes per cycle (default 16)")
    hw.add_argument("--bits", default="8", help="operand bits (default 8)")
    hw.add_argument("--tech", default="horowitz45", help="technology profile (default horowitz45)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)
    return p


def _ints(text: str, field: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise _CLIError(f"--{field}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise _CLIError(f"--{field}: expected at least one integer")
    if any(v < 1 for v in values):
        raise _CLIError(f"--{field}: values must be >= 1, got {text!r}")
    return values


def _number(text: str, field: str, kind: type[int] | type[float] = int) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise _CLIError(f"--{field}: expected a number, got {text!r}") from None
    if not value > 0:
        raise _CLIError(f"--{field}: must be > 0, got {text!r}")
    return value


def full_ranks(ranks: tuple[int, ...], d: int) -> tuple[int, ...]:
    """Expand ``--ranks``: one internal rank, ``d-1`` internal ranks, or ``d+1`` full ranks."""
    if not ranks:
        return ()
    if len(ranks) == 1:
        return (1, *([ranks[0]] * (d - 1)), 1)
    if len(ranks) == d - 1:
        return (1, *ranks, 1)
    if len(ranks) == d + 1:
        return ranks
    raise _CLIError(f"--ranks: expected 1, {d - 1} (internal) or {d + 1} (full) ranks for d={d}, got {len(ranks)}")


def _spec(args: argparse.Namespace) -> LayerSpec:
    if args.format not in format_names():
        raise _CLIError(f"--format: unknown format {args.format!r}; expected one of {format_names()}")
    ins, outs = _ints(args.in_shape, "in-shape"), _ints(args.out_shape, "out-shape")
    batch = _number(args.batch, "batch")
    if args.format == "dense":
        return LayerSpec(
            name="cli",
            format="dense",
            in_features=math.prod(ins),
            out_features=math.prod(outs),
            tokens_per_step=batch,
        )
    ranks = full_ranks(_ints(args.ranks, "ranks"), len(ins)) if args.ranks else ()
    return LayerSpec(
        name="cli",
        format=args.format,
        in_features=math.prod(ins),
        out_features=math.prod(outs),
        in_shape=ins,
        out_shape=outs,
        ranks=ranks,
        tokens_per_step=batch,
    )


def _hardware(args: argparse.Namespace) -> Hardware | None:
    if args.cost in ("macs", "bytes") and args.rows is None and args.cols is None:
        return None
    if args.engine not in engine_names():
        raise _CLIError(f"--engine: unknown engine {args.engine!r}; expected one of {engine_names()}")
    return Hardware(
        engine=args.engine,
        pe_rows=_number(args.rows or "32", "rows"),
        pe_cols=_number(args.cols or "32", "cols"),
        ifmap_sram_kb=_number(args.ifmap_kb, "ifmap-kb", float),
        filter_sram_kb=_number(args.filter_kb, "filter-kb", float),
        ofmap_sram_kb=_number(args.ofmap_kb, "ofmap-kb", float),
        dram_bw_bytes_per_cycle=_number(args.dram_bw, "dram-bw", float),
        bits=_number(args.bits, "bits"),
        tech=args.tech,
        dataflows=tuple(d.strip() for d in args.dataflow.split(",") if d.strip()),
    )


def collect(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The report of ``dse paths`` as JSON-ready dicts, one per network."""
    import analytical_models  # noqa: F401  (registers the shipped engines)

    if args.optimizer not in path_fn_names():
        raise _CLIError(f"--optimizer: unknown optimizer {args.optimizer!r}; expected one of {path_fn_names()}")
    if args.cost not in COST_KINDS:
        raise _CLIError(f"--cost: unknown cost {args.cost!r}; expected one of {COST_KINDS}")
    spec = _spec(args)
    nets = get_format(spec.format).networks(spec)
    labels = [n.label for n in nets]
    if args.pass_ != "all":
        if args.pass_ not in labels:
            raise _CLIError(f"--pass: unknown pass {args.pass_!r}; expected all or one of {labels}")
        nets = tuple(n for n in nets if n.label == args.pass_)
    hw = _hardware(args)
    limit = None if args.memory_limit is None else _number(args.memory_limit, "memory-limit")
    report = []
    for net in nets:
        best = optimize_network(net, optimizer=args.optimizer, cost=args.cost, hw=hw, memory_limit=limit)
        ref = optimize_network(net, optimizer="mac_optimal", memory_limit=limit)
        expression = " x ".join(",".join(t) for t in net.inputs) + " -> " + ",".join(net.output)
        entry: dict[str, Any] = {
            "pass": net.label,
            "einsum": net.einsum(),
            "expression": expression,
        }
        if args.optimizer == "exhaustive":
            entry["n_trees"] = count_trees(net.n_inputs)
        entry["best"] = best.as_dict()
        entry["mac_optimal"] = {"path": [list(p) for p in ref.path], "macs": ref.macs}
        report.append(entry)
    return report


def _table(report: list[dict[str, Any]]) -> str:
    lines = []
    for e in report:
        b = e["best"]
        lines.append(f"{e['pass']}: {e['expression']}   ({e['einsum']})")
        if "n_trees" in e:
            lines.append(f"  trees: {e['n_trees']:,}")
        lines.append(f"  best path:   {[tuple(p) for p in b['path']]}")
        cost = f"  MACs: {b['macs']:,}   largest intermediate: {b['peak_elements']:,}"
        if "cycles" in b:
            cost += f"   cycles: {b['cycles']:,.0f}   energy: {b['energy_pj']:,.0f} pJ"
        lines.append(cost)
        ref = e["mac_optimal"]
        lines.append(f"  MAC-optimal: {[tuple(p) for p in ref['path']]}   MACs: {ref['macs']:,}")
        lines.append(f"  {'step':>4} {'batch':>7} {'m':>9} {'n':>9} {'k':>7} {'re-layout':>10}")
        for s, g in enumerate(b["gemms"]):
            lines.append(f"  {s:>4} {g['batch']:>7} {g['m']:>9} {g['n']:>9} {g['k']:>7} {g['permute_elements']:>10}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the best paths of the layer (bad input raises a user error: exit 2)."""
    report = collect(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_table(report))
    return 0
