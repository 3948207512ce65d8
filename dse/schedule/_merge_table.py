"""Every merge of a network's trees as arrays, so that a tree the schedule search takes has its
spill sets bounded from them in one compiled call (:func:`tree_spill_sets`) instead of its
steps read one by one: per network, each merge's step kind, result, MACs, GEMM fields and token
dimension (:func:`merge_table`); per network and hardware, each merge's bound terms and fold
times at every token tile, for all merges at once (:func:`merge_terms`), the same bits as
:func:`~dse.schedule._set_bounds.step_terms` and :func:`~dse.schedule._set_bounds.fold_times`
of the step (tested). From the same tables: a tree's chain (:func:`tree_chain`, each merge's
GEMM made once per network) and its cycle floor on one array (:func:`_tree_cycles_floor`)."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from analytical_models import (
    ArrayEngine,
    Gemm,
    Hardware,
    ModelInputError,
    compiled_module,
    dram_fed_bytes_table,
    dram_fed_floor_table,
    get_engine,
    hw_consts,
    untiled_cycles_table,
    untiled_geometry,
)
from dse.contraction import merge_roles_table
from dse.schedule._bounds import _core_array, _has_core_array, _tiles_array
from dse.schedule._chain import Chain, assemble_chain, chain_of_path
from dse.schedule._search import _PRICED, PricedSingles
from dse.schedule._segment import engines_of
from dse.schedule._set_bounds import (
    BOUNDS_KERNEL,
    KIND_CODE,
    GemmKey,
    SpillSets,
    _bound_keys,
    _GroupBounds,
    _hw_scalars,
    _key_columns,
    _mode,
    _set_shape,
    _SetShape,
)
from dse.schedule._tree_tables import (
    _core_pairs,
    _inputs_tokened,
    _lowerings,
    _pair_arrays,
    _pair_floors,
    _pair_floors_apart,
    _path_consumers,
    _path_merges,
    _path_rows,
    _token_subsets,
    _tree_merges,
)
from dse.workload import TensorNetwork

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
Path = tuple[tuple[int, int], ...]

_INT64_SUMS = 2**61
"""Networks whose index sizes multiply below this have their merges tabled: a sum of three
products of a merge's GEMM dimensions (its DRAM-fed bytes) is then exact in int64."""

_DIM_NAMES = ("batch", "m", "n", "k")
"""The GEMM dimensions by column of ``(batch, m, n, k)`` rows."""


class MergeTable(NamedTuple):
    """Every merge of :func:`~dse.schedule._tree_tables._tree_merges` of one network, as the
    step making it in any tree (``M`` merges; the arrays read-only, the dicts filled as merges
    are read)."""

    out: IntArray
    """``(M, 2)``: the result's elements and whether it carries the token index."""
    kind_macs: IntArray
    """``(M, 2)``: the step's kind (:data:`~dse.schedule._set_bounds.KIND_CODE`) and MACs."""
    dims: IntArray
    """``(M, 4)``: the GEMM's batch, m, n, k."""
    permutes: IntArray
    """``(M, 3)``: its ``permute_*_elements`` (re-laid-out elements of A, B and C)."""
    fields: IntArray
    """``(M, 7)``: each merge's GEMM fields (:func:`~dse.schedule._set_bounds.gemm_key`; read
    as a key by :func:`_key`)."""
    token_column: IntArray
    """``(M,)``: the column of ``dims`` holding the token index (-1: none, or a one-token pass)."""
    inputs: IntArray
    """``(n, 2)``: each input's elements and whether it carries the token index."""
    tokens: int
    roles: IntArray
    """``(M, 6)``: each merge's roles (:meth:`_Roles.of`)."""
    lhs_is_a: list[bool]
    """Whether operand A of each merge is its left subset."""
    keys: dict[int, GemmKey]
    """The merges' GEMM fields read as keys so far (:func:`_key`)."""
    gemms: dict[int, Gemm]
    """The merges' GEMMs made so far (:func:`_gemm`)."""
    steps: dict[int, tuple[bool, bool, str, int, bool]]
    """The merges read as a chain's steps so far (:func:`_step`)."""
    input_elements: tuple[int, ...]
    input_tokened: tuple[bool, ...]


