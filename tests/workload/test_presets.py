"""Every shipped preset loads, states its source, and every network of every layer builds."""

from __future__ import annotations

import opt_einsum as oe
import pytest

from dse.workload import (
    PASS_FORWARD,
    Workload,
    get_format,
    load_workload,
    pass_kind,
    preset_names,
)

EXPECTED = {
    "tt_bert_base",
    "atis_transformer",
    "tt_lstm_ucf11",
    "tt_rec",
    "tt_mlp_mnist",
    "tt_vit",
    "tt_resnet",
    "llama7b_lora",
    "llama7b_lowrank_prefill",
    "llama7b_lowrank_decode",
    "digits_mlp",
}
CONV = ("conv", "ttm_conv")


def test_all_presets_shipped() -> None:
    assert set(preset_names()) >= EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_loads_and_builds(name: str) -> None:
    w = load_workload(name)
    assert isinstance(w, Workload)
    assert w.name == name
    assert w.source.strip() and w.description.strip()
    for spec in w.layers:
        fmt = get_format(spec.format)
        fmt.validate(spec)
        nets = fmt.networks(spec)
        labels = [n.label for n in nets]
        assert len(set(labels)) == len(labels), spec.name
        assert pass_kind(labels[0]) == PASS_FORWARD
        if spec.format not in CONV and spec.seq_len == w.seq_len:
            assert spec.tokens_per_step == w.tokens_per_step, spec.name
        for net in nets:
            # shapes are consistent: opt_einsum can plan the contraction symbolically
            oe.contract_path(net.einsum(), *net.shapes(), shapes=True)
        if spec.format == "lora":  # stores the frozen dense weight and the adapter
            assert fmt.params(spec) == spec.dense_params + fmt.trainable_params(spec), spec.name
            assert 0 < fmt.trainable_params(spec) < spec.dense_params, spec.name
        elif spec.format != "attention":
            assert 0 < fmt.params(spec) <= spec.dense_params, spec.name
    assert 0 < w.trainable_params() < w.dense_params()
    if not any(spec.format == "lora" for spec in w.layers):
        assert 0 < w.params() < w.dense_params()


def test_mlp_mnist_values() -> None:
    w = load_workload("tt_mlp_mnist")
    assert (w.batch, w.seq_len) == (100, 1)
    fc1 = w.layer("fc1")
    assert fc1.ranks == (1, 8, 8, 8, 1)
    assert get_format("ttm").params(fc1) == 8_448
    assert w.params() == 8_448 + 10_240
    assert w.layer("head").format == "dense"


def test_bert_values() -> None:
    w = load_workload("tt_bert_base")
    assert w.tokens_per_step == w.batch * w.seq_len
    ffn1 = w.layer("ffn1")
    assert (ffn1.in_shape, ffn1.out_shape, ffn1.ranks, ffn1.count) == (
        (12, 8, 8),
        (12, 16, 16),
        (1, 20, 20, 1),
        12,
    )
    assert get_format("ttm").params(ffn1) == 12 * 12 * 20 + 20 * 8 * 16 * 20 + 20 * 8 * 16
    emb = w.layer("tok_emb")
    assert (emb.in_shape, emb.out_shape, emb.ranks) == ((16, 20, 10, 10), (4, 4, 8, 6), (1, 30, 30, 30, 1))
    attn = w.layer("attn_scores")
    assert (attn.heads, attn.seq_len, attn.count) == (12, w.seq_len, 12)
    assert w.layer("classifier").tokens_per_step == w.batch


def test_lstm_rec_resnet_vit_values() -> None:
    lstm = load_workload("tt_lstm_ucf11").layer("input_gates")
    assert (lstm.in_shape, lstm.out_shape, lstm.ranks) == (
        (8, 20, 20, 18),
        (16, 4, 4, 4),
        (1, 4, 4, 4, 1),
    )
    assert get_format("ttm").params(lstm) == 8 * 16 * 4 + 2 * (4 * 20 * 4 * 4) + 4 * 18 * 4
    table = load_workload("tt_rec").layer("tt_table")
    assert get_format("ttm_embedding").params(table) == 200 * 4 * 32 + 32 * 220 * 4 * 32 + 32 * 250 * 4
    resnet = load_workload("tt_resnet")
    assert resnet.layer("s1_conv").tokens_per_step == 128 * 32 * 32
    assert resnet.layer("s2_down").tokens_per_step == 128 * 16 * 16
    assert resnet.layer("fc").tokens_per_step == 128
    vit = load_workload("tt_vit")
    assert vit.layer("patch_embed").tokens_per_step == 32 * 14 * 14
    assert vit.layer("attn_q").tokens_per_step == 32 * 197


LLAMA_DENSE = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
"""Dense weights of LLaMA-7B's 32 decoder blocks: 6.48e9 of its 6.7e9 (the rest: embeddings)."""


def test_llama_lora_values() -> None:
    w = load_workload("llama7b_lora")
    assert (w.batch, w.seq_len, w.tokens_per_step) == (4, 512, 2048)
    assert w.dense_params() == LLAMA_DENSE
    lora = [s for s in w.layers if s.format == "lora"]
    assert [s.name for s in lora] == ["attn_q", "attn_k", "attn_v", "attn_o", "ffn_gate", "ffn_up", "ffn_down"]
    assert all(s.ranks == (16,) and s.count == 32 for s in lora)
    adapters = 32 * 16 * (4 * (4096 + 4096) + 3 * (4096 + 11008))
    assert w.trainable_params() == adapters == 39_976_960
    assert w.params() == LLAMA_DENSE + adapters
    attn = w.layer("attn_scores")
    assert (attn.heads, attn.seq_len, attn.kv_len, attn.in_features // attn.heads) == (32, 512, 0, 128)
    assert (w.layer("ffn_down").in_features, w.layer("ffn_down").out_features) == (11008, 4096)


def test_llama_lowrank_prefill_and_decode_values() -> None:
    prefill = load_workload("llama7b_lowrank_prefill")
    decode = load_workload("llama7b_lowrank_decode")
    assert (prefill.tokens_per_step, decode.tokens_per_step) == (512, 1)
    low = 32 * 1024 * (4 * (4096 + 4096) + 3 * (4096 + 11008))
    for w in (prefill, decode):
        assert w.dense_params() == LLAMA_DENSE
        assert w.params() == w.trainable_params() == low
    qk = {n.label: n for n in get_format("attention").networks(decode.layer("attn_scores"))}["forward.qk"]
    assert qk.size_dict == {"b": 1, "h": 32, "s": 1, "t": 512, "e": 128}
    qk_prefill = get_format("attention").networks(prefill.layer("attn_scores"))[0]
    assert qk_prefill.size_dict == {"b": 1, "h": 32, "s": 512, "t": 512, "e": 128}


def test_digits_mlp_matches_the_quality_example() -> None:
    from dse.quality.examples import DIGITS_HIDDEN

    w = load_workload("digits_mlp")
    fc1 = w.layer("fc1")
    assert (fc1.in_features, fc1.out_features) == (64, DIGITS_HIDDEN)
    assert (fc1.format, fc1.in_shape, fc1.out_shape, fc1.ranks) == ("ttm", (4, 4, 4), (4, 8, 8), (1, 4, 4, 1))
    assert (w.layer("head").in_features, w.layer("head").out_features) == (DIGITS_HIDDEN, 10)
