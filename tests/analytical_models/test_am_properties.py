"""Hypothesis invariants of the analytical models."""

from __future__ import annotations

import dataclasses
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from analytical_models import (
    CONTRACTION_ENGINE,
    DATAFLOWS,
    SYSTOLIC,
    Gemm,
    Hardware,
    Mapping,
    get_tech,
)

dims = st.integers(1, 300)
kbs = st.sampled_from([0.5, 1.0, 2.0, 8.0, 32.0, 128.0])


@st.composite
def gemms(draw: st.DrawFn) -> Gemm:
    m, n, k = draw(dims), draw(dims), draw(dims)
    return Gemm(
        m=m,
        n=n,
        k=k,
        batch=draw(st.integers(1, 3)),
        permute_a_elements=draw(st.sampled_from([0, m * k])),
        permute_b_elements=draw(st.sampled_from([0, k * n])),
        permute_c_elements=draw(st.sampled_from([0, m * n])),
    )


@st.composite
def hardwares(draw: st.DrawFn) -> Hardware:
    return Hardware(
        pe_rows=draw(st.integers(1, 64)),
        pe_cols=draw(st.integers(1, 64)),
        ifmap_sram_kb=draw(kbs),
        filter_sram_kb=draw(kbs),
        ofmap_sram_kb=draw(kbs),
        dram_bw_bytes_per_cycle=draw(st.sampled_from([0.5, 4.0, 64.0])),
        bits=draw(st.sampled_from([8, 16])),
        tech=draw(st.sampled_from(["horowitz45", "accelergy45", "tpu7nm"])),
        dataflows=tuple(sorted(draw(st.sets(st.sampled_from(DATAFLOWS), min_size=1)))),
    )


@settings(max_examples=150, deadline=None)
@given(gemms(), hardwares(), st.sampled_from(["latency", "energy", "edp"]))
def test_costs_finite_nonnegative_and_bounded(g: Gemm, hw: Hardware, objective: str) -> None:
    for engine in (SYSTOLIC, CONTRACTION_ENGINE):
        res = engine.search(g, hw, objective)  # type: ignore[arg-type]
        for _, cost in ((res.mapping, res.cost), *res.pareto):
            assert cost.is_finite()
            for f in dataclasses.fields(cost):
                assert getattr(cost, f.name) >= 0, f.name
            assert cost.energy_pj >= g.macs * get_tech(hw.tech).mac_pj(hw.bits)
            assert cost.cycles >= g.macs / hw.n_pes
            assert cost.compute_cycles >= g.macs / hw.n_pes
            assert 0 < cost.utilization <= 1
            assert cost.dram_bytes >= (g.m * g.k + g.k * g.n + g.m * g.n) * g.batch * hw.bits / 8


@settings(max_examples=150, deadline=None)
@given(gemms(), hardwares(), st.sampled_from(["ifmap", "filter", "ofmap"]), st.integers(1, 4))
def test_larger_buffer_never_raises_dram_traffic(g: Gemm, hw: Hardware, which: str, doublings: int) -> None:
    """For the tiled mappings. SCALE-Sim's own nest (a candidate of every search) reads DRAM as
    SCALE-Sim's memory system does, which forgets its buffer every fixed number of words in
    proportion to its size and so is not monotone in it: ``121 x 65 x 210`` on a 14 x 60 OS
    array reads 173,135 bytes with an 8 kB filter buffer and 173,835 with 16 kB (see
    :func:`test_scalesim_nest_traffic_need_not_fall_with_the_buffer`)."""
    res = SYSTOLIC.search(g, hw, "energy")
    name = f"{which}_sram_kb"
    big = dataclasses.replace(hw, **{name: getattr(hw, name) * 2**doublings})
    for mapping, cost in ((res.mapping, res.cost), *res.pareto):
        if mapping.nest == "tiled":
            assert SYSTOLIC.evaluate(g, big, mapping).dram_bytes <= cost.dram_bytes


def test_scalesim_nest_traffic_need_not_fall_with_the_buffer() -> None:
    """The exception above, pinned: SCALE-Sim's nest on a larger filter buffer reads more."""
    g = Gemm(m=121, n=65, k=210)
    hw = Hardware(
        pe_rows=14,
        pe_cols=60,
        ifmap_sram_kb=0.5,
        filter_sram_kb=8.0,
        ofmap_sram_kb=0.5,
        dram_bw_bytes_per_cycle=4.0,
        tech="horowitz45",
        dataflows=("os", "ws"),
    )
    nest = Mapping(dataflow="os", tile_m=14, tile_n=60, tile_k=18, loop_order="nmk", nest="scalesim")
    small = SYSTOLIC.evaluate(g, hw, nest).dram_bytes
    big = SYSTOLIC.evaluate(g, dataclasses.replace(hw, filter_sram_kb=16.0), nest).dram_bytes
    assert big > small


