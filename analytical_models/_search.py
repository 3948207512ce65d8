"""The mapping search: price every candidate of one GEMM, keep the best and the Pareto set.

Kept apart from the cost model (as ZigZag keeps its search engines apart from its cost
model): the model (:mod:`analytical_models._stage`, :mod:`analytical_models._cost`) prices
candidate sets; this module decides which candidates to price and which to return.

:func:`search_mappings` runs the loop-order-free part of the model on every tile triple,
drops with exact bounds the tiles that can hold neither the best nor a Pareto point
(:func:`screen`), prices the kept tiles on the full ``(D, O, T')`` grid, and selects the best
for the objective and the Pareto set in (cycles, energy) (:func:`_select`,
:func:`pareto_indices`), with deterministic tie-breaking. The result equals the unpruned
search's bit for bit (``tests/analytical_models/test_am_golden_speed.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType

import numpy as np

from analytical_models._arrays import FloatArray, IntArray
from analytical_models._consts import HwConsts, hw_consts
from analytical_models._cost import grid_objectives, picked_costs, terms_cost
from analytical_models._jit import compiled_module
from analytical_models._pinned import (
    nest_timeable,
    pinned_cycles,
    pinned_cycles_floor,
    pinned_lower_bound,
    pinned_nest,
)
from analytical_models._registry import OBJECTIVES, MappingResult, Objective
from analytical_models._scalesim_mapping import scalesim_words
from analytical_models._shaping import Shaping, _shaping_energy
from analytical_models._stage import _ALL_ORDERS, _MODES, LOOP_ORDERS, ModeStage, stage_modes, with_orders
from analytical_models._tiles import grid_index
from analytical_models._types import Cost, Gemm, Hardware, Mapping, ModelInputError


def _rank(primary: FloatArray, secondary: FloatArray, idx: IntArray) -> IntArray:
    """``idx`` sorted by (primary, secondary, index): deterministic tie-breaking."""
    return idx[np.lexsort((idx, secondary[idx], primary[idx]))]


def pareto_indices(cycles: FloatArray, energy: FloatArray) -> IntArray:
    """Flat indices not dominated in (cycles, energy), sorted by cycles.

    Of several candidates with identical (cycles, energy) only the lowest index is kept.
    """
    c_min = cycles.min()
    e_at_cmin = energy[cycles == c_min].min()
    e_min = energy.min()
    c_at_emin = cycles[energy == e_min].min()
    # Every non-dominated point lies in this box; the filter is O(N), the sort then small.
    idx = np.flatnonzero((cycles <= c_at_emin) & (energy <= e_at_cmin))
    idx = _rank(cycles, energy, idx)
    e = energy[idx]
    prev_best = np.minimum.accumulate(np.concatenate(([np.inf], e[:-1])))
    kept: IntArray = idx[e < prev_best]
    return kept


_SLACK = 1e-9
"""Relative margin of the exact pruning in :func:`screen` (rounding is ~1e-15)."""


def screen(
    ms: ModeStage, gemm: Gemm, c: HwConsts, shaping: Shaping, objective: Objective, pareto: bool = True
) -> IntArray | None:
    """Ascending indices of the tiles that may hold the best candidate or a Pareto point (or,
    with ``pareto=False``, the best candidate only); None when all may.

    Exact pruning on ``(D, T)`` and ``(O, T)`` arrays instead of the ``(D, O, T)`` grid. For a
    tile triple t, the cycles ``max(CF[d, o] + exposed, X[o]) + shaping`` (``CF`` compute plus
    fill/drain; ``X`` DRAM cycles) and the energy ``e_dt[d, o] + e_ot[o] + leak * cycles``
    depend on the loop order only through ``X``, ``e_ot`` and whether the streamed loop is
    innermost (which only lowers ``CF`` and ``e_dt``), so ``min_d``/``min_o`` of the terms,
    with the streamed loop innermost, give lower bounds ``(lb_c, lb_e)`` of every candidate at
    t; at a few tiles two real candidates (fastest terms; cheapest terms) give achievable
    anchor points. t is dropped only
    when its lower bound on the objective exceeds an achievable objective and an anchor
    strictly beats ``(lb_c, lb_e)`` in both cycles and energy. ``X`` and ``e_ot`` are summed
    per operand mode here (a different association than the exact model, ~1e-15 apart), so
    both tests carry a relative margin of :data:`_SLACK`. A dropped t holds neither the best
    (its objective is larger) nor a Pareto point (strictly dominated), and every point it
    dominated is strictly dominated by a kept point, so the best, the tie-breaking and the
    Pareto set on the kept tiles equal those of the full grid. Without the Pareto set, a tile
    whose bound exceeds an achievable objective is dropped: every candidate tied with the best
    on the objective is kept, so the best and its tie-breaking are unchanged.
    """
    n_t = ms.exposed.shape[0]
    if n_t < 8 or c.serial:  # no exact bounds derived for the serial timing: keep all
        return None
    assert ms.fill_once is not None and ms.a_rd_once is not None
    assert ms.b_rd_once is not None and ms.c_acc_once is not None
    # (D, T) terms with the streamed loop innermost (never larger) bound every loop order; the
    # anchors below use the (d, o) they name.
    cf_all = ms.compute + ms.fill
    cf = ms.compute + ms.fill_once
    exposed = ms.exposed
    acc8 = 8.0 * c.acc_bytes
    mn = gemm.batch * gemm.m * gemm.n
    e_fixed = _shaping_energy(c, shaping)

    def dataflow_energy(a_rd: FloatArray, b_rd: FloatArray, c_acc: FloatArray) -> FloatArray:
        out: FloatArray = (
            gemm.macs * c.mac_pj
            + a_rd * (8.0 * c.ifmap_rd_pj_bit)
            + b_rd * (8.0 * c.filter_rd_pj_bit)
            + (c_acc - mn) * (acc8 * c.ofmap_rd_pj_bit)
            + c_acc * (acc8 * c.ofmap_wr_pj_bit)
        ) + e_fixed
        return out

    e_dt_all = dataflow_energy(ms.a_rd, ms.b_rd, ms.c_acc)
    e_dt = dataflow_energy(ms.a_rd_once, ms.b_rd_once, ms.c_acc_once)
    x, e_ot = _order_terms(ms.moved, gemm, c)
    leak = c.leak_pj_per_cycle
    sh = shaping.cycles
    cf_min, x_min = cf.min(axis=0), x.min(axis=0)
    lb_c = np.maximum(cf_min + exposed, x_min) + sh  # achieved by the fastest (d, o)
    lb_e = e_dt.min(axis=0) + e_ot.min(axis=0) + leak * lb_c
    # Achievable anchor points: at the tiles of least cycles, least energy bound and least
    # product, the fastest (d, o) and the cheapest (d, o) (cycles and energy of each).
    anchors: list[tuple[float, float]] = []
    for t in {int(lb_c.argmin()), int(lb_e.argmin()), int((lb_c * lb_e).argmin())}:
        for d, o in (
            (int(cf[:, t].argmin()), int(x[:, t].argmin())),
            (int(e_dt[:, t].argmin()), int(e_ot[:, t].argmin())),
        ):
            once = ms.once_at(d, o, t)  # what this (d, o) achieves
            cf_do = float((cf if once else cf_all)[d, t])
            cy = max(cf_do + float(exposed[t]), float(x[o, t])) + sh
            anchors.append((cy, float((e_dt if once else e_dt_all)[d, t]) + float(e_ot[o, t]) + leak * cy))
    if objective == "latency":
        lb_p, ub_p = lb_c, min(a_c for a_c, _ in anchors)
    elif objective == "energy":
        lb_p, ub_p = lb_e, min(a_e for _, a_e in anchors)
    else:
        lb_p, ub_p = lb_c * lb_e, min(a_c * a_e for a_c, a_e in anchors)
    maybe_best = lb_p <= ub_p * (1.0 + _SLACK)
    if not pareto:
        best_only: IntArray = np.flatnonzero(maybe_best)
        return best_only if best_only.size < n_t else None
    # t is beaten when an anchor is strictly better than its bounds in cycles and energy.
    lb_c_s = lb_c * (1.0 - _SLACK)
    lb_e_s = lb_e * (1.0 - _SLACK)
    front = [
        (a_c, a_e)
        for a_c, a_e in set(anchors)
        if not any(b_c <= a_c and b_e <= a_e and (b_c, b_e) != (a_c, a_e) for b_c, b_e in anchors)
    ]
    a_c, a_e = front[0]
    beaten = (lb_c_s > a_c) & (lb_e_s > a_e)
    for a_c, a_e in front[1:]:
        beaten |= (lb_c_s > a_c) & (lb_e_s > a_e)
    keep: IntArray = np.flatnonzero(maybe_best | ~beaten)
    return keep if keep.size < n_t else None


_OPERAND_AXIS = np.arange(3, dtype=np.int64)


def _order_terms(moved: FloatArray, gemm: Gemm, c: HwConsts) -> tuple[FloatArray, FloatArray]:
    """DRAM cycles ``X`` and loop-order energy ``e_ot`` of every loop order, ``(O, T)`` each.

    Both are affine in the elements each operand moves, so they are summed from per-mode
    terms: ``rd + wr = a + b + 2 psum + c_out`` and ``e_ot = a (w_a + dram) + b (w_b + dram) +
    psum (ofmap rd + wr + 2 dram) + c_out (ofmap rd + dram)`` (pJ per byte). Equal to the
    exact model's up to rounding (used for bounds only).
    """
    batch = float(gemm.batch)
    bw = c.bw_bytes_per_cycle
    s_ab = batch * c.bytes_per_el
    s_c = batch * c.acc_bytes
    mn_el = float(gemm.m) * gemm.n
    c_out = gemm.batch * gemm.m * gemm.n * c.bytes_per_el
    dram = 8.0 * c.dram_pj_bit
    w_a = s_ab * (8.0 * c.ifmap_wr_pj_bit + dram)
    w_b = s_ab * (8.0 * c.filter_wr_pj_bit + dram)
    w_p = s_c * (8.0 * c.ofmap_rd_pj_bit + 8.0 * c.ofmap_wr_pj_bit + 2.0 * dram)
    scale = np.array([[s_ab / bw, s_ab / bw, 2.0 * s_c / bw], [w_a, w_b, w_p]])
    per_order = scale @ moved[_MODES, _OPERAND_AXIS]  # (O, 2, T): sum over the operands
    x = per_order[:, 0] + (c_out - 2.0 * s_c * mn_el) / bw
    e_ot = per_order[:, 1] + (c_out * (8.0 * c.ofmap_rd_pj_bit + dram) - w_p * mn_el)
    return x, e_ot


_SMALL = 512
"""Candidate sets up to this size are ranked in plain Python (numpy call overhead dominates)."""


def _ranked_best(
    cycles: FloatArray, energy: FloatArray, objective: Objective
) -> tuple[IntArray, FloatArray, FloatArray]:
    """The flat indices tied on the objective, ranked (the best first, see :func:`_select`), and
    the ``(primary, secondary)`` keys they were ranked by."""
    if objective == "latency":
        primary, secondary = cycles, energy
    elif objective == "energy":
        primary, secondary = energy, cycles
    else:
        primary, secondary = cycles * energy, cycles
    tied = np.flatnonzero(primary == primary.min())
    if tied.size > 1:
        tied = _rank(primary, secondary, tied)
    return tied, primary, secondary


def _select(
    cycles: FloatArray, energy: FloatArray, objective: Objective, shape: tuple[int, ...]
) -> tuple[IntArray, IntArray, IntArray]:
    """``(d, o, t)`` of the best candidate, then of the Pareto set, best objective first.

    Ties on the objective are broken by the other of (cycles, energy), then by flat index.
    """
    best, primary, secondary = _ranked_best(cycles, energy, objective)
    front = _rank(primary, secondary, pareto_indices(cycles, energy))
    flat = np.concatenate((best[:1], front))
    d, o, t = np.unravel_index(flat, shape)
    return d, o, t


def _select_small(
    cycles: list[float], energy: list[float], objective: Objective, shape: tuple[int, ...]
) -> tuple[list[int], list[int], list[int]]:
    """:func:`_select` on Python lists: the same order, the same float products."""
    if objective == "latency":
        primary, secondary = cycles, energy
    elif objective == "energy":
        primary, secondary = energy, cycles
    else:
        primary, secondary = [a * b for a, b in zip(cycles, energy, strict=True)], cycles
    n = len(cycles)
    best = min(range(n), key=lambda i: (primary[i], secondary[i], i))
    front = []
    e_run = math.inf
    for i in sorted(range(n), key=lambda i: (cycles[i], energy[i], i)):
        if energy[i] < e_run:
            front.append(i)
            e_run = energy[i]
    front.sort(key=lambda i: (primary[i], secondary[i], i))
    _, n_o, n_t = shape
    flat = [best, *front]
    return ([f // (n_o * n_t) for f in flat], [f // n_t % n_o for f in flat], [f % n_t for f in flat])


def search_mappings(
    gemm: Gemm,
    hw: Hardware,
    objective: Objective,
    dataflows: tuple[str, ...],
    shaping: Shaping,
    pareto: bool = True,
) -> MappingResult:
    """Price every dataflow x loop order x tile triple of ``gemm`` on ``hw`` and pick the best.

    Ties on the objective are broken by the other of (cycles, energy), then by enumeration
    order (``dataflows`` in the given order, loop order as in :data:`LOOP_ORDERS`, tiles
    ascending m-major). The Pareto set is in
    (cycles, energy_pj), best objective first. ``n_evaluated`` counts the whole grid and the
    nests.

    SCALE-Sim's nest (:mod:`analytical_models._pinned`) is one candidate per dataflow, priced
    under the same memory timing: the result is never worse on the objective (never slower,
    for latency) than ``Hardware.mapping="scalesim"`` (:func:`search_pinned`) with the same
    dataflows; a nest is picked only when strictly better on the objective than every tiled
    mapping.

    How: the loop-order-free part of the model runs on all T tiles (:func:`stage_modes`),
    exact bounds drop the tiles that can hold neither the best nor a Pareto point
    (:func:`screen`), and only the kept tiles are priced on the full
    ``(D, O, T')`` grid with the exact formulas (:func:`with_orders`,
    :func:`grid_objectives`), so results equal the unpruned search's bit for bit
    (``tests/analytical_models/test_am_golden_speed.py``). The best alone (``pareto=False``)
    under the overlapped timing comes from one compiled walk over the same grid instead
    (:func:`analytical_models._kernel.best_candidate`: the same candidate, the same bits;
    unless :data:`~analytical_models._jit.NO_JIT_ENV` is set).

    Args:
        gemm: the operation.
        hw: the hardware.
        objective: ``latency``, ``energy`` or ``edp``.
        dataflows: the dataflows a mapping may use, in enumeration order.
        shaping: the tensor-shaping overhead the engine pays for ``gemm`` on ``hw``.
        pareto: also find the Pareto set; False returns the same best mapping and cost with an
            empty ``pareto`` (what a design's evaluation needs).

    Raises:
        ModelInputError: unknown objective, or no tile fits the buffers.
    """
    if objective not in OBJECTIVES:
        raise ModelInputError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")
    c = hw_consts(hw)
    kernel = compiled_module("analytical_models._kernel") if not pareto and not c.serial else None
    if kernel is not None:
        return _best_compiled(kernel, gemm, hw, c, objective, dataflows, shaping)
    return search_grid(gemm, hw, objective, dataflows, shaping, pareto)


def _no_tile_fits(hw: Hardware) -> ModelInputError:
    return ModelInputError(
        "no tile fits: the ifmap / filter buffers cannot hold one element "
        f"(ifmap {hw.ifmap_sram_kb} kB, filter {hw.filter_sram_kb} kB)"
    )


def search_grid(
    gemm: Gemm,
    hw: Hardware,
    objective: Objective,
    dataflows: tuple[str, ...],
    shaping: Shaping,
    pareto: bool = True,
) -> MappingResult:
    """:func:`search_mappings` on numpy arrays, whatever ``pareto`` and the memory timing (with
    ``pareto=False``, fewer tiles are priced and no front is ranked): the reference the
    compiled walk is tested against."""
    if objective not in OBJECTIVES:
        raise ModelInputError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")
    c = hw_consts(hw)
    a_cap = math.floor(c.cap_a_bytes / c.bytes_per_el)
    b_cap = math.floor(c.cap_b_bytes / c.bytes_per_el)
    ti = grid_index(gemm.m, gemm.n, gemm.k, a_cap, b_cap)
    tiles = ti.tiles
    if tiles.shape[1] == 0:
        raise _no_tile_fits(hw)
    ms = stage_modes(gemm, c, dataflows, ti)
    n_evaluated = len(dataflows) * len(LOOP_ORDERS) * tiles.shape[1]
    keep = screen(ms, gemm, c, shaping, objective, pareto)
    # Kept tiles stay in ascending order, so flat indices keep their relative order and
    # the tie-breaking below is that of the full grid.
    st = with_orders(ms, gemm, c, _ALL_ORDERS, keep)
    if keep is not None:
        tiles = tiles[:, keep]
    cycles3, energy3 = grid_objectives(st, gemm, c, shaping)
    cycles = cycles3.reshape(-1)
    energy = energy3.reshape(-1)
    if not pareto:
        d, o, t = _select_best(cycles, energy, objective, cycles3.shape)
    elif cycles.size <= _SMALL:
        d, o, t = _select_small(cycles.tolist(), energy.tolist(), objective, cycles3.shape)
    else:
        d_a, o_a, t_a = _select(cycles, energy, objective, cycles3.shape)
        d, o, t = d_a.tolist(), o_a.tolist(), t_a.tolist()
    costs = picked_costs(st, gemm, c, shaping, d, o, t)
    tm_l, tn_l, tk_l = tiles[:, t].tolist()
    mappings = [
        Mapping(
            dataflow=dataflows[di],
            tile_m=tm_l[i],
            tile_n=tn_l[i],
            tile_k=tk_l[i],
            loop_order=LOOP_ORDERS[oi],
        )
        for i, (di, oi) in enumerate(zip(d, o, strict=True))
    ]
    best = (mappings[0], costs[0])
    points = list(zip(mappings[1:], costs[1:], strict=True))
    nests = _pinned_candidates(gemm, hw, objective, dataflows, shaping, best[1], points if pareto else None)
    if nests:
        best, points = _merge(objective, best, points, nests, pareto)
    return MappingResult(
        mapping=best[0],
        cost=best[1],
        n_evaluated=n_evaluated + len(dataflows),
        pareto=tuple(points),
    )


def _best_compiled(
    kernel: ModuleType,
    gemm: Gemm,
    hw: Hardware,
    c: HwConsts,
    objective: Objective,
    dataflows: tuple[str, ...],
    shaping: Shaping,
) -> MappingResult:
    """:func:`search_mappings` with ``pareto=False`` on the overlapped timing: the grid's best
    from :func:`analytical_models._kernel.best_candidate` (the same candidate, the same bits),
    then SCALE-Sim's nests as there."""
    found = kernel.best_candidate(gemm, c, dataflows, objective, shaping)
    if found is None:
        raise _no_tile_fits(hw)
    cost = terms_cost(gemm, c, shaping, found.terms)
    tm, tn, tk = found.tile
    mapping = Mapping(
        dataflow=dataflows[found.dataflow], tile_m=tm, tile_n=tn, tile_k=tk, loop_order=LOOP_ORDERS[found.order]
    )
    best: Candidate = (mapping, cost)
    nests = _pinned_candidates(gemm, hw, objective, dataflows, shaping, cost, None)
    if nests:
        best, _ = _merge(objective, best, [], nests, False)
    return MappingResult(
        mapping=best[0], cost=best[1], n_evaluated=len(dataflows) * (len(LOOP_ORDERS) * found.n_tiles + 1), pareto=()
    )


def _select_best(
    cycles: FloatArray, energy: FloatArray, objective: Objective, shape: tuple[int, ...]
) -> tuple[list[int], list[int], list[int]]:
    """``(d, o, t)`` of the best candidate alone, ranked as :func:`_select` ranks it."""
    _, n_o, n_t = shape
    f = int(_ranked_best(cycles, energy, objective)[0][0])
    return [f // (n_o * n_t)], [f // n_t % n_o], [f % n_t]


Candidate = tuple[Mapping, Cost]


def _keys(objective: Objective, cost: Cost) -> tuple[float, float]:
    """``(primary, secondary)`` of ``cost`` for ``objective`` (see :func:`_select`)."""
    return _keys_of(objective, cost.cycles, cost.energy_pj)


def _keys_of(objective: Objective, cy: float, en: float) -> tuple[float, float]:
    if objective == "latency":
        return cy, en
    if objective == "energy":
        return en, cy
    return cy * en, cy


def _pinned_candidates(
    gemm: Gemm,
    hw: Hardware,
    objective: Objective,
    dataflows: tuple[str, ...],
    shaping: Shaping,
    best: Cost,
    front: list[Candidate] | None,
) -> list[Candidate]:
    """SCALE-Sim's own loop nest of each dataflow (:mod:`analytical_models._pinned`), one
    candidate each, priced only when it may beat the grid's best or join its Pareto set: a
    nest whose lower bound (:func:`~analytical_models._pinned.pinned_lower_bound`) is no better
    than the best on the objective and weakly dominated by a Pareto point can do neither
    (``front=None``: no Pareto set is sought, a nest no better than the best is not priced;
    for latency under the overlapped timing :func:`~analytical_models._pinned.pinned_cycles_floor`
    bounds it, with a relative margin of 1e-9 for the order of its sums, then its exact cycles,
    :func:`~analytical_models._pinned.pinned_cycles`, before its cost is built).

    None when the serial timing runs below one element per cycle
    (:func:`~analytical_models._pinned.nest_timeable`)."""
    out: list[Candidate] = []
    if not nest_timeable(hw):
        return out
    best_key = _keys(objective, best)[0]
    points = [(cost.cycles, cost.energy_pj) for _, cost in front or ()]
    overlapped_latency = front is None and objective == "latency" and hw.memory_timing != "serial"
    beats = _nest_may_beat(gemm, hw, shaping, best_key) if overlapped_latency else None
    for d in dataflows:
        if beats is not None and not beats(d):
            continue
        if hw.memory_timing == "serial":  # the closed form can take milliseconds: bound first
            lb_c, lb_e = pinned_lower_bound(gemm, hw, d, shaping)
            lb_key = _keys_of(objective, lb_c, lb_e)[0]
            if lb_key >= best_key and (front is None or any(c_ <= lb_c and e_ <= lb_e for c_, e_ in points)):
                continue
        nest = pinned_nest(gemm, hw, d, shaping)
        out.append((nest.mapping, nest.cost))
    return out


def _nest_may_beat(gemm: Gemm, hw: Hardware, shaping: Shaping, best_key: float) -> Callable[[str], bool]:
    """Whether SCALE-Sim's nest of a dataflow may be strictly faster than ``best_key`` cycles
    under the overlapped timing: :func:`~analytical_models._pinned.pinned_cycles_floor` (with a
    relative margin of 1e-9 for the order of its sums), then the nest's exact cycles
    (:func:`~analytical_models._pinned.pinned_cycles`), both compiled
    (:mod:`analytical_models._pinned_kernel`, the same bits) unless
    :data:`~analytical_models._jit.NO_JIT_ENV` is set."""

    def in_python(d: str) -> bool:
        return not (
            pinned_cycles_floor(gemm, hw, d, shaping) * (1.0 - 1e-9) >= best_key
            or pinned_cycles(gemm, hw, d, shaping) >= best_key  # (picked only when strictly faster)
        )

    kernel = compiled_module("analytical_models._pinned_kernel")
    if kernel is None:
        return in_python
    zi, zf, zo, _ = scalesim_words(hw)
    args = (gemm.m, gemm.n, gemm.k, gemm.batch, hw.pe_rows, hw.pe_cols)
    mem = (zi, zf, zo, hw.bits, hw.acc_bits, hw.dram_bw_bytes_per_cycle, shaping.cycles)
    code = kernel.DATAFLOW_CODE

    def may_beat(d: str) -> bool:
        if d not in code:  # (a dataflow the nest does not know: the Python functions say so)
            return in_python(d)
        if kernel.pinned_cycles_floor(*args, code[d], *mem) * (1.0 - 1e-9) >= best_key:
            return False
        return bool(kernel.pinned_cycles(*args, code[d], *mem, shaping.dram_rd_bytes, shaping.dram_wr_bytes) < best_key)

    return may_beat


def _merge(
    objective: Objective, best: Candidate, front: list[Candidate], nests: list[Candidate], pareto: bool = True
) -> tuple[Candidate, list[Candidate]]:
    """The best and the Pareto set of the grid's and the nests' candidates, ordered as
    :func:`_select` orders them. A nest replaces the grid's best only when strictly better on
    the objective itself (on a tie the tiled mapping stays, whatever the other metric: it is
    the one the model's tiling describes); nests tie-break among themselves as :func:`_select`
    does. ``pareto=False``: the best alone (an empty set)."""
    ranked = sorted(enumerate(nests, 1), key=lambda x: (*_keys(objective, x[1][1]), x[0]))
    if _keys(objective, ranked[0][1][1])[0] >= _keys(objective, best[1])[0]:
        ranked = [(0, best)]
    if not pareto:
        return ranked[0][1], []
    pool = [*front, *nests]
    by_cycles = sorted(range(len(pool)), key=lambda i: (pool[i][1].cycles, pool[i][1].energy_pj, i))
    kept = []
    e_run = math.inf
    for i in by_cycles:
        if pool[i][1].energy_pj < e_run:
            kept.append(i)
            e_run = pool[i][1].energy_pj
    kept.sort(key=lambda i: (*_keys(objective, pool[i][1]), i))
    return ranked[0][1], [pool[i] for i in kept]


def search_pinned(
    gemm: Gemm, hw: Hardware, objective: Objective, dataflows: tuple[str, ...], shaping: Shaping
) -> MappingResult:
    """SCALE-Sim's own loop nest (:mod:`analytical_models._pinned`) of each dataflow; the best
    for the objective, and the Pareto set in (cycles, energy), with the tie-breaking of
    :func:`search_mappings` (dataflows in the given order). ``n_evaluated``: one per dataflow.

    Raises:
        ModelInputError: unknown objective.
    """
    if objective not in OBJECTIVES:
        raise ModelInputError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")
    nests = [pinned_nest(gemm, hw, d, shaping) for d in dataflows]
    cycles = [p.cost.cycles for p in nests]
    energy = [p.cost.energy_pj for p in nests]
    d, _, _ = _select_small(cycles, energy, objective, (len(nests), 1, 1))
    picked = [(nests[i].mapping, nests[i].cost) for i in d]
    return MappingResult(mapping=picked[0][0], cost=picked[0][1], n_evaluated=len(nests), pareto=tuple(picked[1:]))
