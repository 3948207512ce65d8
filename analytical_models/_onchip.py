"""One GEMM whose operands are already on chip: the step of a fused (streamed) schedule.

Inside a fused segment of a contraction chain nothing comes from DRAM: the activation operand
sits in the ifmap buffer (a streamed token tile) or in the ofmap buffer (an intermediate the
previous step left there), the core in the filter buffer, and the result goes to the ofmap
buffer. :func:`price_onchip` prices such a step with the same SCALE-Sim fold model as the
DRAM-fed engines (:mod:`analytical_models._timing`), untiled: every operand is resident, so the
step runs as ``batch * ceil(Sr/R) * ceil(Sc/C)`` folds of the per-fold formula, and the best
dataflow the engine allows is taken (fewest cycles, then least energy; or the reverse).

:func:`onchip_tiles` prices the same step for many token tiles at once (numpy over the tiles):
one GEMM dimension carries the token index, and a tile of ``t`` tokens scales that dimension
by ``t / tokens``.

SRAM accesses, per dataflow (the access pattern of :mod:`analytical_models._stage` with one
tile per dimension): the stationary operand (both its dimensions on the array) is read once;
the operand on (rows, time) once per column fold; the operand on (columns, time) once per row
fold. The output is accumulated in the ofmap buffer at ``acc_bits``: WS and IS write it once per
row fold of K and read it back for every accumulation but the first; OS keeps it in the PEs and
writes it once at ``bits``.

``engines > 1`` runs the step on several identical arrays at once (an array of contraction
engines, all on one step): the folds are dealt out to the engines, and when there are fewer
folds than engines the streamed (time) dimension of each fold is split among the engines that
share it. SRAM traffic is unchanged (the distribution network broadcasts).

Tensor shaping is the engine's (:meth:`ArrayEngine.shaping`): free on a contraction engine,
a round trip through the buffer on a plain systolic array. No DRAM traffic and no leakage here:
the schedule that strings steps together adds both (:mod:`dse.schedule`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from types import ModuleType
from typing import Any, Literal, NamedTuple

import numpy as np

from analytical_models._arrays import BoolArray, FloatArray, IntArray
from analytical_models._consts import HwConsts, hw_consts
from analytical_models._engine import ArrayEngine
from analytical_models._hashing import HARDWARE_CACHE_ENTRIES
from analytical_models._jit import compiled_module
from analytical_models._registry import get_engine
from analytical_models._shaping import _shaping_energy, buffer_shaping_cycles
from analytical_models._timing import (
    FOLD_CYCLES,
    GEOMETRY,
    K_DIM,
    M_DIM,
    N_DIM,
    is_fold_cycles,
    os_fold_cycles,
    ws_fold_cycles,
)
from analytical_models._types import DATAFLOWS, Cost, Gemm, Hardware, ModelInputError

Buffer = Literal["ifmap", "filter", "ofmap"]
BUFFERS: tuple[str, ...] = ("ifmap", "filter", "ofmap")
TOKEN_DIMS: tuple[str, ...] = ("", "batch", "m", "n", "k")
"""Which GEMM dimension carries the token index (``""``: none, the step is token-free)."""

STACKED_FIELDS: tuple[str, ...] = (
    "compute",
    "fill",
    "shaping",
    "mac_pj",
    "ifmap_pj",
    "filter_pj",
    "ofmap_pj",
    "sram_rd_bytes",
    "sram_wr_bytes",
    "shaping_dram_bytes",
    "macs",
)
"""Rows of :attr:`OnChipTiles.stacked` (``macs`` as floats)."""

_A_DIMS = frozenset({M_DIM, K_DIM})
_B_DIMS = frozenset({K_DIM, N_DIM})


class OnChipTiles(NamedTuple):
    """An on-chip step priced for every token tile (arrays over the tiles).

    Cycles in cycles, energies in pJ, bytes in bytes; each entry is the best dataflow for that
    tile (``dataflow`` holds its index in :data:`analytical_models.DATAFLOWS` order of the
    engine's dataflows, see ``dataflows``).
    """

    compute: FloatArray
    fill: FloatArray
    shaping: FloatArray
    mac_pj: FloatArray
    ifmap_pj: FloatArray
    filter_pj: FloatArray
    ofmap_pj: FloatArray
    sram_rd_bytes: FloatArray
    sram_wr_bytes: FloatArray
    shaping_dram_bytes: FloatArray
    macs: IntArray
    dataflow: IntArray
    dataflows: tuple[str, ...]
    pes: int
    """Processing elements the step runs on (all engines)."""
    stacked: FloatArray
    """``(len(STACKED_FIELDS), T)``: the summable fields of :data:`STACKED_FIELDS` in one array
    (a schedule adds many steps with one numpy operation each)."""

    @property
    def cycles(self) -> FloatArray:
        """Cycles of one tile: compute + fill/drain + shaping."""
        return self.compute + self.fill + self.shaping

    @property
    def energy_pj(self) -> FloatArray:
        """Energy of one tile (MACs and SRAM, shaping included), in pJ."""
        return self.mac_pj + self.ifmap_pj + self.filter_pj + self.ofmap_pj

    def cost(self, i: int) -> Cost:
        """Tile ``i`` as a :class:`Cost` (no stall, no leakage)."""
        return Cost(
            macs=int(self.macs[i]),
            compute_cycles=float(self.compute[i]),
            fill_drain_cycles=float(self.fill[i]),
            shaping_cycles=float(self.shaping[i]),
            mac_energy_pj=float(self.mac_pj[i]),
            ifmap_sram_energy_pj=float(self.ifmap_pj[i]),
            filter_sram_energy_pj=float(self.filter_pj[i]),
            ofmap_sram_energy_pj=float(self.ofmap_pj[i]),
            dram_read_bytes=float(self.shaping_dram_bytes[i]) / 2,
            dram_write_bytes=float(self.shaping_dram_bytes[i]) / 2,
            sram_read_bytes=float(self.sram_rd_bytes[i]),
            sram_write_bytes=float(self.sram_wr_bytes[i]),
            pe_busy_cycles=float(self.macs[i]) / self.pes,
        )


class OnChipStep(NamedTuple):
    """An on-chip GEMM: its cost (no DRAM, no leakage) and the dataflow that gave it."""

    cost: Cost
    dataflow: str


def tile_gemm(gemm: Gemm, token_dim: str, tokens: int, tile: int) -> Gemm:
    """``gemm`` for a tile of ``tile`` of its ``tokens`` tokens (the token dimension scaled).

    Permutation volumes scale with the operands that hold the token dimension.
    """
    if not token_dim or tile == tokens:
        return gemm
    scale = tile / tokens

    def sc(x: int) -> int:
        return round(x * scale)

    a_tok = token_dim in ("batch", "m", "k")
    b_tok = token_dim in ("batch", "k", "n")
    c_tok = token_dim in ("batch", "m", "n")
    return Gemm(  # (every field given: dataclasses.replace costs as much again)
        batch=sc(gemm.batch) if token_dim == "batch" else gemm.batch,
        m=sc(gemm.m) if token_dim == "m" else gemm.m,
        n=sc(gemm.n) if token_dim == "n" else gemm.n,
        k=sc(gemm.k) if token_dim == "k" else gemm.k,
        permute_a_elements=sc(gemm.permute_a_elements) if a_tok else gemm.permute_a_elements,
        permute_b_elements=sc(gemm.permute_b_elements) if b_tok else gemm.permute_b_elements,
        permute_c_elements=sc(gemm.permute_c_elements) if c_tok else gemm.permute_c_elements,
    )


@lru_cache(maxsize=16_384)
def onchip_tiles(
    gemm: Gemm,
    token_dim: str,
    tokens: int,
    tiles: tuple[int, ...],
    hw: Hardware,
    a_buffer: Buffer = "ifmap",
    b_buffer: Buffer = "filter",
    *,
    rows: int = 0,
    cols: int = 0,
    engines: int = 1,
    objective: Literal["latency", "energy"] = "latency",
    relayout: bool = True,
) -> OnChipTiles:
    """Price ``gemm`` (all ``tokens`` tokens) as one token tile of every size in ``tiles``.

    Args:
        gemm: the full step (every token).
        token_dim: the GEMM dimension that carries the token index (see :data:`TOKEN_DIMS`).
        tokens: tokens in ``gemm``.
        tiles: tile sizes (tokens per tile) to price.
        hw: the accelerator (its engine decides the dataflows and the shaping cost; its buffers
            the SRAM energies).
        a_buffer: the buffer operand A is read from.
        b_buffer: the buffer operand B is read from.
        rows: array rows to run on (default ``hw.pe_rows``; another array of the same chip,
            e.g. a TT-core engine, passes its own).
        cols: array columns (default ``hw.pe_cols``).
        engines: identical arrays working on this step at once.
        objective: per tile, the dataflow with the fewest cycles (``latency``, ties on energy)
            or the least energy (``energy``).
        relayout: pay the engine's tensor shaping (False inside a fused segment: every tensor
            there is written by its producer, or laid out once for a core, in the order its
            consumer reads it: address generation, as TIE does).
    """
    if a_buffer not in BUFFERS or b_buffer not in BUFFERS:
        raise ModelInputError(f"operand buffers must be among {BUFFERS}, got {a_buffer!r}, {b_buffer!r}")
    if token_dim not in TOKEN_DIMS:
        raise ModelInputError(f"token_dim must be one of {TOKEN_DIMS}, got {token_dim!r}")
    if engines < 1:
        raise ModelInputError(f"engines must be >= 1, got {engines}")
    engine = get_engine(hw.engine)
    if not isinstance(engine, ArrayEngine):
        raise ModelInputError(f"engine {hw.engine!r} has no on-chip step model")
    r = rows or hw.pe_rows
    c = cols or hw.pe_cols
    k = hw_consts(hw)
    t = np.asarray(tiles, dtype=np.float64)
    bpe, acc = k.bytes_per_el, k.acc_bytes
    # shaping (engines that cannot reshape on the fly), per tile GEMM: cycles, pJ, SRAM bytes
    # read and written, DRAM bytes
    shaped = np.zeros((5, t.size))
    if relayout and not engine.shaping_free:
        for i, tile in enumerate(tiles):
            s = engine.shaping(tile_gemm(gemm, token_dim, tokens, tile), hw)
            shaped[0, i] = s.cycles
            shaped[1, i] = _shaping_energy(k, s)
            shaped[2, i] = s.ifmap_rd_bytes + s.filter_rd_bytes + s.ofmap_rd_bytes
            shaped[3, i] = s.ifmap_wr_bytes + s.filter_wr_bytes + s.ofmap_wr_bytes
            shaped[4, i] = s.dram_rd_bytes + s.dram_wr_bytes
    dataflows = engine.dataflows_for(hw)
    geo = _geometry(dataflows)
    pj_table = _pj_table(k)
    kernel = _compiled(dataflows)
    if kernel is not None:
        stacked, best = kernel.tiles_kernel(
            t,
            float(tokens),
            TOKEN_DIMS.index(token_dim) - 1,
            np.array([float(gemm.batch), float(gemm.m), float(gemm.n), float(gemm.k)]),
            geo.axes,
            geo.first_reads,
            geo.os_flat,
            _fills(dataflows, r, c),
            r,
            c,
            engines,
            bpe,
            acc,
            pj_table,
            k.mac_pj,
            shaped,
            BUFFERS.index(a_buffer),
            BUFFERS.index(b_buffer),
            objective != "latency",
        )
        return _tiles(stacked, best, dataflows, r * c * engines)
    sh_cycles, sh_pj, sh_rd, sh_wr, sh_dram = shaped
    scale = t / float(tokens) if token_dim else np.ones_like(t)
    dims = [np.full_like(t, float(x)) for x in (gemm.m, gemm.n, gemm.k)]
    batch = np.full_like(t, float(gemm.batch))
    if token_dim == "batch":
        batch = np.round(batch * scale)
    elif token_dim:
        x = {"m": M_DIM, "n": N_DIM, "k": K_DIM}[token_dim]
        dims[x] = np.round(dims[x] * scale)
    m, n, kk = dims
    macs = batch * m * n * kk
    a_el, b_el, c_el = batch * m * kk, batch * kk * n, batch * m * n
    zero = np.zeros_like(t)
    dim = np.stack(dims)  # (3, T)
    row_folds = np.ceil(dim[geo.axes[0]] / r)  # (D, T), every dataflow at once
    col_folds = np.ceil(dim[geo.axes[1]] / c)
    folds = batch * row_folds * col_folds
    compute, fill = _fold_cycles_all(dataflows, folds, dim[geo.axes[2]], r, c, engines)
    # SRAM bytes per buffer (ifmap, filter, ofmap): A and B reads, the ofmap's accumulations
    # (WS / IS: written once per row fold of K, read back for all but the first; OS: written once)
    rd = [zero, zero, zero]
    wr = [zero, zero, zero]
    ia, ib = BUFFERS.index(a_buffer), BUFFERS.index(b_buffer)
    rd[ia] = rd[ia] + a_el * bpe * _times_all(geo.reads[0], row_folds, col_folds)
    rd[ib] = rd[ib] + b_el * bpe * _times_all(geo.reads[1], row_folds, col_folds)
    accumulations = np.ceil(kk / r)
    wr[2] = wr[2] + np.where(geo.os, c_el * bpe, c_el * acc * accumulations)
    rd[2] = rd[2] + np.where(geo.os, 0.0, c_el * acc * (accumulations - 1))
    e = [8.0 * (rd[b] * pj_table[b, 0] + wr[b] * pj_table[b, 1]) for b in range(len(BUFFERS))]
    mac_pj = macs * k.mac_pj
    table = np.empty((len(dataflows), 10, t.size))  # (D, fields, T)
    table[:, 0] = compute + fill + sh_cycles
    table[:, 1] = mac_pj + e[0] + e[1] + e[2] + sh_pj
    table[:, 2], table[:, 3], table[:, 4] = compute, fill, mac_pj
    table[:, 5], table[:, 6], table[:, 7] = e[0], e[1], e[2] + sh_pj
    table[:, 8] = rd[0] + rd[1] + rd[2] + sh_rd
    table[:, 9] = wr[0] + wr[1] + wr[2] + sh_wr
    primary, secondary = (0, 1) if objective == "latency" else (1, 0)
    order = np.lexsort((table[:, secondary, :], table[:, primary, :]), axis=0)
    best = order[0]  # (T,) dataflow index with the smallest (primary, secondary)
    pick = table[best, :, np.arange(t.size)]  # (T, fields)
    stacked = np.empty((len(STACKED_FIELDS), t.size))  # the rows of STACKED_FIELDS
    stacked[[0, 1, 3, 4, 5, 6, 7, 8]] = pick[:, 2:].T
    stacked[2], stacked[9], stacked[10] = sh_cycles, sh_dram, macs
    return _tiles(stacked, best, dataflows, r * c * engines)


def _pj_table(k: HwConsts) -> FloatArray:
    """``(3, 2)``: the read and write energies (pJ/bit) of the ifmap, filter and ofmap buffers."""
    return np.array(
        [
            (k.ifmap_rd_pj_bit, k.ifmap_wr_pj_bit),
            (k.filter_rd_pj_bit, k.filter_wr_pj_bit),
            (k.ofmap_rd_pj_bit, k.ofmap_wr_pj_bit),
        ]
    )


class OnChipArray(NamedTuple):
    """What the compiled loop of :func:`onchip_tiles` reads of one array (its own rows and
    columns, no tensor shaping: a fused segment's steps), for callers that price many steps in
    one compiled call (:func:`onchip_array`). Arrays are read-only; ``D`` dataflows."""

    dataflows: tuple[str, ...]
    axes: IntArray
    """``(3, D)``: the dimension on the rows, the columns and in time."""
    reads: IntArray
    """``(2, D)``: how A and B are read."""
    os: BoolArray
    """``(D,)``: output stationary."""
    fills: FloatArray
    """``(D,)``: one fold's fill, in cycles."""
    rows: int
    cols: int
    bpe: float
    """Bytes per element."""
    acc: float
    """Bytes per accumulator."""
    mac_pj: float
    """Energy per MAC, in pJ."""
    pj: FloatArray
    """``(3, 2)``: read and write pJ/bit of the ifmap, filter and ofmap buffers."""


@lru_cache(maxsize=HARDWARE_CACHE_ENTRIES)
def onchip_array(hw: Hardware) -> OnChipArray | None:
    """The arguments :func:`onchip_tiles` passes its compiled loop for a step on ``hw``'s array
    (``rows``/``cols`` left at the array's, ``relayout=False``); None when ``hw``'s engine has no
    on-chip step model or one of its dataflows' fold timing is not a shipped one (the numpy
    path prices those). Whether loops are compiled at all is the caller's to ask
    (``compiled_module("analytical_models._onchip_kernel")``)."""
    engine = get_engine(hw.engine)
    if not isinstance(engine, ArrayEngine):
        return None
    dataflows = engine.dataflows_for(hw)
    if not all(FOLD_CYCLES.get(d) in _FOLD_FILL for d in dataflows):
        return None
    geo = _geometry(dataflows)
    k = hw_consts(hw)
    pj = _pj_table(k)
    pj.setflags(write=False)
    return OnChipArray(
        dataflows,
        geo.axes,
        geo.first_reads,
        geo.os_flat,
        _fills(dataflows, hw.pe_rows, hw.pe_cols),
        hw.pe_rows,
        hw.pe_cols,
        k.bytes_per_el,
        k.acc_bytes,
        k.mac_pj,
        pj,
    )


def _tiles(stacked: FloatArray, best: IntArray, dataflows: tuple[str, ...], pes: int) -> OnChipTiles:
    # (the fields of STACKED_FIELDS but the last are OnChipTiles' first, in that order)
    macs, dataflow = stacked[-1].astype(np.int64), best.astype(np.int64)
    return OnChipTiles._make((*stacked[:-1], macs, dataflow, dataflows, pes, stacked))


@lru_cache(maxsize=1024)
def _fills(dataflows: tuple[str, ...], rows: int, cols: int) -> FloatArray:
    """The fill of every dataflow's shipped fold timing (:data:`_FOLD_FILL`) on a ``rows`` x
    ``cols`` array (read-only)."""
    out = np.array([_FOLD_FILL[FOLD_CYCLES[d]](rows, cols) for d in dataflows])
    out.setflags(write=False)
    return out


def _compiled(dataflows: tuple[str, ...]) -> ModuleType | None:
    """:mod:`analytical_models._onchip_kernel` when :func:`onchip_tiles` runs compiled: every
    dataflow's fold timing is a shipped one (:data:`_FOLD_FILL`) and
    :data:`~analytical_models._jit.NO_JIT_ENV` is not set; else None."""
    if not all(FOLD_CYCLES.get(d) in _FOLD_FILL for d in dataflows):
        return None
    return compiled_module("analytical_models._onchip_kernel")


def price_onchip(
    gemm: Gemm,
    hw: Hardware,
    a_buffer: Buffer = "ifmap",
    b_buffer: Buffer = "filter",
    *,
    rows: int = 0,
    cols: int = 0,
    engines: int = 1,
    objective: Literal["latency", "energy"] = "latency",
) -> OnChipStep:
    """Price ``gemm`` with A in ``a_buffer``, B in ``b_buffer`` and C into the ofmap buffer.

    The single-tile case of :func:`onchip_tiles` (same arguments): the cost (cycles split
    compute / fill-drain / shaping; MAC and SRAM energy in pJ; SRAM bytes; no DRAM traffic
    unless shaping had to go through DRAM) and the dataflow chosen.
    """
    res = onchip_tiles(
        gemm, "", 1, (1,), hw, a_buffer, b_buffer, rows=rows, cols=cols, engines=engines, objective=objective
    )
    return OnChipStep(res.cost(0), res.dataflows[int(res.dataflow[0])])


class _Geometry(NamedTuple):
    """Per dataflow (rows ``D``): where the GEMM's dimensions go and what that decides."""

    axes: IntArray
    """``(3, D)``: the dimension on the array rows, on the columns, in time."""
    reads: tuple[IntArray, IntArray]
    """For A and B: 0 stationary (read once), 1 read per column fold, 2 per row fold, 3 both."""
    os: BoolArray
    """``(D, 1)``: output stationary (the result stays in the PEs)."""
    first_reads: IntArray
    """``(2, D)``: ``reads`` of A and B in one array (what the compiled step model reads)."""
    os_flat: BoolArray
    """``(D,)``: ``os`` flat."""


@lru_cache(maxsize=64)
def _geometry(dataflows: tuple[str, ...]) -> _Geometry:
    """The :class:`_Geometry` of ``dataflows`` (read-only arrays, cached)."""
    axes = np.ascontiguousarray(np.array([GEOMETRY[d] for d in dataflows], dtype=np.int64).T)  # (one compiled layout)
    os = np.array([[d == "os"] for d in dataflows])
    reads = (_read_kind(_A_DIMS, axes), _read_kind(_B_DIMS, axes))
    out = _Geometry(axes, reads, os, np.stack([reads[0][:, 0], reads[1][:, 0]]), os[:, 0].copy())
    for a in (axes, os, *out.reads, out.first_reads, out.os_flat):
        a.setflags(write=False)
    return out


def _read_kind(dims: frozenset[int], axes: IntArray) -> IntArray:
    """``(D, 1)``: how an operand spanning ``dims`` is read under each dataflow (see
    :attr:`_Geometry.reads`)."""
    on_rows = np.array([x in dims for x in axes[0].tolist()])
    on_cols = np.array([x in dims for x in axes[1].tolist()])
    kind: IntArray = np.where(on_rows & on_cols, 0, np.where(on_rows, 1, np.where(on_cols, 2, 3)))[:, None]
    return kind


def _fold_cycles_all(
    dataflows: tuple[str, ...], folds: FloatArray, time: FloatArray, rows: int, cols: int, engines: int
) -> tuple[FloatArray, FloatArray]:
    """(streaming, fill/drain) cycles of ``folds`` folds of ``time`` streamed rows on ``engines``
    arrays, every dataflow at once (row ``d``: ``dataflows[d]``). With several engines the
    folds are dealt out to them; fewer folds than engines split each fold's streamed dimension
    among the engines that share it."""
    if engines > 1:
        many = folds >= engines
        per_engine = np.ceil(folds / engines)
        share = np.maximum(1.0, np.floor(engines / np.maximum(folds, 1.0)))
        time = np.where(many, time, np.ceil(time / share))
        count = np.where(many, per_engine, 1.0)
    else:
        count = folds
    if len(dataflows) == 1:
        stream, fill = FOLD_CYCLES[dataflows[0]](rows, cols, time)
        return count * stream, count * fill
    parts = [FOLD_CYCLES[d](rows, cols, time[i]) for i, d in enumerate(dataflows)]
    return count * np.stack([p[0] for p in parts]), count * np.stack([p[1] for p in parts])


def _times_all(kind: IntArray, row_folds: FloatArray, col_folds: FloatArray) -> FloatArray:
    """How often an operand is read, every dataflow at once (``(D, T)``; ``kind`` from
    :class:`_Geometry`): once if stationary (both its dims on the array), once per column fold
    if it lies on (rows, time), once per row fold on (cols, time)."""
    out: FloatArray = np.choose(kind, (np.ones_like(row_folds), col_folds, row_folds, row_folds * col_folds))
    return out


@lru_cache(maxsize=HARDWARE_CACHE_ENTRIES)
def busy_floor(gemm: Gemm, hw: Hardware) -> float:
    """Cycles no schedule runs ``gemm`` in on ``hw``: its untiled fold time with the best
    dataflow, over every token at once, on every engine of the array (tiling, in tokens or by the
    mapping, only adds folds and fill/drain; stalls and shaping only add); cached."""
    engine = get_engine(hw.engine)
    return untiled_cycles(gemm, hw, engines=engine.engines(hw) if isinstance(engine, ArrayEngine) else 1)


def dram_fed_floor(gemm: Gemm, hw: Hardware, *, busy: float | None = None) -> float:
    """Cycles no mapping of ``gemm`` fed from DRAM on ``hw`` (:func:`analytical_models.price`,
    :func:`analytical_models.best_mapping`) goes below: the larger of its untiled fold time on
    every engine of the array (:func:`busy_floor`) and the DRAM time of its
    :func:`dram_fed_bytes`, plus the engine's tensor-shaping cycles, which every mapping's cycles
    end with. ``busy``: :func:`busy_floor` of ``gemm`` when the caller has it (e.g. from
    :func:`untiled_cycles_table`), else computed."""
    engine = get_engine(hw.engine)
    if busy is None:
        busy = busy_floor(gemm, hw)
    shaping = engine.shaping(gemm, engine.array_view(hw)).cycles if isinstance(engine, ArrayEngine) else 0.0
    return max(busy, dram_fed_bytes(gemm, hw) / hw.dram_bw_bytes_per_cycle) + shaping


def dram_fed_bytes(gemm: Gemm, hw: Hardware) -> float:
    """DRAM bytes no mapping of ``gemm`` fed from DRAM on ``hw`` moves fewer of: each operand and
    the result once under the overlapped memory timing; 0 under the serial timing, where
    SCALE-Sim's own nest, a candidate of every search, counts DRAM reads its own way (below the
    operands' size at times)."""
    if hw.memory_timing == "serial":
        return 0.0
    elements = gemm.batch * gemm.m * gemm.k + gemm.batch * gemm.k * gemm.n + gemm.batch * gemm.m * gemm.n
    return elements * hw_consts(hw).bytes_per_el


def dram_fed_floor_table(dims: IntArray, permutes: IntArray, hw: Hardware, busy: FloatArray) -> FloatArray | None:
    """:func:`dram_fed_floor` of many GEMMs at once: ``dims`` is ``(G, 4)`` (batch, m, n, k per
    row, int64), ``permutes`` ``(G, 3)`` (their ``permute_*_elements``), ``busy`` ``(G,)`` their
    :func:`busy_floor`; the result ``(G,)`` cycles, each equal to the scalar function's (the
    same operations per element). None when the engine prices shaping its own way (it overrides
    :meth:`ArrayEngine.shaping`): the caller takes each GEMM on its own. Every sum of three
    products of ``dims`` must fit int64."""
    engine = get_engine(hw.engine)
    shaping: FloatArray | None = None
    if isinstance(engine, ArrayEngine):
        if type(engine).shaping is not ArrayEngine.shaping:
            return None
        view = engine.array_view(hw)  # (raises, as the scalar function does, for a template it cannot take)
        if not engine.shaping_free:
            shaping = buffer_shaping_cycles(permutes, view)
    cycles: FloatArray = np.maximum(busy, dram_fed_bytes_table(dims, hw) / hw.dram_bw_bytes_per_cycle)
    return cycles if shaping is None else cycles + shaping


def dram_fed_bytes_table(dims: IntArray, hw: Hardware) -> FloatArray:
    """:func:`dram_fed_bytes` of many GEMMs at once (``dims`` as :func:`dram_fed_floor_table`'s),
    each equal to the scalar function's."""
    if hw.memory_timing == "serial":
        return np.zeros(len(dims))
    batch, m, n, k = dims[:, 0], dims[:, 1], dims[:, 2], dims[:, 3]
    out: FloatArray = (batch * m * k + batch * k * n + batch * m * n) * hw_consts(hw).bytes_per_el
    return out


@lru_cache(maxsize=HARDWARE_CACHE_ENTRIES)  # the bounds of every tree and segment of a ce_array ask for it
def untiled_cycles(gemm: Gemm, hw: Hardware, *, engines: int = 1) -> float:
    """Fewest cycles ``gemm`` takes on ``hw``'s array: untiled, every operand on chip, the best
    dataflow the engine allows, no shaping (compute + fill/drain of :func:`onchip_tiles` for one
    tile of every token). A lower bound of any schedule's cycles for the step: tiling only adds
    folds and fill/drain, memory stalls and shaping only add.
    """
    engine = get_engine(hw.engine)
    dataflows = engine.dataflows_for(hw) if isinstance(engine, ArrayEngine) else DATAFLOWS
    dims = (gemm.m, gemm.n, gemm.k)
    best = math.inf
    for df in dataflows:
        row_x, col_x, time_x = GEOMETRY[df]
        folds = gemm.batch * -(-dims[row_x] // hw.pe_rows) * -(-dims[col_x] // hw.pe_cols)
        time = dims[time_x]
        if engines > 1:
            if folds >= engines:
                folds = -(-folds // engines)
            else:
                time = -(-time // max(1, engines // folds))
                folds = 1
        fold = FOLD_CYCLES[df]
        overhead = _FOLD_FILL.get(fold)
        if overhead is not None:  # (a shipped fold: stream time T plus a fixed fill, as floats)
            cycles = float(time) + overhead(hw.pe_rows, hw.pe_cols)
        else:
            stream, fill = fold(hw.pe_rows, hw.pe_cols, np.array([float(time)]))
            cycles = float(stream[0] + fill[0])
        best = min(best, folds * cycles)
    return best


_FOLD_FILL: dict[Callable[..., Any], Callable[[int, int], float]] = {
    ws_fold_cycles: lambda r, c: 2.0 * r + c - 2.0,
    is_fold_cycles: lambda r, c: 2.0 * r + c - 2.0,
    os_fold_cycles: lambda r, c: float(r) + c - 2.0,
}
"""The fill of each shipped fold function (:mod:`analytical_models._timing`: its stream time is
the streamed count itself), as it computes it: what :func:`untiled_cycles` (one GEMM, without an
array) and the compiled :func:`onchip_tiles` use; a fold function registered elsewhere runs on
its arrays as usual."""


def untiled_key(hw: Hardware) -> tuple[tuple[str, ...], int, int]:
    """What :func:`untiled_cycles_table` reads of ``hw``: the dataflows its engine allows and its
    array's rows and columns (two hardware of equal keys give equal tables, whatever their
    buffers, bandwidth or clock)."""
    engine = get_engine(hw.engine)
    dataflows = engine.dataflows_for(hw) if isinstance(engine, ArrayEngine) else DATAFLOWS
    return dataflows, hw.pe_rows, hw.pe_cols


def untiled_geometry(hw: Hardware) -> tuple[IntArray, FloatArray] | None:
    """What the compiled :func:`untiled_cycles_table` reads of ``hw`` besides its array's rows
    and columns: the dimension (0, 1, 2 for m, n, k) on the rows, on the columns and in time of
    every dataflow the engine allows ``(3, D)``, and each one's fill (read-only); None when a
    fold timing is not a shipped one or :data:`~analytical_models._jit.NO_JIT_ENV` is set (a
    compiled loop of a caller's, through ``untiled_one`` of ``analytical_models._onchip_kernel``,
    would not repeat it)."""
    dataflows = untiled_key(hw)[0]
    if _compiled(dataflows) is None:
        return None
    return _geometry(dataflows).axes, _fills(dataflows, hw.pe_rows, hw.pe_cols)


def untiled_cycles_table(dims: IntArray, hw: Hardware, *, engines: int = 1) -> FloatArray:
    """:func:`untiled_cycles` of many GEMMs at once: ``dims`` is ``(G, 4)`` (batch, m, n, k per
    row, int64), the result ``(G,)`` cycles, each equal to the scalar function's (the same
    integer fold counts and the same floating-point operations per element); it reads of
    ``hw`` its :func:`untiled_key` alone."""
    dataflows = untiled_key(hw)[0]
    kernel = _compiled(dataflows)
    if kernel is not None:  # (the shipped fold timings, one compiled loop)
        if dims.flags.writeable:  # (read-only, as the cached tables are: one compiled signature)
            dims = dims.view()
            dims.flags.writeable = False
        got: FloatArray = kernel.untiled_kernel(
            dims, hw.pe_rows, hw.pe_cols, _geometry(dataflows).axes, _fills(dataflows, hw.pe_rows, hw.pe_cols), engines
        )
        return got
    batch, mnk = dims[:, 0], dims[:, 1:4]
    best = np.full(len(dims), math.inf)
    for df in dataflows:
        row_x, col_x, time_x = GEOMETRY[df]
        folds = batch * -(-mnk[:, row_x] // hw.pe_rows) * -(-mnk[:, col_x] // hw.pe_cols)
        time = mnk[:, time_x]
        if engines > 1:
            many = folds >= engines
            time = np.where(many, time, -(-time // np.maximum(1, engines // np.maximum(folds, 1))))
            folds = np.where(many, -(-folds // engines), 1)
        stream, fill = FOLD_CYCLES[df](hw.pe_rows, hw.pe_cols, time.astype(np.float64))
        best = np.minimum(best, folds.astype(np.float64) * (stream + fill))
    return best