class _Roles:
    """What index names alone say of every merge of a network of these names (:func:`_roles`):
    each merge's :func:`merge_roles` with operand A the right (0) or left (1) subset
    (:func:`~dse.contraction.merge_roles_table`), and its step kind."""

    def __init__(self, inputs: tuple[tuple[str, ...], ...], output: tuple[str, ...]) -> None:
        n = len(inputs)
        pairs = _tree_merges(n)[1]
        table = merge_roles_table(inputs, output, pairs)
        self.roles = np.concatenate(
            [
                table.relayout,
                np.broadcast_to(table.out_tokened, (2, len(pairs)))[:, :, None],
                table.column[:, :, None],
                np.broadcast_to(table.symmetric, (2, len(pairs)))[:, :, None],
            ],
            axis=2,
            dtype=np.int64,
        )
        """``(orientation, merge, (A, B, C re-laid out, result carries tokens, GEMM column,
        symmetric))``."""
        self.at = np.arange(len(pairs))
        tokened, after = _token_subsets(inputs, output)
        a, b = _pair_arrays(n)
        unreduced = np.where(after[a] | after[b], KIND_CODE["post"], KIND_CODE["core"])
        reduced = np.where(tokened[a] | tokened[b], KIND_CODE["reduce"], unreduced)
        self.kind = np.where(tokened[a | b], KIND_CODE["token"], reduced)
        """``(M,)``: the step's kind in every tree that makes it (as
        :func:`~dse.schedule._chain.assemble_chain` finds it step by step, from which input
        subsets carry the token index: :func:`~dse.schedule._tree_tables._token_subsets`)."""
        for x in (self.roles, self.at, self.kind):
            x.setflags(write=False)

    def of(self, lhs_is_a: IntArray) -> IntArray:
        """``(M, 6)``: each merge's roles with operand A its left subset where ``lhs_is_a`` is 1."""
        got: IntArray = self.roles[lhs_is_a, self.at]
        return got


@lru_cache(maxsize=256)  # networks of one format and pass share it, whatever their sizes
def _roles(inputs: tuple[tuple[str, ...], ...], output: tuple[str, ...]) -> _Roles:
    """The :class:`_Roles` of networks of these index names."""
    return _Roles(inputs, output)


@lru_cache(maxsize=4096)  # (a design's few dozen networks, met again in later trials: 1024 evicted 19 % of its misses)
def merge_table(network: TensorNetwork) -> MergeTable | None:
    """The :class:`MergeTable` of ``network``: what :meth:`dse.contraction.MergeLowerings.step`
    and the step kinds of a chain give, for every merge at once.
    None when the network is not enumerated or its sizes multiply to :data:`_INT64_SUMS` or more."""
    got = _lowerings(network)
    if got is None or math.prod(s for _, s in network.sizes) >= _INT64_SUMS:
        return None
    lowered, elements = got
    names = _roles(network.inputs, network.output)
    roles = names.of(np.array(lowered.a_is_lhs, dtype=np.int64))
    sizes = lowered.sizes  # (m, n, k, batch, elements of A, B and C)
    permutes = sizes[:, 4:7] * roles[:, 0:3]  # (the elements where the operand is re-laid out, else 0)
    m, nn, k, batch = sizes[:, 0], sizes[:, 1], sizes[:, 2], sizes[:, 3]
    inputs_tokened, tokens = _inputs_tokened(network)
    table = MergeTable(
        out=np.stack([sizes[:, 6], roles[:, 3]], axis=1),
        kind_macs=np.stack([names.kind, batch * m * nn * k], axis=1),
        dims=np.ascontiguousarray(sizes[:, [3, 0, 1, 2]]),  # (C order: one compiled signature)
        permutes=permutes,
        fields=np.concatenate([sizes[:, 0:4], permutes], axis=1),
        token_column=roles[:, 4].copy() if tokens > 1 else np.full(len(sizes), -1, dtype=np.int64),
        inputs=np.array([elements, inputs_tokened], dtype=np.int64).T.copy(),
        tokens=tokens,
        roles=roles,
        lhs_is_a=lowered.a_is_lhs,
        keys={},
        gemms={},
        steps={},
        input_elements=elements,
        input_tokened=inputs_tokened,
    )
    for x in table:
        if isinstance(x, np.ndarray):
            x.setflags(write=False)
    return table


