"""What every merge mode and engine grouping of one fused segment shares, per token tile: the
streamed inputs (their ifmap need, their DRAM bytes over the pass), the ofmap need, and the
DRAM bytes no schedule hides (:func:`_streams`, read by :func:`dse.schedule._segment._price`).

Two implementations with the same IEEE operations in the same order: numpy arrays over the
tiles (the reference, run when :data:`analytical_models.NO_JIT_ENV` is set) and one compiled
loop (:func:`dse.schedule._streams_kernel.streams_kernel`; a segment is a few dozen numpy
operations on arrays of a dozen tiles, where numpy's per-call overhead is the whole cost). The
tests compare the two on the fused segments of random layers and hardware, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from analytical_models import Hardware, compiled_module, hw_consts
from dse.schedule._chain import Chain, ChainStep

FloatArray = npt.NDArray[np.float64]
STREAMS_KERNEL = "dse.schedule._streams_kernel"
"""The compiled loop's module (:func:`analytical_models.compiled_module`)."""


@dataclass(frozen=True)
class _Streams:
    """What every merge mode and engine grouping of one segment shares, per token tile (arrays
    over ``tiles``) or once."""

    tiles: tuple[int, ...]
    t: FloatArray
    n_t: FloatArray
    inside: frozenset[int]
    out_ssa: int
    ifmap_need: FloatArray
    ifmap_fits: npt.NDArray[np.bool_]
    ofmap: dict[bool, FloatArray]
    """Ofmap bytes the segment needs at each token tile (:func:`_ofmap_need` plus the second
    result tile of double buffering), by ``pipelined`` (the same for every merge mode)."""
    streamed_total: FloatArray
    """Bytes of the streamed inputs over the whole pass."""
    token_free_total: float
    """Bytes of the token-free external inputs."""
    e_in: tuple[FloatArray, FloatArray]
    """Bytes loaded before the token loop that no schedule hides (:func:`_exposed`): with the
    cores of the segment's first step, and of its first token or reduce step (pipelined)."""
    e_out: FloatArray
    """Bytes written after it (the last result tile)."""
    d_tile: FloatArray
    """DRAM bytes of one tile when pipelined: its streamed inputs and result tile."""


def segment_tensors(chain: Chain, steps: tuple[int, ...]) -> tuple[frozenset[int], list[int]]:
    """The results a segment keeps on chip (every step's but the last) and the tensors it
    reads from outside (ascending SSA ids)."""
    inside = frozenset(chain.steps[s].out for s in steps[:-1])
    consumed = {x for s in steps for x in (chain.steps[s].lhs, chain.steps[s].rhs)}
    return inside, sorted(consumed - inside)


def _first_stage(chain: Chain, steps: tuple[int, ...]) -> ChainStep:
    """The segment's first token or reduce step (its first step when it has none)."""
    for s in steps:
        if chain.steps[s].kind in ("token", "reduce"):
            return chain.steps[s]
    return chain.steps[steps[0]]


def _streams(chain: Chain, steps: tuple[int, ...], hw: Hardware, tiles: tuple[int, ...]) -> _Streams | None:
    """The shared part of :func:`dse.schedule._segment._price` on the token ``tiles``; None
    when no tile fits the ifmap buffer."""
    kernel = compiled_module(STREAMS_KERNEL)
    if kernel is not None:
        return _streams_compiled(kernel, chain, steps, hw, tiles)
    k = hw_consts(hw)
    bpe, acc = k.bytes_per_el, k.acc_bytes
    tokens = chain.tokens
    t = np.asarray(tiles, dtype=np.float64)
    n_t = tokens / t
    inside, external = segment_tensors(chain, steps)
    frac = t / tokens
    memo: dict[int, FloatArray] = {}

    def tile_bytes(ssa: int) -> FloatArray:
        """Bytes of ``ssa`` per tile (the whole tensor when it is token-free)."""
        got = memo.get(ssa)
        if got is None:
            full = chain.elements[ssa] * bpe
            got = full * frac if chain.tokened[ssa] else np.full_like(t, full)
            memo[ssa] = got
        return got

    streamed = [x for x in external if chain.tokened[x]]
    double = np.where(n_t > 1, 2.0, 1.0)
    ifmap_need = sum((tile_bytes(x) for x in streamed), np.zeros_like(t)) * double
    fits = ifmap_need <= hw.ifmap_sram_kb * 1024.0
    if not fits.any():
        return None
    token_free_ext = [x for x in external if not chain.tokened[x]]
    out_ssa = chain.steps[steps[-1]].out
    z = np.zeros_like(t)
    d_tile = sum((tile_bytes(x) for x in streamed), z)
    if chain.tokened[out_ssa]:
        d_tile = d_tile + tile_bytes(out_ssa)
    ofmap = {}
    for pipelined in (False, True):
        got = _ofmap_need(chain, steps, inside, t, tokens, bpe, acc, pipelined)
        if chain.tokened[out_ssa]:
            got = got + tile_bytes(out_ssa) * (double - 1)
        ofmap[pipelined] = got
    first, stage = (
        _exposed(chain, inside, streamed, tile_bytes, z, x, out_ssa)
        for x in (chain.steps[steps[0]], _first_stage(chain, steps))
    )
    return _Streams(
        tiles=tiles,
        t=t,
        n_t=n_t,
        inside=inside,
        out_ssa=out_ssa,
        ifmap_need=ifmap_need,
        ifmap_fits=fits,
        ofmap=ofmap,
        streamed_total=sum((tile_bytes(x) * n_t for x in streamed), z),
        token_free_total=float(sum(chain.elements[x] * bpe for x in token_free_ext)),
        e_in=(first[0], stage[0]),
        e_out=first[1],
        d_tile=d_tile,
    )


