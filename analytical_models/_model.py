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

Energy: ``macs * mac_pj(bits)`` + per buffer (bits read x read pJ/bit + bits written x write
pJ/bit at that buffer's size) + DRAM bits x pJ/bit + leakage power x latency.

Tensor shaping (engines that cannot reshape on the fly): each permuted operand makes one
round trip (read + write) through its own buffer when it fits the whole buffer, at one row of
R (ifmap) or C (filter, ofmap) elements per cycle; otherwise through DRAM at ``bw``. The
shaping is serial with the GEMM (``shaping_cycles``) and its traffic and energy are added to
the buffer / DRAM figures.
"""

from __future__ import annotations

import math
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
# _INNER[o, x, y]: in loop order o, the loop over dimension y is nested inside the loop over x.
_INNER: BoolArray = np.array(
    [[[o.index("mnk"[y]) > o.index("mnk"[x]) for y in range(3)] for x in range(3)]
     for o in LOOP_ORDERS],
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
    """Hardware-independent per-tile arrays of one GEMM shape (see :func:`grid`)."""

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
    class_el_times: FloatArray
    """``class_el * times``."""
    class_fp: FloatArray
    """Footprint (elements) of one instance of each class, ``(8, 3, T)``."""
    whole_el: FloatArray
    """Both dimensions nested inside: the whole operand, ``(3, 1)`` elements."""
    footprint: IntArray
    """``tile_m * tile_k + tile_k * tile_n + tile_m * tile_n`` elements, ``(T,)``."""


_X1 = np.array([x1 for x1, _, _ in ((M_DIM, K_DIM, N_DIM), (K_DIM, N_DIM, M_DIM),
                                     (M_DIM, N_DIM, K_DIM))], dtype=np.int64)
_X2 = np.array([K_DIM, N_DIM, N_DIM], dtype=np.int64)
_Y = np.array([N_DIM, M_DIM, K_DIM], dtype=np.int64)


def _compute_tile_stats(m: int, n: int, k: int, tiles: IntArray) -> TileStats:
    dims_i = np.array([[m], [n], [k]], dtype=np.int64)
    q = dims_i // tiles
    rem = dims_i - q * tiles
    has_rem = rem > 0
    nfull = q.astype(np.float64)
    ntiles = nfull + has_rem
    both = np.stack((tiles, rem), axis=1).astype(np.float64)
    t_full, t_rem = both[:, 0], both[:, 1]
    cover_full = nfull * t_full  # elements covered by the full tiles of each dimension
    times = ntiles[_Y]
    f1, r1, f2, r2 = t_full[_X1], t_rem[_X1], t_full[_X2], t_rem[_X2]  # class extents
    c1, c2 = cover_full[_X1], cover_full[_X2]  # elements under the full-tile classes
    d1 = np.array([[float(m)], [float(k)], [float(m)]])
    d2 = np.array([[float(k)], [float(n)], [float(n)]])
    class_el = np.stack((c1 * c2, c1 * r2, r1 * c2, r1 * r2, d1 * c2, d1 * r2, c1 * d2, r1 * d2))
    class_fp = np.stack((f1 * f2, f1 * r2, r1 * f2, r1 * r2, d1 * f2, d1 * r2, f1 * d2, r1 * d2))
    tm, tn, tk = tiles
    return TileStats(
        q=q, rem=rem, has_rem=has_rem, nfull=nfull, ntiles=ntiles, both=both, times=times,
        class_el=class_el, class_el_times=class_el * times, class_fp=class_fp,
        whole_el=d1 * d2, footprint=tm * tk + tk * tn + tm * tn,
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


@lru_cache(maxsize=4096)
def grid(
    m: int, n: int, k: int, a_cap_elements: int, b_cap_elements: int
) -> tuple[IntArray, TileStats]:
    """:func:`tile_grid` and its hardware-independent per-tile arrays (cached together).

    The key is the GEMM shape and the buffer capacities in elements only (not the batch, the
    permutation volumes or any other hardware field), so every GEMM of one shape on buffers of
    one size shares an entry.
    """
    cm, cn, ck = dim_candidates(m), dim_candidates(n), dim_candidates(k)
    # A and B fit tests on the small (m, k) and (k, n) planes, then one 3-D mask.
    ok = ((cm[:, None] * ck[None, :] <= a_cap_elements)[:, None, :]
          & (ck[None, :] * cn[:, None] <= b_cap_elements)[None, :, :])
    im, in_, ik = np.nonzero(ok)
    tiles = np.stack((cm[im], cn[in_], ck[ik]))
    tiles.setflags(write=False)
    return tiles, _compute_tile_stats(m, n, k, tiles)


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
    [[int(_INNER[o, y, x1]) + 2 * int(_INNER[o, y, x2]) for x1, x2, y in _OPERANDS]
     for o in range(len(LOOP_ORDERS))],
    dtype=np.int64,
)


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
        stats: :func:`_compute_tile_stats` of ``tiles`` if already known (see :func:`grid`).
    """
    batch = float(gemm.batch)
    rows, cols = c.rows, c.cols
    ts = _compute_tile_stats(gemm.m, gemm.n, gemm.k, tiles) if stats is None else stats
    # Row / column folds summed over the tiles of each dimension, and the tile counts:
    # reuse[role, x] for role 0 = on the rows, 1 = on the columns, 2 = in time.
    reuse = np.empty((3, 3, tiles.shape[1]))
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
    if threshold is not None:  # power-of-two element sizes: the product is exact
        spill = ts.class_fp > threshold
    else:
        spill = ts.class_fp * el_bytes > cap_bytes
    v = np.where(spill, ts.class_el_times, ts.class_el)
    out = np.empty((4, 3, tiles.shape[1]))
    out[0] = (v[0] + v[1]) + (v[2] + v[3])  # both outside: one tile at a time
    out[1] = v[4] + v[5]  # first dimension nested inside
    out[2] = v[6] + v[7]  # second dimension nested inside
    whole = ts.whole_el
    out[3] = whole * np.where(whole * el_bytes > cap_bytes, ts.times, 1.0)
    modes = _MODES[orders]
    a_el = out[modes[:, 0], 0]
    b_el = out[modes[:, 1], 1]
    # Partial sums of a C class that does not fit make nk - 1 round trips (0 when nk = 1).
    c_el = out[modes[:, 2], 2]
    psum_el = c_el - float(gemm.m) * gemm.n
    exposed = ts.footprint * (bpe / c.bw_bytes_per_cycle)
    return Stage(
        compute=compute[:, None], fill=fill[:, None], a_rd=a_rd[:, None], b_rd=b_rd[:, None],
        c_acc=c_acc[:, None], a_dram=((batch * bpe) * a_el)[None],
        b_dram=((batch * bpe) * b_el)[None], psum=((batch * c.acc_bytes) * psum_el)[None],
        exposed=exposed[None, None],
    )


@lru_cache(maxsize=65_536)
def _operand_bytes(c: HwConsts) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Bytes per element and usable buffer bytes of A, B, C (``(3, 1)`` each), and the
    usable buffers in elements when every element size is a power of two (else None)."""
    el = np.array([c.bytes_per_el, c.bytes_per_el, c.acc_bytes]).reshape(3, 1)
    cap = np.array([c.cap_a_bytes, c.cap_b_bytes, c.cap_c_bytes]).reshape(3, 1)
    exact = all(math.frexp(x)[0] == 0.5 for x in (c.bytes_per_el, c.acc_bytes))
    return el, cap, (cap / el if exact else None)


def _gemm_dram(gemm: Gemm, c: HwConsts, a_dram: FloatArray, b_dram: FloatArray,
               psum: FloatArray) -> tuple[FloatArray, FloatArray]:
    """DRAM bytes (read, written) of the GEMM itself, without shaping."""
    return a_dram + b_dram + psum, (gemm.batch * gemm.m * gemm.n * c.bytes_per_el) + psum


def _cycles(
    gemm: Gemm, c: HwConsts, shaping: Shaping, compute: FloatArray, fill: FloatArray,
    a_dram: FloatArray, b_dram: FloatArray, psum: FloatArray, exposed: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """``(stall, total cycles)``; the one formula used by both the grid and single mappings."""
    rd, wr = _gemm_dram(gemm, c, a_dram, b_dram, psum)
    stall = np.maximum(exposed, (rd + wr) / c.bw_bytes_per_cycle - (compute + fill))
    return stall, compute + fill + stall + shaping.cycles


def grid_objectives(
    st: Stage, gemm: Gemm, c: HwConsts, shaping: Shaping
) -> tuple[FloatArray, FloatArray]:
    """``(cycles, energy_pj)`` of every candidate, shape ``(D, O, T)``.

    The energy is the same sum as :attr:`Cost.energy_pj`, factored into a ``(D, 1, T)`` and a
    ``(1, O, T)`` part to keep full-size operations few (it may differ in the last ulp).
    """
    _, cycles = _cycles(
        gemm, c, shaping, st.compute, st.fill, st.a_dram, st.b_dram, st.psum, st.exposed
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
        s.ifmap_rd_bytes * c.ifmap_rd_pj_bit + s.ifmap_wr_bytes * c.ifmap_wr_pj_bit
        + s.filter_rd_bytes * c.filter_rd_pj_bit + s.filter_wr_bytes * c.filter_wr_pj_bit
        + s.ofmap_rd_bytes * c.ofmap_rd_pj_bit + s.ofmap_wr_bytes * c.ofmap_wr_pj_bit
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
    stall, cycles = _cycles(
        gemm, c, shaping, compute, fill, a_dram, b_dram, psum, st.exposed[0, 0, t]
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
        compute=compute, fill=fill, stall=stall,
        ifmap_rd=ifmap_rd, ifmap_wr=ifmap_wr, filter_rd=filter_rd, filter_wr=filter_wr,
        ofmap_rd=ofmap_rd, ofmap_wr=ofmap_wr, dram_rd=dram_rd, dram_wr=dram_wr,
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


def surviving_tiles(
    st: Stage, gemm: Gemm, c: HwConsts, shaping: Shaping, objective: Objective
) -> IntArray | None:
    """Tile indices that may hold the best candidate or a Pareto point; None to keep all.

    Exact pruning on ``(D, T)`` and ``(O, T)`` arrays instead of the ``(D, O, T)`` grid. For a
    tile triple t, the cycles ``max(CF[d] + exposed, X[o]) + shaping`` (``CF`` compute plus
    fill/drain, ``X`` DRAM cycles) and the energy ``e_dt[d] + e_ot[o] + fixed + leak * cycles``
    are monotone in separate dataflow and loop-order terms, so ``min_d``/``min_o`` of the terms
    give lower bounds ``(lb_c, lb_e)`` of every candidate at t, and two real candidates per t
    (fastest terms; cheapest terms) give achievable points. t is dropped only when its lower
    bound on the objective exceeds an achievable objective and one of a few achievable anchor
    points strictly beats ``(lb_c, lb_e)`` in both cycles and energy; both tests carry a relative margin of
    :data:`_SLACK`, far above the rounding differences between this and the exact formula.
    A dropped t holds neither the best (its objective is larger) nor a Pareto point (strictly
    dominated), and every point it dominated is strictly dominated by a kept point, so the
    best, the tie-breaking and the Pareto set on the kept tiles equal those of the full grid.
    """
    n_t = st.exposed.shape[2]
    if n_t < 8:
        return None
    cf = (st.compute + st.fill)[:, 0]  # (D, T)
    rd, wr = _gemm_dram(gemm, c, st.a_dram[0], st.b_dram[0], st.psum[0])  # (O, T)
    x = (rd + wr) / c.bw_bytes_per_cycle
    exposed = st.exposed[0, 0]
    acc8 = 8.0 * c.acc_bytes
    mn = gemm.batch * gemm.m * gemm.n
    e_dt = (
        gemm.macs * c.mac_pj
        + st.a_rd[:, 0] * (8.0 * c.ifmap_rd_pj_bit)
        + st.b_rd[:, 0] * (8.0 * c.filter_rd_pj_bit)
        + (st.c_acc[:, 0] - mn) * (acc8 * c.ofmap_rd_pj_bit)
        + st.c_acc[:, 0] * (acc8 * c.ofmap_wr_pj_bit)
    ) + _shaping_energy(c, shaping)
    e_ot = (
        st.a_dram[0] * (8.0 * c.ifmap_wr_pj_bit)
        + st.b_dram[0] * (8.0 * c.filter_wr_pj_bit)
        + wr * (8.0 * c.ofmap_rd_pj_bit)
        + st.psum[0] * (8.0 * c.ofmap_wr_pj_bit)
        + (rd + wr) * (8.0 * c.dram_pj_bit)
    )
    leak = c.leak_pj_per_cycle
    sh = shaping.cycles
    cf_min, x_min = cf.min(axis=0), x.min(axis=0)
    lb_c = np.maximum(cf_min + exposed, x_min) + sh  # achieved by the fastest (d, o)
    lb_e = e_dt.min(axis=0) + e_ot.min(axis=0) + leak * lb_c
    # Achievable anchor points: at the tiles of least cycles, least energy bound and least
    # product, the fastest (d, o) and the cheapest (d, o) (cycles and energy of each).
    anchors: list[tuple[float, float]] = []
    for t in {int(lb_c.argmin()), int(lb_e.argmin()), int((lb_c * lb_e).argmin())}:
        for d, o in ((int(cf[:, t].argmin()), int(x[:, t].argmin())),
                     (int(e_dt[:, t].argmin()), int(e_ot[:, t].argmin()))):
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
    beaten = np.zeros(n_t, dtype=np.bool_)
    for a_c, a_e in anchors:
        beaten |= (lb_c_s > a_c) & (lb_e_s > a_e)
    keep: IntArray = np.flatnonzero(maybe_best | ~beaten)
    return keep if keep.size < n_t else None


def _take_tiles(st: Stage, keep: IntArray) -> Stage:
    """``st`` restricted to the tile indices ``keep``."""
    return Stage(*(a[:, :, keep] for a in st))


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

    def _components_one(
        self, gemm: Gemm, hw: Hardware, mapping: Mapping
    ) -> tuple[Components, HwConsts, Shaping]:
        if mapping.dataflow not in self.dataflows_for(hw):
            raise ModelInputError(
                f"dataflow {mapping.dataflow!r} not supported by {self.name} on this hardware; "
                f"expected one of {self.dataflows_for(hw)}"
            )
        order = _ORDER_INDEX.get(mapping.loop_order)
        if order is None:
            raise ModelInputError(
                f"loop_order must be a permutation of 'mnk', got {mapping.loop_order!r}"
            )
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
            gemm, c, (mapping.dataflow,), np.array([[tm], [tn], [tk]], dtype=np.int64),
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
                "ifmap_rd", "ifmap_wr", "filter_rd", "filter_wr", "ofmap_rd", "ofmap_wr",
                "dram_rd", "dram_wr",
            )
        }

    def search(
        self, gemm: Gemm, hw: Hardware, objective: Objective = "latency"
    ) -> MappingResult:
        """Price every dataflow x loop order x tile triple at once and pick the best.

        Ties on the objective are broken by the other of (cycles, energy), then by enumeration
        order (dataflow order of :meth:`dataflows_for`, loop order as in :data:`LOOP_ORDERS`,
        tiles ascending m-major). The Pareto set is in (cycles, energy_pj), best objective
        first.

        Raises:
            ModelInputError: unknown objective, or no tile fits the buffers.
        """
        if objective not in OBJECTIVES:
            raise ModelInputError(
                f"unknown objective {objective!r}; expected one of {OBJECTIVES}"
            )
        c = hw_consts(hw)
        a_cap = math.floor(c.cap_a_bytes / c.bytes_per_el)
        b_cap = math.floor(c.cap_b_bytes / c.bytes_per_el)
        tiles, stats = grid(gemm.m, gemm.n, gemm.k, a_cap, b_cap)
        if tiles.shape[1] == 0:
            raise ModelInputError(
                "no tile fits: the ifmap / filter buffers cannot hold one element "
                f"(ifmap {hw.ifmap_sram_kb} kB, filter {hw.filter_sram_kb} kB)"
            )
        dataflows = self.dataflows_for(hw)
        shaping = self.shaping(gemm, hw)
        st = stage(gemm, c, dataflows, tiles, _ALL_ORDERS, stats)
        n_evaluated = len(dataflows) * len(LOOP_ORDERS) * tiles.shape[1]
        keep = surviving_tiles(st, gemm, c, shaping, objective)
        if keep is not None:
            # Kept tiles stay in ascending order, so flat indices keep their relative order
            # and the tie-breaking below is that of the full grid.
            st = _take_tiles(st, keep)
            tiles = tiles[:, keep]
        cycles3, energy3 = grid_objectives(st, gemm, c, shaping)
        cycles = cycles3.reshape(-1)
        energy = energy3.reshape(-1)
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
        d, o, t = np.unravel_index(flat, cycles3.shape)
        costs = to_costs(components(st, gemm, c, shaping, d, o, t), gemm, c, shaping)
        tm_l, tn_l, tk_l = tiles[:, t].tolist()
        mappings = [
            Mapping(
                dataflow=dataflows[di], tile_m=tm_l[i], tile_n=tn_l[i], tile_k=tk_l[i],
                loop_order=LOOP_ORDERS[oi],
            )
            for i, (di, oi) in enumerate(zip(d.tolist(), o.tolist(), strict=True))
        ]
        return MappingResult(
            mapping=mappings[0],
            cost=costs[0],
            n_evaluated=n_evaluated,
            pareto=tuple(zip(mappings[1:], costs[1:], strict=True)),
        )
