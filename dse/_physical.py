"""Physical plausibility: warnings (never errors) for hardware that no chip could be.

The analytical model prices any array size, clock and bandwidth; a typo (``pe_rows: 1e9``) or
a space whose ranges run far out then reports a valid-looking design of 20 million mm2. These
checks put one ``warning:`` line on stderr for such a design, and run where a user gives
hardware: ``dse gemm``, ``dse evaluate``, ``dse check`` and ``dse run`` (the space's largest
design). The thresholds are deliberately far beyond today's largest parts:

* :data:`MAX_DIE_AREA_MM2`: the lithography reticle limit of one die, 26 mm x 33 mm;
* :data:`MAX_FREQ_MHZ`: 5 GHz, above any accelerator clock;
* :data:`MAX_DRAM_BW_GB_S`: 10 TB/s, above the HBM3e stacks of the largest 2024 accelerators
  (8 TB/s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analytical_models import Hardware, area_mm2

if TYPE_CHECKING:
    from dse.config import SpaceConfig

MAX_DIE_AREA_MM2 = 26.0 * 33.0
"""858 mm2: the reticle limit, the largest die a lithography scanner exposes."""
MAX_FREQ_MHZ = 5_000.0
"""5 GHz."""
MAX_DRAM_BW_GB_S = 10_000.0
"""10 TB/s of off-chip bandwidth."""


def hardware_warnings(hw: Hardware, area: float | None = None) -> list[str]:
    """Why ``hw`` is not a chip anyone could build (empty when it is plausible).

    Args:
        hw: the accelerator.
        area: its area in mm2 when already known (else computed with its tech profile).
    """
    out: list[str] = []
    mm2 = area_mm2(hw) if area is None else area
    if mm2 > MAX_DIE_AREA_MM2:
        out.append(
            f"area {mm2:,.4g} mm2 is beyond the {MAX_DIE_AREA_MM2:g} mm2 reticle limit of one die "
            f"(pe_rows x pe_cols = {hw.pe_rows:,} x {hw.pe_cols:,}, on-chip SRAM {hw.sram_kb:,.6g} kB)"
        )
    if hw.freq_mhz > MAX_FREQ_MHZ:
        out.append(f"clock {hw.freq_mhz:,.6g} MHz is beyond {MAX_FREQ_MHZ:g} MHz")
    bw_gb_s = hw.dram_bw_bytes_per_cycle * hw.freq_mhz * 1e6 / 1e9
    if bw_gb_s > MAX_DRAM_BW_GB_S:
        out.append(
            f"DRAM bandwidth {bw_gb_s:,.6g} GB/s ({hw.dram_bw_bytes_per_cycle:,.6g} bytes/cycle at "
            f"{hw.freq_mhz:,.6g} MHz) is beyond {MAX_DRAM_BW_GB_S:g} GB/s"
        )
    return out


def space_warnings(space: SpaceConfig) -> list[str]:
    """:func:`hardware_warnings` of the largest design of a search space (every size, buffer,
    clock and bandwidth at its largest value, for each engine and tech profile it allows)."""
    from dse.config import extreme_values, hardware_of

    largest: dict[str, Any] = {}
    for key, spec in space.hardware:
        values = extreme_values(spec)
        largest[key] = max(values) if isinstance(values[0], int | float) else values[0]
    specs = dict(space.hardware)
    candidates = [
        hardware_of({**largest, "engine": engine, "tech": tech})
        for engine in extreme_values(specs["engine"])
        for tech in extreme_values(specs["tech"])
    ]
    biggest = max(candidates, key=area_mm2)
    return [f"{space.source}: the space's largest design: {w}" for w in hardware_warnings(biggest)]
