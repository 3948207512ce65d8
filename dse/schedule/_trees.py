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
    Gemm,
    Hardware,
    Objective,
    busy_floor,
    hw_consts,
    untiled_cycles,
    untiled_cycles_table,
)
from dse.contraction import (
    ContractionPlan,
    MergeLowerings,
    MergeStep,
    build_plan,
    count_trees,
    enumerate_trees,
    merge_dims,
    merge_gemm,
    merge_lowerings,
    ssa_to_nodes,
)
from dse.schedule._bounds import (
    Key,
    _bound_tuple,
    _core_array,
    _has_core_array,
    busy_bound,
    staged_floor,
)
from dse.schedule._chain import TOKEN_INDEX, Chain, assemble_chain, chain_of, chain_of_path
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
from dse.schedule._set_bounds import (
    KIND_CODE,
    BoundInputs,
    StepTerms,
    _step_terms,
    bound_arrays,
    fold_table,
    fold_times,
)
from dse.workload import TensorNetwork

TREE_LIMIT = 16
"""Contraction trees priced per network under their best schedule (fewest MACs first)."""
ENUMERATED_TREE_INPUTS = 6
"""Networks with at most this many inputs have every tree considered (by MACs); larger ones
only the hardware-aware per-step optimum, the MAC optimum and the left-to-right sweep."""


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


Path = tuple[tuple[int, int], ...]


@lru_cache(maxsize=16)
def _tree_merges(n: int) -> tuple[tuple[Path, ...], tuple[tuple[int, int], ...], NDArray[np.int64]]:
    """Every tree of ``n`` inputs (enumeration order), the distinct merges of two input subsets
    they make (as bitmask pairs), and each tree's merges as indices into them (``(trees, n - 1)``)."""
    trees = tuple(tuple((int(a), int(b)) for a, b in p) for p in enumerate_trees(n))
    index: dict[tuple[int, int], int] = {}
    rows = []
    for path in trees:
        rows.append([index.setdefault((min(a, b), max(a, b)), len(index)) for a, b in ssa_to_nodes(path, n)])
    merges = np.array(rows, dtype=np.int64).reshape(len(trees), max(n - 1, 0))
    merges.setflags(write=False)
    return trees, tuple(index), merges


@lru_cache(maxsize=4096)
def _pair_macs(network: TensorNetwork) -> tuple[int, ...]:
    """MACs of every distinct merge of :func:`_tree_merges` for ``network`` (exact integers):
    the product of the sizes of the indices either merged tensor keeps, over every merge at
    once (int64 products, or Python integers when they might overflow)."""
    n = network.n_inputs
    _, pairs, _ = _tree_merges(n)
    if not pairs:
        return ()
    kept = _kept_table(network)
    sizes = [s for _, s in network.sizes]
    a, b = _pair_arrays(n)
    used = kept[a] | kept[b]  # (pairs, indices): the step's indices
    if math.prod(sizes) < 2**62:  # every product is exact in int64
        macs: list[int] = np.where(used, np.asarray(sizes, dtype=np.int64), 1).prod(axis=1).tolist()
        return tuple(macs)
    return tuple(math.prod(s for s, u in zip(sizes, row, strict=True) if u) for row in used.tolist())


def _kept_table(network: TensorNetwork) -> NDArray[np.bool_]:
    """``(2**n, indices)``: the indices (in ``network.sizes`` order) the tensor of each input
    subset keeps: those it holds that the rest of the network or its output still needs."""
    n = network.n_inputs
    names = [i for i, _ in network.sizes]
    holders = np.zeros(len(names), dtype=np.int64)
    where = {i: j for j, i in enumerate(names)}
    for t, idx in enumerate(network.inputs):
        for i in idx:
            holders[where[i]] |= 1 << t
    in_output = np.array([i in network.output for i in names], dtype=np.bool_)
    masks = np.arange(1 << n, dtype=np.int64)[:, None]
    full = (1 << n) - 1
    out: NDArray[np.bool_] = ((holders & masks) != 0) & (((holders & (full ^ masks)) != 0) | in_output)
    return out


