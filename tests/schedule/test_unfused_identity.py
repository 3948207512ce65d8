"""``execution: unfused`` is the per-step model, exactly: every pass costs the sum (in step order)
of :func:`analytical_models.price` over its plan's steps, times the layer's count.

The identity the golden file ``tests/data/golden_unfused.json`` pins on sampled designs, held
here on random layers and hardware (both memory timings, both ``Hardware.mapping`` values),
so it keeps holding whenever the per-step model itself changes.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytical_models import Cost, Hardware, Objective, price
from dse.contraction import build_plan
from dse.evaluate import evaluate_layer
from dse.workload import LayerSpec, get_format
from tests.schedule.test_schedule_properties import layers


@st.composite
def hardware(draw: st.DrawFn) -> Hardware:
    return Hardware(
        engine=draw(st.sampled_from(("systolic", "contraction_engine"))),
        pe_rows=draw(st.sampled_from((4, 8, 16))),
        pe_cols=draw(st.sampled_from((4, 8, 16))),
        ifmap_sram_kb=draw(st.sampled_from((1.0, 4.0, 64.0))),
        filter_sram_kb=draw(st.sampled_from((1.0, 4.0, 64.0))),
        ofmap_sram_kb=draw(st.sampled_from((1.0, 4.0, 64.0))),
        dram_bw_bytes_per_cycle=draw(st.sampled_from((2.0, 16.0))),
        dataflows=draw(st.sampled_from((("ws",), ("ws", "os", "is")))),
        memory_timing=draw(st.sampled_from(("overlapped", "serial"))),
        mapping=draw(st.sampled_from(("search", "search", "scalesim"))),
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers(), hardware(), st.sampled_from(("latency", "energy")))
def test_unfused_pass_is_the_sum_of_price_over_its_steps(spec: LayerSpec, hw: Hardware, objective: Objective) -> None:
    records = evaluate_layer(
        spec,
        hw,
        training=True,
        with_dx=True,
        path_policy="hardware_aware",
        path_optimizer="dp",
        mapping_objective=objective,
        execution="unfused",
    )
    nets = {net.label: net for net in get_format(spec.format).networks(spec)}
    for rec in records:
        plan = build_plan(nets[rec.pass_name], tuple(tuple(p) for p in rec.path))
        total = Cost()
        for step in plan.steps:
            total = total + price(step.gemm, hw, objective).cost
        assert rec.cost == total.scaled(spec.count), rec.pass_name
        assert all(not s.fused for s in rec.steps)
