"""Invariants of the co-design comparison: paths, training reuse, and where every ratio comes from."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from analytical_models import DATAFLOWS, Hardware
from dse import Design
from dse.compare import COMPARISONS, compare_design, dense_design, measure, price_reuse_training
from dse.contraction import training_macs
from dse.evaluate import evaluate
from dse.workload import LayerSpec, Workload, expand_ranks

TOKENS = (8, 32, 64, 256)
SHAPES = ((4, 4), (2, 8), (4, 8, 4), (8, 4, 2), (2, 4, 4, 2), (4, 4, 4))


def _ttm(rng: np.random.Generator, name: str, fmt: str = "ttm") -> LayerSpec:
    ins = SHAPES[rng.integers(len(SHAPES))]
    outs = tuple(int(v) for v in rng.permutation(np.array(ins)))
    rank = int(rng.choice([2, 3, 4, 8, 16]))
    return LayerSpec(
        name=name,
        format=fmt,
        in_features=math.prod(ins),
        out_features=math.prod(outs),
        in_shape=tuple(ins),
        out_shape=outs,
        ranks=expand_ranks(fmt, rank, len(ins)),
        tokens_per_step=int(rng.choice(TOKENS)),
    )


def _hw(rng: np.random.Generator, engine: str | None = None) -> Hardware:
    k = int(rng.integers(1, 4))
    return Hardware(
        engine=engine or str(rng.choice(["systolic", "contraction_engine"])),
        pe_rows=int(rng.choice([4, 8, 16, 32])),
        pe_cols=int(rng.choice([4, 8, 16, 32])),
        ifmap_sram_kb=float(rng.choice([4, 16, 64])),
        filter_sram_kb=float(rng.choice([4, 16, 64])),
        ofmap_sram_kb=float(rng.choice([4, 16, 64])),
        dram_bw_bytes_per_cycle=float(rng.choice([4, 16, 64])),
        dataflows=tuple(sorted(rng.choice(DATAFLOWS, size=k, replace=False).tolist())),
    )


def _design(rng: np.random.Generator, mode: str = "training") -> Design:
    first = _ttm(rng, "fc1")
    second = _ttm(rng, "fc2")
    second = replace(
        second,
        tokens_per_step=first.tokens_per_step,
        in_features=first.out_features,
        in_shape=first.out_shape,
        ranks=expand_ranks("ttm", second.ranks[1], len(first.out_shape)),
        out_shape=first.out_shape,
        out_features=first.out_features,
    )
    head = LayerSpec(
        name="head",
        format="dense",
        in_features=second.out_features,
        out_features=10,
        tokens_per_step=first.tokens_per_step,
    )
    wl = Workload(name="rand", batch=first.tokens_per_step, seq_len=1, layers=(first, second, head))
    return Design(workload=wl, hardware=_hw(rng), mode=mode)


@pytest.mark.parametrize("seed", range(6))
def test_hardware_aware_paths_never_slower_than_mac_optimal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(6):
        design = _design(rng, mode=str(rng.choice(["inference", "training"])))
        aware = evaluate(design)
        for policy in ("mac_optimal", "naive"):
            other = evaluate(replace(design, path_policy=policy))
            assert aware.latency_cycles <= other.latency_cycles * (1 + 1e-12), (policy, design)
            for mine, theirs in zip(aware.passes, other.passes, strict=True):
                assert mine.cost.cycles <= theirs.cost.cycles * (1 + 1e-12), (policy, mine.layer, mine.pass_name)


@pytest.mark.parametrize("seed", range(4))
def test_energy_aware_paths_never_spend_more_energy(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    for _ in range(4):
        design = replace(_design(rng), mapping_objective="energy")
        aware = evaluate(design)
        other = evaluate(replace(design, path_policy="mac_optimal"))
        assert aware.energy_pj <= other.energy_pj * (1 + 1e-12)


@pytest.mark.parametrize("fmt", ["ttm", "tt", "tucker", "tr", "cp", "ttm_embedding", "dense"])
def test_training_reuse_never_more_macs(fmt: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(12):
        spec = _ttm(rng, "l", "ttm" if fmt == "dense" else fmt)
        if fmt == "dense":
            spec = replace(spec, format="dense", in_shape=(), out_shape=(), ranks=())
        tm = training_macs(spec)
        assert tm.reuse <= tm.independent, (spec, tm)
        assert tm.reuse == tm.reuse_forward + tm.reuse_backward


def test_priced_reuse_schedule_has_the_reuse_macs() -> None:
    rng = np.random.default_rng(3)
    for _ in range(8):
        design = _design(rng)
        # the first layer skips its dx step: compare against a design whose every layer needs dx
        spec = design.workload.layers[1]
        one = replace(
            design,
            workload=replace(
                design.workload,
                layers=(
                    LayerSpec(
                        name="stem",
                        format="dense",
                        in_features=spec.in_features,
                        out_features=spec.in_features,
                        tokens_per_step=spec.tokens_per_step,
                    ),
                    spec,
                ),
            ),
        )
        reuse = price_reuse_training(one)
        stem = training_macs(one.workload.layers[0])
        # the reverse sweep over the design's own forward tree: every forward node's MACs three
        # times (forward, dL, dR); stem has no dx step: forward + dW only (2 of the 3 GEMMs)
        evaluated = evaluate(one)
        forward = next(p for p in evaluated.passes if p.layer == spec.name and p.pass_name == "forward")
        assert reuse.macs == 3 * forward.macs + stem.reuse * 2 // 3
        assert reuse.macs <= evaluated.macs
        assert reuse.reused_layers == ("stem", spec.name)


def test_every_ratio_is_two_evaluations_of_this_run() -> None:
    rng = np.random.default_rng(11)
    design = _design(rng)
    fastest = replace(dense_design(design), hardware=_hw(rng, "systolic"))
    rows = compare_design(design, trial=5, dense_fastest=fastest, dense_most_efficient=fastest)
    assert [r.comparison for r in rows] == list(COMPARISONS)
    hw = design.hardware
    own = measure(evaluate(design), hw)
    training = evaluate(replace(design, mode="training"))
    expected = {
        "path_mac_optimal": (measure(evaluate(replace(design, path_policy="mac_optimal")), hw), own),
        "path_naive": (measure(evaluate(replace(design, path_policy="naive")), hw), own),
        "dense_same_hw": (measure(evaluate(dense_design(design)), hw), own),
        "dense_best_hw_latency": (measure(evaluate(fastest), fastest.hardware), own),
        "dense_best_hw_energy": (measure(evaluate(fastest), fastest.hardware), own),
        "training_vs_inference": (measure(training, hw), measure(evaluate(replace(design, mode="inference")), hw)),
    }
    ce = replace(hw, engine="contraction_engine")
    sy = replace(hw, engine="systolic")
    expected["engine"] = (
        measure(evaluate(replace(design, hardware=sy)), sy),
        measure(evaluate(replace(design, hardware=ce)), ce),
    )
    expected["execution_unfused"] = (measure(evaluate(replace(design, execution="unfused")), hw), own)
    reuse = price_reuse_training(design)
    for row in rows:
        assert row.trial == 5
        if row.comparison in expected:
            ref, sub = expected[row.comparison]
            assert row.reference == ref, row.comparison
            assert row.subject == sub, row.comparison
        else:
            assert row.comparison == "training_reuse"
            assert row.reference == measure(training, hw)
            assert row.subject.macs == reuse.macs
            assert row.subject.latency_ms == reuse.cost.cycles / (hw.freq_mhz * 1e3)
        rec = row.to_record()
        for col, stem in (
            ("latency_ms", "latency"),
            ("energy_uj", "energy"),
            ("edp_uj_ms", "edp"),
            ("onchip_kb", "onchip"),
            ("working_set_kb", "working_set"),
        ):
            a, b = rec[f"reference_{col}"], rec[f"subject_{col}"]
            assert rec[f"{stem}_ratio_ref_over_sub"] == a / b  # exactly, no rounding in between
        assert rec["macs_ratio_ref_over_sub"] == rec["reference_macs"] / rec["subject_macs"]


def test_dense_design_keeps_attention_and_plain_layers() -> None:
    from dse.workload import load_workload

    wl = load_workload("tt_bert_base")
    d = dense_design(Design(workload=wl, hardware=_hw(np.random.default_rng(0))))
    formats = {s.name: s.format for s in d.workload.layers}
    orig = {s.name: s.format for s in wl.layers}
    for name, fmt in orig.items():
        want = {"ttm": "dense", "ttm_embedding": "embedding", "ttm_conv": "conv"}.get(fmt, fmt)
        assert formats[name] == want
    assert all(not s.ranks for s in d.workload.layers)


def test_the_path_comparison_is_not_vacuous() -> None:
    """Over the random designs above, hardware-aware paths are strictly faster at least once."""
    strict = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        for _ in range(6):
            design = _design(rng, mode=str(rng.choice(["inference", "training"])))
            mac = evaluate(replace(design, path_policy="mac_optimal"))
            strict += evaluate(design).latency_cycles < mac.latency_cycles * (1 - 1e-9)
    assert strict > 0


def test_reuse_keeps_forward_intermediates_on_chip_when_they_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    import dse.compare._reuse as reuse_module

    rng = np.random.default_rng(5)
    design = _design(rng)
    roomy = replace(design, hardware=replace(design.hardware, ofmap_sram_kb=1 << 20))
    kept = price_reuse_training(roomy)
    assert kept.kept_on_chip
    monkeypatch.setattr(reuse_module, "_keep_on_chip", lambda cost, kept_bytes, hw: cost)
    through_dram = price_reuse_training(roomy)
    assert kept.cost.dram_bytes < through_dram.cost.dram_bytes
    assert kept.cost.cycles <= through_dram.cost.cycles
    assert kept.cost.energy_pj < through_dram.cost.energy_pj
    assert kept.macs == through_dram.macs
