"""Steps priced before bound the same steps of later trees and passes (:class:`PricedSingles`):
the search prunes more and finds the same schedules."""

from __future__ import annotations

from dataclasses import replace

from analytical_models import Cost, Gemm, Hardware
from dse.evaluate import _caches, clear_caches
from dse.schedule._search import _PRICED, PricedSingles, Segment
from dse.schedule._set_bounds import gemm_key
from dse.workload import LayerSpec
from tests.contraction._helpers import ttm_spec
from tests.schedule.test_schedule_properties import _records


def _spec(ins: tuple[int, ...], outs: tuple[int, ...], r: int, tokens: int) -> LayerSpec:
    return ttm_spec(ins, outs, (1, *([r] * (len(ins) - 1)), 1), tokens)


HW = Hardware(
    engine="systolic",
    pe_rows=16,
    pe_cols=16,
    ifmap_sram_kb=16.0,
    filter_sram_kb=16.0,
    ofmap_sram_kb=64.0,
    dram_bw_bytes_per_cycle=16.0,
)
SPECS = [_spec((4, 8, 4), (8, 4, 4), 6, 64), _spec((8, 8), (4, 16), 12, 128), _spec((2, 4, 8), (4, 4, 4), 3, 32)]


def _evaluate(specs: list[LayerSpec], hws: list[Hardware], execution: str) -> list[object]:
    return [_records(spec, hw, execution) for spec in specs for hw in hws]


def test_a_search_bounded_by_steps_priced_before_finds_the_same_schedules() -> None:
    """Every pass of several layers on several buffers and engines, under ``auto`` and
    ``fused``, evaluated cold and again with every cache emptied but the priced steps (from the
    first run and from other layers): the same plans, schedules and costs, and the second run
    did bound steps by their earlier price."""
    hws = [HW, replace(HW, ifmap_sram_kb=2.0, ofmap_sram_kb=8.0), replace(HW, engine="ce_array", n_engines=4)]
    for execution in ("auto", "fused"):
        clear_caches()
        cold = _evaluate(SPECS, hws, execution)
        _evaluate([_spec((4, 4, 4), (4, 4, 4), 5, 64)], hws, execution)
        for name, cache in _caches():
            if not name.endswith("._PRICED"):
                cache.cache_clear()
        hits = _PRICED.cache_info().hits
        assert _PRICED.cache_info().currsize > 0
        warm = _evaluate(SPECS, hws, execution)
        assert warm == cold, execution
        assert _PRICED.cache_info().hits > hits


def test_priced_steps_are_bounded_and_counted() -> None:
    """The store empties when full, and counts a lookup's steps as hits and misses."""
    store = PricedSingles(maxsize=2)
    seg = Segment(steps=(0,), fused=False, tile=0, n_tiles=1, merges="", dataflows=("ws",), cycles=10.0, dram_bytes=4.0)
    cost = Cost(compute_cycles=10.0, dram_read_bytes=4.0, mac_energy_pj=3.0)
    made = [Gemm(m=i + 1, n=2, k=3) for i in range(3)]
    gemms = [gemm_key(g) for g in made]
    for g in made[:2]:
        store.add(g, False, HW, "latency", seg, cost)
    assert store.cache_info().currsize == 2
    got = store.of_steps(gemms, [False] * 3, HW, "latency")
    m = 1.0 - 1e-9
    assert got == {0: (10.0 * m, 3.0 * m, 4.0 * m), 1: (10.0 * m, 3.0 * m, 4.0 * m)}
    assert store.of_steps(gemms[:1], [True], HW, "latency") == {}  # (a core merge is another step)
    assert store.cache_info()[:2] == (2, 2)
    store.add(made[2], False, HW, "latency", seg, cost)
    assert store.cache_info().currsize == 1 and store.of_steps(gemms, [False] * 3, HW, "latency").keys() == {2}
    store.cache_clear()
    assert store.cache_info() == (0, 0, 2, 0)