class _StreamInputs(NamedTuple):
    """What the compiled loops read of one segment, whatever the tiles and the buffers
    (:func:`_stream_inputs`; the streams' and :func:`dse.schedule._bounds.tiled_floor`'s)."""

    inside: frozenset[int]
    out_ssa: int
    token_free_total: float
    sizes: FloatArray
    counts: npt.NDArray[np.int64]
    lines: FloatArray
    flags: npt.NDArray[np.bool_]

    def run(self, i: int) -> FloatArray:
        """Run ``i`` of ``sizes`` (:func:`_stream_inputs`; :data:`STREAMED_RUNS` is the result's
        bytes and the last step's)."""
        start = int(self.counts[:i].sum())
        stop = start + int(self.counts[i]) if i < STREAMED_RUNS else self.sizes.size
        return self.sizes[start:stop]


STREAMED_RUNS = 5
"""Runs of :func:`_stream_inputs`' ``sizes`` with their lengths in ``counts`` (the last two
values follow them)."""

_NO_LINES = np.zeros((0, 2))


@lru_cache(maxsize=4096)  # (a segment recurs on every hardware of one element size; about 1.1 kB an entry)
def _stream_inputs(chain: Chain, steps: tuple[int, ...], bpe: float, acc: float) -> _StreamInputs:
    """The segment's tensors as the numpy path reads them: ``sizes`` holds, one run after the
    other (lengths in ``counts``), the bytes of the streamed inputs (all tokens), of the cores
    of the first step and of the first token or reduce step, of the reduce accumulators (at the
    accumulator width; their token flags in ``flags[3:]``), of the resident token-carrying
    intermediates (in the order a pipelined segment sums them), then the result's bytes and the
    last step's result bytes (when it is a token step; else 0). ``flags``: the result carries
    the token index, the last step is a token step, the last step's result carries it, then
    the accumulators' flags. ``lines``: :func:`_ofmap_lines`."""
    inside, external = segment_tensors(chain, steps)
    streamed = [x for x in external if chain.tokened[x]]
    token_free_ext = [x for x in external if not chain.tokened[x]]
    st = [chain.steps[s] for s in steps]
    out_ssa, last = st[-1].out, st[-1]
    accumulators = [x.out for x in st if x.kind == "reduce"]
    runs = [
        [chain.elements[x] * bpe for x in streamed],
        *(
            [chain.elements[x] * bpe for x in (first.lhs, first.rhs) if x not in inside and not chain.tokened[x]]
            for first in (st[0], _first_stage(chain, steps))
        ),
        [chain.elements[x] * acc for x in accumulators],
        [chain.elements[x] * bpe for x in inside if chain.tokened[x]],
        [chain.elements[out_ssa] * bpe, chain.elements[last.out] * bpe if last.kind == "token" else 0.0],
    ]
    lines = _ofmap_lines(chain, steps, inside, chain.tokens, bpe, acc)
    sizes = np.array([float(v) for run in runs for v in run], dtype=np.float64)
    return _StreamInputs(
        inside=inside,
        out_ssa=out_ssa,
        token_free_total=float(sum(chain.elements[x] * bpe for x in token_free_ext)),
        sizes=sizes,
        counts=np.array([len(run) for run in runs[:-1]], dtype=np.int64),
        lines=np.array(lines, dtype=np.float64).reshape(-1, 2) if lines else _NO_LINES,
        flags=np.array(
            [chain.tokened[out_ssa], last.kind == "token", chain.tokened[last.out]]
            + [chain.tokened[x] for x in accumulators],
            dtype=np.bool_,
        ),
    )


@lru_cache(maxsize=1024)
def _tile_floats(tiles: tuple[int, ...]) -> FloatArray:
    """``tiles`` as float64 (read-only)."""
    out = np.asarray(tiles, dtype=np.float64)
    out.setflags(write=False)
    return out


