"""Execution schedules of one layer pass: which intermediates spill to DRAM, the token tile and
the merge mode of every fused segment, and the search over them (and over contraction trees).

A schedule cuts the plan's tree at its spilled intermediates into segments. A segment of one
step whose operands come from DRAM is priced exactly as today's per-GEMM model (the DRAM-fed
mapping search, :func:`analytical_models.price`); a segment of several steps is fused
(:mod:`dse.schedule._segment`). Segments run one after the other and their costs add
(AccelForge's FFM join, DeFiNES). Spilling every intermediate is therefore today's model, bit
for bit.

Execution modes (:data:`EXECUTIONS`):

``unfused``
    every intermediate through DRAM (the per-step model);
``fused``
    the schedule that moves the least DRAM data while keeping at least one intermediate on chip
    (every spill set but "all"; ties broken by the objective); when none fits the buffers, the
    unfused one. Its DRAM traffic is never above the unfused schedule's;
``auto``
    the best of all spill sets, "all" included: never worse than either.

The spill sets searched: all of them when a plan has at most :data:`EXACT_SPILL_LIMIT`
intermediates, else none, all, each one alone and all but each one.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, NamedTuple, cast

from analytical_models import (
    HARDWARE_CACHE_ENTRIES,
    Cost,
    Gemm,
    Hardware,
    Mapping,
    Objective,
    Registry,
    best_mapping,
    compiled_module,
    quick_init,
)
from dse import DSEError
from dse.contraction import ContractionPlan
from dse.schedule._bounds import (
    Key,
    SegmentBound,
    SegmentBounds,
    _bound_tuple,
    _group_bound,
    _segments,
    step_array,
)
from dse.schedule._chain import Chain, chain_of
from dse.schedule._segment import (
    SegmentResult,
    network_pj,
    price_segment,
)
from dse.schedule._set_bounds import (
    BOUNDS_KERNEL,
    GemmKey,
    SpillSets,
    bound_inputs,
    bounds_of,
    gemm_key,
    spill_set_bounds,
)
from dse.workload import TensorNetwork


class ScheduleError(DSEError):
    """An unknown execution mode, or a plan that was not priced."""


@quick_init
@dataclass(frozen=True, slots=True)
class Segment:
    """One segment of a schedule.

    Attributes:
        steps: plan step indices (plan order).
        fused: several steps with their intermediates on chip; False for one step fed from DRAM.
        tile: tokens per tile (the whole pass when not fused).
        n_tiles: token tiles.
        merges: ``store`` / ``recompute`` for fused core merges, else ``""``.
        dataflows: the dataflow of each step.
        cycles: latency of the segment.
        dram_bytes: its DRAM traffic.
        energy_pj: its energy.
        step_cycles: busy cycles of each step (fused segments; all tiles).
        step_energy_pj: MAC and SRAM energy of each step (fused segments; all tiles), in pJ.
        mapping: the best mapping of a step fed from DRAM (not fused).
        pipelined: token tiles pipelined through engine groups (``ce_array``).
        engines: engines each step runs on (its group when pipelined).
        core_cycles: cycles on a TT-core engine that need none of this pass's activations (they
            may overlap the pass before).
    """

    steps: tuple[int, ...]
    fused: bool
    tile: int
    n_tiles: int
    merges: str
    dataflows: tuple[str, ...]
    cycles: float
    dram_bytes: float
    energy_pj: float = 0.0
    step_cycles: tuple[float, ...] = ()
    step_energy_pj: tuple[float, ...] = ()
    mapping: Mapping | None = None
    pipelined: bool = False
    engines: tuple[int, ...] = ()
    core_cycles: float = 0.0


@quick_init
@dataclass(frozen=True, slots=True)
class Schedule:
    """How one layer pass runs.

    Attributes:
        execution: the mode it was searched under (:data:`EXECUTIONS`).
        spilled: intermediates written to DRAM and read back (names ``t<id>``).
        on_chip: intermediates kept in the buffers.
        segments: the segments, in execution order.
        cost: the pass's cost (one layer instance).
        compulsory_bytes: inputs + output + cores once: the least DRAM traffic of any schedule.
    """

    execution: str
    spilled: tuple[str, ...]
    on_chip: tuple[str, ...]
    segments: tuple[Segment, ...]
    cost: Cost
    compulsory_bytes: float

    @property
    def dram_bytes(self) -> float:
        """DRAM bytes of the pass (one instance)."""
        return self.cost.dram_bytes

    @property
    def core_cycles(self) -> float:
        """Cycles of core merges on a TT-core engine (``tt_gemm``) that can overlap the
        activation work of the pass before."""
        return sum(s.core_cycles for s in self.segments)

    @property
    def token_tile(self) -> int:
        """Tokens per tile of the largest fused segment (0 when nothing is fused)."""
        fused = [s for s in self.segments if s.fused]
        return max(fused, key=lambda s: len(s.steps)).tile if fused else 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "execution": self.execution,
            "spilled": list(self.spilled),
            "on_chip": list(self.on_chip),
            "token_tile": self.token_tile,
            "dram_bytes": self.dram_bytes,
            "compulsory_dram_bytes": self.compulsory_bytes,
            "core_engine_cycles": self.core_cycles,
            "segments": [
                {
                    "steps": list(s.steps),
                    "fused": s.fused,
                    "token_tile": s.tile,
                    "n_tiles": s.n_tiles,
                    "merges": s.merges,
                    "dataflows": list(s.dataflows),
                    "cycles": s.cycles,
                    "dram_bytes": s.dram_bytes,
                    "pipelined": s.pipelined,
                    "engines": list(s.engines),
                }
                for s in self.segments
            ],
        }


def _key(cost: Cost, objective: str, execution: str = "auto", hidden: float = 0.0) -> Key:
    """What the search minimises, lexicographically: the objective then the other of (cycles,
    energy); under ``fused`` the DRAM traffic comes first (the data-movement-minimal schedule).
    ``hidden``: cycles of core merges on a TT-core engine, which overlap the pass before
    (:func:`dse.evaluate.overlap_core_merges`), so they do not count against a schedule."""
    return _bound_tuple(cost.cycles - hidden, cost.energy_pj, cost.dram_bytes, objective, execution)


def compulsory_bytes(chain: Chain, bits: int) -> float:
    """Bytes of the network's inputs and output, each once."""
    bpe = bits / 8.0
    return float(sum(chain.elements[: chain.n_inputs]) + chain.elements[chain.output]) * bpe


