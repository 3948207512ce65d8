from __future__ import annotations

import math

import numpy as np
import opt_einsum as oe
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytical_models import RegistryError
from analytical_models._types import Hardware
from dse.contraction import (
    PATH_OPTIMIZERS,
    PathError,
    build_plan,
    bytes_moved_cost,
    dp,
    dp_connected,
    enumerate_trees,
    execute_path,
    execute_plan,
    exhaustive,
    get_path_fn,
    greedy,
    hardware_cost,
    left_to_right_path,
    mac_cost,
    mac_optimal,
    optimize_network,
    optimize_path,
    path_fn_names,
    peak_elements,
    register_path_fn,
)
from dse.contraction._types import StepCost
from dse.workload._layers import get_format
from dse.workload._network import TensorNetwork
from tests.contraction._helpers import BERT_FFN, FAKE_ENGINE, dense_spec, networks, ttm_spec

OPTIMIZERS = ("exhaustive", "dp", "dp_connected", "greedy", "mac_optimal")

SPECS = {
    "ttm_bert_ffn_b1": ttm_spec(*BERT_FFN, 1),
    "ttm_bert_ffn_b32": ttm_spec(*BERT_FFN, 32),
    "ttm_1024_b100": ttm_spec((4, 8, 8, 4), (4, 8, 8, 4), (1, 8, 8, 8, 1), 100),
    "ttm_tiny_b8": ttm_spec((4, 4, 4), (4, 4, 4), (1, 4, 4, 1), 8),
    "ttm_small_uneven": ttm_spec((2, 3, 4), (3, 2, 5), (1, 3, 2, 1), 5),
    "dense": dense_spec(24, 40, 6),
}


# --- golden MAC counts ---------------------------------------------------------------------------


def test_bert_ffn_batch1_golden() -> None:
    spec = SPECS["ttm_bert_ffn_b1"]
    fwd = networks(spec)[0]
    assert build_plan(fwd, left_to_right_path(4)).macs == 3_686_400
    assert spec.dense_params == 768 * 3072 == 2_359_296  # dense MACs at batch 1
    assert get_format("ttm").params(spec) == 37_120


def test_bert_ffn_batch32_golden() -> None:
    fwd = networks(SPECS["ttm_bert_ffn_b32"])[0]
    macs = [build_plan(fwd, p).macs for p in enumerate_trees(4)]
    assert len(macs) == 15
    assert min(macs) == 92_798_976
    assert max(macs) == 2_521_300_992
    assert build_plan(fwd, left_to_right_path(4)).macs == 117_964_800
    info = oe.contract_path(fwd.einsum(), *fwd.shapes(), shapes=True, optimize="optimal")[1]
    assert int(info.opt_cost) == 185_597_952
    for name in OPTIMIZERS:
        if name != "greedy":
            assert optimize_network(fwd, optimizer=name).macs == 92_798_976


def test_ttm_1024_golden() -> None:
    spec = SPECS["ttm_1024_b100"]
    fwd = networks(spec)[0]
    assert optimize_network(fwd, optimizer="exhaustive").macs == 52_559_872
    assert optimize_network(fwd, optimizer="dp").macs == 52_559_872
    assert build_plan(fwd, left_to_right_path(5)).macs == 111_411_200
    assert get_format("ttm").params(spec) == 8_448


def test_tiny_ttm_golden() -> None:
    fwd = networks(SPECS["ttm_tiny_b8"])[0]
    assert optimize_network(fwd, optimizer="exhaustive").macs == 45_056
    assert optimize_network(fwd, optimizer="dp").macs == 45_056


# --- numeric oracle: every optimizer's path executed equals np.einsum ---------------------------


