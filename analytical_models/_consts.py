"""Per-hardware scalars of the PE-array model: sizes, capacities, energies per bit, bandwidth.

Derived once per :class:`Hardware` (cached by value) so that pricing a candidate set reads
plain floats. Buffers are double-buffered: the usable capacity of each is half its size.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from analytical_models._area import leakage_mw
from analytical_models._tech import get_tech, sram_pj_per_bit
from analytical_models._types import Hardware


class HwConsts(NamedTuple):
    """Per-hardware scalars of the model (derived once per :class:`Hardware`, cached)."""

    rows: int
    cols: int
    n_pes: int
    bytes_per_el: float
    acc_bytes: float
    cap_a_bytes: float
    """Usable (half, double-buffered) ifmap buffer in bytes; same for b, c below."""
    cap_b_bytes: float
    cap_c_bytes: float
    mac_pj: float
    ifmap_rd_pj_bit: float
    ifmap_wr_pj_bit: float
    filter_rd_pj_bit: float
    filter_wr_pj_bit: float
    ofmap_rd_pj_bit: float
    ofmap_wr_pj_bit: float
    dram_pj_bit: float
    leak_pj_per_cycle: float
    bw_bytes_per_cycle: float
    serial: bool = False
    """``Hardware.memory_timing == "serial"``."""


@lru_cache(maxsize=65_536)
def hw_consts(hw: Hardware) -> HwConsts:
    """Scalars of ``hw`` used by the model (energies in pJ per bit, capacities in bytes)."""
    tech = get_tech(hw.tech)
    i_rd, i_wr = sram_pj_per_bit(hw.tech, hw.ifmap_sram_kb)
    f_rd, f_wr = sram_pj_per_bit(hw.tech, hw.filter_sram_kb)
    o_rd, o_wr = sram_pj_per_bit(hw.tech, hw.ofmap_sram_kb)
    # mW * (1 / (f_MHz * 1e6)) s per cycle = 1e-9 / f_MHz J = 1e3 / f_MHz pJ per cycle.
    leak = leakage_mw(hw) * 1e3 / hw.freq_mhz
    return HwConsts(
        rows=hw.pe_rows,
        cols=hw.pe_cols,
        n_pes=hw.n_pes,
        bytes_per_el=hw.bits / 8.0,
        acc_bytes=hw.acc_bits / 8.0,
        cap_a_bytes=hw.ifmap_sram_kb * 512.0,
        cap_b_bytes=hw.filter_sram_kb * 512.0,
        cap_c_bytes=hw.ofmap_sram_kb * 512.0,
        mac_pj=tech.mac_pj(hw.bits),
        ifmap_rd_pj_bit=i_rd,
        ifmap_wr_pj_bit=i_wr,
        filter_rd_pj_bit=f_rd,
        filter_wr_pj_bit=f_wr,
        ofmap_rd_pj_bit=o_rd,
        ofmap_wr_pj_bit=o_wr,
        dram_pj_bit=tech.dram_pj_per_bit,
        leak_pj_per_cycle=leak,
        bw_bytes_per_cycle=hw.dram_bw_bytes_per_cycle,
        serial=hw.memory_timing == "serial",
    )
