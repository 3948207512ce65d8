"""Lower bounds of schedules: of one step fed from DRAM, of a fused segment, of a spill set and
of a tree's busy cycles, each without pricing (what :mod:`dse.schedule._search` orders and
prunes by). Every bound is at most the cost the pricing finds (the tests check it); sums that
the pricing associates differently carry a relative margin of 1e-9."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import combinations
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from analytical_models import (
    HARDWARE_CACHE_ENTRIES,
    ArrayEngine,
    Gemm,
    Hardware,
    ModelInputError,
    busy_floor,
    compiled_module,
    dram_fed_bytes,
    dram_fed_floor,
    get_engine,
    hw_consts,
    untiled_cycles,
    untiled_cycles_table,
)
from dse.schedule._chain import Chain, ChainStep
from dse.schedule._segment import (
    _FIT_SLACK,
    _filter_needs,
    engines_of,
    segment_floor_terms,
    tile_candidates,
)
from dse.schedule._streams import STREAMED_RUNS, _stream_inputs, _streams

EXACT_SPILL_LIMIT = 4
"""Plans with at most this many intermediates try every spill set."""

Key = tuple[float, ...]


def _bound_tuple(cycles: float, energy: float, dram: float, objective: str, execution: str) -> Key:
    if objective == "energy":
        key: Key = (energy, cycles)
    elif objective == "edp":
        key = (cycles * energy, cycles)
    else:
        key = (cycles, energy)
    return (dram, *key) if execution == "fused" else key


def step_array(chain: Chain, s: int, hw: Hardware) -> tuple[Hardware, bool]:
    """The hardware step ``s`` runs on: a template's TT-core engine for a core merge (True),
    else ``hw`` itself (False)."""
    if chain.steps[s].kind == "core":
        core = _core_array(hw)
        if core is not None:
            return core, True
    return hw, False


def _core_array(hw: Hardware) -> Hardware | None:
    """The template's TT-core engine as an array of its own, None when it has none."""
    engine = get_engine(hw.engine)
    return engine.core_array(hw) if isinstance(engine, ArrayEngine) else None


def _unfused_bound(chain: Chain, s: int, hw: Hardware, objective: str) -> tuple[float, float, float]:
    """A lower bound of ``(cycles, energy_pj, dram_bytes)`` of step ``s`` fed from DRAM: its
    :func:`analytical_models.dram_fed_floor` (0 for a core merge a TT-core engine hides), its
    MAC energy and its :func:`analytical_models.dram_fed_bytes` (and their DRAM energy). The
    same for every chain making the same GEMM (:func:`_step_bound`, cached)."""
    st = chain.steps[s]
    return _step_bound(st.gemm, st.kind == "core", hw)


@lru_cache(maxsize=HARDWARE_CACHE_ENTRIES)  # trees of a network share most of their steps' GEMMs
def _step_bound(g: Gemm, core_merge: bool, hw: Hardware) -> tuple[float, float, float]:
    """:func:`_unfused_bound` of a step making ``g`` (``core_merge``: a step of kind ``core``,
    which runs on a TT-core engine when the template has one, see :func:`step_array`)."""
    return _dram_fed_bound(g, core_merge, hw, None)


def _dram_fed_bound(g: Gemm, core_merge: bool, hw: Hardware, busy: float | None) -> tuple[float, float, float]:
    """:func:`_step_bound` (``busy``: :func:`busy_floor` of ``g`` when the caller has it)."""
    consts = hw_consts(hw)
    moved = dram_fed_bytes(g, hw)
    on_core = core_merge and _core_array(hw) is not None
    cycles = 0.0 if on_core else dram_fed_floor(g, hw, busy=busy)
    energy = g.macs * consts.mac_pj + moved * 8.0 * consts.dram_pj_bit
    return cycles, energy, moved


def _has_core_array(hw: Hardware) -> bool:
    """The engine runs core merges on an array of its own (a TT-core engine) or cannot say."""
    engine = get_engine(hw.engine)
    if not isinstance(engine, ArrayEngine):
        return False
    try:
        return engine.core_array(hw) is not None
    except ModelInputError:
        return True  # (pricing a core merge raises it: keep the plan path that does)


