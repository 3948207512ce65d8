"""A network's merges as tables its contraction trees share: every merge of two input subsets
(:func:`_tree_merges`), their MACs, GEMM sizes, fold times and lowerings computed for all of them
at once (per network, per network and hardware), and a tree's steps as rows of those tables (a
tree's chain and what its spill-set bounds read, from them: :mod:`dse.schedule._merge_table`)."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from analytical_models import (
    Hardware,
    hw_consts,
    untiled_cycles_table,
    untiled_key,
)
from dse.contraction import (
    MergeLowerings,
    build_plan,
    enumerate_trees,
    merge_dims,
    merge_lowerings,
    ssa_to_nodes,
)
from dse.schedule._chain import TOKEN_INDEX
from dse.schedule._segment import engines_of, tile_candidates
from dse.workload import TensorNetwork

ENUMERATED_TREE_INPUTS = 6
"""Networks with at most this many inputs have every tree considered (by MACs); larger ones
only the hardware-aware per-step optimum, the MAC optimum and the left-to-right sweep."""

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


@lru_cache(maxsize=1024)  # (the merges' MACs read it)
def _kept_table(network: TensorNetwork) -> NDArray[np.bool_]:
    """``(2**n, indices)``: the indices (in ``network.sizes`` order) the tensor of each input
    subset keeps: those it holds that the rest of the network or its output still needs
    (read-only)."""
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
    out.setflags(write=False)
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
    token or reduce step: a stage a fused segment may pipeline; the operands' flags of
    :func:`_token_subsets`)."""
    tokened, _ = _subset_arrays(network)
    a, b = _pair_arrays(network.n_inputs)
    out: NDArray[np.bool_] = tokened[a] | tokened[b]
    out.setflags(write=False)
    return out


@lru_cache(maxsize=4096)
def _pair_dims(network: TensorNetwork) -> NDArray[np.int64] | None:
    """:func:`dse.contraction.merge_dims` of every merge of :func:`_tree_merges` (per network)."""
    return merge_dims(network, _tree_merges(network.n_inputs)[1])


def tree_macs(network: TensorNetwork, path: Path) -> int:
    """MACs of the tree ``path`` of ``network`` (exact; its plan's :attr:`macs`, without
    building the plan): the sum of its merges' (:func:`_pair_dims`) when the network's merges
    are tabled, else its plan's."""
    n = network.n_inputs
    dims = _pair_dims(network) if 1 < n <= ENUMERATED_TREE_INPUTS else None
    if dims is None:
        return build_plan(network, path).macs
    macs = dims[list(_path_rows(path, n)), 4].tolist()
    return int(sum(macs))


PairFloors = tuple[NDArray[np.float64], NDArray[np.float64], list[int]]
"""Every merge's busy floor, untiled cycles on one array (read-only arrays) and MACs."""


@lru_cache(maxsize=2048)
def _pair_floors(network: TensorNetwork, hw: Hardware) -> PairFloors | None:
    """For every merge of :func:`_tree_merges`: its GEMM's :func:`busy_floor` on ``hw`` (every
    engine), its :func:`untiled_cycles` on one array (engines of several arrays only, else 0)
    (read-only arrays) and its MACs (integers); equal to what the lowered steps give, computed
    for all merges at once. None when :func:`_pair_dims` is. Shared by every hardware of the
    same array (:class:`_SameArray`: a study's designs often differ in buffers or bandwidth
    alone)."""
    return _pair_floors_on(network, _SameArray(hw))


class _SameArray:
    """A hardware as :func:`analytical_models.untiled_cycles_table` reads it, with its engine's
    arrays: equal (and hashed) by :func:`analytical_models.untiled_key` and those alone."""

    __slots__ = ("_hash", "hw", "key")

    def __init__(self, hw: Hardware) -> None:
        self.hw = hw
        self.key = (untiled_key(hw), engines_of(hw))
        self._hash = hash(self.key)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SameArray) and self.key == other.key


