"""The PE-array engine: vectorized latency / energy model of a PE array with three operand buffers.

One call prices every candidate mapping of one GEMM at once: arrays over dataflows (D), loop
orders (O) and tile triples (T), combined by broadcasting into ``(D, O, T)`` arrays (no Python
loop per mapping). Pricing a single mapping (:meth:`ArrayEngine.evaluate`) runs the same code
on a one-candidate set, so its :class:`Cost` equals the search's bit for bit.

The model, one private module per part (each module's docstring states its part):

- :mod:`analytical_models._consts`: per-hardware scalars (:class:`HwConsts`, cached per
  :class:`Hardware`).
- :mod:`analytical_models._tiles`: tile candidates, which tiles fit the (double-buffered)
  buffers, and their per-tile statistics.
- :mod:`analytical_models._timing`: per-fold timing of each dataflow (SCALE-Sim).
- :mod:`analytical_models._stage`: timing and traffic of a candidate set (folds, DRAM
  refetches per loop order, SRAM accesses).
- :mod:`analytical_models._serial`: the serial memory timing (``memory_timing="serial"``).
- :mod:`analytical_models._shaping`: tensor-shaping overhead of engines that cannot reshape
  on the fly.
- :mod:`analytical_models._cost`: stalls, energy and :class:`Cost`.
- :mod:`analytical_models._search`: the mapping search (pruning, best, Pareto set), kept apart
  from the cost model.

:class:`ArrayEngine` ties them together; the shipped engines (:mod:`analytical_models.systolic`,
:mod:`analytical_models.contraction_engine`) subclass it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from analytical_models._consts import HwConsts, hw_consts
from analytical_models._cost import Components, components, to_costs
from analytical_models._pinned import NestSpans, PinnedNest, pinned_nest
from analytical_models._registry import MappingResult, Objective
from analytical_models._search import search_mappings, search_pinned
from analytical_models._serial import serial_parts
from analytical_models._shaping import NO_SHAPING, Shaping, buffer_shaping
from analytical_models._stage import _ORDER_INDEX, Stage, stage
from analytical_models._types import DATAFLOWS, NESTS, Cost, Gemm, Hardware, Mapping, ModelInputError


@lru_cache(maxsize=64)
def _canonical_dataflows(dataflows: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(d for d in DATAFLOWS if d in dataflows)


class ArrayEngine:
    """A PE array with ifmap / filter / ofmap buffers, priced by the model of this package.

    Subclasses set :attr:`name`, whether tensor shaping is free, and which dataflows a mapping
    may use on a given hardware.
    """

    name: str = "array"
    shaping_free: bool = False
    compulsory_traffic_bound: bool = True
    """Every GEMM priced on it reads both operands from and writes the result to DRAM at least
    once through one shared port (``memory_timing="overlapped"``): its cycles are never below
    those bytes over ``dram_bw_bytes_per_cycle``, nor its energy below their DRAM energy plus the
    MAC energy. The contraction-path DP uses this as a lower bound (an engine without the
    attribute gets the MAC bound only)."""
    knobs: tuple[tuple[str, int], ...] = ()
    """Hardware fields this template adds, with their default: ``(("aux_rows", 8), ...)``. A
    search space suggests them only when it picks this engine."""

    def dataflows_for(self, hw: Hardware) -> tuple[str, ...]:
        """Dataflows the mapping search may pick on ``hw``, in :data:`DATAFLOWS` order."""
        return _canonical_dataflows(hw.dataflows)

    def array_view(self, hw: Hardware) -> Hardware:
        """The single array a GEMM fed from DRAM runs on (``hw`` itself for a plain array)."""
        return hw

    def core_array(self, hw: Hardware) -> Hardware | None:
        """The array batch-independent core merges run on, when the template has one of its own
        (None: the main array)."""
        return None

    def engines(self, hw: Hardware) -> int:
        """Identical engines a fused step may spread over or pipeline across (1: one array)."""
        return 1

    def network_pj_per_bit(self, hw: Hardware) -> float:
        """Energy of every operand bit read from a buffer crossing a distribution network
        between the buffers and the PEs beyond the model's SRAM energy (0: none), in pJ."""
        return 0.0

    def shaping(self, gemm: Gemm, hw: Hardware) -> Shaping:
        """Tensor-shaping overhead of ``gemm`` on ``hw``."""
        return NO_SHAPING if self.shaping_free else buffer_shaping(gemm, hw)

    def _check_dataflow(self, hw: Hardware, mapping: Mapping) -> None:
        if mapping.dataflow not in self.dataflows_for(hw):
            raise ModelInputError(
                f"dataflow {mapping.dataflow!r} not supported by {self.name} on this hardware; "
                f"expected one of {self.dataflows_for(hw)}"
            )
        if mapping.nest not in NESTS:
            raise ModelInputError(f"nest must be one of {NESTS}, got {mapping.nest!r}")

    def pinned(self, gemm: Gemm, hw: Hardware, dataflow: str) -> PinnedNest:
        """SCALE-Sim's own loop nest for ``gemm`` on the array of ``hw`` with ``dataflow``
        (:mod:`analytical_models._pinned`), with this engine's tensor shaping.

        Raises:
            ModelInputError: a dataflow the engine cannot run on ``hw``.
        """
        hw = self.array_view(hw)
        self._check_dataflow(hw, Mapping(dataflow=dataflow, tile_m=1, tile_n=1, tile_k=1))
        return pinned_nest(gemm, hw, dataflow, self.shaping(gemm, hw))

    def _components_one(self, gemm: Gemm, hw: Hardware, mapping: Mapping) -> tuple[Components, HwConsts, Shaping]:
        st, c, shaping = self._stage_one(gemm, hw, mapping)
        zero = np.zeros(1, dtype=np.int64)
        return components(st, gemm, c, shaping, zero, zero, zero), c, shaping

    def _stage_one(self, gemm: Gemm, hw: Hardware, mapping: Mapping) -> tuple[Stage, HwConsts, Shaping]:
        self._check_dataflow(hw, mapping)
        order = _ORDER_INDEX.get(mapping.loop_order)
        if order is None:
            raise ModelInputError(f"loop_order must be a permutation of 'mnk', got {mapping.loop_order!r}")
        tiles = (mapping.tile_m, mapping.tile_n, mapping.tile_k)
        if min(tiles) < 1:
            raise ModelInputError(f"tile sizes must be >= 1, got {tiles}")
        tm = min(mapping.tile_m, gemm.m)
        tn = min(mapping.tile_n, gemm.n)
        tk = min(mapping.tile_k, gemm.k)
        c = hw_consts(hw)
        if tm * tk * c.bytes_per_el > c.cap_a_bytes or tk * tn * c.bytes_per_el > c.cap_b_bytes:
            raise ModelInputError(
                f"tile ({tm}, {tn}, {tk}) does not fit half of the ifmap / filter buffers "
                f"({hw.ifmap_sram_kb} / {hw.filter_sram_kb} kB, double-buffered)"
            )
        shaping = self.shaping(gemm, hw)
        st = stage(
            gemm,
            c,
            (mapping.dataflow,),
            np.array([[tm], [tn], [tk]], dtype=np.int64),
            np.array([order], dtype=np.int64),
        )
        return st, c, shaping

    def evaluate(self, gemm: Gemm, hw: Hardware, mapping: Mapping) -> Cost:
        """Price one mapping (tiles larger than a dimension are clipped to it).

        Runs the same code as :meth:`search` on a one-candidate set, so the result equals
        the search's cost for that mapping exactly. A ``nest="scalesim"`` mapping is priced
        as SCALE-Sim's own loop nest (:meth:`pinned`; its tiles and loop order are ignored).

        Raises:
            ModelInputError: unsupported dataflow or loop order, tile < 1, or an A / B tile
                that does not fit half its buffer.
        """
        if mapping.nest == "scalesim":
            return self.pinned(gemm, hw, mapping.dataflow).cost
        hw = self.array_view(hw)
        comp, c, shaping = self._components_one(gemm, hw, mapping)
        return to_costs(comp, gemm, c, shaping)[0]

    def access_bytes(self, gemm: Gemm, hw: Hardware, mapping: Mapping) -> dict[str, float]:
        """Bytes read and written per memory level for one mapping, shaping included.

        Keys: ``{ifmap,filter,ofmap,dram}_{rd,wr}_bytes``.
        """
        if mapping.nest == "scalesim":
            return dict(self.pinned(gemm, hw, mapping.dataflow).access_bytes)
        comp, _, _ = self._components_one(gemm, self.array_view(hw), mapping)
        return {
            f"{name}_bytes": float(getattr(comp, name)[0])
            for name in (
                "ifmap_rd",
                "ifmap_wr",
                "filter_rd",
                "filter_wr",
                "ofmap_rd",
                "ofmap_wr",
                "dram_rd",
                "dram_wr",
            )
        }

    def spans(self, gemm: Gemm, hw: Hardware, mapping: Mapping) -> NestSpans:
        """Where one mapping's cycles go: DRAM prefetch before compute, the compute window, the
        drain tail after it (their sum is the cost's cycles without shaping).

        Tiled mappings: overlapped timing, the first tile's A and B loads and the last C tile's
        store (the exposed transfers) around the window; serial timing, the load before compute
        and the writes after the window (:func:`analytical_models._serial.serial_spans`). The
        ``scalesim`` nest: its own spans (SCALE-Sim's under the serial timing).
        """
        if mapping.nest == "scalesim":
            return self.pinned(gemm, hw, mapping.dataflow).spans
        hw = self.array_view(hw)
        st, c, shaping = self._stage_one(gemm, hw, mapping)
        comp = components(st, gemm, c, shaping, *(np.zeros(1, dtype=np.int64),) * 3)
        cf = float(comp.compute[0] + comp.fill[0])
        stall = float(comp.stall[0])
        if st.serial is not None:
            psum = float(st.psum[0, 0, 0])
            wr = gemm.batch * gemm.m * gemm.n * c.bytes_per_el + psum
            a_dram, b_dram = float(st.a_dram[0, 0, 0]), float(st.b_dram[0, 0, 0])
            parts = serial_parts(a_dram, b_dram, psum, wr, *st.serial.at(0, 0), cf, c)
            load, end_w, end_r = (float(x) for x in parts)
            window = max(cf, end_r)
            return NestSpans(load, window, max(end_w, end_r) - window)
        tm, tn, tk = min(mapping.tile_m, gemm.m), min(mapping.tile_n, gemm.n), min(mapping.tile_k, gemm.k)
        first = (tm * tk + tk * tn) * c.bytes_per_el / c.bw_bytes_per_cycle
        last = tm * tn * c.bytes_per_el / c.bw_bytes_per_cycle
        return NestSpans(first, cf + max(0.0, stall - first - last), last)

    def search(self, gemm: Gemm, hw: Hardware, objective: Objective = "latency") -> MappingResult:
        """Price every dataflow x loop order x tile triple and pick the best.

        Ties on the objective are broken by the other of (cycles, energy), then by enumeration
        order (dataflow order of :meth:`dataflows_for`, loop order as in ``LOOP_ORDERS``,
        tiles ascending m-major). The Pareto set is in (cycles, energy_pj), best objective
        first. ``n_evaluated`` counts the whole grid. The search itself (pruning, selection)
        is :func:`analytical_models._search.search_mappings`. With ``hw.mapping ==
        "scalesim"`` only SCALE-Sim's own loop nest of each dataflow is priced
        (:func:`analytical_models._search.search_pinned`).

        Raises:
            ModelInputError: unknown objective, or no tile fits the buffers.
        """
        hw = self.array_view(hw)
        if hw.mapping == "scalesim":
            return search_pinned(gemm, hw, objective, self.dataflows_for(hw), self.shaping(gemm, hw))
        return search_mappings(gemm, hw, objective, self.dataflows_for(hw), self.shaping(gemm, hw))

    def search_best(self, gemm: Gemm, hw: Hardware, objective: Objective = "latency") -> MappingResult:
        """:meth:`search`'s best mapping and cost (the same, bit for bit) without the Pareto set
        (``pareto`` empty): fewer tiles are priced and no front is ranked.

        Raises:
            ModelInputError: unknown objective, or no tile fits the buffers.
        """
        hw = self.array_view(hw)
        if hw.mapping == "scalesim":  # one nest per dataflow: nothing to save
            return self.search(gemm, hw, objective)._replace(pareto=())
        return search_mappings(gemm, hw, objective, self.dataflows_for(hw), self.shaping(gemm, hw), pareto=False)
