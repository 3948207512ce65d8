"""Vectorized latency / energy model of a PE array with three operand buffers, and its search.

One call prices every candidate mapping of one GEMM at once: arrays over dataflows (D), loop
orders (O) and tile triples (T), combined by broadcasting into ``(D, O, T)`` arrays (no Python
loop per mapping). Pricing a single mapping (:meth:`ArrayEngine.evaluate`) runs the same code
on a one-candidate set, so its :class:`Cost` equals the search's bit for bit.

Model (all per batch element, multiplied by ``batch``; the batch loop is outermost, and since
every batch element has its own A and B, batch multiplies the folds in every dataflow):

Timing. The tile loops cut the GEMM into tiles ``(tile_m, tile_n, tile_k)``; each tile runs
as SCALE-Sim folds (:mod:`analytical_models._timing`). Summed over tiles the counts separate:
``folds = FR[row dim] * FC[col dim]`` with ``FR[x] = sum over tiles of ceil(t_x / R)`` (and
``FC`` with C), and the per-fold formula is summed over the temporal tiles (full tiles plus the
remainder). With one tile per dimension this is exactly SCALE-Sim's
``ceil(Sr/R) * ceil(Sc/C) * per_fold(T)``. ``compute_cycles`` is the streaming part,
``fill_drain_cycles`` the rest.

Buffers. Each operand buffer is double-buffered: a tile may use half of it. A and B tiles
must fit (``tile_m*tile_k`` and ``tile_k*tile_n`` elements at ``bits``); the C tile is kept
at ``acc_bits`` and spills to DRAM when it does not fit.

DRAM traffic (loop order outermost first). Each operand has one irrelevant loop (A: n,
B: m, C: k). Inside it the operand touches, per relevant dimension, the whole dimension (that
loop nested inside) or one tile (outside; full tiles and the ragged last tile are two
classes). A class whose footprint does not fit the (half) buffer is refetched once per
iteration of the irrelevant loop, one that fits is fetched once: all or nothing, which is what
an LRU buffer does on this cyclic pattern (the tests check it against a tile-by-tile LRU
simulation; a Belady-optimal buffer would keep part of an oversized footprint). A and B:
``bytes = bytes_per_element * sum over classes of elements * (ntiles_irrelevant or 1)``.
C: classes that do not fit at ``acc_bits`` make ``nk - 1`` partial-sum round trips (read and
write, at ``acc_bits``; none when K is not split); the final result is written once at
``bits``.

SRAM accesses. Fills write what DRAM delivers. The array reads the operand whose two
dimensions lie on the array (stationary) once per temporal tile, the operand on (rows, time)
once per column fold, the one on (columns, time) once per row fold; the output buffer is
read-modified-written at ``acc_bits`` once per accumulation (the first one without a read),
and read again for everything written back to DRAM.

Stalls (first order, double buffering): loads overlap compute except the first tile's A and B
and the last C tile, so ``stall = max(exposed, dram_bytes / bw - (compute + fill_drain))``,
i.e. latency ``= max(compute + fill_drain + exposed, dram_bytes / bw) + shaping``, where
``exposed = (tile_m*tile_k + tile_k*tile_n + tile_m*tile_n) * bytes_per_element / bw``.

Serial memory timing (``Hardware.memory_timing == "serial"``, an accelerator like SCALE-Sim
v3's bandwidth-limited USER mode): one DRAM port per operand at ``bw`` each and no overlap,
``stall = load + drain`` (``exposed`` unused) with

* ``load = max(A_port, B_port) / bw``: both read ports in parallel, each operand's whole
  traffic (refetches included) before compute. Operands are fetched padded to whole folds:
  the DRAM bytes of A (resp. B) are scaled by ``F[x] * W / x`` for its padded dimension ``x``
  on array side ``W`` (``F[x]`` = folds of ``x`` on ``W`` summed over its tiles, i.e.
  ``sum ceil(t_x / W)``): WS A: K on R, B: N on C; IS A: M on C, B: K on R; OS A: M on R,
  B: N on C (SCALE-Sim's padding, e.g. WS ``A_pad = M * ceil(K/R) * R`` untiled). The scale is
  exact whenever every tile of ``x`` is fetched equally often (always for an untiled
  mapping); otherwise it is the tile-averaged padding.
* ``drain = C_port / bw``: WS / IS write every row fold's M x N partial result, at ``bits``,
  ``C_port = batch * M * N * F[K] * bytes_per_element`` (``F[K] = sum over K tiles of
  ceil(tile_k / R)``; untiled: SCALE-Sim's ``M * N * ceil(K/R)``), in place of the model's
  partial-sum spills; OS writes the result once plus the model's partial-sum round trips,
  ``C_port = dram_write_bytes + psum`` (untiled: ``M * N``).

So ``cycles = load + compute + fill_drain + drain + shaping``; SCALE-Sim's "Total Cycles
(incl. prefetch)" with the operands on chip is the same up to its rounding (``ceil`` of each
transfer, -2 cycles). Only the timing differs between the modes; traffic and access energies
are the overlapped model's. The search's pruning (:func:`screen`) is off in serial mode.

Energy: ``macs * mac_pj(bits)`` + per buffer (bits read x read pJ/bit + bits written x write
pJ/bit at that buffer's size) + DRAM bits x pJ/bit + leakage power x latency.

Tensor shaping (engines that cannot reshape on the fly): each permuted operand makes one
round trip (read + write) through its own buffer when it fits the whole buffer, at one row of
R (ifmap) or C (filter, ofmap) elements per cycle; otherwise through DRAM at ``bw``. The
shaping is serial with the GEMM (``shaping_cycles``) and its traffic and energy are added to
the buffer / DRAM figures.
"""

from __future__ import annotations

import ctypes
import math
import os
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from analytical_models._area import leakage_mw
from analytical_models._registry import OBJECTIVES, MappingResult, Objective
from analytical_models._tech import get_tech, sram_pj_per_bit
from analytical_models._timing import FOLD_CYCLES, GEOMETRY, K_DIM, M_DIM, N_DIM
from analytical_models._types import DATAFLOWS, Cost, Gemm, Hardware, Mapping, ModelInputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

LOOP_ORDERS: tuple[str, ...] = ("mnk", "mkn", "nmk", "nkm", "kmn", "knm")
"""The six tile-loop orders, outermost first."""

_ORDER_INDEX = {o: i for i, o in enumerate(LOOP_ORDERS)}


def tune_allocator(*, mmap_threshold_bytes: int = 32 << 20, trim_threshold_bytes: int = 128 << 20) -> bool:
    """Stop glibc from returning the search's temporaries to the OS after every call.

    A search allocates and frees a few dozen arrays of 0.1 - 1 MB. With glibc's default
    (dynamic) thresholds those either are mmap-ed and unmapped each time or make the heap top
    be trimmed and regrown, and every call pays page faults for memory it just released: on
    the TT-BERT mix this doubles the search time. Raising the mmap and trim thresholds keeps
    that memory in the heap (at most ``trim_threshold_bytes`` of free memory stays mapped).
    Called once when :mod:`analytical_models` is imported unless the environment variable
    ``TNN_DSE_NO_MALLOC_TUNING`` is set; a no-op (False) off glibc.

    Returns:
        True when both thresholds were set.
    """
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc <malloc.h>
    return bool(mallopt(m_mmap_threshold, mmap_threshold_bytes)) and bool(
        mallopt(m_trim_threshold, trim_threshold_bytes)
    )


