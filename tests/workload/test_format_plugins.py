"""Formats as plug-ins: knobs, the one rank expansion, ``configure`` and the registry."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from analytical_models import RegistryError
from dse import ConfigError
from dse.workload import (
    DenseFormat,
    LayerSpec,
    WorkloadError,
    expand_ranks,
    format_names,
    get_format,
    parse_layer,
    register_format,
    split_layer_error,
)

LINEAR = ("cp", "dense", "lora", "lowrank", "tr", "tt", "ttm", "tucker")


@pytest.mark.parametrize(
    ("fmt", "d", "value", "expected"),
    [
        # tt: order-2d train, one value -> (1, r, .., r, 1) over the 2d modes
        ("tt", 3, 20, (1, 20, 20, 20, 20, 20, 1)),
        ("tt", 3, [1, 2, 3, 4, 5, 6, 1], (1, 2, 3, 4, 5, 6, 1)),
        ("tt", 3, [2, 3, 4, 5, 6], (1, 2, 3, 4, 5, 6, 1)),
        ("tt", 1, 3, (1, 3, 1)),
        # ttm: d cores
        ("ttm", 3, 16, (1, 16, 16, 1)),
        ("ttm", 3, [1, 16, 8, 1], (1, 16, 8, 1)),
        # tr: a closed ring of r
        ("tr", 3, 4, (4, 4, 4, 4)),
        ("tr", 2, [3, 5], (3, 5, 3)),
        ("tr", 2, [3, 5, 3], (3, 5, 3)),
        # tucker: r per mode (2d modes)
        ("tucker", 3, 4, (4,) * 6),
        # cp, lowrank, lora: one value
        ("cp", 3, 4, (4,)),
        ("lowrank", 1, 64, (64,)),
        ("lowrank", 1, [64], (64,)),
        ("lora", 1, 16, (16,)),
        ("ttm_conv", 2, 8, (1, 8, 1)),
    ],
)
def test_expand_ranks_is_the_format_method(
    fmt: str, d: int, value: int | Sequence[int], expected: tuple[int, ...]
) -> None:
    assert get_format(fmt).expand_ranks(value, d) == expected
    assert expand_ranks(fmt, value, d) == expected


@pytest.mark.parametrize(
    ("fmt", "d", "value", "message"),
    [
        ("tt", 3, [2, 3, 4], "format 'tt' takes one integer, 5 internal ranks or 7 full ranks for d=3, got 3"),
        ("ttm", 3, [2, 3, 4], "format 'ttm' takes one integer, 2 internal ranks or 4 full ranks for d=3, got 3"),
        ("tr", 3, [2, 3], "format 'tr' takes one integer, 3 ring ranks"),
        ("tucker", 2, [1, 2, 3], "format 'tucker' takes one integer or 4 ranks"),
        ("cp", 2, [1, 2], "format 'cp' takes one rank R"),
        ("lowrank", 1, [1, 2], "format 'lowrank' takes one rank r"),
        ("lora", 1, [4, 4], "format 'lora' takes one rank r"),
        ("dense", 1, 4, "format 'dense' takes no ranks"),
        ("attention", 1, 4, "format 'attention' takes no ranks"),
        ("tt", 2, 0, "ranks must be >= 1, got 0"),
        ("tt", 2, [1, -2, 1], r"ranks must be >= 1, got \[1, -2, 1\]"),
        ("cp", 2, True, "ranks must be an integer"),
    ],
)
def test_expand_ranks_errors_are_one_line_without_a_layer(fmt: str, d: int, value: object, message: str) -> None:
    with pytest.raises(WorkloadError, match=message) as err:
        get_format(fmt).expand_ranks(value, d)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
    assert "layer" not in str(err.value)


def test_knobs() -> None:
    assert format_names(family="linear") == LINEAR
    assert format_names(family="linear", searchable=True) == tuple(f for f in LINEAR if f != "dense")
    assert set(format_names(searchable=True)) == {*LINEAR, "ttm_conv", "ttm_embedding"} - {"dense"}
    for name in format_names():
        knobs = get_format(name).knobs
        assert knobs.family in ("linear", "embedding", "conv", "attention"), name
        assert knobs.rank == bool(knobs.rank_structure), name
    assert get_format("tt").knobs.min_depth == 1
    assert get_format("ttm").knobs.min_depth == 2
    assert get_format("tr").knobs.min_depth == 2
    assert not get_format("lowrank").knobs.depth
    assert get_format("lowrank").knobs.rank


def _base(m: int = 32, n: int = 64) -> LayerSpec:
    return LayerSpec(name="fc", format="dense", in_features=m, out_features=n, tokens_per_step=8, count=3)


@pytest.mark.parametrize(
    ("fmt", "in_shape", "out_shape", "rank", "ranks", "params"),
    [
        ("tt", (4, 8), (8, 8), 3, (1, 3, 3, 3, 1), 4 * 3 + 3 * 8 * 3 + 3 * 8 * 3 + 3 * 8),
        ("ttm", (4, 8), (8, 8), 3, (1, 3, 1), 4 * 8 * 3 + 3 * 8 * 8),
        ("tr", (4, 8), (8, 8), 3, (3, 3, 3), 3 * 32 * 3 + 3 * 64 * 3),
        ("tucker", (4, 8), (8, 8), 2, (2, 2, 2, 2), 16 + 2 * (4 + 8 + 8 + 8)),
        ("cp", (4, 8), (8, 8), 5, (5,), 5 * (32 + 64)),
        ("lowrank", (4, 8), (8, 8), 5, (5,), 5 * 96),
        ("lora", (), (), 5, (5,), 32 * 64 + 5 * 96),
        ("dense", (4, 8), (8, 8), None, (), 32 * 64),
    ],
)
def test_configure(
    fmt: str,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    rank: int | None,
    ranks: tuple[int, ...],
    params: int,
) -> None:
    layer_format = get_format(fmt)
    spec = layer_format.configure(_base(), in_shape=in_shape, out_shape=out_shape, rank=rank)
    assert spec.format == fmt
    assert spec.ranks == ranks
    assert (spec.in_shape, spec.out_shape) == ((in_shape, out_shape) if layer_format.knobs.depth else ((), ()))
    assert (spec.tokens_per_step, spec.count, spec.name) == (8, 3, "fc")
    assert layer_format.params(spec) == params


def test_configure_errors_name_the_field() -> None:
    with pytest.raises(WorkloadError, match=r"in_shape .* multiplies to 30"):
        get_format("tt").configure(_base(), in_shape=(5, 6), out_shape=(8, 8), rank=2)
    with pytest.raises(WorkloadError, match="ranks required by format 'lowrank'"):
        get_format("lowrank").configure(_base(), rank=None)
    with pytest.raises(WorkloadError, match="in_shape needs at least 2 factors"):
        get_format("ttm").configure(_base(), in_shape=(32,), out_shape=(64,), rank=2)


def test_yaml_full_tt_rank_list_and_single_value() -> None:
    layer = {"name": "a", "format": "tt", "in_features": 64, "out_features": 64}
    shapes = {"in_shape": [4, 4, 4], "out_shape": [4, 4, 4]}
    full = parse_layer({**layer, **shapes, "ranks": [1, 2, 3, 4, 5, 6, 1]}, source="w", field="l", tokens=2)
    assert full.ranks == (1, 2, 3, 4, 5, 6, 1)
    one = parse_layer({**layer, **shapes, "ranks": 20}, source="w", field="l", tokens=2)
    assert one.ranks == (1, *[20] * 5, 1)
    assert get_format("tt").params(one) == 4 * 20 + 4 * 4 * 400 + 4 * 20


def test_registry_refuses_a_second_format_under_a_name() -> None:
    with pytest.raises(RegistryError, match="'dense' is already registered"):
        register_format(DenseFormat())
    with pytest.raises(WorkloadError, match=r"unknown layer format 'tensor'; expected one of \["):
        get_format("tensor")


def test_every_linear_format_configures_and_builds() -> None:
    """A search over ``format: {choices: [...]}`` can set any linear format on one layer."""
    base = _base(64, 64)
    for name in format_names(family="linear"):
        fmt = get_format(name)
        spec = fmt.configure(base, in_shape=(4, 4, 4), out_shape=(4, 4, 4), rank=2 if fmt.knobs.rank else None)
        nets = fmt.networks(spec)
        assert nets and all(net.size_dict["b"] == 8 for net in nets), name
        assert 0 < fmt.trainable_params(spec) <= fmt.params(spec), name
        assert math.prod(spec.in_shape or (64,)) == 64


def test_attention_kv_len_for_decoding_with_a_kv_cache() -> None:
    layer = {"name": "a", "format": "attention", "in_features": 64, "out_features": 64, "heads": 4}
    decode = parse_layer({**layer, "seq_len": 1, "kv_len": 512}, source="w", field="l", tokens=3, seq_len=1)
    assert (decode.seq_len, decode.kv_len, decode.tokens_per_step) == (1, 512, 3)
    nets = {n.label: n for n in get_format("attention").networks(decode)}
    assert nets["forward.qk"].size_dict == {"b": 3, "h": 4, "s": 1, "t": 512, "e": 16}
    assert nets["forward.av"].shapes() == [(3, 4, 1, 512), (3, 512, 4, 16)]
    default = parse_layer(layer, source="w", field="l", tokens=8, seq_len=4)
    assert get_format("attention").networks(default)[0].size_dict["t"] == 4
    with pytest.raises(ConfigError, match=r"l.kv_len: no kv_len \(only for format 'attention'\)"):
        parse_layer({**layer, "format": "dense", "heads": 1, "kv_len": 4}, source="w", field="l", tokens=2)


def test_split_layer_error_names_the_field_for_a_flag() -> None:
    with pytest.raises(WorkloadError) as err:
        get_format("tt").configure(_base(), in_shape=(5, 6), out_shape=(8, 8), rank=2)
    field, text = split_layer_error(str(err.value), "fc")
    assert field == "in_shape"
    assert text.startswith("in_shape [5, 6] multiplies to 30") and "layer" not in text
    assert split_layer_error("format 'tt' takes no ranks", "fc") == (None, "format 'tt' takes no ranks")
    assert split_layer_error("layer 'fc': TTM boundary ranks r_0 and r_d must be 1", "fc")[0] is None
