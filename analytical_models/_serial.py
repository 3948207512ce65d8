"""Serial memory timing (``Hardware.memory_timing == "serial"``).

An accelerator like SCALE-Sim v3's bandwidth-limited USER mode: one DRAM port per operand at
``bw`` each and no overlap, ``stall = load + drain`` (``exposed`` unused) with

* ``load = max(A_port, B_port) / bw``: both read ports in parallel, each operand's whole
  traffic (refetches included) before compute. Operands are fetched padded to whole folds:
  the DRAM bytes of A (resp. B) are scaled by ``F[x] * W / x`` for its padded dimension ``x``
  on array side ``W`` (``F[x]`` = folds of ``x`` on ``W`` summed over its tiles, i.e.
  ``sum ceil(t_x / W)``): WS A: K on R, B: N on C; IS A: M on C, B: K on R; OS A: M on R,
  B: N on C (SCALE-Sim's padding, e.g. WS ``A_pad = M * ceil(K/R) * R`` untiled). The scale is
  exact whenever every tile of ``x`` is fetched equally often (always for an untiled
  mapping); otherwise it is the tile-averaged padding.
* ``drain = C_port / bw``: WS / IS write every row fold's M x N partial result, at ``bits``,
  ``C_port = batch * M * N * F[K] * bytes_per_element`` (``F[K] = sum over K tiles of
  ceil(tile_k / R)``; untiled: SCALE-Sim's ``M * N * ceil(K/R)``), in place of the model's
  partial-sum spills; OS writes the result once plus the model's partial-sum round trips,
  ``C_port = dram_write_bytes + psum`` (untiled: ``M * N``).

So ``cycles = load + compute + fill_drain + drain + shaping``; SCALE-Sim's "Total Cycles
(incl. prefetch)" with the operands on chip is the same up to its rounding (``ceil`` of each
transfer, -2 cycles). Only the timing differs between the modes; traffic and access energies
are the overlapped model's. The search's pruning (:func:`analytical_models._search.screen`) is
off in serial mode.
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


def serial_stall(
    a_dram: FloatArray | float,
    b_dram: FloatArray | float,
    psum: FloatArray | float,
    wr: FloatArray | float,
    pad_a: FloatArray | float,
    pad_b: FloatArray | float,
    c_fold_wr: FloatArray | float,
    c_model: FloatArray | float,
    bw: float,
) -> FloatArray:
    """Serial-mode stall ``load + drain``: the one formula of the grid, the single mapping
    and the picked-candidate fast path (arrays or Python floats; the same IEEE operations).

    ``wr`` is the model's DRAM write bytes (result + partial sums), ``psum`` its partial-sum
    bytes each way.
    """
    load = np.maximum(a_dram * pad_a, b_dram * pad_b) / bw
    drain = (c_fold_wr + c_model * (wr + psum)) / bw
    out: FloatArray = np.asarray(load + drain)
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
