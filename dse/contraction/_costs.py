"""Step costs: the price of one pairwise contraction, additive over the steps of a path.

Every cost is a small frozen, hashable value object (usable as a cache key) with the
:data:`~dse.contraction._types.StepCost` call signature ``(lhs, rhs, kept, sizes) -> float``.
Each is a function of the three index *sets* only, which keeps the subset DP exact.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from analytical_models import (
    HARDWARE_CACHE_ENTRIES,
    ArrayEngine,
    Hardware,
    best_mapping,
    dram_fed_floor,
    get_engine,
    get_tech,
)
from dse.contraction._lowering import lower_sets
from dse.contraction.trees import PathError, ssa_to_nodes

StepObjective = Literal["latency", "energy"]
STEP_OBJECTIVES: tuple[str, ...] = ("latency", "energy")


def step_macs(lhs: Collection[str], rhs: Collection[str], sizes: Mapping[str, int]) -> int:
    """MACs of one pairwise step: product of the sizes of all indices in ``lhs | rhs``."""
    return math.prod(int(sizes[i]) for i in set(lhs) | set(rhs))


@dataclass(frozen=True, slots=True)
class MacCost:
    """Multiply-accumulates of the step (the FLOP count / 2 of opt_einsum)."""

    name: str = "macs"

    def __call__(
        self,
        lhs: frozenset[str],
        rhs: frozenset[str],
        kept: frozenset[str],
        sizes: Mapping[str, int],
    ) -> float:
        return step_macs(lhs, rhs, sizes)


@dataclass(frozen=True, slots=True)
class BytesMovedCost:
    """Bytes of both operands plus the result: ``(|lhs| + |rhs| + |out|) * bytes_per_element``."""

    bytes_per_element: float = 1.0
    name: str = "bytes"

    def __call__(
        self,
        lhs: frozenset[str],
        rhs: frozenset[str],
        kept: frozenset[str],
        sizes: Mapping[str, int],
    ) -> float:
        elements = sum(math.prod(int(sizes[i]) for i in t) for t in (lhs, rhs, kept))
        return elements * self.bytes_per_element


@lru_cache(maxsize=HARDWARE_CACHE_ENTRIES)
def _floor(
    lhs: frozenset[str],
    rhs: frozenset[str],
    kept: frozenset[str],
    sizes: tuple[tuple[str, int], ...],
    hw: Hardware,
) -> float:
    return dram_fed_floor(lower_sets(lhs, rhs, kept, sizes).gemm, hw)


@lru_cache(maxsize=HARDWARE_CACHE_ENTRIES)
def _hw_step(
    lhs: frozenset[str],
    rhs: frozenset[str],
    kept: frozenset[str],
    sizes: tuple[tuple[str, int], ...],
    hw: Hardware,
    objective: StepObjective,
) -> float:
    cost = best_mapping(lower_sets(lhs, rhs, kept, sizes).gemm, hw, objective).cost
    return float(cost.cycles if objective == "latency" else cost.energy_pj)


@dataclass(frozen=True, slots=True)
class HardwareCost:
    """Cycles (``latency``) or pJ (``energy``) of the step's GEMM under its best mapping on ``hw``.

    The step is lowered with :func:`~dse.contraction.lower_step` and priced with
    ``analytical_models.price``; both are cached by value.

    :meth:`lower_bound` (used by the DP to skip pricing splits that cannot win) assumes no engine
    beats a perfectly used array (``cycles >= macs / PEs``), nor moves less than the step's
    compulsory DRAM traffic (both operands read and the result written once, ``bits / 8`` bytes
    per element) faster than its one shared port allows (their sum over
    ``dram_bw_bytes_per_cycle``), nor spends less than the MAC energy plus that traffic's DRAM
    energy (the traffic terms only on engines that declare ``compulsory_traffic_bound``, and not
    with ``memory_timing="serial"``, where SCALE-Sim's nest counts reads its own way); the tests check
    this on every shipped engine. Set ``bound=False`` for an engine that breaks it.
    """

    hw: Hardware
    objective: StepObjective = "latency"
    name: str = "hardware"
    bound: bool = True

    def __post_init__(self) -> None:
        if self.objective not in STEP_OBJECTIVES:
            raise PathError(
                f"a step cost must be additive; objective must be one of {STEP_OBJECTIVES}, got {self.objective!r}"
            )

    def __call__(
        self,
        lhs: frozenset[str],
        rhs: frozenset[str],
        kept: frozenset[str],
        sizes: Mapping[str, int],
    ) -> float:
        relevant = tuple(sorted((i, int(sizes[i])) for i in lhs | rhs))
        return _hw_step(lhs, rhs, kept, relevant, self.hw, self.objective)

    def lower_bound(
        self,
        lhs: frozenset[str],
        rhs: frozenset[str],
        kept: frozenset[str],
        sizes: Mapping[str, int],
    ) -> float:
        """A cheap value never above :meth:`__call__` (0 when ``bound`` is off)."""
        elements = [math.prod(int(sizes[i]) for i in t) for t in (lhs, rhs, kept)]
        return step_bound(*self.bound_terms, self.objective, step_macs(lhs, rhs, sizes), elements)

    def floor(
        self,
        lhs: frozenset[str],
        rhs: frozenset[str],
        kept: frozenset[str],
        sizes: Mapping[str, int],
    ) -> float:
        """A value never above :meth:`__call__` that lowers the step (cached) but runs no mapping
        search: for latency on an array engine, the lowered GEMM's
        :func:`analytical_models.dram_fed_floor`; else :meth:`lower_bound`. The DP takes it
        before pricing a split that its cheap bound could not rule out."""
        if self.bound and self.objective == "latency" and isinstance(get_engine(self.hw.engine), ArrayEngine):
            relevant = tuple(sorted((i, int(sizes[i])) for i in lhs | rhs))
            return _floor(lhs, rhs, kept, relevant, self.hw)
        return self.lower_bound(lhs, rhs, kept, sizes)

    @property
    def bound_terms(self) -> tuple[float, float]:
        """``(per MAC, per compulsory DRAM element)`` of :meth:`lower_bound`: ``1 / PEs`` cycles
        and ``bytes / bandwidth`` cycles (latency) or the MAC energy and the DRAM energy of an
        element in pJ (energy); the second is 0 where the traffic does not bound the cost, both
        are 0 when ``bound`` is off."""
        if not self.bound:
            return 0.0, 0.0
        return _bound_terms(self.hw, self.objective)


@lru_cache(maxsize=4096)
def _bound_terms(hw: Hardware, objective: StepObjective) -> tuple[float, float]:
    tech = get_tech(hw.tech)
    el_bytes = hw.bits / 8.0
    # Under the serial timing SCALE-Sim's nest, a candidate of every search, counts DRAM reads its
    # own way (below the operands' size at times): MACs only there.
    traffic = bool(getattr(get_engine(hw.engine), "compulsory_traffic_bound", False)) and hw.memory_timing != "serial"
    if objective == "latency":
        return 1.0 / hw.n_pes, el_bytes / hw.dram_bw_bytes_per_cycle if traffic else 0.0
    return tech.mac_pj(hw.bits), el_bytes * 8.0 * tech.dram_pj_per_bit if traffic else 0.0


def step_bound(per_mac: float, per_el: float, objective: str, macs: float, elements: Sequence[float]) -> float:
    """:meth:`HardwareCost.lower_bound` from its :attr:`~HardwareCost.bound_terms`, the step's
    MACs and the elements of its two operands and result: the larger of the compute and the
    traffic time (latency), or their sum (energy)."""
    if objective == "latency":
        return max(per_mac * macs, per_el * sum(elements)) if per_el else per_mac * macs
    return per_mac * macs + per_el * sum(elements)


mac_cost = MacCost()
"""The MAC step cost (an instance of :class:`MacCost`)."""


def bytes_moved_cost(bytes_per_element: float = 1.0) -> BytesMovedCost:
    """Step cost counting operand and result bytes."""
    if not bytes_per_element > 0:
        raise PathError(f"bytes_per_element must be > 0, got {bytes_per_element}")
    return BytesMovedCost(bytes_per_element)


def hardware_cost(hw: Hardware, objective: StepObjective = "latency") -> HardwareCost:
    """Step cost pricing the lowered GEMM on ``hw`` (cycles for latency, pJ for energy)."""
    return HardwareCost(hw, objective)


def peak_elements(
    inputs: Sequence[Collection[str]],
    output: Collection[str],
    size_dict: Mapping[str, int],
    path: Sequence[Sequence[int]],
) -> int:
    """Elements of the largest intermediate a path creates (the final result excluded).

    0 when the path has fewer than two steps (no intermediate).
    """
    n = len(inputs)
    nodes = ssa_to_nodes(path, n)
    holders: dict[str, int] = {}
    for t, idx in enumerate(inputs):
        for i in idx:
            holders[i] = holders.get(i, 0) | (1 << t)
    out = set(output)
    full = (1 << n) - 1
    peak = 0
    for a, b in nodes[:-1]:
        s = a | b
        kept = [i for i, h in holders.items() if h & s and (h & (full ^ s) or i in out)]
        peak = max(peak, math.prod(int(size_dict[i]) for i in kept))
    return peak