def pipelined_floor(floors: list[float], one_engine: list[float], engines: int) -> float:
    """Cycles no pipeline of steps over groups of ``engines`` arrays runs below (token tiles
    flowing through one group per step, as a fused segment of a ``ce_array`` may): its longest
    step alone (``floors``: each step's untiled fold time on every array) or the steps' work on
    one array (``one_engine``, the same on one) spread over all arrays, whichever is larger.
    Groups of fewer arrays than ``engines`` let steps overlap, so the sum of ``floors`` does not
    bound a pipeline; this does, as every array runs one step at a time and a step's work on
    its group is never below its work on one array."""
    return max(max(floors, default=0.0), sum(one_engine) / engines)


def busy_bound(chain: Chain, steps: Sequence[int], hw: Hardware, *, one_segment: bool) -> float:
    """Busy cycles (those a schedule's key counts) no schedule of ``steps`` runs below: the sum
    of their :func:`_hideable_busy_bound`, or, on an engine of several arrays, its token and
    reduce steps (the stages a fused segment may pipeline over engine groups) at their
    :func:`pipelined_floor` beside the sum of the others, when smaller. ``one_segment``: the
    steps are one fused segment, pipelined only with 2 to ``engines`` stages; else any
    segmentation (the floor over all stages is below that of any split of them)."""
    floors = [_hideable_busy_bound(chain, s, hw) for s in steps]
    engines = engines_of(hw)
    if engines == 1:
        return sum(floors)
    stage = [chain.steps[s].kind in ("token", "reduce") for s in steps]
    if one_segment and sum(stage) > engines:
        return sum(floors)
    one = [untiled_cycles(chain.steps[s].gemm, hw) if st else 0.0 for s, st in zip(steps, stage, strict=True)]
    return staged_floor(floors, one, stage, engines)


def staged_floor(floors: list[float], one_engine: list[float], stage: list[bool], engines: int) -> float:
    """The sum of ``floors``, or, with two stages or more, the others' sum plus the stages'
    :func:`pipelined_floor` (``one_engine`` read for the stages only), whichever is smaller."""
    total = sum(floors)
    if sum(stage) < 2:
        return total
    serial = sum(f for f, st in zip(floors, stage, strict=True) if not st)
    piped = [i for i, st in enumerate(stage) if st]
    return min(total, serial + pipelined_floor([floors[i] for i in piped], [one_engine[i] for i in piped], engines))


def staged_floors(
    floors: NDArray[np.float64], one_engine: NDArray[np.float64], stage: NDArray[np.bool_], engines: int
) -> NDArray[np.float64]:
    """:func:`staged_floor` of every row of ``floors`` (``(R, C)``; ``one_engine`` and ``stage``
    the same shape) at once, the same bits: each of its sums taken left to right, as Python's
    ``sum`` takes the row's list (a step left out of a sum adds 0.0, which changes no sum of
    cycles), its maxima and minimum exact; in one compiled loop
    (:func:`dse.schedule._floor_kernel.staged_floors_kernel`) unless loops are not compiled."""
    kernel = compiled_module("dse.schedule._floor_kernel")
    if kernel is not None:
        if floors.shape[0] == 0:
            return np.zeros(0)
        got: NDArray[np.float64] = kernel.staged_floors_kernel(
            np.ascontiguousarray(floors, dtype=np.float64),
            np.ascontiguousarray(one_engine, dtype=np.float64),
            np.ascontiguousarray(stage, dtype=np.bool_),
            engines,
        )
        return got
    rows, cols = floors.shape
    total, serial, spread = np.zeros(rows), np.zeros(rows), np.zeros(rows)
    longest = np.full(rows, -np.inf)
    for j in range(cols):
        f, st = floors[:, j], stage[:, j]
        total = total + f
        serial = serial + np.where(st, 0.0, f)
        spread = spread + np.where(st, one_engine[:, j], 0.0)
        longest = np.maximum(longest, np.where(st, f, -np.inf))
    piped = serial + np.maximum(longest, spread / engines)
    out: NDArray[np.float64] = np.where(stage.sum(axis=1) < 2, total, np.minimum(total, piped))
    return out


def _hideable_busy_bound(chain: Chain, s: int, hw: Hardware) -> float:
    """:func:`busy_floor` of step ``s`` on its array; 0 for a core merge on a TT-core
    engine (it may be hidden behind the pass before)."""
    array, on_core = step_array(chain, s, hw)
    return 0.0 if on_core else busy_floor(chain.steps[s].gemm, array)