@lru_cache(maxsize=16)
def _pair_arrays(n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The two input subsets of every merge of :func:`_tree_merges` as index arrays."""
    pairs = _tree_merges(n)[1]
    a = np.array([p for p, _ in pairs], dtype=np.int64)
    b = np.array([q for _, q in pairs], dtype=np.int64)
    for x in (a, b):
        x.setflags(write=False)
    return a, b


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
    steps at a pipeline's floor on an engine of several arrays; their MAC energy for
    energy; both for edp; the compulsory traffic under ``fused``) is below it, with a 1e-9
    relative margin for the order of the sums. The trees are first screened with ``MACs / PEs``
    (never above the untiled fold time), so only those it cannot rule out have their steps
    lowered. True for networks of more than :data:`ENUMERATED_TREE_INPUTS` inputs (their trees
    are not enumerated)."""
    n = network.n_inputs
    if n > ENUMERATED_TREE_INPUTS:
        return True
    trees, pairs, merges = _tree_merges(n)
    position = _tree_positions(n)
    listed = {position.get(p, -1) for p in paths}
    outside = [i for i in range(len(trees)) if i not in listed]
    if not outside:
        return False
    limit = _key(schedule.cost, objective, execution, schedule.core_cycles)[0]
    if execution == "fused":  # every tree moves at least the network's inputs and output
        return _network_bytes(network, hw.bits) * (1.0 - 1e-9) <= limit
    rows = merges[outside]
    pair_macs = np.array(_pair_macs(network), dtype=np.float64)
    energy = pair_macs[rows].sum(axis=1) * hw_consts(hw).mac_pj
    if objective == "energy":
        return bool((energy * (1.0 - 1e-9) <= limit).any())
    # A merge of cores on a TT-core engine may hide behind the pass before: it bounds nothing.
    hide = _has_core_array(hw)
    counted = [not (hide and core) for core in _core_pairs(network)]
    engines = engines_of(hw)
    pes = hw.pe_rows * hw.pe_cols * engines
    for exact in (False, True):
        if exact:  # untiled cycles on one array, for pipelines over engine groups
            table = _pair_floors(network, hw)
            if table is not None:
                step = np.where(counted, table[0], 0.0)
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
            cycles = np.array(
                [staged_floor(step[r].tolist(), one[r].tolist(), staged[r].tolist(), engines) for r in rows]
            )
        else:
            cycles = step[rows].sum(axis=1)
        maybe = (cycles * energy if objective == "edp" else cycles) * (1.0 - 1e-9) <= limit
        if not maybe.any():
            return False
        rows, energy = rows[maybe], energy[maybe]
    return True


@lru_cache(maxsize=16)
def _tree_positions(n: int) -> dict[Path, int]:
    """Position of every tree of ``n`` inputs in :func:`_tree_merges` order."""
    return {t: i for i, t in enumerate(_tree_merges(n)[0])}


@lru_cache(maxsize=16)
def _merge_index(n: int) -> dict[tuple[int, int], int]:
    """Position of every merge ``(smaller mask, larger mask)`` in :func:`_tree_merges`."""
    return {pair: j for j, pair in enumerate(_tree_merges(n)[1])}


@lru_cache(maxsize=4096)
def _stage_pairs(network: TensorNetwork) -> NDArray[np.bool_]:
    """For each merge of :func:`_tree_merges`, whether an operand carries the token index (a
    token or reduce step: a stage a fused segment may pipeline). A tensor holding several
    inputs carries it when one of them does and the rest of the network or its output still
    needs it."""
    n = network.n_inputs
    _, pairs, _ = _tree_merges(n)
    holders = sum(1 << t for t, idx in enumerate(network.inputs) if TOKEN_INDEX in idx)
    in_output = TOKEN_INDEX in network.output
    full = (1 << n) - 1

    def carries(mask: int) -> bool:
        if mask & (mask - 1) == 0:
            return bool(holders & mask)
        return bool(holders & mask) and (bool(holders & (full ^ mask)) or in_output)

    out = np.array([carries(a) or carries(b) for a, b in pairs], dtype=np.bool_)
    out.setflags(write=False)
    return out


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
    step lowered); a network too large for int64 products lowers each tree's steps instead."""
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
    staged = _stage_pairs(network) if engines > 1 else None
    dram = _network_bytes(network, hw.bits)
    out: list[tuple[Key, ContractionPlan | None]] = []
    for path in paths:
        rows = _path_rows(path, n)
        floors = [0.0 if hide and core[j] else busy[j] for j in rows]
        cycles = sum(floors)
        if staged is not None:  # busy_bound: the stages at their pipelined_floor beside the rest
            stage = [bool(staged[j]) for j in rows]
            one = [one_array[j] if st else 0.0 for j, st in zip(rows, stage, strict=True)]
            cycles = staged_floor(floors, one, stage, engines)
        energy = sum(macs_of[j] for j in rows) * consts.mac_pj
        if objective == "edp":
            cycles = energy = 0.0  # the product of two bounds is a bound, but keep it simple
        out.append((_bound_tuple(cycles, energy, dram, objective, execution), None))
    return out


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


