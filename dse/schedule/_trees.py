"""Contraction trees x schedules: which trees of a network are priced under their best schedule,
in what order, and when the others cannot win.

:func:`best_scheduled_plan` schedules candidate trees (:func:`candidate_paths`: the fewest-MAC
trees and any extra ones, e.g. the per-step optimum) in the order of a lower bound, each only
below the best so far; :func:`others_may_beat` says whether a tree left out may beat them (the
same bound over every tree, from a per-network table of the merges trees make).
"""

from __future__ import annotations

import math
from functools import lru_cache, partial

import numpy as np
from numpy.typing import NDArray

from analytical_models import (
    Hardware,
    Objective,
    busy_floor,
    hw_consts,
    untiled_cycles,
)
from dse.contraction import (
    ContractionPlan,
    build_plan,
    count_trees,
    merge_gemm,
)
from dse.schedule._bounds import (
    Key,
    _bound_tuple,
    _core_array,
    _has_core_array,
    busy_bound,
    staged_floors,
)
from dse.schedule._chain import Chain, chain_of
from dse.schedule._merge_table import _tree_cycles_floor, tree_chain, tree_least_first_term, tree_spill_sets
from dse.schedule._search import (
    _BUILT_IN,
    EXECUTIONS,
    Schedule,
    ScheduleError,
    Tree,
    _key,
    _network_bytes,
    _schedule_below,
    best_over_chains,
    compulsory_bytes,
    schedule_plan,
)
from dse.schedule._segment import engines_of
from dse.schedule._tree_tables import (
    ENUMERATED_TREE_INPUTS,
    _core_flags,
    _core_pairs,
    _pair_cycle_floors,
    _pair_floors,
    _pair_macs,
    _path_rows,
    _stage_pairs,
    _tree_merges,
    _tree_positions,
)
from dse.workload import TensorNetwork

TREE_LIMIT = 16
"""Contraction trees priced per network under their best schedule (fewest MACs first)."""


@lru_cache(maxsize=4096)
def _trees_by_macs(network: TensorNetwork, limit: int) -> tuple[tuple[tuple[int, int], ...], ...]:
    """The ``limit`` contraction trees of ``network`` with the fewest MACs (ties: enumeration order).

    Every tree when there are at most ``limit`` of them (no MACs needed); otherwise each tree's
    MACs are summed from the MACs of the pairwise merges of input subsets it makes
    (:func:`_tree_merges`: the same for every network of ``n`` inputs)."""
    n = network.n_inputs
    trees, _, merges = _tree_merges(n)
    if len(trees) <= limit:
        return trees
    costs = _pair_macs(network)
    if max(costs) * (n - 1) < 2**62:  # exact in int64
        macs = np.asarray(costs, dtype=np.int64)[merges].sum(axis=1)
        order = np.lexsort((np.arange(len(trees)), macs))[:limit].tolist()
    else:
        per_tree = [sum(costs[j] for j in row) for row in merges.tolist()]
        order = sorted(range(len(trees)), key=lambda i: (per_tree[i], i))[:limit]
    return tuple(trees[i] for i in order)