def _streams_compiled(
    kernel: object, chain: Chain, steps: tuple[int, ...], hw: Hardware, tiles: tuple[int, ...]
) -> _Streams | None:
    """:func:`_streams` from the compiled loop."""
    k = hw_consts(hw)
    got = _stream_inputs(chain, steps, k.bytes_per_el, k.acc_bytes)
    t = _tile_floats(tiles)
    rows, fits = kernel.streams_kernel(  # type: ignore[attr-defined]
        t, float(chain.tokens), got.sizes, got.counts, got.lines, got.flags, hw.ifmap_sram_kb * 1024.0
    )
    if not fits.any():
        return None
    n_t, ifmap_need, of0, of1, streamed_total, e0, e1, e_out, d_tile = rows
    return _Streams(
        tiles=tiles,
        t=t,
        n_t=n_t,
        inside=got.inside,
        out_ssa=got.out_ssa,
        ifmap_need=ifmap_need,
        ifmap_fits=fits,
        ofmap={False: of0, True: of1},
        streamed_total=streamed_total,
        token_free_total=got.token_free_total,
        e_in=(e0, e1),
        e_out=e_out,
        d_tile=d_tile,
    )


def _exposed(
    chain: Chain,
    inside: frozenset[int],
    streamed: list[int],
    tile_bytes: Callable[[int], FloatArray],
    z: FloatArray,
    first: ChainStep,
    out_ssa: int,
) -> tuple[FloatArray, FloatArray]:
    """Bytes no schedule of the segment hides, at each token tile: the first tile's streamed
    inputs and the cores of the step ``first`` (before the loop), and the last result tile
    ``out_ssa`` (after it)."""
    cores = [x for x in (first.lhs, first.rhs) if x not in inside and not chain.tokened[x]]
    e_in = sum((tile_bytes(x) for x in streamed), z) + sum((tile_bytes(x) for x in cores), z)
    return e_in, tile_bytes(out_ssa)


def _ofmap_need(
    chain: Chain,
    steps: tuple[int, ...],
    inside: frozenset[int],
    t: FloatArray,
    tokens: int,
    bpe: float,
    acc: float,
    pipelined: bool = False,
) -> FloatArray:
    """Most ofmap bytes live at once: resident intermediates + the running step's result +
    the reduce accumulators (for the whole tile loop). Pipelined: every resident token
    intermediate double-buffered between its stages, all at once."""

    def size(ssa: int, acc_bytes: bool) -> FloatArray:
        per = acc if acc_bytes else bpe
        full = chain.elements[ssa] * per
        return full * t / tokens if chain.tokened[ssa] else np.full_like(t, full)

    accumulators = [chain.steps[s].out for s in steps if chain.steps[s].kind == "reduce"]
    base = sum((size(x, True) for x in accumulators), np.zeros_like(t))
    if pipelined:
        resident = [x for x in inside if chain.tokened[x]]
        last = chain.steps[steps[-1]]
        result = size(last.out, False) if last.kind == "token" else np.zeros_like(t)
        double = np.where(t < tokens, 2.0, 1.0)  # nothing to hand over between stages with one tile
        return base + sum((double * size(x, False) for x in resident), np.zeros_like(t)) + result
    lines = _ofmap_lines(chain, steps, inside, tokens, bpe, acc)
    if not lines:
        return np.zeros_like(t)
    coef = np.array(lines)
    peak: FloatArray = (base + (coef[:, :1] * t + coef[:, 1:])).max(axis=0)
    return peak


def _ofmap_lines(
    chain: Chain, steps: tuple[int, ...], inside: frozenset[int], tokens: int, bpe: float, acc: float
) -> list[tuple[float, float]]:
    """The ofmap bytes live at each step of a segment that is not pipelined, as ``(bytes per
    token, token-free bytes)``: the resident intermediates (each linear in the tile) plus the
    step's own result (:func:`_ofmap_need` takes the largest at each tile)."""
    live: dict[int, tuple[float, float]] = {}
    per_token = fixed = 0.0  # the live set's sum
    lines: list[tuple[float, float]] = []  # at each step: live set + its result, per token and fixed
    for s in steps:
        st = chain.steps[s]
        if st.kind == "core":
            continue  # merges live in the filter buffer
        out = st.out
        res: tuple[float, float] = (0.0, 0.0)
        if st.kind != "reduce":
            full = chain.elements[out] * (acc if st.kind == "post" else bpe)
            res = (full / tokens, 0.0) if chain.tokened[out] else (0.0, full)
        lines.append((per_token + res[0], fixed + res[1]))
        for x in (st.lhs, st.rhs):
            gone = live.pop(x, None)
            if gone is not None:
                per_token -= gone[0]
                fixed -= gone[1]
        if out in inside and st.kind != "reduce":
            live[out] = res
            per_token += res[0]
            fixed += res[1]
    return lines
