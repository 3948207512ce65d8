"""Memory traffic, energy, search and engine behaviour of the analytical models."""

from __future__ import annotations

import numpy as np
import pytest

from analytical_models import (
    CONTRACTION_ENGINE,
    SYSTOLIC,
    ArrayEngine,
    Gemm,
    Hardware,
    Mapping,
    ModelInputError,
    engine_names,
    get_engine,
    get_tech,
    price,
)
from analytical_models._consts import hw_consts
from analytical_models._cost import grid_objectives
from analytical_models._stage import _ALL_ORDERS, LOOP_ORDERS, stage
from analytical_models._tiles import tile_grid


def hw_(**kw: object) -> Hardware:
    base: dict[str, object] = dict(
        pe_rows=8,
        pe_cols=8,
        ifmap_sram_kb=64,
        filter_sram_kb=64,
        ofmap_sram_kb=64,
        dram_bw_bytes_per_cycle=16,
        dataflows=("ws", "os", "is"),
    )
    base.update(kw)
    return Hardware(**base)  # type: ignore[arg-type]


def test_registry() -> None:
    assert {"systolic", "contraction_engine"} <= set(engine_names())
    assert get_engine("systolic") is SYSTOLIC
    assert get_engine("contraction_engine") is CONTRACTION_ENGINE


def test_everything_fits_reads_each_operand_once() -> None:
    g = Gemm(m=64, n=32, k=48, batch=2)
    c = SYSTOLIC.evaluate(g, hw_(), Mapping(dataflow="ws", tile_m=32, tile_n=16, tile_k=16))
    assert c.dram_read_bytes == 2 * (64 * 48 + 48 * 32)
    assert c.dram_write_bytes == 2 * 64 * 32


@pytest.mark.parametrize(
    ("order", "ifmap_kb", "a_fetches"),
    [
        ("nmk", 2, 2),  # n outermost, A (4096 B) does not fit 1024 B: refetched per n tile
        ("mnk", 2, 2),  # n in the middle: footprint tile_m x K = 2048 B > 1024 B
        ("mnk", 4, 1),  # ... fits 2048 B
        ("mkn", 2, 1),  # n innermost: the A tile stays
        ("nmk", 8, 1),  # whole A fits half of 8 kB
    ],
)
def test_a_refetch_depends_on_loop_order(order: str, ifmap_kb: float, a_fetches: int) -> None:
    g = Gemm(m=64, n=64, k=64)
    hw = hw_(ifmap_sram_kb=ifmap_kb)
    c = SYSTOLIC.evaluate(g, hw, Mapping(dataflow="os", tile_m=32, tile_n=32, tile_k=32, loop_order=order))
    assert c.dram_read_bytes == a_fetches * 64 * 64 + 64 * 64


def test_partial_sums_spill_when_ofmap_too_small() -> None:
    g = Gemm(m=64, n=64, k=64)
    m = Mapping(dataflow="ws", tile_m=32, tile_n=32, tile_k=32, loop_order="mnk")
    fits = SYSTOLIC.evaluate(g, hw_(ofmap_sram_kb=8), m)  # C tile 32*32*4 B = 4 kB <= 4 kB
    spills = SYSTOLIC.evaluate(g, hw_(ofmap_sram_kb=4), m)
    psum = 64 * 64 * 4 * (2 - 1)  # acc_bits = 32, nk = 2 tiles -> one round trip
    assert spills.dram_read_bytes - fits.dram_read_bytes == psum
    assert spills.dram_write_bytes - fits.dram_write_bytes == psum
    no_split = Mapping(dataflow="ws", tile_m=32, tile_n=32, tile_k=64)
    assert SYSTOLIC.evaluate(g, hw_(ofmap_sram_kb=4), no_split).dram_write_bytes == 64 * 64


def test_stall_when_bandwidth_bound() -> None:
    g = Gemm(m=256, n=256, k=256)
    m = Mapping(dataflow="ws", tile_m=256, tile_n=64, tile_k=64)
    slow = SYSTOLIC.evaluate(g, hw_(dram_bw_bytes_per_cycle=0.5), m)
    fast = SYSTOLIC.evaluate(g, hw_(dram_bw_bytes_per_cycle=1000), m)
    assert slow.cycles == pytest.approx(slow.dram_bytes / 0.5)
    assert slow.stall_cycles > fast.stall_cycles > 0
    assert fast.compute_cycles == slow.compute_cycles


