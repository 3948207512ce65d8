"""Serial memory timing (``Hardware.memory_timing == "serial"``).

An accelerator like SCALE-Sim v3's bandwidth-limited USER mode: one DRAM port per operand at
``bw`` each; the read SRAMs load before compute and refill during it, the ofmap SRAM drains a
half-buffer at a time during compute and the rest after it (``exposed`` unused). With ``CF``
the compute and fill/drain cycles and ``cap_*`` the half buffers (bytes):

* ``load = max(min(A_port, cap_a), min(B_port, cap_b)) / bw``: both read ports in parallel,
  each filling (at most) its half buffer before compute; the rest of each operand's traffic
  streams in during compute and ends at ``end_r = max(A_dram - cap_a, B_dram - cap_b) / bw``
  after compute starts. Operands are fetched padded to whole folds:
  the DRAM bytes of A (resp. B) are scaled by ``F[x] * W / x`` for its padded dimension ``x``
  on array side ``W`` (``F[x]`` = folds of ``x`` on ``W`` summed over its tiles, i.e.
  ``sum ceil(t_x / W)``): WS A: K on R, B: N on C; IS A: M on C, B: K on R; OS A: M on R,
  B: N on C (SCALE-Sim's padding, e.g. WS ``A_pad = M * ceil(K/R) * R`` untiled). The scale is
  exact whenever every tile of ``x`` is fetched equally often (always for an untiled
  mapping); otherwise it is the tile-averaged padding.
* the ofmap port writes ``W = C_port`` bytes: WS / IS every row fold's M x N partial result,
  at ``bits``, ``C_port = batch * M * N * F[K] * bytes_per_element`` (``F[K] = sum over K tiles
  of ceil(tile_k / R)``; untiled: SCALE-Sim's ``M * N * ceil(K/R)``), in place of the model's
  partial-sum spills; OS the result once plus the model's partial-sum round trips,
  ``C_port = dram_write_bytes + psum`` (untiled: ``M * N``). The array produces them evenly
  over ``CF``; with ``D = cap_c``: when ``W <= D`` all drain after compute,
  ``end_w = CF + W / bw``; otherwise the ``Kc = ceil(W/D) - 1`` full half-buffers drain
  during compute, each as soon as it is full and the port is free, and the last ``r = W - Kc D``
  bytes after compute, beside a drain still running (as SCALE-Sim drains):
  ``end_w = max(CF + r / bw, Kc D CF / W + D / bw, D CF / W + Kc D / bw)`` (the last
  remainder; the last full half-buffer when the port keeps up; every full half-buffer back to
  back from the first when it does not).

So ``cycles = load + max(end_w, end_r) + shaping`` (``stall = cycles - CF - shaping``). With
every operand on chip this is ``load + CF + W / bw``, SCALE-Sim's "Total Cycles (incl.
prefetch)" up to its rounding (``ceil`` of each transfer, -2 cycles); with partial sums beyond
the ofmap half buffer it overlaps their drain with compute as SCALE-Sim does (the 8x8 WS
128x256x64 case of issue 13: 43,315.2 cycles, SCALE-Sim 43,314). Only the timing differs
between the modes; traffic and access energies are the overlapped model's. The search's pruning
(:func:`analytical_models._search.screen`) is off in serial mode.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from analytical_models._arrays import FloatArray
from analytical_models._consts import HwConsts
from analytical_models._timing import GEOMETRY
from analytical_models._types import Gemm


class SerialTerms(NamedTuple):
    """Per-dataflow terms of the serial memory timing (see the module docstring).

    Arrays broadcast against the ``(1, O, T)`` traffic; Python floats for one candidate.
    """

    pad_a: FloatArray
    """Fold-padding scale of A's DRAM bytes on its read port (>= 1)."""
    pad_b: FloatArray
    """Fold-padding scale of B's DRAM bytes on its read port (>= 1)."""
    c_fold_wr: FloatArray
    """WS / IS: bytes of the per-row-fold partial results written to DRAM; OS: 0."""
    c_model: FloatArray
    """OS: 1 (C port carries the model's C traffic, write + partial-sum reads); WS / IS: 0."""

    def at(self, d: int, t: int) -> tuple[float, float, float, float]:
        """The four terms of candidate ``(d, t)`` of a ``(D, 1, T)`` set, as floats."""
        return (
            float(self.pad_a[d, 0, t]),
            float(self.pad_b[d, 0, t]),
            float(self.c_fold_wr[d, 0, t]),
            float(self.c_model[d, 0, 0]),
        )


