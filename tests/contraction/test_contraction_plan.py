from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from analytical_models import ENGINES, Cost, Hardware, ModelInputError, price
from dse.contraction import (
    HardwareCost,
    PathError,
    PlanStep,
    build_plan,
    dp,
    enumerate_trees,
    hardware_cost,
    left_to_right_path,
    optimize_network,
)
from dse.contraction._costs import StepObjective
from dse.contraction._plan import _optimize_cached
from dse.workload._network import TensorNetwork
from tests.contraction._helpers import BERT_FFN, FAKE_ENGINE, networks, ttm_spec


def _plan_cycles(plan_steps: object) -> float:
    return sum(s.cost.cycles for s in plan_steps)  # type: ignore[attr-defined]


def test_build_plan_unpriced() -> None:
    fwd = networks(ttm_spec(*BERT_FFN, 32))[0]
    plan = build_plan(fwd, left_to_right_path(4))
    assert plan.cost is None and plan.cycles is None
    assert plan.macs == 117_964_800
    assert [s.result for s in plan.steps] == [4, 5, 6]
    assert plan.steps[-1].out_indices == ("b", "n1", "n2", "n3")
    assert plan.peak_elements == 786_432
    assert "117,964,800" in str(plan)
    with pytest.raises(PathError):
        build_plan(fwd, ((0, 1), (1, 2), (4, 3)))


def test_build_plan_priced(fake_hw: Hardware) -> None:
    fwd = networks(ttm_spec(*BERT_FFN, 32))[0]
    plan = build_plan(fwd, left_to_right_path(4), fake_hw)
    assert plan.cost is not None
    assert all(s.mapping is not None and s.cost is not None for s in plan.steps)
    want = sum((price(s.gemm, fake_hw, "latency").cost for s in plan.steps), Cost())
    assert plan.cost == want
    assert plan.cost.macs == plan.macs
    assert plan.cycles == pytest.approx(_plan_cycles(plan.steps))


def test_hardware_cost_dp_is_exact_and_differs_from_macs(fake_hw: Hardware) -> None:
    for net in networks(ttm_spec(*BERT_FFN, 32)):
        plan = optimize_network(net, cost="latency", hw=fake_hw)
        assert plan.cost is not None
        step = hardware_cost(fake_hw)
        best = min(build_plan(net, p, fake_hw).cycles or math.inf for p in enumerate_trees(net.n_inputs))
        assert plan.cycles == pytest.approx(best)
        exh = optimize_network(net, optimizer="exhaustive", cost=step, hw=fake_hw)
        assert exh.cycles == pytest.approx(best)
        # the MAC-optimal path is never faster on this hardware
        mac_plan = build_plan(net, optimize_network(net).path, fake_hw)
        assert mac_plan.cycles is not None and mac_plan.cycles >= best - 1e-6


def test_energy_cost(fake_hw: Hardware) -> None:
    fwd = networks(ttm_spec((4, 4, 4), (4, 4, 4), (1, 4, 4, 1), 8))[0]
    plan = optimize_network(fwd, cost="energy", hw=fake_hw)
    assert plan.objective == "energy"
    assert plan.energy_pj == pytest.approx(2.0 * 45_056)  # fake engine: 2 pJ per MAC


def test_optimize_network_is_cached(fake_hw: Hardware) -> None:
    fwd = networks(ttm_spec(*BERT_FFN, 32))[0]
    first = optimize_network(fwd, cost="latency", hw=fake_hw)
    hits = _optimize_cached.cache_info().hits
    again = optimize_network(networks(ttm_spec(*BERT_FFN, 32))[0], cost="latency", hw=fake_hw)
    assert again is first
    assert _optimize_cached.cache_info().hits == hits + 1


def test_optimize_network_errors() -> None:
    fwd = networks(ttm_spec((4, 4, 4), (4, 4, 4), (1, 4, 4, 1), 8))[0]
    with pytest.raises(PathError, match="needs a hardware"):
        optimize_network(fwd, cost="latency")
    with pytest.raises(PathError, match="unknown cost"):
        optimize_network(fwd, cost="watts")
    with pytest.raises(PathError, match="unknown path optimizer"):
        optimize_network(fwd, optimizer="annealing")


def test_unhashable_cost_is_not_cached() -> None:
    fwd = networks(ttm_spec((4, 4, 4), (4, 4, 4), (1, 4, 4, 1), 8))[0]
    calls: list[int] = []

    class Counting:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self, lhs: frozenset[str], rhs: frozenset[str], kept: frozenset[str], sizes: object) -> float:
            calls.append(1)
            return float(len(lhs | rhs))

    optimize_network(fwd, cost=Counting())
    n = len(calls)
    optimize_network(fwd, cost=Counting())
    assert len(calls) == 2 * n > 0


def test_fake_engine_name() -> None:
    assert FAKE_ENGINE == "fake_contraction_test"


# --- shipped engines: the DP's lower bound is valid and the DP stays exact ------------------------

_ENGINES = ("systolic", "contraction_engine")


def _shipped_hw(engine: str, rows: int, cols: int, kb: float, bits: int, tech: str) -> Hardware:
    return Hardware(
        engine=engine,
        pe_rows=rows,
        pe_cols=cols,
        ifmap_sram_kb=kb,
        filter_sram_kb=kb,
        ofmap_sram_kb=kb,
        dram_bw_bytes_per_cycle=8,
        bits=bits,
        tech=tech,
        dataflows=("ws", "os", "is"),
    )