def test_energy_breakdown_matches_hand_count() -> None:
    g = Gemm(m=16, n=16, k=16)
    hw = hw_(pe_rows=16, pe_cols=16, ifmap_sram_kb=8, filter_sram_kb=8, ofmap_sram_kb=8)
    c = SYSTOLIC.evaluate(g, hw, Mapping(dataflow="ws", tile_m=16, tile_n=16, tile_k=16))
    tech = get_tech("horowitz45")
    assert c.mac_energy_pj == pytest.approx(16**3 * 0.23)
    assert c.dram_energy_pj == pytest.approx(3 * 256 * 8 * 1950 / 64)
    # WS, one fold: B read once (256 B) and written once from DRAM; 10 pJ per 64 bits at 8 kB.
    assert c.filter_sram_energy_pj == pytest.approx(2 * 256 * 8 * 10 / 64)
    # A read once per column fold (1), written once from DRAM.
    assert c.ifmap_sram_energy_pj == pytest.approx(2 * 256 * 8 * 10 / 64)
    # C: one accumulation written at acc_bits (4 B), then read out to DRAM (1 B per element).
    assert c.ofmap_sram_energy_pj == pytest.approx((256 * 4 + 256) * 8 * 10 / 64)
    leak_mw = 256 * tech.leak_mw_per_pe + 24 * tech.leak_mw_per_kb
    assert c.leakage_energy_pj == pytest.approx(leak_mw * c.cycles / 500.0 * 1e3)


@pytest.mark.parametrize("engine", [SYSTOLIC, CONTRACTION_ENGINE])
@pytest.mark.parametrize("objective", ["latency", "energy", "edp"])
def test_evaluate_equals_search(engine: ArrayEngine, objective: str) -> None:
    g = Gemm(m=96, n=40, k=130, batch=2, permute_a_elements=3000, permute_c_elements=500)
    hw = hw_(ifmap_sram_kb=4, filter_sram_kb=8, ofmap_sram_kb=2)
    res = engine.search(g, hw, objective)  # type: ignore[arg-type]
    assert engine.evaluate(g, hw, res.mapping) == res.cost
    for mapping, cost in res.pareto:
        assert engine.evaluate(g, hw, mapping) == cost


def test_evaluate_equals_every_grid_entry() -> None:
    g = Gemm(m=50, n=70, k=33, permute_b_elements=100)
    hw = hw_(pe_rows=4, pe_cols=16, ifmap_sram_kb=1, filter_sram_kb=2, ofmap_sram_kb=1)
    c = hw_consts(hw)
    tiles = tile_grid(50, 70, 33, 512, 1024)
    tm, tn, tk = tiles
    shaping = SYSTOLIC.shaping(g, hw)
    st = stage(g, c, hw.dataflows, tiles, _ALL_ORDERS)
    cycles, energy = grid_objectives(st, g, c, shaping)
    rng = np.random.default_rng(0)
    for flat in rng.choice(cycles.size, size=40, replace=False):
        d, o, t = np.unravel_index(flat, cycles.shape)
        m = Mapping(
            dataflow=hw.dataflows[d],
            tile_m=int(tm[t]),
            tile_n=int(tn[t]),
            tile_k=int(tk[t]),
            loop_order=LOOP_ORDERS[o],
        )
        cost = SYSTOLIC.evaluate(g, hw, m)
        assert cost.cycles == cycles[d, o, t]
        assert cost.energy_pj == pytest.approx(energy[d, o, t], rel=1e-12)


def test_search_is_best_and_pareto_is_nondominated() -> None:
    g = Gemm(m=200, n=64, k=300)
    hw = hw_(ifmap_sram_kb=16, filter_sram_kb=16, ofmap_sram_kb=8, dram_bw_bytes_per_cycle=4)
    lat = SYSTOLIC.search(g, hw, "latency")
    en = SYSTOLIC.search(g, hw, "energy")
    assert lat.cost.cycles <= en.cost.cycles
    assert en.cost.energy_pj <= lat.cost.energy_pj * (1 + 1e-12)
    assert lat.n_evaluated > 1000
    pts = [(c.cycles, c.energy_pj) for _, c in lat.pareto]
    assert pts[0][0] == pytest.approx(lat.cost.cycles)
    for a in pts:
        for b in pts:
            assert not (b[0] <= a[0] and b[1] <= a[1] and b != a)
    assert SYSTOLIC.search(g, hw, "latency") == lat  # deterministic


def test_systolic_restricted_to_hardware_dataflows() -> None:
    g = Gemm(m=64, n=64, k=64)
    hw = hw_(dataflows=("is",))
    assert SYSTOLIC.search(g, hw).mapping.dataflow == "is"
    with pytest.raises(ModelInputError, match="dataflow"):
        SYSTOLIC.evaluate(g, hw, Mapping(dataflow="ws", tile_m=8, tile_n=8, tile_k=8))
    assert CONTRACTION_ENGINE.search(g, hw).n_evaluated == 3 * SYSTOLIC.search(g, hw).n_evaluated