def _key(table: MergeTable, row: int) -> GemmKey:
    """The GEMM fields of merge ``row`` as a key (made once per network)."""
    got = table.keys.get(row)
    if got is None:
        m, n, k, batch, pa, pb, pc = table.fields[row].tolist()
        got = table.keys[row] = (m, n, k, batch, pa, pb, pc)
    return got


def _gemm(table: MergeTable, row: int) -> Gemm:
    """The GEMM of merge ``row`` (one instance per network: every chain shares it)."""
    got = table.gemms.get(row)
    if got is None:
        m, n, k, batch, pa, pb, pc = _key(table, row)
        got = table.gemms[row] = Gemm(
            m=m, n=n, k=k, batch=batch, permute_a_elements=pa, permute_b_elements=pb, permute_c_elements=pc
        )
    return got


def _step(table: MergeTable, row: int) -> tuple[bool, bool, str, int, bool]:
    """Merge ``row`` as a chain's step reads it: operand A is its left subset, its operands hold
    the same names (A is then the lhs in either order), its token dimension (``""``: none, or a
    one-token pass), its result's elements and token flag (read once per network)."""
    got = table.steps.get(row)
    if got is None:
        tokened, column, symmetric = table.roles[row, 3:6].tolist()
        token_dim = _DIM_NAMES[column] if table.tokens > 1 and column >= 0 else ""
        got = table.steps[row] = (
            table.lhs_is_a[row],
            bool(symmetric),
            token_dim,
            int(table.out[row, 0]),
            bool(tokened),
        )
    return got


@lru_cache(maxsize=16_384)
def tree_chain(network: TensorNetwork, path: Path) -> Chain:
    """``chain_of_path(network, path)`` (equal to it) from the network's :func:`merge_table`, no
    step lowered on its own; cached by value."""
    table = merge_table(network)
    if table is None:
        return chain_of_path(network, path)
    n = network.n_inputs
    steps: list[tuple[int, int, Gemm, bool, str]] = []
    elements = list(table.input_elements)
    tokened = list(table.input_tokened)
    for (lhs, rhs), (row, swapped) in zip(path, _path_merges(path, n), strict=True):
        a, same, token_dim, out, out_tokened = _step(table, row)
        steps.append((lhs, rhs, _gemm(table, row), a if same else a != swapped, token_dim))
        elements.append(out)
        tokened.append(out_tokened)
    return assemble_chain(network, tuple(elements), tuple(tokened), steps, _path_consumers(path, n))


TERMS_KERNEL = "dse.schedule._terms_kernel"
"""The compiled merge terms' module (:func:`analytical_models.compiled_module`)."""