def _group_bound(chain: Chain, steps: tuple[int, ...], hw: Hardware, objective: str) -> tuple[float, float, float]:
    """A lower bound of ``(cycles, energy_pj, dram_bytes)`` of one segment, without pricing it:
    a step fed from DRAM's :func:`_unfused_bound`; for a fused segment its steps at their
    untiled fold time (:func:`busy_bound`: a pipeline's floor when its token and reduce steps
    may run over engine groups; when its core merges cannot be stored, the steps in sequence
    with the merges run once per token tile, on an engine without a TT-core array), plus the
    DRAM time no schedule hides (:func:`~dse.schedule._segment.segment_floor_terms`), or its
    external tensors moved once over the bandwidth when no step runs on a TT-core engine; its
    MAC energy (recomputed merges once per tile) and those tensors' DRAM energy; infinite
    when it cannot fit the buffers (:func:`~dse.schedule._segment.segment_floor_terms` is None).
    The cycles are no less than the segment's :func:`tiled_floor` (infinite when no token tile
    fits). The sums carry a relative margin of 1e-9 where the pricing associates them
    differently."""
    if len(steps) == 1:
        return _unfused_bound(chain, steps[0], hw, objective)
    return _fused_bound(chain, steps, hw)


@lru_cache(maxsize=HARDWARE_CACHE_ENTRIES)  # a segment recurs in many spill sets of one chain
def _fused_bound(chain: Chain, steps: tuple[int, ...], hw: Hardware) -> tuple[float, float, float]:
    """:func:`_group_bound` of a segment of several steps."""
    terms = segment_floor_terms(chain, steps, hw)
    if terms is None:
        return math.inf, math.inf, math.inf
    exposed, reruns = terms
    consts = hw_consts(hw)
    bpe = consts.bytes_per_el
    c = busy_bound(chain, steps, hw, one_segment=True)
    merges = [s for s in steps if chain.steps[s].kind == "core"]
    on_core = [step_array(chain, s, hw)[1] for s in steps]
    if reruns > 1.0 and not any(on_core):  # every merge runs once per tile, nothing overlaps
        floors = {s: _hideable_busy_bound(chain, s, hw) for s in steps}
        c = max(c, sum(floors.values()) + (reruns - 1.0) * sum(floors[s] for s in merges))
    elif reruns > 1.0:  # merges recomputed on the TT-core engine, once per tile: the token loop waits for them
        core = _core_array(hw)
        assert core is not None
        c = max(c, reruns * sum(busy_floor(chain.steps[s].gemm, core) for s in merges) * (1.0 - 1e-9))
    c += exposed / hw.dram_bw_bytes_per_cycle * (1.0 - 1e-9)
    outs = {chain.steps[s].out for s in steps}
    ext = {x for s in steps for x in (chain.steps[s].lhs, chain.steps[s].rhs)} - outs
    d = (sum(chain.elements[x] for x in ext) + chain.elements[chain.steps[steps[-1]].out]) * bpe
    if not any(on_core):
        # (the key does not count a TT-core engine's cycles, which may carry the traffic)
        c = max(c, d / hw.dram_bw_bytes_per_cycle)
    tiled = tiled_floor(chain, steps, hw)
    if tiled == math.inf:
        return math.inf, math.inf, math.inf
    c = max(c, tiled)
    macs = sum(chain.steps[s].gemm.macs for s in steps) + (reruns - 1.0) * sum(chain.steps[s].gemm.macs for s in merges)
    e = macs * consts.mac_pj * (1.0 - 1e-9) + d * 8.0 * consts.dram_pj_bit
    return c, e, d


def _set_bound(
    chain: Chain,
    spilled: frozenset[int],
    hw: Hardware,
    objective: str,
    execution: str,
    bounds: SegmentBounds | None = None,
) -> Key:
    """A lower bound of the key of spill set ``spilled``: the sum of its segments'
    :func:`_group_bound` (infinite when a fused segment cannot fit), or of their ``bounds``."""
    c = e = d = 0.0
    for steps in _segments(chain, spilled):
        bc, be, bd = _group_bound(chain, steps, hw, objective) if bounds is None else bounds[steps]
        c += bc
        e += be
        d += bd
    return _bound_tuple(c, e, d, objective, execution)


