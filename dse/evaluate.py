"""Design -> Metrics: for every layer and pass, the best path and best mappings, then totals."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import cast

from analytical_models import ZERO_COST, Cost, Hardware, Objective, Registry, area_mm2, tune_allocator
from dse._design import Design, Metrics, PassRecord, StepRecord
from dse._errors import DSEError
from dse.contraction import (
    ContractionPlan,
    build_plan,
    count_trees,
    enumerate_trees,
    left_to_right_path,
    optimize_network,
)
from dse.workload import PASS_DX, LayerSpec, TensorNetwork, WorkloadError, get_format, pass_kind


class EvaluationError(DSEError):
    """A design cannot be evaluated (for example an inconsistent layer configuration)."""


def _tensor_label(ids: dict[int, str], i: int) -> str:
    return ids.get(i, f"t{i}")


def _pass_record(spec: LayerSpec, net: TensorNetwork, plan: ContractionPlan, mac_optimal_macs: int) -> PassRecord:
    names = dict(enumerate(net.names))
    steps = []
    for s, step in enumerate(plan.steps):
        gemm = step.gemm
        mapping = step.mapping
        cost = step.cost if step.cost is not None else ZERO_COST
        out_id = net.n_inputs + s
        names[out_id] = f"t{out_id}"
        steps.append(
            StepRecord(
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
                cycles=cost.cycles,
                energy_pj=cost.energy_pj,
            )
        )
    total = plan.cost if plan.cost is not None else ZERO_COST
    return PassRecord(
        layer=spec.name,
        pass_name=net.label,
        count=spec.count,
        einsum=net.einsum(),
        path=tuple(tuple(p) for p in plan.path),  # type: ignore[misc]
        macs=plan.macs * spec.count,
        mac_optimal_macs=mac_optimal_macs * spec.count,
        cost=total.scaled(spec.count),
        steps=tuple(steps),
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


@lru_cache(maxsize=64)
def _trees(n: int) -> tuple[tuple[tuple[int, int], ...], ...]:
    return tuple(tuple(tuple(p) for p in t) for t in enumerate_trees(n))  # type: ignore[misc]


def tree_count(n_inputs: int) -> int:
    """Number of binary contraction trees of a network with ``n_inputs`` inputs, ``(2n-3)!!``."""
    return count_trees(n_inputs)


@dataclass(frozen=True, slots=True)
class PathChoice:
    """What a path policy knows when it picks the contraction tree of one network.

    Attributes:
        hw: the hardware the plan is priced on.
        objective: what each GEMM's mapping minimises.
        optimizer: the path optimizer of a hardware-aware search (a :data:`PATH_OPTIMIZERS` name).
        mac_plan: the MAC-optimal plan of the network (always computed: it is reported).
        tree_index: the tree index a ``searched`` design chose for this network.
        where: ``layer 'x' pass forward``, for messages.
    """

    hw: Hardware
    objective: Objective
    optimizer: str
    mac_plan: ContractionPlan
    tree_index: int
    where: str


PathPolicy = Callable[[TensorNetwork, PathChoice], ContractionPlan]
"""``(network, choice) -> priced plan``: how a design's contraction paths are chosen."""

PATH_POLICIES: Registry[PathPolicy] = Registry("path policy", error=EvaluationError)
"""Path policies a design (and ``policy.path`` of a space) may name."""


def _hardware_aware(net: TensorNetwork, c: PathChoice) -> ContractionPlan:
    """Each network's path minimises the mapping objective on this hardware (exact search)."""
    cost_kind = "energy" if c.objective == "energy" else "latency"
    plan = optimize_network(net, optimizer=c.optimizer, cost=cost_kind, hw=c.hw)
    if plan.cost is None or c.objective == "edp":
        plan = build_plan(net, plan.path, hw=c.hw, objective=c.objective)
    return plan


def _mac_optimal(net: TensorNetwork, c: PathChoice) -> ContractionPlan:
    """The fewest-MAC path, priced on this hardware."""
    return build_plan(net, c.mac_plan.path, hw=c.hw, objective=c.objective)


def _naive(net: TensorNetwork, c: PathChoice) -> ContractionPlan:
    """The left-to-right sweep ``x G_1 G_2 ...``, priced on this hardware."""
    return build_plan(net, left_to_right_path(net.n_inputs), hw=c.hw, objective=c.objective)


def _searched(net: TensorNetwork, c: PathChoice) -> ContractionPlan:
    """The tree the design chose (its index in :func:`dse.contraction.enumerate_trees` order)."""
    trees = _trees(net.n_inputs)
    if not 0 <= c.tree_index < len(trees):
        raise EvaluationError(f"{c.where}: tree index {c.tree_index} outside 0..{len(trees) - 1}")
    return build_plan(net, trees[c.tree_index], hw=c.hw, objective=c.objective)


for _name, _policy in (
    ("hardware_aware", _hardware_aware),
    ("mac_optimal", _mac_optimal),
    ("naive", _naive),
    ("searched", _searched),
):
    PATH_POLICIES.register(_name, _policy)


@lru_cache(maxsize=65_536)
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
    """
    chosen = dict(path_choices)
    objective = cast(Objective, mapping_objective)
    policy = PATH_POLICIES.get(path_policy)
    fmt = get_format(spec.format)
    nets = fmt.networks(spec) if training else fmt.inference_networks(spec)
    records = []
    for net in nets:
        if pass_kind(net.label) == PASS_DX and not with_dx:
            continue
        mac_plan = optimize_network(net, optimizer="dp", cost="macs")
        choice = PathChoice(
            hw=hw,
            objective=objective,
            optimizer=path_optimizer,
            mac_plan=mac_plan,
            tree_index=chosen.get(net.label, 0),
            where=f"layer {spec.name!r} pass {net.label}",
        )
        records.append(_pass_record(spec, net, policy(net, choice), mac_plan.macs))
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
            )
            passes.extend(replace(r, layer=spec.name) for r in records)
        params = design.workload.params()
    except (WorkloadError, EvaluationError) as exc:
        raise EvaluationError(f"layer {spec.name!r}: {exc}".replace("layer '': ", "")) from None
    total = sum((p.cost for p in passes), Cost())
    latency_ms = total.cycles / (hw.freq_mhz * 1e3)
    energy_uj = total.energy_pj * 1e-6
    dense = design.workload.dense_params()
    dsp, bram = fpga_resources(hw)
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
        total=total,
        passes=tuple(passes),
    )


def clear_caches() -> int:
    """Empty every value cache of the evaluation stack (for cold-start measurements).

    Returns the number of caches cleared.
    """
    import sys

    n = 0
    prefixes = ("analytical_models", "dse.contraction", "dse.evaluate", "dse.workload")
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(prefixes):
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", name) == name:
                clear()
                n += 1
    return n
