"""What the compiled price of a fused segment (:mod:`dse.schedule._price_kernel`) reads of the
segment and of the hardware, whatever the tile: where each step's operands live, the steps'
kinds, token dimensions and GEMMs (:func:`_segment_static`), each array's geometry and energies
(:func:`_kernel_arrays`), and the ways the segment may run (:func:`_ways`: merge mode,
pipelining over engine groups)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from analytical_models import (
    BUFFERS,
    TOKEN_DIMS,
    ArrayEngine,
    Hardware,
    get_engine,
    onchip_array,
)
from dse.schedule._chain import Chain
from dse.schedule._combine import A_BUFFER, B_BUFFER, KIND, KIND_CODE, N_STATIC, TILED, TOKEN_COL
from dse.schedule._streams import segment_tensors

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
MergeMode = Literal["store", "recompute", ""]


def _buffer_of(chain: Chain, ssa: int, inside: frozenset[int]) -> Literal["ifmap", "filter", "ofmap"]:
    """Where an operand of a segment step lives: resident intermediates in ofmap (token-carrying
    or accumulated) or filter (stored merges); external inputs in ifmap (streamed) or filter."""
    if ssa in inside:
        return "ofmap" if chain.tokened[ssa] or _after_reduce(chain, ssa) else "filter"
    return "ifmap" if chain.tokened[ssa] else "filter"


def _after_reduce(chain: Chain, ssa: int) -> bool:
    s = chain.producer(ssa)
    return s is not None and chain.steps[s].kind in ("reduce", "post")


class _KernelArrays(NamedTuple):
    """What :func:`~dse.schedule._price_kernel.segment_kernel` reads of a hardware: ``args``
    (its ``sizes`` to ``fills1``: the engine's array, then the TT-core engine's, or the engine's
    again) and the dataflow names of each array."""

    args: tuple[Any, ...]
    dataflows: tuple[tuple[str, ...], tuple[str, ...]]
    has_core: bool
    """Core merges run on a TT-core engine (its array is the second)."""


@lru_cache(maxsize=1024)
def _kernel_arrays(hw: Hardware) -> _KernelArrays | None:
    """:class:`_KernelArrays` of ``hw``; None when the compiled on-chip loop cannot price its
    steps (:func:`analytical_models.onchip_array`). Asked only where loops are compiled."""
    engine = get_engine(hw.engine)
    core_hw = engine.core_array(hw) if isinstance(engine, ArrayEngine) else None
    main = onchip_array(hw)
    core = onchip_array(core_hw) if core_hw is not None else main
    if main is None or core is None:
        return None
    both = (main, core)
    sizes = np.array([(x.rows, x.cols) for x in both], dtype=np.int64)
    widths = np.array([(x.bpe, x.acc, x.mac_pj) for x in both])
    pj = np.stack([x.pj for x in both])
    args = (sizes, widths, pj, main.axes, main.reads, main.os, main.fills, core.axes, core.reads, core.os, core.fills)
    return _KernelArrays(args, (main.dataflows, core.dataflows), core_hw is not None)


@lru_cache(maxsize=16_384)  # (a segment recurs on every hardware)
def _segment_static(chain: Chain, steps: tuple[int, ...]) -> tuple[IntArray, FloatArray]:
    """What :func:`~dse.schedule._price_kernel.segment_kernel` reads of the segment's steps that
    no hardware changes: its ``static`` and ``dims`` (read-only)."""
    inside = segment_tensors(chain, steps)[0]
    static = np.empty((len(steps), N_STATIC), dtype=np.int64)
    dims = np.empty((len(steps), 4))
    for row, s in enumerate(steps):
        st = chain.steps[s]
        a, b = st.operands
        tiled = st.kind in ("token", "reduce")
        static[row, TOKEN_COL] = TOKEN_DIMS.index(st.token_dim if tiled else "") - 1
        static[row, TILED] = tiled
        static[row, KIND] = KIND_CODE[st.kind]
        static[row, A_BUFFER] = BUFFERS.index(_buffer_of(chain, a, inside))
        static[row, B_BUFFER] = BUFFERS.index(_buffer_of(chain, b, inside))
        g = st.gemm
        dims[row] = (float(g.batch), float(g.m), float(g.n), float(g.k))
    static.setflags(write=False)
    dims.setflags(write=False)
    return static, dims


class _Way(NamedTuple):
    """A way of running a fused segment: its merge mode, pipelined or not, and then the engines
    of each token or reduce step (by step)."""

    mode: MergeMode
    pipelined: bool
    groups: dict[int, int]


def _allocate(engines: int, work: list[float]) -> list[int]:
    """Engines per pipeline stage: one each, the rest dealt to the stage with the most work per
    engine (water-filling on ``work``, e.g. MACs)."""
    groups = [1] * len(work)
    for _ in range(engines - len(work)):
        i = max(range(len(work)), key=lambda j: (work[j] / groups[j], -j))
        groups[i] += 1
    return groups


def _pipeline_groups(chain: Chain, steps: tuple[int, ...], mode: MergeMode, n_engines: int) -> dict[int, int] | None:
    """The engines of each token or reduce step (by step) when the segment's token tiles are
    pipelined over engine groups (:func:`_allocate` on their MACs); None when they cannot be:
    merges recomputed on every tile, fewer than two such steps, or more of them than engines."""
    stages = [s for s in steps if chain.steps[s].kind in ("token", "reduce")]
    if mode == "recompute" or len(stages) < 2 or n_engines < len(stages):
        return None
    return dict(zip(stages, _allocate(n_engines, [float(chain.steps[s].gemm.macs) for s in stages]), strict=True))


class _WaySet(NamedTuple):
    """The ways :func:`~dse.schedule._segment.price_segment` tries (:func:`_ways`) and what the
    compiled call reads of them: whether each recomputes its merges, is pipelined, and its
    engines by step (read-only)."""

    ways: tuple[_Way, ...]
    recompute: npt.NDArray[np.bool_]
    pipelined: npt.NDArray[np.bool_]
    groups: IntArray


@lru_cache(maxsize=16_384)  # (a segment, on every hardware of as many engines)
def _ways(
    chain: Chain, steps: tuple[int, ...], modes: tuple[MergeMode, ...], spatial: tuple[bool, ...], n_engines: int
) -> _WaySet:
    """The ways :func:`~dse.schedule._segment.price_segment` tries, in its order, but the
    pipelined ones that cannot be (:func:`_pipeline_groups`)."""
    out = []
    for mode in modes:
        for pipelined in spatial:
            groups = _pipeline_groups(chain, steps, mode, n_engines) if pipelined else {}
            if groups is not None:
                out.append(_Way(mode, pipelined, groups))
    arrays = (
        np.array([w.mode == "recompute" for w in out], dtype=np.bool_),
        np.array([w.pipelined for w in out], dtype=np.bool_),
        np.array([[w.groups.get(s, 0) for s in steps] for w in out], dtype=np.int64).reshape(len(out), len(steps)),
    )
    for a in arrays:
        a.setflags(write=False)
    return _WaySet(tuple(out), *arrays)
