"""The spill sets of one tree and their bounds, in one compiled call per tree
(:mod:`dse.schedule._bounds_kernel`): what the call reads of a tree (:class:`BoundInputs`, from
its chain; from a network's merge table without one: :mod:`dse.schedule._merge_table`), and the
bounds it returns (:class:`SpillSets`), the same bits as the Python functions of
:mod:`dse.schedule._bounds`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from analytical_models import (
    HARDWARE_CACHE_ENTRIES,
    Gemm,
    Hardware,
    busy_floor,
    compiled_module,
    hw_consts,
    untiled_cycles,
)
from dse.schedule._bounds import (
    Key,
    SegmentBound,
    SegmentBounds,
    _core_array,
    _dram_fed_bound,
    _group_bound,
    _grouped,
    _set_bound,
    _spill_sets,
    _tile_cycles,
    _tiles_array,
)
from dse.schedule._chain import Chain
from dse.schedule._segment import _FIT_SLACK, engines_of

BOUNDS_KERNEL = "dse.schedule._bounds_kernel"
"""The compiled spill-set bounds' module (:func:`analytical_models.compiled_module`)."""


class SpillSets(NamedTuple):
    """The spill sets a tree's search tries and their bounds (:func:`spill_set_bounds`)."""

    sets: tuple[frozenset[int], ...]
    """In :func:`_spill_sets` order: "all" left out under ``fused`` (when there are
    intermediates), only "all" under ``unfused``."""
    keys: list[Key]
    """Each set's :func:`_set_bound`."""
    bounds: SegmentBounds
    """:func:`_group_bound` of every segment of the sets, by its steps."""


GemmKey = tuple[int, int, int, int, int, int, int]
"""A GEMM's fields: ``m, n, k, batch, permute_a_elements, permute_b_elements,
permute_c_elements`` (as :attr:`dse.contraction.MergeStep.gemm` lists them)."""


def gemm_key(g: Gemm) -> GemmKey:
    """:data:`GemmKey` of ``g``."""
    return g.m, g.n, g.k, g.batch, g.permute_a_elements, g.permute_b_elements, g.permute_c_elements


class BoundInputs(NamedTuple):
    """What the compiled spill-set bounds read of one tree (:func:`bounds_of`), read off its
    chain (:func:`bound_inputs`; a tree the search takes without a chain is bounded from its
    network's merge table in one call instead: :func:`dse.schedule._merge_table.tree_spill_sets`)."""

    consumers: tuple[int, ...]
    """:attr:`Chain.consumers`."""
    n_inputs: int
    tokens: int
    tensors: NDArray[np.int64]
    """``(tensors, 2)``: every tensor's elements and whether it carries tokens (read-only)."""
    steps: NDArray[np.int64]
    """``(steps, 5)``: every step's operands, result, kind (:data:`KIND_CODE`) and MACs."""
    step_f: NDArray[np.float64]
    """``(steps, 6)``: every step's :func:`step_terms`."""
    fold_t: NDArray[np.float64]
    """``(steps, tiles)``: every token and reduce step's fold time at each candidate token tile
    (:func:`_tile_cycles`; zeros for the others)."""
    keys: tuple[GemmKey, ...]
    """Every step's GEMM fields (:func:`gemm_key`)."""
    core: tuple[bool, ...]
    """Whether each step merges cores (kind ``core``)."""


def bound_inputs(chain: Chain, hw: Hardware) -> BoundInputs:
    """:class:`BoundInputs` of ``chain`` on ``hw``."""
    engines = engines_of(hw)
    step_f = np.array([_step_terms(st.gemm, st.kind, hw, engines) for st in chain.steps]).reshape(-1, 6)
    tensors, steps = _chain_arrays(chain)
    folds = [fold_times(st.gemm, st.kind, st.token_dim, chain.tokens, hw, engines) for st in chain.steps]
    return BoundInputs(
        chain.consumers,
        chain.n_inputs,
        chain.tokens,
        tensors,
        steps,
        step_f,
        fold_table(folds, chain.tokens),
        tuple(gemm_key(st.gemm) for st in chain.steps),
        tuple(st.kind == "core" for st in chain.steps),
    )


def spill_set_bounds(
    chain: Chain,
    hw: Hardware,
    objective: str,
    execution: str,
    singles: dict[int, SegmentBound] | None = None,
) -> SpillSets:
    """Every spill set of ``chain`` that the search under ``execution`` tries, with its
    :func:`_set_bound` and the :func:`_group_bound` of its segments: in one compiled call
    (:func:`bounds_of`, the same bits as the Python functions) unless
    :data:`analytical_models.NO_JIT_ENV` is set. ``singles``: tighter lower bounds of some
    steps fed from DRAM, by step (e.g. their priced cost less a margin): each such step's bound
    is the larger of the two, in its segment's bound and in every spill set's."""
    if compiled_module(BOUNDS_KERNEL) is not None:
        return bounds_of(bound_inputs(chain, hw), hw, objective, execution, singles)
    shape = _set_shape(chain.consumers, chain.n_inputs, _mode(execution))
    bounds = {g: _group_bound(chain, g, hw, objective) for g in shape.groups}
    for s, tighter in (singles or {}).items():
        if (s,) in bounds:
            bounds[s,] = _larger(bounds[s,], tighter)
    return SpillSets(shape.sets, [_set_bound(chain, s, hw, objective, execution, bounds) for s in shape.sets], bounds)


