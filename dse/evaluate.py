"""Design -> Metrics: for every layer and pass, the best path and best mappings, then totals."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache
from typing import Any, cast

from analytical_models import Cost, Hardware, Objective, area_mm2, tile_gemm, tune_allocator
from dse._design import Design, Metrics, PassRecord, StepRecord
from dse._policies import PATH_POLICIES, EvaluationError, PathChoice, PathPolicy, tree_list

__all__ = [
    "PATH_POLICIES",
    "EvaluationError",
    "PathChoice",
    "PathPolicy",
    "evaluate",
    "evaluate_layer",
    "fpga_resources",
    "tree_count",
    "tree_list",
]
from dse.contraction import ContractionPlan, count_trees, optimize_path
from dse.schedule import TOKEN_INDEX, Schedule, Segment, tree_macs
from dse.workload import PASS_DX, LayerSpec, TensorNetwork, WorkloadError, get_format, pass_kind


def _tensor_label(ids: dict[int, str], i: int) -> str:
    return ids.get(i, f"t{i}")


def _pass_record(
    spec: LayerSpec, net: TensorNetwork, plan: ContractionPlan, schedule: Schedule, mac_optimal_macs: int
) -> PassRecord:
    names = dict(enumerate(net.names))
    where: dict[int, tuple[int, Segment]] = {}
    for g, seg in enumerate(schedule.segments):
        for s in seg.steps:
            where[s] = (g, seg)
    fused_costs: dict[int, tuple[float, float]] = {}
    steps = []
    for s, step in enumerate(plan.steps):
        gemm = step.gemm
        out_id = net.n_inputs + s
        names[out_id] = f"t{out_id}"
        g, seg = where[s]
        if seg.fused:
            pos = seg.steps.index(s)
            tile = tile_gemm(gemm, step.lowered.activation_dim, int(net.size_dict.get(TOKEN_INDEX, 1)), seg.tile)
            cycles, energy = seg.step_cycles[pos], seg.step_energy_pj[pos]
            record = StepRecord(
                lhs=_tensor_label(names, step.lhs),
                rhs=_tensor_label(names, step.rhs),
                out=names[out_id],
                batch=gemm.batch,
                m=gemm.m,
                n=gemm.n,
                k=gemm.k,
                macs=step.macs,
                dataflow=seg.dataflows[pos],
                tile_m=tile.m,
                tile_n=tile.n,
                tile_k=tile.k,
                loop_order="",
                cycles=cycles,
                energy_pj=energy,
                fused=True,
                segment=g,
                token_tile=seg.tile,
                n_tiles=seg.n_tiles,
            )
            fused_costs[s] = (cycles, energy)
        else:
            mapping = seg.mapping
            record = StepRecord(
                lhs=_tensor_label(names, step.lhs),
                rhs=_tensor_label(names, step.rhs),
                out=names[out_id],
                batch=gemm.batch,
                m=gemm.m,
                n=gemm.n,
                k=gemm.k,
                macs=step.macs,
                dataflow=mapping.dataflow if mapping is not None else "",
                tile_m=mapping.tile_m if mapping is not None else 0,
                tile_n=mapping.tile_n if mapping is not None else 0,
                tile_k=mapping.tile_k if mapping is not None else 0,
                loop_order=mapping.loop_order if mapping is not None else "",
                cycles=seg.cycles,
                energy_pj=seg.energy_pj,
                segment=g,
            )
        steps.append(record)
    return PassRecord(
        layer=spec.name,
        pass_name=net.label,
        count=spec.count,
        einsum=net.einsum(),
        path=tuple(tuple(p) for p in plan.path),  # type: ignore[misc]
        macs=plan.macs * spec.count,
        mac_optimal_macs=mac_optimal_macs * spec.count,
        cost=schedule.cost.scaled(spec.count),
        steps=tuple(steps),
        schedule=schedule,
        compulsory_bytes=schedule.compulsory_bytes * spec.count,
    )


DSP_MACS_PER_SLICE_8BIT = 2
"""Two int8 MACs share one DSP48E2 slice (27x18 multiplier) by operand packing; wider operands up
to 18 bits take one slice per MAC (Xilinx WP486, "Deep Learning with INT8 Optimization")."""
BRAM36_KB = 4.5
"""One BRAM36 block holds 36 Kbit = 4.5 kB of data."""


def fpga_resources(hw: Hardware) -> tuple[int, int]:
    """``(DSP slices, BRAM36 blocks)`` an FPGA build of ``hw`` needs (first-order).

    One MAC per PE; int8 MACs pack two per DSP slice, 9-18 bit ones take one, wider ones four.
    Each on-chip buffer rounds up to whole BRAM36 blocks.
    """
    if hw.bits <= 8:
        dsp = -(-hw.n_pes // DSP_MACS_PER_SLICE_8BIT)
    elif hw.bits <= 18:
        dsp = hw.n_pes
    else:
        dsp = 4 * hw.n_pes
    bram = sum(math.ceil(kb / BRAM36_KB) for kb in (hw.ifmap_sram_kb, hw.filter_sram_kb, hw.ofmap_sram_kb))
    return dsp, bram


def tree_count(n_inputs: int) -> int:
    """Number of binary contraction trees of a network with ``n_inputs`` inputs, ``(2n-3)!!``."""
    return count_trees(n_inputs)


@lru_cache(maxsize=4096)
def _interned(network: TensorNetwork) -> TensorNetwork:
    """The first instance seen of a network equal to ``network``: every cache keyed by a network
    then finds a repeat (a later trial's layer of the same shape) by identity, without comparing
    its fields."""
    return network


@lru_cache(maxsize=16_384)
def evaluate_layer(
    spec: LayerSpec,
    hw: Hardware,
    *,
    training: bool,
    with_dx: bool,
    path_policy: str,
    path_optimizer: str,
    mapping_objective: str,
    path_choices: tuple[tuple[str, int], ...] = (),
    execution: str = "unfused",
) -> tuple[PassRecord, ...]:
    """Price every pass of one layer on ``hw``; cached by value (layers repeat across trials).

    Args:
        spec: the layer (format, shapes, ranks, tokens per step, count).
        hw: the hardware.
        training: forward plus gradients when true, forward only otherwise.
        with_dx: include the input-gradient pass (false for a model's first layer).
        path_policy: ``hardware_aware``, ``mac_optimal``, ``naive`` (left-to-right sweep) or
            ``searched``.
        path_optimizer: the optimizer used for the hardware-aware path.
        mapping_objective: ``latency``, ``energy`` or ``edp`` for every GEMM's mapping.
        path_choices: tree index per pass label, for ``path_policy="searched"``.
        execution: ``unfused`` (every intermediate through DRAM), ``fused`` or ``auto``
            (:data:`dse.schedule.EXECUTIONS`).
    """
    chosen = dict(path_choices)
    objective = cast(Objective, mapping_objective)
    policy = PATH_POLICIES.get(path_policy)
    fmt = get_format(spec.format)
    nets = fmt.networks(spec) if training else fmt.inference_networks(spec)
    records = []
    for net in map(_interned, nets):
        if pass_kind(net.label) == PASS_DX and not with_dx:
            continue
        mac_path = optimize_path(net, optimizer="dp", cost="macs")
        choice = PathChoice(
            hw=hw,
            objective=objective,
            optimizer=path_optimizer,
            network=net,
            mac_path=mac_path,
            tree_index=chosen.get(net.label, 0),
            where=f"layer {spec.name!r} pass {net.label}",
            execution=execution,
        )
        plan, schedule = policy(net, choice)
        records.append(_pass_record(spec, net, plan, schedule, tree_macs(net, mac_path)))
    return tuple(records)


def evaluate(design: Design) -> Metrics:
    """Price a whole design: every layer, every pass, summed.

    Latency is in cycles and ms at the hardware's clock; energy in pJ and uJ; area in mm2.
    Raises :class:`EvaluationError` when the design is inconsistent. The first call in a
    process tunes glibc's allocator for the mapping search (:func:`analytical_models.tune_allocator`;
    set ``TNN_DSE_NO_MALLOC_TUNING`` to skip it).
    """
    tune_allocator()
    hw = design.hardware
    training = design.mode == "training"
    passes: list[PassRecord] = []
    try:
        for n, spec in enumerate(design.workload.layers):
            # the layer's name does not change its cost: identical layers (attention Q/K/V/O)
            # share one cache entry, and the records are relabelled
            records = evaluate_layer(
                replace(spec, name=""),
                hw,
                training=training,
                with_dx=n > 0,
                path_policy=design.path_policy,
                path_optimizer=design.path_optimizer,
                mapping_objective=design.mapping_objective,
                path_choices=tuple(
                    (key.split("/", 1)[1], idx) for key, idx in design.path_choices if key.split("/", 1)[0] == spec.name
                ),
                execution=design.execution,
            )
            passes.extend(_relabelled(r, spec.name) for r in records)
        params = design.workload.params()
    except (WorkloadError, EvaluationError) as exc:
        raise EvaluationError(f"layer {spec.name!r}: {exc}".replace("layer '': ", "")) from None
    passes = overlap_core_merges(passes)
    total = sum((p.cost for p in passes), Cost())
    latency_ms = total.cycles / (hw.freq_mhz * 1e3)
    energy_uj = total.energy_pj * 1e-6
    dense = design.workload.dense_params()
    dsp, bram = fpga_resources(hw)
    compulsory = sum(p.compulsory_bytes for p in passes)
    return Metrics(
        latency_cycles=total.cycles,
        latency_ms=latency_ms,
        energy_pj=total.energy_pj,
        energy_uj=energy_uj,
        edp_uj_ms=energy_uj * latency_ms,
        area_mm2=area_mm2(hw),
        power_mw=0.0 if latency_ms <= 0 else energy_uj / latency_ms,  # 1 uJ / 1 ms = 1 mW
        params=params,
        dense_params=dense,
        compression=dense / params if params else 0.0,
        onchip_kb=hw.sram_kb,
        dsp_count=dsp,
        bram_blocks=bram,
        macs=sum(p.macs for p in passes),
        mac_optimal_macs=sum(p.mac_optimal_macs for p in passes),
        utilization=total.utilization,
        dram_mb=total.dram_bytes / 1e6,
        compulsory_dram_mb=compulsory / 1e6,
        dram_over_compulsory=total.dram_bytes / compulsory if compulsory > 0 else 1.0,
        total=total,
        passes=tuple(passes),
    )


def _relabelled(r: PassRecord, layer: str) -> PassRecord:
    """``replace(r, layer=layer)`` (every field given in order: 0.66 against 1.8 us for
    ``dataclasses.replace``, once per pass of every layer of every design)."""
    return PassRecord(
        layer,
        r.pass_name,
        r.count,
        r.einsum,
        r.path,
        r.macs,
        r.mac_optimal_macs,
        r.cost,
        r.steps,
        r.schedule,
        r.compulsory_bytes,
    )


def _hide(cost: Cost, cycles: float) -> Cost:
    """``cost`` with ``cycles`` of its busy time hidden behind other work (compute, fill/drain
    and shaping shrink in proportion; energy is unchanged)."""
    busy = cost.compute_cycles + cost.fill_drain_cycles + cost.shaping_cycles
    if cycles <= 0 or busy <= 0:
        return cost
    keep = max(0.0, 1.0 - cycles / busy)
    return replace(
        cost,
        compute_cycles=cost.compute_cycles * keep,
        fill_drain_cycles=cost.fill_drain_cycles * keep,
        shaping_cycles=cost.shaping_cycles * keep,
    )


def overlap_core_merges(passes: list[PassRecord]) -> list[PassRecord]:
    """Hide the core merges a TT-core engine (``tt_gemm``) runs behind the activation work of the
    pass instance before them: ``L = C_merge(1) + sum max(L_act(i), C_merge(i + 1))`` over the
    pass instances in execution order (each pass's ``count`` instances back to back). A pass
    whose merges are hidden keeps its energy; its busy cycles shrink by what was hidden."""
    if not any(p.schedule is not None and p.schedule.core_cycles > 0 for p in passes):
        return passes
    out: list[PassRecord] = []
    previous_act = 0.0
    for p in passes:
        core = p.schedule.core_cycles if p.schedule is not None else 0.0
        per_instance = p.cost.cycles / p.count if p.count else 0.0
        act = max(0.0, per_instance - core)
        hidden = min(core, previous_act) + (p.count - 1) * min(core, act)
        out.append(replace(p, cost=_hide(p.cost, hidden)) if hidden > 0 else p)
        previous_act = act
    return out


_CACHED_PACKAGES = (
    "analytical_models",
    "dse.contraction",
    "dse.evaluate",
    "dse.workload",
    "dse.schedule",
    "dse._policies",
)


def _caches() -> list[tuple[str, Any]]:
    """``(module.function, lru-cached function)`` of every value cache of the evaluation stack."""
    import sys

    found = []
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(_CACHED_PACKAGES):
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, type):
                continue  # (a cache's class, not a cache)
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", name) == name:
                found.append((f"{name}.{attr}", value))
    return found


def clear_caches() -> int:
    """Empty every value cache of the evaluation stack (for cold-start measurements).

    Returns the number of caches cleared.
    """
    caches = _caches()
    for _, fn in caches:
        fn.cache_clear()
    return len(caches)


def cache_stats() -> dict[str, tuple[int, int, int, int | None]]:
    """``name -> (hits, misses, entries, bound)`` of every value cache of the evaluation stack.

    Every cache is bounded (an LRU of ``bound`` entries): a long study's memory stays flat.
    """
    out: dict[str, tuple[int, int, int, int | None]] = {}
    for name, fn in _caches():
        info = fn.cache_info()
        out[name] = (info.hits, info.misses, info.currsize, info.maxsize)
    return out