@pytest.mark.parametrize("engine", sorted(set(ENGINES) - {FAKE_ENGINE}))
@pytest.mark.parametrize("objective", ["latency", "energy"])
@pytest.mark.parametrize("timing", ["overlapped", "serial"])
def test_lower_bound_is_valid_on_shipped_engines(engine: str, objective: str, timing: str) -> None:
    """MACs over the PEs, the compulsory DRAM traffic over the bandwidth (one port, or one per
    operand when serial), and the MAC + DRAM energy: never above the priced step, on every
    registered engine (its own knobs drawn too), both memory timings and both mappings; nor is
    the floor taken before pricing a step (for latency: fold time, traffic, shaping cycles)."""
    rng = np.random.default_rng(7)
    sizes = {"b": 64, "m1": 12, "m2": 8, "m3": 8, "n1": 12, "n2": 16, "n3": 16, "r1": 20, "r2": 20}
    names = sorted(sizes)
    # serial: SCALE-Sim's nest is a cycle-by-cycle closed form there (slow on big draws); its
    # bound is the MAC term only
    for trial in range(40 if timing == "overlapped" else 8):
        hw = replace(
            _shipped_hw(
                engine,
                int(rng.choice([4, 16, 64])),
                int(rng.choice([4, 16, 64])),
                float(rng.choice([2, 32, 512])),
                int(rng.choice([8, 16])),
                str(rng.choice(["horowitz45", "accelergy45", "tpu7nm"])),
            ),
            dram_bw_bytes_per_cycle=float(rng.choice([2, 8, 64])),
            memory_timing=timing,
            mapping=str(rng.choice(["search", "scalesim"])) if timing == "overlapped" else "search",
            n_engines=int(rng.choice([1, 4])) if engine == "ce_array" else 1,
            aux_rows=int(rng.choice([4, 8])) if engine == "tt_gemm" else 0,
            aux_cols=int(rng.choice([4, 8])) if engine == "tt_gemm" else 0,
        )
        lhs = frozenset(rng.choice(names, size=int(rng.integers(1, 5)), replace=False).tolist())
        rhs = frozenset(rng.choice(names, size=int(rng.integers(1, 5)), replace=False).tolist())
        union = sorted(lhs | rhs)
        kept = frozenset(x for x in union if rng.random() < 0.5)
        step = hardware_cost(hw, objective)  # type: ignore[arg-type]
        try:
            exact = step(lhs, rhs, kept, sizes)
        except ModelInputError:
            continue  # no tile fits this draw
        assert step.lower_bound(lhs, rhs, kept, sizes) <= exact * (1 + 1e-12), (trial, hw)
        floor = step.floor(lhs, rhs, kept, sizes)  # lowers the step, no search
        assert floor <= exact if objective == "latency" else floor <= exact * (1 + 1e-12), (trial, hw)


@pytest.mark.parametrize("engine", _ENGINES)
def test_dp_exact_with_shipped_engine(engine: str) -> None:
    hw = _shipped_hw(engine, 16, 32, 16, 8, "horowitz45")
    for net in networks(ttm_spec((4, 4, 8), (8, 4, 4), (1, 6, 5, 1), 64)):
        inputs, output, sizes = net.opt_einsum_form()
        objectives: tuple[StepObjective, ...] = ("latency", "energy")
        for objective in objectives:
            bounded = hardware_cost(hw, objective)
            plain = HardwareCost(hw, objective, bound=False)
            brute = min(
                sum(bounded(*_step_sets(net, st)) for st in build_plan(net, p).steps)
                for p in enumerate_trees(net.n_inputs)
            )
            for step in (bounded, plain):
                got = sum(
                    bounded(*_step_sets(net, st)) for st in build_plan(net, dp(inputs, output, sizes, cost=step)).steps
                )
                assert got == pytest.approx(brute, rel=1e-12)


def _step_sets(
    net: TensorNetwork, st: PlanStep
) -> tuple[frozenset[str], frozenset[str], frozenset[str], dict[str, int]]:
    sets = (frozenset(st.lhs_indices), frozenset(st.rhs_indices), frozenset(st.out_indices))
    return (*sets, net.size_dict)


def test_naive_macs_and_describe() -> None:
    fwd = networks(ttm_spec(*BERT_FFN, 32))[0]
    plan = optimize_network(fwd)
    assert plan.naive_macs == 117_964_800
    text = plan.describe()
    assert "92,798,976" in text and "117,964,800" in text


def test_non_additive_objective_rejected(fake_hw: Hardware) -> None:
    with pytest.raises(PathError, match="additive"):
        hardware_cost(fake_hw, "edp")  # type: ignore[arg-type]


def test_live_peak_elements() -> None:
    from tests.contraction._helpers import dense_spec

    fwd = networks(dense_spec(24, 40, 6))[0]
    assert optimize_network(fwd).live_peak_elements == 6 * 24 + 24 * 40 + 6 * 40
    ttm = networks(ttm_spec((4, 4, 4), (4, 4, 4), (1, 4, 4, 1), 8))[0]
    plan = build_plan(ttm, left_to_right_path(4))
    x, g1, g2, g3 = 8 * 64, 16 * 4, 4 * 16 * 4, 4 * 16
    z1, z2, y = 8 * 16 * 4 * 4, 8 * 16 * 4 * 4, 8 * 64
    assert plan.live_peak_elements == max(x + g1 + g2 + g3 + z1, z1 + g2 + g3 + z2, z2 + g3 + y)
