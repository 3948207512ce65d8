"""A fused segment priced in one compiled call (:mod:`dse.schedule._price_kernel`) is the segment
priced a step at a time (:func:`analytical_models.onchip_tiles`, then ``combine``), bit for bit:
every field of the result (cost, tile, merges, dataflows, per-step cycles and energy, engines),
for every multi-step segment of every spill set of the first trees of every pass network, every
merge mode, with and without pipelining, on every engine (TT-core engines and arrays of
contraction engines included), under every objective; and both equal the numpy path
(:data:`analytical_models.NO_JIT_ENV` set)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from analytical_models import NO_JIT_ENV, Hardware
from dse.schedule import _segment
from dse.schedule._segment import _price, tile_candidates
from dse.workload import LayerSpec
from tests.schedule.test_schedule_properties import SETTINGS, _engine, _fused_segments, hardware, layers


def _all_prices(spec: LayerSpec, hw: Hardware, objective: str) -> list[Any]:
    out = []
    for chain, steps in _fused_segments(spec, 6):
        seg = chain.segment(steps)
        local = tuple(range(len(steps)))
        tiles = tile_candidates(seg.tokens)
        for mode in ("store", "recompute") if any(seg.steps[s].kind == "core" for s in local) else ("",):
            for pipelined in (False, True):
                out.append(_price(seg, local, hw, objective, mode, tiles, pipelined))  # type: ignore[arg-type]
    return out


@SETTINGS
@given(
    layers(),
    hardware(),
    st.booleans(),
    st.sampled_from(("latency", "energy", "edp")),
    st.sampled_from((4.0, 64.0, 1024.0)),
)
def test_the_compiled_segment_is_the_segment_priced_step_by_step(
    spec: LayerSpec, hw: Hardware, tt_gemm: bool, objective: str, filter_kb: float
) -> None:
    hw = replace(_engine(hw, tt_gemm), filter_sram_kb=filter_kb, ofmap_sram_kb=max(hw.ofmap_sram_kb, 64.0))
    calls = []
    real = _segment._kernel_arrays

    def counted(h: Hardware) -> Any:
        got = real(h)
        calls.append(got is not None)
        return got

    with mock.patch.object(_segment, "_kernel_arrays", counted):
        compiled = _all_prices(spec, hw, objective)
    with mock.patch.object(_segment, "_kernel_arrays", lambda h: None):
        stepwise = _all_prices(spec, hw, objective)
    os.environ[NO_JIT_ENV] = "1"
    try:
        reference = _all_prices(spec, hw, objective)
    finally:
        del os.environ[NO_JIT_ENV]
    assert compiled == stepwise == reference
    priced = [r for r in compiled if r is not None]
    if priced:
        assert calls and all(calls)  # (the compiled call ran)


def test_pipelined_segments_over_engine_groups_are_priced_alike() -> None:
    """Segments pipelined over groups of several contraction engines (a group of more than one
    engine on some step) and those run on every engine price the same both ways."""
    from tests.schedule.test_schedule_properties import _ttm_spec

    spec = _ttm_spec((4, 8, 4), (8, 4, 6), (1, 6, 6, 1), 64)
    hw = Hardware(
        engine="ce_array",
        n_engines=8,
        pe_rows=8,
        pe_cols=16,
        ifmap_sram_kb=64.0,
        filter_sram_kb=64.0,
        ofmap_sram_kb=256.0,
        dram_bw_bytes_per_cycle=16.0,
    )
    compiled = _all_prices(spec, hw, "latency")
    with mock.patch.object(_segment, "_kernel_arrays", lambda h: None):
        stepwise = _all_prices(spec, hw, "latency")
    assert compiled == stepwise
    grouped = [r for r in compiled if r is not None and r.pipelined and max(r.engines) > 1]
    assert grouped, "no segment pipelined over groups of several engines"