@lru_cache(maxsize=4096)
def _pair_dims(network: TensorNetwork) -> NDArray[np.int64] | None:
    """:func:`dse.contraction.merge_dims` of every merge of :func:`_tree_merges` (per network)."""
    return merge_dims(network, _tree_merges(network.n_inputs)[1])


@lru_cache(maxsize=2048)
def _pair_floors(network: TensorNetwork, hw: Hardware) -> tuple[list[float], list[float], list[int]] | None:
    """For every merge of :func:`_tree_merges`: its GEMM's :func:`busy_floor` on ``hw`` (every
    engine), its :func:`untiled_cycles` on one array (engines of several arrays only, else 0)
    and its MACs; equal to what the lowered steps give, computed for all merges at once. None
    when :func:`_pair_dims` is."""
    dims = _pair_dims(network)
    if dims is None:
        return None
    engines = engines_of(hw)
    busy = untiled_cycles_table(dims, hw, engines=engines).tolist()
    one = untiled_cycles_table(dims, hw).tolist() if engines > 1 else [0.0] * len(busy)
    return busy, one, dims[:, 4].tolist()


@lru_cache(maxsize=4096)
def _core_pairs(network: TensorNetwork) -> tuple[bool, ...]:
    """For every merge of :func:`_tree_merges`, whether it merges cores (no input it holds carries
    the token index: a step of kind ``core``, which runs on a TT-core engine when there is one)."""
    tokens = sum(1 << t for t, idx in enumerate(network.inputs) if TOKEN_INDEX in idx)
    return tuple(not (a | b) & tokens for a, b in _tree_merges(network.n_inputs)[1])


@lru_cache(maxsize=4096)
def _path_rows(path: tuple[tuple[int, int], ...], n: int) -> tuple[int, ...]:
    """The merges of :func:`_tree_merges` a tree of ``n`` inputs makes, in step order."""
    return tuple(row for row, _ in _path_merges(path, n))


@lru_cache(maxsize=4096)
def _path_merges(path: tuple[tuple[int, int], ...], n: int) -> tuple[tuple[int, bool], ...]:
    """Each step of a tree of ``n`` inputs as ``(its merge in :func:`_tree_merges`, whether its
    lhs is that merge's right subset)``, in step order."""
    index = _merge_index(n)
    return tuple((index[min(a, b), max(a, b)], a > b) for a, b in ssa_to_nodes(path, n))


_Lowerings = tuple[MergeLowerings, dict[int, tuple[Gemm, MergeStep, str]], tuple[int, ...]]


