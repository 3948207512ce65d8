"""A fused segment: consecutive steps of a chain whose intermediates never leave the chip.

The segment's external tensors (network inputs, or intermediates another segment spilled to
DRAM) are read from DRAM once; its result is written once. No tensor is re-laid-out inside a
segment: each is written by its producer (or laid out once, for a core) in the order its
consumer reads it, by address generation as TIE does (a DRAM-fed step pays the engine's shaping
instead). Token-carrying external inputs are streamed through the ifmap buffer one token tile at
a time (double-buffered when there is more than one tile); token-free ones (cores, spilled
merges) stay in the filter buffer for the whole pass; intermediates live in the ofmap buffer.
Every step of every tile is priced with the on-chip fold model (:func:`analytical_models.onchip_tiles`).

Latency (sequential, one engine; the AccelForge / DeFiNES convention, the "overlapped" rule of
the DRAM-fed model)::

    W = sum(stored merges) + N_t * (sum(token + reduce steps on a tile) + sum(recomputed merges))
        + sum(post steps)
    E = (first tile's streamed inputs + the cores of the first step + last tile's result) / bw
    L = W + max(E, D / bw - W)

with ``D`` the segment's DRAM bytes. Energy: every step's MAC and SRAM energy (per tile, times
the tiles), the buffer fills of what DRAM delivers and the drain of the result, DRAM bytes x
pJ/bit, and leakage over ``L``.

Capacity (whole buffers, in bytes): ifmap holds the streamed input tiles (x2 when double
buffered); filter holds the cores the token steps use and the stored merges (recomputed merges
keep their source cores instead; a merge's own inputs are staged through the idle ifmap buffer
before the token loop, so the transient of a merge is not counted); ofmap holds, at every step,
the live intermediates plus the step's result, the reduce accumulators (at ``acc_bits``) for the
whole loop, and a second result tile for double buffering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from analytical_models import (
    STACKED_FIELDS,
    ArrayEngine,
    Cost,
    Hardware,
    OnChipTiles,
    compiled_module,
    get_engine,
    hw_consts,
    onchip_tiles,
    quick_init,
)
from dse.schedule._chain import Chain, ChainStep
from dse.schedule._combine import (
    BW,
    DRAM_PJ_BIT,
    FILTER_WR_PJ_BIT,
    IFMAP_WR_PJ_BIT,
    KIND_CODE,
    LEAK_PJ_PER_CYCLE,
    N_PARTS,
    N_SCALARS,
    NETWORK_PJ_PER_BYTE,
    OBJECTIVE_CODE,
    OFMAP_RD_PJ_BIT,
    OUT_BYTES,
    PRICE_KERNEL,
    TOKEN_FREE_BYTES,
    SegmentTiles,
    combine,
)
from dse.schedule._segment_inputs import (
    MergeMode,
    _buffer_of,
    _kernel_arrays,
    _KernelArrays,
    _pipeline_groups,
    _segment_static,
    _Way,
    _ways,
)
from dse.schedule._streams import _stream_inputs, _Streams, _streams, _tile_floats, segment_tensors

FloatArray = npt.NDArray[np.float64]
MAX_TILES = 16
"""Token-tile candidates per segment (every divisor of the token count, or this many spread
geometrically over them)."""


@quick_init
@dataclass(frozen=True, slots=True)
class SegmentResult:
    """The best token tile of one fused segment.

    Attributes:
        steps: indices of the chain steps in the segment (plan order).
        cost: the segment's cost (stall = exposed and bandwidth-bound memory time).
        tile: tokens per tile.
        n_tiles: tiles (``tokens / tile``).
        merges: ``store`` or ``recompute`` for the core merges (``""`` when there are none).
        dataflows: the dataflow of each step (on its tile).
        dram_bytes: DRAM bytes read and written.
        work_cycles: ``W`` (busy cycles of the array).
        need_bytes: (ifmap, filter, ofmap) bytes the chosen tile needs.
        step_cycles: busy cycles of each step over the whole pass (all its tiles).
        step_energy_pj: MAC and SRAM energy of each step over the whole pass, in pJ.
        pipelined: token tiles pipelined through engine groups (one per token step).
        engines: engines each step runs on (its group when pipelined).
        core_cycles: stored core merges run on a TT-core engine (they may overlap the work of
            the pass before: :func:`dse.evaluate.evaluate`).
    """

    steps: tuple[int, ...]
    cost: Cost
    tile: int
    n_tiles: int
    merges: MergeMode
    dataflows: tuple[str, ...]
    dram_bytes: float
    work_cycles: float
    need_bytes: tuple[float, float, float]
    step_cycles: tuple[float, ...] = ()
    step_energy_pj: tuple[float, ...] = ()
    pipelined: bool = False
    engines: tuple[int, ...] = ()
    core_cycles: float = 0.0


@lru_cache(maxsize=4096)
def tile_candidates(tokens: int, limit: int = MAX_TILES) -> tuple[int, ...]:
    """Divisors of ``tokens`` (ascending), at most ``limit`` of them spread geometrically."""
    divs = [d for d in range(1, math.isqrt(tokens) + 1) if tokens % d == 0]
    divs = sorted(set(divs + [tokens // d for d in divs]))
    if len(divs) <= limit:
        return tuple(divs)
    picks = np.unique(np.round(np.geomspace(1, len(divs), limit)).astype(int) - 1)
    return tuple(divs[i] for i in sorted(set(picks.tolist()) | {len(divs) - 1}))


@lru_cache(maxsize=16_384)
def price_segment(
    chain: Chain,
    steps: tuple[int, ...],
    hw: Hardware,
    objective: str,
    tiles: tuple[int, ...] = (),
    merges: tuple[MergeMode, ...] = (),
) -> SegmentResult | None:
    """Best token tile and merge mode of the fused segment ``steps`` of ``chain`` on ``hw``.

    ``tiles`` restricts the token tiles tried (default :func:`tile_candidates`), ``merges`` the
    merge modes (default: store, and recompute only when storing does not fit: a stored merge
    that fits runs once where a recomputed one runs per tile, with the same traffic, so it is
    never worse). Returns None when no token tile fits the buffers.
    """
    best: SegmentResult | None = None
    has_merges = any(chain.steps[s].kind == "core" for s in steps)
    modes: tuple[MergeMode, ...] = (merges or ("store", "recompute")) if has_merges else ("",)
    cap, bpe = hw.filter_sram_kb * 1024.0, hw_consts(hw).bytes_per_el
    needs = _filter_needs(chain, steps, bpe)
    modes = tuple(m for m in modes if needs[m == "store"] <= cap)
    if not modes:
        return None  # the cores it keeps fit the filter buffer under no merge mode (at any tile)
    spatial = _groupings(hw)
    tiles = tiles or tile_candidates(chain.tokens)
    kernel = compiled_module(PRICE_KERNEL)
    arrays = _kernel_arrays(hw) if kernel is not None else None
    if arrays is not None:  # (every way in one compiled call; the result of the best alone)
        chosen: _Priced | None = None
        for way in _priced_ways(kernel, arrays, chain, steps, hw, objective, modes, spatial, tiles):
            if way is not None and (
                chosen is None or _cost_key(way.costed.cost, objective) < _cost_key(chosen.costed.cost, objective)
            ):
                chosen = way
        return None if chosen is None else _priced_result(chain, steps, hw, chosen, arrays, tiles)
    io = _streams(chain, steps, hw, tiles)
    if io is None:
        return None  # the streamed inputs fit the ifmap buffer at no token tile
    for mode in modes:
        if mode == "recompute" and best is not None and "store" in modes:
            break  # a stored merge that fits is never slower nor costlier than recomputing it
        for pipelined in spatial:
            res = _price(chain, steps, hw, objective, mode, io.tiles, pipelined, io)
            if res is not None and (best is None or _key(res, objective) < _key(best, objective)):
                best = res
    return best


class _Priced(NamedTuple):
    """One way of running a segment as the compiled call priced it: the picked tile and its
    token tiles, the segment's cost, busy cycles and DRAM bytes, the steps' rows
    (:data:`~dse.schedule._price_kernel.N_STEP_OUT` columns) and the buffer needs."""

    way: _Way
    i: int
    n_i: float
    costed: _SegmentCost
    per_step: FloatArray
    need_bytes: tuple[float, float, float]


def _priced_ways(
    kernel: Any,
    arrays: _KernelArrays,
    chain: Chain,
    steps: tuple[int, ...],
    hw: Hardware,
    objective: str,
    modes: tuple[MergeMode, ...],
    spatial: tuple[bool, ...],
    tiles: tuple[int, ...],
) -> list[_Priced | None]:
    """Every way :func:`price_segment` tries (:func:`_ways`) priced in one compiled call
    (:func:`dse.schedule._price_kernel.price_segment_kernel`), each as :func:`_price` prices it
    (its :class:`SegmentResult`: :func:`_priced_result`); None for a way that does not fit, or
    is not tried (recomputing merges once a way fitted with them stored)."""
    k = hw_consts(hw)
    bpe = k.bytes_per_el
    got = _stream_inputs(chain, steps, bpe, k.acc_bytes)
    n_engines = engines_of(hw)
    ways = _ways(chain, steps, modes, spatial, n_engines)
    out_full = chain.elements[got.out_ssa] * bpe
    scalars = _segment_scalars(hw).copy()
    scalars[TOKEN_FREE_BYTES], scalars[OUT_BYTES] = got.token_free_total, out_full
    static, dims = _segment_static(chain, steps)
    picked, outs, per_step, at = kernel.price_segment_kernel(
        _tile_floats(tiles), float(chain.tokens), static, dims, n_engines, arrays.has_core, *arrays.args,
        objective == "energy", got.sizes, got.counts, got.lines, got.flags, hw.ifmap_sram_kb * 1024.0,
        hw.ofmap_sram_kb * 1024.0, ways.recompute, ways.pipelined, ways.groups, "store" in modes, scalars,
        OBJECTIVE_CODE[objective],
    )  # fmt: skip
    out: list[_Priced | None] = []
    for c, (way, i) in enumerate(zip(ways.ways, picked.tolist(), strict=True)):
        if i < 0:
            out.append(None)
            continue
        costed = _segment_cost(outs[c].tolist(), out_full, got.token_free_total, hw)
        ifmap_i, ofmap_i, n_i = at[c].tolist()
        needs = (ifmap_i, _filter_need(chain, steps, way.mode, bpe), ofmap_i)
        out.append(_Priced(way, i, n_i, costed, per_step[c], needs))
    return out


def _priced_result(
    chain: Chain, steps: tuple[int, ...], hw: Hardware, p: _Priced, arrays: _KernelArrays, tiles: tuple[int, ...]
) -> SegmentResult:
    """The :class:`SegmentResult` of a way :func:`_priced_ways` priced."""
    on_core = [chain.steps[s].kind == "core" and arrays.has_core for s in steps]
    rows = [
        (x[:_ENERGY_END], arrays.dataflows[a][int(x[_ENERGY_END])])
        for x, a in zip(p.per_step.tolist(), on_core, strict=True)
    ]
    n_engines = engines_of(hw)
    return _result(chain, steps, hw, p.way, n_engines, arrays.has_core, tiles, p.i, p.n_i, p.costed, rows, p.need_bytes)


def engines_of(hw: Hardware) -> int:
    """Identical arrays of the engine (a ``ce_array``'s contraction engines), 1 otherwise."""
    engine = get_engine(hw.engine)
    return engine.engines(hw) if isinstance(engine, ArrayEngine) else 1


def _groupings(hw: Hardware) -> tuple[bool, ...]:
    """Whether a segment's steps run on every engine (False) or pipelined over engine groups
    (True): the latter only on an engine of several arrays."""
    return (False, True) if engines_of(hw) > 1 else (False,)


_FIT_SLACK = 1e-9
"""Relative margin of :func:`segment_may_fit` (its sums may be associated differently)."""


def segment_may_fit(chain: Chain, steps: tuple[int, ...], hw: Hardware) -> bool:
    """False only when no token tile of the fused segment ``steps`` of ``chain`` fits the
    buffers under any merge mode (:func:`price_segment` of ``chain.segment(steps)`` with its
    default tiles and merges is None), decided on ``chain`` itself without cutting the segment
    out or pricing a step (:func:`segment_floor_terms` is None)."""
    return segment_floor_terms(chain, steps, hw) is not None


def segment_floor_terms(chain: Chain, steps: tuple[int, ...], hw: Hardware) -> tuple[float, float] | None:
    """What every fused schedule of segment ``steps`` pays beyond its steps' fold times, as
    :func:`price_segment` prices it, without pricing it: ``(exposed, reruns)``; None when no
    token tile fits the buffers under any merge mode.

    Fit. Every buffer need grows with the token tile ``t`` except at the whole pass (one tile:
    no double buffering), so its least value over the candidates is at the smallest tile or at
    the whole pass: the segment cannot fit when its filter need exceeds the filter buffer in
    every mode, its streamed inputs exceed the ifmap buffer at both tiles, or its ofmap need
    (each engine grouping it may run under) exceeds the ofmap buffer at both, each beyond a
    relative margin of 1e-9.

    ``exposed``: DRAM bytes whose transfer no schedule of the segment hides (its latency
    counts them over the bandwidth on top of the array's work, tiled or pipelined): the streamed
    inputs of the first token tile, the token-free inputs of the first step (of the first
    token or reduce step when the tiles may be pipelined over engine groups, whichever is
    smaller) and the last tile's result, all at the smallest token tile.

    ``reruns``: token tiles the segment runs at least, when its core merges cannot be stored
    (their results do not fit the filter buffer, beyond the margin) and so are recomputed on
    every tile: the token count over the largest candidate tile whose streamed inputs fit the
    ifmap buffer (beyond the margin); 1 when the merges may be stored (or there are none)."""
    k = hw_consts(hw)
    bpe, acc = k.bytes_per_el, k.acc_bytes
    slack = 1.0 + _FIT_SLACK
    needs = _filter_needs(chain, steps, bpe)
    filter_cap = hw.filter_sram_kb * 1024.0 * slack
    if min(needs) > filter_cap:
        return None
    st = [chain.steps[s] for s in steps]
    inside, external = segment_tensors(chain, steps)
    tokens = chain.tokens
    candidates = tile_candidates(tokens)
    tiles = (float(candidates[0]), float(tokens))
    streamed = sum(chain.elements[x] for x in external if chain.tokened[x]) * bpe
    ifmap_cap = hw.ifmap_sram_kb * 1024.0 * slack

    def ifmap_fits(t: float) -> bool:  # the streamed inputs of a tile (double-buffered when several)
        return streamed * t / tokens * (2.0 if t < tokens else 1.0) <= ifmap_cap

    if not any(ifmap_fits(t) for t in tiles):
        return None
    stages = [x for x in st if x.kind in ("token", "reduce")]
    # (tiles pipelined over engine groups need two to ``engines`` token and reduce steps)
    spatial = _groupings(hw) if 2 <= len(stages) <= engines_of(hw) else (False,)
    cap = hw.ofmap_sram_kb * 1024.0 * slack
    if not any(_ofmap_at(chain, st, inside, t, bpe, acc, p) <= cap for p in spatial for t in tiles):
        return None

    def cores(step: ChainStep) -> float:
        return sum(chain.elements[x] for x in (step.lhs, step.rhs) if x not in inside and not chain.tokened[x]) * bpe

    first = cores(st[0])
    if True in spatial:
        first = min(first, cores(stages[0]))
    frac = tiles[0] / tokens
    out = chain.elements[st[-1].out] * bpe
    exposed = streamed * frac + first + (out * frac if chain.tokened[st[-1].out] else out)
    reruns = 1.0
    if any(x.kind == "core" for x in st) and needs[1] > filter_cap:
        fit = [t for t in candidates if ifmap_fits(t)]
        reruns = tokens / fit[-1] if fit else 1.0
    return exposed, reruns


def _ofmap_at(
    chain: Chain, st: list[ChainStep], inside: frozenset[int], t: float, bpe: float, acc: float, pipelined: bool
) -> float:
    """:func:`_ofmap_need` of the segment of steps ``st`` at one token tile ``t``, plus the
    second result tile of double buffering (what :func:`_price` checks), in plain floats (the
    sums associated differently: equal up to rounding)."""
    tokens = chain.tokens
    frac = t / tokens
    double = 2.0 if t < tokens else 1.0

    def size(ssa: int, per: float) -> float:
        full = chain.elements[ssa] * per
        return full * frac if chain.tokened[ssa] else full

    last = st[-1]
    need = sum(size(x.out, acc) for x in st if x.kind == "reduce")
    if chain.tokened[last.out]:
        need += size(last.out, bpe) * (double - 1.0)
    if pipelined:
        need += sum(double * size(x, bpe) for x in sorted(inside) if chain.tokened[x])
        return need + (size(last.out, bpe) if last.kind == "token" else 0.0)
    live: dict[int, float] = {}
    peak = 0.0
    for x in st:
        if x.kind == "core":
            continue  # merges live in the filter buffer
        res = 0.0 if x.kind == "reduce" else size(x.out, acc if x.kind == "post" else bpe)
        peak = max(peak, sum(live.values()) + res)
        live.pop(x.lhs, None)
        live.pop(x.rhs, None)
        if x.out in inside and x.kind != "reduce":
            live[x.out] = res
    return need + peak


def _key(r: SegmentResult, objective: str) -> tuple[float, float]:
    return _cost_key(r.cost, objective)


def _cost_key(cost: Cost, objective: str) -> tuple[float, float]:
    """What :func:`price_segment` minimises over the ways it tries (the objective, then the
    other of cycles and energy)."""
    c, e = cost.cycles, cost.energy_pj
    if objective == "energy":
        return (e, c)
    if objective == "edp":
        return (c * e, c)
    return (c, e)


def network_pj(hw: Hardware, sram_read_bytes: float) -> float:
    """Energy of the operand bytes read from the buffers crossing the engine's distribution
    network (a ``ce_array``'s butterflies; 0 on other engines), in pJ."""
    engine = get_engine(hw.engine)
    per_bit = engine.network_pj_per_bit(hw) if isinstance(engine, ArrayEngine) else 0.0
    return sram_read_bytes * 8.0 * per_bit


def _price(
    chain: Chain,
    steps: tuple[int, ...],
    hw: Hardware,
    objective: str,
    mode: MergeMode,
    tiles: tuple[int, ...],
    pipelined: bool = False,
    io: _Streams | None = None,
) -> SegmentResult | None:
    """Price the segment with merge mode ``mode`` on token ``tiles`` (``io``: their
    :func:`_streams`, shared by the modes) a step at a time (:func:`_price_steps`): the path
    without compiled loops, and the reference of :func:`_priced_ways`; None when no tile fits
    the buffers."""
    io = io or _streams(chain, steps, hw, tiles)
    if io is None:
        return None
    k = hw_consts(hw)
    bpe = k.bytes_per_el
    engine = get_engine(hw.engine)
    core_hw = engine.core_array(hw) if isinstance(engine, ArrayEngine) else None
    n_engines = engines_of(hw)
    groups: dict[int, int] = {}
    if pipelined:
        got = _pipeline_groups(chain, steps, mode, n_engines)
        if got is None:
            return None
        groups = got
    n_t, inside, out_ssa = io.n_t, io.inside, io.out_ssa

    # --- capacity first: a segment none of whose token tiles fits is not priced at all
    filter_need = _filter_need(chain, steps, mode, bpe)
    if filter_need > hw.filter_sram_kb * 1024.0:
        return None
    ifmap_need = io.ifmap_need
    ofmap_need = io.ofmap[pipelined]
    fits = io.ifmap_fits & (ofmap_need <= hw.ofmap_sram_kb * 1024.0)
    if not fits.any():
        return None
    # --- DRAM: the streamed inputs over the pass, what no schedule hides, a tile's traffic
    out_full = chain.elements[out_ssa] * bpe
    scalars = _segment_scalars(hw).copy()
    scalars[TOKEN_FREE_BYTES], scalars[OUT_BYTES] = io.token_free_total, out_full
    # --- every step on chip, per tile, added up per tile
    tail = (
        n_t,
        fits,
        mode == "recompute",
        io.streamed_total,
        io.e_in[pipelined],
        io.e_out,
        io.d_tile,  # (read when pipelined)
        scalars,
        OBJECTIVE_CODE[objective],
        pipelined,
        core_hw is not None and mode == "recompute",
    )
    i, v, picked = _price_steps(chain, steps, hw, core_hw, inside, tiles, groups, pipelined, n_engines, objective, tail)
    way = _Way(mode, pipelined, groups)
    needs = (float(ifmap_need[i]), filter_need, float(ofmap_need[i]))
    costed = _segment_cost(v.tolist(), out_full, io.token_free_total, hw)
    return _result(
        chain, steps, hw, way, n_engines, core_hw is not None, tiles, i, float(n_t[i]), costed, picked, needs
    )


class _SegmentCost(NamedTuple):
    """:func:`_segment_cost`'s result."""

    cost: Cost
    work: float
    dram: float


def _segment_cost(got: list[float], out_full: float, token_free_total: float, hw: Hardware) -> _SegmentCost:
    """The segment's cost, busy cycles ``W`` and DRAM bytes from its combined sums ``got``
    (:data:`~dse.schedule._combine.OUT_FIELDS` at the picked tile), its result's bytes and the
    bytes of its token-free inputs."""
    part = dict(zip(STACKED_FIELDS, got[:N_PARTS], strict=True))
    (work, latency, network, fill_if, fill_fi, drain_of, dram_pj, leak_pj, dram_rd, dram_wr, dram, streamed) = got[
        N_PARTS:
    ]
    # cycles: the busy part split as the steps' own split (scaled to the critical path when
    # engines overlap), the rest is exposed or bandwidth-bound memory time
    busy = part["compute"] + part["fill"] + part["shaping"]
    scale = work / busy if busy > 0 else 0.0
    cost = Cost(
        macs=round(part["macs"]),
        compute_cycles=part["compute"] * scale,
        fill_drain_cycles=part["fill"] * scale,
        stall_cycles=latency - work,
        shaping_cycles=part["shaping"] * scale,
        mac_energy_pj=part["mac_pj"] + network,
        ifmap_sram_energy_pj=part["ifmap_pj"] + fill_if,
        filter_sram_energy_pj=part["filter_pj"] + fill_fi,
        ofmap_sram_energy_pj=part["ofmap_pj"] + drain_of,
        dram_energy_pj=dram_pj,
        leakage_energy_pj=leak_pj,
        dram_read_bytes=dram_rd,
        dram_write_bytes=dram_wr,
        sram_read_bytes=part["sram_rd_bytes"] + out_full,
        sram_write_bytes=part["sram_wr_bytes"] + streamed + token_free_total,
        pe_busy_cycles=part["macs"] / hw.n_pes,
    )
    return _SegmentCost(cost, work, dram)


def _result(
    chain: Chain,
    steps: tuple[int, ...],
    hw: Hardware,
    way: _Way,
    n_engines: int,
    has_core: bool,
    tiles: tuple[int, ...],
    i: int,
    n_i: float,
    costed: _SegmentCost,
    picked: list[tuple[list[float], str]],
    need_bytes: tuple[float, float, float],
) -> SegmentResult:
    """The :class:`SegmentResult` of one way of running the segment: its cost, busy cycles and
    DRAM bytes (``costed``), the picked tile ``i`` (``n_i`` token tiles of ``tiles[i]``
    tokens), each step's first STACKED_FIELDS through the ofmap energy and its dataflow there
    (``picked``), and the buffer needs (ifmap, filter, ofmap bytes)."""
    mode, pipelined, groups = way
    core_busy = 0.0  # cycles on the TT-core engine that do not depend on this pass's activations
    if has_core and mode != "recompute":
        for s, (x, _) in zip(steps, picked, strict=True):
            if chain.steps[s].kind == "core":
                core_busy += (x[0] + x[1]) + x[2]
    cost, work, dram = costed.cost, costed.work, costed.dram
    dataflows: list[str] = []
    step_cycles: list[float] = []
    step_energy: list[float] = []
    for s, (x, dataflow) in zip(steps, picked, strict=True):
        kind = chain.steps[s].kind
        runs = n_i if kind in ("token", "reduce") or (kind == "core" and mode == "recompute") else 1.0
        # (the bits of the step's cycles and energy_pj at its column)
        step_cycles.append(((x[0] + x[1]) + x[2]) * runs)
        step_energy.append((((x[3] + x[4]) + x[5]) + x[6]) * runs)
        dataflows.append(dataflow)
    return SegmentResult(
        steps=steps,
        cost=cost,
        tile=tiles[i],
        n_tiles=round(n_i),
        merges=mode,
        dataflows=tuple(dataflows),
        dram_bytes=dram,
        work_cycles=work,
        need_bytes=need_bytes,
        step_cycles=tuple(step_cycles),
        step_energy_pj=tuple(step_energy),
        pipelined=pipelined,
        engines=tuple(groups.get(s, 0) if pipelined else n_engines for s in steps),
        core_cycles=core_busy,
    )


_ENERGY_END = STACKED_FIELDS.index("ofmap_pj") + 1
assert STACKED_FIELDS[:_ENERGY_END] == ("compute", "fill", "shaping", "mac_pj", "ifmap_pj", "filter_pj", "ofmap_pj")


def _price_steps(
    chain: Chain,
    steps: tuple[int, ...],
    hw: Hardware,
    core_hw: Hardware | None,
    inside: frozenset[int],
    tiles: tuple[int, ...],
    groups: dict[int, int],
    pipelined: bool,
    n_engines: int,
    objective: str,
    tail: tuple[Any, ...],
) -> tuple[int, FloatArray, list[tuple[list[float], str]]]:
    """What :func:`dse.schedule._price_kernel.segment_kernel` returns, a step at a time
    (:func:`analytical_models.onchip_tiles`, then :func:`~dse.schedule._combine.combine`): the
    path without compiled loops, or on an engine whose steps they cannot price; ``tail``:
    ``combine``'s arguments after the steps' prices and kinds."""
    priced: list[tuple[OnChipTiles, bool]] = []
    step_objective: Literal["latency", "energy"] = "energy" if objective == "energy" else "latency"
    for s in steps:
        st = chain.steps[s]
        a, b = st.operands
        tiled = st.kind in ("token", "reduce")
        on_core = st.kind == "core" and core_hw is not None
        res = onchip_tiles(
            st.gemm,
            st.token_dim if tiled else "",
            chain.tokens,
            tiles if tiled else (chain.tokens,),
            core_hw if on_core and core_hw is not None else hw,
            _buffer_of(chain, a, inside),
            _buffer_of(chain, b, inside),
            engines=groups.get(s, 1) if pipelined else (1 if on_core else n_engines),
            objective=step_objective,
            relayout=False,
        )
        priced.append((res, tiled))
    n_t, fits, *rest = tail
    i, v = combine(
        SegmentTiles(
            n_t, fits, [res.stacked for res, _ in priced], [KIND_CODE[chain.steps[s].kind] for s in steps], *rest
        )
    )
    picked = []
    for res, tiled in priced:
        col = i if tiled else 0
        picked.append((res.stacked[:_ENERGY_END, col].tolist(), res.dataflows[int(res.dataflow[col])]))
    return i, v, picked


@lru_cache(maxsize=1024)
def _segment_scalars(hw: Hardware) -> FloatArray:
    """:func:`dse.schedule._combine.combine`'s scalars of ``hw`` (the segment's bytes left 0;
    read-only)."""
    k = hw_consts(hw)
    out = np.zeros(N_SCALARS)
    out[BW] = k.bw_bytes_per_cycle
    out[IFMAP_WR_PJ_BIT], out[FILTER_WR_PJ_BIT], out[OFMAP_RD_PJ_BIT] = (
        k.ifmap_wr_pj_bit,
        k.filter_wr_pj_bit,
        k.ofmap_rd_pj_bit,
    )
    out[DRAM_PJ_BIT], out[LEAK_PJ_PER_CYCLE], out[NETWORK_PJ_PER_BYTE] = (
        k.dram_pj_bit,
        k.leak_pj_per_cycle,
        network_pj(hw, 1.0),
    )
    out.setflags(write=False)
    return out


def _filter_need(chain: Chain, steps: tuple[int, ...], mode: MergeMode, bpe: float) -> float:
    """Bytes the segment keeps in the filter buffer under merge ``mode`` (:func:`_filter_needs`)."""
    return _filter_needs(chain, steps, bpe)[mode == "store"]


@lru_cache(maxsize=16_384)  # the same segment on every hardware of one element size
def _filter_needs(chain: Chain, steps: tuple[int, ...], bpe: float) -> tuple[float, float]:
    """Bytes the segment keeps in the filter buffer (the same at every token tile) with its
    merges recomputed (or without merges) and with them stored: its token-free external inputs,
    and with stored merges their results instead of the cores they merge."""
    token_free_ext = [x for x in segment_tensors(chain, steps)[1] if not chain.tokened[x]]
    recomputed = float(sum(chain.elements[x] * bpe for x in token_free_ext))
    merges = [chain.steps[s] for s in steps if chain.steps[s].kind == "core"]
    if not merges:
        return recomputed, recomputed
    merge_inputs = {x for st in merges for x in (st.lhs, st.rhs)}
    kept = [x for x in token_free_ext if x not in merge_inputs]
    kept += [st.out for st in merges if st.out not in merge_inputs]
    return recomputed, float(sum(chain.elements[x] * bpe for x in kept))
