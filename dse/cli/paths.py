"""``dse paths``: best contraction paths of one layer's networks (forward, dx, dg_k).

Example::

    dse paths --format ttm --in-shape 12,8,8 --out-shape 12,16,16 --ranks 16 --batch 32
    dse paths --format tt --in-shape 4,8,8 --out-shape 4,8,8 --ranks 20 --pass forward
    dse paths --format lora --in-features 4096 --out-features 4096 --ranks 16 --batch 512
    dse paths --format conv --in-channels 64 --kernel 3 --image 32 --out-channels 64 --padding 1
    dse paths --format attention --in-features 768 --heads 12 --seq-len 128 --batch 8
    dse paths ... --optimizer exhaustive --cost latency --rows 32 --cols 32 --json
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from analytical_models import DATAFLOWS, Hardware, Objective, engine_names, tech_names
from dse import ConfigError, DSEError
from dse.cli import _defaults as defaults
from dse.contraction import COST_KINDS, ContractionPlan, build_plan, count_trees, optimize_network, path_fn_names
from dse.schedule import EXECUTIONS, Schedule, best_scheduled_plan, candidate_paths, schedule_plan
from dse.workload import (
    LayerSpec,
    TensorNetwork,
    WorkloadError,
    format_names,
    get_format,
    parse_layer,
    split_layer_error,
)


class _CLIError(DSEError):
    """Bad command-line input."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``paths`` subcommand on ``subparsers`` (from ``parser.add_subparsers()``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "paths",
        help="best contraction paths of one layer (forward, dx, dg_k)",
        description="Best contraction path of each network of one layer, with its GEMMs.",
    )
    p.add_argument("--format", default="ttm", help="layer format (default ttm): " + ", ".join(format_names()))
    layer = p.add_argument_group(
        "layer (each format takes the flags it needs: --in-shape/--out-shape for the formats with modes, "
        "--ranks for the formats with ranks, the convolution and attention flags for those)"
    )
    layer.add_argument(
        "--in-shape",
        help="input factorization (tt, ttm, tucker, tr, cp, ttm_conv, ttm_embedding), e.g. 12,8,8; "
        "a matrix format (dense, lowrank, lora) takes its product as --in-features",
    )
    layer.add_argument("--out-shape", help="output factorization, as many factors as --in-shape, e.g. 12,16,16")
    layer.add_argument("--in-features", help="input features (formats without modes; attention: the model width)")
    layer.add_argument("--out-features", help="output features (formats without modes)")
    layer.add_argument(
        "--ranks",
        help="one rank, expanded by the format (tt: 1,r,..,r,1 over 2d cores; ttm: 1,r,..,r,1; tr: a closed "
        "ring r,..,r; tucker: r per mode; cp, lowrank, lora: r), or the format's full rank list, comma separated",
    )
    layer.add_argument("--in-channels", help="convolution input channels (conv, ttm_conv)")
    layer.add_argument("--out-channels", help="convolution output channels (conv, ttm_conv; = --out-features)")
    layer.add_argument("--kernel", help="convolution kernel kh,kw or k (conv, ttm_conv)")
    layer.add_argument("--image", help="convolution input feature map H,W or H (conv, ttm_conv)")
    layer.add_argument("--stride", help="convolution stride (default 1)")
    layer.add_argument("--padding", help="convolution zero padding (default 0)")
    layer.add_argument("--heads", help="attention heads (attention)")
    layer.add_argument("--seq-len", help="tokens per sequence (default 1; attention: query length)")
    layer.add_argument("--kv-len", help="keys per query (attention; default --seq-len)")
    p.add_argument(
        "--batch",
        default="1",
        help="sequences (or images) per step (default 1): tokens per step = batch x --seq-len "
        "(convolutions: batch x output pixels)",
    )
    p.add_argument(
        "--pass",
        dest="pass_",
        default="all",
        help="the layer's networks: forward, dx, dg1..dg<d> (one per weight core; other formats name theirs in "
        "the error of an unknown pass), or all (default)",
    )
    p.add_argument(
        "--optimizer", default="dp", help=f"path optimizer, one of {defaults.names(path_fn_names())} (default dp)"
    )
    p.add_argument("--cost", default="macs", help=f"step cost, one of {defaults.names(COST_KINDS)} (default macs)")
    p.add_argument("--memory-limit", default=None, help="max elements of any intermediate")
    p.add_argument(
        "--execution",
        default=None,
        help="how each pass runs on the hardware: unfused (every intermediate through DRAM), fused "
        "(intermediates on chip, token tiles streamed: the least DRAM traffic) or auto (the better "
        "of the two for --cost; default when the hardware is priced)",
    )
    hw = p.add_argument_group("hardware (only with --cost latency / energy; the defaults are those of dse gemm)")
    d = defaults
    hw.add_argument("--engine", help=f"cost engine, one of {d.names(engine_names())} (default {d.ENGINE})")
    hw.add_argument("--rows", help=f"PE rows (default {d.PE_ROWS})")
    hw.add_argument("--cols", help=f"PE columns (default {d.PE_COLS})")
    hw.add_argument(
        "--dataflow",
        help=f"dataflows the mapping may use: best (all), or some of {d.names(DATAFLOWS)} comma separated "
        f"(default {d.DATAFLOW})",
    )
    hw.add_argument("--ifmap-kb", help=f"ifmap buffer kB (default {d.SRAM_KB:g})")
    hw.add_argument("--filter-kb", help=f"filter buffer kB (default {d.SRAM_KB:g})")
    hw.add_argument("--ofmap-kb", help=f"ofmap buffer kB (default {d.SRAM_KB:g})")
    hw.add_argument("--dram-bw", help=f"DRAM bytes per cycle (default {d.DRAM_BW_BYTES_PER_CYCLE:g})")
    hw.add_argument("--bits", help=f"operand bits (default {d.BITS})")
    hw.add_argument("--tech", help=f"technology profile, one of {d.names(tech_names())} (default {d.TECH})")
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
    if not (math.isfinite(value) and value > 0):
        raise _CLIError(f"--{field}: must be a finite number > 0, got {text!r}")
    return value


