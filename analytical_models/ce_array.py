"""The ``ce_array`` template: an array of contraction engines (FETTA-like).

FETTA (Lu et al., arXiv 2504.06474) builds a reconfigurable array of contraction engines (CEs)
whose butterfly distribution and reduction networks reshape tensors while they stream, so every
dataflow runs and tensor shaping is free. Here: ``n_engines`` CEs of ``pe_rows x pe_cols`` PEs
sharing the three buffers and the DRAM port.

* A GEMM fed from DRAM runs on every CE at once; the distribution network makes them one array
  of ``pe_rows x (pe_cols * n_engines)`` PEs for the mapping search (:meth:`CEArrayEngine.array_view`).
* In a fused segment the schedule either spreads every step over all CEs (temporal) or gives
  each step a group of CEs and pipelines the token tiles through the groups (spatial
  pipelining; :mod:`dse.schedule`).

Butterfly networks: no area or energy figure of FETTA's networks was retrievable, so both are
ASSUMPTIONS, stated here and applied by :func:`analytical_models.area_mm2` and the schedule:
a network of ``log2(lanes)`` stages of 2x2 switches per CE for its ``pe_rows + pe_cols``
lanes, each stage costing :data:`BUTTERFLY_AREA_PE_FRACTION` of a PE's area per lane and
:data:`BUTTERFLY_PJ_PER_BIT` per bit moved through it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache

from analytical_models._engine import ArrayEngine
from analytical_models._registry import register_engine
from analytical_models._types import DATAFLOWS, Hardware

BUTTERFLY_AREA_PE_FRACTION = 0.05
"""ASSUMPTION: area of one 2x2 switch stage per lane, as a fraction of one PE's area."""
BUTTERFLY_PJ_PER_BIT = 0.002
"""ASSUMPTION: energy per bit per switch stage (a mux and a short wire at 45 nm), in pJ."""


def butterfly_stages(hw: Hardware) -> int:
    """Switch stages of one CE's distribution (or reduction) network: ``ceil(log2(lanes))``."""
    return max(1, math.ceil(math.log2(max(2, hw.pe_rows + hw.pe_cols))))


def butterfly_lanes(hw: Hardware) -> int:
    """Lanes of the networks of all CEs (``pe_rows + pe_cols`` per CE)."""
    return (hw.pe_rows + hw.pe_cols) * hw.n_engines


class CEArrayEngine(ArrayEngine):
    """``n_engines`` contraction engines: every dataflow, free tensor shaping."""

    name: str = "ce_array"
    shaping_free: bool = True
    knobs: tuple[tuple[str, int], ...] = (("n_engines", 4),)

    def dataflows_for(self, hw: Hardware) -> tuple[str, ...]:
        """All of WS / OS / IS, regardless of ``hw.dataflows``."""
        return DATAFLOWS

    def array_view(self, hw: Hardware) -> Hardware:
        """All CEs as one ``pe_rows x (pe_cols * n_engines)`` array (a GEMM fed from DRAM); one
        instance per hardware (cached), so the caches keyed by it hash it once."""
        return hw if hw.n_engines == 1 else _joined(hw)

    def engines(self, hw: Hardware) -> int:
        """The CEs a fused step may spread over or pipeline across."""
        return hw.n_engines

    def network_pj_per_bit(self, hw: Hardware) -> float:
        """The butterfly stages every operand bit crosses (an assumption, see the module)."""
        return butterfly_stages(hw) * BUTTERFLY_PJ_PER_BIT


@lru_cache(maxsize=4096)
def _joined(hw: Hardware) -> Hardware:
    """:meth:`CEArrayEngine.array_view` of a hardware of several engines."""
    return replace(hw, pe_cols=hw.pe_cols * hw.n_engines, n_engines=1)


CE_ARRAY = CEArrayEngine()
register_engine(CE_ARRAY.name, CE_ARRAY)
