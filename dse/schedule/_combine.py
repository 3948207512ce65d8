"""The per-tile arithmetic of a fused segment's price (:func:`dse.schedule._segment._price`).

Given every step's on-chip price on each token tile (:func:`analytical_models.onchip_tiles`),
the segment's streamed bytes and the DRAM bytes no schedule hides, :func:`combine` adds the
steps up per tile (each times how often it runs), times the token loop (sequential, or
pipelined over engine groups), the DRAM traffic, the latency and the energy of every tile, and
picks the best tile for the objective among those that fit the buffers (the least
``(objective, other)``, the first on a tie). It returns that tile's index and the quantities
its :class:`~analytical_models.Cost` is built from (:data:`OUT_FIELDS`).

Two implementations with the same IEEE operations in the same order: :func:`combine_numpy`
(numpy arrays over the tiles, the reference, run when :data:`analytical_models.NO_JIT_ENV` is
set) and :mod:`dse.schedule._combine_kernel` (one compiled loop over the tiles; a segment is a
few dozen numpy operations on arrays of a dozen tiles, where numpy's per-call overhead is the
whole cost). The tests check that both give every field of every segment bit for bit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from analytical_models import compiled_module

FloatArray = npt.NDArray[np.float64]

TOKEN, REDUCE, CORE, POST = 0, 1, 2, 3
"""Step kinds (:data:`dse.schedule.STEP_KINDS` order)."""

KIND_CODE: dict[str, int] = {"token": TOKEN, "reduce": REDUCE, "core": CORE, "post": POST}

LATENCY, ENERGY, EDP = 0, 1, 2
"""Objective codes."""

OBJECTIVE_CODE: dict[str, int] = {"latency": LATENCY, "energy": ENERGY, "edp": EDP}

(
    TOKEN_FREE_BYTES,
    OUT_BYTES,
    BW,
    IFMAP_WR_PJ_BIT,
    FILTER_WR_PJ_BIT,
    OFMAP_RD_PJ_BIT,
    DRAM_PJ_BIT,
    LEAK_PJ_PER_CYCLE,
    NETWORK_PJ_PER_BYTE,
    N_SCALARS,
) = range(10)
"""Positions in :func:`combine`'s scalars: the token-free external inputs' bytes, the result's
bytes, DRAM bytes per cycle, the buffer fill / drain and DRAM energies per bit, the leakage per
cycle (pJ) and the distribution network's energy per SRAM byte read (pJ)."""

TOKEN_COL, TILED, KIND, A_BUFFER, B_BUFFER, N_STATIC = range(6)
"""Columns of :func:`dse.schedule._price_kernel.segment_kernel`'s ``static`` (one row per step):
the GEMM dimension holding the tokens (0 batch, 1 m, 2 n, 3 k; -1 none), the step runs per
token tile (1), its kind code, the buffers of its operands A and B (0 ifmap, 1 filter, 2 ofmap)."""

PRICE_KERNEL = "dse.schedule._price_kernel"
"""The module of :func:`~dse.schedule._price_kernel.segment_kernel` (a fused segment priced in
one compiled call), for :func:`analytical_models.compiled_module`."""

N_PARTS = 11
"""Rows of an on-chip price's ``stacked`` (:data:`analytical_models.STACKED_FIELDS`)."""

# (positions of STACKED_FIELDS' rows)
_COMPUTE, _FILL, _SHAPING, _MAC_PJ, _IFMAP_PJ, _FILTER_PJ, _OFMAP_PJ = range(7)
_SHAPING_DRAM = 9

OUT_FIELDS: tuple[str, ...] = (
    *(f"part{p}" for p in range(N_PARTS)),
    "work",
    "latency",
    "network_pj",
    "fill_ifmap_pj",
    "fill_filter_pj",
    "drain_ofmap_pj",
    "dram_pj",
    "leak_pj",
    "dram_rd",
    "dram_wr",
    "dram",
    "streamed_total",
)
"""What :func:`combine` returns at the picked tile: the summed ``stacked`` rows (every step
times its runs), the busy cycles ``W``, the latency, the network, buffer-fill, drain, DRAM and
leakage energies (pJ), the DRAM bytes read, written and both, the streamed inputs' bytes."""


class SegmentTiles(NamedTuple):
    """What :func:`combine` reads of one fused segment, per candidate token tile size (arrays
    over the tiles) or once."""

    n_t: FloatArray
    """Token tiles of each candidate tile size (``tokens / tile``)."""
    fits: npt.NDArray[np.bool_]
    """The candidate tiles that fit the buffers (at least one)."""
    stacks: list[FloatArray]
    """Each step's on-chip price (``OnChipTiles.stacked``: one column per tile for a token or
    reduce step, one column for the others)."""
    kinds: list[int]
    """Each step's kind code (:data:`KIND_CODE`)."""
    recompute: bool
    """Core merges are recomputed on every tile (else stored, run once)."""
    streamed_total: FloatArray
    """Bytes of the streamed inputs over the whole pass."""
    e_in: FloatArray
    """Bytes loaded before the token loop that no schedule hides."""
    e_out: FloatArray
    """Bytes written after it (the last result tile)."""
    d_tile: FloatArray
    """DRAM bytes of one tile (read when pipelined)."""
    scalars: FloatArray
    """The scalars (:data:`N_SCALARS`)."""
    objective: int
    """:data:`OBJECTIVE_CODE`."""
    pipelined: bool
    """Token tiles pipelined over engine groups."""
    core_recompute: bool
    """Recomputed merges on a TT-core engine, overlapping the token loop."""


