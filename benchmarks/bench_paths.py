"""Path-optimizer throughput on a TT-BERT-base training workload (plain script; prints figures).

Workload (stated): 12 encoder layers, tokens per step = 32 sequences x 128 tokens = 4096.
Per layer: 4 attention projections (Q, K, V, O) TTM [12,8,8 | 8,8,12] rank 20, FFN up TTM
[12,8,8 | 12,16,16] rank 20, FFN down (its transpose) TTM [12,16,16 | 12,8,8] rank 20.
Every layer contributes forward, dx, dg1, dg2, dg3: 12 x 6 x 5 = 360 networks (15 distinct).

Measured in the same run, without any cache unless stated:
- our ``dp`` with the MAC cost, every network (exact optimum),
- our ``dp`` with a hardware cost (systolic array, latency objective) cold (engine and lowering
  caches cleared) and warm,
- opt_einsum's ``dp`` (``minimize="flops"``) on the same networks, with the ratio,
- ``optimize_network`` over the 360 networks as a study sees them (value cache),
and checks that both DPs find the same optimum (opt_einsum flops == 2 x our MACs).

Run: ``python benchmarks/bench_paths.py``
"""

from __future__ import annotations

import math
import time

import opt_einsum as oe

from analytical_models import Hardware, price, tune_allocator
from dse.contraction import (
    HardwareCost,
    dp,
    hardware_cost,
    mac_cost,
    optimize_network,
    training_macs,
)
from dse.contraction._costs import _hw_step
from dse.contraction._lowering import lower_sets
from dse.contraction._plan import _optimize_cached
from dse.workload._layers import LayerSpec, get_format
from dse.workload._network import TensorNetwork

TOKENS = 32 * 128
RANK = 20
LAYERS = 12


def ttm(name: str, m: tuple[int, ...], n: tuple[int, ...]) -> LayerSpec:
    return LayerSpec(
        name=name,
        format="ttm",
        in_features=math.prod(m),
        out_features=math.prod(n),
        in_shape=m,
        out_shape=n,
        ranks=(1, RANK, RANK, 1),
        tokens_per_step=TOKENS,
    )


def workload() -> tuple[list[LayerSpec], list[TensorNetwork]]:
    specs: list[LayerSpec] = []
    for layer in range(LAYERS):
        for proj in ("q", "k", "v", "o"):
            specs.append(ttm(f"{proj}@{layer}", (12, 8, 8), (8, 8, 12)))
        specs.append(ttm(f"ffn_up@{layer}", (12, 8, 8), (12, 16, 16)))
        specs.append(ttm(f"ffn_down@{layer}", (12, 16, 16), (12, 8, 8)))
    nets = [net for s in specs for net in get_format("ttm").networks(s)]
    return specs, nets


def timed(fn: object, nets: list[TensorNetwork], repeat: int = 3) -> tuple[float, list[object]]:
    best = math.inf
    out: list[object] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = [fn(n) for n in nets]  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    tune_allocator()  # as the dse entry points do: keep the search's temporaries in the heap
    specs, nets = workload()
    hw = Hardware(
        engine="systolic",
        pe_rows=32,
        pe_cols=32,
        ifmap_sram_kb=64,
        filter_sram_kb=64,
        ofmap_sram_kb=64,
        dram_bw_bytes_per_cycle=16,
        dataflows=("ws", "os", "is"),
    )
    hw_cost = hardware_cost(hw, "latency")
    print(
        f"TT-BERT-base training: {LAYERS} layers, {len(specs)} TTM layers, rank {RANK}, "
        f"{TOKENS} tokens/step, {len(nets)} networks ({len(set(nets))} distinct), "
        f"{nets[0].n_inputs}-{max(n.n_inputs for n in nets)} inputs each"
    )

    def ours_mac(net: TensorNetwork) -> object:
        i, o, s = net.opt_einsum_form()
        return dp(i, o, s, cost=mac_cost)

    def ours_hw(net: TensorNetwork) -> object:
        i, o, s = net.opt_einsum_form()
        return dp(i, o, s, cost=hw_cost)

    def theirs(net: TensorNetwork) -> object:
        i, o, s = net.opt_einsum_form()
        return oe.paths.dynamic_programming(i, o, s, minimize="flops")

    t_mac, paths = timed(ours_mac, nets)
    t_oe, oe_paths = timed(theirs, nets)
    price.cache_clear()
    _hw_step.cache_clear()
    lower_sets.cache_clear()
    t0 = time.perf_counter()
    for n in nets:
        ours_hw(n)
    t_hw_cold = time.perf_counter() - t0
    priced = price.cache_info().misses
    unbounded = HardwareCost(hw, "latency", bound=False)
    price.cache_clear()
    _hw_step.cache_clear()
    for n in set(nets):
        i, o, sz = n.opt_einsum_form()
        dp(i, o, sz, cost=unbounded)
    priced_all = price.cache_info().misses
    t_hw_warm, _ = timed(ours_hw, nets)

    # same optimum: opt_einsum flops == 2 x our MACs
    mismatches = 0
    for net, p, q in zip(nets, paths, oe_paths, strict=True):
        ours = optimize_network(net).macs
        flops = oe.contract_path(net.einsum(), *net.shapes(), shapes=True, optimize=q)[1].opt_cost
        mismatches += int(2 * ours != int(flops))
        del p
    print(f"  dp, MAC cost           : {t_mac * 1e3:8.1f} ms  {len(nets) / t_mac:9.0f} networks/s")
    print(
        f"  opt_einsum dp (flops)  : {t_oe * 1e3:8.1f} ms  {len(nets) / t_oe:9.0f} networks/s"
        f"   -> ours is {t_oe / t_mac:.1f}x faster"
    )
    print(
        f"  dp, systolic latency   : {t_hw_cold * 1e3:8.1f} ms cold (engine + lowering caches "
        f"cleared), {t_hw_warm * 1e3:.1f} ms warm  ({len(nets) / t_hw_warm:.0f} networks/s)"
    )
    print(f"  GEMMs priced by the engine (cold): {priced} with branch and bound, {priced_all} without")
    print(f"  same optimum as opt_einsum on {len(nets) - mismatches}/{len(nets)} networks")

    _optimize_cached.cache_clear()
    price.cache_clear()
    _hw_step.cache_clear()
    lower_sets.cache_clear()
    t0 = time.perf_counter()
    plans = [optimize_network(n, cost="latency", hw=hw) for n in nets]
    t_study = time.perf_counter() - t0
    cycles = sum(p.cycles or 0.0 for p in plans)
    macs = sum(p.macs for p in plans)
    print(
        f"  optimize_network x {len(nets)} (study view: all caches cold, value cache on, "
        f"latency cost, priced plans): "
        f"{t_study * 1e3:.1f} ms; model total {macs:,} MACs, {cycles:,.0f} cycles"
    )
    mac_plans = [optimize_network(n, hw=hw) for n in nets]
    mac_cycles = sum(p.cycles or 0.0 for p in mac_plans)
    print(
        f"  latency-optimal paths vs MAC-optimal paths on this array: "
        f"{cycles:,.0f} vs {mac_cycles:,.0f} cycles ({mac_cycles / cycles:.3f}x)"
    )

    for spec in (specs[0], specs[4], specs[5]):
        t = training_macs(spec)
        print(
            f"  training {spec.name:>10}: independent {t.independent:,} MACs, reuse "
            f"{t.reuse:,} (3x forward; saving {t.saving:.2f}x), L->R sweep {t.sweep:,}"
        )


if __name__ == "__main__":
    main()
