"""The cached hash of the frozen value types used as cache keys equals the dataclass's own."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from analytical_models import CachedHash, Cost, Gemm, Hardware
from dse.contraction import build_plan
from dse.schedule import chain_of
from tests.contraction._helpers import networks, ttm_spec


def _compared(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, f.name) for f in dataclasses.fields(obj) if (f.hash if f.hash is not None else f.compare))


def _values() -> list[Any]:
    hw = Hardware(
        engine="systolic",
        pe_rows=8,
        pe_cols=16,
        ifmap_sram_kb=64,
        filter_sram_kb=32,
        ofmap_sram_kb=16,
        dram_bw_bytes_per_cycle=16,
    )
    gemm = Gemm(m=5, n=7, k=9, batch=2, permute_b_elements=3)
    net = networks(ttm_spec((4, 8), (8, 4), (1, 3, 1), 16))[0]
    plan = build_plan(net, ((0, 1), (2, 3)) if net.n_inputs == 3 else tuple((0, 1) for _ in range(net.n_inputs - 1)))
    return [hw, gemm, plan, chain_of(plan)]


@pytest.mark.parametrize("pick", range(4))
def test_the_cached_hash_is_the_hash_of_the_compared_fields(pick: int) -> None:
    """First and later calls, and a copy made by pickling (which recomputes it), all give the
    hash of the tuple of the compared fields, as a frozen dataclass would."""
    value = _values()[pick]
    assert isinstance(value, CachedHash)
    want = hash(_compared(value))
    assert hash(value) == want and hash(value) == want
    copy = pickle.loads(pickle.dumps(value))
    assert copy == value and hash(copy) == want


def test_a_class_of_one_hashed_field_hashes_a_tuple_of_it() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class One(CachedHash):
        x: int
        y: int = dataclasses.field(default=0, compare=False)
        __hash__ = CachedHash.__hash__

    assert hash(One(12345)) == hash((12345,)) != hash(12345)


def test_a_cost_scaled_once_is_itself_and_otherwise_every_field_times_the_factor() -> None:
    """``Cost.scaled(1)`` returns the cost itself (every field times 1 is that field); another
    factor multiplies every field, a float one making the MACs a float as before."""
    cost = Cost(macs=7, compute_cycles=2.5, stall_cycles=0.1, dram_read_bytes=3.0, leakage_energy_pj=1e-3)
    assert cost.scaled(1) is cost
    for factor in (2, 3.0):
        got = cost.scaled(factor)  # type: ignore[arg-type]
        for f in dataclasses.fields(Cost):
            value = getattr(got, f.name)
            assert value == getattr(cost, f.name) * factor and type(value) is type(getattr(cost, f.name) * factor)


def test_einsum_strings_are_those_of_the_letters() -> None:
    """A network's einsum (cached by its index names) spells its inputs and output with
    :meth:`letters`, the same for two networks of one structure and different sizes."""
    a = networks(ttm_spec((4, 8), (8, 4), (1, 3, 1), 16))
    b = networks(ttm_spec((2, 16), (4, 8), (1, 5, 1), 32))
    for x, y in zip(a, b, strict=True):
        lt = x.letters()
        want = ",".join("".join(lt[i] for i in t) for t in x.inputs) + "->" + "".join(lt[i] for i in x.output)
        assert x.einsum() == want == y.einsum()
        before = dict(lt)
        lt["zz"] = "?"  # (a caller's copy: the cached letters do not change)
        assert x.letters() == before
