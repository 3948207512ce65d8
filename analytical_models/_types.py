"""Core value types of the analytical models: hardware, one lowered operation, a mapping, a cost.

All types are frozen, slotted and hashable so they can be used as cache keys. Every field
name carries its unit.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

from analytical_models._frozen import quick_init
from analytical_models._hashing import CachedHash

DATAFLOWS: tuple[str, ...] = ("ws", "os", "is")
"""Dataflows of a systolic array: weight-, output- and input-stationary."""

MEMORY_TIMINGS: tuple[str, ...] = ("overlapped", "serial")
"""DRAM timing models of :attr:`Hardware.memory_timing`."""

MAPPINGS: tuple[str, ...] = ("search", "scalesim")
"""How a GEMM fed from DRAM is mapped (:attr:`Hardware.mapping`)."""

NESTS: tuple[str, ...] = ("tiled", "scalesim")
"""Loop nests of a :class:`Mapping` (:attr:`Mapping.nest`)."""


class ModelInputError(ValueError):
    """An analytical-model input is out of its domain (for example a zero-sized array)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hardware(CachedHash):
    """One accelerator instance.

    Attributes:
        engine: name of the cost model in the engine registry (``systolic``,
            ``contraction_engine``).
        pe_rows: rows of the processing-element array (R).
        pe_cols: columns of the processing-element array (C).
        ifmap_sram_kb: on-chip buffer for operand A (the ifmap), in kB (1 kB = 1024 bytes).
        filter_sram_kb: on-chip buffer for operand B (the filter), in kB.
        ofmap_sram_kb: on-chip buffer for the output C and its partial sums, in kB.
        dram_bw_bytes_per_cycle: off-chip bandwidth in bytes per clock cycle.
        freq_mhz: clock frequency in MHz.
        bits: operand precision in bits (inputs and weights).
        acc_bits: accumulator (partial-sum) precision in bits.
        tech: name of the technology profile (see :func:`analytical_models.get_tech`).
        dataflows: dataflows the array can run; the mapping search picks among them.
        n_engines: identical ``pe_rows x pe_cols`` engines of the main array (``ce_array``: an
            array of contraction engines; 1 for a single array).
        aux_rows: rows of a second, small array for batch-independent core merges (the TT-core
            engine of ``tt_gemm``; 0: none).
        aux_cols: its columns (0 with ``aux_rows``).
        memory_timing: how DRAM transfers are timed against compute.

            * ``"overlapped"`` (default): one shared DRAM port of ``dram_bw_bytes_per_cycle``
              for A, B and C, double-buffered, so transfers overlap compute except the first
              A + B tile and the last C tile:
              ``stall = max(exposed, dram_bytes / bw - (compute + fill_drain))``.
            * ``"serial"``: an accelerator like SCALE-Sim v3 in its bandwidth-limited (USER)
              mode: one DRAM port per operand (A read, B read, C write) of
              ``dram_bw_bytes_per_cycle`` each: the read buffers load (up to half their
              size, the two read ports in parallel) before compute and the rest of A and B
              streams in during it; the ofmap drains half a buffer at a time during compute
              and the rest after it. With every operand on chip: load, then compute, then
              drain, ``stall = max(A_port_bytes, B_port_bytes) / bw + C_port_bytes / bw``.
              A and B are fetched padded to whole folds; for WS / IS every row fold of K
              writes its M x N partial result to DRAM (at ``bits``). Exact definitions in
              :mod:`analytical_models._serial`. Only the timing (and so the leakage energy)
              changes: the reported DRAM / SRAM bytes and access energies are those of the
              overlapped model.
        mapping: how a GEMM fed from DRAM is mapped.

            * ``"search"`` (default): the mapping search picks the dataflow, tiles and loop
              order; SCALE-Sim's own loop nest is one of its candidates, so the result is never
              slower than ``"scalesim"`` under the same memory timing.
            * ``"scalesim"``: SCALE-Sim v3's own loop nest and memory system for the dataflow
              (the best of ``dataflows``): its fold order, its prefetch and sliding SRAM
              windows, its partial-sum traffic (WS / IS write every row fold's partial result
              to DRAM), its tiling under the given SRAM (:mod:`analytical_models._pinned`),
              to compare the model with SCALE-Sim like with like on any GEMM. With
              ``memory_timing="serial"`` the cycles are SCALE-Sim's "Total Cycles (incl.
              prefetch)" exactly; with ``"overlapped"`` the nest's compute window (one cycle
              more than SCALE-Sim's "Total Cycles", which counts from cycle 0) plus the
              overlapped model's DRAM stall.
    """

    engine: str = "systolic"
    pe_rows: int
    pe_cols: int
    ifmap_sram_kb: float
    filter_sram_kb: float
    ofmap_sram_kb: float
    dram_bw_bytes_per_cycle: float
    freq_mhz: float = 500.0
    bits: int = 8
    acc_bits: int = 32
    tech: str = "horowitz45"
    dataflows: tuple[str, ...] = ("ws",)
    memory_timing: str = "overlapped"
    mapping: str = "search"
    n_engines: int = 1
    aux_rows: int = 0
    aux_cols: int = 0

    __hash__ = CachedHash.__hash__

    def __post_init__(self) -> None:
        if self.pe_rows < 1 or self.pe_cols < 1:
            raise ModelInputError(f"PE array must be at least 1x1, got {self.pe_rows}x{self.pe_cols}")
        for name in ("ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb"):
            if not getattr(self, name) > 0:
                raise ModelInputError(f"{name} must be > 0 kB, got {getattr(self, name)}")
        if not self.dram_bw_bytes_per_cycle > 0:
            raise ModelInputError(f"dram_bw_bytes_per_cycle must be > 0, got {self.dram_bw_bytes_per_cycle}")
        if not self.freq_mhz > 0:
            raise ModelInputError(f"freq_mhz must be > 0, got {self.freq_mhz}")
        if self.bits < 1 or self.acc_bits < self.bits:
            raise ModelInputError(f"need 1 <= bits <= acc_bits, got {self.bits}, {self.acc_bits}")
        if not self.dataflows or any(d not in DATAFLOWS for d in self.dataflows):
            raise ModelInputError(f"dataflows must be a non-empty subset of {DATAFLOWS}")
        if self.memory_timing not in MEMORY_TIMINGS:
            raise ModelInputError(f"memory_timing must be one of {MEMORY_TIMINGS}, got {self.memory_timing!r}")
        if self.mapping not in MAPPINGS:
            raise ModelInputError(f"mapping must be one of {MAPPINGS}, got {self.mapping!r}")
        if self.n_engines < 1:
            raise ModelInputError(f"n_engines must be >= 1, got {self.n_engines}")
        if self.aux_rows < 0 or self.aux_cols < 0 or (self.aux_rows == 0) != (self.aux_cols == 0):
            raise ModelInputError(
                f"aux_rows and aux_cols must both be 0 (no TT-core engine) or both >= 1, got "
                f"{self.aux_rows}x{self.aux_cols}"
            )

    @property
    def n_pes(self) -> int:
        """Number of processing elements: every engine of the main array plus the TT-core
        engine (``aux_rows x aux_cols``)."""
        return self.pe_rows * self.pe_cols * self.n_engines + self.aux_rows * self.aux_cols

    @property
    def sram_kb(self) -> float:
        """Total on-chip buffer capacity in kB."""
        return self.ifmap_sram_kb + self.filter_sram_kb + self.ofmap_sram_kb

    @property
    def bytes_per_element(self) -> float:
        """Bytes per operand element."""
        return self.bits / 8.0


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Gemm(CachedHash):
    """One lowered pairwise contraction: ``C[b, m, n] = sum_k A[b, m, k] * B[b, k, n]``.

    A is the ifmap (activation-like operand), B the filter. ``permute_*_elements`` is the
    number of elements of each operand (and of the result) that must be re-laid-out
    (tensor shaping) before / after the GEMM; an engine that reshapes on the fly pays nothing
    for it, a plain systolic array pays a buffer or DRAM round trip.
    """

    m: int
    n: int
    k: int
    batch: int = 1
    permute_a_elements: int = 0
    permute_b_elements: int = 0
    permute_c_elements: int = 0

    __hash__ = CachedHash.__hash__

    def __post_init__(self) -> None:
        if min(self.m, self.n, self.k, self.batch) < 1:
            raise ModelInputError(
                f"GEMM dimensions must be >= 1, got batch={self.batch} m={self.m} n={self.n} k={self.k}"
            )

    @property
    def macs(self) -> int:
        """Multiply-accumulate operations."""
        return self.batch * self.m * self.n * self.k

    @property
    def a_elements(self) -> int:
        """Elements of operand A (batch x m x k)."""
        return self.batch * self.m * self.k

    @property
    def b_elements(self) -> int:
        """Elements of operand B (batch x k x n)."""
        return self.batch * self.k * self.n

    @property
    def c_elements(self) -> int:
        """Elements of the result C (batch x m x n)."""
        return self.batch * self.m * self.n


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Mapping:
    """How one GEMM is run on the array.

    Attributes:
        dataflow: ``ws``, ``os`` or ``is``.
        tile_m: rows of A (and C) resident on chip per tile, in elements.
        tile_n: columns of B (and C) resident on chip per tile, in elements.
        tile_k: reduction depth resident on chip per tile, in elements.
        loop_order: order of the outer tile loops, outermost first, a permutation of ``"mnk"``.
        nest: ``"tiled"`` (the tile loops above, priced by the model's tiling) or
            ``"scalesim"``: SCALE-Sim v3's own loop nest for the dataflow, priced by its closed
            form (:mod:`analytical_models._pinned`); ``loop_order`` is its fold order (column
            folds, row folds, then the streamed dimension) and the tiles its fold-granular
            image (one stationary fold per tile, the streamed dimension in chunks that fit half
            their buffers), which exports build.
    """

    dataflow: str
    tile_m: int
    tile_n: int
    tile_k: int
    loop_order: str = "mnk"
    nest: str = "tiled"


