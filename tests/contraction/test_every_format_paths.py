"""Every optimizer's path, executed pairwise with numpy, equals np.einsum of the whole network.

For every layer format (tt, ttm, tucker, tr, cp, dense, embeddings, attention, convolutions)
and every pass network (forward, input gradients, every core gradient).
"""

from __future__ import annotations

import numpy as np
import pytest

from dse.contraction import execute_path, get_path_fn
from dse.workload import LayerSpec, TensorNetwork, get_format, parse_layer
from tests.workload.test_format_oracles import CASES

OPTIMIZERS = ("exhaustive", "dp", "greedy", "mac_optimal")


def _extra_specs() -> list[LayerSpec]:
    specs = [
        LayerSpec(name="dense", format="dense", in_features=6, out_features=5, tokens_per_step=3),
        LayerSpec(name="emb", format="embedding", in_features=7, out_features=4, tokens_per_step=3),
        LayerSpec(
            name="ttemb",
            format="ttm_embedding",
            in_features=12,
            out_features=6,
            in_shape=(3, 4),
            out_shape=(2, 3),
            ranks=(1, 3, 1),
            tokens_per_step=3,
        ),
        LayerSpec(
            name="attn", format="attention", in_features=6, out_features=6, tokens_per_step=8, heads=2, seq_len=4
        ),
    ]
    # im2col: in_features = C_in x kh x kw = 2 x 2 x 3 = 12 = 2 x 6; out_features = C_out = 4 = 2 x 2
    ttm = {"in_shape": [2, 6], "out_shape": [2, 2], "ranks": 2}
    for fmt, extra in (("conv", {}), ("ttm_conv", ttm)):
        data = {
            "name": fmt,
            "format": fmt,
            "in_channels": 2,
            "out_channels": 4,
            "kernel": [2, 3],
            "image": [4, 5],
            "stride": 1,
            "padding": 0,
            **extra,
        }
        specs.append(parse_layer(data, source="test", field="layers[0]", tokens=2))
    return specs


def _networks() -> list[tuple[str, TensorNetwork]]:
    out = []
    for spec in [*CASES, *_extra_specs()]:
        for net in get_format(spec.format).networks(spec):
            if net.n_inputs >= 2:
                tag = f"{spec.format}-{'x'.join(map(str, spec.in_shape)) or spec.name}-{net.label}"
                out.append((tag, net))
    return out


NETWORKS = _networks()


def test_every_format_is_covered() -> None:
    formats = {tag.split("-")[0] for tag, _ in NETWORKS}
    assert {"tt", "ttm", "tucker", "tr", "cp", "dense", "ttm_embedding", "attention", "conv", "ttm_conv"} <= formats


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize(("tag", "net"), NETWORKS, ids=[t for t, _ in NETWORKS])
def test_path_executes_to_einsum(optimizer: str, tag: str, net: TensorNetwork) -> None:
    rng = np.random.default_rng(abs(hash(tag)) % 2**32)
    ops = net.random_operands(rng)
    inputs, output, sizes = net.opt_einsum_form()
    path = get_path_fn(optimizer)(inputs, output, sizes)
    got = execute_path(net, path, ops)
    want = net.contract_einsum(ops)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


ENUMERATED = [(t, n) for t, n in NETWORKS if n.n_inputs <= 6]  # (larger networks: trees not enumerated)


@pytest.mark.parametrize(("tag", "net"), ENUMERATED, ids=[t for t, _ in ENUMERATED])
def test_merge_table_is_the_lowering_of_every_merge(tag: str, net: TensorNetwork) -> None:
    """:func:`merge_dims` (every merge at once, from index membership) gives each merge's
    lowered GEMM sizes and MACs exactly, ties of equal-size operands (decided by index names)
    included."""
    from dse.contraction import merge_dims, merge_gemm
    from dse.schedule._tree_tables import _tree_merges

    pairs = _tree_merges(net.n_inputs)[1]
    table = merge_dims(net, pairs)
    assert table is not None
    for (a, b), row in zip(pairs, table.tolist(), strict=True):
        gemm, macs = merge_gemm(net, a, b)
        assert row == [gemm.batch, gemm.m, gemm.n, gemm.k, macs], (tag, a, b)


@pytest.mark.parametrize(("tag", "net"), ENUMERATED, ids=[t for t, _ in ENUMERATED])
def test_merge_lowerings_are_the_lowering_of_every_merge(tag: str, net: TensorNetwork) -> None:
    """:func:`merge_lowerings` gives, for every merge, exactly what its own lowering gives: the
    GEMM with its re-layout volumes, operand A, the GEMM dimension of the activation index,
    the result's elements and whether it holds that index."""
    import math

    from dse.contraction import ACTIVATION_INDEX, merge_lowerings
    from dse.contraction._plan import _merge
    from dse.schedule._tree_tables import _tree_merges

    pairs = _tree_merges(net.n_inputs)[1]
    got = merge_lowerings(net, pairs)
    assert got is not None
    sizes = net.size_dict
    for j, (a, b) in enumerate(pairs):
        _, _, out, lowered, _ = _merge(net, a, b)
        g = lowered.gemm
        fields = (g.m, g.n, g.k, g.batch, g.permute_a_elements, g.permute_b_elements, g.permute_c_elements)
        step = got.step(j)
        assert step.gemm == fields, (tag, a, b)
        assert step.a_is_lhs is lowered.a_is_lhs, (tag, a, b)
        assert step.token_dim == lowered.activation_dim, (tag, a, b)
        assert step.out_elements == math.prod(sizes[i] for i in out), (tag, a, b)
        assert step.out_tokened is (ACTIVATION_INDEX in out), (tag, a, b)
        swapped = _merge(net, b, a)[3].a_is_lhs  # the other order: A is the same tensor
        assert swapped is (lowered.a_is_lhs if step.symmetric else not lowered.a_is_lhs), (tag, a, b)


@pytest.mark.parametrize(("tag", "net"), ENUMERATED, ids=[t for t, _ in ENUMERATED])
def test_roles_table_is_merge_roles_of_every_merge_both_ways(tag: str, net: TensorNetwork) -> None:
    """:func:`merge_roles_table` (every merge at once, from index membership) gives, for every
    merge and either operand as A, exactly :func:`merge_roles` (one lowering of its names): the
    re-layouts of A, B and C, the GEMM dimension of the activation index, whether the result
    holds it and whether both operands hold the same names."""
    from dse.contraction import merge_roles, merge_roles_table
    from dse.schedule._tree_tables import _tree_merges

    pairs = _tree_merges(net.n_inputs)[1]
    table = merge_roles_table(net.inputs, net.output, pairs)
    column = {"batch": 0, "m": 1, "n": 2, "k": 3, "": -1}
    for j, (a, b) in enumerate(pairs):
        for lhs_is_a in (0, 1):
            want = merge_roles(net.inputs, net.output, a, b, bool(lhs_is_a))
            assert tuple(table.relayout[lhs_is_a, j].tolist()) == want.relayout, (tag, a, b, lhs_is_a)
            assert table.column[lhs_is_a, j] == column[want.token_dim], (tag, a, b, lhs_is_a)
            assert bool(table.out_tokened[j]) is want.out_tokened, (tag, a, b)
            assert bool(table.symmetric[j]) is want.symmetric, (tag, a, b)