@lru_cache(maxsize=512)  # (one design's networks on its hardware)
def merge_terms(network: TensorNetwork, hw: Hardware) -> tuple[FloatArray, FloatArray] | None:
    """Every merge's :func:`~dse.schedule._set_bounds.step_terms` ``(M, 6)`` and
    :func:`~dse.schedule._set_bounds.fold_times` ``(M, tiles)`` (zeros for a step that is not a
    token or reduce step) on ``hw``, from :func:`merge_table` and the merges' busy floors
    (:func:`~dse.schedule._tree_tables._pair_floors`), the same bits as the scalar functions, in
    one compiled call (:mod:`dse.schedule._terms_kernel`) or in array operations. None when the
    network is not tabled or the engine prices shaping its own way; also when the hardware
    cannot take a step (a ``tt_gemm`` without its TT-core engine): a tree's chain then reads
    them step by step (and raises where the scalar functions do)."""
    table = merge_table(network)
    floors = _pair_floors(network, hw) if table is not None else None
    if table is None or floors is None:
        return None
    engine = get_engine(hw.engine)
    shapes = False
    core_rows = table.kind_macs[:, 0] == KIND_CODE["core"]
    try:
        core = _core_array(hw) if core_rows.any() else None
        view = hw
        if isinstance(engine, ArrayEngine):
            if type(engine).shaping is not ArrayEngine.shaping:
                return None
            view = engine.array_view(hw)
            shapes = not engine.shaping_free
    except ModelInputError:
        return None
    busy, one = np.array(floors[0]), np.array(floors[1])
    kernel = compiled_module(TERMS_KERNEL)
    geometry = untiled_geometry(hw) if kernel is not None else None
    if kernel is None or geometry is None:
        got = _merge_terms_numpy(table, hw, busy, one, core is not None)
        if got is None:
            return None
        terms, fold = got
    else:
        scalars = _scalars(hw, view, shapes, core is not None, table.tokens)
        terms, fold = kernel.merge_terms_kernel(
            table.dims,
            table.permutes,
            table.kind_macs,
            table.token_column,
            busy,
            one,
            _tiles_array(table.tokens),
            *geometry,
            scalars,
        )
    if core is not None:  # (a core merge's busy floor on the TT-core engine)
        terms[core_rows, 2] = untiled_cycles_table(table.dims[core_rows], core, engines=engines_of(core))
    return terms, fold


@lru_cache(maxsize=4096)
def _scalars(hw: Hardware, view: Hardware, shapes: bool, on_core: bool, tokens: int) -> FloatArray:
    """The compiled merge terms' scalars (:data:`dse.schedule._terms_kernel.N_SCALARS`)."""
    consts = hw_consts(hw)
    out = np.array(
        [
            hw.dram_bw_bytes_per_cycle,
            consts.bytes_per_el,
            1.0 if hw.memory_timing == "serial" else 0.0,
            consts.mac_pj,
            consts.dram_pj_bit,
            engines_of(hw),
            1.0 if on_core else 0.0,
            1.0 if shapes else 0.0,
            view.bits / 8.0,
            view.ifmap_sram_kb,
            view.filter_sram_kb,
            view.ofmap_sram_kb,
            view.pe_rows,
            view.pe_cols,
            view.dram_bw_bytes_per_cycle,
            hw.pe_rows,
            hw.pe_cols,
            float(tokens),
        ],
        dtype=np.float64,
    )
    out.setflags(write=False)
    return out


def _merge_terms_numpy(
    table: MergeTable, hw: Hardware, busy: FloatArray, one: FloatArray, on_core_engine: bool
) -> tuple[FloatArray, FloatArray] | None:
    """:func:`merge_terms` in array operations (the TT-core engine's column left at -1.0)."""
    kind = table.kind_macs[:, 0]
    fed = dram_fed_floor_table(table.dims, table.permutes, hw, busy)
    if fed is None:
        return None
    on_core = (kind == KIND_CODE["core"]) & on_core_engine
    engines = engines_of(hw)
    consts = hw_consts(hw)
    moved = dram_fed_bytes_table(table.dims, hw)
    terms = np.empty((len(kind), 6))
    terms[:, 0] = np.where(on_core, 0.0, busy)
    terms[:, 1] = np.where(kind <= KIND_CODE["reduce"], one, 0.0) if engines > 1 else 0.0
    terms[:, 2] = -1.0
    terms[:, 3] = np.where(on_core, 0.0, fed)
    terms[:, 4] = table.kind_macs[:, 1] * consts.mac_pj + moved * 8.0 * consts.dram_pj_bit
    terms[:, 5] = moved
    return terms, _fold_rows(table, hw, engines)