@lru_cache(maxsize=1024)  # (a design's few dozen networks; later trials rarely repeat them)
def _lowerings(network: TensorNetwork) -> _Lowerings | None:
    """:func:`dse.contraction.merge_lowerings` of every merge of :func:`_tree_merges`, the steps
    read from it so far (:func:`_row`: their GEMM, one instance per merge shared by every chain
    of the network, their lowering and kind) and the inputs' elements; None when the network is
    not enumerated or its products might overflow."""
    n = network.n_inputs
    if not 1 < n <= ENUMERATED_TREE_INPUTS:
        return None
    table = merge_lowerings(network, _tree_merges(n)[1])
    if table is None:
        return None
    sizes = network.size_dict
    return table, {}, tuple(math.prod(sizes[i] for i in idx) for idx in network.inputs)


@lru_cache(maxsize=16_384)
def tree_chain(network: TensorNetwork, path: tuple[tuple[int, int], ...]) -> Chain:
    """``chain_of_path(network, path)`` (equal to it) from the network's table of every merge's
    lowering (:func:`_lowerings`), no step lowered on its own; cached by value."""
    got = _lowerings(network)
    if got is None:
        return chain_of_path(network, path)
    elements = got[2]
    merges = _path_merges(path, network.n_inputs)
    tokens = _inputs_tokened(network)[1] > 1
    steps: list[tuple[int, int, Gemm, bool, str]] = []
    made: list[MergeStep] = []
    for (lhs, rhs), (row, swapped) in zip(path, merges, strict=True):
        gemm, step, _ = _row(network, got, row)
        a_is_lhs = step.a_is_lhs if step.symmetric else step.a_is_lhs != swapped
        steps.append((lhs, rhs, gemm, a_is_lhs, step.token_dim if tokens else ""))
        made.append(step)
    return assemble_chain(
        network,
        elements + tuple(st.out_elements for st in made),
        tuple(TOKEN_INDEX in idx for idx in network.inputs) + tuple(st.out_tokened for st in made),
        steps,
        _path_consumers(path, network.n_inputs),
    )


@lru_cache(maxsize=4096)
def _path_consumers(path: tuple[tuple[int, int], ...], n: int) -> tuple[int, ...]:
    """:attr:`Chain.consumers` of the chain of a tree of ``n`` inputs: the step reading each
    step's result (-1 for the last)."""
    reader = {x: s for s, pair in enumerate(path) for x in pair}
    return tuple(reader.get(n + s, -1) for s in range(len(path)))


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
    priced, its spill-set bounds' inputs from the network's merges (:func:`_tree_inputs`) when
    no plan was built."""
    inputs = partial(_tree_inputs, network, path) if plan is None else None
    return Tree(partial(_chain_of_tree, network, path, plan), inputs)


@lru_cache(maxsize=1024)
def _row_terms(network: TensorNetwork, hw: Hardware) -> dict[int, tuple[StepTerms, NDArray[np.float64] | None]]:
    """:func:`~dse.schedule._bounds.step_terms` and :func:`~dse.schedule._bounds.fold_times` on
    ``hw`` of the merges of :func:`_tree_merges` asked for so far, by merge: a merge's GEMM and
    kind are the same in every tree that makes it (its operands' token index and reduce history
    follow from the input subsets it merges)."""
    return {}


def _tree_inputs(network: TensorNetwork, path: tuple[tuple[int, int], ...], hw: Hardware) -> BoundInputs | None:
    """What the spill-set bounds of the tree ``path`` read (equal to
    ``bound_inputs(tree_chain(network, path), hw)``), from the network's table of merges without
    making the chain: each step's GEMM, kind and result (:func:`_row`), its fold times from
    :func:`_pair_floors` (which the tree bounds computed) and its other terms computed once per
    network and hardware (:func:`_row_terms`). None when the network's merges are not tabled."""
    got = _lowerings(network)
    floors = _pair_floors(network, hw) if got is not None else None
    if got is None or floors is None:
        return None
    busy, one, _ = floors
    memo = _row_terms(network, hw)
    engines = engines_of(hw)
    n = network.n_inputs
    tokened, tokens = _inputs_tokened(network)
    elements = list(got[2])
    flags = list(tokened)
    steps: list[tuple[int, int, int, int, int]] = []
    terms: list[StepTerms] = []
    folds: list[NDArray[np.float64] | None] = []
    gemms: list[Gemm] = []
    for s, ((lhs, rhs), row) in enumerate(zip(path, _path_rows(path, n), strict=True)):
        gemm, step, kind = _row(network, got, row)
        elements.append(step.out_elements)
        flags.append(step.out_tokened)
        steps.append((lhs, rhs, n + s, KIND_CODE[kind], gemm.macs))
        known = memo.get(row)
        if known is None:
            token_dim = step.token_dim if tokens > 1 else ""
            known = memo[row] = (
                _step_terms(gemm, kind, hw, engines, busy[row], one[row]),
                fold_times(gemm, kind, token_dim, tokens, hw, engines),
            )
        terms.append(known[0])
        folds.append(known[1])
        gemms.append(gemm)
    tensors, table = bound_arrays(elements, flags, steps)
    return BoundInputs(
        _path_consumers(path, n),
        n,
        tokens,
        tensors,
        table,
        np.array(terms).reshape(-1, 6),
        fold_table(folds, tokens),
        tuple(gemms),
        tuple(t[3] == KIND_CODE["core"] for t in steps),
    )