@settings(max_examples=150, deadline=None)
@given(gemms(), hardwares(), st.sampled_from(["rows", "cols"]), st.integers(1, 64))
def test_more_pes_never_more_streaming_cycles(g: Gemm, hw: Hardware, side: str, extra: int) -> None:
    """Any growth of the array never increases the streamed (folds x T) cycles."""
    res = SYSTOLIC.search(g, hw)
    grown = dataclasses.replace(hw, **{f"pe_{side}": getattr(hw, f"pe_{side}") + extra})
    for mapping, cost in ((res.mapping, res.cost), *res.pareto):
        assert SYSTOLIC.evaluate(g, grown, mapping).compute_cycles <= cost.compute_cycles


@st.composite
def aligned_cases(draw: st.DrawFn) -> tuple[Gemm, Hardware, Mapping]:
    """Dims and tiles multiples of 32, array sides powers of two <= 16 (so 2R, 2C divide)."""
    m, n, k = (32 * draw(st.integers(1, 8)) for _ in range(3))
    g = Gemm(m=m, n=n, k=k, batch=draw(st.integers(1, 2)), permute_a_elements=draw(st.sampled_from([0, m * k])))
    hw = Hardware(
        pe_rows=draw(st.sampled_from([1, 2, 4, 8, 16])),
        pe_cols=draw(st.sampled_from([1, 2, 4, 8, 16])),
        ifmap_sram_kb=1024,
        filter_sram_kb=1024,
        ofmap_sram_kb=draw(kbs),
        dram_bw_bytes_per_cycle=draw(st.sampled_from([0.5, 4.0, 64.0])),
        dataflows=DATAFLOWS,
    )
    mapping = Mapping(
        dataflow=draw(st.sampled_from(DATAFLOWS)),
        tile_m=32 * draw(st.integers(1, m // 32)),
        tile_n=32 * draw(st.integers(1, n // 32)),
        tile_k=32 * draw(st.integers(1, k // 32)),
        loop_order=draw(st.sampled_from(["mnk", "mkn", "nmk", "nkm", "kmn", "knm"])),
    )
    return g, hw, mapping


@settings(max_examples=200, deadline=None)
@given(aligned_cases(), st.sampled_from(["rows", "cols"]))
def test_doubling_the_array_never_slows_the_same_mapping(case: tuple[Gemm, Hardware, Mapping], side: str) -> None:
    """When every tile is a multiple of the doubled side, more PEs are never slower.

    (For ragged sizes the SCALE-Sim model can get slower: fill/drain grows with the array
    while the fold count may not shrink; see ``test_bigger_array_can_be_slower``.)
    """
    g, hw, mapping = case
    grown = dataclasses.replace(hw, **{f"pe_{side}": getattr(hw, f"pe_{side}") * 2})
    before = SYSTOLIC.evaluate(g, hw, mapping)
    after = SYSTOLIC.evaluate(g, grown, mapping)
    assert after.cycles <= before.cycles
    assert after.compute_cycles <= before.compute_cycles


def test_bigger_array_can_be_slower() -> None:
    """Documented behaviour of the first-order model: K = 8 on 4 vs 5 rows, WS."""
    g = Gemm(m=16, n=4, k=8)
    mapping = Mapping(dataflow="ws", tile_m=16, tile_n=4, tile_k=8)
    small = Hardware(
        pe_rows=4, pe_cols=4, ifmap_sram_kb=64, filter_sram_kb=64, ofmap_sram_kb=64, dram_bw_bytes_per_cycle=1000
    )
    big = dataclasses.replace(small, pe_rows=5)
    # 2 folds each; 2*4+4+16-2 = 26 vs 2*5+4+16-2 = 28 cycles per fold.
    assert SYSTOLIC.evaluate(g, small, mapping).fill_drain_cycles == 2 * 10
    assert SYSTOLIC.evaluate(g, big, mapping).fill_drain_cycles == 2 * 12


@settings(max_examples=150, deadline=None)
@given(gemms(), hardwares(), st.sampled_from(["latency", "energy", "edp"]))
def test_contraction_engine_never_worse_than_systolic(g: Gemm, hw: Hardware, objective: str) -> None:
    sys_cost = SYSTOLIC.search(g, hw, objective).cost  # type: ignore[arg-type]
    ce_cost = CONTRACTION_ENGINE.search(g, hw, objective).cost  # type: ignore[arg-type]
    if objective == "latency":
        assert ce_cost.cycles <= sys_cost.cycles
    elif objective == "energy":
        assert ce_cost.energy_pj <= sys_cost.energy_pj * (1 + 1e-12)
    else:
        assert ce_cost.cycles * ce_cost.energy_pj <= (sys_cost.cycles * sys_cost.energy_pj * (1 + 1e-12))


@settings(max_examples=100, deadline=None)
@given(gemms(), hardwares())
def test_best_is_minimal_over_pareto(g: Gemm, hw: Hardware) -> None:
    res = SYSTOLIC.search(g, hw, "edp")
    best = res.cost.cycles * res.cost.energy_pj
    assert all(best <= c.cycles * c.energy_pj * (1 + 1e-12) for _, c in res.pareto)
    assert math.isclose(min(c.cycles for _, c in res.pareto), SYSTOLIC.search(g, hw, "latency").cost.cycles)
