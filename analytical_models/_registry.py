"""Registry of cost engines and the cached entry point used by the search.

An engine prices one :class:`Gemm` on one :class:`Hardware` under one :class:`Mapping`, and
searches mappings. New engines are one class plus one :func:`register_engine` line.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, NamedTuple, Protocol

from analytical_models._types import Cost, Gemm, Hardware, Mapping, ModelInputError

Objective = Literal["latency", "energy", "edp"]
OBJECTIVES: tuple[str, ...] = ("latency", "energy", "edp")


class MappingResult(NamedTuple):
    """Outcome of a mapping search for one GEMM on one hardware."""

    mapping: Mapping
    cost: Cost
    n_evaluated: int
    pareto: tuple[tuple[Mapping, Cost], ...]
    """Mappings not dominated in (cycles, energy_pj), best objective first."""


class Engine(Protocol):
    """A cost model for one kind of accelerator."""

    name: str

    def evaluate(self, gemm: Gemm, hw: Hardware, mapping: Mapping) -> Cost:
        """Price one mapping."""
        ...

    def search(self, gemm: Gemm, hw: Hardware, objective: Objective = "latency") -> MappingResult:
        """Enumerate mappings (vectorized), return the best for ``objective`` and the Pareto set."""
        ...


_ENGINES: dict[str, Engine] = {}


def register_engine(name: str, engine: Engine) -> None:
    """Make ``engine`` available as ``Hardware(engine=name)``."""
    _ENGINES[name] = engine


def get_engine(name: str) -> Engine:
    """The engine registered under ``name``."""
    try:
        return _ENGINES[name]
    except KeyError:
        raise ModelInputError(f"unknown engine {name!r}; expected one of {sorted(_ENGINES)}") from None


def engine_names() -> tuple[str, ...]:
    """Names of the registered engines."""
    return tuple(sorted(_ENGINES))


@lru_cache(maxsize=262_144)
def price(gemm: Gemm, hw: Hardware, objective: Objective = "latency") -> MappingResult:
    """Best mapping of ``gemm`` on ``hw`` for ``objective``; cached by value.

    Lowered operations repeat across layers, passes and trials, so this cache is what makes a
    study fast. ``price.cache_info()`` reports its hit rate.
    """
    if objective not in OBJECTIVES:
        raise ModelInputError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")
    return get_engine(hw.engine).search(gemm, hw, objective)
