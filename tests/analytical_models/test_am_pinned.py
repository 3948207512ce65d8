"""SCALE-Sim's own loop nest as a mapping (``Hardware.mapping="scalesim"``, ``Mapping.nest``):
its pricing, its spans, its lower bound, and how it plugs into the engine."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from analytical_models import (
    CONTRACTION_ENGINE,
    SYSTOLIC,
    Gemm,
    Hardware,
    Mapping,
    ModelInputError,
    Objective,
    price,
)
from analytical_models._pinned import FOLD_ORDERS, nest_timeable, pinned_lower_bound, pinned_nest
from analytical_models._scalesim_mapping import scalesim_report, scalesim_words


def _hw(**kw: object) -> Hardware:
    base: dict[str, object] = {
        "pe_rows": 8,
        "pe_cols": 8,
        "ifmap_sram_kb": 4,
        "filter_sram_kb": 4,
        "ofmap_sram_kb": 4,
        "dram_bw_bytes_per_cycle": 10,
        "dataflows": ("ws", "os", "is"),
        "memory_timing": "serial",
        "mapping": "scalesim",
    }
    base.update(kw)
    return Hardware(**base)  # type: ignore[arg-type]


gemms = st.builds(
    Gemm,
    m=st.integers(1, 160),
    n=st.integers(1, 160),
    k=st.integers(1, 160),
    batch=st.integers(1, 3),
    permute_a_elements=st.sampled_from([0, 0, 500]),
)
hardware = st.builds(
    _hw,
    bits=st.sampled_from([8, 8, 16]),
    pe_rows=st.sampled_from([2, 4, 8, 16]),
    pe_cols=st.sampled_from([2, 4, 8, 16]),
    ifmap_sram_kb=st.sampled_from([1, 2, 4, 16]),
    filter_sram_kb=st.sampled_from([1, 2, 4, 16]),
    ofmap_sram_kb=st.sampled_from([1, 2, 4, 16]),
    dram_bw_bytes_per_cycle=st.sampled_from([1.0, 4.0, 10.0, 64.0]),
    memory_timing=st.sampled_from(["serial", "overlapped"]),
)


def test_serial_cycles_are_scalesim_incl_prefetch() -> None:
    """The issue-13 deep reduction: the nest's cycles are SCALE-Sim's "Total Cycles (incl.
    prefetch)" of the predicted report (43,314, as SCALE-Sim itself reports), batch times."""
    gemm = Gemm(m=128, n=256, k=64)
    hw = _hw(ifmap_sram_kb=64, filter_sram_kb=64, ofmap_sram_kb=64, dataflows=("ws",))
    res = price(gemm, hw)
    assert res.mapping == Mapping(dataflow="ws", tile_m=128, tile_n=8, tile_k=8, loop_order="nkm", nest="scalesim")
    assert res.cost.cycles == 43_314.0
    assert res.n_evaluated == 1
    three = price(dataclasses.replace(gemm, batch=3), hw).cost
    assert three.cycles == 3 * 43_314.0
    assert three.dram_bytes == pytest.approx(3 * res.cost.dram_bytes)