if not os.environ.get("TNN_DSE_NO_MALLOC_TUNING"):
    tune_allocator()
# _INNER[o, x, y]: in loop order o, the loop over dimension y is nested inside the loop over x.
_INNER: BoolArray = np.array(
    [[[o.index("mnk"[y]) > o.index("mnk"[x]) for y in range(3)] for x in range(3)] for o in LOOP_ORDERS],
    dtype=np.bool_,
)
_ALL_ORDERS: IntArray = np.arange(len(LOOP_ORDERS), dtype=np.int64)


class HwConsts(NamedTuple):
    """Per-hardware scalars of the model (derived once per :class:`Hardware`, cached)."""

    rows: int
    cols: int
    n_pes: int
    bytes_per_el: float
    acc_bytes: float
    cap_a_bytes: float
    """Usable (half, double-buffered) ifmap buffer in bytes; same for b, c below."""
    cap_b_bytes: float
    cap_c_bytes: float
    mac_pj: float
    ifmap_rd_pj_bit: float
    ifmap_wr_pj_bit: float
    filter_rd_pj_bit: float
    filter_wr_pj_bit: float
    ofmap_rd_pj_bit: float
    ofmap_wr_pj_bit: float
    dram_pj_bit: float
    leak_pj_per_cycle: float
    bw_bytes_per_cycle: float
    serial: bool = False
    """``Hardware.memory_timing == "serial"``."""


@lru_cache(maxsize=65_536)
def hw_consts(hw: Hardware) -> HwConsts:
    """Scalars of ``hw`` used by the model (energies in pJ per bit, capacities in bytes)."""
    tech = get_tech(hw.tech)
    i_rd, i_wr = sram_pj_per_bit(hw.tech, hw.ifmap_sram_kb)
    f_rd, f_wr = sram_pj_per_bit(hw.tech, hw.filter_sram_kb)
    o_rd, o_wr = sram_pj_per_bit(hw.tech, hw.ofmap_sram_kb)
    # mW * (1 / (f_MHz * 1e6)) s per cycle = 1e-9 / f_MHz J = 1e3 / f_MHz pJ per cycle.
    leak = leakage_mw(hw) * 1e3 / hw.freq_mhz
    return HwConsts(
        rows=hw.pe_rows,
        cols=hw.pe_cols,
        n_pes=hw.n_pes,
        bytes_per_el=hw.bits / 8.0,
        acc_bytes=hw.acc_bits / 8.0,
        cap_a_bytes=hw.ifmap_sram_kb * 512.0,
        cap_b_bytes=hw.filter_sram_kb * 512.0,
        cap_c_bytes=hw.ofmap_sram_kb * 512.0,
        mac_pj=tech.mac_pj(hw.bits),
        ifmap_rd_pj_bit=i_rd,
        ifmap_wr_pj_bit=i_wr,
        filter_rd_pj_bit=f_rd,
        filter_wr_pj_bit=f_wr,
        ofmap_rd_pj_bit=o_rd,
        ofmap_wr_pj_bit=o_wr,
        dram_pj_bit=tech.dram_pj_per_bit,
        leak_pj_per_cycle=leak,
        bw_bytes_per_cycle=hw.dram_bw_bytes_per_cycle,
        serial=hw.memory_timing == "serial",
    )


class Shaping(NamedTuple):
    """Tensor-shaping (permutation) overhead of one GEMM: cycles and bytes per level."""

    cycles: float = 0.0
    ifmap_rd_bytes: float = 0.0
    ifmap_wr_bytes: float = 0.0
    filter_rd_bytes: float = 0.0
    filter_wr_bytes: float = 0.0
    ofmap_rd_bytes: float = 0.0
    ofmap_wr_bytes: float = 0.0
    dram_rd_bytes: float = 0.0
    dram_wr_bytes: float = 0.0


NO_SHAPING = Shaping()


@lru_cache(maxsize=65_536)
def buffer_shaping(gemm: Gemm, hw: Hardware) -> Shaping:
    """Shaping cost on an array without on-the-fly reshaping (see the module docstring).

    Each permuted operand is read and written once: through its own buffer at ``R`` (ifmap) or
    ``C`` (filter, ofmap) elements per cycle when the whole tensor fits the buffer, else
    through DRAM at ``dram_bw_bytes_per_cycle``. Cycles are serial with the GEMM.
    """
    bpe = hw.bits / 8.0
    out: dict[str, float] = dict.fromkeys(Shaping._fields, 0.0)
    for name, elements, kb, width in (
        ("ifmap", gemm.permute_a_elements, hw.ifmap_sram_kb, hw.pe_rows),
        ("filter", gemm.permute_b_elements, hw.filter_sram_kb, hw.pe_cols),
        ("ofmap", gemm.permute_c_elements, hw.ofmap_sram_kb, hw.pe_cols),
    ):
        if elements <= 0:
            continue
        nbytes = elements * bpe
        if nbytes <= kb * 1024.0:
            out["cycles"] += 2.0 * elements / width
            out[f"{name}_rd_bytes"] += nbytes
            out[f"{name}_wr_bytes"] += nbytes
        else:
            out["cycles"] += 2.0 * nbytes / hw.dram_bw_bytes_per_cycle
            out["dram_rd_bytes"] += nbytes
            out["dram_wr_bytes"] += nbytes
    return Shaping(**out)