class _CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int
    currsize: int


class PricedSingles:
    """The key terms of every step fed from DRAM priced so far (:func:`_unfused_segment`), by
    ``(GEMM fields, core merge, hardware, objective)`` (the fields: :func:`gemm_key`):
    ``(cycles less those a TT-core engine hides, energy_pj, dram_bytes)``, each less a relative
    margin of 1e-9 (for the order a spill set's bound adds them in). The same step of any later
    tree or pass costs exactly that, so it bounds it there far closer than its floor does
    (:func:`spill_set_bounds`'s ``singles``). Bounded: emptied when it holds ``maxsize``
    entries (a study meets one hardware for one design); counts its hits and misses like an
    ``lru_cache`` (``cache_info``)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._terms: dict[tuple[Hardware, str], dict[tuple[GemmKey, bool], SegmentBound]] = {}
        """By ``(hardware, objective)`` (hashed once per lookup of a tree's steps), the terms by
        ``(GEMM fields, core merge)``."""
        self._size = 0
        self._hits = self._misses = 0

    def add(self, gemm: Gemm, core_merge: bool, hw: Hardware, objective: str, seg: Segment, cost: Cost) -> None:
        """Remember what step ``seg`` (of GEMM ``gemm``) costs."""
        if self._size >= self.maxsize:
            self._empty()
        m = 1.0 - 1e-9
        terms = self._terms.setdefault((hw, objective), {})
        key = (gemm_key(gemm), core_merge)
        self._size += key not in terms
        terms[key] = ((cost.cycles - seg.core_cycles) * m, cost.energy_pj * m, cost.dram_bytes * m)

    def of_steps(
        self, gemms: Sequence[GemmKey], core: Sequence[bool], hw: Hardware, objective: str
    ) -> dict[int, SegmentBound]:
        """The terms of the steps (their GEMMs' fields, whether each merges cores) priced so far,
        by step."""
        return self.of_keys(list(zip(gemms, core, strict=True)), hw, objective)

    def of_keys(self, keys: Sequence[tuple[GemmKey, bool]], hw: Hardware, objective: str) -> dict[int, SegmentBound]:
        """:meth:`of_steps` of the steps' ``(GEMM fields, core merge)`` pairs."""
        out: dict[int, SegmentBound] = {}
        terms = self._terms.get((hw, objective)) if self._terms else None
        if terms is None:
            self._misses += len(keys)
            return out
        for s, key in enumerate(keys):
            got = terms.get(key)
            if got is not None:
                out[s] = got
        self._hits += len(out)
        self._misses += len(keys) - len(out)
        return out

    def cycles(self, gemm: GemmKey, core_merge: bool, hw: Hardware, objective: str) -> float:
        """The first term (cycles) of one step's terms (its GEMM's fields), 0.0 when it was not
        priced (uncounted)."""
        terms = self._terms.get((hw, objective))
        got = terms.get((gemm, core_merge)) if terms is not None else None
        return 0.0 if got is None else got[0]

    def _empty(self) -> None:
        """Forget every step (the counts kept)."""
        self._terms.clear()
        self._size = 0

    def cache_clear(self) -> None:
        """Forget every step (and the counts)."""
        self._empty()
        self._hits = self._misses = 0

    def cache_info(self) -> _CacheInfo:
        """Hits and misses (by step looked up), bound and entries."""
        return _CacheInfo(self._hits, self._misses, self.maxsize, self._size)


_PRICED = PricedSingles(maxsize=65_536)


def _unfused_segment(chain: Chain, s: int, hw: Hardware, objective: Objective) -> tuple[Segment, Cost]:
    """Step ``s`` alone, fed from DRAM: the per-step model (:func:`analytical_models.price`), on
    the TT-core engine for a core merge of a ``tt_gemm`` (remembered in :data:`_PRICED`)."""
    array, on_core = step_array(chain, s, hw)
    step = chain.steps[s]
    result = best_mapping(step.gemm, array, objective)
    cost = result.cost
    network = network_pj(hw, cost.sram_read_bytes)
    if network:
        cost = replace(cost, mac_energy_pj=cost.mac_energy_pj + network)
    segment = Segment(
        steps=(s,),
        fused=False,
        tile=0,
        n_tiles=1,
        merges="",
        dataflows=(result.mapping.dataflow,),
        cycles=cost.cycles,
        dram_bytes=cost.dram_bytes,
        energy_pj=cost.energy_pj,
        mapping=result.mapping,
        core_cycles=cost.cycles if on_core else 0.0,
    )
    _PRICED.add(step.gemm, step.kind == "core", hw, objective, segment, cost)
    return segment, cost


def _fused_segment(res: SegmentResult, steps: tuple[int, ...]) -> Segment:
    return Segment(
        steps=steps,
        fused=True,
        tile=res.tile,
        n_tiles=res.n_tiles,
        merges=res.merges,
        dataflows=res.dataflows,
        cycles=res.cost.cycles,
        dram_bytes=res.dram_bytes,
        energy_pj=res.cost.energy_pj,
        step_cycles=res.step_cycles,
        step_energy_pj=res.step_energy_pj,
        pipelined=res.pipelined,
        engines=res.engines,
        core_cycles=res.core_cycles,
    )


@lru_cache(maxsize=4096)
def _network_bytes(network: TensorNetwork, bits: int) -> float:
    """:func:`compulsory_bytes` of any tree of ``network`` (its inputs and output, each once;
    cached)."""
    sizes = network.size_dict
    elements = sum(math.prod(sizes[i] for i in idx) for idx in network.inputs)
    return float(elements + math.prod(sizes[i] for i in network.output)) * (bits / 8.0)


@dataclass
class _Known:
    """What the spill sets of one chain priced so far on one hardware (exact, reused by the
    next spill sets' bounds): steps fed from DRAM by step index, fused segments by their steps
    (None: does not fit)."""

    single: dict[int, tuple[Segment, Cost]]
    fused: dict[tuple[int, ...], SegmentResult | None]
    bounds: SegmentBounds = field(default_factory=dict)
    """:func:`_group_bound` of segments, when computed beforehand (:func:`spill_set_bounds`)."""

    def bound(self, chain: Chain, steps: tuple[int, ...], hw: Hardware, objective: str) -> SegmentBound:
        """:func:`_group_bound` of ``steps``."""
        got = self.bounds.get(steps)
        return got if got is not None else _group_bound(chain, steps, hw, objective)


def _price_spill_set(
    chain: Chain,
    spilled: frozenset[int],
    hw: Hardware,
    objective: Objective,
    best: Key | None,
    execution: str,
    known: _Known | None = None,
) -> tuple[Cost, tuple[Segment, ...]] | None:
    """The cost of one spill set, or None when a fused segment does not fit or a lower bound
    shows it cannot beat ``best`` (the key of the best schedule so far).

    The bound (:func:`_group_bound` of each segment) sharpens as segments are priced: first the
    segments ``known`` from earlier spill sets of the chain (exact, at no cost), then the fused
    ones (exact; :func:`_price_fused_below`), then the steps fed from DRAM, largest bound first,
    each replacing its bound by its cost; pricing stops once the objective's bound (with a 1e-9
    relative margin for the order of the sums) exceeds the best. What is priced is added to
    ``known``.
    """
    groups = _segments(chain, spilled)
    known = known or _Known({}, {})
    if best is not None and not _price_fused_below(chain, groups, hw, objective, best, execution, known):
        return None
    fused: dict[tuple[int, ...], SegmentResult] = {}
    bound_c = bound_e = bound_d = 0.0
    for steps in groups:
        if len(steps) == 1:
            c, e, d = known.bound(chain, steps, hw, objective)
        else:
            if steps in known.fused:
                got = known.fused[steps]
            elif known.bound(chain, steps, hw, objective)[0] == math.inf:  # cannot fit
                got = known.fused[steps] = None
            else:
                got = known.fused[steps] = price_segment(chain.segment(steps), tuple(range(len(steps))), hw, objective)
            if got is None:
                return None
            res = fused[steps] = got
            c, e, d = res.cost.cycles - res.core_cycles, res.cost.energy_pj, res.dram_bytes
        bound_c += c
        bound_e += e
        bound_d += d
    if best is not None and _bound_tuple(bound_c, bound_e, bound_d, objective, execution) >= best:
        return None
    if best is not None:
        singles = [g for g in groups if g not in fused]
        ordered = sorted(((known.bound(chain, g, hw, objective), g) for g in singles), key=lambda x: x[0], reverse=True)
        for lb, steps in ordered:
            seg, cost = _single(chain, steps[0], hw, objective, known)
            lb_c, lb_e, lb_d = lb
            bound_c += (cost.cycles - seg.core_cycles) - lb_c
            bound_e += cost.energy_pj - lb_e
            bound_d += cost.dram_bytes - lb_d
            if _bound_tuple(bound_c, bound_e, bound_d, objective, execution)[0] * (1.0 - 1e-9) > best[0]:
                return None
    total = Cost()
    segments: list[Segment] = []
    for steps in groups:
        if steps in fused:
            seg, cost = _fused_segment(fused[steps], steps), fused[steps].cost
        else:
            seg, cost = _single(chain, steps[0], hw, objective, known)
        total = total + cost
        segments.append(seg)
    return total, tuple(segments)


def _price_fused_below(
    chain: Chain,
    groups: list[tuple[int, ...]],
    hw: Hardware,
    objective: Objective,
    best: Key,
    execution: str,
    known: _Known,
) -> bool:
    """Price the fused segments of ``groups`` into ``known`` while the spill set may still beat
    ``best``; False as soon as it cannot (a segment does not fit, or the bound reaches the best).

    The bound starts from what ``known`` holds (exact) and :func:`_group_bound` elsewhere (a
    fused segment's cycles at least its :func:`tiled_floor`); the segments are priced largest
    bound first, each replacing its bound by its cost (the margin of the steps fed from DRAM in
    :func:`_price_spill_set` applies)."""
    total = [0.0, 0.0, 0.0]
    pending: list[tuple[tuple[int, ...], tuple[float, float, float]]] = []
    for steps in groups:
        exact: tuple[float, float, float] | None = None
        if len(steps) == 1 and steps[0] in known.single:
            seg, cost = known.single[steps[0]]
            exact = (cost.cycles - seg.core_cycles, cost.energy_pj, cost.dram_bytes)
        elif len(steps) > 1 and steps in known.fused:
            res = known.fused[steps]
            if res is None:
                return False
            exact = (res.cost.cycles - res.core_cycles, res.cost.energy_pj, res.dram_bytes)
        bound = exact or known.bound(chain, steps, hw, objective)
        if exact is None and len(steps) > 1:
            pending.append((steps, bound))
        for i in range(3):
            total[i] += bound[i]
    if _bound_tuple(total[0], total[1], total[2], objective, execution) >= best:
        return False  # (a segment that cannot fit has an infinite bound)
    for steps, bound in sorted(pending, key=lambda x: x[1], reverse=True):
        res = known.fused[steps] = price_segment(chain.segment(steps), tuple(range(len(steps))), hw, objective)
        if res is None:
            return False
        total[0] += (res.cost.cycles - res.core_cycles) - bound[0]
        total[1] += res.cost.energy_pj - bound[1]
        total[2] += res.dram_bytes - bound[2]
        if _bound_tuple(total[0], total[1], total[2], objective, execution)[0] * (1.0 - 1e-9) > best[0]:
            return False
    return True


def _single(chain: Chain, s: int, hw: Hardware, objective: Objective, known: _Known) -> tuple[Segment, Cost]:
    """:func:`_unfused_segment`, remembered in ``known``."""
    got = known.single.get(s)
    if got is None:
        got = known.single[s] = _unfused_segment(chain, s, hw, objective)
    return got


@lru_cache(maxsize=HARDWARE_CACHE_ENTRIES)
def _schedule(chain: Chain, hw: Hardware, objective: Objective, execution: str) -> Schedule:
    found = _best_spill_set(chain, hw, objective, execution, None)
    if found is None:  # "fused" and nothing fits: the per-step model
        priced = _price_spill_set(chain, frozenset(chain.intermediates), hw, objective, None, execution)
        assert priced is not None
        return _as_schedule(chain, hw, execution, priced, frozenset(chain.intermediates))
    return _as_schedule(chain, hw, execution, found[1], found[2])


def _schedule_below(chain: Chain, hw: Hardware, objective: Objective, execution: str, limit: Key) -> Schedule | None:
    """``_schedule(chain, hw, objective, execution)`` when its key is below ``limit``, else None;
    spill sets whose bound reaches ``limit`` are not priced."""
    found = _best_spill_set(chain, hw, objective, execution, limit)
    if found is None:
        if execution != "fused":
            return None
        full = _schedule(chain, hw, objective, execution)  # nothing below limit, or nothing fits
        return full if _key(full.cost, objective, execution, full.core_cycles) < limit else None
    return _as_schedule(chain, hw, execution, found[1], found[2])


Priced = tuple[Cost, tuple[Segment, ...]]


@dataclass
class Tree:
    """A tree as the search takes it: its chain, made on first use (``make``), and its
    spill-set bounds without the chain (``spill_sets``; None when there is nothing but the chain
    to read them from), so that a tree none of whose spill sets is priced is never made into a
    chain."""

    make: Callable[[], Chain]
    spill_sets: Callable[[Hardware, str, str], SpillSets | None] | None = None
    """``(hw, objective, execution) ->`` :meth:`bounds` (its steps priced so far bounded by
    their cost), or None when it cannot say."""
    cycles_floor: Callable[[Hardware, str], float | None] | None = None
    """A floor of the cycles of every schedule of the tree (on ``hw``, for ``objective``) that
    may be tighter than its bound in the search's list once steps were priced: asked for when
    the tree is first taken (None: none)."""
    _chain: Chain | None = None

    @property
    def chain(self) -> Chain:
        """The tree's chain (made once)."""
        if self._chain is None:
            self._chain = self.make()
        return self._chain

    def bounds(self, hw: Hardware, objective: str, execution: str) -> SpillSets:
        """:func:`~dse.schedule._set_bounds.spill_set_bounds` of the tree, its steps priced so far
        bounded by their cost (:data:`_PRICED`)."""
        if compiled_module(BOUNDS_KERNEL) is None:
            steps = self.chain.steps
            keys = [gemm_key(st.gemm) for st in steps]
            singles = _PRICED.of_steps(keys, [st.kind == "core" for st in steps], hw, objective)
            return spill_set_bounds(self.chain, hw, objective, execution, singles)
        found = self.spill_sets(hw, objective, execution) if self.spill_sets is not None else None
        if found is not None:
            return found
        got = bound_inputs(self.chain, hw)
        return bounds_of(got, hw, objective, execution, _PRICED.of_steps(got.keys, got.core, hw, objective))


def _best_spill_set(
    chain: Chain, hw: Hardware, objective: Objective, execution: str, limit: Key | None
) -> tuple[Key, Priced, frozenset[int]] | None:
    """The first spill set (in :func:`_spill_sets` order) of the least key, among those whose
    key is below ``limit`` (all when None); None when no spill set fits (or none is below):
    :func:`_least` over this one chain."""
    found = _least([((), Tree(lambda: chain, _chain=chain))], hw, objective, execution, limit)
    return None if found is None else (found[0], found[2], found[3])


def best_over_chains(
    trees: list[tuple[Key, Tree]], hw: Hardware, objective: Objective, execution: str
) -> tuple[int, Schedule] | None:
    """The tree and schedule of the least ``(key, tree, spill-set position)`` over every spill
    set of every tree, under ``auto`` or ``unfused`` (where that is what scheduling each tree
    and keeping the least key, the first tree on a tie, returns). None when no spill set fits.

    ``trees``: each tree's lower bound of its spill sets' keys and the tree (its chain made only
    when needed), in tie-breaking order. The trees and their spill sets are searched together
    (:func:`_least`), so a spill set that a better one elsewhere rules out is never priced, as
    it would be when the trees were scheduled one by one (the first in full)."""
    found = _least(trees, hw, objective, execution, None)
    if found is None:
        return None
    _, r, priced, spilled, chain = found
    return r, _as_schedule(chain, hw, execution, priced, spilled)


def _least(
    trees: list[tuple[Key, Tree]],
    hw: Hardware,
    objective: Objective,
    execution: str,
    limit: Key | None,
) -> tuple[Key, int, Priced, frozenset[int], Chain] | None:
    """The least ``(key, tree, spill-set position)`` over every spill set of ``trees`` (each a
    lower bound of its spill sets' keys and its chain) whose key is below ``limit`` (all when
    None): ``(key, tree, cost and segments, spilled, chain)``, None when none fits (or is below).

    One best-first pass: a heap of the trees by bound, and of the spill sets of the trees taken
    from it by their :func:`spill_set_bounds`; the spill set of least bound is priced first,
    each against the best so far (an equal key from an earlier tree or position wins), and the
    search stops at the first bound above the best key (or, before any, at ``limit``). Under
    the latency objective (outside ``fused``), a tree is first checked against its
    :attr:`Tree.cycles_floor` when popped, and put back with it when that is above its bound."""
    heap: list[tuple[Key, int, int]] = [(bound, r, -1) for r, (bound, _) in enumerate(trees)]
    heapq.heapify(heap)
    taken: dict[int, tuple[Tree, tuple[frozenset[int], ...], _Known]] = {}
    best: tuple[Key, int, int, Priced, frozenset[int]] | None = None
    refine = objective == "latency" and execution != "fused"  # (the key's first term is the cycles)
    refined: set[int] = set()
    while heap:
        bound, r, pos = heapq.heappop(heap)
        if best is not None:
            if bound > best[0]:
                break
            if bound == best[0] and (r, pos) > (best[1], best[2]):
                continue  # (an equal key from a later tree or position loses the tie)
        elif limit is not None and bound >= limit:
            break
        if pos < 0:
            tree = trees[r][1]
            if refine and tree.cycles_floor is not None and r not in refined:
                refined.add(r)
                floor = tree.cycles_floor(hw, objective)
                if floor is not None and floor > bound[0]:
                    heapq.heappush(heap, ((floor, *bound[1:]), r, pos))  # (taken when next popped)
                    continue
            sets, keys, bounds = tree.bounds(hw, objective, execution)
            taken[r] = (tree, sets, _Known({}, {}, bounds))
            for p, key in enumerate(keys):
                heapq.heappush(heap, (key, r, p))
            continue
        tree, sets, known = taken[r]
        chain = tree.chain
        if best is None:
            cut = limit
        elif (r, pos) > (best[1], best[2]):
            cut = best[0]
        else:  # (an equal key from an earlier tree or position wins)
            cut = (*best[0][:-1], math.nextafter(best[0][-1], math.inf))
        priced = _price_spill_set(chain, sets[pos], hw, objective, cut, execution, known)
        if priced is None:
            continue
        key = _key(priced[0], objective, execution, sum(s.core_cycles for s in priced[1]))
        if best is None:
            if limit is None or key < limit:
                best = (key, r, pos, priced, sets[pos])
        elif key < best[0] or (key == best[0] and (r, pos) < (best[1], best[2])):
            best = (key, r, pos, priced, sets[pos])
    if best is None:
        return None
    key, r, _, priced, spilled = best
    return key, r, priced, spilled, taken[r][0].chain


def _as_schedule(chain: Chain, hw: Hardware, execution: str, priced: Priced, spilled: frozenset[int]) -> Schedule:
    inter = chain.intermediates
    cost, segments = priced
    return Schedule(
        execution=execution,
        spilled=tuple(chain.names[x] for x in inter if x in spilled),
        on_chip=tuple(chain.names[x] for x in inter if x not in spilled),
        segments=segments,
        cost=cost,
        compulsory_bytes=compulsory_bytes(chain, hw.bits),
    )


Execution = Callable[[Chain, Hardware, Objective], Schedule]
"""``(chain, hardware, objective) -> its best schedule`` under one execution mode."""

EXECUTIONS: Registry[Execution] = Registry("execution", error=ScheduleError)
"""Execution modes by name (``policy.execution`` of a space, ``dse paths --execution``)."""

_BUILT_IN: dict[str, Execution] = {}
"""The shipped modes (:func:`best_scheduled_plan` prices their spill sets only below a limit)."""

for _mode in ("unfused", "fused", "auto"):
    _BUILT_IN[_mode] = EXECUTIONS.register(_mode, lambda chain, hw, obj, _m=_mode: _schedule(chain, hw, obj, _m))  # type: ignore[misc]


def schedule_plan(
    plan: ContractionPlan,
    execution: str = "auto",
    *,
    hw: Hardware | None = None,
    objective: Objective | None = None,
) -> Schedule:
    """The best schedule of ``plan`` under ``execution`` on ``hw`` (default: the plan's own
    hardware and objective; the plan need not be priced: steps fed from DRAM are priced as
    needed). Cached by value.

    Raises:
        ScheduleError: unknown execution, or no hardware.
    """
    hw = hw or plan.hw
    if hw is None:
        raise ScheduleError("a schedule needs a hardware (hw=... or a priced plan)")
    obj = objective or cast(Objective, plan.objective)
    return EXECUTIONS.get(execution)(chain_of(plan), hw, obj)
