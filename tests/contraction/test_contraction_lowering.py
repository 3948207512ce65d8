from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dse.contraction import (
    canonical_order,
    enumerate_trees,
    index_sort_key,
    lower_step,
    optimize_network,
    step_macs,
)
from tests.contraction._helpers import BERT_FFN, networks, ttm_spec

SIZES = {"b": 32, "m1": 12, "m2": 8, "m3": 8, "n1": 12, "n2": 16, "n3": 16, "r1": 16, "r2": 16}


def test_canonical_order_is_natural() -> None:
    assert canonical_order(["r1", "m10", "b", "m2", "n1", "m1"]) == (
        "b",
        "m1",
        "m2",
        "m10",
        "n1",
        "r1",
    )
    assert index_sort_key("m10") > index_sort_key("m9")


def test_x_times_first_core() -> None:
    low = lower_step(("b", "m1", "m2", "m3"), ("m1", "n1", "r1"), {"b", "m2", "m3", "n1", "r1"}, SIZES)
    assert low.a_is_lhs
    assert low.batch_indices == ()
    assert low.m_indices == ("b", "m2", "m3")
    assert low.n_indices == ("n1", "r1")
    assert low.k_indices == ("m1",)
    g = low.gemm
    assert (g.batch, g.m, g.n, g.k) == (1, 2048, 192, 12)
    assert g.macs == step_macs(("b", "m1", "m2", "m3"), ("m1", "n1", "r1"), SIZES) == 4_718_592
    # x is stored b,m1,m2,m3: groups M K M M -> must be re-laid out; the core and the result not
    assert g.permute_a_elements == 32 * 12 * 8 * 8
    assert low.a_permutation == (0, 2, 3, 1)
    assert g.permute_b_elements == 0 and g.permute_c_elements == 0
    assert low.out_indices == ("b", "m2", "m3", "n1", "r1")


def test_x_times_last_core_needs_no_relayout() -> None:
    # rhs given first: the operand with 'b' is still A
    low = lower_step(("r2", "m3", "n3"), ("b", "m1", "m2", "m3"), {"b", "m1", "m2", "n3", "r2"}, SIZES)
    assert not low.a_is_lhs
    assert low.m_indices == ("b", "m1", "m2") and low.k_indices == ("m3",)
    assert low.n_indices == ("n3", "r2")
    g = low.gemm
    assert (g.batch, g.m, g.n, g.k) == (1, 32 * 12 * 8, 256, 8)
    assert (g.permute_a_elements, g.permute_b_elements, g.permute_c_elements) == (0, 0, 0)


def test_batched_step() -> None:
    sizes = {"b": 4, "m1": 3, "n1": 5, "r1": 2}
    low = lower_step(("b", "m1", "r1"), ("b", "n1", "r1"), ("b", "m1", "n1"), sizes)
    # both hold 'b': A is the larger operand (b,n1,r1) = 40 elements
    assert not low.a_is_lhs
    assert low.batch_indices == ("b",)
    assert low.m_indices == ("n1",) and low.n_indices == ("m1",) and low.k_indices == ("r1",)
    g = low.gemm
    assert (g.batch, g.m, g.n, g.k) == (4, 5, 3, 2)
    assert g.permute_a_elements == 0
    assert g.permute_b_elements == 24 and low.b_permutation == (0, 2, 1)
    assert g.permute_c_elements == 60 and low.c_permutation == (0, 2, 1)


def test_single_operand_sum_is_folded_into_k() -> None:
    sizes = {"i": 3, "j": 4, "k": 5}
    low = lower_step(("i", "j"), ("j", "k"), ("k",), sizes)
    assert set(low.k_indices) == {"i", "j"}
    assert low.gemm.macs == 60 == step_macs(("i", "j"), ("j", "k"), sizes)


def test_kept_outside_operands_raises() -> None:
    with pytest.raises(ValueError, match="no operand"):
        lower_step(("i",), ("j",), ("z",), {"i": 1, "j": 1, "z": 1})


def _apply(low_perm: tuple[int, ...], arr: np.ndarray) -> np.ndarray:
    return np.transpose(arr, low_perm)


