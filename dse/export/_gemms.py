"""Shared helpers of the exporters: the lowered GEMMs of a design, names, rounding.

Every exporter walks the same list: one :class:`LoweredGemm` per contraction step of every
layer and pass of the evaluated design, in evaluation order, named ``<layer>_<pass>_s<i>``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from dse import Design, Metrics, StepRecord


@dataclass(frozen=True, slots=True)
class LoweredGemm:
    """One priced contraction step: ``C[b,m,n] = A[b,m,k] B[b,k,n]`` (A = ifmap, B = filter).

    Attributes:
        name: identifier ``<layer>_<pass>_s<index>`` (only ``[A-Za-z0-9_]``).
        layer: layer name.
        pass_name: pass label (``forward``, ``dx``, ``dg1`` ...).
        index: position of the step in the pass's contraction path.
        count: identical layer instances (the step runs ``count`` times per training step).
        step: the step record (shapes, chosen mapping, cost of one instance).
        dataflow: the step's dataflow, or the hardware's first one when the step has no mapping.
    """

    name: str
    layer: str
    pass_name: str
    index: int
    count: int
    step: StepRecord
    dataflow: str


def ident(text: str) -> str:
    """``text`` as a C / Verilog / Scala identifier: other characters become ``_``."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", text)
    if not out or out[0].isdigit():
        out = "_" + out
    return out


def lowered_gemms(design: Design, metrics: Metrics) -> list[LoweredGemm]:
    """Every lowered contraction step of every layer and pass, in evaluation order."""
    default_df = design.hardware.dataflows[0]
    out: list[LoweredGemm] = []
    for p in metrics.passes:
        for i, s in enumerate(p.steps):
            out.append(
                LoweredGemm(
                    name=ident(f"{p.layer}_{p.pass_name}_s{i}"),
                    layer=p.layer,
                    pass_name=p.pass_name,
                    index=i,
                    count=p.count,
                    step=s,
                    dataflow=s.dataflow or default_df,
                )
            )
    return out


def dominant_dataflow(design: Design, metrics: Metrics) -> tuple[str, str]:
    """The dataflow a single-dataflow target should be built with, and why (one line).

    With one dataflow in the hardware, that one. With several, the dataflow of the step with
    the most cycles (one instance's cycles x the layer count).
    """
    hw = design.hardware
    if len(hw.dataflows) == 1:
        return hw.dataflows[0], f"the hardware runs only {hw.dataflows[0]}"
    gemms = lowered_gemms(design, metrics)
    if not gemms:
        return hw.dataflows[0], "no contraction steps; first dataflow of the hardware"
    top = max(gemms, key=lambda g: g.step.cycles * g.count)
    return top.dataflow, (
        f"the hardware allows {'/'.join(hw.dataflows)}; using {top.dataflow}, the dataflow of the "
        f"most cycles-heavy step {top.name} ({top.step.cycles * top.count:.0f} cycles)"
    )


def ceil_kb(kb: float) -> int:
    """A buffer size in whole kB, rounded up, at least 1."""
    return max(1, math.ceil(kb - 1e-9))


def buffer_bytes(kb: float) -> int:
    """A buffer size in bytes (1 kB = 1024 bytes), rounded up, at least 1."""
    return max(1, math.ceil(kb * 1024 - 1e-9))