@lru_cache(maxsize=16_384)
def dim_candidates(size: int) -> IntArray:
    """Tile-size candidates for one dimension of ``size`` elements.

    The balanced splits ``ceil(size / 2**j)`` (no ragged remainder) and the powers of two up to
    ``size``, sorted ascending.
    """
    vals = {-(-size // (1 << j)) for j in range(size.bit_length())}
    vals.update(1 << j for j in range(size.bit_length()))
    out = np.array(sorted(vals), dtype=np.int64)
    out.setflags(write=False)
    return out


class TileStats(NamedTuple):
    """Hardware-independent per-tile arrays of one GEMM shape (see :func:`grid_stats`)."""

    q: IntArray
    """Full tiles per dimension, ``(3, T)``."""
    rem: IntArray
    """Ragged remainder per dimension, ``(3, T)``."""
    has_rem: BoolArray
    nfull: FloatArray
    ntiles: FloatArray
    both: FloatArray
    """Temporal extents (full tile, remainder) as floats, ``(3, 2, T)``."""
    times: FloatArray
    """Tile count of each operand's irrelevant dimension (A: n, B: m, C: k), ``(3, T)``."""
    class_el: FloatArray
    """Elements of each footprint class of each operand, ``(8, 3, T)``: four classes with both
    dimensions outside (full x full, full x ragged, ragged x full, ragged x ragged), two with
    the first dimension nested inside (whole x full, whole x ragged), two with the second
    (full x whole, ragged x whole). A class is moved once, or ``times`` times if its footprint
    does not fit."""
    class_fp: FloatArray
    """Footprint (elements) of one instance of each class, ``(8, 3, T)``."""
    whole_el: FloatArray
    """Both dimensions nested inside: the whole operand, ``(3, 1)`` elements."""
    footprint: IntArray
    """``tile_m * tile_k + tile_k * tile_n + tile_m * tile_n`` elements, ``(T,)``."""
    fold_idx: IntArray | None = None
    """For :func:`grid_stats`: ``(2, 3, T)`` indices of each tile size into the concatenated
    :func:`_fold_sums` of (m, n, k) on the rows, then on the columns (see :func:`stage`)."""


_X1 = np.array(
    [x1 for x1, _, _ in ((M_DIM, K_DIM, N_DIM), (K_DIM, N_DIM, M_DIM), (M_DIM, N_DIM, K_DIM))], dtype=np.int64
)
_X2 = np.array([K_DIM, N_DIM, N_DIM], dtype=np.int64)
_Y = np.array([N_DIM, M_DIM, K_DIM], dtype=np.int64)


# Footprint classes (see TileStats.class_el) as rows of the per-dimension table of
# _compute_tile_stats (0 full tile, 1 ragged tile, 2 covered by full tiles, 3 whole dimension)
# for the operand's first and second dimension: elements, then one instance's footprint.
_EL_1 = np.array([2, 2, 1, 1, 3, 3, 2, 1], dtype=np.int64)[:, None]
_EL_2 = np.array([2, 1, 2, 1, 2, 1, 3, 3], dtype=np.int64)[:, None]
_FP_1 = np.array([0, 0, 1, 1, 3, 3, 0, 1], dtype=np.int64)[:, None]
_FP_2 = np.array([0, 1, 0, 1, 0, 1, 3, 3], dtype=np.int64)[:, None]


def _compute_tile_stats(m: int, n: int, k: int, tiles: IntArray) -> TileStats:
    dims_i = np.array([[m], [n], [k]], dtype=np.int64)
    q = dims_i // tiles
    rem = dims_i - q * tiles
    has_rem = rem > 0
    nfull = q.astype(np.float64)
    ntiles = nfull + has_rem
    per_dim = np.empty((4, 3, tiles.shape[1]))
    per_dim[0] = tiles  # full-tile extent
    per_dim[1] = rem  # ragged-tile extent
    per_dim[2] = nfull * per_dim[0]  # elements covered by the full tiles
    per_dim[3] = dims_i  # whole dimension
    times = ntiles[_Y]
    class_el = per_dim[_EL_1, _X1] * per_dim[_EL_2, _X2]
    class_fp = per_dim[_FP_1, _X1] * per_dim[_FP_2, _X2]
    tm, tn, tk = tiles
    whole = dims_i.astype(np.float64)
    return TileStats(
        q=q,
        rem=rem,
        has_rem=has_rem,
        nfull=nfull,
        ntiles=ntiles,
        both=per_dim[:2].swapaxes(0, 1),
        times=times,
        class_el=class_el,
        class_fp=class_fp,
        whole_el=whole[_X1] * whole[_X2],
        footprint=tm * tk + tk * tn + tm * tn,
    )


def tile_grid(m: int, n: int, k: int, a_cap_elements: int, b_cap_elements: int) -> IntArray:
    """All candidate tile triples whose A and B tiles fit, as a read-only ``(3, T)`` array.

    Args:
        m, n, k: GEMM dimensions in elements.
        a_cap_elements: usable ifmap buffer in elements (``tile_m * tile_k`` must fit).
        b_cap_elements: usable filter buffer in elements (``tile_k * tile_n`` must fit).

    Returns:
        Rows ``tile_m``, ``tile_n``, ``tile_k``; columns in a fixed (m-major, ascending) order.
    """
    return grid(m, n, k, a_cap_elements, b_cap_elements)[0]


@lru_cache(maxsize=1024)  # entries are tens of kB: keep the cache bounded
def grid(m: int, n: int, k: int, a_cap_elements: int, b_cap_elements: int) -> tuple[IntArray, IntArray]:
    """:func:`tile_grid` and, per tile, the index of each tile size in the concatenated
    :func:`dim_candidates` of m, n, k (``(3, T)``, read-only; see :func:`grid_stats`).

    The key is the GEMM shape and the buffer capacities in elements only (not the batch, the
    permutation volumes or any other hardware field), so every GEMM of one shape on buffers of
    one size shares an entry.
    """
    cm, cn, ck = dim_candidates(m), dim_candidates(n), dim_candidates(k)
    # A and B fit tests on the small (m, k) and (k, n) planes, then one 3-D mask.
    ok = (cm[:, None] * ck[None, :] <= a_cap_elements)[:, None, :] & (ck[None, :] * cn[:, None] <= b_cap_elements)[
        None, :, :
    ]
    im, in_, ik = np.nonzero(ok)
    tiles = np.stack((cm[im], cn[in_], ck[ik]))
    idx = np.stack((im, in_ + cm.size, ik + (cm.size + cn.size)))
    tiles.setflags(write=False)
    idx.setflags(write=False)
    return tiles, idx


def grid_stats(m: int, n: int, k: int, tiles: IntArray, idx: IntArray) -> TileStats:
    """:func:`_compute_tile_stats` of :func:`grid` tiles, gathered from per-dimension tables.

    The same integers (as floats) with a few row gathers instead of per-tile arithmetic; not
    cached (the arrays are ~30 floats per tile; building them is cheaper than keeping them).
    """
    table = np.concatenate((_dim_table(m), _dim_table(n), _dim_table(k)), axis=1)
    n_t = idx.shape[1]
    per_tile = np.take(table, idx, axis=1)  # (6, 3, T)
    rows = per_tile.reshape(18, n_t)  # row 3 * quantity + dimension
    nfull, ntiles = per_tile[4], per_tile[5]
    times = np.take(rows, _TIMES_ROWS, axis=0)
    class_el = np.take(rows, _EL_ROWS_1, axis=0) * np.take(rows, _EL_ROWS_2, axis=0)
    class_fp = np.take(rows, _FP_ROWS_1, axis=0) * np.take(rows, _FP_ROWS_2, axis=0)
    class_el = class_el.reshape(8, 3, n_t)
    tm, tn, tk = tiles
    whole = np.array([[float(m)], [float(n)], [float(k)]])
    return TileStats(
        q=nfull.astype(np.int64),
        rem=per_tile[1].astype(np.int64),
        has_rem=per_tile[1] > 0,
        nfull=nfull,
        ntiles=ntiles,
        both=per_tile[:2].swapaxes(0, 1),
        times=times,
        class_el=class_el,
        class_fp=class_fp.reshape(8, 3, n_t),
        whole_el=whole[_X1] * whole[_X2],
        footprint=tm * tk + tk * tn + tm * tn,
        fold_idx=np.stack((idx, idx + table.shape[1])),
    )


# Row numbers (3 * quantity + dimension) in the (18, T) view of grid_stats' gathered table.
_TIMES_ROWS = 3 * 5 + _Y
_EL_ROWS_1 = (3 * _EL_1 + _X1).ravel()
_EL_ROWS_2 = (3 * _EL_2 + _X2).ravel()
_FP_ROWS_1 = (3 * _FP_1 + _X1).ravel()
_FP_ROWS_2 = (3 * _FP_2 + _X2).ravel()


@lru_cache(maxsize=16_384)
def _dim_table(size: int) -> FloatArray:
    """Per tile size of :func:`dim_candidates` ``(size)``: full-tile extent, ragged extent,
    elements under the full tiles, whole dimension, full tiles, all tiles; ``(6, L)``."""
    cand = dim_candidates(size)
    q = size // cand
    rem = size - q * cand
    nfull = q.astype(np.float64)
    full = cand.astype(np.float64)
    return np.stack((full, rem.astype(np.float64), nfull * full, np.full_like(full, size), nfull, nfull + (rem > 0)))


@lru_cache(maxsize=65_536)
def _fold_sums(size: int, width: int) -> FloatArray:
    """Folds of a ``size`` dimension on ``width`` PEs summed over its tiles, per tile size.

    ``q * ceil(t / width) + ceil(rem / width)`` for every :func:`dim_candidates` ``t`` of
    ``size`` (``q`` full tiles, ``rem`` ragged remainder), as floats.
    """
    cand = dim_candidates(size)
    q = size // cand
    rem = size - q * cand
    out: FloatArray = (q * -(-cand // width) + -(-rem // width)).astype(np.float64)
    return out


class Stage(NamedTuple):
    """Mapping-dependent intermediates of a candidate set.

    Layout ``(D, O, T)``: dataflows, loop orders, tile triples (innermost, contiguous).
    Cycles are in cycles, traffic in bytes (whole GEMM, all batch elements).
    """

    compute: FloatArray
    """Streaming cycles, ``(D, 1, T)``."""
    fill: FloatArray
    """Fill/drain cycles, ``(D, 1, T)``."""
    a_rd: FloatArray
    """ifmap-buffer bytes read by the array, ``(D, 1, T)``."""
    b_rd: FloatArray
    """filter-buffer bytes read by the array, ``(D, 1, T)``."""
    c_acc: FloatArray
    """Output-element accumulations into the ofmap buffer, ``(D, 1, T)``."""
    a_dram: FloatArray
    """A bytes fetched from DRAM, ``(1, O, T)``."""
    b_dram: FloatArray
    """B bytes fetched from DRAM, ``(1, O, T)``."""
    psum: FloatArray
    """Partial-sum bytes spilled to DRAM (each way), ``(1, O, T)``."""
    exposed: FloatArray
    """DRAM cycles not hidden by double buffering (first A+B tile, last C tile), ``(1, 1, T)``."""
    serial: SerialTerms | None = None
    """Serial-timing terms, ``(D, 1, T)`` each (None in overlapped mode)."""


class SerialTerms(NamedTuple):
    """Per-dataflow terms of the serial memory timing (see the module docstring).

    Arrays broadcast against the ``(1, O, T)`` traffic; Python floats for one candidate.
    """

    pad_a: FloatArray
    """Fold-padding scale of A's DRAM bytes on its read port (>= 1)."""
    pad_b: FloatArray
    """Fold-padding scale of B's DRAM bytes on its read port (>= 1)."""
    c_fold_wr: FloatArray
    """WS / IS: bytes of the per-row-fold partial results written to DRAM; OS: 0."""
    c_model: FloatArray
    """OS: 1 (C port carries the model's C traffic, write + partial-sum reads); WS / IS: 0."""

    def at(self, d: int, t: int) -> tuple[float, float, float, float]:
        """The four terms of candidate ``(d, t)`` of a ``(D, 1, T)`` set, as floats."""
        return (
            float(self.pad_a[d, 0, t]),
            float(self.pad_b[d, 0, t]),
            float(self.c_fold_wr[d, 0, t]),
            float(self.c_model[d, 0, 0]),
        )


def serial_stall(
    a_dram: FloatArray | float,
    b_dram: FloatArray | float,
    psum: FloatArray | float,
    wr: FloatArray | float,
    pad_a: FloatArray | float,
    pad_b: FloatArray | float,
    c_fold_wr: FloatArray | float,
    c_model: FloatArray | float,
    bw: float,
) -> FloatArray:
    """Serial-mode stall ``load + drain``: the one formula of the grid, the single mapping
    and the picked-candidate fast path (arrays or Python floats; the same IEEE operations).

    ``wr`` is the model's DRAM write bytes (result + partial sums), ``psum`` its partial-sum
    bytes each way.
    """
    load = np.maximum(a_dram * pad_a, b_dram * pad_b) / bw
    drain = (c_fold_wr + c_model * (wr + psum)) / bw
    out: FloatArray = np.asarray(load + drain)
    return out


# Serial timing: (array side 0 = rows / 1 = columns) of the padded dimension of A and of B.
_PAD_SIDES: dict[str, tuple[int, int]] = {"ws": (0, 1), "is": (1, 0), "os": (0, 1)}


# Per-dataflow index tables: dimension on rows / columns / time, and for each operand the role
# (0 = row, 1 = column, 2 = time) of its irrelevant dimension (A: n, B: m, C: k).
def _role(df: str, x: int) -> int:
    return GEOMETRY[df].index(x)


@lru_cache(maxsize=64)
def _dataflow_tables(dataflows: tuple[str, ...]) -> tuple[IntArray, ...]:
    rows_x = np.array([GEOMETRY[d][0] for d in dataflows], dtype=np.int64)
    cols_x = np.array([GEOMETRY[d][1] for d in dataflows], dtype=np.int64)
    time_x = np.array([GEOMETRY[d][2] for d in dataflows], dtype=np.int64)
    role_a = np.array([_role(d, N_DIM) for d in dataflows], dtype=np.int64)
    role_b = np.array([_role(d, M_DIM) for d in dataflows], dtype=np.int64)
    role_c = np.array([_role(d, K_DIM) for d in dataflows], dtype=np.int64)
    return rows_x, cols_x, time_x, role_a, role_b, role_c


# _MODES[o, operand]: for A (m, k | n), B (k, n | m), C (m, n | k), which of the operand's two
# dimensions have their loop nested inside its irrelevant loop in order o: bit 0 the first,
# bit 1 the second.
_OPERANDS = ((M_DIM, K_DIM, N_DIM), (K_DIM, N_DIM, M_DIM), (M_DIM, N_DIM, K_DIM))
_MODES: IntArray = np.array(
    [[int(_INNER[o, y, x1]) + 2 * int(_INNER[o, y, x2]) for x1, x2, y in _OPERANDS] for o in range(len(LOOP_ORDERS))],
    dtype=np.int64,
)


class ModeStage(NamedTuple):
    """Loop-order-free intermediates of a candidate set: :class:`Stage` before the order gather.

    ``compute``, ``fill``, ``a_rd``, ``b_rd``, ``c_acc`` as in :class:`Stage` but ``(D, T)``;
    ``moved[mode, operand]`` the elements of A, B, C moved per batch element in each of the
    four modes, ``(4, 3, T)``; ``exposed`` ``(T,)``.
    """

    compute: FloatArray
    fill: FloatArray
    a_rd: FloatArray
    b_rd: FloatArray
    c_acc: FloatArray
    moved: FloatArray
    exposed: FloatArray
    serial: SerialTerms | None = None
    """Serial-timing terms, ``(D, T)`` (``c_model`` ``(D, 1)``); None in overlapped mode."""


def stage(
    gemm: Gemm,
    c: HwConsts,
    dataflows: tuple[str, ...],
    tiles: IntArray,
    orders: IntArray,
    stats: TileStats | None = None,
) -> Stage:
    """Timing and traffic of every (dataflow, loop order, tile triple) combination at once.

    Args:
        gemm: the operation.
        c: hardware scalars from :func:`hw_consts`.
        dataflows: the D dataflows to price.
        tiles: ``(3, T)`` tile sizes (rows m, n, k) in elements, each ``1 <= tile <= dim``.
        orders: the O loop orders, as indices into :data:`LOOP_ORDERS`.
        stats: :func:`_compute_tile_stats` of ``tiles`` if already known (see
            :func:`grid_stats`).
    """
    return with_orders(stage_modes(gemm, c, dataflows, tiles, stats), gemm, c, orders)


def with_orders(ms: ModeStage, gemm: Gemm, c: HwConsts, orders: IntArray, keep: IntArray | None = None) -> Stage:
    """The :class:`Stage` of ``ms`` for the loop ``orders``, on the tiles ``keep`` (or all)."""
    sr = ms.serial
    if keep is None:
        compute, fill, a_rd, b_rd, c_acc, moved, exposed = ms[:7]
    else:
        compute, fill, a_rd, b_rd, c_acc = (a[:, keep] for a in ms[:5])
        moved, exposed = ms.moved[:, :, keep], ms.exposed[keep]
        if sr is not None:
            sr = SerialTerms(sr.pad_a[:, keep], sr.pad_b[:, keep], sr.c_fold_wr[:, keep], sr.c_model)
    batch = float(gemm.batch)
    bpe = c.bytes_per_el
    modes = _MODES[orders]
    a_el = moved[modes[:, 0], 0]
    b_el = moved[modes[:, 1], 1]
    # Partial sums of a C class that does not fit make nk - 1 round trips (0 when nk = 1).
    c_el = moved[modes[:, 2], 2]
    psum_el = c_el - float(gemm.m) * gemm.n
    return Stage(
        compute=compute[:, None],
        fill=fill[:, None],
        a_rd=a_rd[:, None],
        b_rd=b_rd[:, None],
        c_acc=c_acc[:, None],
        a_dram=((batch * bpe) * a_el)[None],
        b_dram=((batch * bpe) * b_el)[None],
        psum=((batch * c.acc_bytes) * psum_el)[None],
        exposed=exposed[None, None],
        serial=None if sr is None else SerialTerms(*(a[:, None] for a in sr)),
    )


def stage_modes(
    gemm: Gemm,
    c: HwConsts,
    dataflows: tuple[str, ...],
    tiles: IntArray,
    stats: TileStats | None = None,
) -> ModeStage:
    """:func:`stage` up to the per-loop-order gather (the part that scales with the tiles).

    Args:
        gemm: the operation.
        c: hardware scalars from :func:`hw_consts`.
        dataflows: the D dataflows to price.
        tiles: ``(3, T)`` tile sizes (rows m, n, k) in elements, each ``1 <= tile <= dim``.
        stats: :func:`_compute_tile_stats` of ``tiles`` if already known (see
            :func:`grid_stats`).
    """
    batch = float(gemm.batch)
    rows, cols = c.rows, c.cols
    ts = _compute_tile_stats(gemm.m, gemm.n, gemm.k, tiles) if stats is None else stats
    # Row / column folds summed over the tiles of each dimension, and the tile counts:
    # reuse[role, x] for role 0 = on the rows, 1 = on the columns, 2 = in time.
    reuse = np.empty((3, 3, tiles.shape[1]))
    if ts.fold_idx is not None:  # per-dimension sums (cached), gathered per tile
        m, n, k = gemm.m, gemm.n, gemm.k
        per_size = np.concatenate(
            (
                _fold_sums(m, rows),
                _fold_sums(n, rows),
                _fold_sums(k, rows),
                _fold_sums(m, cols),
                _fold_sums(n, cols),
                _fold_sums(k, cols),
            )
        )
        reuse[:2] = per_size[ts.fold_idx]
    else:
        reuse[0] = ts.q * -(-tiles // rows) + -(-ts.rem // rows)
        reuse[1] = ts.q * -(-tiles // cols) + -(-ts.rem // cols)
    reuse[2] = ts.ntiles
    both = ts.both

    rows_x, cols_x, time_x, role_a, role_b, role_c = _dataflow_tables(dataflows)
    folds = batch * (reuse[0, rows_x] * reuse[1, cols_x])  # (D, T)
    w_full = ts.nfull[time_x]
    has_t = ts.has_rem[time_x]
    n_d = len(dataflows)
    stream = np.empty((n_d, 2, tiles.shape[1]))
    fill_fold = np.empty_like(stream)
    for i, d in enumerate(dataflows):
        stream[i], fill_fold[i] = FOLD_CYCLES[d](rows, cols, both[time_x[i]])
    compute = folds * (w_full * stream[:, 0] + np.where(has_t, stream[:, 1], 0.0))
    fill = folds * (w_full * fill_fold[:, 0] + np.where(has_t, fill_fold[:, 1], 0.0))

    mk = batch * gemm.m * gemm.k
    kn = batch * gemm.k * gemm.n
    mn = batch * gemm.m * gemm.n
    bpe = c.bytes_per_el
    a_rd = (mk * bpe) * reuse[role_a, N_DIM]
    b_rd = (kn * bpe) * reuse[role_b, M_DIM]
    c_acc = mn * reuse[role_c, K_DIM]

    # Refetches. Inside its irrelevant loop an operand touches, per relevant dimension, the
    # whole dimension (that loop nested inside) or one tile (outside; full tiles and the ragged
    # last tile are two classes). A class whose footprint does not fit is refetched once per
    # iteration of the irrelevant loop. Each loop order puts an operand in one of four modes
    # (which of its two dimensions are nested inside); price the modes of the three operands
    # at once on (operand, T) arrays, then gather them per order. Per footprint class this is
    # ``elements * (times if footprint * el_bytes > cap_bytes else 1)``, bit for bit, with the
    # hardware-independent products taken from the tile stats.
    el_bytes, cap_bytes, threshold = _operand_bytes(c)
    # With power-of-two element sizes the product is exact: compare elements to a threshold.
    spill = ts.class_fp > threshold if threshold is not None else ts.class_fp * el_bytes > cap_bytes
    v = ts.class_el * np.where(spill, ts.times, 1.0)  # x times or x 1: exact
    out = np.empty((4, 3, tiles.shape[1]))
    out[0] = (v[0] + v[1]) + (v[2] + v[3])  # both outside: one tile at a time
    out[1] = v[4] + v[5]  # first dimension nested inside
    out[2] = v[6] + v[7]  # second dimension nested inside
    whole = ts.whole_el
    out[3] = whole * np.where(whole * el_bytes > cap_bytes, ts.times, 1.0)
    exposed = (ts.footprint * (bpe / c.bw_bytes_per_cycle)).astype(np.float64, copy=False)
    serial = _serial_terms(gemm, c, dataflows, reuse, c_acc) if c.serial else None
    return ModeStage(compute, fill, a_rd, b_rd, c_acc, out, exposed, serial)


def _serial_terms(
    gemm: Gemm, c: HwConsts, dataflows: tuple[str, ...], reuse: FloatArray, c_acc: FloatArray
) -> SerialTerms:
    """:class:`SerialTerms` ``(D, T)`` from the fold sums ``reuse[side, dim]`` of stage_modes."""
    dims = (gemm.m, gemm.n, gemm.k)
    widths = (c.rows, c.cols)
    pads = []
    for operand in (0, 1):
        rows = []
        for d in dataflows:
            side = _PAD_SIDES[d][operand]
            x = GEOMETRY[d][side]
            rows.append(reuse[side, x] * float(widths[side]) / float(dims[x]))
        pads.append(np.stack(rows))
    per_fold = np.array([[0.0 if d == "os" else 1.0] for d in dataflows])
    # c_acc = batch * M * N * (row folds of K summed over the K tiles) for WS / IS.
    return SerialTerms(pads[0], pads[1], c_acc * (per_fold * c.bytes_per_el), 1.0 - per_fold)


@lru_cache(maxsize=65_536)
def _operand_bytes(c: HwConsts) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Bytes per element and usable buffer bytes of A, B, C (``(3, 1)`` each), and the
    usable buffers in elements when every element size is a power of two (else None)."""
    el = np.array([c.bytes_per_el, c.bytes_per_el, c.acc_bytes]).reshape(3, 1)
    cap = np.array([c.cap_a_bytes, c.cap_b_bytes, c.cap_c_bytes]).reshape(3, 1)
    exact = all(math.frexp(x)[0] == 0.5 for x in (c.bytes_per_el, c.acc_bytes))
    return el, cap, (cap / el if exact else None)


def _gemm_dram(
    gemm: Gemm, c: HwConsts, a_dram: FloatArray, b_dram: FloatArray, psum: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """DRAM bytes (read, written) of the GEMM itself, without shaping."""
    return a_dram + b_dram + psum, (gemm.batch * gemm.m * gemm.n * c.bytes_per_el) + psum


def _cycles(
    gemm: Gemm,
    c: HwConsts,
    shaping: Shaping,
    compute: FloatArray,
    fill: FloatArray,
    a_dram: FloatArray,
    b_dram: FloatArray,
    psum: FloatArray,
    exposed: FloatArray,
    serial: SerialTerms | None = None,
) -> tuple[FloatArray, FloatArray]:
    """``(stall, total cycles)``; the one formula used by both the grid and single mappings
    (:func:`picked_costs` repeats it on Python floats)."""
    rd, wr = _gemm_dram(gemm, c, a_dram, b_dram, psum)
    if serial is not None:
        stall = serial_stall(a_dram, b_dram, psum, wr, *serial, c.bw_bytes_per_cycle)
        return stall, compute + fill + stall + shaping.cycles
    stall = np.maximum(exposed, (rd + wr) / c.bw_bytes_per_cycle - (compute + fill))
    return stall, compute + fill + stall + shaping.cycles


def grid_objectives(st: Stage, gemm: Gemm, c: HwConsts, shaping: Shaping) -> tuple[FloatArray, FloatArray]:
    """``(cycles, energy_pj)`` of every candidate, shape ``(D, O, T)``.

    The energy is the same sum as :attr:`Cost.energy_pj`, factored into a ``(D, 1, T)`` and a
    ``(1, O, T)`` part to keep full-size operations few (it may differ in the last ulp).
    """
    _, cycles = _cycles(
        gemm,
        c,
        shaping,
        st.compute,
        st.fill,
        st.a_dram,
        st.b_dram,
        st.psum,
        st.exposed,
        st.serial,
    )
    acc8 = 8.0 * c.acc_bytes
    mn = gemm.batch * gemm.m * gemm.n
    e_dt = (
        gemm.macs * c.mac_pj
        + st.a_rd * (8.0 * c.ifmap_rd_pj_bit)
        + st.b_rd * (8.0 * c.filter_rd_pj_bit)
        + (st.c_acc - mn) * (acc8 * c.ofmap_rd_pj_bit)
        + st.c_acc * (acc8 * c.ofmap_wr_pj_bit)
    )
    rd, wr = _gemm_dram(gemm, c, st.a_dram, st.b_dram, st.psum)
    e_ot = (
        st.a_dram * (8.0 * c.ifmap_wr_pj_bit)
        + st.b_dram * (8.0 * c.filter_wr_pj_bit)
        + wr * (8.0 * c.ofmap_rd_pj_bit)
        + st.psum * (8.0 * c.ofmap_wr_pj_bit)
        + (rd + wr) * (8.0 * c.dram_pj_bit)
    )
    e_fixed = _shaping_energy(c, shaping)
    energy = (e_dt + e_fixed) + e_ot + cycles * c.leak_pj_per_cycle
    return cycles, energy


def _shaping_energy(c: HwConsts, s: Shaping) -> float:
    return 8.0 * (
        s.ifmap_rd_bytes * c.ifmap_rd_pj_bit
        + s.ifmap_wr_bytes * c.ifmap_wr_pj_bit
        + s.filter_rd_bytes * c.filter_rd_pj_bit
        + s.filter_wr_bytes * c.filter_wr_pj_bit
        + s.ofmap_rd_bytes * c.ofmap_rd_pj_bit
        + s.ofmap_wr_bytes * c.ofmap_wr_pj_bit
        + (s.dram_rd_bytes + s.dram_wr_bytes) * c.dram_pj_bit
    )


class Components(NamedTuple):
    """All cost fields of picked candidates, 1-D arrays (bytes, cycles, pJ)."""

    compute: FloatArray
    fill: FloatArray
    stall: FloatArray
    ifmap_rd: FloatArray
    ifmap_wr: FloatArray
    filter_rd: FloatArray
    filter_wr: FloatArray
    ofmap_rd: FloatArray
    ofmap_wr: FloatArray
    dram_rd: FloatArray
    dram_wr: FloatArray
    ifmap_e: FloatArray
    filter_e: FloatArray
    ofmap_e: FloatArray
    dram_e: FloatArray
    leak_e: FloatArray


def components(
    st: Stage, gemm: Gemm, c: HwConsts, shaping: Shaping, d: IntArray, o: IntArray, t: IntArray
) -> Components:
    """Every cost field of the candidates at index arrays ``(d, o, t)`` of ``st``."""
    compute, fill = st.compute[d, 0, t], st.fill[d, 0, t]
    a_rd, b_rd, c_acc = st.a_rd[d, 0, t], st.b_rd[d, 0, t], st.c_acc[d, 0, t]
    a_dram, b_dram, psum = st.a_dram[0, o, t], st.b_dram[0, o, t], st.psum[0, o, t]
    sr = st.serial
    stall, cycles = _cycles(
        gemm,
        c,
        shaping,
        compute,
        fill,
        a_dram,
        b_dram,
        psum,
        st.exposed[0, 0, t],
        None
        if sr is None
        else SerialTerms(sr.pad_a[d, 0, t], sr.pad_b[d, 0, t], sr.c_fold_wr[d, 0, t], sr.c_model[d, 0, 0]),
    )
    g_rd, g_wr = _gemm_dram(gemm, c, a_dram, b_dram, psum)
    mn = gemm.batch * gemm.m * gemm.n
    ifmap_rd = a_rd + shaping.ifmap_rd_bytes
    ifmap_wr = a_dram + shaping.ifmap_wr_bytes
    filter_rd = b_rd + shaping.filter_rd_bytes
    filter_wr = b_dram + shaping.filter_wr_bytes
    ofmap_rd = (c_acc - mn) * c.acc_bytes + g_wr + shaping.ofmap_rd_bytes
    ofmap_wr = c_acc * c.acc_bytes + psum + shaping.ofmap_wr_bytes
    dram_rd = g_rd + shaping.dram_rd_bytes
    dram_wr = g_wr + shaping.dram_wr_bytes
    return Components(
        compute=compute,
        fill=fill,
        stall=stall,
        ifmap_rd=ifmap_rd,
        ifmap_wr=ifmap_wr,
        filter_rd=filter_rd,
        filter_wr=filter_wr,
        ofmap_rd=ofmap_rd,
        ofmap_wr=ofmap_wr,
        dram_rd=dram_rd,
        dram_wr=dram_wr,
        ifmap_e=8.0 * (ifmap_rd * c.ifmap_rd_pj_bit + ifmap_wr * c.ifmap_wr_pj_bit),
        filter_e=8.0 * (filter_rd * c.filter_rd_pj_bit + filter_wr * c.filter_wr_pj_bit),
        ofmap_e=8.0 * (ofmap_rd * c.ofmap_rd_pj_bit + ofmap_wr * c.ofmap_wr_pj_bit),
        dram_e=8.0 * (dram_rd + dram_wr) * c.dram_pj_bit,
        leak_e=cycles * c.leak_pj_per_cycle,
    )


def to_costs(comp: Components, gemm: Gemm, c: HwConsts, shaping: Shaping) -> list[Cost]:
    """One :class:`Cost` per picked candidate."""
    cols = {name: getattr(comp, name).tolist() for name in Components._fields}
    mac_e = gemm.macs * c.mac_pj
    busy = gemm.macs / c.n_pes
    return [
        Cost(
            macs=gemm.macs,
            compute_cycles=cols["compute"][i],
            fill_drain_cycles=cols["fill"][i],
            stall_cycles=cols["stall"][i],
            shaping_cycles=shaping.cycles,
            mac_energy_pj=mac_e,
            ifmap_sram_energy_pj=cols["ifmap_e"][i],
            filter_sram_energy_pj=cols["filter_e"][i],
            ofmap_sram_energy_pj=cols["ofmap_e"][i],
            dram_energy_pj=cols["dram_e"][i],
            leakage_energy_pj=cols["leak_e"][i],
            dram_read_bytes=cols["dram_rd"][i],
            dram_write_bytes=cols["dram_wr"][i],
            sram_read_bytes=cols["ifmap_rd"][i] + cols["filter_rd"][i] + cols["ofmap_rd"][i],
            sram_write_bytes=cols["ifmap_wr"][i] + cols["filter_wr"][i] + cols["ofmap_wr"][i],
            pe_busy_cycles=busy,
        )
        for i in range(len(cols["compute"]))
    ]


def picked_costs(
    st: Stage,
    gemm: Gemm,
    c: HwConsts,
    shaping: Shaping,
    d: list[int],
    o: list[int],
    t: list[int],
) -> list[Cost]:
    """:func:`to_costs` of :func:`components` for a few picked candidates, in Python floats.

    The same IEEE operations in the same order as the numpy path (so the same bits), without
    numpy's per-call overhead, which dominates for the handful of candidates a search returns.
    """
    sh = shaping
    mn = gemm.batch * gemm.m * gemm.n
    c_wr = mn * c.bytes_per_el
    bw = c.bw_bytes_per_cycle
    mac_e = gemm.macs * c.mac_pj
    busy = gemm.macs / c.n_pes
    out = []
    for di, oi, ti in zip(d, o, t, strict=True):
        compute = float(st.compute[di, 0, ti])
        fill = float(st.fill[di, 0, ti])
        a_rd, b_rd = float(st.a_rd[di, 0, ti]), float(st.b_rd[di, 0, ti])
        c_acc = float(st.c_acc[di, 0, ti])
        a_dram, b_dram = float(st.a_dram[0, oi, ti]), float(st.b_dram[0, oi, ti])
        psum = float(st.psum[0, oi, ti])
        rd = a_dram + b_dram + psum
        wr = c_wr + psum
        if st.serial is None:
            stall = max(float(st.exposed[0, 0, ti]), (rd + wr) / bw - (compute + fill))
        else:
            stall = float(serial_stall(a_dram, b_dram, psum, wr, *st.serial.at(di, ti), bw))
        cycles = compute + fill + stall + sh.cycles
        ifmap_rd = a_rd + sh.ifmap_rd_bytes
        ifmap_wr = a_dram + sh.ifmap_wr_bytes
        filter_rd = b_rd + sh.filter_rd_bytes
        filter_wr = b_dram + sh.filter_wr_bytes
        ofmap_rd = (c_acc - mn) * c.acc_bytes + wr + sh.ofmap_rd_bytes
        ofmap_wr = c_acc * c.acc_bytes + psum + sh.ofmap_wr_bytes
        dram_rd = rd + sh.dram_rd_bytes
        dram_wr = wr + sh.dram_wr_bytes
        out.append(
            Cost(
                macs=gemm.macs,
                compute_cycles=compute,
                fill_drain_cycles=fill,
                stall_cycles=stall,
                shaping_cycles=sh.cycles,
                mac_energy_pj=mac_e,
                ifmap_sram_energy_pj=8.0 * (ifmap_rd * c.ifmap_rd_pj_bit + ifmap_wr * c.ifmap_wr_pj_bit),
                filter_sram_energy_pj=8.0 * (filter_rd * c.filter_rd_pj_bit + filter_wr * c.filter_wr_pj_bit),
                ofmap_sram_energy_pj=8.0 * (ofmap_rd * c.ofmap_rd_pj_bit + ofmap_wr * c.ofmap_wr_pj_bit),
                dram_energy_pj=8.0 * (dram_rd + dram_wr) * c.dram_pj_bit,
                leakage_energy_pj=cycles * c.leak_pj_per_cycle,
                dram_read_bytes=dram_rd,
                dram_write_bytes=dram_wr,
                sram_read_bytes=ifmap_rd + filter_rd + ofmap_rd,
                sram_write_bytes=ifmap_wr + filter_wr + ofmap_wr,
                pe_busy_cycles=busy,
            )
        )
    return out


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
"""Relative margin of the exact pruning in :func:`surviving_tiles` (rounding is ~1e-15)."""


def screen(ms: ModeStage, gemm: Gemm, c: HwConsts, shaping: Shaping, objective: Objective) -> IntArray | None:
    """Ascending indices of the tiles that may hold the best candidate or a Pareto point;
    None when all may.

    Exact pruning on ``(D, T)`` and ``(O, T)`` arrays instead of the ``(D, O, T)`` grid. For a
    tile triple t, the cycles ``max(CF[d] + exposed, X[o]) + shaping`` (``CF`` compute plus
    fill/drain, ``X`` DRAM cycles) and the energy ``e_dt[d] + e_ot[o] + leak * cycles``
    are monotone in separate dataflow and loop-order terms, so ``min_d``/``min_o`` of the terms
    give lower bounds ``(lb_c, lb_e)`` of every candidate at t; at a few tiles two real
    candidates (fastest terms; cheapest terms) give achievable anchor points. t is dropped only
    when its lower bound on the objective exceeds an achievable objective and an anchor
    strictly beats ``(lb_c, lb_e)`` in both cycles and energy. ``X`` and ``e_ot`` are summed
    per operand mode here (a different association than the exact model, ~1e-15 apart), so
    both tests carry a relative margin of :data:`_SLACK`. A dropped t holds neither the best
    (its objective is larger) nor a Pareto point (strictly dominated), and every point it
    dominated is strictly dominated by a kept point, so the best, the tie-breaking and the
    Pareto set on the kept tiles equal those of the full grid.
    """
    n_t = ms.exposed.shape[0]
    if n_t < 8 or c.serial:  # no exact bounds derived for the serial timing: keep all
        return None
    cf = ms.compute + ms.fill  # (D, T)
    exposed = ms.exposed
    acc8 = 8.0 * c.acc_bytes
    mn = gemm.batch * gemm.m * gemm.n
    e_dt = (
        gemm.macs * c.mac_pj
        + ms.a_rd * (8.0 * c.ifmap_rd_pj_bit)
        + ms.b_rd * (8.0 * c.filter_rd_pj_bit)
        + (ms.c_acc - mn) * (acc8 * c.ofmap_rd_pj_bit)
        + ms.c_acc * (acc8 * c.ofmap_wr_pj_bit)
    ) + _shaping_energy(c, shaping)
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
            cy = max(float(cf[d, t]) + float(exposed[t]), float(x[o, t])) + sh
            anchors.append((cy, float(e_dt[d, t]) + float(e_ot[o, t]) + leak * cy))
    if objective == "latency":
        lb_p, ub_p = lb_c, min(a_c for a_c, _ in anchors)
    elif objective == "energy":
        lb_p, ub_p = lb_e, min(a_e for _, a_e in anchors)
    else:
        lb_p, ub_p = lb_c * lb_e, min(a_c * a_e for a_c, a_e in anchors)
    maybe_best = lb_p <= ub_p * (1.0 + _SLACK)
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


def _select(
    cycles: FloatArray, energy: FloatArray, objective: Objective, shape: tuple[int, ...]
) -> tuple[IntArray, IntArray, IntArray]:
    """``(d, o, t)`` of the best candidate, then of the Pareto set, best objective first.

    Ties on the objective are broken by the other of (cycles, energy), then by flat index.
    """
    if objective == "latency":
        primary, secondary = cycles, energy
    elif objective == "energy":
        primary, secondary = energy, cycles
    else:
        primary, secondary = cycles * energy, cycles
    best = np.flatnonzero(primary == primary.min())
    if best.size > 1:
        best = _rank(primary, secondary, best)
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


@lru_cache(maxsize=64)
def _canonical_dataflows(dataflows: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(d for d in DATAFLOWS if d in dataflows)


class ArrayEngine:
    """A PE array with ifmap / filter / ofmap buffers, priced by the model of this module.

    Subclasses set :attr:`name`, whether tensor shaping is free, and which dataflows a mapping
    may use on a given hardware.
    """

    name: str = "array"
    shaping_free: bool = False

    def dataflows_for(self, hw: Hardware) -> tuple[str, ...]:
        """Dataflows the mapping search may pick on ``hw``, in :data:`DATAFLOWS` order."""
        return _canonical_dataflows(hw.dataflows)

    def shaping(self, gemm: Gemm, hw: Hardware) -> Shaping:
        """Tensor-shaping overhead of ``gemm`` on ``hw``."""
        return NO_SHAPING if self.shaping_free else buffer_shaping(gemm, hw)

    def _components_one(self, gemm: Gemm, hw: Hardware, mapping: Mapping) -> tuple[Components, HwConsts, Shaping]:
        if mapping.dataflow not in self.dataflows_for(hw):
            raise ModelInputError(
                f"dataflow {mapping.dataflow!r} not supported by {self.name} on this hardware; "
                f"expected one of {self.dataflows_for(hw)}"
            )
        order = _ORDER_INDEX.get(mapping.loop_order)
        if order is None:
            raise ModelInputError(f"loop_order must be a permutation of 'mnk', got {mapping.loop_order!r}")
        tiles = (mapping.tile_m, mapping.tile_n, mapping.tile_k)
        if min(tiles) < 1:
            raise ModelInputError(f"tile sizes must be >= 1, got {tiles}")
        tm = min(mapping.tile_m, gemm.m)
        tn = min(mapping.tile_n, gemm.n)
        tk = min(mapping.tile_k, gemm.k)
        c = hw_consts(hw)
        if tm * tk * c.bytes_per_el > c.cap_a_bytes or tk * tn * c.bytes_per_el > c.cap_b_bytes:
            raise ModelInputError(
                f"tile ({tm}, {tn}, {tk}) does not fit half of the ifmap / filter buffers "
                f"({hw.ifmap_sram_kb} / {hw.filter_sram_kb} kB, double-buffered)"
            )
        shaping = self.shaping(gemm, hw)
        st = stage(
            gemm,
            c,
            (mapping.dataflow,),
            np.array([[tm], [tn], [tk]], dtype=np.int64),
            np.array([order], dtype=np.int64),
        )
        zero = np.zeros(1, dtype=np.int64)
        return components(st, gemm, c, shaping, zero, zero, zero), c, shaping

    def evaluate(self, gemm: Gemm, hw: Hardware, mapping: Mapping) -> Cost:
        """Price one mapping (tiles larger than a dimension are clipped to it).

        Runs the same code as :meth:`search` on a one-candidate set, so the result equals
        the search's cost for that mapping exactly.

        Raises:
            ModelInputError: unsupported dataflow or loop order, tile < 1, or an A / B tile
                that does not fit half its buffer.
        """
        comp, c, shaping = self._components_one(gemm, hw, mapping)
        return to_costs(comp, gemm, c, shaping)[0]

    def access_bytes(self, gemm: Gemm, hw: Hardware, mapping: Mapping) -> dict[str, float]:
        """Bytes read and written per memory level for one mapping, shaping included.

        Keys: ``{ifmap,filter,ofmap,dram}_{rd,wr}_bytes``.
        """
        comp, _, _ = self._components_one(gemm, hw, mapping)
        return {
            f"{name}_bytes": float(getattr(comp, name)[0])
            for name in (
                "ifmap_rd",
                "ifmap_wr",
                "filter_rd",
                "filter_wr",
                "ofmap_rd",
                "ofmap_wr",
                "dram_rd",
                "dram_wr",
            )
        }

    def search(self, gemm: Gemm, hw: Hardware, objective: Objective = "latency") -> MappingResult:
        """Price every dataflow x loop order x tile triple and pick the best.

        Ties on the objective are broken by the other of (cycles, energy), then by enumeration
        order (dataflow order of :meth:`dataflows_for`, loop order as in :data:`LOOP_ORDERS`,
        tiles ascending m-major). The Pareto set is in (cycles, energy_pj), best objective
        first. ``n_evaluated`` counts the whole grid.

        How: the loop-order-free part of the model runs on all T tiles (:func:`stage_modes`),
        exact bounds drop the tiles that can hold neither the best nor a Pareto point
        (:func:`screen`), and only the kept tiles are priced on the full
        ``(D, O, T')`` grid with the exact formulas (:func:`with_orders`,
        :func:`grid_objectives`), so results equal the unpruned search's bit for bit
        (``tests/analytical_models/test_am_golden_speed.py``).

        Raises:
            ModelInputError: unknown objective, or no tile fits the buffers.
        """
        if objective not in OBJECTIVES:
            raise ModelInputError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")
        c = hw_consts(hw)
        a_cap = math.floor(c.cap_a_bytes / c.bytes_per_el)
        b_cap = math.floor(c.cap_b_bytes / c.bytes_per_el)
        tiles, idx = grid(gemm.m, gemm.n, gemm.k, a_cap, b_cap)
        if tiles.shape[1] == 0:
            raise ModelInputError(
                "no tile fits: the ifmap / filter buffers cannot hold one element "
                f"(ifmap {hw.ifmap_sram_kb} kB, filter {hw.filter_sram_kb} kB)"
            )
        stats = grid_stats(gemm.m, gemm.n, gemm.k, tiles, idx)
        dataflows = self.dataflows_for(hw)
        shaping = self.shaping(gemm, hw)
        ms = stage_modes(gemm, c, dataflows, tiles, stats)
        n_evaluated = len(dataflows) * len(LOOP_ORDERS) * tiles.shape[1]
        keep = screen(ms, gemm, c, shaping, objective)
        # Kept tiles stay in ascending order, so flat indices keep their relative order and
        # the tie-breaking below is that of the full grid.
        st = with_orders(ms, gemm, c, _ALL_ORDERS, keep)
        if keep is not None:
            tiles = tiles[:, keep]
        cycles3, energy3 = grid_objectives(st, gemm, c, shaping)
        cycles = cycles3.reshape(-1)
        energy = energy3.reshape(-1)
        if cycles.size <= _SMALL:
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
        return MappingResult(
            mapping=mappings[0],
            cost=costs[0],
            n_evaluated=n_evaluated,
            pareto=tuple(zip(mappings[1:], costs[1:], strict=True)),
        )