def _mode(execution: str) -> str:
    return execution if execution in ("fused", "unfused") else "auto"


def bounds_of(
    tree: BoundInputs,
    hw: Hardware,
    objective: str,
    execution: str,
    singles: dict[int, SegmentBound] | None = None,
) -> SpillSets:
    """:func:`spill_set_bounds` of the tree ``tree`` describes, in one compiled call
    (:func:`dse.schedule._bounds_kernel.set_bounds`); the compiled module must be available."""
    kernel = compiled_module(BOUNDS_KERNEL)
    assert kernel is not None, "bounds_of needs the compiled bounds"
    shape = _set_shape(tree.consumers, tree.n_inputs, _mode(execution))
    step_f = tree.step_f
    if singles:
        step_f = step_f.copy()
        for s, tighter in singles.items():
            step_f[s, 3:6] = _larger(_row_bound(step_f, s), tighter)
    got, sums = kernel.set_bounds(
        shape.group_table,
        shape.group_len,
        shape.set_table,
        tree.tensors.copy(),  # (writable, as tree_set_bounds passes them: one compiled signature)
        tree.steps.copy(),
        step_f,
        tree.fold_t,
        _tiles_array(tree.tokens),
        _hw_scalars(hw, engines_of(hw), tree.tokens),
    )
    return SpillSets(shape.sets, _bound_keys(sums, objective, execution), _GroupBounds(shape.group_index, got.tolist()))


def _larger(a: SegmentBound, b: SegmentBound) -> SegmentBound:
    """The larger of two lower bounds, term by term (each is a bound)."""
    return max(a[0], b[0]), max(a[1], b[1]), max(a[2], b[2])


def _row_bound(step_f: NDArray[np.float64], s: int) -> SegmentBound:
    c, e, d = step_f[s, 3:6].tolist()
    return c, e, d


def fold_times(
    g: Gemm, kind: str, token_dim: str, tokens: int, hw: Hardware, engines: int
) -> NDArray[np.float64] | None:
    """A step's row of :attr:`BoundInputs.fold_t` (None for a step that is not a token or reduce
    step)."""
    return _tile_cycles(g, token_dim, tokens, hw, engines) if kind in ("token", "reduce") else None


def fold_table(rows: Sequence[NDArray[np.float64] | None], tokens: int) -> NDArray[np.float64]:
    """:attr:`BoundInputs.fold_t` of the steps' :func:`fold_times`."""
    out = np.zeros((len(rows), _tiles_array(tokens).size))
    for i, row in enumerate(rows):
        if row is not None:
            out[i] = row
    return out


def _bound_keys(sums: NDArray[np.float64], objective: str, execution: str) -> list[Key]:
    """:func:`_bound_tuple` of every row ``(cycles, energy_pj, dram_bytes)`` of ``sums`` (the
    same products, in float64)."""
    return list(zip(*(x.tolist() for x in _key_columns(sums, objective, execution)), strict=True))


def _key_columns(sums: NDArray[np.float64], objective: str, execution: str) -> list[NDArray[np.float64]]:
    """The terms of :func:`_bound_tuple` of every row of ``sums``, as columns in key order."""
    c, e, d = sums[:, 0], sums[:, 1], sums[:, 2]
    if objective == "energy":
        cols = [e, c]
    elif objective == "edp":
        cols = [c * e, c]
    else:
        cols = [c, e]
    if execution == "fused":
        cols.insert(0, d)
    return cols


class _GroupBounds(Mapping[tuple[int, ...], SegmentBound]):
    """The segment bounds of :func:`spill_set_bounds` by steps, read from the compiled call's
    rows as they are asked for (most segments of a tree never are)."""

    __slots__ = ("_index", "_rows")

    def __init__(self, index: dict[tuple[int, ...], int], rows: list[list[float]]) -> None:
        self._index = index
        self._rows = rows

    def __getitem__(self, steps: tuple[int, ...]) -> SegmentBound:
        c, e, d = self._rows[self._index[steps]]
        return c, e, d

    def get(self, steps: tuple[int, ...], default: SegmentBound | None = None) -> SegmentBound | None:  # type: ignore[override]
        i = self._index.get(steps)
        if i is None:
            return default
        c, e, d = self._rows[i]
        return c, e, d

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


class _SetShape(NamedTuple):
    sets: tuple[frozenset[int], ...]
    groups: tuple[tuple[int, ...], ...]
    group_index: dict[tuple[int, ...], int]
    group_table: NDArray[np.int64]
    group_len: NDArray[np.int64]
    set_table: NDArray[np.int64]


