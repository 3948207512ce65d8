"""The worked examples of the fused-chain research note (shared/research/fused_chains.md, section 4)
and the BERT FFN1 traffic figures of issue 12, as exact tests.

Conventions where they differ from the note: the note's hardware is a contraction engine (free
shaping) restricted to WS; the shipped ``contraction_engine`` takes every dataflow (OS beats WS
on the smallest tiles), so these tests register a shaping-free WS-only engine. Capacities are
whole buffers (1 kB = 1024 B), as in the note.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from analytical_models import ENGINES, ArrayEngine, Hardware
from dse.contraction import build_plan, optimize_network
from dse.schedule import candidate_paths, chain_of, price_segment, schedule_plan
from dse.schedule._trees import best_scheduled_plan
from dse.workload import LayerSpec, TensorNetwork, get_format

ENGINE = "ws_shaping_free_test"


class _WSFree(ArrayEngine):
    name = ENGINE
    shaping_free = True


@pytest.fixture(autouse=True, scope="module")
def _engine() -> Iterator[None]:
    ENGINES.register(ENGINE, _WSFree())
    yield
    ENGINES.unregister(ENGINE)


def _hw(ifmap_kb: float = 4, filter_kb: float = 1, ofmap_kb: float = 4, bw: float = 4) -> Hardware:
    return Hardware(
        engine=ENGINE,
        pe_rows=16,
        pe_cols=8,
        ifmap_sram_kb=ifmap_kb,
        filter_sram_kb=filter_kb,
        ofmap_sram_kb=ofmap_kb,
        dram_bw_bytes_per_cycle=bw,
        dataflows=("ws",),
    )


def _forward(spec: LayerSpec) -> TensorNetwork:
    return get_format(spec.format).networks(spec)[0]


O1_LAYER = LayerSpec(
    name="o1",
    format="ttm",
    in_features=16,
    out_features=16,
    in_shape=(4, 4),
    out_shape=(4, 4),
    ranks=(1, 4, 1),
    tokens_per_step=64,
)
O1_PATH = ((0, 2), (1, 3))  # X . G2 -> T1, then T1 . G1 -> Y


def test_o1_unfused_is_the_per_step_model() -> None:
    plan = build_plan(_forward(O1_LAYER), O1_PATH, hw=_hw())
    assert [(s.gemm.m, s.gemm.n, s.gemm.k) for s in plan.steps] == [(256, 16, 4), (256, 4, 16)]
    unfused = schedule_plan(plan, "unfused")
    assert unfused.cost.cycles == 2592 and unfused.cost.dram_bytes == 10368
    assert unfused.cost == plan.cost
    assert unfused.spilled == ("t3",) and unfused.on_chip == ()


@pytest.mark.parametrize(
    ("tile", "cycles", "ofmap_need", "fits_4kb"),
    [(64, 1410, 5120, False), (32, 1268, 3072, True), (16, 1368, 1536, True), (8, 1760, 768, True)],
)
def test_o2_token_tiles(tile: int, cycles: float, ofmap_need: float, fits_4kb: bool) -> None:
    """The U-shaped curve of the note's O2 table: latency, ofmap need and feasibility per tile."""
    chain = chain_of(build_plan(_forward(O1_LAYER), O1_PATH))
    big = price_segment(chain, (0, 1), _hw(ofmap_kb=8), "latency", tiles=(tile,))
    assert big is not None
    assert big.cost.cycles == cycles
    assert big.need_bytes[2] == ofmap_need
    assert big.dram_bytes == 2176
    small = price_segment(chain, (0, 1), _hw(ofmap_kb=4), "latency", tiles=(tile,))
    assert (small is not None) == fits_4kb


def test_o2_search_picks_t32() -> None:
    plan = build_plan(_forward(O1_LAYER), O1_PATH)
    sched = schedule_plan(plan, "auto", hw=_hw(), objective="latency")
    assert sched.spilled == () and sched.on_chip == ("t3",)
    assert sched.token_tile == 32 and sched.cost.cycles == 1268 and sched.dram_bytes == 2176
    assert sched.compulsory_bytes == 2176
    # fused / unfused = 1410 / 2592 layer-resident; DRAM saved = 2 |T1|
    assert schedule_plan(plan, "unfused", hw=_hw(), objective="latency").dram_bytes - sched.dram_bytes == 8192


def test_o1b_bandwidth_bound_fused_latency_is_traffic_over_bandwidth() -> None:
    chain = chain_of(build_plan(_forward(O1_LAYER), O1_PATH))
    res = price_segment(chain, (0, 1), _hw(bw=0.5), "latency", tiles=(32,))
    assert res is not None
    assert res.work_cycles == 996
    assert res.cost.cycles == 4352 == res.dram_bytes / 0.5


O4_LAYER = LayerSpec(
    name="o4",
    format="ttm",
    in_features=64,
    out_features=64,
    in_shape=(4, 4, 4),
    out_shape=(4, 4, 4),
    ranks=(1, 4, 4, 1),
    tokens_per_step=64,
)
O4_PATH = ((1, 2), (0, 3), (4, 5))  # merge G1 . G2 -> W12; X . G3 -> T1; T1 . W12 -> Y


