"""The training reuse schedule: one reverse sweep over the forward tree instead of d + 1
independent networks (``training_reuse`` of ``dse compare``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from analytical_models import Cost, Hardware, Objective, best_mapping, hw_consts
from dse import Design, Metrics
from dse.contraction import lower_step, ssa_to_nodes, training_macs
from dse.evaluate import evaluate
from dse.workload import PASS_FORWARD, LayerSpec, TensorNetwork, get_format, pass_kind


def step_kb(batch: int, m: int, n: int, k: int, hw: Hardware) -> float:
    """On-chip footprint of one GEMM step's two operands and result, in kB at ``hw.bits``."""
    return batch * (m * k + k * n + m * n) * hw.bits / 8 / 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ReuseTraining:
    """A training step priced with the reuse schedule.

    Attributes:
        cost: total cost of the step (all layers, all instances).
        macs: MACs of the step.
        working_set_kb: largest step footprint plus the forward intermediates kept.
        reused_layers: layers priced with the reuse schedule.
        independent_layers: layers priced as independent networks (no single forward tree to
            differentiate: attention, plain embedding lookups).
        kept_on_chip: every kept forward intermediate fits the ofmap buffer at once, so none of
            them goes through DRAM (:func:`_keep_on_chip`).
    """

    cost: Cost
    macs: int
    working_set_kb: float
    reused_layers: tuple[str, ...]
    independent_layers: tuple[str, ...]
    kept_on_chip: bool = False


def _reusable(spec: LayerSpec, nets: Sequence[TensorNetwork]) -> bool:
    forwards = [n for n in nets if pass_kind(n.label) == PASS_FORWARD]
    return len(forwards) == 1 and nets[0].label == PASS_FORWARD and nets[0].n_inputs >= 2


def _kept_fn(net: TensorNetwork) -> Any:
    """``mask -> indices`` a subtree's tensor keeps (shared with the rest, or in the output)."""
    n = net.n_inputs
    full = (1 << n) - 1
    holders: dict[str, int] = {}
    for t, idx in enumerate(net.inputs):
        for i in idx:
            holders[i] = holders.get(i, 0) | (1 << t)
    output = set(net.output)

    def kept(mask: int) -> frozenset[str]:
        return frozenset(i for i, h in holders.items() if h & mask and (h & (full ^ mask) or i in output))

    return kept


def _layer_reuse(
    spec: LayerSpec,
    net: TensorNetwork,
    hw: Hardware,
    objective: Objective,
    with_dx: bool,
    path: tuple[tuple[int, int], ...] | None = None,
) -> tuple[Cost, int, float, float]:
    """(cost, MACs, largest step kB, kept intermediates kB) of one instance of one layer.

    Forward: the forward network along ``path`` (the design's own forward tree; the MAC-optimal
    tree of :func:`training_macs` when not given), every intermediate kept. Backward, root down:
    node ``V = L x R`` with incoming ``dV`` (``dy`` at the root) gives ``dL = dV x R`` and
    ``dR = dV x L``. The step producing the gradient of the activation leaf ``x`` is skipped when
    the layer needs no ``dx`` (the model's first layer).
    """
    path = path or training_macs(spec).reuse_path
    kept = _kept_fn(net)
    sizes = net.size_dict
    n = net.n_inputs
    activation = 1 if net.roles and net.roles[0] == "activation" else 0
    steps: list[tuple[frozenset[str], frozenset[str], frozenset[str]]] = []
    nodes = ssa_to_nodes(path, n)
    kept_kb = 0.0
    for s, (a, b) in enumerate(nodes):
        steps.append((kept(a), kept(b), kept(a | b)))
        if s < len(nodes) - 1:
            kept_kb += math.prod(sizes[i] for i in kept(a | b)) * hw.bits / 8 / 1024
    for a, b in reversed(nodes):
        kv = kept(a | b)
        for target, other in ((a, b), (b, a)):
            if not with_dx and target == activation:
                continue  # dx of the first layer: nobody needs it
            steps.append((kv, kept(other), kept(target)))
    total = Cost()
    macs = 0
    largest = 0.0
    for lhs, rhs, out in steps:
        lowered = lower_step(lhs, rhs, out, sizes)
        g = lowered.gemm
        total = total + best_mapping(g, hw, objective).cost
        macs += lowered.macs
        largest = max(largest, step_kb(g.batch, g.m, g.n, g.k, hw))
    return total, macs, largest, kept_kb