@lru_cache(maxsize=1024)  # trees of one shape share it, whatever their sizes
def _set_shape(consumers: tuple[int, ...], n_inputs: int, mode: str) -> _SetShape:
    """The spill sets of a tree of this shape under ``mode``, the distinct segments they make
    (first seen first, also as a padded array of steps) and each set's segments
    (:func:`_segments` order) as a padded array of indices into them (-1 ends a row), what the
    compiled bounds read."""
    inter = tuple(range(n_inputs, n_inputs + len(consumers) - 1))
    everything = frozenset(inter)
    sets = list(_spill_sets(inter)) if mode != "unfused" else [everything]
    if mode == "fused" and inter:
        sets.remove(everything)
    index: dict[tuple[int, ...], int] = {}
    rows = tuple(
        tuple(index.setdefault(g, len(index)) for g in _grouped(consumers, n_inputs, spilled)) for spilled in sets
    )
    groups = tuple(index)
    group_table = np.full((len(groups), max(map(len, groups), default=1)), -1, dtype=np.int64)
    for i, g in enumerate(groups):
        group_table[i, : len(g)] = g
    set_table = np.full((len(rows), max(map(len, rows), default=1) + 1), -1, dtype=np.int64)
    for i, row in enumerate(rows):
        set_table[i, : len(row)] = row
    group_len = np.array([len(g) for g in groups], dtype=np.int64)
    for a in (group_table, group_len, set_table):
        a.setflags(write=False)
    return _SetShape(tuple(sets), groups, index, group_table, group_len, set_table)


KIND_CODE = {"token": 0, "reduce": 1, "core": 2, "post": 3}
"""Step kinds as the compiled bounds read them (:data:`dse.schedule._bounds_kernel.TOKEN` ...)."""


def _chain_arrays(chain: Chain) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """A chain's tensors and steps as the compiled bounds read them (:class:`BoundInputs`). Not
    cached: a chain is bounded once per search, and a cache would hash every new chain (most
    are never priced)."""
    steps = [(st.lhs, st.rhs, st.out, KIND_CODE[st.kind], st.gemm.macs) for st in chain.steps]
    return bound_arrays(chain.elements, chain.tokened, steps)


def bound_arrays(
    elements: Sequence[int], tokened: Sequence[bool], steps: list[tuple[int, int, int, int, int]]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """:attr:`BoundInputs.tensors` and :attr:`BoundInputs.steps` (read-only) of a tree's
    tensors' elements and token flags and its steps' ``(lhs, rhs, out, kind code, MACs)``."""
    tensors = np.array([elements, tokened], dtype=np.int64).T.copy()
    table = np.array(steps, dtype=np.int64).reshape(-1, 5)
    for a in (tensors, table):
        a.setflags(write=False)
    return tensors, table


StepTerms = tuple[float, float, float, float, float, float]


@lru_cache(maxsize=HARDWARE_CACHE_ENTRIES)  # the passes of a layer share many of their steps' GEMMs
def _step_terms(
    g: Gemm, kind: str, hw: Hardware, engines: int, busy: float | None = None, one: float | None = None
) -> StepTerms:
    """:func:`step_terms`, cached."""
    return step_terms(g, kind, hw, engines, busy, one)


def step_terms(
    g: Gemm, kind: str, hw: Hardware, engines: int, busy: float | None = None, one: float | None = None
) -> StepTerms:
    """What the compiled bounds take of one step making ``g`` on ``hw`` (``engines`` arrays): its
    :func:`_hideable_busy_bound`, its untiled fold time on one array (a token or reduce step on
    an engine of several arrays; else 0), its :func:`busy_floor` on the TT-core engine it runs on
    (-1.0: none) and its :func:`_unfused_bound`, all in cycles but the bound's pJ and bytes.
    ``busy`` and ``one``: ``g``'s :func:`busy_floor` and :func:`untiled_cycles` on one array when
    the caller has them (e.g. from :func:`untiled_cycles_table`; computed otherwise)."""
    core = _core_array(hw) if kind == "core" else None
    if core is None and busy is None:
        busy = busy_floor(g, hw)
    floor = busy if core is None and busy is not None else 0.0
    staged = engines > 1 and kind in ("token", "reduce")
    one = (untiled_cycles(g, hw) if one is None else one) if staged else 0.0
    on_core = busy_floor(g, core) if core is not None else -1.0
    return (floor, one, on_core, *_dram_fed_bound(g, kind == "core", hw, busy))


@lru_cache(maxsize=4096)
def _hw_scalars(hw: Hardware, engines: int, tokens: int) -> NDArray[np.float64]:
    """The compiled bounds' hardware scalars (:data:`dse.schedule._bounds_kernel.N_SCALARS`)."""
    k = hw_consts(hw)
    slack = 1.0 + _FIT_SLACK
    out = np.array(
        [
            hw.filter_sram_kb * 1024.0 * slack,
            hw.ifmap_sram_kb * 1024.0 * slack,
            hw.ofmap_sram_kb * 1024.0 * slack,
            hw.dram_bw_bytes_per_cycle,
            engines,
            k.bytes_per_el,
            k.acc_bytes,
            k.mac_pj,
            k.dram_pj_bit,
            float(tokens),
            hw.ifmap_sram_kb * 1024.0,
        ]
    )
    out.setflags(write=False)
    return out
