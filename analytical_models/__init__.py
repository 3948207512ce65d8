"""Analytical latency / energy / area models of tensor-contraction accelerators.

Hardware + one lowered operation (:class:`Gemm`) -> :class:`Cost`. numpy only, no I/O.
Engines: ``systolic`` (WS/OS/IS systolic array, SCALE-Sim fold timing, memory stalls, paid
tensor shaping) and ``contraction_engine`` (reconfigurable array, free shaping). The cached
entry point is :func:`price`.
"""

from analytical_models._area import area_mm2, leakage_mw
from analytical_models._model import LOOP_ORDERS, ArrayEngine, tune_allocator
from analytical_models._registry import (
    OBJECTIVES,
    Engine,
    MappingResult,
    Objective,
    engine_names,
    get_engine,
    price,
    register_engine,
)
from analytical_models._registry_type import Registry, RegistryError
from analytical_models._tech import TechProfile, get_tech, loglog_interp, tech_names
from analytical_models._timing import (
    FOLD_CYCLES,
    is_fold_cycles,
    os_fold_cycles,
    ws_fold_cycles,
)
from analytical_models._types import (
    DATAFLOWS,
    MEMORY_TIMINGS,
    ZERO_COST,
    Cost,
    Gemm,
    Hardware,
    Mapping,
    ModelInputError,
)
from analytical_models.contraction_engine import CONTRACTION_ENGINE, ContractionEngine
from analytical_models.systolic import SYSTOLIC, SystolicEngine, fold_cycles

__all__ = [
    "CONTRACTION_ENGINE",
    "DATAFLOWS",
    "FOLD_CYCLES",
    "LOOP_ORDERS",
    "MEMORY_TIMINGS",
    "OBJECTIVES",
    "SYSTOLIC",
    "ZERO_COST",
    "ArrayEngine",
    "ContractionEngine",
    "Cost",
    "Engine",
    "Gemm",
    "Hardware",
    "Mapping",
    "MappingResult",
    "ModelInputError",
    "Objective",
    "Registry",
    "RegistryError",
    "SystolicEngine",
    "TechProfile",
    "area_mm2",
    "engine_names",
    "fold_cycles",
    "get_engine",
    "get_tech",
    "is_fold_cycles",
    "leakage_mw",
    "loglog_interp",
    "os_fold_cycles",
    "price",
    "register_engine",
    "tech_names",
    "tune_allocator",
    "ws_fold_cycles",
]