def _spill_sets(inter: tuple[int, ...]) -> Iterator[frozenset[int]]:
    """Spill sets to try, fewest spills first (the empty set first, "all" last)."""
    n = len(inter)
    if n <= EXACT_SPILL_LIMIT:
        for size in range(n + 1):
            for combo in combinations(inter, size):
                yield frozenset(combo)
        return
    yield frozenset()
    for x in inter:
        yield frozenset({x})
    for x in inter:
        yield frozenset(inter) - {x}
    yield frozenset(inter)


def _segments(chain: Chain, spilled: frozenset[int]) -> list[tuple[int, ...]]:
    """Steps grouped into segments: a step joins its consumer's segment unless its result spills."""
    return list(_grouped(chain.consumers, chain.n_inputs, spilled))


@lru_cache(maxsize=4096)  # trees of one shape share it, whatever their sizes
def _grouped(consumers: tuple[int, ...], n_inputs: int, spilled: frozenset[int]) -> tuple[tuple[int, ...], ...]:
    group = list(range(len(consumers)))

    def find(s: int) -> int:
        while group[s] != s:
            group[s] = group[group[s]]
            s = group[s]
        return s

    for s, c in enumerate(consumers[:-1]):
        if n_inputs + s not in spilled:
            group[find(s)] = find(c)
    members: dict[int, list[int]] = {}
    for s in range(len(consumers)):
        members.setdefault(find(s), []).append(s)
    return tuple(sorted((tuple(m) for m in members.values()), key=lambda m: m[-1]))


SegmentBound = tuple[float, float, float]
SegmentBounds = Mapping[tuple[int, ...], SegmentBound]
"""Segment bounds by their steps."""


@lru_cache(maxsize=1024)
def _tiles_array(tokens: int) -> NDArray[np.float64]:
    out = np.array(tile_candidates(tokens), dtype=np.float64)
    out.setflags(write=False)
    return out


_DIM_COLUMN = {"batch": 0, "m": 1, "n": 2, "k": 3}


@lru_cache(maxsize=HARDWARE_CACHE_ENTRIES)  # the trees of a network share most of their steps' GEMMs
def _tile_cycles(g: Gemm, token_dim: str, tokens: int, hw: Hardware, engines: int) -> NDArray[np.float64]:
    """:func:`analytical_models.untiled_cycles` of ``g`` cut to every candidate token tile
    (:func:`~dse.schedule._segment.tile_candidates`): the fewest cycles one tile of the step runs
    in on ``engines`` arrays (its token dimension scaled and rounded as
    :func:`analytical_models.onchip_tiles` scales it), one per tile (read-only)."""
    t = np.asarray(tile_candidates(tokens), dtype=np.float64)
    dims = np.tile(np.array([[g.batch, g.m, g.n, g.k]], dtype=np.int64), (t.size, 1))
    if token_dim:
        col = _DIM_COLUMN[token_dim]
        dims[:, col] = np.round(float(dims[0, col]) * (t / float(tokens))).astype(np.int64)
    out = untiled_cycles_table(dims, hw, engines=engines)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=HARDWARE_CACHE_ENTRIES)  # a segment recurs in many spill sets of one chain