def serial_parts(
    a_dram: FloatArray | float,
    b_dram: FloatArray | float,
    psum: FloatArray | float,
    wr: FloatArray | float,
    pad_a: FloatArray | float,
    pad_b: FloatArray | float,
    c_fold_wr: FloatArray | float,
    c_model: FloatArray | float,
    cf: FloatArray | float,
    c: HwConsts,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(load, end_w, end_r)`` of the serial timing (see the module docstring): the load before
    compute, and the ends of the ofmap writes and of the remaining reads after compute starts.

    ``wr`` is the model's DRAM write bytes (result + partial sums), ``psum`` its partial-sum
    bytes each way, ``cf`` the compute and fill/drain cycles. Arrays or Python floats (the same
    IEEE operations either way).
    """
    bw = c.bw_bytes_per_cycle
    cap_a, cap_b, d = c.cap_a_bytes, c.cap_b_bytes, c.cap_c_bytes
    load = np.maximum(np.minimum(a_dram * pad_a, cap_a), np.minimum(b_dram * pad_b, cap_b)) / bw
    w = c_fold_wr + c_model * (wr + psum)
    full = np.ceil(w / d) - 1.0
    r = w - full * d
    spread = np.maximum(cf + np.maximum(r, d - cf * bw * r / w) / bw, d * cf / w + (w - r) / bw)
    end_w: FloatArray = np.asarray(np.where(w <= d, cf + w / bw, spread))
    end_r: FloatArray = np.asarray(np.maximum(a_dram - cap_a, b_dram - cap_b) / bw)
    return np.asarray(load), end_w, end_r


def serial_stall(
    a_dram: FloatArray | float,
    b_dram: FloatArray | float,
    psum: FloatArray | float,
    wr: FloatArray | float,
    pad_a: FloatArray | float,
    pad_b: FloatArray | float,
    c_fold_wr: FloatArray | float,
    c_model: FloatArray | float,
    cf: FloatArray | float,
    c: HwConsts,
) -> FloatArray:
    """Serial-mode stall ``load + max(end_w, end_r) - CF``: the one formula of the grid, the
    single mapping and the picked-candidate fast path (arrays or Python floats; the same IEEE
    operations)."""
    load, end_w, end_r = serial_parts(a_dram, b_dram, psum, wr, pad_a, pad_b, c_fold_wr, c_model, cf, c)
    out: FloatArray = np.asarray(load + np.maximum(end_w, end_r) - cf)
    return out


# Serial timing: (array side 0 = rows / 1 = columns) of the padded dimension of A and of B.
_PAD_SIDES: dict[str, tuple[int, int]] = {"ws": (0, 1), "is": (1, 0), "os": (0, 1)}


def _serial_terms(
    gemm: Gemm, c: HwConsts, dataflows: tuple[str, ...], reuse: FloatArray, c_acc: FloatArray
) -> SerialTerms:
    """:class:`SerialTerms` ``(D, T)`` from the fold sums ``reuse[side, dim]`` of stage_modes."""
    dims = (gemm.m, gemm.n, gemm.k)
    widths = (c.rows, c.cols)
    pads = []
    for operand in (0, 1):
        rows = []
        for d in dataflows:
            side = _PAD_SIDES[d][operand]
            x = GEOMETRY[d][side]
            rows.append(reuse[side, x] * float(widths[side]) / float(dims[x]))
        pads.append(np.stack(rows))
    per_fold = np.array([[0.0 if d == "os" else 1.0] for d in dataflows])
    # c_acc = batch * M * N * (row folds of K summed over the K tiles) for WS / IS.
    return SerialTerms(pads[0], pads[1], c_acc * (per_fold * c.bytes_per_el), 1.0 - per_fold)