def others_may_beat(
    network: TensorNetwork,
    paths: tuple[tuple[tuple[int, int], ...], ...],
    hw: Hardware,
    objective: Objective,
    execution: str,
    schedule: Schedule,
) -> bool:
    """Whether a contraction tree of ``network`` outside ``paths`` may run below ``schedule``'s
    key: whether the least bound of :func:`best_scheduled_plan` over those trees (their steps'
    untiled fold time for latency, core merges free on a TT-core engine, token and reduce
    steps at a pipeline's floor on an engine of several arrays, on one array a step no fused
    segment can hold at its floor fed from DRAM (:func:`_pair_cycle_floors`); their MAC energy
    for energy; both for edp; the compulsory traffic under ``fused``) is below it, with a 1e-9
    relative margin for the order of the sums. The trees are first screened with ``MACs / PEs``
    (never above the untiled fold time), so only those it cannot rule out have their steps
    lowered; those the bound leaves are then bounded by their spill sets, as the search bounds
    a tree it takes (:func:`_spill_sets_may_beat`: the steps priced so far bound themselves),
    least bound first, until one may beat it. True for networks of more than
    :data:`ENUMERATED_TREE_INPUTS` inputs (their trees are not enumerated)."""
    n = network.n_inputs
    if n > ENUMERATED_TREE_INPUTS:
        return True
    trees, pairs, merges = _tree_merges(n)
    position = _tree_positions(n)
    listed = {position.get(p, -1) for p in paths}
    outside = [i for i in range(len(trees)) if i not in listed]
    if not outside:
        return False
    ids = np.array(outside)
    limit = _key(schedule.cost, objective, execution, schedule.core_cycles)[0]
    if execution == "fused":  # every tree moves at least the network's inputs and output
        return _network_bytes(network, hw.bits) * (1.0 - 1e-9) <= limit
    rows = merges[outside]
    pair_macs = np.array(_pair_macs(network), dtype=np.float64)
    energy = pair_macs[rows].sum(axis=1) * hw_consts(hw).mac_pj
    if objective == "energy":
        maybe = energy * (1.0 - 1e-9) <= limit
        return _spill_sets_may_beat(network, ids[maybe], energy[maybe], hw, objective, execution, limit)
    # A merge of cores on a TT-core engine may hide behind the pass before: it bounds nothing.
    hide = _has_core_array(hw)
    counted = [not (hide and core) for core in _core_pairs(network)]
    engines = engines_of(hw)
    pes = hw.pe_rows * hw.pe_cols * engines
    for exact in (False, True):
        if exact:  # untiled cycles on one array, for pipelines over engine groups
            table = _pair_floors(network, hw)
            lower = _pair_cycle_floors(network, hw) if engines == 1 else None
            if table is not None:  # (on one array, a step no fused segment holds: its floor fed from DRAM)
                step = np.where(counted, lower if lower is not None else table[0], 0.0)
                one = np.where(counted, table[1], 0.0)
            else:
                step, one = np.zeros(len(pairs)), np.zeros(len(pairs))
                for j in np.unique(rows).tolist():
                    if counted[j]:
                        gemm = merge_gemm(network, *pairs[j])[0]
                        step[j] = busy_floor(gemm, hw)
                        one[j] = untiled_cycles(gemm, hw) if engines > 1 else 0.0
        else:
            step = pair_macs * np.array(counted) / pes  # never above the untiled fold time (or a pipeline's)
        if exact and engines > 1:  # busy_bound of every tree: its stages at their pipelined_floor
            staged = _stage_pairs(network)
            cycles = staged_floors(step[rows], one[rows], staged[rows], engines)
        else:
            cycles = step[rows].sum(axis=1)
        bound = cycles * energy if objective == "edp" else cycles
        maybe = bound * (1.0 - 1e-9) <= limit
        if not maybe.any():
            return False
        rows, energy, ids = rows[maybe], energy[maybe], ids[maybe]
    return _spill_sets_may_beat(network, ids, bound[maybe], hw, objective, execution, limit)


def _spill_sets_may_beat(
    network: TensorNetwork,
    ids: NDArray[np.int64],
    bounds: NDArray[np.float64],
    hw: Hardware,
    objective: Objective,
    execution: str,
    limit: float,
) -> bool:
    """Whether one of the trees ``ids`` (of :func:`_tree_merges`; ``bounds``: their bounds, the
    least first tried) has a spill set whose bound (:func:`tree_spill_sets`, its steps priced so
    far bounding themselves) does not exceed ``limit`` in its first term; True for a tree whose
    spill sets cannot be bounded so (and under an execution that is not a shipped one)."""
    if _BUILT_IN.get(execution) is not EXECUTIONS.get(execution):
        return bool(ids.size)
    trees = _tree_merges(network.n_inputs)[0]
    for i in ids[np.argsort(bounds, kind="stable")].tolist():
        least = tree_least_first_term(network, trees[i], hw, objective, execution)
        if least is None or least <= limit:
            return True
    return False