def test_overlapped_window_is_scalesim_total_plus_one() -> None:
    """Ample bandwidth: the compute window counts ``FR FC F`` cycles, SCALE-Sim's "Total Cycles"
    is the index of the last one."""
    gemm = Gemm(m=100, n=40, k=70)
    for df in ("ws", "os", "is"):
        hw = _hw(memory_timing="overlapped", dram_bw_bytes_per_cycle=1e12, dataflows=(df,))
        spans = SYSTOLIC.spans(gemm, hw, price(gemm, hw).mapping)
        zi, zf, zo, bw = scalesim_words(hw)
        rep = scalesim_report(
            100,
            40,
            70,
            rows=8,
            cols=8,
            dataflow=df,
            ifmap_sram_words=zi,
            filter_sram_words=zf,
            ofmap_sram_words=zo,
            bw_words=bw,
            interface="CALC",
        )
        assert spans.compute_window_cycles == rep.total_cycles + 1
        assert price(gemm, hw).cost.cycles == pytest.approx(rep.total_cycles + 1, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(gemm=gemms, hw=hardware)
def test_pinned_best_evaluate_spans_and_bound(gemm: Gemm, hw: Hardware) -> None:
    """The pinned search takes the best dataflow's nest; ``evaluate`` of its mapping gives the
    same cost; the spans add up to the cycles (shaping apart); the access bytes add up to the
    cost's; the cheap lower bound never exceeds the nest."""
    assume(nest_timeable(hw))
    res = SYSTOLIC.search(gemm, hw)
    nests = {d: SYSTOLIC.pinned(gemm, hw, d) for d in hw.dataflows}
    assert res.cost.cycles == min(p.cost.cycles for p in nests.values())
    mp = res.mapping
    assert mp.nest == "scalesim" and mp.loop_order == FOLD_ORDERS[mp.dataflow]
    bpe = hw.bits / 8  # its tiles (what exports build) fit half of the buffers
    assert (
        mp.tile_m * mp.tile_k * bpe <= hw.ifmap_sram_kb * 512 and mp.tile_k * mp.tile_n * bpe <= hw.filter_sram_kb * 512
    )
    assert SYSTOLIC.evaluate(gemm, hw, res.mapping) == res.cost
    sp = SYSTOLIC.spans(gemm, hw, res.mapping)
    assert sp.prefetch_cycles + sp.compute_window_cycles + sp.drain_tail_cycles + res.cost.shaping_cycles == (
        pytest.approx(res.cost.cycles, rel=1e-12)
    )
    assert min(sp) >= 0.0 and res.cost.stall_cycles >= 0.0 and res.cost.is_finite()
    acc = SYSTOLIC.access_bytes(gemm, hw, res.mapping)
    assert acc["dram_rd_bytes"] == res.cost.dram_read_bytes and acc["dram_wr_bytes"] == res.cost.dram_write_bytes
    assert sum(acc[f"{b}_rd_bytes"] for b in ("ifmap", "filter", "ofmap")) == pytest.approx(res.cost.sram_read_bytes)
    shaping = SYSTOLIC.shaping(gemm, hw)
    for d, nest in nests.items():
        lb_c, lb_e = pinned_lower_bound(gemm, hw, d, shaping)
        assert lb_c <= nest.cost.cycles and lb_e <= nest.cost.energy_pj * (1 + 1e-12)


def test_engine_shaping_is_added() -> None:
    """The nest pays the engine's tensor shaping like any mapping (free on a contraction engine)."""
    gemm = Gemm(m=64, n=32, k=48, permute_a_elements=64 * 48)
    hw = _hw(ifmap_sram_kb=64, filter_sram_kb=64, ofmap_sram_kb=64, dataflows=("ws", "os", "is"))
    paid = SYSTOLIC.pinned(gemm, hw, "ws").cost
    free = CONTRACTION_ENGINE.pinned(gemm, hw, "ws").cost
    assert paid.shaping_cycles > 0 and free.shaping_cycles == 0
    assert paid.cycles == free.cycles + paid.shaping_cycles


def test_bad_values_refused() -> None:
    with pytest.raises(ModelInputError, match="mapping must be one of"):
        _hw(mapping="timeloop")
    with pytest.raises(ModelInputError, match="nest must be one of"):
        SYSTOLIC.evaluate(Gemm(m=4, n=4, k=4), _hw(), Mapping(dataflow="ws", tile_m=4, tile_n=4, tile_k=4, nest="x"))
    with pytest.raises(ModelInputError, match="not supported"):
        SYSTOLIC.pinned(Gemm(m=4, n=4, k=4), _hw(dataflows=("os",)), "ws")


def test_pinned_nest_function_matches_engine() -> None:
    gemm = Gemm(m=33, n=17, k=65)
    hw = _hw()
    assert pinned_nest(gemm, hw, "is", SYSTOLIC.shaping(gemm, hw)).cost == SYSTOLIC.pinned(gemm, hw, "is").cost


searched_hardware = st.builds(
    _hw,
    engine=st.sampled_from(["systolic", "systolic", "contraction_engine"]),
    pe_rows=st.sampled_from([1, 3, 4, 8, 16, 32]),
    pe_cols=st.sampled_from([1, 4, 8, 12, 32]),
    ifmap_sram_kb=st.sampled_from([0.5, 1, 2, 4, 16, 64]),
    filter_sram_kb=st.sampled_from([0.5, 1, 2, 4, 16, 64]),
    ofmap_sram_kb=st.sampled_from([0.5, 1, 2, 4, 16, 64]),
    dram_bw_bytes_per_cycle=st.sampled_from([0.5, 1.0, 3.0, 10.0, 16.0, 64.0, 1e6]),
    bits=st.sampled_from([8, 8, 16]),
    dataflows=st.sampled_from([("ws",), ("os",), ("is",), ("ws", "os", "is")]),
    memory_timing=st.sampled_from(["serial", "overlapped"]),
)


@settings(max_examples=150, deadline=None)
@given(
    gemm=st.builds(
        Gemm,
        m=st.integers(1, 300),
        n=st.integers(1, 300),
        k=st.integers(1, 600),
        batch=st.integers(1, 2),
        permute_b_elements=st.sampled_from([0, 0, 700]),
    ),
    hw=searched_hardware,
    objective=st.sampled_from(["latency", "latency", "energy", "edp"]),
)
def test_searched_is_never_worse_than_the_pinned_nest(gemm: Gemm, hw: Hardware, objective: Objective) -> None:
    """The mapping search holds SCALE-Sim's own nest of every dataflow as a candidate under the
    same memory timing: on the objective (latency: cycles) it never loses to
    ``mapping="scalesim"``, whatever the GEMM and the hardware."""
    assume(nest_timeable(hw))
    searched = price(gemm, dataclasses.replace(hw, mapping="search"), objective).cost
    pinned = price(gemm, dataclasses.replace(hw, mapping="scalesim"), objective).cost
    key = {"latency": lambda c: c.cycles, "energy": lambda c: c.energy_pj, "edp": lambda c: c.cycles * c.energy_pj}
    assert key[objective](searched) <= key[objective](pinned)
    if objective == "latency":
        assert searched.cycles <= pinned.cycles


def test_below_one_word_per_cycle_is_refused_not_rounded_up() -> None:
    """SCALE-Sim's ports move whole words: the serial nest is not priced below one element per
    cycle (the export's rounding up to one word would make it look faster than the hardware)."""
    hw = _hw(dram_bw_bytes_per_cycle=0.5)
    with pytest.raises(ModelInputError, match="at least one element per cycle"):
        price(Gemm(m=20, n=12, k=6), hw)
    searched = price(Gemm(m=20, n=12, k=6), dataclasses.replace(hw, mapping="search"))
    assert searched.mapping.nest == "tiled"
    assert price(Gemm(m=20, n=12, k=6), dataclasses.replace(hw, memory_timing="overlapped")).cost.cycles > 0


@settings(max_examples=300, deadline=None)
@given(
    gemm=gemms,
    hw=hardware,
    acc_bits=st.sampled_from([16, 24, 32]),
    shaping=st.sampled_from([(0.0, 0.0, 0.0), (37.5, 0.0, 0.0), (120.0, 4096.0, 2048.0)]),
)
def test_compiled_nest_cycles_are_the_python_ones(
    gemm: Gemm, hw: Hardware, acc_bits: int, shaping: tuple[float, float, float]
) -> None:
    """The compiled floor and cycles of SCALE-Sim's nest under the overlapped timing
    (:mod:`analytical_models._pinned_kernel`, what the mapping search compares) equal the Python
    functions' bit for bit, on every dataflow (OS's column blocks, partial-sum drains, SRAMs
    that a block does or does not fit)."""
    from analytical_models._jit import compiled_module
    from analytical_models._pinned import pinned_cycles, pinned_cycles_floor
    from analytical_models._shaping import Shaping

    hw = dataclasses.replace(hw, memory_timing="overlapped", acc_bits=acc_bits)
    kernel = compiled_module("analytical_models._pinned_kernel")
    assert kernel is not None
    cycles, dram_rd, dram_wr = shaping
    sh = Shaping(cycles=cycles, dram_rd_bytes=dram_rd, dram_wr_bytes=dram_wr)
    zi, zf, zo, _ = scalesim_words(hw)
    for d in ("ws", "is", "os"):
        args = (gemm.m, gemm.n, gemm.k, gemm.batch, hw.pe_rows, hw.pe_cols, kernel.DATAFLOW_CODE[d])
        mem = (zi, zf, zo, hw.bits, hw.acc_bits, hw.dram_bw_bytes_per_cycle, sh.cycles)
        assert kernel.pinned_cycles_floor(*args, *mem) == pinned_cycles_floor(gemm, hw, d, sh)
        assert kernel.pinned_cycles(*args, *mem, dram_rd, dram_wr) == pinned_cycles(gemm, hw, d, sh)
