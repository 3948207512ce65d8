"""The closed-form model equals a naive tile-by-tile LRU simulation of the loop nest.

The oracle walks the tile loop nest one tile at a time with LRU operand buffers.

Written independently of the model's modules (no closed forms): every tile is run as
SCALE-Sim folds (a tile that keeps the previous tile's stationary data in a one-fold array
streams on without a new fill/drain and without reloading, or for OS accumulating out, that
data), every operand tile is looked up in an LRU buffer holding
half the buffer capacity (double buffering), and partial sums evicted before their last K tile
go to DRAM.
For the loop nests the model prices, LRU reuse happens exactly when the cyclically touched
footprint fits (a cyclic pattern larger than an LRU buffer misses every time), which is the
all-or-nothing reuse the closed-form model claims.
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from analytical_models import DATAFLOWS, SYSTOLIC, Gemm, Hardware, Mapping
from analytical_models._stage import LOOP_ORDERS

# (rows, columns, time) dimension of each dataflow, and fill/drain cycles per fold.
_GEOM = {"ws": ("k", "n", "m"), "is": ("k", "m", "n"), "os": ("m", "n", "k")}


def _overhead(df: str, r: int, c: int) -> int:
    return (2 * r + c - 2) if df in ("ws", "is") else (r + c - 2)


@dataclass
class SimResult:
    """Totals of one simulated mapping (cycles, bytes, element counts)."""

    compute: float = 0.0
    fill: float = 0.0
    a_rd_bytes: float = 0.0
    b_rd_bytes: float = 0.0
    c_accumulations: float = 0.0
    a_dram_bytes: float = 0.0
    b_dram_bytes: float = 0.0
    psum_rd_bytes: float = 0.0
    psum_wr_bytes: float = 0.0
    out_wr_bytes: float = 0.0


class _Lru:
    def __init__(self, cap_bytes: float) -> None:
        self.cap = cap_bytes
        self.items: OrderedDict[tuple[int, ...], float] = OrderedDict()

    def used(self) -> float:
        return sum(self.items.values())

    def touch(self, key: tuple[int, ...], nbytes: float) -> bool:
        """True on a hit. Inserts on a miss (no eviction here)."""
        if key in self.items:
            self.items.move_to_end(key)
            return True
        self.items[key] = nbytes
        return False

    def evict_over_cap(self) -> list[tuple[tuple[int, ...], float]]:
        out = []
        while self.items and self.used() > self.cap:
            out.append(self.items.popitem(last=False))
        return out


def simulate(gemm: Gemm, hw: Hardware, mapping: Mapping) -> SimResult:
    """Walk the loop nest of ``mapping`` tile by tile."""
    dims = {"m": gemm.m, "n": gemm.n, "k": gemm.k}
    tile = {
        "m": min(mapping.tile_m, gemm.m),
        "n": min(mapping.tile_n, gemm.n),
        "k": min(mapping.tile_k, gemm.k),
    }
    sizes = {x: [min(tile[x], dims[x] - i * tile[x]) for i in range(math.ceil(dims[x] / tile[x]))] for x in "mnk"}
    bpe, acc = hw.bits / 8, hw.acc_bits / 8
    r_, c_ = hw.pe_rows, hw.pe_cols
    row, col, time = _GEOM[mapping.dataflow]
    res = SimResult()
    buf_a, buf_b = _Lru(hw.ifmap_sram_kb * 512), _Lru(hw.filter_sram_kb * 512)
    buf_c = _Lru(hw.ofmap_sram_kb * 512)
    nk = len(sizes["k"])
    order = mapping.loop_order
    visits: dict[tuple[int, ...], int] = {}
    previous: tuple[int, ...] | None = None  # stationary tile held in the array, if one fold
    for b in range(gemm.batch):
        for idx in itertools.product(*(range(len(sizes[x])) for x in order)):
            i = dict(zip(order, idx, strict=True))
            s = {x: sizes[x][i[x]] for x in "mnk"}
            row_folds = math.ceil(s[row] / r_)
            col_folds = math.ceil(s[col] / c_)
            folds = row_folds * col_folds
            res.compute += folds * s[time]
            stationary = (b, i[row], i[col])
            stays = folds == 1 and stationary == previous  # still in the array: no reload
            if not stays:
                res.fill += folds * _overhead(mapping.dataflow, r_, c_)
            previous = stationary if folds == 1 else None

            def times_read(op: str, row_folds: int = row_folds, col_folds: int = col_folds, stays: bool = stays) -> int:
                if time not in op:
                    return 0 if stays else 1  # stationary: loaded into the array once per tile
                return col_folds if row in op else row_folds

            res.a_rd_bytes += s["m"] * s["k"] * times_read("mk") * bpe
            res.b_rd_bytes += s["k"] * s["n"] * times_read("kn") * bpe
            res.c_accumulations += s["m"] * s["n"] * times_read("mn")

            for buf, key, nbytes, field in (
                (buf_a, (b, i["m"], i["k"]), s["m"] * s["k"] * bpe, "a_dram_bytes"),
                (buf_b, (b, i["k"], i["n"]), s["k"] * s["n"] * bpe, "b_dram_bytes"),
            ):
                if not buf.touch(key, nbytes):
                    setattr(res, field, getattr(res, field) + nbytes)
                buf.evict_over_cap()

            ckey = (b, i["m"], i["n"])
            visits[ckey] = visits.get(ckey, 0) + 1
            cbytes = s["m"] * s["n"] * acc
            if not buf_c.touch(ckey, cbytes) and visits[ckey] > 1:
                res.psum_rd_bytes += cbytes
            if visits[ckey] == nk:  # complete: written to DRAM at `bits`, stays until evicted
                res.out_wr_bytes += s["m"] * s["n"] * bpe
            for key, nb in buf_c.evict_over_cap():
                if visits[key] < nk:  # evicted before its last K tile: partial sums spill
                    res.psum_wr_bytes += nb
    return res


@st.composite
def cases(draw: st.DrawFn) -> tuple[Gemm, Hardware, Mapping]:
    m, n, k = (draw(st.integers(1, 40)) for _ in range(3))
    g = Gemm(m=m, n=n, k=k, batch=draw(st.integers(1, 2)))
    kb = st.sampled_from([0.0625, 0.125, 0.25, 0.5, 1.0, 4.0])
    hw = Hardware(
        pe_rows=draw(st.integers(1, 9)),
        pe_cols=draw(st.integers(1, 9)),
        ifmap_sram_kb=draw(kb),
        filter_sram_kb=draw(kb),
        ofmap_sram_kb=draw(kb),
        dram_bw_bytes_per_cycle=8,
        bits=draw(st.sampled_from([8, 16])),
        dataflows=DATAFLOWS,
    )

    def tile(d: int) -> int:
        return draw(st.integers(max(1, math.ceil(d / 6)), d))

    mapping = Mapping(
        dataflow=draw(st.sampled_from(DATAFLOWS)),
        tile_m=tile(m),
        tile_n=tile(n),
        tile_k=tile(k),
        loop_order=draw(st.sampled_from(LOOP_ORDERS)),
    )
    return g, hw, mapping


@settings(max_examples=400, deadline=None)
@given(cases())
def test_model_equals_loop_nest_simulation(case: tuple[Gemm, Hardware, Mapping]) -> None:
    g, hw, mp = case
    bpe = hw.bits / 8
    assume(mp.tile_m * mp.tile_k * bpe <= hw.ifmap_sram_kb * 512)
    assume(mp.tile_k * mp.tile_n * bpe <= hw.filter_sram_kb * 512)
    sim = simulate(g, hw, mp)
    cost = SYSTOLIC.evaluate(g, hw, mp)
    acc = SYSTOLIC.access_bytes(g, hw, mp)
    assert cost.compute_cycles == sim.compute
    assert cost.fill_drain_cycles == sim.fill
    assert acc["ifmap_rd_bytes"] == pytest.approx(sim.a_rd_bytes, rel=1e-12)
    assert acc["filter_rd_bytes"] == pytest.approx(sim.b_rd_bytes, rel=1e-12)
    assert acc["ifmap_wr_bytes"] == pytest.approx(sim.a_dram_bytes, rel=1e-12)
    assert acc["filter_wr_bytes"] == pytest.approx(sim.b_dram_bytes, rel=1e-12)
    assert sim.psum_rd_bytes == sim.psum_wr_bytes
    assert acc["dram_rd_bytes"] == pytest.approx(sim.a_dram_bytes + sim.b_dram_bytes + sim.psum_rd_bytes, rel=1e-12)
    assert acc["dram_wr_bytes"] == pytest.approx(sim.out_wr_bytes + sim.psum_wr_bytes, rel=1e-12)
    mn = g.batch * g.m * g.n
    assert acc["ofmap_wr_bytes"] == pytest.approx(sim.c_accumulations * hw.acc_bits / 8 + sim.psum_rd_bytes, rel=1e-12)
    assert acc["ofmap_rd_bytes"] == pytest.approx(
        (sim.c_accumulations - mn) * hw.acc_bits / 8 + acc["dram_wr_bytes"], rel=1e-12
    )