_COST_INT_FIELDS = frozenset({"macs"})


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Cost:
    """Cost of running something (one GEMM, a plan, a whole design) on one hardware.

    Cycles add up to ``cycles``; energies add up to ``energy_pj``. Sums of costs are costs
    (``a + b``), so per-step costs roll up into per-pass, per-layer and per-design totals.
    """

    macs: int = 0
    compute_cycles: float = 0.0
    fill_drain_cycles: float = 0.0
    stall_cycles: float = 0.0
    shaping_cycles: float = 0.0
    mac_energy_pj: float = 0.0
    ifmap_sram_energy_pj: float = 0.0
    filter_sram_energy_pj: float = 0.0
    ofmap_sram_energy_pj: float = 0.0
    dram_energy_pj: float = 0.0
    leakage_energy_pj: float = 0.0
    dram_read_bytes: float = 0.0
    dram_write_bytes: float = 0.0
    sram_read_bytes: float = 0.0
    sram_write_bytes: float = 0.0
    pe_busy_cycles: float = 0.0
    """Sum over steps of (MACs / PEs): the cycles a perfectly used array would need."""

    @property
    def cycles(self) -> float:
        """Total latency in cycles: compute + fill/drain + stall + tensor shaping."""
        return self.compute_cycles + self.fill_drain_cycles + self.stall_cycles + self.shaping_cycles

    @property
    def energy_pj(self) -> float:
        """Total energy in pJ."""
        return (
            self.mac_energy_pj
            + self.ifmap_sram_energy_pj
            + self.filter_sram_energy_pj
            + self.ofmap_sram_energy_pj
            + self.dram_energy_pj
            + self.leakage_energy_pj
        )

    @property
    def dram_bytes(self) -> float:
        """Bytes moved to and from DRAM."""
        return self.dram_read_bytes + self.dram_write_bytes

    @property
    def utilization(self) -> float:
        """Fraction of PE-cycles doing useful MACs, in [0, 1]."""
        total = self.cycles
        return 0.0 if total <= 0 else min(1.0, self.pe_busy_cycles / total)

    def latency_s(self, freq_mhz: float) -> float:
        """Latency in seconds at a clock of ``freq_mhz`` MHz."""
        return self.cycles / (freq_mhz * 1e6)

    def __add__(self, other: Cost) -> Cost:
        if not isinstance(other, Cost):
            return NotImplemented
        return _cost_of(map(operator.add, _cost_values(self), _cost_values(other)))

    def scaled(self, factor: int) -> Cost:
        """The cost of running the same thing ``factor`` times back to back (``self`` itself
        for a factor of 1: every field times 1 is that field)."""
        if type(factor) is int and factor == 1:
            return self
        return _cost_of(value * factor for value in _cost_values(self))

    def energy_breakdown_pj(self) -> dict[str, float]:
        """Energy by component, in pJ."""
        return {
            "mac": self.mac_energy_pj,
            "ifmap_sram": self.ifmap_sram_energy_pj,
            "filter_sram": self.filter_sram_energy_pj,
            "ofmap_sram": self.ofmap_sram_energy_pj,
            "dram": self.dram_energy_pj,
            "leakage": self.leakage_energy_pj,
        }

    def cycle_breakdown(self) -> dict[str, float]:
        """Latency by component, in cycles."""
        return {
            "compute": self.compute_cycles,
            "fill_drain": self.fill_drain_cycles,
            "stall": self.stall_cycles,
            "shaping": self.shaping_cycles,
        }

    def is_finite(self) -> bool:
        """True when no field is NaN or infinite."""
        return all(math.isfinite(float(getattr(self, name))) for name in _COST_FIELDS)


ZERO_COST = Cost()


_COST_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Cost))
"""Names of :class:`Cost`'s fields in order (``dataclasses.fields`` is slow in a hot loop)."""

_cost_values = attrgetter(*_COST_FIELDS)
_COST_SETTERS = tuple(getattr(Cost, name).__set__ for name in _COST_FIELDS)


def _cost_of(values: Iterable[Any]) -> Cost:
    """The :class:`Cost` of ``values`` in field order, set slot by slot (what the frozen
    dataclass's ``__init__`` does, less its keyword handling: sums and scalings of costs are
    made thousands of times per design)."""
    cost: Cost = object.__new__(Cost)
    for put, value in zip(_COST_SETTERS, values, strict=True):
        put(cost, value)
    return cost
