"""From the timing and traffic of a candidate set to cycles, energy and :class:`Cost`.

Stalls (first order, double buffering): loads overlap compute except the first tile's A and B
and the last C tile, so ``stall = max(exposed, dram_bytes / bw - (compute + fill_drain))``,
i.e. latency ``= max(compute + fill_drain + exposed, dram_bytes / bw) + shaping``, where
``exposed = (tile_m*tile_k + tile_k*tile_n + tile_m*tile_n) * bytes_per_element / bw``.
Serial memory timing replaces the stall (load, then compute with the partial sums draining
beside it): :mod:`analytical_models._serial`.

Energy: ``macs * mac_pj(bits)`` + per buffer (bits read x read pJ/bit + bits written x write
pJ/bit at that buffer's size) + DRAM bits x pJ/bit + leakage power x latency. Tensor shaping
(:mod:`analytical_models._shaping`) adds its cycles, traffic and energy.

Three ways to the same numbers: :func:`grid_objectives` (cycles and energy of the whole
``(D, O, T)`` grid, for the search), :func:`components` / :func:`to_costs` (every cost field of
picked candidates, numpy) and :func:`picked_costs` (the same in Python floats, the same IEEE
operations in the same order).
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import numpy as np

from analytical_models._arrays import FloatArray, IntArray
from analytical_models._consts import HwConsts
from analytical_models._serial import SerialTerms, serial_stall
from analytical_models._shaping import Shaping, _shaping_energy
from analytical_models._stage import Stage
from analytical_models._types import Cost, Gemm


def _gemm_dram(
    gemm: Gemm, c: HwConsts, a_dram: FloatArray, b_dram: FloatArray, psum: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """DRAM bytes (read, written) of the GEMM itself, without shaping."""
    return a_dram + b_dram + psum, (gemm.batch * gemm.m * gemm.n * c.bytes_per_el) + psum


def _cycles(
    gemm: Gemm,
    c: HwConsts,
    shaping: Shaping,
    compute: FloatArray,
    fill: FloatArray,
    a_dram: FloatArray,
    b_dram: FloatArray,
    psum: FloatArray,
    exposed: FloatArray,
    serial: SerialTerms | None = None,
) -> tuple[FloatArray, FloatArray]:
    """``(stall, total cycles)``; the one formula used by both the grid and single mappings
    (:func:`picked_costs` repeats it on Python floats)."""
    rd, wr = _gemm_dram(gemm, c, a_dram, b_dram, psum)
    if serial is not None:
        stall = serial_stall(a_dram, b_dram, psum, wr, *serial, compute + fill, c)
        return stall, compute + fill + stall + shaping.cycles
    stall = np.maximum(exposed, (rd + wr) / c.bw_bytes_per_cycle - (compute + fill))
    return stall, compute + fill + stall + shaping.cycles


def grid_objectives(st: Stage, gemm: Gemm, c: HwConsts, shaping: Shaping) -> tuple[FloatArray, FloatArray]:
    """``(cycles, energy_pj)`` of every candidate, shape ``(D, O, T)``.

    The energy is the same sum as :attr:`Cost.energy_pj`, factored into a ``(D, 1, T)`` and a
    ``(1, O, T)`` part to keep full-size operations few (it may differ in the last ulp).
    """
    _, cycles = _cycles(
        gemm,
        c,
        shaping,
        st.compute,
        st.fill,
        st.a_dram,
        st.b_dram,
        st.psum,
        st.exposed,
        st.serial,
    )
    acc8 = 8.0 * c.acc_bytes
    mn = gemm.batch * gemm.m * gemm.n
    e_dt = (
        gemm.macs * c.mac_pj
        + st.a_rd * (8.0 * c.ifmap_rd_pj_bit)
        + st.b_rd * (8.0 * c.filter_rd_pj_bit)
        + (st.c_acc - mn) * (acc8 * c.ofmap_rd_pj_bit)
        + st.c_acc * (acc8 * c.ofmap_wr_pj_bit)
    )
    rd, wr = _gemm_dram(gemm, c, st.a_dram, st.b_dram, st.psum)
    e_ot = (
        st.a_dram * (8.0 * c.ifmap_wr_pj_bit)
        + st.b_dram * (8.0 * c.filter_wr_pj_bit)
        + wr * (8.0 * c.ofmap_rd_pj_bit)
        + st.psum * (8.0 * c.ofmap_wr_pj_bit)
        + (rd + wr) * (8.0 * c.dram_pj_bit)
    )
    e_fixed = _shaping_energy(c, shaping)
    energy = (e_dt + e_fixed) + e_ot + cycles * c.leak_pj_per_cycle
    return cycles, energy


class Components(NamedTuple):
    """All cost fields of picked candidates, 1-D arrays (bytes, cycles, pJ)."""

    compute: FloatArray
    fill: FloatArray
    stall: FloatArray
    ifmap_rd: FloatArray
    ifmap_wr: FloatArray
    filter_rd: FloatArray
    filter_wr: FloatArray
    ofmap_rd: FloatArray
    ofmap_wr: FloatArray
    dram_rd: FloatArray
    dram_wr: FloatArray
    ifmap_e: FloatArray
    filter_e: FloatArray
    ofmap_e: FloatArray
    dram_e: FloatArray
    leak_e: FloatArray


def components(
    st: Stage, gemm: Gemm, c: HwConsts, shaping: Shaping, d: IntArray, o: IntArray, t: IntArray
) -> Components:
    """Every cost field of the candidates at index arrays ``(d, o, t)`` of ``st``."""
    compute, fill = st.compute[d, 0, t], st.fill[d, o, t]
    a_rd, b_rd, c_acc = st.a_rd[d, o, t], st.b_rd[d, o, t], st.c_acc[d, o, t]
    a_dram, b_dram, psum = st.a_dram[0, o, t], st.b_dram[0, o, t], st.psum[0, o, t]
    sr = st.serial
    stall, cycles = _cycles(
        gemm,
        c,
        shaping,
        compute,
        fill,
        a_dram,
        b_dram,
        psum,
        st.exposed[0, 0, t],
        None
        if sr is None
        else SerialTerms(sr.pad_a[d, 0, t], sr.pad_b[d, 0, t], sr.c_fold_wr[d, 0, t], sr.c_model[d, 0, 0]),
    )
    g_rd, g_wr = _gemm_dram(gemm, c, a_dram, b_dram, psum)
    mn = gemm.batch * gemm.m * gemm.n
    ifmap_rd = a_rd + shaping.ifmap_rd_bytes
    ifmap_wr = a_dram + shaping.ifmap_wr_bytes
    filter_rd = b_rd + shaping.filter_rd_bytes
    filter_wr = b_dram + shaping.filter_wr_bytes
    ofmap_rd = (c_acc - mn) * c.acc_bytes + g_wr + shaping.ofmap_rd_bytes
    ofmap_wr = c_acc * c.acc_bytes + psum + shaping.ofmap_wr_bytes
    dram_rd = g_rd + shaping.dram_rd_bytes
    dram_wr = g_wr + shaping.dram_wr_bytes
    return Components(
        compute=compute,
        fill=fill,
        stall=stall,
        ifmap_rd=ifmap_rd,
        ifmap_wr=ifmap_wr,
        filter_rd=filter_rd,
        filter_wr=filter_wr,
        ofmap_rd=ofmap_rd,
        ofmap_wr=ofmap_wr,
        dram_rd=dram_rd,
        dram_wr=dram_wr,
        ifmap_e=buffer_pj(ifmap_rd, ifmap_wr, c.ifmap_rd_pj_bit, c.ifmap_wr_pj_bit),
        filter_e=buffer_pj(filter_rd, filter_wr, c.filter_rd_pj_bit, c.filter_wr_pj_bit),
        ofmap_e=buffer_pj(ofmap_rd, ofmap_wr, c.ofmap_rd_pj_bit, c.ofmap_wr_pj_bit),
        dram_e=8.0 * (dram_rd + dram_wr) * c.dram_pj_bit,
        leak_e=cycles * c.leak_pj_per_cycle,
    )


Bytes = TypeVar("Bytes", float, FloatArray)


def buffer_pj(rd: Bytes, wr: Bytes, rd_pj_bit: float, wr_pj_bit: float) -> Bytes:
    """Energy (pJ) of ``rd`` bytes read and ``wr`` written at a buffer of these pJ per bit
    (floats or arrays: the same operations, so the grid and a single cost agree bit for bit)."""
    return 8.0 * (rd * rd_pj_bit + wr * wr_pj_bit)


def to_costs(comp: Components, gemm: Gemm, c: HwConsts, shaping: Shaping) -> list[Cost]:
    """One :class:`Cost` per picked candidate."""
    cols = {name: getattr(comp, name).tolist() for name in Components._fields}
    mac_e = gemm.macs * c.mac_pj
    busy = gemm.macs / c.n_pes
    return [
        Cost(
            macs=gemm.macs,
            compute_cycles=cols["compute"][i],
            fill_drain_cycles=cols["fill"][i],
            stall_cycles=cols["stall"][i],
            shaping_cycles=shaping.cycles,
            mac_energy_pj=mac_e,
            ifmap_sram_energy_pj=cols["ifmap_e"][i],
            filter_sram_energy_pj=cols["filter_e"][i],
            ofmap_sram_energy_pj=cols["ofmap_e"][i],
            dram_energy_pj=cols["dram_e"][i],
            leakage_energy_pj=cols["leak_e"][i],
            dram_read_bytes=cols["dram_rd"][i],
            dram_write_bytes=cols["dram_wr"][i],
            sram_read_bytes=cols["ifmap_rd"][i] + cols["filter_rd"][i] + cols["ofmap_rd"][i],
            sram_write_bytes=cols["ifmap_wr"][i] + cols["filter_wr"][i] + cols["ofmap_wr"][i],
            pe_busy_cycles=busy,
        )
        for i in range(len(cols["compute"]))
    ]


def picked_costs(
    st: Stage,
    gemm: Gemm,
    c: HwConsts,
    shaping: Shaping,
    d: list[int],
    o: list[int],
    t: list[int],
) -> list[Cost]:
    """:func:`to_costs` of :func:`components` for a few picked candidates, in Python floats.

    The same IEEE operations in the same order as the numpy path (so the same bits), without
    numpy's per-call overhead, which dominates for the handful of candidates a search returns.
    """
    return [
        terms_cost(
            gemm,
            c,
            shaping,
            (
                float(st.compute[di, 0, ti]),
                float(st.fill[di, oi, ti]),
                float(st.a_rd[di, oi, ti]),
                float(st.b_rd[di, oi, ti]),
                float(st.c_acc[di, oi, ti]),
                float(st.a_dram[0, oi, ti]),
                float(st.b_dram[0, oi, ti]),
                float(st.psum[0, oi, ti]),
                float(st.exposed[0, 0, ti]),
            ),
            st.serial.at(di, ti) if st.serial is not None else None,
        )
        for di, oi, ti in zip(d, o, t, strict=True)
    ]


def terms_cost(
    gemm: Gemm,
    c: HwConsts,
    sh: Shaping,
    terms: tuple[float, float, float, float, float, float, float, float, float],
    serial: tuple[float, float, float, float] | None = None,
) -> Cost:
    """The :class:`Cost` of one candidate from its stage terms ``(compute, fill, a_rd, b_rd,
    c_acc, a_dram, b_dram, psum, exposed)`` (cycles and bytes, :class:`Stage`'s fields at the
    candidate) and, under the serial timing, its :meth:`SerialTerms.at`: the operations of
    :func:`to_costs` of :func:`components`, in Python floats."""
    compute, fill, a_rd, b_rd, c_acc, a_dram, b_dram, psum, exposed = terms
    mn = gemm.batch * gemm.m * gemm.n
    wr = mn * c.bytes_per_el + psum
    rd = a_dram + b_dram + psum
    if serial is None:
        stall = max(exposed, (rd + wr) / c.bw_bytes_per_cycle - (compute + fill))
    else:
        stall = float(serial_stall(a_dram, b_dram, psum, wr, *serial, compute + fill, c))
    cycles = compute + fill + stall + sh.cycles
    return level_cost(
        c,
        gemm.macs,
        (compute, fill, stall, sh.cycles),
        cycles,
        gemm.macs * c.mac_pj,
        gemm.macs / c.n_pes,
        (
            a_rd + sh.ifmap_rd_bytes,
            a_dram + sh.ifmap_wr_bytes,
            b_rd + sh.filter_rd_bytes,
            b_dram + sh.filter_wr_bytes,
            (c_acc - mn) * c.acc_bytes + wr + sh.ofmap_rd_bytes,
            c_acc * c.acc_bytes + psum + sh.ofmap_wr_bytes,
            rd + sh.dram_rd_bytes,
            wr + sh.dram_wr_bytes,
        ),
    )


def level_cost(
    c: HwConsts,
    macs: int,
    spans: tuple[float, float, float, float],
    cycles: float,
    mac_e: float,
    busy: float,
    levels: tuple[float, float, float, float, float, float, float, float],
) -> Cost:
    """A :class:`Cost` from its cycle parts ``(compute, fill/drain, stall, shaping)``, their
    total ``cycles``, the MAC energy (pJ), the PE-busy cycles, and the bytes read and written at
    each level ``(ifmap rd, wr, filter rd, wr, ofmap rd, wr, DRAM rd, wr)``: energies at the
    hardware's pJ per bit, leakage over ``cycles``."""
    compute, fill, stall, shaping = spans
    ifmap_rd, ifmap_wr, filter_rd, filter_wr, ofmap_rd, ofmap_wr, dram_rd, dram_wr = levels
    return Cost(
        macs=macs,
        compute_cycles=compute,
        fill_drain_cycles=fill,
        stall_cycles=stall,
        shaping_cycles=shaping,
        mac_energy_pj=mac_e,
        ifmap_sram_energy_pj=buffer_pj(ifmap_rd, ifmap_wr, c.ifmap_rd_pj_bit, c.ifmap_wr_pj_bit),
        filter_sram_energy_pj=buffer_pj(filter_rd, filter_wr, c.filter_rd_pj_bit, c.filter_wr_pj_bit),
        ofmap_sram_energy_pj=buffer_pj(ofmap_rd, ofmap_wr, c.ofmap_rd_pj_bit, c.ofmap_wr_pj_bit),
        dram_energy_pj=8.0 * (dram_rd + dram_wr) * c.dram_pj_bit,
        leakage_energy_pj=cycles * c.leak_pj_per_cycle,
        dram_read_bytes=dram_rd,
        dram_write_bytes=dram_wr,
        sram_read_bytes=ifmap_rd + filter_rd + ofmap_rd,
        sram_write_bytes=ifmap_wr + filter_wr + ofmap_wr,
        pe_busy_cycles=busy,
    )
