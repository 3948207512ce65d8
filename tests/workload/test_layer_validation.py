"""Exact parameter counts, validation errors naming layer and field, and the YAML parser."""

from __future__ import annotations

import math
from typing import Any

import pytest

from dse import ConfigError
from dse.workload import (
    LayerSpec,
    WorkloadError,
    expand_ranks,
    get_format,
    parse_layer,
    parse_workload,
    pass_kind,
)


def spec(fmt: str, m: tuple[int, ...], n: tuple[int, ...], ranks: tuple[int, ...], **kw: Any) -> LayerSpec:
    return LayerSpec(
        name="L",
        format=fmt,
        in_features=math.prod(m),
        out_features=math.prod(n),
        in_shape=m,
        out_shape=n,
        ranks=ranks,
        tokens_per_step=kw.pop("tokens", 4),
        **kw,
    )


# ------------------------------------------------------------------------------ params
@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (spec("ttm", (12, 8, 8), (12, 16, 16), (1, 16, 16, 1)), 37_120),
        (spec("ttm", (4, 8, 8, 4), (4, 8, 8, 4), (1, 8, 8, 8, 1)), 8_448),
        (spec("tt", (4, 8), (8, 4), (1, 2, 3, 2, 1)), 4 * 2 + 2 * 8 * 3 + 3 * 8 * 2 + 2 * 4),
        (spec("tucker", (2, 3), (3, 2), (2, 3, 2, 1)), 12 + 2 * 2 + 3 * 3 + 3 * 2 + 2 * 1),
        (spec("tr", (4, 8), (8, 4), (3, 5, 3)), 3 * 32 * 5 + 5 * 32 * 3),
        (spec("cp", (4, 8), (8, 4), (10,)), 10 * (32 + 32)),
        (spec("ttm_embedding", (200, 220, 250), (4, 4, 4), (1, 32, 32, 1)), 958_720),
    ],
    ids=["ttm-768x3072", "ttm-1024", "tt", "tucker", "tr", "cp", "ttm_embedding"],
)
def test_exact_params(layer: LayerSpec, expected: int) -> None:
    assert get_format(layer.format).params(layer) == expected


def test_ttm_params_through_parser() -> None:
    layer = parse_layer(
        {
            "name": "ffn1",
            "format": "ttm",
            "in_features": 768,
            "out_features": 3072,
            "in_shape": [12, 8, 8],
            "out_shape": [12, 16, 16],
            "ranks": 16,
        },
        source="w.yaml",
        field="layers[0]",
        tokens=8,
    )
    assert get_format("ttm").params(layer) == 37_120


# ------------------------------------------------------------------------------ validation
BAD = [
    (
        spec("tt", (4, 8), (8, 4), (1, 2, 3, 2, 1)).__class__(
            name="L",
            format="tt",
            in_features=30,
            out_features=32,
            in_shape=(4, 8),
            out_shape=(8, 4),
            ranks=(1, 2, 3, 2, 1),
        ),
        "in_shape",
    ),
    (spec("tt", (4, 8), (8, 4), (1, 2, 2, 1)), "ranks"),
    (spec("tt", (4, 8), (8, 4), (2, 2, 3, 2, 1)), "ranks"),
    (spec("tucker", (4, 8), (8, 4), (2, 2, 2)), "ranks"),
    (spec("tr", (4, 8), (8, 4), (3, 2, 4)), "ranks"),
    (spec("tr", (4, 8), (8, 4), (3, 2)), "ranks"),
    (spec("tr", (32,), (32,), (2, 2)), "in_shape"),
    (spec("cp", (4, 8), (8, 4), (2, 2)), "ranks"),
    (spec("cp", (4, 8), (8, 4, 1), (2,)), "out_shape"),
    (spec("ttm_embedding", (10, 10), (4, 4), (1, 2, 3, 1)), "ranks"),
    (LayerSpec(name="L", format="embedding", in_features=10, out_features=4, ranks=(1, 1)), "ranks"),
    (
        LayerSpec(name="L", format="attention", in_features=10, out_features=10, heads=3, tokens_per_step=6, seq_len=3),
        "heads",
    ),
    (
        LayerSpec(name="L", format="attention", in_features=12, out_features=12, heads=3, tokens_per_step=7, seq_len=3),
        "seq_len",
    ),
    (LayerSpec(name="L", format="attention", in_features=12, out_features=6, heads=3), "out_features"),
    (
        LayerSpec(
            name="L",
            format="conv",
            in_features=10,
            out_features=4,
            in_channels=2,
            kernel=(3, 3),
            image=(8, 8),
            tokens_per_step=36,
        ),
        "in_features",
    ),
    (
        LayerSpec(
            name="L",
            format="conv",
            in_features=18,
            out_features=4,
            in_channels=2,
            kernel=(3, 3),
            image=(2, 8),
            tokens_per_step=36,
        ),
        "kernel",
    ),
    (
        LayerSpec(
            name="L",
            format="conv",
            in_features=18,
            out_features=4,
            in_channels=2,
            kernel=(3, 3),
            image=(8, 8),
            tokens_per_step=35,
        ),
        "tokens_per_step",
    ),
]