def _fold_rows(table: MergeTable, hw: Hardware, engines: int) -> FloatArray:
    """:func:`~dse.schedule._bounds._tile_cycles` of every token and reduce merge (zeros for the
    others), ``(M, tiles)``, in one :func:`untiled_cycles_table` call."""
    t = _tiles_array(table.tokens)
    out = np.zeros((len(table.dims), t.size))
    rows = np.flatnonzero(table.kind_macs[:, 0] <= KIND_CODE["reduce"])
    if rows.size == 0:
        return out
    dims = np.repeat(table.dims[rows], t.size, axis=0)
    cube = dims.reshape(rows.size, t.size, 4)
    column = table.token_column[rows]
    scaled = np.flatnonzero(column >= 0)
    if scaled.size:  # (the token dimension cut to each tile, as _tile_cycles cuts it)
        full = table.dims[rows[scaled], column[scaled]].astype(np.float64)
        cube[scaled, :, column[scaled]] = np.round(full[:, None] * (t / float(table.tokens))[None, :]).astype(np.int64)
    out[rows] = untiled_cycles_table(dims, hw, engines=engines).reshape(rows.size, t.size)
    return out


@lru_cache(maxsize=4096)
def _path_steps(path: Path, n: int) -> tuple[IntArray, IntArray]:
    """A tree's merges as an index array, and its steps' operands and results (the first three
    columns of :attr:`BoundInputs.steps`), read-only."""
    rows = np.array(_path_rows(path, n), dtype=np.int64)
    steps = np.zeros((len(path), 5), dtype=np.int64)
    steps[:, 0:2] = np.array(path, dtype=np.int64).reshape(-1, 2)
    steps[:, 2] = np.arange(n, n + len(path))
    for x in (rows, steps):
        x.setflags(write=False)
    return rows, steps


_NO_SINGLES = (np.zeros(0, dtype=np.int64), np.zeros((0, 3)))


class _TreeInputs(NamedTuple):
    """What :func:`tree_spill_sets` reads of one tree of a network under one execution mode,
    whatever the hardware: its merges and steps (:func:`_path_steps`), each step's
    ``(GEMM fields, core merge)`` (:meth:`PricedSingles.of_keys`) and its spill sets' shape."""

    rows: IntArray
    base: IntArray
    keys: tuple[tuple[GemmKey, bool], ...]
    shape: _SetShape


@lru_cache(maxsize=16_384)  # (a network's candidate trees, met again on the next hardware)
def _tree_inputs(network: TensorNetwork, path: Path, mode: str) -> _TreeInputs:
    table = merge_table(network)
    assert table is not None  # (the caller read it)
    core = _core_pairs(network)
    rows, base, shape, merges = _tree_structure(path, network.n_inputs, mode)
    return _TreeInputs(rows, base, tuple((_key(table, r), core[r]) for r in merges), shape)


@lru_cache(maxsize=4096)  # (every network of ``n`` inputs shares it: a few hundred trees)
def _tree_structure(path: Path, n: int, mode: str) -> tuple[IntArray, IntArray, _SetShape, tuple[int, ...]]:
    """What :class:`_TreeInputs` holds of a tree whatever the network's sizes: its merges and
    steps (:func:`_path_steps`), its spill sets' shape, and its merges as a tuple."""
    rows, base = _path_steps(path, n)
    return rows, base, _set_shape(_path_consumers(path, n), n, mode), _path_rows(path, n)


@lru_cache(maxsize=512)  # (one design's networks on its hardware)
def _network_arrays(
    network: TensorNetwork, hw: Hardware
) -> tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray, FloatArray, FloatArray] | None:
    """What :func:`tree_spill_sets` passes the compiled bounds of every tree of ``network`` on
    ``hw``: the merge table's inputs, results and kinds, :func:`merge_terms`, the token tiles and
    the hardware scalars; None when the merges are not tabled."""
    table = merge_table(network)
    terms = merge_terms(network, hw) if table is not None else None
    if table is None or terms is None:
        return None
    return (
        table.inputs,
        table.out,
        table.kind_macs,
        *terms,
        _tiles_array(table.tokens),
        _hw_scalars(hw, engines_of(hw), table.tokens),
    )