def combine_numpy(x: SegmentTiles) -> tuple[int, FloatArray]:
    """:func:`combine` on numpy arrays over the tiles (the reference)."""
    n_t, fits, streamed_total, e_in, e_out, d_tile, sc = (
        x.n_t,
        x.fits,
        x.streamed_total,
        x.e_in,
        x.e_out,
        x.d_tile,
        x.scalars,
    )
    z = np.zeros_like(n_t)
    summed = np.zeros((N_PARTS, n_t.size))
    stage_tile = z.copy()  # per-tile cycles of the token and reduce steps (one engine group each when pipelined)
    stage_max = z.copy()
    merge_tile = z.copy()  # per-tile cycles of recomputed merges
    stored = post = 0.0  # cycles of stored merges (before the token loop) and post steps (after)
    for stacked, kind in zip(x.stacks, x.kinds, strict=True):
        tiled = kind in (TOKEN, REDUCE)
        recomputed = kind == CORE and x.recompute
        times = n_t if tiled or recomputed else np.ones_like(n_t)
        summed += stacked * times
        step = stacked[_COMPUTE] + stacked[_FILL] + stacked[_SHAPING]
        cycles = step if tiled else np.full_like(n_t, float(step[0]))
        if tiled:
            stage_tile = stage_tile + cycles
            stage_max = np.maximum(stage_max, cycles)
        elif recomputed:
            merge_tile = merge_tile + cycles
        elif kind == CORE:
            stored += float(step[0])
        else:
            post += float(step[0])
    bw = sc[BW]
    # --- DRAM traffic: external inputs once, the result once (plus shaping that spilled)
    dram_rd = streamed_total + sc[TOKEN_FREE_BYTES] + summed[_SHAPING_DRAM] / 2
    dram_wr = sc[OUT_BYTES] + summed[_SHAPING_DRAM] / 2
    dram = dram_rd + dram_wr
    # --- the token loop: sequential on one engine (group), merges pipelined on a TT-core engine
    if x.core_recompute:
        loop = n_t * np.maximum(stage_tile, merge_tile) + np.minimum(stage_tile, merge_tile)
    else:
        loop = n_t * (stage_tile + merge_tile)
    if x.pipelined:
        interval = np.maximum(stage_max, d_tile / bw)
        critical = stage_tile + (n_t - 1) * stage_max
        work = stored + critical + post
        latency = stored + e_in / bw + stage_tile + (n_t - 1) * interval + e_out / bw + post
        latency = np.maximum(latency, dram / bw)
    else:
        work = stored + loop + post
        latency = work + np.maximum((e_in + e_out) / bw, dram / bw - work)
    # --- energy: steps, buffer fills from DRAM and the result's drain, DRAM, leakage, networks
    fill_if = 8.0 * streamed_total * sc[IFMAP_WR_PJ_BIT]
    fill_fi = 8.0 * float(sc[TOKEN_FREE_BYTES]) * float(sc[FILTER_WR_PJ_BIT])
    drain_of = 8.0 * float(sc[OUT_BYTES]) * float(sc[OFMAP_RD_PJ_BIT])
    dram_pj = dram * 8.0 * sc[DRAM_PJ_BIT]
    leak_pj = latency * sc[LEAK_PJ_PER_CYCLE]
    network = sc[NETWORK_PJ_PER_BYTE] * summed[7]  # (the SRAM bytes read)
    energy = summed[_MAC_PJ] + summed[_IFMAP_PJ] + summed[_FILTER_PJ] + summed[_OFMAP_PJ] + network
    energy = energy + fill_if + fill_fi + drain_of + dram_pj + leak_pj
    if x.objective == ENERGY:
        score, second = energy, latency
    elif x.objective == EDP:
        score, second = energy * latency, latency
    else:
        score, second = latency, energy
    i = int(np.lexsort((second, np.where(fits, score, np.inf)))[0])
    out = np.empty(len(OUT_FIELDS))
    out[:N_PARTS] = summed[:, i]
    out[N_PARTS:] = (
        work[i],
        latency[i],
        network[i],
        fill_if[i],
        fill_fi,
        drain_of,
        dram_pj[i],
        leak_pj[i],
        dram_rd[i],
        dram_wr[i],
        dram[i],
        streamed_total[i],
    )
    return i, out


def combine(x: SegmentTiles) -> tuple[int, FloatArray]:
    """The picked tile of a fused segment and its :data:`OUT_FIELDS` (module docstring)."""
    kernel = compiled_module("dse.schedule._combine_kernel")
    if kernel is None:
        return combine_numpy(x)
    columns = max(stacked.shape[1] for stacked in x.stacks)
    packed = np.zeros((len(x.stacks), N_PARTS, columns))
    for s, stacked in enumerate(x.stacks):
        packed[s, :, : stacked.shape[1]] = stacked
    i, out = kernel.combine_kernel(
        x.n_t,
        x.fits,
        packed,
        np.array(x.kinds, dtype=np.int64),
        x.recompute,
        x.streamed_total,
        x.e_in,
        x.e_out,
        x.d_tile,
        x.scalars,
        x.objective,
        x.pipelined,
        x.core_recompute,
    )
    return int(i), out