def _all_networks() -> list[tuple[str, TensorNetwork]]:
    out = []
    for key in ("ttm_tiny_b8", "ttm_small_uneven", "dense"):
        for net in networks(SPECS[key]):
            out.append((f"{key}:{net.label}", net))
    return out


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize(("label", "net"), _all_networks(), ids=[k for k, _ in _all_networks()])
def test_path_executes_like_einsum(optimizer: str, label: str, net: TensorNetwork) -> None:
    rng = np.random.default_rng(0)
    ops = net.random_operands(rng)
    plan = optimize_network(net, optimizer=optimizer)
    got = execute_path(net, plan.path, ops)
    want = net.contract_einsum(ops)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    # the same plan run as its lowered batched GEMMs (checks every lowering)
    np.testing.assert_allclose(execute_plan(plan, ops), want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("n", [4, 5])
def test_every_tree_executes_like_einsum(n: int) -> None:
    if n == 5:
        spec = ttm_spec((2, 3, 2, 2), (3, 2, 2, 2), (1, 2, 3, 2, 1), 3)
    else:
        spec = ttm_spec((2, 3, 2), (3, 2, 2), (1, 2, 3, 1), 3)
    net = networks(spec)[0]
    ops = net.random_operands(np.random.default_rng(1))
    want = net.contract_einsum(ops)
    for p in enumerate_trees(n):
        np.testing.assert_allclose(execute_path(net, p, ops), want, rtol=1e-10, atol=1e-10)


# --- cross-check against opt_einsum --------------------------------------------------------------


@pytest.mark.parametrize("key", ["ttm_bert_ffn_b32", "ttm_1024_b100", "ttm_tiny_b8", "ttm_small_uneven"])
def test_mac_optimal_matches_opt_einsum(key: str) -> None:
    for net in networks(SPECS[key]):
        info = oe.contract_path(net.einsum(), *net.shapes(), shapes=True, optimize="optimal")[1]
        assert 2 * optimize_network(net, optimizer="mac_optimal").macs == int(info.opt_cost), net.label


# --- dp is exact: equals the exhaustive optimum on random networks ------------------------------


@st.composite
def random_networks(draw: st.DrawFn) -> TensorNetwork:
    n = draw(st.integers(2, 6))
    n_idx = draw(st.integers(2, 7))
    names = [f"i{k}" for k in range(n_idx)]
    sizes = {i: draw(st.integers(1, 5)) for i in names}
    inputs = []
    for _ in range(n):
        t = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
        inputs.append(t)
    used = sorted({i for t in inputs for i in t})
    output = draw(st.lists(st.sampled_from(used), max_size=3, unique=True))
    return TensorNetwork.build(
        inputs=inputs,
        output=output,
        sizes=sizes,
        names=[f"T{k}" for k in range(n)],
        roles=["core"] * n,
        label="random",
    )


def _total(net: TensorNetwork, path: tuple[tuple[int, int], ...], cost: StepCost) -> float:
    inputs, output, sizes = net.opt_einsum_form()
    from dse.contraction._optimizers import _Problem
    from dse.contraction.trees import ssa_to_nodes

    prob = _Problem.build(inputs, output, sizes, None)
    return sum(prob.step(cost, a, b) for a, b in ssa_to_nodes(path, net.n_inputs))


TINY_HW = Hardware(
    engine=FAKE_ENGINE,
    pe_rows=4,
    pe_cols=3,
    ifmap_sram_kb=1,
    filter_sram_kb=1,
    ofmap_sram_kb=1,
    dram_bw_bytes_per_cycle=1,
)
"""A 4 x 3 array of the fake engine with 1 kB buffers: hardware step costs for the DP tests."""


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=random_networks(), which=st.sampled_from(["macs", "bytes", "hw"]))
def test_dp_equals_exhaustive(net: TensorNetwork, which: str) -> None:
    hw = TINY_HW
    costs: dict[str, StepCost] = {
        "macs": mac_cost,
        "bytes": bytes_moved_cost(2.0),
        "hw": hardware_cost(hw),
    }
    cost = costs[which]
    inputs, output, sizes = net.opt_einsum_form()
    p_dp = dp(inputs, output, sizes, cost=cost)
    p_ex = exhaustive(inputs, output, sizes, cost=cost)
    brute = min(_total(net, p, cost) for p in enumerate_trees(net.n_inputs))
    assert _total(net, p_dp, cost) == pytest.approx(brute, rel=1e-12)
    assert _total(net, p_ex, cost) == pytest.approx(brute, rel=1e-12)
    # connected-only DP and greedy are never better than the optimum, and their paths are valid
    for fn in (dp_connected, greedy):
        assert _total(net, fn(inputs, output, sizes, cost=cost), cost) >= brute * (1 - 1e-12)
    ops = net.random_operands(np.random.default_rng(0))
    want = net.contract_einsum(ops)
    np.testing.assert_allclose(execute_path(net, p_dp, ops), want, rtol=1e-9, atol=1e-9)
    plan = build_plan(net, p_dp)  # the lowered GEMMs reproduce the contraction too
    np.testing.assert_allclose(execute_plan(plan, ops), want, rtol=1e-9, atol=1e-9)
    assert plan.macs == sum(g.macs for g in plan.gemms)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=random_networks(), limit=st.one_of(st.none(), st.integers(1, 200)), outer=st.booleans())
