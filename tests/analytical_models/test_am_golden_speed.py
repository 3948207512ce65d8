"""Golden results of the mapping search: speed work must not change what the search returns.

``golden_search.json`` (written by ``make_golden_search.py`` from the model as it was before
the search was optimized) holds, for ~300 GEMMs x 20 hardware instances x 3 objectives, the
best mapping and every cost field. The optimized search must return the same: cycle fields
exactly, energies and bytes to 1e-9 relative, the same best mapping unless another mapping
ties exactly on the objective (then the objective value must match), the same number of
candidates and the same Pareto set (size and sums of its cycles and energies).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from analytical_models import DATAFLOWS, Cost, Gemm, Hardware, MappingResult, Objective, get_engine

FIXTURE = Path(__file__).with_name("golden_search.json")
REL = 1e-9


@cache
def _golden() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


def _cases() -> list[tuple[Gemm, Hardware, Objective, list[Any]]]:
    data = _golden()
    gemms = [Gemm(**dict(zip(data["gemm_fields"], g, strict=True))) for g in data["gemms"]]
    hws = [Hardware(**{**h, "dataflows": tuple(h["dataflows"])}) for h in data["hardware"]]
    out = []
    results = iter(data["results"])
    for gi, hi in data["pairs"]:
        for obj in data["objectives"]:
            out.append((gemms[gi], hws[hi], obj, next(results)))
    return out


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-300)


def _objective(obj: Objective, cycles: float, energy: float) -> float:
    return {"latency": cycles, "energy": energy, "edp": cycles * energy}[obj]


def _check(result: MappingResult, gemm: Gemm, hw: Hardware, obj: Objective, rec: list[Any]) -> None:
    data = _golden()
    (df, tm, tn, tk, order, nest), values, n_evaluated, (n_front, front_c, front_e) = rec
    want = dict(zip(data["cost_fields"], values, strict=True))
    want_cost = Cost(macs=gemm.macs, **want)
    ctx = f"{gemm} on {hw} ({obj})"
    mp = result.mapping
    assert result.n_evaluated == n_evaluated, ctx
    assert len(result.pareto) == n_front, ctx
    assert _close(sum(c.cycles for _, c in result.pareto), front_c), ctx
    assert _close(sum(c.energy_pj for _, c in result.pareto), front_e), ctx
    if (mp.dataflow, mp.tile_m, mp.tile_n, mp.tile_k, mp.loop_order, mp.nest) != (df, tm, tn, tk, order, nest):
        # Only an exact tie on the objective may pick another mapping.
        got = _objective(obj, result.cost.cycles, result.cost.energy_pj)
        exp = _objective(obj, want_cost.cycles, want_cost.energy_pj)
        if obj == "latency":
            assert got == exp, ctx
        else:
            assert _close(got, exp), ctx
        return
    cost = result.cost
    assert cost.macs == gemm.macs, ctx
    for name in data["cost_fields"]:
        if name in data["exact_fields"]:
            assert getattr(cost, name) == want[name], f"{name}: {ctx}"
        else:
            assert _close(getattr(cost, name), want[name]), f"{name}: {ctx}"
    assert cost.cycles == want_cost.cycles, ctx


def test_fixture_is_small() -> None:
    assert FIXTURE.stat().st_size < 1_000_000
    assert len(_cases()) >= 2000


def test_search_matches_golden() -> None:
    for gemm, hw, obj, rec in _cases():
        _check(get_engine(hw.engine).search(gemm, hw, obj), gemm, hw, obj, rec)


def test_best_mapping_is_the_search_best_bit_for_bit() -> None:
    """Without the Pareto set (fewer tiles kept by the screen, no front ranked, nests priced only
    when they may beat the best) the best mapping and every cost field are the full search's,
    on every golden case: the golden GEMMs, hardware of every engine and both memory timings,
    all three objectives; and on a non-array engine (no ``search_best``) too."""
    from analytical_models import best_mapping, dram_fed_floor
    from analytical_models._registry import ENGINES

    n_array = 0
    for gemm, hw, obj, _ in _cases():
        full = get_engine(hw.engine).search(gemm, hw, obj)
        got = best_mapping(gemm, hw, obj)
        assert (got.mapping, got.cost, got.n_evaluated, got.pareto) == (full.mapping, full.cost, full.n_evaluated, ())
        assert dram_fed_floor(gemm, hw) <= got.cost.cycles, (gemm, hw, obj)  # the bound schedules cut with
        n_array += hasattr(get_engine(hw.engine), "search_best")
    assert n_array == len(_cases())

    class FrontOnly:  # an engine of the Engine protocol alone
        name = "front_only_test"

        def search(self, gemm: Gemm, hw: Hardware, objective: Objective = "latency") -> MappingResult:
            return get_engine("systolic").search(gemm, hw, objective)

    ENGINES.register("front_only_test", FrontOnly())  # type: ignore[arg-type]
    try:
        gemm, hw, obj, _ = _cases()[0]
        hw2 = replace(hw, engine="front_only_test")
        full = get_engine("systolic").search(gemm, hw2, obj)
        assert full.pareto
        assert best_mapping(gemm, hw2, obj) == full._replace(pareto=())
    finally:
        ENGINES.unregister("front_only_test")


def test_pinned_cycles_floor_bounds_the_nest() -> None:
    """The floor that lets a best-only search skip SCALE-Sim's nest never exceeds the nest's
    cycles under the overlapped timing (every golden GEMM and array, every dataflow), and is
    above its busy cycles somewhere (it bounds the stall too); the nest's exact cycles without
    its cost (:func:`pinned_cycles`, what the search compares next) are its cost's, bit for bit."""
    from analytical_models._pinned import pinned_cycles, pinned_cycles_floor, pinned_nest

    seen: set[tuple[Gemm, Hardware]] = set()
    stalled = 0
    for gemm, hw, _, _ in _cases():
        engine = get_engine(hw.engine)
        view = engine.array_view(hw)  # type: ignore[attr-defined]
        if view.memory_timing == "serial" or (gemm, view) in seen:
            continue
        seen.add((gemm, view))
        shaping = engine.shaping(gemm, view)  # type: ignore[attr-defined]
        for d in engine.dataflows_for(view):  # type: ignore[attr-defined]
            floor = pinned_cycles_floor(gemm, view, d, shaping)
            cost = pinned_nest(gemm, view, d, shaping).cost
            assert floor <= cost.cycles * (1.0 + 1e-12), (gemm, view, d)
            assert pinned_cycles(gemm, view, d, shaping) == cost.cycles, (gemm, view, d)
            stalled += floor > cost.compute_cycles + cost.fill_drain_cycles + cost.shaping_cycles
    assert len(seen) > 100
    assert stalled > 0