@pytest.mark.parametrize(("filter_kb", "store_fits"), [(1, False), (2, True)])
def test_o4_store_or_recompute_core_merges(filter_kb: float, store_fits: bool) -> None:
    plan = build_plan(_forward(O4_LAYER), O4_PATH)
    chain = chain_of(plan)
    assert [s.kind for s in chain.steps] == ["core", "token", "token"]
    merge = plan.steps[0].gemm
    assert (merge.m, merge.n, merge.k, merge.macs) == (64, 16, 4, 4096)
    hw = _hw(ifmap_kb=64, filter_kb=filter_kb, ofmap_kb=64)
    store = price_segment(chain, (0, 1, 2), hw, "latency", tiles=(16,), merges=("store",))
    recompute = price_segment(chain, (0, 1, 2), hw, "latency", tiles=(16,), merges=("recompute",))
    assert recompute is not None and recompute.need_bytes[1] == 384
    assert recompute.cost.macs - plan.macs == 3 * 4096
    if store_fits:
        assert store is not None and store.need_bytes[1] == 1088
        assert recompute.cost.cycles - store.cost.cycles == 612
        assert store.dram_bytes == recompute.dram_bytes
        best = price_segment(chain, (0, 1, 2), hw, "latency", tiles=(16,))
        assert best is not None and best.merges == "store"
    else:
        assert store is None
        best = price_segment(chain, (0, 1, 2), hw, "latency", tiles=(16,))
        assert best is not None and best.merges == "recompute"


BERT_FFN1 = LayerSpec(
    name="ffn1",
    format="ttm",
    in_features=768,
    out_features=3072,
    in_shape=(12, 8, 8),
    out_shape=(12, 16, 16),
    ranks=(1, 16, 16, 1),
    tokens_per_step=128,
)


def _huge(engine: str = "systolic") -> Hardware:
    return Hardware(
        engine=engine,
        pe_rows=32,
        pe_cols=32,
        ifmap_sram_kb=8192,
        filter_sram_kb=8192,
        ofmap_sram_kb=65536,
        dram_bw_bytes_per_cycle=16,
    )


def test_bert_ffn1_fused_traffic_is_compulsory() -> None:
    """Issue 12: 98,304 + 393,216 + 37,120 = 528,640 B at 128 tokens, 8-bit, when everything fits."""
    net = _forward(BERT_FFN1)
    hw = _huge()
    mac = optimize_network(net, cost="macs")
    _, sched = best_scheduled_plan(net, candidate_paths(net, tuple(map(tuple, mac.path))), hw, "latency", "fused")
    assert sched.dram_bytes == 98_304 + 393_216 + 37_120 == sched.compulsory_bytes
    assert sched.spilled == ()
    per_step = optimize_network(net, cost="latency", hw=hw)
    unfused = schedule_plan(per_step, "unfused")
    assert unfused.dram_bytes > 528_640


def test_bert_ffn1_left_to_right_sweep_traffic_per_token() -> None:
    """Issue 12 / the note's BERT-scale figures: a left-to-right sweep with every intermediate
    spilled moves 151,296 B per token besides the cores (with no refetch: ample buffers)."""
    net = _forward(BERT_FFN1)
    ltr = ((0, 3), (4, 2), (5, 1))  # x . G3, then . G2, then . G1 (the sweep from the input side)
    plan = build_plan(net, ltr)
    chain = chain_of(plan)
    inter = [chain.elements[x] for x in chain.intermediates]
    x, y = chain.elements[0], chain.elements[chain.output]
    per_token = (x + 2 * sum(inter) + y) / 128
    assert per_token == 151_296
    sched = schedule_plan(plan, "unfused", hw=_huge(), objective="latency")
    cores = sum(chain.elements[1:4])
    assert sched.dram_bytes >= 151_296 * 128 + cores


@pytest.mark.parametrize(
    "spec",
    [
        LayerSpec(
            name="tt",
            format="tt",
            in_features=64,
            out_features=64,
            in_shape=(4, 4, 4),
            out_shape=(4, 4, 4),
            ranks=(1, 4, 4, 4, 4, 4, 1),
            tokens_per_step=32,
        ),
        LayerSpec(
            name="tucker",
            format="tucker",
            in_features=64,
            out_features=64,
            in_shape=(4, 4, 4),
            out_shape=(4, 4, 4),
            ranks=(3, 3, 3, 3, 3, 3),
            tokens_per_step=32,
        ),
        LayerSpec(
            name="tr",
            format="tr",
            in_features=64,
            out_features=64,
            in_shape=(4, 4, 4),
            out_shape=(4, 4, 4),
            ranks=(3, 3, 3, 3),
            tokens_per_step=32,
        ),
        LayerSpec(
            name="cp",
            format="cp",
            in_features=64,
            out_features=64,
            in_shape=(4, 4, 4),
            out_shape=(4, 4, 4),
            ranks=(5,),
            tokens_per_step=32,
        ),
    ],
    ids=lambda s: s.format,
)
def test_other_formats_fuse_to_compulsory_traffic(spec: LayerSpec) -> None:
    hw = _huge("contraction_engine")
    for net in get_format(spec.format).networks(spec):
        mac = optimize_network(net, cost="macs")
        _, sched = best_scheduled_plan(net, candidate_paths(net, tuple(map(tuple, mac.path))), hw, "latency", "fused")
        assert sched.dram_bytes == pytest.approx(sched.compulsory_bytes, rel=1e-12), net.label
        unfused = schedule_plan(optimize_network(net, cost="latency", hw=hw), "unfused")
        assert sched.dram_bytes <= unfused.dram_bytes