def test_the_mac_table_is_the_generic_dp_table(net: TensorNetwork, limit: int | None, outer: bool) -> None:
    """The MAC cost's own DP table (kept indices as bitmasks) holds the generic table's best
    costs and splits for every subset, bit for bit, with and without outer products and a memory
    limit (the generic table prices the steps through an equal cost object that is not
    ``mac_cost``)."""
    import math

    from dse.contraction._costs import MacCost
    from dse.contraction._optimizers import _dp_table, _Problem
    from dse.contraction.trees import _splits

    inputs, output, sizes = net.opt_einsum_form()
    fast = _dp_table(_Problem.build(inputs, output, sizes, limit), mac_cost, outer)
    generic = _dp_table(_Problem.build(inputs, output, sizes, limit), MacCost(name="other"), outer)
    assert fast == generic
    prob = _Problem.build(inputs, output, sizes, limit)  # what the hardware DP's bounds read
    for s in range(1, prob.full + 1):
        assert prob.kept_bits(s)[1] == math.prod(prob.sizes[i] for i in prob.kept(s))
        for a, b in _splits(s) if s & (s - 1) else ():
            want = math.prod(prob.sizes[i] for i in prob.kept(a) | prob.kept(b))
            assert prob.union_elements(prob.kept_bits(a), prob.kept_bits(b)) == want


@settings(max_examples=80, deadline=None)
@given(net=random_networks(), limit=st.integers(1, 200))
def test_memory_limit_dp_equals_exhaustive(net: TensorNetwork, limit: int) -> None:
    hw = Hardware(
        engine=FAKE_ENGINE,
        pe_rows=2,
        pe_cols=3,
        ifmap_sram_kb=1,
        filter_sram_kb=1,
        ofmap_sram_kb=1,
        dram_bw_bytes_per_cycle=1,
    )
    inputs, output, sizes = net.opt_einsum_form()
    for cost in (mac_cost, hardware_cost(hw), hardware_cost(hw, "energy")):
        try:
            p_ex = exhaustive(inputs, output, sizes, limit, cost=cost)
        except PathError:
            with pytest.raises(PathError):
                dp(inputs, output, sizes, limit, cost=cost)
            continue
        p_dp = dp(inputs, output, sizes, limit, cost=cost)
        assert peak_elements(inputs, output, sizes, p_dp) <= limit
        assert _total(net, p_dp, cost) == pytest.approx(_total(net, p_ex, cost), rel=1e-12)


# --- memory limit ---------------------------------------------------------------------------------


def test_memory_limit_changes_the_path() -> None:
    fwd = networks(SPECS["ttm_bert_ffn_b32"])[0]
    free = optimize_network(fwd)
    assert free.peak_elements == 786_432
    inputs, output, sizes = fwd.opt_einsum_form()
    for name in ("exhaustive", "dp", "greedy", "mac_optimal"):
        path = get_path_fn(name)(inputs, output, sizes, 400_000)
        assert peak_elements(inputs, output, sizes, path) <= 400_000
    limited = optimize_network(fwd, memory_limit=400_000)
    assert limited.peak_elements <= 400_000
    assert limited.macs == 109_576_192 > free.macs


@pytest.mark.parametrize("name", ["exhaustive", "dp", "dp_connected", "greedy", "mac_optimal"])
def test_memory_limit_impossible_raises(name: str) -> None:
    fwd = networks(SPECS["ttm_tiny_b8"])[0]
    inputs, output, sizes = fwd.opt_einsum_form()
    with pytest.raises(PathError, match="memory_limit"):
        get_path_fn(name)(inputs, output, sizes, 2)