def test_gemm_reproduces_the_step_numerically() -> None:
    sizes = {"b": 2, "m1": 3, "m2": 2, "n1": 4, "r1": 3}
    lhs, rhs, kept = ("b", "m1", "m2"), ("m1", "n1", "r1"), ("b", "m2", "n1", "r1")
    low = lower_step(lhs, rhs, kept, sizes)
    rng = np.random.default_rng(0)
    a: np.ndarray = rng.standard_normal([sizes[i] for i in low.a_indices])
    b: np.ndarray = rng.standard_normal([sizes[i] for i in low.b_indices])
    g = low.gemm
    a3 = _apply(low.a_permutation, a).reshape(g.batch, g.m, g.k)
    b3 = _apply(low.b_permutation, b).reshape(g.batch, g.k, g.n)
    c = np.matmul(a3, b3).reshape([sizes[i] for i in (*low.batch_indices, *low.m_indices, *low.n_indices)])
    c = np.transpose(c, low.c_permutation)
    letters = {i: chr(97 + p) for p, i in enumerate(sizes)}

    def spec(t: tuple[str, ...]) -> str:
        return "".join(letters[i] for i in t)

    want = np.einsum(f"{spec(low.a_indices)},{spec(low.b_indices)}->{spec(low.out_indices)}", a, b)
    np.testing.assert_allclose(c, want)


@pytest.mark.parametrize("label_idx", [0, 1, 2, 3, 4])
def test_plan_gemm_macs_equal_step_macs(label_idx: int) -> None:
    net = networks(ttm_spec(*BERT_FFN, 32))[label_idx]
    for path in enumerate_trees(net.n_inputs):
        from dse.contraction import build_plan

        plan = build_plan(net, path)
        for s in plan.steps:
            assert s.gemm.macs == s.macs
            g = s.gemm
            assert g.batch * g.m * g.k >= 1
    plan = optimize_network(net)
    assert sum(g.macs for g in plan.gemms) == plan.macs


@settings(max_examples=200, deadline=None)
@given(
    lhs=st.sets(st.sampled_from(sorted(SIZES)), min_size=1, max_size=5),
    rhs=st.sets(st.sampled_from(sorted(SIZES)), min_size=1, max_size=5),
    data=st.data(),
)
def test_lowering_is_symmetric_and_exact(lhs: set[str], rhs: set[str], data: st.DataObject) -> None:
    kept = data.draw(st.sets(st.sampled_from(sorted(lhs | rhs))))
    one = lower_step(tuple(lhs), tuple(rhs), kept, SIZES)
    two = lower_step(tuple(sorted(rhs)), tuple(sorted(lhs)), kept, SIZES)
    assert one.gemm == two.gemm
    assert one.a_is_lhs != two.a_is_lhs or lhs == rhs
    assert one.gemm.macs == math.prod(SIZES[i] for i in lhs | rhs)
    assert set(one.batch_indices) | set(one.m_indices) | set(one.n_indices) == set(kept)
    assert one.gemm.c_elements == math.prod(SIZES[i] for i in kept)


@pytest.mark.parametrize(
    ("lhs", "rhs", "kept", "dim"),
    [
        (("b", "i"), ("i", "j"), ("b", "j"), "m"),  # the activation operand is A: b on M
        (("i", "j"), ("b", "i"), ("b", "j"), "m"),  # whatever the order
        (("b", "i"), ("b", "j"), ("i", "j"), "k"),  # a weight gradient: b reduced
        (("b", "i"), ("b", "i", "j"), ("b", "j"), "batch"),  # b in both and kept
        (("i", "j"), ("j", "k"), ("i", "k"), ""),  # a merge of cores
    ],
)
def test_activation_dim_names_the_group_of_b(
    lhs: tuple[str, ...], rhs: tuple[str, ...], kept: tuple[str, ...], dim: str
) -> None:
    """:func:`activation_dim` gives the GEMM dimension whose index group holds ``b``."""
    from dse.contraction import activation_dim, lower_step

    low = lower_step(lhs, rhs, kept, {"b": 8, "i": 3, "j": 5, "k": 2})
    assert activation_dim(low.batch_indices, low.m_indices, low.n_indices, low.k_indices) == dim
    assert low.activation_dim == dim