@lru_cache(maxsize=4096)
def _inputs_tokened(network: TensorNetwork) -> tuple[tuple[bool, ...], int]:
    """Whether each input carries the token index, and the token count (:attr:`Chain.tokens`)."""
    return tuple(TOKEN_INDEX in idx for idx in network.inputs), int(network.size_dict.get(TOKEN_INDEX, 1))


def _row(network: TensorNetwork, got: _Lowerings, row: int) -> tuple[Gemm, MergeStep, str]:
    """Merge ``row`` of :func:`_lowerings` (``got``): its GEMM (one instance per network), its
    lowering and its step kind (:data:`~dse.schedule.STEP_KINDS`), read once."""
    table, read, _ = got
    known = read.get(row)
    if known is None:
        step = table.step(row)
        m, n, k, batch, pa, pb, pc = step.gemm
        gemm = Gemm(m=m, n=n, k=k, batch=batch, permute_a_elements=pa, permute_b_elements=pb, permute_c_elements=pc)
        known = read[row] = (gemm, step, _row_kind(network, row))
    return known


def _row_kind(network: TensorNetwork, row: int) -> str:
    """The kind of the step making merge ``row`` of :func:`_tree_merges`, in every tree: from
    whether its result and operands carry the token index, and whether an operand is downstream
    of a reduction (a tensor of several inputs holding one that carries it, but not carrying it
    itself), as :func:`~dse.schedule._chain.assemble_chain` finds it step by step."""
    a, b = _tree_merges(network.n_inputs)[1][row]
    tokened, after = _subset_flags(network)
    if tokened[a | b]:
        return "token"
    if tokened[a] or tokened[b]:
        return "reduce"
    return "post" if after[a] or after[b] else "core"


@lru_cache(maxsize=4096)
def _subset_flags(network: TensorNetwork) -> tuple[list[bool], list[bool]]:
    """For every input subset (bitmask): whether its tensor carries the token index (an input
    that holds it; a merged tensor that keeps it) and whether it is downstream of a reduction."""
    n = network.n_inputs
    names = [i for i, _ in network.sizes]
    masks = np.arange(1 << n, dtype=np.int64)
    single = (masks & (masks - 1)) == 0
    holds = (masks & sum(1 << t for t, idx in enumerate(network.inputs) if TOKEN_INDEX in idx)) != 0
    keeps = _kept_table(network)[:, names.index(TOKEN_INDEX)] if TOKEN_INDEX in names else np.zeros_like(single)
    tokened = np.where(single, holds, keeps)
    after = ~single & ~tokened & holds
    return tokened.tolist(), after.tolist()


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