def tree_spill_sets(
    network: TensorNetwork,
    path: Path,
    hw: Hardware,
    objective: str,
    execution: str,
    priced: PricedSingles = _PRICED,
) -> SpillSets | None:
    """``bounds_of(bound_inputs(tree_chain(network, path), hw), hw, objective, execution,
    singles)`` without the chain, the steps priced before (``priced``) bounding themselves: the
    tree's arrays indexed from the network's tables inside the compiled call
    (:func:`dse.schedule._bounds_kernel.tree_set_bounds`). None when the merges are not tabled
    or the compiled loops are off."""
    found = _tree_set_sums(network, path, hw, objective, execution, priced)
    if found is None:
        return None
    shape, got, sums = found
    return SpillSets(shape.sets, _bound_keys(sums, objective, execution), _GroupBounds(shape.group_index, got.tolist()))


def tree_least_first_term(
    network: TensorNetwork, path: Path, hw: Hardware, objective: str, execution: str, priced: PricedSingles = _PRICED
) -> float | None:
    """The least first term of the keys of :func:`tree_spill_sets` (the same float), without
    making them; None when it is None."""
    found = _tree_set_sums(network, path, hw, objective, execution, priced)
    if found is None:
        return None
    least: float = min(_key_columns(found[2], objective, execution)[0].tolist())
    return least


def _tree_set_sums(
    network: TensorNetwork, path: Path, hw: Hardware, objective: str, execution: str, priced: PricedSingles
) -> tuple[_SetShape, FloatArray, FloatArray] | None:
    """The tree's spill-set shape and the compiled call's segment bounds and set sums."""
    kernel = compiled_module(BOUNDS_KERNEL)
    found = _network_arrays(network, hw) if kernel is not None else None
    if kernel is None or found is None:
        return None
    tree = _tree_inputs(network, path, _mode(execution))
    shape = tree.shape
    singles = priced.of_keys(tree.keys, hw, objective)
    steps, tighter = _NO_SINGLES
    if singles:
        steps = np.array(list(singles), dtype=np.int64)
        tighter = np.array(list(singles.values()))
    inputs, out, kind_macs, terms, fold, tiles, scalars = found
    got, sums = kernel.tree_set_bounds(
        tree.rows,
        tree.base,
        inputs,
        out,
        kind_macs,
        terms,
        fold,
        steps,
        tighter,
        shape.group_table,
        shape.group_len,
        shape.set_table,
        tiles,
        scalars,
    )
    return shape, got, sums


def _tree_cycles_floor(network: TensorNetwork, path: Path, hw: Hardware, objective: str) -> float | None:
    """A floor of the cycles (less those a TT-core engine hides) of every schedule of the tree
    ``path`` on an engine of one array, tighter than its bound in
    :func:`~dse.schedule._trees._tree_bounds` once steps were priced: each step at its
    :func:`~dse.schedule._tree_tables._pair_cycle_floors` floor, a step no fused segment holds
    at least at its price fed from DRAM when priced before (:data:`_PRICED`; read when the
    network's merges are tabled), summed, less a relative 1e-9. None on an engine of several
    arrays or when the merges are not tabled."""
    apart = _pair_floors_apart(network, hw) if engines_of(hw) == 1 else None
    if apart is None:
        return None
    lower, never = apart
    table = merge_table(network) if any(never) else None
    hide = _has_core_array(hw)
    core = _core_pairs(network)
    total = 0.0
    for row in _path_rows(path, network.n_inputs):
        if hide and core[row]:
            continue
        floor = lower[row]
        if never[row] and table is not None:
            priced = _PRICED.cycles(_key(table, row), False, hw, objective)
            if priced > floor:
                floor = priced
        total += floor
    return total * (1.0 - 1e-9)
