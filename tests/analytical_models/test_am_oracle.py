"""The closed-form model equals a naive tile-by-tile LRU simulation of the loop nest."""

from __future__ import annotations

import math

import pytest
from am_loopnest_sim import simulate
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from analytical_models import DATAFLOWS, LOOP_ORDERS, SYSTOLIC, Gemm, Hardware, Mapping


@st.composite
def cases(draw: st.DrawFn) -> tuple[Gemm, Hardware, Mapping]:
    m, n, k = (draw(st.integers(1, 40)) for _ in range(3))
    g = Gemm(m=m, n=n, k=k, batch=draw(st.integers(1, 2)))
    kb = st.sampled_from([0.0625, 0.125, 0.25, 0.5, 1.0, 4.0])
    hw = Hardware(
        pe_rows=draw(st.integers(1, 9)), pe_cols=draw(st.integers(1, 9)),
        ifmap_sram_kb=draw(kb), filter_sram_kb=draw(kb), ofmap_sram_kb=draw(kb),
        dram_bw_bytes_per_cycle=8, bits=draw(st.sampled_from([8, 16])), dataflows=DATAFLOWS,
    )

    def tile(d: int) -> int:
        return draw(st.integers(max(1, math.ceil(d / 6)), d))

    mapping = Mapping(
        dataflow=draw(st.sampled_from(DATAFLOWS)), tile_m=tile(m), tile_n=tile(n),
        tile_k=tile(k), loop_order=draw(st.sampled_from(LOOP_ORDERS)),
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
    assert acc["dram_rd_bytes"] == pytest.approx(
        sim.a_dram_bytes + sim.b_dram_bytes + sim.psum_rd_bytes, rel=1e-12
    )
    assert acc["dram_wr_bytes"] == pytest.approx(sim.out_wr_bytes + sim.psum_wr_bytes, rel=1e-12)
    mn = g.batch * g.m * g.n
    assert acc["ofmap_wr_bytes"] == pytest.approx(
        sim.c_accumulations * hw.acc_bits / 8 + sim.psum_rd_bytes, rel=1e-12
    )
    assert acc["ofmap_rd_bytes"] == pytest.approx(
        (sim.c_accumulations - mn) * hw.acc_bits / 8 + acc["dram_wr_bytes"], rel=1e-12
    )