@pytest.mark.parametrize("objective", ["latency", "energy", "edp"])
def test_search_is_deterministic(objective: Objective) -> None:
    gemm, hw, _, _ = _cases()[0]
    engine = get_engine(hw.engine)
    assert engine.search(gemm, hw, objective) == engine.search(gemm, hw, objective)


@pytest.mark.parametrize(
    ("m", "n", "k", "a_cap", "b_cap"),
    [(1, 1, 1, 4096, 4096), (30, 16, 240, 1024, 65536), (4096, 7, 333, 8192, 512), (97, 4096, 1, 100, 100)],
)
@pytest.mark.parametrize("timing", ["overlapped", "serial"])
def test_grid_index_equals_any_tile_set(m: int, n: int, k: int, a_cap: int, b_cap: int, timing: str) -> None:
    """The search's grid (candidates: every balanced split and power of two) and an arbitrary
    tile set (candidates: the sizes it uses) index different per-dimension tables; the model's
    terms gathered from them must be the same, bit for bit, for the grid and for any subset."""
    import numpy as np

    from analytical_models import _tiles, hw_consts
    from analytical_models._stage import stage_modes

    gi = _tiles.grid_index(m, n, k, a_cap, b_cap)
    assert gi.tiles.shape[1] > 0
    assert np.all(gi.tiles[0] * gi.tiles[2] <= a_cap) and np.all(gi.tiles[2] * gi.tiles[1] <= b_cap)
    hw = Hardware(
        pe_rows=8,
        pe_cols=16,
        ifmap_sram_kb=2,
        filter_sram_kb=4,
        ofmap_sram_kb=1,
        dram_bw_bytes_per_cycle=8,
        memory_timing=timing,
    )
    c = hw_consts(hw)
    g = Gemm(m=m, n=n, k=k, batch=3)
    subset = np.random.default_rng(m + n + k).permutation(gi.tiles.shape[1])[: max(1, gi.tiles.shape[1] // 3)]
    for tiles, cols in ((gi.tiles, slice(None)), (gi.tiles[:, subset], subset)):
        full = stage_modes(g, c, DATAFLOWS, gi)
        part = stage_modes(g, c, DATAFLOWS, _tiles.tile_index(m, n, k, tiles))
        for name, a, b in zip(full._fields, full, part, strict=True):
            if name in ("after", "c_model"):
                continue
            if a is None:
                assert b is None, name
                continue
            for x, y in zip(a if name == "serial" else (a,), b if name == "serial" else (b,), strict=True):
                x = np.asarray(x)
                np.testing.assert_array_equal(x if x.ndim == 0 or x.shape[-1] == 1 else x[..., cols], y, name)
