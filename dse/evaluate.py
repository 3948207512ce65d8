"""Design -> Metrics: for every layer and pass, the best path and best mappings, then totals."""

from __future__ import annotations

from functools import lru_cache

from analytical_models import ZERO_COST, Cost, Hardware, area_mm2
from dse._design import Design, Metrics, PassRecord, StepRecord
from dse._errors import DSEError
from dse.contraction import ContractionPlan, build_plan, optimize_network
from dse.workload import PASS_DX, LayerSpec, TensorNetwork, WorkloadError, get_format


class EvaluationError(DSEError):
    """A design cannot be evaluated (for example an inconsistent layer configuration)."""


def _tensor_label(ids: dict[int, str], i: int) -> str:
    return ids.get(i, f"t{i}")


def _pass_record(
    spec: LayerSpec, net: TensorNetwork, plan: ContractionPlan, mac_optimal_macs: int
) -> PassRecord:
    names = dict(enumerate(net.names))
    steps = []
    for s, step in enumerate(plan.steps):
        gemm = step.gemm
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
                dataflow=step.mapping.dataflow if step.mapping is not None else "",
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
) -> tuple[PassRecord, ...]:
    """Price every pass of one layer on ``hw``; cached by value (layers repeat across trials).

    Args:
        spec: the layer (format, shapes, ranks, tokens per step, count).
        hw: the hardware.
        training: forward plus gradients when true, forward only otherwise.
        with_dx: include the input-gradient pass (false for a model's first layer).
        path_policy: ``hardware_aware`` or ``mac_optimal``.
        path_optimizer: the optimizer used for the hardware-aware path.
        mapping_objective: ``latency``, ``energy`` or ``edp`` for every GEMM's mapping.
    """
    fmt = get_format(spec.format)
    nets = fmt.networks(spec) if training else fmt.inference_networks(spec)
    records = []
    for net in nets:
        if net.label == PASS_DX and not with_dx:
            continue
        mac_plan = optimize_network(net, optimizer="dp", cost="macs")
        if path_policy == "mac_optimal":
            plan = build_plan(net, mac_plan.path, hw=hw, objective=mapping_objective)
        else:
            cost_kind = "energy" if mapping_objective == "energy" else "latency"
            plan = optimize_network(net, optimizer=path_optimizer, cost=cost_kind, hw=hw)
            if plan.cost is None or mapping_objective == "edp":
                plan = build_plan(net, plan.path, hw=hw, objective=mapping_objective)
        records.append(_pass_record(spec, net, plan, mac_plan.macs))
    return tuple(records)


def evaluate(design: Design) -> Metrics:
    """Price a whole design: every layer, every pass, summed.

    Latency is in cycles and ms at the hardware's clock; energy in pJ and uJ; area in mm2.
    Raises :class:`EvaluationError` when the design is inconsistent.
    """
    hw = design.hardware
    training = design.mode == "training"
    passes: list[PassRecord] = []
    try:
        for n, spec in enumerate(design.workload.layers):
            passes.extend(
                evaluate_layer(
                    spec,
                    hw,
                    training=training,
                    with_dx=n > 0,
                    path_policy=design.path_policy,
                    path_optimizer=design.path_optimizer,
                    mapping_objective=design.mapping_objective,
                )
            )
        params = design.workload.params()
    except WorkloadError as exc:
        raise EvaluationError(str(exc)) from None
    total = sum((p.cost for p in passes), Cost())
    latency_ms = total.cycles / (hw.freq_mhz * 1e3)
    energy_uj = total.energy_pj * 1e-6
    dense = design.workload.dense_params()
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
        macs=sum(p.macs for p in passes),
        mac_optimal_macs=sum(p.mac_optimal_macs for p in passes),
        utilization=total.utilization,
        total=total,
        passes=tuple(passes),
    )
