"""Technology profiles: energy per MAC / SRAM access / DRAM bit, leakage and area.

Every shipped number carries its source in a comment. Values between table points are
interpolated log-log (a power law between neighbouring points); outside the table the end
segment's power law is extrapolated. All energies are in pJ, areas in mm2, leakage in mW,
buffer sizes in kB (1 kB = 1024 bytes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from analytical_models._registry_type import Registry
from analytical_models._types import ModelInputError

Table = tuple[tuple[float, float], ...]
"""Sorted ``(x, y)`` points, both strictly positive, interpolated log-log."""


def loglog_interp(table: Table, x: float) -> float:
    """Interpolate ``table`` at ``x`` on log-log axes (power law between neighbouring points).

    Args:
        table: sorted ``(x, y)`` points with ``x, y > 0``; one point means a constant.
        x: query point, ``> 0`` (same unit as the table's x).

    Returns:
        The interpolated y (same unit as the table's y). Outside the table the nearest end
        segment is extrapolated.
    """
    if not x > 0:
        raise ModelInputError(f"interpolation point must be > 0, got {x}")
    if len(table) == 1:
        return table[0][1]
    # Pick the segment: the first whose right end is >= x, clamped to the end segments.
    i = 0
    while i < len(table) - 2 and x > table[i + 1][0]:
        i += 1
    (x0, y0), (x1, y1) = table[i], table[i + 1]
    if x == x0:
        return y0
    if x == x1:
        return y1
    slope = math.log(y1 / y0) / math.log(x1 / x0)
    return y0 * math.exp(slope * math.log(x / x0))


def _scaled(table: Table, factor: float) -> Table:
    return tuple((x, y * factor) for x, y in table)


@dataclass(frozen=True, slots=True, kw_only=True)
class TechProfile:
    """Energy, leakage and area of one technology node.

    Attributes:
        name: registry name (``horowitz45``, ``accelergy45``, ``tpu7nm``).
        source: where the numbers come from, and which are assumptions.
        mac_pj_by_bits: ``(operand bits, pJ per multiply + add)`` points.
        sram_read_pj_per_64b_by_kb: ``(buffer kB, pJ per 64-bit read)`` points.
        sram_write_to_read: write energy / read energy of the same buffer (dimensionless).
        dram_pj_per_bit: off-chip access energy in pJ per bit moved.
        leak_mw_per_pe: leakage power of one PE in mW.
        leak_mw_per_kb: leakage power of one kB of SRAM in mW.
        pe_area_mm2_by_bits: ``(operand bits, mm2 per PE)`` points.
        sram_area_mm2_per_kb: SRAM macro area in mm2 per kB.
    """

    name: str
    source: str
    mac_pj_by_bits: Table
    sram_read_pj_per_64b_by_kb: Table
    sram_write_to_read: float
    dram_pj_per_bit: float
    leak_mw_per_pe: float
    leak_mw_per_kb: float
    pe_area_mm2_by_bits: Table
    sram_area_mm2_per_kb: float

    def mac_pj(self, bits: int) -> float:
        """Energy of one multiply-accumulate at ``bits`` operand bits, in pJ."""
        return loglog_interp(self.mac_pj_by_bits, float(bits))

    def sram_read_pj_per_bit(self, size_kb: float) -> float:
        """Read energy of a ``size_kb`` kB SRAM, in pJ per bit read."""
        return loglog_interp(self.sram_read_pj_per_64b_by_kb, size_kb) / 64.0

    def sram_write_pj_per_bit(self, size_kb: float) -> float:
        """Write energy of a ``size_kb`` kB SRAM, in pJ per bit written."""
        return self.sram_read_pj_per_bit(size_kb) * self.sram_write_to_read

    def pe_area_mm2(self, bits: int) -> float:
        """Area of one PE (multiplier, adder, pipeline registers) at ``bits``, in mm2."""
        return loglog_interp(self.pe_area_mm2_by_bits, float(bits))


# --- Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm.
# Energy: int8 mult 0.2 pJ + int8 add 0.03 pJ; fp16 mult 1.1 + add 0.4; fp32 mult 3.7 + add 0.9.
# The 8-bit point is integer, the 16- and 32-bit points floating point (training precisions).
_H45_MAC: Table = ((8.0, 0.2 + 0.03), (16.0, 1.1 + 0.4), (32.0, 3.7 + 0.9))
# 64-bit SRAM read: 10 pJ at 8 KB, 20 pJ at 32 KB, 100 pJ at 1 MB (same slide).
_H45_SRAM: Table = ((8.0, 10.0), (32.0, 20.0), (1024.0, 100.0))
# DRAM: 1.3-2.6 nJ per 64-bit access; we use the midpoint 1.95 nJ -> 1950 / 64 pJ per bit.
_H45_DRAM_PJ_PER_BIT = 1950.0 / 64.0
# Area (same ISSCC 2014 table, um2): 8b add 36, 8b mult 282; fp16 add 1360, mult 1640;
# fp32 add 4184, mult 7700. ASSUMPTION: a PE is 2x its multiplier + adder (operand and
# partial-sum registers, forwarding muxes, control).
_PE_OVERHEAD = 2.0
_H45_PE_AREA: Table = (
    (8.0, (282.0 + 36.0) * _PE_OVERHEAD * 1e-6),
    (16.0, (1640.0 + 1360.0) * _PE_OVERHEAD * 1e-6),
    (32.0, (7700.0 + 4184.0) * _PE_OVERHEAD * 1e-6),
)
# SRAM area: Intel 45 nm 6T bitcell 0.346 um2 (Mistry et al., IEDM 2007); ASSUMPTION: 50 %
# array efficiency (decoders, sense amps, I/O) -> 8192 bits * 0.346 / 0.5 um2 per kB.
_45_SRAM_MM2_PER_KB = 8192.0 * 0.346 / 0.5 * 1e-6
# ASSUMPTION (no public per-PE figure): 45 nm leakage of 2 uW per PE and 10 uW per kB of SRAM,
# order of magnitude of CACTI 6.5 low-operating-power 45 nm SRAM macros.
_45_LEAK_MW_PER_PE = 0.002
_45_LEAK_MW_PER_KB = 0.010

_HOROWITZ45 = TechProfile(
    name="horowitz45",
    source=(
        "M. Horowitz, 'Computing's energy problem', ISSCC 2014, 45 nm: int8 mult 0.2 pJ, int8 add "
        "0.03 pJ, fp16 1.1+0.4 pJ, fp32 3.7+0.9 pJ; 64-bit SRAM read 10/20/100 pJ at "
        "8 KB/32 KB/1 MB; DRAM 1.95 nJ per 64 bits (midpoint of 1.3-2.6 nJ). Area from the same "
        "table, PE = 2x mult+add (assumption). SRAM area: 0.346 um2 bitcell (Intel 45 nm), 50 % "
        "efficiency (assumption). Leakage: assumption (2 uW/PE, 10 uW/kB)."
    ),
    mac_pj_by_bits=_H45_MAC,
    sram_read_pj_per_64b_by_kb=_H45_SRAM,
    sram_write_to_read=1.0,  # ASSUMPTION: Horowitz gives one energy per access.
    dram_pj_per_bit=_H45_DRAM_PJ_PER_BIT,
    leak_mw_per_pe=_45_LEAK_MW_PER_PE,
    leak_mw_per_kb=_45_LEAK_MW_PER_KB,
    pe_area_mm2_by_bits=_H45_PE_AREA,
    sram_area_mm2_per_kb=_45_SRAM_MM2_PER_KB,
)

# --- Accelergy (Wu et al., ICCAD 2019) with its CACTI / Aladdin 45 nm plug-ins.
# 8-bit MAC 0.315 pJ; other widths scaled with the Horowitz 45 nm width ratios (ASSUMPTION).
_ACC45_MAC: Table = tuple((b, 0.315 * e / _H45_MAC[0][1]) for b, e in _H45_MAC)
# CACTI 128 KB buffer: 32.4 pJ per 64-bit read. The size dependence (one point only) follows the
# Horowitz 45 nm log-log slope (ASSUMPTION): scale that curve so it passes through (128, 32.4).
_ACC45_SRAM: Table = _scaled(_H45_SRAM, 32.4 / loglog_interp(_H45_SRAM, 128.0))
_ACCELERGY45 = TechProfile(
    name="accelergy45",
    source=(
        "Accelergy (Wu et al., ICCAD 2019) 45 nm tables: 8-bit MAC 0.315 pJ (other widths scaled "
        "by Horowitz ratios, assumption); CACTI 128 KB SRAM 32.4 pJ per 64-bit read (size slope "
        "from Horowitz, assumption); LPDDR4 8 pJ/bit. Area and leakage as horowitz45 (same node)."
    ),
    mac_pj_by_bits=_ACC45_MAC,
    sram_read_pj_per_64b_by_kb=_ACC45_SRAM,
    sram_write_to_read=1.0,  # ASSUMPTION: CACTI write energy ~ read energy for small macros.
    dram_pj_per_bit=8.0,  # Accelergy DRAM table, LPDDR4.
    leak_mw_per_pe=_45_LEAK_MW_PER_PE,
    leak_mw_per_kb=_45_LEAK_MW_PER_KB,
    pe_area_mm2_by_bits=_H45_PE_AREA,
    sram_area_mm2_per_kb=_45_SRAM_MM2_PER_KB,
)

# --- 7 nm, derived from the TPUv4i paper (Jouppi et al., ISCA 2021).
# bf16 MAC 0.084 pJ; 8- and 32-bit points scaled with the Horowitz width ratios (ASSUMPTION).
_T7_MAC: Table = tuple((b, 0.084 * e / _H45_MAC[1][1]) for b, e in _H45_MAC)
# ASSUMPTION: SRAM access energy = Horowitz 45 nm x 0.25 (wire-dominated arrays: ~0.45x
# capacitance per access and ~0.56x V^2 from 1.0 V to 0.75 V).
_T7_SRAM: Table = _scaled(_H45_SRAM, 0.25)
# HBM: 450 pJ per 64-bit access (upper end of the TPUv4i table) = 7.03 pJ/bit.
_T7_HBM_PJ_PER_BIT = 450.0 / 64.0
# ASSUMPTION: logic area shrinks 25x from 45 nm to 7 nm (standard-cell density ~3.3 vs
# ~91 MTr/mm2); SRAM: TSMC N7 HD bitcell 0.027 um2 (IEDM 2016), 50 % array efficiency.
_T7_PE_AREA: Table = _scaled(_H45_PE_AREA, 1.0 / 25.0)
_TPU7NM = TechProfile(
    name="tpu7nm",
    source=(
        "TPUv4i-derived 7 nm (Jouppi et al., ISCA 2021): bf16 MAC 0.084 pJ, HBM 7.03 pJ/bit "
        "(450 pJ per 64 bits). Other MAC widths by Horowitz ratios, SRAM = 0.25x Horowitz 45 nm, "
        "PE area = 45 nm / 25, SRAM area from the 0.027 um2 N7 bitcell, leakage 1 uW/PE and "
        "4 uW/kB: all assumptions."
    ),
    mac_pj_by_bits=_T7_MAC,
    sram_read_pj_per_64b_by_kb=_T7_SRAM,
    sram_write_to_read=1.0,
    dram_pj_per_bit=_T7_HBM_PJ_PER_BIT,
    leak_mw_per_pe=0.001,
    leak_mw_per_kb=0.004,
    pe_area_mm2_by_bits=_T7_PE_AREA,
    sram_area_mm2_per_kb=8192.0 * 0.027 / 0.5 * 1e-6,
)

TECHS: Registry[TechProfile] = Registry("technology profile", error=ModelInputError)
"""The technology profiles, by the name ``Hardware.tech`` refers to. Model constants and prices
are cached by that name, so a profile is registered once and never replaced in a running
process."""


def register_tech(profile: TechProfile) -> TechProfile:
    """Make ``profile`` available as ``Hardware(tech=profile.name)``; returns it.

    Raises:
        RegistryError: ``profile.name`` is empty or already registered.
    """
    return TECHS.register(profile.name, profile)


register_tech(_HOROWITZ45)
register_tech(_ACCELERGY45)
register_tech(_TPU7NM)


def get_tech(name: str) -> TechProfile:
    """The technology profile registered as ``name``.

    Raises:
        ModelInputError: no profile is registered as ``name`` (the message lists them).
    """
    return TECHS.get(name)


def tech_names() -> tuple[str, ...]:
    """Names of the registered technology profiles, sorted."""
    return TECHS.names()


@lru_cache(maxsize=4096)
def sram_pj_per_bit(tech: str, size_kb: float) -> tuple[float, float]:
    """``(read, write)`` energy of a ``size_kb`` kB SRAM of ``tech``, in pJ per bit (cached)."""
    profile = get_tech(tech)
    return profile.sram_read_pj_per_bit(size_kb), profile.sram_write_pj_per_bit(size_kb)