# --------------------------------------------------------------------------- O3: two-engine pipeline
PIPE_ENGINE = "ws_ce_array_test"


@pytest.fixture()
def _pipe_engine() -> Iterator[None]:
    from analytical_models.ce_array import CEArrayEngine

    class _WSArray(CEArrayEngine):
        name = PIPE_ENGINE

        def dataflows_for(self, hw: Hardware) -> tuple[str, ...]:
            return hw.dataflows

        def network_pj_per_bit(self, hw: Hardware) -> float:
            return 0.0

    ENGINES.register(PIPE_ENGINE, _WSArray())
    yield
    ENGINES.unregister(PIPE_ENGINE)


@pytest.mark.usefixtures("_pipe_engine")
@pytest.mark.parametrize(("tile", "cycles", "ofmap_need", "fits"), [(16, 1062, 2560, True), (32, 1102, 5120, False)])
def test_o3_two_engine_stage_pipeline(tile: int, cycles: float, ofmap_need: float, fits: bool) -> None:
    """Step 1 on engine 1, step 2 on engine 2 (each 16 x 8), token tiles pipelined through them:
    L = E_in + (S1 + S2) + (N_t - 1) II + E_out with II = max(S1, S2, D_tile / bw)."""
    from dse.schedule._segment import _price

    hw = Hardware(
        engine=PIPE_ENGINE,
        pe_rows=16,
        pe_cols=8,
        n_engines=2,
        ifmap_sram_kb=4,
        filter_sram_kb=1,
        ofmap_sram_kb=8,
        dram_bw_bytes_per_cycle=4,
        dataflows=("ws",),
    )
    chain = chain_of(build_plan(_forward(O1_LAYER), O1_PATH))
    res = _price(chain, (0, 1), hw, "latency", "", (tile,), True)
    assert res is not None and res.pipelined and res.engines == (1, 1)
    assert res.cost.cycles == cycles
    assert res.need_bytes[2] == ofmap_need
    small = _price(chain, (0, 1), replace(hw, ofmap_sram_kb=4), "latency", "", (tile,), True)
    assert (small is not None) == fits


@pytest.mark.usefixtures("_pipe_engine")
def test_one_token_tile_pipelined_is_sequential() -> None:
    """With one tile nothing overlaps: the pipelined formula gives the sequential latency
    (here 528 + 882 = 1410 cycles) when the engines are not bandwidth-bound."""
    from dse.schedule._segment import _price

    hw = Hardware(
        engine=PIPE_ENGINE,
        pe_rows=16,
        pe_cols=8,
        n_engines=2,
        ifmap_sram_kb=4,
        filter_sram_kb=1,
        ofmap_sram_kb=8,
        dram_bw_bytes_per_cycle=4,
        dataflows=("ws",),
    )
    chain = chain_of(build_plan(_forward(O1_LAYER), O1_PATH))
    pipe = _price(chain, (0, 1), hw, "latency", "", (64,), True)
    one = price_segment(chain, (0, 1), _hw(ofmap_kb=8), "latency", tiles=(64,))
    assert pipe is not None and one is not None
    assert pipe.cost.cycles == one.cost.cycles == 1410


def test_tt_gemm_hides_the_next_merges_behind_this_layers_gemms() -> None:
    """``tt_gemm``: core merges run on the TT-core engine; a pass's merges overlap the activation
    work of the pass instance before: L = C_merge(1) + sum max(L_act(i), C_merge(i + 1))."""
    from dse import Design, evaluate
    from dse.workload import Workload

    layer = replace(O4_LAYER, count=3)
    workload = Workload(name="w", batch=64, seq_len=1, layers=(layer,))
    base = Hardware(
        engine="tt_gemm",
        pe_rows=16,
        pe_cols=8,
        aux_rows=4,
        aux_cols=4,
        ifmap_sram_kb=64,
        filter_sram_kb=64,
        ofmap_sram_kb=64,
        dram_bw_bytes_per_cycle=4,
        dataflows=("ws",),
    )
    design = Design(
        workload=workload,
        hardware=base,
        mode="inference",
        path_policy="searched",
        execution="auto",
        path_choices=(("o4/forward", 0),),
    )
    m = evaluate(design)
    (record,) = m.passes
    assert record.schedule is not None
    core = record.schedule.core_cycles
    full = record.schedule.cost.cycles
    if core > 0:
        act = full - core
        assert m.latency_cycles == pytest.approx(3 * full - 2 * min(core, act))
    else:
        assert m.latency_cycles == pytest.approx(3 * full)
