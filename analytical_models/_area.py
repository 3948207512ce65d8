"""Area and leakage power of one :class:`Hardware` instance."""

from __future__ import annotations

from analytical_models._tech import get_tech
from analytical_models._types import Hardware


def area_mm2(hw: Hardware) -> float:
    """Silicon area of the PE array plus the three on-chip buffers, in mm2.

    ``pe_rows * pe_cols * pe_area(bits) + sram_kb * sram_area_per_kb`` of ``hw.tech``.
    Interconnect, controller and DRAM PHY are not modelled.
    """
    tech = get_tech(hw.tech)
    return hw.n_pes * tech.pe_area_mm2(hw.bits) + hw.sram_kb * tech.sram_area_mm2_per_kb


def leakage_mw(hw: Hardware) -> float:
    """Static (leakage) power of the PE array plus the on-chip buffers, in mW."""
    tech = get_tech(hw.tech)
    return hw.n_pes * tech.leak_mw_per_pe + hw.sram_kb * tech.leak_mw_per_kb
