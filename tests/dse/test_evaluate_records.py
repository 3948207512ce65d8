"""The records :func:`dse.evaluate.evaluate` assembles from its per-layer cache."""

from __future__ import annotations

from dataclasses import fields, replace

from analytical_models import Hardware
from dse import Design
from dse.evaluate import _relabelled, evaluate
from dse.workload import LayerSpec, Workload


def test_a_relabelled_pass_is_the_record_with_its_layer_replaced() -> None:
    """Every pass of a training design, relabelled, equals ``dataclasses.replace`` of it field by
    field (a field added to :class:`PassRecord` and left out of the relabelling fails here: each
    record's fields are set, none at its default)."""
    hw = Hardware(
        engine="systolic",
        pe_rows=8,
        pe_cols=8,
        ifmap_sram_kb=32.0,
        filter_sram_kb=32.0,
        ofmap_sram_kb=32.0,
        dram_bw_bytes_per_cycle=16.0,
    )
    spec = LayerSpec(
        name="fc",
        format="ttm",
        in_features=128,
        out_features=128,
        in_shape=(4, 8, 4),
        out_shape=(4, 4, 8),
        ranks=(1, 4, 4, 1),
        tokens_per_step=32,
        count=2,
    )
    design = Design(
        workload=Workload(name="w", batch=32, seq_len=1, layers=(spec, replace(spec, name="fc2"))),
        hardware=hw,
        mode="training",
    )
    passes = evaluate(design).passes
    assert len(passes) > 4
    for p in passes:
        for f in fields(p):
            assert getattr(p, f.name) != f.default, f.name  # (every field set)
        got = _relabelled(p, "other")
        assert got == replace(p, layer="other")
        assert all(getattr(got, f.name) is getattr(p, f.name) for f in fields(p) if f.name != "layer")
