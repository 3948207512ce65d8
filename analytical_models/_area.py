"""Area and leakage power of one :class:`Hardware` instance."""

from __future__ import annotations

from analytical_models._tech import get_tech
from analytical_models._types import Hardware


def area_mm2(hw: Hardware) -> float:
    """Silicon area of the PE array plus the three on-chip buffers, in mm2.

    ``n_pes * pe_area(bits) + sram_kb * sram_area_per_kb`` of ``hw.tech`` (every engine and the
    TT-core engine count); a ``ce_array`` adds its distribution and reduction networks
    (:mod:`analytical_models.ce_array`, an assumption). Interconnect, controller and DRAM PHY
    are not modelled.
    """
    tech = get_tech(hw.tech)
    pe = tech.pe_area_mm2(hw.bits)
    area = hw.n_pes * pe + hw.sram_kb * tech.sram_area_mm2_per_kb
    if hw.engine == "ce_array":  # butterfly networks (ASSUMPTION, analytical_models.ce_array)
        from analytical_models.ce_array import BUTTERFLY_AREA_PE_FRACTION, butterfly_lanes, butterfly_stages

        area += 2 * butterfly_lanes(hw) * butterfly_stages(hw) * BUTTERFLY_AREA_PE_FRACTION * pe
    return area


def leakage_mw(hw: Hardware) -> float:
    """Static (leakage) power of the PE array plus the on-chip buffers, in mW."""
    tech = get_tech(hw.tech)
    return hw.n_pes * tech.leak_mw_per_pe + hw.sram_kb * tech.leak_mw_per_kb