def full_ranks(ranks: tuple[int, ...], d: int, fmt: str = "ttm") -> tuple[int, ...]:
    """Expand ``--ranks`` with the format's own :meth:`~dse.workload.LayerFormat.expand_ranks`
    (``()`` stays ``()``)."""
    if not ranks:
        return ()
    try:
        return get_format(fmt).expand_ranks(ranks[0] if len(ranks) == 1 else ranks, d)
    except WorkloadError as exc:
        raise _CLIError(f"--ranks: {exc}") from None


_FLAGS: dict[str, str] = {
    "in_shape": "--in-shape",
    "out_shape": "--out-shape",
    "in_features": "--in-features",
    "out_features": "--out-features",
    "ranks": "--ranks",
    "in_channels": "--in-channels",
    "out_channels": "--out-channels",
    "kernel": "--kernel",
    "image": "--image",
    "stride": "--stride",
    "padding": "--padding",
    "heads": "--heads",
    "seq_len": "--seq-len",
    "kv_len": "--kv-len",
    "format": "--format",
}
"""Layer key (workload YAML, :class:`LayerSpec`) -> the flag that sets it."""
_CONV_FLAGS = ("in_channels", "out_channels", "kernel", "image", "stride", "padding")
_ATTENTION_FLAGS = ("heads", "kv_len")


def _given(args: argparse.Namespace, key: str) -> bool:
    return getattr(args, key) is not None


def _refuse(args: argparse.Namespace, keys: tuple[str, ...], fmt: str, who: str) -> None:
    for key in keys:
        if _given(args, key):
            raise _CLIError(f"{_FLAGS[key]}: format {fmt!r} does not take it (only {who})")


def _require(args: argparse.Namespace, key: str, fmt: str, what: str) -> None:
    if not _given(args, key):
        raise _CLIError(f"{_FLAGS[key]}: required by format {fmt!r} ({what})")