@lru_cache(maxsize=2048)
def _pair_floors_on(network: TensorNetwork, array: _SameArray) -> PairFloors | None:
    """:func:`_pair_floors` on any hardware of ``array``."""
    dims = _pair_dims(network)
    if dims is None:
        return None
    hw, engines = array.hw, array.key[1]
    busy = untiled_cycles_table(dims, hw, engines=engines)
    one = untiled_cycles_table(dims, hw) if engines > 1 else np.zeros(len(busy))
    busy.setflags(write=False)
    one.setflags(write=False)
    return busy, one, dims[:, 4].tolist()


def _pair_cycle_floors(network: TensorNetwork, hw: Hardware) -> list[float] | None:
    """:func:`_pair_floors_apart`'s floors."""
    got = _pair_floors_apart(network, hw)
    return None if got is None else got[0]


@lru_cache(maxsize=2048)
def _pair_floors_apart(network: TensorNetwork, hw: Hardware) -> tuple[list[float], list[bool]] | None:
    """For every merge of :func:`_tree_merges` on an engine of one array: the cycles its step
    runs in at least in any schedule, and whether no fused segment can hold it. Such a step's
    result tile (a token step), accumulator (a reduce step) or result (a post step) exceeds the
    ofmap buffer at the smallest token tile, or a network input it streams exceeds the ifmap
    buffer at every tile (:func:`_unstreamable`), each beyond a relative margin of 1e-9: it
    always runs fed from DRAM, and counts that floor without the engine's shaping (the larger of
    its busy floor and its operands and result over the bandwidth, as
    :func:`analytical_models.dram_fed_floor`); any other step its :func:`_pair_floors` busy
    floor. Computed for all merges at once; None when :func:`_pair_floors` is."""
    table = _pair_floors(network, hw)
    dims = _pair_dims(network)
    if table is None or dims is None:
        return None
    n = network.n_inputs
    a, b = _pair_arrays(n)
    tokened, after = _subset_arrays(network)
    consts = hw_consts(hw)
    bpe = consts.bytes_per_el
    tokens = _inputs_tokened(network)[1]
    t0 = float(tile_candidates(tokens)[0])
    batch, m, nn, k = dims[:, 0], dims[:, 1], dims[:, 2], dims[:, 3]
    out_el = batch * m * nn
    ofmap = hw.ofmap_sram_kb * 1024.0 * (1.0 + 1e-9)
    never = tokened[a | b] & (out_el * bpe * t0 / tokens > ofmap)  # (a token step's result tile)
    accumulates = ~tokened[a | b] & (tokened[a] | tokened[b] | after[a] | after[b])
    never |= accumulates & (out_el * consts.acc_bytes > ofmap)  # (a reduce step's or post step's result)
    unstreamable = _unstreamable(network, hw)
    if any(unstreamable):
        flags = np.array(unstreamable, dtype=np.bool_)
        for single, index in _single_inputs(n):  # (a network input the step streams)
            never |= single & flags[index]
    if hw.memory_timing == "serial":  # (dram_fed_bytes: 0 under the serial timing)
        moved = np.zeros(len(batch))
    else:
        moved = (batch * m * k + batch * k * nn + batch * m * nn) * bpe
    busy = np.array(table[0])
    lb: list[float] = np.where(never, np.maximum(busy, moved / hw.dram_bw_bytes_per_cycle), busy).tolist()
    return lb, never.tolist()


@lru_cache(maxsize=4096)
def _subset_arrays(network: TensorNetwork) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """:func:`_token_subsets` of the network's index names."""
    return _token_subsets(network.inputs, network.output)