# --- registry, determinism, edge cases ------------------------------------------------------------


def test_registry() -> None:
    assert set(OPTIMIZERS) <= set(path_fn_names())
    assert get_path_fn("dp") is dp
    assert get_path_fn("mac_optimal") is mac_optimal
    with pytest.raises(PathError, match="unknown path optimizer"):
        get_path_fn("nope")

    def ltr(
        inputs: list[frozenset[str]],
        output: frozenset[str],
        size_dict: dict[str, int],
        memory_limit: int | None = None,
        *,
        cost: StepCost | None = None,
    ) -> tuple[tuple[int, int], ...]:
        return left_to_right_path(len(inputs))

    register_path_fn("ltr_test", ltr)
    try:
        fwd = networks(SPECS["ttm_bert_ffn_b32"])[0]
        assert optimize_network(fwd, optimizer="ltr_test").macs == 117_964_800
        with pytest.raises(RegistryError, match="already registered"):
            register_path_fn("ltr_test", ltr)
    finally:
        PATH_OPTIMIZERS.unregister("ltr_test")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    net=random_networks(), optimizer=st.sampled_from(OPTIMIZERS), cost=st.sampled_from(["macs", "latency", "energy"])
)
def test_optimize_path_is_the_optimized_plans_path(net: TensorNetwork, optimizer: str, cost: str) -> None:
    """:func:`optimize_path` (no plan built) gives the path of :func:`optimize_network`'s plan,
    for every optimizer and step cost."""
    hw = TINY_HW
    on = hw if cost != "macs" else None
    got = optimize_path(net, optimizer=optimizer, cost=cost, hw=on)
    assert got == optimize_network(net, optimizer=optimizer, cost=cost, hw=on).path
    assert all(type(i) is int and type(j) is int for i, j in got)


def test_optimize_path_rejects_an_invalid_path_as_building_its_plan_does() -> None:
    """An optimizer whose path does not contract the network raises :class:`PathError` from
    :func:`optimize_path`, as from :func:`optimize_network`."""

    def short(
        inputs: list[frozenset[str]],
        output: frozenset[str],
        size_dict: dict[str, int],
        memory_limit: int | None = None,
        *,
        cost: StepCost | None = None,
    ) -> tuple[tuple[int, int], ...]:
        return ((0, 1),)

    register_path_fn("short_test", short)
    try:
        fwd = networks(SPECS["ttm_bert_ffn_b32"])[0]
        for fn in (optimize_path, optimize_network):
            with pytest.raises(PathError):
                fn(fwd, optimizer="short_test")
    finally:
        PATH_OPTIMIZERS.unregister("short_test")


def test_deterministic_and_single_input() -> None:
    net = networks(SPECS["ttm_1024_b100"])[2]
    inputs, output, sizes = net.opt_einsum_form()
    for fn in (dp, exhaustive, greedy):
        assert fn(inputs, output, sizes) == fn(inputs, output, sizes)
    single = TensorNetwork.build(
        inputs=[("a", "b")], output=("b",), sizes={"a": 2, "b": 3}, names=["T"], roles=["core"]
    )
    i, o, s = single.opt_einsum_form()
    assert dp(i, o, s) == () == exhaustive(i, o, s) == greedy(i, o, s)
    ops = single.random_operands(np.random.default_rng(0))
    np.testing.assert_allclose(execute_path(single, (), ops), ops[0].sum(axis=0))
    np.testing.assert_allclose(execute_plan(build_plan(single, ()), ops), ops[0].sum(axis=0))


def test_disconnected_network() -> None:
    net = TensorNetwork.build(
        inputs=[("a", "b"), ("b",), ("c", "d"), ("d",)],
        output=("a", "c"),
        sizes={"a": 3, "b": 4, "c": 5, "d": 2},
        names=list("WXYZ"),
        roles=["core"] * 4,
    )
    inputs, output, sizes = net.opt_einsum_form()
    ops = net.random_operands(np.random.default_rng(3))
    for fn in (dp, dp_connected, exhaustive, greedy):
        np.testing.assert_allclose(
            execute_path(net, fn(inputs, output, sizes), ops), net.contract_einsum(ops), rtol=1e-10
        )
    assert _total(net, dp(inputs, output, sizes), mac_cost) == math.prod([3, 4]) + 5 * 2 + 15