def candidate_paths(
    network: TensorNetwork, *extra: tuple[tuple[int, int], ...], limit: int = TREE_LIMIT
) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Trees to price under their best schedule: ``extra`` (e.g. the per-step hardware optimum and
    the MAC optimum) first, then the fewest-MAC trees (networks of at most
    :data:`ENUMERATED_TREE_INPUTS` inputs), without repeats."""
    out = [tuple((int(a), int(b)) for a, b in p) for p in extra]
    out = list(dict.fromkeys(out))  # (without repeats, first kept)
    if network.n_inputs <= ENUMERATED_TREE_INPUTS and count_trees(network.n_inputs) > 1:
        seen = set(out)
        out += [p for p in _trees_by_macs(network, limit) if p not in seen]  # (already int pairs)
    return tuple(out)


def _tree_bounds(
    network: TensorNetwork,
    paths: tuple[tuple[tuple[int, int], ...], ...],
    hw: Hardware,
    objective: Objective,
    execution: str,
) -> list[tuple[Key, ContractionPlan | None]]:
    """The bound of each tree's key that orders and prunes trees (its steps' untiled fold times,
    core merges free on a TT-core engine, token and reduce steps at a pipeline's floor on an
    engine of several arrays; its MAC energy; the network's compulsory traffic), and its plan
    when one had to be built for it.

    The steps' fold times come from :func:`_pair_floors` (every merge of the network at once, no
    step lowered); a network too large for int64 products lowers each tree's steps instead.
    The bound also orders the trees, and the order breaks ties between trees of equal keys: the
    search may prune by tighter ones (:func:`_tree_cycles_floor`), not order by them."""
    table = _pair_floors(network, hw) if 1 < network.n_inputs <= ENUMERATED_TREE_INPUTS else None
    if table is None:
        return [_tree_bound_lowered(network, path, hw, objective, execution) for path in paths]
    busy, one_array, macs_of = table
    core = _core_pairs(network)
    consts = hw_consts(hw)
    n = network.n_inputs
    engines = engines_of(hw)
    hide = _has_core_array(hw)  # core merges run on a TT-core engine and may hide: they bound nothing
    if hide and any(core[j] for p in paths for j in _path_rows(p, n)):
        _core_array(hw)  # (raises, as pricing a core merge would, when the engine cannot say)
    dram = _network_bytes(network, hw.bits)
    if objective == "edp":  # (the product of two bounds is a bound, but keep it simple)
        key = _bound_tuple(0.0, 0.0, dram, objective, execution)
        return [(key, None)] * len(paths)
    # every tree at once, each sum taken left to right over its steps (as a list's sum)
    rows = np.array([_path_rows(path, n) for path in paths], dtype=np.int64).reshape(len(paths), n - 1)
    floors = np.where(_core_flags(network)[rows] & hide, 0.0, busy[rows])
    if engines > 1:  # busy_bound: the stages at their pipelined_floor beside the rest
        stage = _stage_pairs(network)[rows]
        cycles = staged_floors(floors, np.where(stage, one_array[rows], 0.0), stage, engines)
    else:
        cycles = np.zeros(len(paths))
        for j in range(n - 1):
            cycles = cycles + floors[:, j]
    macs = [sum(macs_of[j] for j in r) for r in rows.tolist()]  # (exact: Python integers)
    energy = [m * consts.mac_pj for m in macs]
    return [
        (_bound_tuple(c, e, dram, objective, execution), None) for c, e in zip(cycles.tolist(), energy, strict=True)
    ]


def _tree_bound_lowered(
    network: TensorNetwork, path: tuple[tuple[int, int], ...], hw: Hardware, objective: Objective, execution: str
) -> tuple[Key, ContractionPlan | None]:
    """One tree's entry of :func:`_tree_bounds` from its plan (each step lowered)."""
    plan = build_plan(network, path)
    chain = chain_of(plan)
    cycles = busy_bound(chain, range(len(plan.steps)), hw, one_segment=False)
    energy = plan.macs * hw_consts(hw).mac_pj
    if objective == "edp":
        cycles = energy = 0.0
    return _bound_tuple(cycles, energy, compulsory_bytes(chain, hw.bits), objective, execution), plan


def _schedule_if_below(
    plan: ContractionPlan, hw: Hardware, objective: Objective, execution: str, limit: Key
) -> Schedule | None:
    """The schedule of ``plan`` when it may be below ``limit``: under the shipped executions
    only spill sets below ``limit`` are priced (None when none is); another execution is
    scheduled whole (the caller compares its key)."""
    return _scheduled(plan.network, plan.path, plan, hw, objective, execution, limit)


def _scheduled(
    network: TensorNetwork,
    path: tuple[tuple[int, int], ...],
    plan: ContractionPlan | None,
    hw: Hardware,
    objective: Objective,
    execution: str,
    limit: Key | None,
) -> Schedule | None:
    """The schedule of the tree ``path`` of ``network`` (``plan``: its plan, when built), only
    below ``limit`` under the shipped executions (see :func:`_schedule_if_below`; every
    schedule when None); a shipped execution needs no plan (:func:`chain_of_path`)."""
    if _BUILT_IN.get(execution) is EXECUTIONS.get(execution):
        chain = _chain_of_tree(network, path, plan)
        if limit is None:
            return EXECUTIONS.get(execution)(chain, hw, objective)
        return _schedule_below(chain, hw, objective, execution, limit)
    return schedule_plan(plan or build_plan(network, path), execution, hw=hw, objective=objective)


_JOINT = ("auto", "unfused")
"""Shipped executions whose best schedule over trees is the least key over every spill set of
every tree (:func:`best_over_chains`); under ``fused`` a tree none of whose spill sets fits
falls back to its unfused schedule, so its trees are scheduled one by one."""