@lru_cache(maxsize=256)  # networks of one format and pass share it, whatever their sizes
def _token_subsets(
    inputs: tuple[tuple[str, ...], ...], output: tuple[str, ...]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """For every input subset (bitmask) of a network of these index names: whether its tensor
    carries the token index (an input that holds it; a merged tensor that keeps it: the rest of
    the network or its output still needs it) and whether it is downstream of a reduction (it
    holds an input that carries the token index but does not carry it itself); read-only."""
    n = len(inputs)
    masks = np.arange(1 << n, dtype=np.int64)
    single = (masks & (masks - 1)) == 0
    holders = sum(1 << t for t, idx in enumerate(inputs) if TOKEN_INDEX in idx)
    holds = (masks & holders) != 0
    keeps = holds & (((holders & (((1 << n) - 1) ^ masks)) != 0) | (TOKEN_INDEX in output))
    tokened = np.where(single, holds, keeps)
    after = ~single & ~tokened & holds
    for x in (tokened, after):
        x.setflags(write=False)
    return tokened, after


@lru_cache(maxsize=16)
def _single_inputs(n: int) -> tuple[tuple[NDArray[np.bool_], NDArray[np.int64]], ...]:
    """For each side of every merge of :func:`_tree_merges` (its two input subsets): whether it
    is a single input, and which (0 where it is not)."""
    out = []
    for side in _pair_arrays(n):
        single = (side & (side - 1)) == 0
        index = np.log2(np.where(single, side, 1)).astype(np.int64)
        for x in (single, index):
            x.setflags(write=False)
        out.append((single, index))
    return tuple(out)


def _unstreamable(network: TensorNetwork, hw: Hardware) -> tuple[bool, ...]:
    """For every input: whether it carries the token index and, streamed through the ifmap
    buffer, fits it at no candidate token tile (double buffered below the whole pass), beyond a
    relative margin of 1e-9 (so no fused segment can read it)."""
    tokened, tokens = _inputs_tokened(network)
    bpe = hw_consts(hw).bytes_per_el
    t0 = float(tile_candidates(tokens)[0])
    cap = hw.ifmap_sram_kb * 1024.0 * (1.0 + 1e-9)
    out = []
    for flag, elements in zip(tokened, _input_elements(network), strict=True):
        x = elements * bpe
        out.append(flag and (min(x * t0 / tokens * 2.0, x) if t0 < tokens else x) > cap)
    return tuple(out)


@lru_cache(maxsize=4096)
def _input_elements(network: TensorNetwork) -> tuple[int, ...]:
    """Elements of every input tensor."""
    sizes = network.size_dict
    return tuple(math.prod(sizes[i] for i in idx) for idx in network.inputs)


@lru_cache(maxsize=4096)
def _core_pairs(network: TensorNetwork) -> tuple[bool, ...]:
    """For every merge of :func:`_tree_merges`, whether it merges cores (no input it holds carries
    the token index: a step of kind ``core``, which runs on a TT-core engine when there is one)."""
    tokens = sum(1 << t for t, idx in enumerate(network.inputs) if TOKEN_INDEX in idx)
    return tuple(not (a | b) & tokens for a, b in _tree_merges(network.n_inputs)[1])


@lru_cache(maxsize=4096)
def _core_flags(network: TensorNetwork) -> NDArray[np.bool_]:
    """:func:`_core_pairs` as an array (read-only)."""
    out = np.array(_core_pairs(network), dtype=np.bool_)
    out.setflags(write=False)
    return out


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


_Lowerings = tuple[MergeLowerings, tuple[int, ...]]


@lru_cache(maxsize=1024)  # (a design's few dozen networks; later trials rarely repeat them)
def _lowerings(network: TensorNetwork) -> _Lowerings | None:
    """:func:`dse.contraction.merge_lowerings` of every merge of :func:`_tree_merges` and the
    inputs' elements; None when the network is not enumerated or its products might overflow."""
    n = network.n_inputs
    if not 1 < n <= ENUMERATED_TREE_INPUTS:
        return None
    table = merge_lowerings(network, _tree_merges(n)[1])
    if table is None:
        return None
    sizes = network.size_dict
    return table, tuple(math.prod(sizes[i] for i in idx) for idx in network.inputs)


@lru_cache(maxsize=4096)
def _path_consumers(path: tuple[tuple[int, int], ...], n: int) -> tuple[int, ...]:
    """:attr:`Chain.consumers` of the chain of a tree of ``n`` inputs: the step reading each
    step's result (-1 for the last)."""
    reader = {x: s for s, pair in enumerate(path) for x in pair}
    return tuple(reader.get(n + s, -1) for s in range(len(path)))


@lru_cache(maxsize=4096)
def _inputs_tokened(network: TensorNetwork) -> tuple[tuple[bool, ...], int]:
    """Whether each input carries the token index, and the token count (:attr:`Chain.tokens`)."""
    return tuple(TOKEN_INDEX in idx for idx in network.inputs), int(network.size_dict.get(TOKEN_INDEX, 1))
