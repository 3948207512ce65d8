"""Path policies: how each network's contraction tree is chosen, jointly with its schedule.

A policy gets the network and a :class:`PathChoice` and returns a priced plan with the schedule
it runs under (:mod:`dse.schedule`). Under the ``unfused`` execution every policy gives exactly
the per-step model of before; under ``fused`` / ``auto`` the hardware-aware policy prices
candidate trees under their best schedule (the per-step additive cost no longer holds once
intermediates stay on chip): the MAC optimum and the fewest-MAC trees
(:func:`dse.schedule.candidate_paths`; for networks too large to enumerate, the per-step
hardware optimum of the exact DP instead), each with every spill set, token tile and merge
mode, pruned by lower bounds (``MACs / PEs`` per tree; per spill set, the fused segments' exact
cost plus a bound of each DRAM-fed step). When a network has more trees than are priced
(:data:`~dse.schedule.TREE_LIMIT`), the per-step optimum of the exact DP is added, so ``auto``
is never worse than ``unfused``; the DP runs only when a tree outside the candidates may beat
their best schedule (:func:`dse.schedule.others_may_beat`: the least fold-time / MAC bound of
those trees is below it), which rules it out for about three networks in four of TT-BERT. For
the d <= 4-6 chains of TNN layers that is a few dozen trees of a few steps each, so enumeration
is exact where a DP whose state holds on-chip residency would be both harder to get right and
no faster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from analytical_models import Hardware, Objective, Registry, quick_init
from dse._errors import DSEError
from dse.contraction import (
    ContractionPlan,
    build_plan,
    count_trees,
    enumerate_trees,
    left_to_right_path,
    optimize_path,
)
from dse.schedule import (
    ENUMERATED_TREE_INPUTS,
    TREE_LIMIT,
    Schedule,
    best_scheduled_plan,
    candidate_paths,
    others_may_beat,
    schedule_plan,
    with_first_path,
)
from dse.workload import TensorNetwork


class EvaluationError(DSEError):
    """A design cannot be evaluated (for example an inconsistent layer configuration)."""


@quick_init
@dataclass(frozen=True, slots=True)
class PathChoice:
    """What a path policy knows when it picks the contraction tree of one network.

    Attributes:
        hw: the hardware the plan is priced on.
        objective: what each GEMM's mapping (and the schedule) minimises.
        optimizer: the path optimizer of a hardware-aware search (a :data:`PATH_OPTIMIZERS` name).
        network: the network.
        mac_path: the MAC-optimal tree of the network (always computed: its MACs are reported);
            :attr:`mac_plan` is its plan.
        tree_index: the tree index a ``searched`` design chose for this network.
        where: ``layer 'x' pass forward``, for messages.
        execution: the execution mode (:data:`dse.schedule.EXECUTIONS`).
    """

    hw: Hardware
    objective: Objective
    optimizer: str
    network: TensorNetwork
    mac_path: tuple[tuple[int, int], ...]
    tree_index: int
    where: str
    execution: str = "unfused"

    @property
    def mac_plan(self) -> ContractionPlan:
        """The MAC-optimal plan of the network (built when asked, cached by value: the shipped
        policies read its tree alone)."""
        return build_plan(self.network, self.mac_path)


Scheduled = tuple[ContractionPlan, Schedule]
PathPolicy = Callable[[TensorNetwork, PathChoice], Scheduled]
"""``(network, choice) -> (priced plan, its schedule)``: how a design's paths are chosen."""

PATH_POLICIES: Registry[PathPolicy] = Registry("path policy", error=EvaluationError)
"""Path policies a design (and ``policy.path`` of a space) may name."""


@lru_cache(maxsize=64)
def tree_list(n: int) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Every contraction tree of ``n`` inputs, in :func:`dse.contraction.enumerate_trees` order."""
    return tuple(tuple((int(a), int(b)) for a, b in t) for t in enumerate_trees(n))


def _on(net: TensorNetwork, path: tuple[tuple[int, int], ...], c: PathChoice) -> Scheduled:
    """One fixed tree, under its best schedule (steps fed from DRAM are priced as needed)."""
    plan = build_plan(net, path)
    return plan, schedule_plan(plan, c.execution, hw=c.hw, objective=c.objective)


def _hardware_aware(net: TensorNetwork, c: PathChoice) -> Scheduled:
    """The path (and schedule) minimising the mapping objective on this hardware.

    Skipping the DP keeps the result's key; of two trees with exactly the same key, the one
    reported may differ from the one the DP-first candidate order would report."""
    mac_path = c.mac_path
    many = count_trees(net.n_inputs) > TREE_LIMIT
    found: Scheduled | None = None
    if many and c.execution != "unfused" and net.n_inputs <= ENUMERATED_TREE_INPUTS:
        # The per-step optimum matters only when a tree outside the candidates may beat them.
        paths = candidate_paths(net, mac_path)
        found = best_scheduled_plan(net, paths, c.hw, c.objective, c.execution)
        if not others_may_beat(net, paths, c.hw, c.objective, c.execution, found[1]):
            return found
    if c.execution == "unfused" or many:
        cost_kind = "energy" if c.objective == "energy" else "latency"
        path = optimize_path(net, optimizer=c.optimizer, cost=cost_kind, hw=c.hw)
        if c.execution == "unfused":
            return _on(net, path, c)
        if found is not None:  # the candidates are scheduled: only the per-step optimum is new
            return with_first_path(net, path, found, c.hw, c.objective, c.execution)
        paths = candidate_paths(net, path, mac_path)
    else:
        paths = candidate_paths(net, mac_path)
    return best_scheduled_plan(net, paths, c.hw, c.objective, c.execution)


def _mac_optimal(net: TensorNetwork, c: PathChoice) -> Scheduled:
    """The fewest-MAC path, priced on this hardware."""
    return _on(net, c.mac_path, c)


def _naive(net: TensorNetwork, c: PathChoice) -> Scheduled:
    """The left-to-right sweep ``x G_1 G_2 ...``, priced on this hardware."""
    return _on(net, left_to_right_path(net.n_inputs), c)


def _searched(net: TensorNetwork, c: PathChoice) -> Scheduled:
    """The tree the design chose (its index in :func:`dse.contraction.enumerate_trees` order)."""
    trees = tree_list(net.n_inputs)
    if not 0 <= c.tree_index < len(trees):
        raise EvaluationError(f"{c.where}: tree index {c.tree_index} outside 0..{len(trees) - 1}")
    return _on(net, trees[c.tree_index], c)


for _name, _policy in (
    ("hardware_aware", _hardware_aware),
    ("mac_optimal", _mac_optimal),
    ("naive", _naive),
    ("searched", _searched),
):
    PATH_POLICIES.register(_name, _policy)