def _layer_data(args: argparse.Namespace, fmt: str) -> dict[str, Any]:
    """The layer as a workload mapping, from the flags the format takes."""
    layer_format = get_format(fmt)
    knobs = layer_format.knobs
    family = knobs.family
    data: dict[str, Any] = {"name": "cli", "format": fmt}
    ins = _ints(args.in_shape, "in-shape") if _given(args, "in_shape") else ()
    outs = _ints(args.out_shape, "out-shape") if _given(args, "out_shape") else ()
    if knobs.depth:
        _require(args, "in_shape", fmt, "factors of in_features, e.g. 4,8,8")
        _require(args, "out_shape", fmt, "factors of out_features, as many as --in-shape")
        data.update(in_shape=list(ins), out_shape=list(outs))
        if family != "conv":
            data.update(in_features=math.prod(ins))
        data.update(out_features=math.prod(outs))
    elif ins or outs:
        if family != "linear":
            flag = "--in-shape" if ins else "--out-shape"
            raise _CLIError(f"{flag}: format {fmt!r} takes no shapes (give --in-features / --out-features)")
        if ins:  # a matrix format: the shape gives the size only
            data["in_features"] = math.prod(ins)
        if outs:
            data["out_features"] = math.prod(outs)
    for key in ("in_features", "out_features"):
        if _given(args, key):
            value = _number(getattr(args, key), key.replace("_", "-"))
            if key in data and data[key] != value:
                flag = "--in-shape" if key == "in_features" else "--out-shape"
                raise _CLIError(f"{_FLAGS[key]}: {value} differs from the product of {flag} ({data[key]})")
            data[key] = value
    if knobs.rank:
        _require(args, "ranks", fmt, knobs.rank_structure)
        ranks = _ints(args.ranks, "ranks")
        data["ranks"] = ranks[0] if len(ranks) == 1 else list(ranks)
    elif _given(args, "ranks"):
        raise _CLIError(f"--ranks: format {fmt!r} takes no ranks")
    if family == "conv":
        for key, what in (("in_channels", "channels"), ("kernel", "kh,kw"), ("image", "H,W")):
            _require(args, key, fmt, what)
        data["in_channels"] = _number(args.in_channels, "in-channels")
        for key in ("kernel", "image"):
            pair = _ints(getattr(args, key), key)
            data[key] = pair[0] if len(pair) == 1 else list(pair)
        if _given(args, "stride"):
            data["stride"] = _number(args.stride, "stride")
        if _given(args, "padding"):
            data["padding"] = _count(args.padding, "padding")
        if _given(args, "out_channels"):
            data["out_channels"] = _number(args.out_channels, "out-channels")
        if "out_features" not in data and "out_channels" not in data:
            raise _CLIError(f"--out-channels: required by format {fmt!r} (or --out-features)")
    else:
        _refuse(args, _CONV_FLAGS, fmt, "conv, ttm_conv")
    if family == "attention":
        _require(args, "heads", fmt, "the number of heads")
        _require(args, "in_features", fmt, "the model width, heads x head dim")
        data["heads"] = _number(args.heads, "heads")
        data.setdefault("out_features", data["in_features"])
        if _given(args, "kv_len"):
            data["kv_len"] = _number(args.kv_len, "kv-len")
    else:
        _refuse(args, _ATTENTION_FLAGS, fmt, "attention")
    for key in ("in_features", "out_features"):
        if key not in data and not (family == "conv" and (key == "in_features" or "out_channels" in data)):
            hint = "--in-shape" if key == "in_features" else "--out-shape"
            raise _CLIError(f"{_FLAGS[key]}: required by format {fmt!r} (or {hint})")
    return data