def tiled_floor(chain: Chain, steps: tuple[int, ...], hw: Hardware) -> float:
    """Cycles (less those a TT-core engine hides) no schedule of the fused segment ``steps``
    runs below, over the token tiles it may run at: at each candidate tile whose buffer needs
    may fit (1e-9 margin), every token and reduce step's fold time on that tile times the tiles,
    the core merges once (or once per tile when storing them cannot fit the filter buffer;
    overlapped with the token loop on a TT-core engine), the post steps once, plus the DRAM time
    no schedule hides at that tile (the first tile's streamed inputs, the first step's cores, the
    last result tile); the least over the tiles, with a relative margin of 1e-9. Tighter than
    :func:`_fused_bound` when the buffers force small tiles (each pays its folds' fill and
    drain). 0 when the segment may be pipelined over engine groups (not bounded here); infinite
    when no tile fits."""
    engines = engines_of(hw)
    st = [chain.steps[s] for s in steps]
    stages = [x for x in st if x.kind in ("token", "reduce")]
    if engines > 1 and 2 <= len(stages) <= engines:
        return 0.0
    k = hw_consts(hw)
    bpe = k.bytes_per_el
    tokens = chain.tokens
    kernel = compiled_module("dse.schedule._floor_kernel")
    if kernel is not None:
        return _tiled_floor_compiled(kernel, chain, steps, hw, engines) * (1.0 - 1e-9)
    tiles = tile_candidates(tokens)
    io = _streams(chain, steps, hw, tiles)
    if io is None:
        return math.inf
    slack = 1.0 + _FIT_SLACK
    ofmap = io.ofmap[False]
    fits = (io.ifmap_need <= hw.ifmap_sram_kb * 1024.0 * slack) & (ofmap <= hw.ofmap_sram_kb * 1024.0 * slack)
    if not fits.any():
        return math.inf
    core = _core_array(hw)
    fold_times, merges, post = _step_times(st, tokens, hw, engines)
    loop = np.zeros_like(io.t)
    for times in fold_times:
        loop = loop + times
    stored = _filter_needs(chain, steps, bpe)[1] <= hw.filter_sram_kb * 1024.0 * slack
    if stored:  # merges once, before the loop (hidden on a TT-core engine)
        busy = io.n_t * loop + (0.0 if core is not None else merges) + post
    elif core is not None:  # recomputed on the TT-core engine beside the token loop
        busy = io.n_t * np.maximum(loop, merges) + post
    else:
        busy = io.n_t * (loop + merges) + post
    e_in, e_out = io.e_in[0], io.e_out  # (the first step's cores)
    cycles = busy + (e_in + e_out) / hw.dram_bw_bytes_per_cycle
    return float(cycles[fits].min()) * (1.0 - 1e-9)


def _step_times(
    st: list[ChainStep], tokens: int, hw: Hardware, engines: int
) -> tuple[list[NDArray[np.float64]], float, float]:
    """What :func:`tiled_floor` counts of a segment's steps: each token and reduce step's fold
    time at every candidate token tile, and the core merges' and post steps' untiled cycles
    (the merges on the TT-core engine when there is one), summed in step order."""
    core = _core_array(hw)
    fold_times: list[NDArray[np.float64]] = []
    merges = post = 0.0
    for x in st:
        if x.kind in ("token", "reduce"):
            fold_times.append(_tile_cycles(x.gemm, x.token_dim, tokens, hw, engines))
        elif x.kind == "core":
            merges += untiled_cycles(x.gemm, core) if core is not None else untiled_cycles(x.gemm, hw, engines=engines)
        else:
            post += untiled_cycles(x.gemm, hw, engines=engines)
    return fold_times, merges, post


def _tiled_floor_compiled(
    kernel: ModuleType, chain: Chain, steps: tuple[int, ...], hw: Hardware, engines: int
) -> float:
    """:func:`tiled_floor` before its margin, from the compiled loop
    (:func:`dse.schedule._floor_kernel.tiled_floor_kernel`): the segment's tensors and ofmap
    lines as the numpy path reads them (:func:`~dse.schedule._streams._stream_inputs`), its
    steps' fold times."""
    k = hw_consts(hw)
    bpe = k.bytes_per_el
    tokens = chain.tokens
    st = [chain.steps[s] for s in steps]
    got = _stream_inputs(chain, steps, bpe, k.acc_bytes)
    out_bytes = got.run(STREAMED_RUNS)[0]  # (the result's bytes)
    core = _core_array(hw)
    fold_times, merges, post = _step_times(st, tokens, hw, engines)
    t = _tiles_array(tokens)
    slack = 1.0 + _FIT_SLACK
    return float(
        kernel.tiled_floor_kernel(
            t,
            float(tokens),
            got.run(0),  # (the streamed inputs)
            got.run(1),  # (the first step's cores)
            float(out_bytes),
            bool(got.flags[0]),
            got.run(3),  # (the reduce accumulators, and their token flags)
            got.flags[3:],
            got.lines,
            np.stack(fold_times) if fold_times else np.zeros((0, t.size)),
            merges,
            post,
            _filter_needs(chain, steps, bpe)[1] <= hw.filter_sram_kb * 1024.0 * slack,
            core is not None,
            hw.ifmap_sram_kb * 1024.0,
            hw.ifmap_sram_kb * 1024.0 * slack,
            hw.ofmap_sram_kb * 1024.0 * slack,
            hw.dram_bw_bytes_per_cycle,
        )
    )
