"""Tensor shaping (permutation) overhead of one GEMM on an array that cannot reshape on the fly.

Engines that cannot reshape on the fly: each permuted operand makes one round trip (read +
write) through its own buffer when it fits the whole buffer, at one row of R (ifmap) or C
(filter, ofmap) elements per cycle; otherwise through DRAM at ``bw``. The shaping is serial
with the GEMM (``shaping_cycles``) and its traffic and energy are added to the buffer / DRAM
figures (:mod:`analytical_models._cost`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from analytical_models._arrays import FloatArray, IntArray
from analytical_models._consts import HwConsts
from analytical_models._types import Gemm, Hardware


class Shaping(NamedTuple):
    """Tensor-shaping (permutation) overhead of one GEMM: cycles and bytes per level."""

    cycles: float = 0.0
    ifmap_rd_bytes: float = 0.0
    ifmap_wr_bytes: float = 0.0
    filter_rd_bytes: float = 0.0
    filter_wr_bytes: float = 0.0
    ofmap_rd_bytes: float = 0.0
    ofmap_wr_bytes: float = 0.0
    dram_rd_bytes: float = 0.0
    dram_wr_bytes: float = 0.0


NO_SHAPING = Shaping()


@lru_cache(maxsize=16_384)
def buffer_shaping(gemm: Gemm, hw: Hardware) -> Shaping:
    """Shaping cost on an array without on-the-fly reshaping (see the module docstring).

    Each permuted operand is read and written once: through its own buffer at ``R`` (ifmap) or
    ``C`` (filter, ofmap) elements per cycle when the whole tensor fits the buffer, else
    through DRAM at ``dram_bw_bytes_per_cycle``. Cycles are serial with the GEMM.
    """
    bpe = hw.bits / 8.0
    out: dict[str, float] = dict.fromkeys(Shaping._fields, 0.0)
    for name, elements, kb, width in (
        ("ifmap", gemm.permute_a_elements, hw.ifmap_sram_kb, hw.pe_rows),
        ("filter", gemm.permute_b_elements, hw.filter_sram_kb, hw.pe_cols),
        ("ofmap", gemm.permute_c_elements, hw.ofmap_sram_kb, hw.pe_cols),
    ):
        if elements <= 0:
            continue
        nbytes = elements * bpe
        if nbytes <= kb * 1024.0:
            out["cycles"] += 2.0 * elements / width
            out[f"{name}_rd_bytes"] += nbytes
            out[f"{name}_wr_bytes"] += nbytes
        else:
            out["cycles"] += 2.0 * nbytes / hw.dram_bw_bytes_per_cycle
            out["dram_rd_bytes"] += nbytes
            out["dram_wr_bytes"] += nbytes
    return Shaping(**out)


def buffer_shaping_cycles(permutes: IntArray, hw: Hardware) -> FloatArray:
    """The cycles of :func:`buffer_shaping` of many GEMMs at once: ``permutes`` is ``(G, 3)``
    (each GEMM's ``permute_a_elements``, ``permute_b_elements``, ``permute_c_elements``), the
    result ``(G,)`` cycles, each equal to the scalar function's (the same floating-point
    operations per element, in the same order)."""
    bpe = hw.bits / 8.0
    cycles = np.zeros(len(permutes))
    for col, kb, width in (
        (0, hw.ifmap_sram_kb, hw.pe_rows),
        (1, hw.filter_sram_kb, hw.pe_cols),
        (2, hw.ofmap_sram_kb, hw.pe_cols),
    ):
        elements = permutes[:, col]
        nbytes = elements * bpe
        term = np.where(nbytes <= kb * 1024.0, 2.0 * elements / width, 2.0 * nbytes / hw.dram_bw_bytes_per_cycle)
        cycles = cycles + np.where(elements > 0, term, 0.0)  # (adding 0.0 leaves a sum as it is)
    return cycles


def _shaping_energy(c: HwConsts, s: Shaping) -> float:
    """Energy of the shaping traffic ``s`` in the buffers and DRAM of ``c``, in pJ."""
    return 8.0 * (
        s.ifmap_rd_bytes * c.ifmap_rd_pj_bit
        + s.ifmap_wr_bytes * c.ifmap_wr_pj_bit
        + s.filter_rd_bytes * c.filter_rd_pj_bit
        + s.filter_wr_bytes * c.filter_wr_pj_bit
        + s.ofmap_rd_bytes * c.ofmap_rd_pj_bit
        + s.ofmap_wr_bytes * c.ofmap_wr_pj_bit
        + (s.dram_rd_bytes + s.dram_wr_bytes) * c.dram_pj_bit
    )