@pytest.mark.parametrize(("layer", "field"), BAD, ids=[f"{b[0].format}-{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_validation_names_layer_and_field(layer: LayerSpec, field: str) -> None:
    fmt = get_format(layer.format)
    with pytest.raises(WorkloadError, match=field) as err:
        fmt.validate(layer)
    assert "'L'" in str(err.value)
    with pytest.raises(WorkloadError, match=field):
        fmt.networks(layer)


def test_existing_ttm_errors_unchanged() -> None:
    bad = spec("ttm", (4, 8), (8, 4), (1, 2, 2, 1))
    with pytest.raises(WorkloadError, match="ranks must have d\\+1=3 entries"):
        get_format("ttm").validate(bad)


# ------------------------------------------------------------------------------ parser
def parse(layer: dict[str, Any], batch: int = 2, seq_len: int = 4) -> LayerSpec:
    w = parse_workload(
        {"name": "w", "batch": batch, "seq_len": seq_len, "layers": [layer]},
        source="w.yaml",
        field="",
    )
    return w.layers[0]


@pytest.mark.parametrize(
    ("fmt", "d", "value", "expected"),
    [
        ("ttm", 3, 5, (1, 5, 5, 1)),
        ("ttm", 3, [2, 3], (1, 2, 3, 1)),
        ("tt", 2, 4, (1, 4, 4, 4, 1)),
        ("tt", 2, [2, 3, 4], (1, 2, 3, 4, 1)),
        ("tt", 2, [1, 2, 3, 4, 1], (1, 2, 3, 4, 1)),
        ("tucker", 2, 3, (3, 3, 3, 3)),
        ("tucker", 2, [1, 2, 3, 4], (1, 2, 3, 4)),
        ("tr", 3, 4, (4, 4, 4, 4)),
        ("tr", 3, [2, 3, 4], (2, 3, 4, 2)),
        ("cp", 3, 7, (7,)),
        ("cp", 3, [7], (7,)),
        ("ttm_embedding", 3, 30, (1, 30, 30, 1)),
        ("ttm_conv", 2, 8, (1, 8, 1)),
    ],
)
def test_expand_ranks(fmt: str, d: int, value: int | list[int], expected: tuple[int, ...]) -> None:
    assert expand_ranks(fmt, value, d) == expected


@pytest.mark.parametrize(
    ("layer", "field"),
    [
        (
            {
                "name": "a",
                "format": "tt",
                "in_features": 32,
                "out_features": 32,
                "in_shape": [4, 8],
                "out_shape": [8, 4],
                "ranks": [2, 2],
            },
            "layers[0].ranks",
        ),
        (
            {
                "name": "a",
                "format": "tucker",
                "in_features": 32,
                "out_features": 32,
                "in_shape": [4, 8],
                "out_shape": [8, 4],
                "ranks": [2, 2, 2],
            },
            "layers[0].ranks",
        ),
        (
            {
                "name": "a",
                "format": "ttm",
                "in_features": 30,
                "out_features": 32,
                "in_shape": [4, 8],
                "out_shape": [8, 4],
                "ranks": 2,
            },
            "layers[0].in_shape",
        ),
        (
            {
                "name": "a",
                "format": "tr",
                "in_features": 32,
                "out_features": 32,
                "in_shape": [4, 8],
                "out_shape": [8, 4],
                "ranks": [2, 3, 4],
            },
            "layers[0].ranks",
        ),
        (
            {
                "name": "a",
                "format": "cp",
                "in_features": 32,
                "out_features": 32,
                "in_shape": [4, 8],
                "out_shape": [8, 2, 2],
                "ranks": 3,
            },
            "layers[0].out_shape",
        ),
        ({"name": "a", "format": "attention", "in_features": 32, "out_features": 32, "heads": 5}, "layers[0].heads"),
        ({"name": "a", "format": "attention", "in_features": 32, "out_features": 32}, "layers[0].heads"),
        ({"name": "a", "format": "embedding", "in_features": 32, "out_features": 8, "ranks": 2}, "layers[0].ranks"),
        ({"name": "a", "format": "dense", "in_features": 32, "out_features": 8, "kernel": 3}, "layers[0].kernel"),
        ({"name": "a", "format": "conv", "out_channels": 8, "kernel": 3, "image": 8}, "layers[0].in_channels"),
        ({"name": "a", "format": "conv", "in_channels": 2, "kernel": 3, "image": 8}, "layers[0].out_features"),
        (
            {"name": "a", "format": "conv", "in_channels": 2, "out_channels": 3, "kernel": 9, "image": 8},
            "layers[0].kernel",
        ),
        (
            {"name": "a", "format": "conv", "in_channels": 2, "out_channels": 3, "kernel": [3, 3, 3], "image": 8},
            "layers[0].kernel",
        ),
        (
            {
                "name": "a",
                "format": "conv",
                "in_channels": 2,
                "out_channels": 3,
                "kernel": 3,
                "image": 8,
                "in_features": 17,
            },
            "layers[0].in_features",
        ),
        ({"name": "a", "format": "ttm", "in_features": 32, "out_features": 32, "heds": 2}, "layers[0].heds"),
    ],
)
def test_parser_errors_name_file_and_field(layer: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(layer)
    assert err.value.source == "w.yaml"
    assert err.value.field == field


def test_shape_product_mismatch_reported_with_field() -> None:
    with pytest.raises(ConfigError, match=r"w.yaml: layers\[0\].in_shape: .*multiplies to 32"):
        parse(
            {
                "name": "a",
                "format": "tt",
                "in_features": 30,
                "out_features": 32,
                "in_shape": [4, 8],
                "out_shape": [8, 4],
                "ranks": 2,
            }
        )


def test_parser_tokens_and_fields() -> None:
    attn = parse({"name": "a", "format": "attention", "in_features": 32, "out_features": 32, "heads": 4})
    assert (attn.heads, attn.seq_len, attn.tokens_per_step) == (4, 4, 8)
    head = parse({"name": "h", "format": "dense", "in_features": 32, "out_features": 2, "seq_len": 1})
    assert head.tokens_per_step == 2
    conv = parse(
        {
            "name": "c",
            "format": "ttm_conv",
            "in_channels": 4,
            "out_channels": 8,
            "kernel": 3,
            "stride": 2,
            "padding": 1,
            "image": [8, 6],
            "in_shape": [4, 9],
            "out_shape": [8, 1],
            "ranks": 3,
        },
        batch=5,
        seq_len=1,
    )
    assert (conv.in_features, conv.out_features, conv.kernel, conv.image) == (36, 8, (3, 3), (8, 6))
    assert conv.tokens_per_step == 5 * 4 * 3
    assert conv.ranks == (1, 3, 1)
    # a shaped format may leave shapes to the search space (no validation yet)
    placeholder = parse({"name": "p", "format": "tt", "in_features": 32, "out_features": 32})
    assert placeholder.in_shape == ()


def test_workload_description_and_weightless_dense_params() -> None:
    w = parse_workload(
        {
            "name": "w",
            "description": "d",
            "batch": 2,
            "seq_len": 4,
            "layers": [
                {"name": "a", "format": "attention", "in_features": 32, "out_features": 32, "heads": 4},
                {"name": "p", "format": "ttm", "in_features": 32, "out_features": 32},
            ],
        },
        source="w.yaml",
    )
    assert w.description == "d"
    assert w.dense_params() == 32 * 32  # attention has no weights; unshaped ttm still counts


@pytest.mark.parametrize(
    ("label", "kind"),
    [("forward", "forward"), ("dx", "dx"), ("dg12", "dg"), ("forward.qk", "forward"), ("dx.v", "dx"), ("dgx", "dgx")],
)
def test_pass_kind(label: str, kind: str) -> None:
    assert pass_kind(label) == kind