def _count(text: str, field: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _CLIError(f"--{field}: expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise _CLIError(f"--{field}: must be >= 0, got {text!r}")
    return value


def _flag_error(field: str, text: str) -> _CLIError:
    key = field.split(".", 1)[0].split("[", 1)[0]
    return _CLIError(f"{_FLAGS.get(key, '--' + key.replace('_', '-'))}: {text}" if key else text)


def _spec(args: argparse.Namespace) -> LayerSpec:
    """The layer of the flags, validated by its format; a mistake names its flag."""
    if args.format not in format_names():
        raise _CLIError(f"--format: unknown format {args.format!r}; expected one of {format_names()}")
    batch = _number(args.batch, "batch")
    seq_len = _number(args.seq_len, "seq-len") if _given(args, "seq_len") else 1
    data = _layer_data(args, args.format)
    try:
        spec = parse_layer(data, source="command line", field="", tokens=batch * seq_len, seq_len=seq_len)
        get_format(spec.format).validate(spec)
    except ConfigError as exc:
        field, text = split_layer_error(exc.expected, "cli")
        raise _flag_error(exc.field or field or "", text) from None
    except WorkloadError as exc:
        field, text = split_layer_error(str(exc), "cli")
        raise _flag_error(field or "", text) from None
    return spec


_HW_FLAGS = ("engine", "rows", "cols", "dataflow", "ifmap_kb", "filter_kb", "ofmap_kb", "dram_bw", "bits", "tech")


def _hardware(args: argparse.Namespace) -> Hardware | None:
    """The hardware of ``--cost latency|energy`` (the defaults of :mod:`dse.cli._defaults`); None
    for ``--cost macs|bytes``, which refuse hardware flags (they would be ignored)."""
    given = [f"--{key.replace('_', '-')}" for key in _HW_FLAGS if getattr(args, key) is not None]
    if args.cost in ("macs", "bytes"):
        if given:
            raise _CLIError(f"{given[0]}: hardware prices paths only with --cost latency or energy, not {args.cost}")
        return None
    d = defaults
    engine = args.engine or d.ENGINE
    if engine not in engine_names():
        raise _CLIError(f"--engine: unknown engine {engine!r}; expected one of {engine_names()}")
    flows = d.dataflows(args.dataflow or d.DATAFLOW)
    if args.dataflow is not None and flows != DATAFLOWS:
        d.check_engine_dataflow(engine, flows)
    return Hardware(
        engine=engine,
        pe_rows=_number(args.rows or str(d.PE_ROWS), "rows"),
        pe_cols=_number(args.cols or str(d.PE_COLS), "cols"),
        ifmap_sram_kb=_number(args.ifmap_kb or str(d.SRAM_KB), "ifmap-kb", float),
        filter_sram_kb=_number(args.filter_kb or str(d.SRAM_KB), "filter-kb", float),
        ofmap_sram_kb=_number(args.ofmap_kb or str(d.SRAM_KB), "ofmap-kb", float),
        dram_bw_bytes_per_cycle=_number(args.dram_bw or str(d.DRAM_BW_BYTES_PER_CYCLE), "dram-bw", float),
        freq_mhz=d.FREQ_MHZ,
        bits=_number(args.bits or str(d.BITS), "bits"),
        acc_bits=d.ACC_BITS,
        tech=args.tech or d.TECH,
        dataflows=flows,
    )


def _execution(args: argparse.Namespace, hw: Hardware | None) -> str | None:
    """The execution mode: ``--execution``, else ``auto`` when the hardware is priced."""
    if args.execution is None:
        return "auto" if hw is not None and args.cost in ("latency", "energy") else None
    if args.execution not in EXECUTIONS:
        raise _CLIError(f"--execution: unknown mode {args.execution!r}; expected one of {list(EXECUTIONS.names())}")
    if hw is None or args.cost not in ("latency", "energy"):
        raise _CLIError("--execution: schedules are priced on hardware; give --cost latency or --cost energy")
    return str(args.execution)


def _scheduled(
    net: TensorNetwork,
    per_step: ContractionPlan,
    mac: ContractionPlan,
    hw: Hardware,
    cost: str,
    execution: str,
    limit: int | None,
) -> tuple[ContractionPlan, Schedule]:
    """The best tree and schedule: the per-step optimum (``unfused``), or every candidate tree
    under its best schedule (``fused`` / ``auto``; the optimizer's tree among them)."""
    objective: Objective = "energy" if cost == "energy" else "latency"
    if execution == "unfused":
        return per_step, schedule_plan(per_step, "unfused", hw=hw, objective=objective)
    paths = candidate_paths(net, _pairs(per_step.path), _pairs(mac.path))
    if limit is not None:
        paths = tuple(p for p in paths if build_plan(net, p).peak_elements <= limit) or paths[:1]
    return best_scheduled_plan(net, paths, hw, objective, execution)


def _pairs(path: Any) -> tuple[tuple[int, int], ...]:
    return tuple((int(a), int(b)) for a, b in path)


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
    execution = _execution(args, hw)
    report = []
    for net in nets:
        best = optimize_network(net, optimizer=args.optimizer, cost=args.cost, hw=hw, memory_limit=limit)
        ref = optimize_network(net, optimizer="mac_optimal", memory_limit=limit)
        schedule = None
        if hw is not None and execution is not None:
            best, schedule = _scheduled(net, best, ref, hw, args.cost, execution, limit)
        expression = " x ".join(",".join(t) for t in net.inputs) + " -> " + ",".join(net.output)
        entry: dict[str, Any] = {
            "pass": net.label,
            "einsum": net.einsum(),
            "expression": expression,
        }
        if args.optimizer == "exhaustive":
            entry["n_trees"] = count_trees(net.n_inputs)
        entry["best"] = best.as_dict()
        if schedule is not None:
            entry["best"].update(
                cycles=schedule.cost.cycles,
                energy_pj=schedule.cost.energy_pj,
                dram_bytes=schedule.dram_bytes,
                compulsory_dram_bytes=schedule.compulsory_bytes,
                schedule=schedule.as_dict(),
            )
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
        if "schedule" in b:
            s = b["schedule"]
            on_chip = ", ".join(s["on_chip"]) or "none"
            cost += (
                f"\n  execution {s['execution']}: DRAM {b['dram_bytes']:,.0f} B "
                f"(compulsory {b['compulsory_dram_bytes']:,.0f} B); on chip: {on_chip}; "
                f"token tile {s['token_tile'] or '-'}"
            )
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
