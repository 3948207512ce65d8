"""The ``tt_gemm`` template: a TT-core engine beside a systolic GEMM engine.

The streaming-TT-kernel + GEMM-engine design of the latency-driven TNN DSE work (Zhang et al.,
arXiv 2511.17971): batch-independent merges of cores ("core partitioning") run on a small array
of ``aux_rows x aux_cols`` PEs, every step that touches activations on the ``pe_rows x pe_cols``
systolic array (WS / OS / IS from ``Hardware.dataflows``, tensor shaping paid). Both share the
three buffers and the DRAM port. A GEMM fed from DRAM is priced on the GEMM engine exactly as
``systolic`` prices it; the schedule (:mod:`dse.schedule`) puts core merges on the TT-core
engine (:meth:`TTGemmEngine.core_array`) and overlaps them with the activation work of the pass
before (the next layer's merges run while this layer's GEMMs do).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from analytical_models._engine import ArrayEngine
from analytical_models._registry import register_engine
from analytical_models._types import Hardware, ModelInputError


class TTGemmEngine(ArrayEngine):
    """Systolic GEMM engine plus a TT-core engine for core merges."""

    name: str = "tt_gemm"
    shaping_free: bool = False
    knobs: tuple[tuple[str, int], ...] = (("aux_rows", 8), ("aux_cols", 8))

    def array_view(self, hw: Hardware) -> Hardware:
        """The GEMM engine alone (the TT-core engine idles during a GEMM fed from DRAM)."""
        if hw.aux_rows < 1:
            raise ModelInputError("engine 'tt_gemm' needs a TT-core engine: aux_rows and aux_cols >= 1")
        return hw

    def core_array(self, hw: Hardware) -> Hardware:
        """The TT-core engine as an array of its own (systolic semantics, same buffers); one
        instance per hardware (cached: a cache key hashes it once)."""
        if hw.aux_rows < 1:
            raise ModelInputError("engine 'tt_gemm' needs a TT-core engine: aux_rows and aux_cols >= 1")
        return _core_array(hw)


@lru_cache(maxsize=4096)
def _core_array(hw: Hardware) -> Hardware:
    return replace(hw, engine="systolic", pe_rows=hw.aux_rows, pe_cols=hw.aux_cols, aux_rows=0, aux_cols=0)


TT_GEMM = TTGemmEngine()
register_engine(TT_GEMM.name, TT_GEMM)