Ix = frozenset[str]


class _TermsCost:
    """A step cost with :class:`~dse.contraction.HardwareCost`'s bound interface (``bound_terms``,
    ``lower_bound``, ``objective``) and integer-valued prices, so that splits tie often."""

    def __init__(self, per_mac: float, per_el: float, objective: str) -> None:
        self.bound_terms = (per_mac, per_el)
        self.objective = objective

    def _parts(self, lhs: Ix, rhs: Ix, kept: Ix, sizes: dict[str, int]) -> tuple[int, int]:
        macs = math.prod(sizes[i] for i in lhs | rhs)
        return macs, sum(math.prod(sizes[i] for i in t) for t in (lhs, rhs, kept))

    def __call__(self, lhs: Ix, rhs: Ix, kept: Ix, sizes: dict[str, int]) -> float:
        macs, elements = self._parts(lhs, rhs, kept, sizes)
        return float(math.ceil(self.bound_terms[0] * macs + self.bound_terms[1] * elements))

    def lower_bound(self, lhs: Ix, rhs: Ix, kept: Ix, sizes: dict[str, int]) -> float:
        from dse.contraction._costs import step_bound

        macs, _ = self._parts(lhs, rhs, kept, sizes)
        elements = [math.prod(sizes[i] for i in t) for t in (lhs, rhs, kept)]
        return step_bound(*self.bound_terms, self.objective, macs, elements)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    net=random_networks(),
    per_el=st.sampled_from([0.0, 0.7, 2.5]),
    objective=st.sampled_from(["latency", "energy"]),
)
def test_the_compiled_dp_tables_equal_the_python_loops(net: TensorNetwork, per_el: float, objective: str) -> None:
    """The compiled MAC table and bound table (:mod:`dse.contraction._dp_kernel`) give the DP
    the same best cost and split of every subset as the Python loops (NO_JIT_ENV set), ties
    included: the branch and bound visits its splits in the order of the bound table's values,
    so those must be equal bit for bit."""
    import os

    from analytical_models import NO_JIT_ENV
    from dse.contraction._optimizers import _dp_table, _kernel_arrays, _Problem

    inputs, output, sizes = net.opt_einsum_form()
    costs: list[StepCost] = [mac_cost, _TermsCost(0.25, per_el, objective)]  # type: ignore[list-item]
    assert not os.environ.get(NO_JIT_ENV)
    assert _kernel_arrays(_Problem.build(inputs, output, sizes, None), True) is not None
    compiled = [_dp_table(_Problem.build(inputs, output, sizes, None), c, True) for c in costs]
    os.environ[NO_JIT_ENV] = "1"
    try:
        assert _kernel_arrays(_Problem.build(inputs, output, sizes, None), True) is None
        python = [_dp_table(_Problem.build(inputs, output, sizes, None), c, True) for c in costs]
    finally:
        del os.environ[NO_JIT_ENV]
    assert compiled == python


@pytest.mark.parametrize("cost", ["latency", "energy"])
def test_the_hardware_dp_leaves_no_cyclic_garbage(cost: str) -> None:
    """The branch and bound's recursive search is a closure (a reference cycle): it is cleared
    on return, so its tables are freed by reference counting. A study freezes what is alive
    after each trial (``dse.study._heap``): garbage the cyclic collector had not reached by then
    would stay until the next full collection."""
    import gc

    fwd = networks(SPECS["ttm_bert_ffn_b32"])[0]
    assert fwd.n_inputs >= 4  # (the branch and bound runs)
    other = "energy" if cost == "latency" else "latency"
    optimize_path(fwd, optimizer="dp", cost=other, hw=TINY_HW)  # (numba's loading makes cycles once)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        optimize_path(fwd, optimizer="dp", cost=cost, hw=TINY_HW)
        found = gc.collect()
        garbage = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert found == 0, sorted({type(o).__name__ for o in garbage})
