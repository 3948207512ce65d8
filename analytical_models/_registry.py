"""Registry of cost engines and the cached entry point used by the search.

An engine prices one :class:`Gemm` on one :class:`Hardware` under one :class:`Mapping`, and
searches mappings. New engines are one class plus one :func:`register_engine` line; the
registry (:data:`ENGINES`) is a :class:`~analytical_models.Registry`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, NamedTuple, Protocol

from analytical_models._registry_type import Registry
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


ENGINES: Registry[Engine] = Registry("engine", error=ModelInputError)
"""The cost engines, by the name ``Hardware.engine`` refers to. ``price`` caches results by
value, so an engine is registered once and never replaced in a running process."""


def register_engine(name: str, engine: Engine) -> None:
    """Make ``engine`` available as ``Hardware(engine=name)``.

    Raises:
        RegistryError: ``name`` is empty or already registered.
    """
    ENGINES.register(name, engine)


def get_engine(name: str) -> Engine:
    """The engine registered under ``name``.

    Raises:
        ModelInputError: no engine is registered under ``name`` (the message lists them).
    """
    return ENGINES.get(name)


def engine_names() -> tuple[str, ...]:
    """Names of the registered engines, sorted."""
    return ENGINES.names()


@lru_cache(maxsize=16_384)
def price(gemm: Gemm, hw: Hardware, objective: Objective = "latency") -> MappingResult:
    """Best mapping of ``gemm`` on ``hw`` for ``objective``; cached by value.

    Lowered operations repeat across layers, passes and trials, so this cache is what makes a
    study fast. ``price.cache_info()`` reports its hit rate. Its 16k entries hold about a hundred
    designs' searches: a study's designs rarely share a hardware, so a larger bound holds memory
    (2 kB an entry) without hits (the 192-trial TT-BERT study runs as fast at 16k as at 262k).
    """
    if objective not in OBJECTIVES:
        raise ModelInputError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")
    return get_engine(hw.engine).search(gemm, hw, objective)


@lru_cache(maxsize=16_384)
def best_mapping(gemm: Gemm, hw: Hardware, objective: Objective = "latency") -> MappingResult:
    """:func:`price`'s best mapping and cost, bit for bit, without the Pareto set (``pareto`` is
    empty); cached by value. What a design's evaluation prices: an engine with a ``search_best``
    method (the array engines) keeps fewer tiles and ranks no front; any other engine runs its
    ``search``.

    Raises:
        ModelInputError: unknown objective, or no tile fits the buffers.
    """
    if objective not in OBJECTIVES:
        raise ModelInputError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")
    engine = get_engine(hw.engine)
    search_best = getattr(engine, "search_best", None)
    if search_best is None:
        return engine.search(gemm, hw, objective)._replace(pareto=())
    result: MappingResult = search_best(gemm, hw, objective)
    return result