def _chain_of_tree(network: TensorNetwork, path: tuple[tuple[int, int], ...], plan: ContractionPlan | None) -> Chain:
    """The chain of the tree ``path`` of ``network``: of its plan when one was built."""
    return chain_of(plan) if plan is not None else tree_chain(network, path)


def _tree(network: TensorNetwork, path: tuple[tuple[int, int], ...], plan: ContractionPlan | None) -> Tree:
    """The tree ``path`` of ``network`` as the joint search takes it: its chain made when first
    priced; when no plan was built, its spill-set bounds and a floor of its cycles that
    steps priced before may tighten, from the network's merges (:func:`tree_spill_sets`,
    :func:`_tree_cycles_floor`)."""
    make = partial(_chain_of_tree, network, path, plan)
    if plan is not None:
        return Tree(make)
    return Tree(make, partial(tree_spill_sets, network, path), partial(_tree_cycles_floor, network, path))


def with_first_path(
    network: TensorNetwork,
    path: tuple[tuple[int, int], ...],
    found: tuple[ContractionPlan, Schedule],
    hw: Hardware,
    objective: Objective,
    execution: str,
) -> tuple[ContractionPlan, Schedule]:
    """``best_scheduled_plan(network, (path, *paths), ...)`` given ``found``, the result of
    ``best_scheduled_plan(network, paths, ...)``: only ``path`` is scheduled (below ``found``).

    Putting ``path`` first keeps the order of the other trees, so ``found`` stays the best of
    them; ``path`` wins on a lower key, or on an equal one when its bound is no larger than
    ``found``'s (it then comes first by (bound, position))."""
    plan_w, sched_w = found
    if plan_w.path == path:
        return found
    key_w = _key(sched_w.cost, objective, execution, sched_w.core_cycles)
    (bound_w, _), (bound, plan) = _tree_bounds(network, (plan_w.path, path), hw, objective, execution)
    ties_win = bound <= bound_w
    if bound > key_w or (bound == key_w and not ties_win):
        return found
    plan = plan or build_plan(network, path)
    limit = (*key_w[:-1], math.nextafter(key_w[-1], math.inf)) if ties_win else key_w
    schedule = _schedule_if_below(plan, hw, objective, execution, limit)
    if schedule is None:
        return found
    key = _key(schedule.cost, objective, execution, schedule.core_cycles)
    return (plan, schedule) if key < key_w or (key == key_w and ties_win) else found


def best_scheduled_plan(
    network: TensorNetwork,
    paths: tuple[tuple[tuple[int, int], ...], ...],
    hw: Hardware,
    objective: Objective,
    execution: str,
) -> tuple[ContractionPlan, Schedule]:
    """The tree of ``paths`` and its schedule with the best cost for ``objective``.

    Trees are tried by their lower bound (the sum of their steps' untiled fold times for
    latency, their MAC energy for energy); one whose bound cannot beat the best so far is skipped.
    Under ``auto`` and ``unfused`` the spill sets of every tree are searched together, best
    bound first (:func:`best_over_chains`); under ``fused`` a tree's spill sets are priced only
    while they may beat the best so far: the winner is that of scheduling every tree (the least
    key; on a tie, the first by bound), at a fraction of the mapping searches.
    """
    best: tuple[Key, int, ContractionPlan | None, Schedule] | None = None
    bounds = _tree_bounds(network, paths, hw, objective, execution)
    order = sorted(range(len(paths)), key=lambda n: (bounds[n][0], n))
    if execution in _JOINT and _BUILT_IN.get(execution) is EXECUTIONS.get(execution):
        found = best_over_chains(
            [(bounds[n][0], _tree(network, paths[n], bounds[n][1])) for n in order],
            hw,
            objective,
            execution,
        )
        if found is None:
            raise ScheduleError(f"no contraction tree to schedule for {network.label or 'network'}")
        n = order[found[0]]
        return bounds[n][1] or build_plan(network, paths[n]), found[1]
    for n in order:
        bound, plan = bounds[n]
        if best is not None and bound >= best[0]:
            break
        # (after the first, only one below the best can win)
        schedule = _scheduled(network, paths[n], plan, hw, objective, execution, best[0] if best else None)
        if schedule is None:
            continue
        key = _key(schedule.cost, objective, execution, schedule.core_cycles)
        if best is None or key < best[0]:
            best = (key, n, plan, schedule)
    if best is None:
        raise ScheduleError(f"no contraction tree to schedule for {network.label or 'network'}")
    _, n, plan, schedule = best
    return plan or build_plan(network, paths[n]), schedule