def price_reuse_training(design: Design, independent: Metrics | None = None) -> ReuseTraining:
    """Price one training step of ``design`` with the reuse schedule on its hardware.

    What is reused: per layer, the forward intermediates of the design's own forward tree (the
    hardware-aware tree its evaluation chose; the partial products of ``x`` with cores and of
    cores with cores). Every backward step multiplies the incoming gradient with one kept forward
    tensor, so ``dx`` and every ``dG_k`` come out of one reverse sweep instead of ``d + 1``
    separate networks. Every step is lowered with :func:`dse.contraction.lower_step` and priced
    with :func:`analytical_models.price` (the design's mapping objective), fed from DRAM; when
    every kept intermediate of every layer fits the ofmap buffer at once they stay on chip
    (:func:`_keep_on_chip`), otherwise they go through DRAM. Layers without a single forward
    tree (attention, plain embeddings) keep their independent networks, taken from
    ``independent`` (the design's training evaluation; computed when not given).
    """
    training = replace(design, mode="training")
    if independent is None:
        independent = evaluate(training)
    hw = design.hardware
    objective = cast(Objective, design.mapping_objective)
    total = Cost()
    macs = 0
    largest = 0.0
    kept_kb = 0.0
    reused: list[str] = []
    plain: list[str] = []
    forward_trees = {p.layer: p.path for p in independent.passes if p.pass_name == PASS_FORWARD}
    for n, spec in enumerate(design.workload.layers):
        nets = get_format(spec.format).networks(spec)
        if _reusable(spec, nets):
            tree = forward_trees.get(spec.name)
            cost, m, big, kkb = _layer_reuse(spec, nets[0], hw, objective, with_dx=n > 0, path=tree)
            total = total + cost.scaled(spec.count)
            macs += m * spec.count
            largest = max(largest, big)
            kept_kb += kkb * spec.count
            reused.append(spec.name)
        else:
            for p in independent.passes:
                if p.layer == spec.name:
                    total = total + p.cost
                    macs += p.macs
                    largest = max(largest, *(step_kb(s.batch, s.m, s.n, s.k, hw) for s in p.steps), 0.0)
            plain.append(spec.name)
    on_chip = bool(reused) and kept_kb * 1024.0 <= hw.ofmap_sram_kb * 1024.0
    if on_chip:
        total = _keep_on_chip(total, kept_kb * 1024.0, hw)
    return ReuseTraining(
        cost=total,
        macs=macs,
        working_set_kb=largest + kept_kb,
        reused_layers=tuple(reused),
        independent_layers=tuple(plain),
        kept_on_chip=on_chip,
    )


def _keep_on_chip(cost: Cost, kept_bytes: float, hw: Hardware) -> Cost:
    """The reuse step's cost when every kept forward intermediate stays in the ofmap buffer
    (first order): each one is not written to DRAM by the forward step that makes it, nor read
    back by the forward step that consumes it or by the backward step that uses it (three trips
    of its bytes saved, never below the rest of the traffic); the stall shrinks by the saved
    bytes over the bandwidth (never below zero) and DRAM energy by their energy."""
    saved = min(3.0 * kept_bytes, 0.5 * cost.dram_bytes)
    if saved <= 0:
        return cost
    share_rd = cost.dram_read_bytes / cost.dram_bytes if cost.dram_bytes else 0.5
    dram_pj_bit = hw_consts(hw).dram_pj_bit
    return replace(
        cost,
        dram_read_bytes=cost.dram_read_bytes - saved * share_rd,
        dram_write_bytes=cost.dram_write_bytes - saved * (1 - share_rd),
        dram_energy_pj=max(0.0, cost.dram_energy_pj - saved * 8.0 * dram_pj_bit),
        stall_cycles=max(0.0, cost.stall_cycles - saved / hw.dram_bw_bytes_per_cycle),
    )