def test_shaping_paid_by_systolic_free_on_contraction_engine() -> None:
    plain = Gemm(m=64, n=64, k=64)
    perm = Gemm(m=64, n=64, k=64, permute_a_elements=64 * 64, permute_c_elements=64 * 64)
    hw = hw_(pe_rows=8, pe_cols=16)
    m = Mapping(dataflow="ws", tile_m=64, tile_n=64, tile_k=64)
    base = SYSTOLIC.evaluate(plain, hw, m)
    paid = SYSTOLIC.evaluate(perm, hw, m)
    # A through the ifmap buffer at R = 8 per cycle, C through the ofmap buffer at C = 16.
    assert paid.shaping_cycles == 2 * 4096 / 8 + 2 * 4096 / 16
    assert paid.sram_read_bytes - base.sram_read_bytes == 2 * 4096
    assert paid.ifmap_sram_energy_pj > base.ifmap_sram_energy_pj
    free = CONTRACTION_ENGINE.evaluate(perm, hw, m)
    assert free.shaping_cycles == 0
    assert free == CONTRACTION_ENGINE.evaluate(plain, hw, m)
    # Too big for its buffer: through DRAM.
    big = Gemm(m=64, n=64, k=64, permute_b_elements=10**6)
    c = SYSTOLIC.evaluate(big, hw, m)
    assert c.shaping_cycles == 2 * 10**6 / 16
    assert c.dram_read_bytes - base.dram_read_bytes == 10**6


def test_contraction_engine_not_slower_with_permutations() -> None:
    g = Gemm(m=128, n=32, k=512, permute_a_elements=128 * 512, permute_b_elements=512 * 32)
    for df in (("ws",), ("os",), ("is",), ("ws", "os", "is")):
        hw = hw_(dataflows=df)
        assert CONTRACTION_ENGINE.search(g, hw).cost.cycles < SYSTOLIC.search(g, hw).cost.cycles


def test_price_is_cached_and_validates() -> None:
    g = Gemm(m=33, n=17, k=65)
    hw = hw_()
    assert price(g, hw) is price(g, hw)
    assert price(g, hw, "energy").cost == SYSTOLIC.search(g, hw, "energy").cost
    with pytest.raises(ModelInputError):
        price(g, hw, "speed")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mapping", "match"),
    [
        (Mapping(dataflow="ws", tile_m=8, tile_n=8, tile_k=8, loop_order="mmk"), "loop_order"),
        (Mapping(dataflow="ws", tile_m=0, tile_n=8, tile_k=8), "tile"),
        (Mapping(dataflow="ws", tile_m=512, tile_n=8, tile_k=512), "fit"),
    ],
)
def test_bad_mappings(mapping: Mapping, match: str) -> None:
    with pytest.raises(ModelInputError, match=match):
        SYSTOLIC.evaluate(Gemm(m=512, n=512, k=512), hw_(ifmap_sram_kb=1), mapping)


def test_tiles_clipped_to_dims() -> None:
    g = Gemm(m=10, n=10, k=10)
    big = Mapping(dataflow="os", tile_m=1000, tile_n=1000, tile_k=1000)
    exact = Mapping(dataflow="os", tile_m=10, tile_n=10, tile_k=10)
    assert SYSTOLIC.evaluate(g, hw_(), big) == SYSTOLIC.evaluate(g, hw_(), exact)


def test_no_tile_fits() -> None:
    hw = hw_(ifmap_sram_kb=0.001)
    with pytest.raises(ModelInputError, match="no tile fits"):
        SYSTOLIC.search(Gemm(m=4, n=4, k=4), hw)


def test_access_bytes_consistent_with_cost() -> None:
    g = Gemm(m=64, n=48, k=80, permute_a_elements=100)
    hw = hw_()
    m = SYSTOLIC.search(g, hw).mapping
    acc = SYSTOLIC.access_bytes(g, hw, m)
    cost = SYSTOLIC.evaluate(g, hw, m)
    assert acc["dram_rd_bytes"] + acc["dram_wr_bytes"] == cost.dram_bytes
    assert acc["ifmap_rd_bytes"] + acc["filter_rd_bytes"] + acc["ofmap_rd_bytes"] == (cost.sram_read_bytes)


def test_dataflow_listing_order_does_not_matter() -> None:
    g = Gemm(m=64, n=64, k=64)
    a = SYSTOLIC.search(g, hw_(dataflows=("is", "ws")))
    b = SYSTOLIC.search(g, hw_(dataflows=("ws", "is")))
    assert a == b


def test_a_ce_array_joins_its_engines_into_one_cached_view() -> None:
    """A GEMM fed from DRAM sees a ``ce_array`` as one array of ``pe_cols * n_engines`` columns:
    one instance per hardware (caches keyed by it hash it once), equal for equal hardware,
    and the hardware itself with one engine."""
    from dataclasses import replace

    engine = get_engine("ce_array")
    hw = Hardware(
        engine="ce_array",
        n_engines=4,
        pe_rows=16,
        pe_cols=8,
        ifmap_sram_kb=32.0,
        filter_sram_kb=32.0,
        ofmap_sram_kb=64.0,
        dram_bw_bytes_per_cycle=16.0,
    )
    view = engine.array_view(hw)  # type: ignore[attr-defined]
    assert (view.pe_rows, view.pe_cols, view.n_engines) == (16, 32, 1)
    assert view == replace(hw, pe_cols=32, n_engines=1)
    assert engine.array_view(replace(hw)) is view  # type: ignore[attr-defined]
    one = replace(hw, n_engines=1)
    assert engine.array_view(one) is one  # type: ignore[attr-defined]
