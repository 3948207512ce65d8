"""Analytical latency / energy / area models of tensor-contraction accelerators.

Hardware + one lowered operation (:class:`Gemm`) -> :class:`Cost`. numpy (and numba for one
compiled loop, the best-mapping walk of :mod:`analytical_models._kernel`, loaded on the first
search), no I/O, no side effects at import beyond registering the shipped engines and technology
profiles.

Public API (``__all__``):

- Core types: :class:`Hardware`, :class:`Gemm`, :class:`Mapping`, :class:`Cost` (and
  :data:`ZERO_COST`), :class:`TechProfile`, :class:`MappingResult`, the :class:`Engine`
  protocol and :class:`ArrayEngine`, the base class of PE-array engines; the error type
  :class:`ModelInputError`.
- Vocabularies: :data:`DATAFLOWS`, :data:`MEMORY_TIMINGS`, :data:`MAPPINGS` (search, or
  SCALE-Sim's own loop nest), :data:`NESTS`, :data:`OBJECTIVES` (and the :data:`Objective` type).
- Entry points: :func:`price` (best mapping of one GEMM on one hardware and its Pareto set,
  cached by value), :func:`best_mapping` (the same best without the set: what an evaluation
  needs),
  :func:`area_mm2`, :func:`leakage_mw`, :func:`fold_cycles` (SCALE-Sim cycles of an untiled
  GEMM), :func:`tune_allocator` (called once by processes that run many searches).
- SCALE-Sim v3's own loop nest in closed form: :func:`scalesim_report` (its report of one GEMM
  layer, :class:`ScalesimReport`, in SCALE-Sim's units; :func:`scalesim_hw_report` on a
  :class:`Hardware`), :func:`scalesim_words` (the SRAM
  words and DRAM words per cycle SCALE-Sim runs a :class:`Hardware` with); the nest as a
  mapping is ``Hardware.mapping="scalesim"`` / :meth:`ArrayEngine.pinned` (a
  :class:`PinnedNest`), and :meth:`ArrayEngine.spans` says where a mapping's cycles go
  (:class:`NestSpans`: prefetch, compute window, drain tail).
- On-chip steps of fused schedules: :func:`price_onchip` / :func:`onchip_tiles` (with
  :data:`BUFFERS`, :data:`TOKEN_DIMS`; :func:`onchip_array`: what their compiled loop reads of
  an array, for callers that price many steps in one compiled call) (a GEMM whose
  operands are already in the buffers, one token tile or many at once: :class:`OnChipTiles`),
  :func:`tile_gemm`; :func:`hw_consts` (:class:`HwConsts`: per-hardware capacities, energies
  per bit, leakage per cycle, bandwidth).
- :class:`CachedHash`: base of the frozen value types used as cache keys (their hash computed
  once per instance).
- Registries (:class:`Registry`, :class:`RegistryError`): :data:`ENGINES` with
  :func:`register_engine`, :func:`get_engine`, :func:`engine_names`; :data:`TECHS` with
  :func:`register_tech`, :func:`get_tech`, :func:`tech_names`.
- Shipped engines: :data:`SYSTOLIC` (``systolic``: WS/OS/IS systolic array, SCALE-Sim fold
  timing, memory stalls, paid tensor shaping) and :data:`CONTRACTION_ENGINE`
  (``contraction_engine``: reconfigurable array, free shaping); hardware templates
  :data:`TT_GEMM` (``tt_gemm``: a TT-core engine for core merges beside a systolic GEMM engine)
  and :data:`CE_ARRAY` (``ce_array``: an array of contraction engines, FETTA-like). Shipped technology profiles:
  ``horowitz45``, ``accelergy45``, ``tpu7nm``.

Everything else lives in private modules (the model in ``_engine``, ``_stage``, ``_cost``,
``_search`` and their neighbours; see :mod:`analytical_models._engine`) and may change.
"""

from analytical_models._allocator import tune_allocator
from analytical_models._area import area_mm2, leakage_mw
from analytical_models._consts import HwConsts, hw_consts
from analytical_models._engine import ArrayEngine
from analytical_models._frozen import quick_init
from analytical_models._hashing import HARDWARE_CACHE_ENTRIES, CachedHash
from analytical_models._jit import NO_JIT_ENV, compiled_module, use_compile_cache
from analytical_models._onchip import (
    BUFFERS,
    STACKED_FIELDS,
    TOKEN_DIMS,
    OnChipArray,
    OnChipStep,
    OnChipTiles,
    busy_floor,
    dram_fed_bytes,
    dram_fed_bytes_table,
    dram_fed_floor,
    dram_fed_floor_table,
    onchip_array,
    onchip_tiles,
    price_onchip,
    tile_gemm,
    untiled_cycles,
    untiled_cycles_table,
    untiled_geometry,
    untiled_key,
)
from analytical_models._pinned import NestSpans, PinnedNest
from analytical_models._registry import (
    ENGINES,
    OBJECTIVES,
    Engine,
    MappingResult,
    Objective,
    best_mapping,
    engine_names,
    get_engine,
    price,
    register_engine,
)
from analytical_models._registry_type import Registry, RegistryError
from analytical_models._scalesim_mapping import ScalesimReport, scalesim_hw_report, scalesim_report, scalesim_words
from analytical_models._tech import TECHS, TechProfile, get_tech, register_tech, tech_names
from analytical_models._types import (
    DATAFLOWS,
    MAPPINGS,
    MEMORY_TIMINGS,
    NESTS,
    ZERO_COST,
    Cost,
    Gemm,
    Hardware,
    Mapping,
    ModelInputError,
)
from analytical_models.ce_array import CE_ARRAY
from analytical_models.contraction_engine import CONTRACTION_ENGINE
from analytical_models.systolic import SYSTOLIC, fold_cycles
from analytical_models.tt_gemm import TT_GEMM

__all__ = [
    "BUFFERS",
    "CE_ARRAY",
    "CONTRACTION_ENGINE",
    "DATAFLOWS",
    "ENGINES",
    "HARDWARE_CACHE_ENTRIES",
    "MAPPINGS",
    "MEMORY_TIMINGS",
    "NESTS",
    "NO_JIT_ENV",
    "OBJECTIVES",
    "STACKED_FIELDS",
    "SYSTOLIC",
    "TECHS",
    "TOKEN_DIMS",
    "TT_GEMM",
    "ZERO_COST",
    "ArrayEngine",
    "CachedHash",
    "Cost",
    "Engine",
    "Gemm",
    "Hardware",
    "HwConsts",
    "Mapping",
    "MappingResult",
    "ModelInputError",
    "NestSpans",
    "Objective",
    "OnChipArray",
    "OnChipStep",
    "OnChipTiles",
    "PinnedNest",
    "Registry",
    "RegistryError",
    "ScalesimReport",
    "TechProfile",
    "area_mm2",
    "best_mapping",
    "busy_floor",
    "compiled_module",
    "dram_fed_bytes",
    "dram_fed_bytes_table",
    "dram_fed_floor",
    "dram_fed_floor_table",
    "engine_names",
    "fold_cycles",
    "get_engine",
    "get_tech",
    "hw_consts",
    "leakage_mw",
    "onchip_array",
    "onchip_tiles",
    "price",
    "price_onchip",
    "quick_init",
    "register_engine",
    "register_tech",
    "scalesim_hw_report",
    "scalesim_report",
    "scalesim_words",
    "tech_names",
    "tile_gemm",
    "tune_allocator",
    "untiled_cycles",
    "untiled_cycles_table",
    "untiled_geometry",
    "untiled_key",
    "use_compile_cache",
]
