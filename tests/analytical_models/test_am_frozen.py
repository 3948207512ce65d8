""":func:`analytical_models.quick_init`: the replaced ``__init__`` of a frozen, slotted dataclass
takes the same arguments, sets the same fields, runs ``__post_init__`` and leaves it frozen."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

import analytical_models
import dse._design
import dse._policies
import dse.contraction._lowering
import dse.contraction._plan
import dse.schedule._chain
import dse.schedule._search
import dse.schedule._segment
import dse.workload._network
from analytical_models import quick_init


def _pair() -> tuple[type[Any], type[Any]]:
    """The same dataclass twice: with the generated ``__init__`` and with quick_init's."""

    def make() -> type[Any]:
        @dataclasses.dataclass(frozen=True, slots=True)
        class Record:
            a: int
            b: str = "b"
            c: float = dataclasses.field(default=2.5, kw_only=True)
            d: tuple[int, ...] = dataclasses.field(default=(), kw_only=True)

            def __post_init__(self) -> None:
                if self.a < 0:
                    raise ValueError("a < 0")

        return Record

    return make(), quick_init(make())


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, "x"), {}), ((1,), {"b": "y", "c": 1.0}), ((3, "z"), {"d": (1, 2), "c": -1.0})],
)
def test_the_same_fields_as_the_generated_init(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    plain, quick = _pair()
    assert dataclasses.astuple(quick(*args, **kwargs)) == dataclasses.astuple(plain(*args, **kwargs))


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, "x", 2.0), {}), ((1,), {"e": 1}), ((1,), {"a": 2}), ((-1,), {})],
)
def test_the_same_errors_as_the_generated_init(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    plain, quick = _pair()
    with pytest.raises(Exception) as expected:
        plain(*args, **kwargs)
    with pytest.raises(expected.type):
        quick(*args, **kwargs)


def test_still_frozen() -> None:
    _, quick = _pair()
    record = quick(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.a = 2


def test_unsupported_classes_are_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    for cls in (NoSlots, NotFrozen, Factory):
        with pytest.raises(TypeError):
            quick_init(cls)


QUICK = [
    analytical_models.Gemm,
    analytical_models.Cost,
    analytical_models.Mapping,
    dse.schedule._chain.ChainStep,
    dse.schedule._chain.Chain,
    dse.schedule._search.Segment,
    dse.schedule._search.Schedule,
    dse.schedule._segment.SegmentResult,
    dse.contraction._lowering.Lowered,
    dse.contraction._plan.PlanStep,
    dse.contraction._plan.ContractionPlan,
    dse._design.StepRecord,
    dse._design.PassRecord,
    dse._policies.PathChoice,
    dse.workload._network.TensorNetwork,
]


@pytest.mark.parametrize("cls", QUICK, ids=lambda c: c.__qualname__)
def test_project_records_keep_the_dataclass_signature(cls: type[Any]) -> None:
    """Each record with quick_init takes its fields in the dataclass's order, kinds and defaults."""
    assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"
    assert any(name.startswith("_set_") for name in cls.__init__.__code__.co_names)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = [f for f in dataclasses.fields(cls) if f.init]
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        kind = inspect.Parameter.KEYWORD_ONLY if f.kw_only else inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert p.kind == kind
        assert p.default == (inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default)


def test_a_gemm_is_still_checked_and_equal_to_its_copy() -> None:
    g = analytical_models.Gemm(m=2, n=3, k=4, batch=5)
    assert (g.m, g.n, g.k, g.batch) == (2, 3, 4, 5)
    assert g == dataclasses.replace(g) and hash(g) == hash(dataclasses.replace(g))
    with pytest.raises(analytical_models.ModelInputError):
        analytical_models.Gemm(m=0, n=3, k=4)
