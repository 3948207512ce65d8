"""The compiled on-chip step (``analytical_models._onchip_kernel``) against the numpy function.

:func:`analytical_models.onchip_tiles` runs compiled when every dataflow's fold timing is a
shipped one; with :data:`analytical_models.NO_JIT_ENV` set it runs on numpy arrays. Both must
give every field bit for bit, on any step: odd dimensions and batches, the token index on any
GEMM dimension or none, tiles that round the token dimension (to zero, too), one array or
several engines (fewer folds than engines split the streamed dimension), arrays of one row,
operands in any buffer (both in one, too), either objective, with and without the engine's
tensor shaping, on every engine's dataflows.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from analytical_models import NO_JIT_ENV, Gemm, Hardware, onchip_tiles

BUFFERS = ("ifmap", "filter", "ofmap")


@st.composite
def steps(draw: st.DrawFn) -> tuple[Gemm, str, int, tuple[int, ...]]:
    tokens = draw(st.sampled_from((1, 2, 3, 8, 48, 128, 1000)))
    token_dim = draw(st.sampled_from(("", "batch", "m", "n", "k")))
    dims = {x: draw(st.integers(1, 300)) for x in ("batch", "m", "n", "k")}
    if token_dim:
        dims[token_dim] = tokens * draw(st.integers(1, 6))
    gemm = Gemm(m=dims["m"], n=dims["n"], k=dims["k"], batch=dims["batch"])
    tiles = tuple(sorted(set(draw(st.lists(st.integers(1, tokens), min_size=1, max_size=6)))))
    return gemm, token_dim, tokens, tiles


@settings(max_examples=300, deadline=None)
@example(  # weight- and input-stationary tie exactly (square, both operands in one buffer)
    (Gemm(m=16, n=16, k=16, batch=2), "m", 4, (1, 2, 4)),
    "systolic",
    ("ws", "is"),
    8,
    8,
    1,
    "ifmap",
    "ifmap",
    "latency",
    False,
)
@example(
    (Gemm(m=6, n=6, k=40), "", 1, (1,)), "ce_array", ("is", "ws", "os"), 4, 4, 8, "ofmap", "ofmap", "energy", False
)
@given(
    steps(),
    st.sampled_from(("systolic", "contraction_engine", "ce_array", "tt_gemm")),
    st.sampled_from((("ws",), ("os",), ("is",), ("ws", "os", "is"), ("os", "ws"))),
    st.integers(1, 33),
    st.integers(1, 33),
    st.sampled_from((1, 2, 3, 8)),
    st.sampled_from(BUFFERS),
    st.sampled_from(BUFFERS),
    st.sampled_from(("latency", "energy")),
    st.booleans(),
)
def test_the_compiled_step_is_the_numpy_step(
    step: tuple[Gemm, str, int, tuple[int, ...]],
    engine: str,
    dataflows: tuple[str, ...],
    rows: int,
    cols: int,
    engines: int,
    a_buffer: str,
    b_buffer: str,
    objective: str,
    relayout: bool,
) -> None:
    gemm, token_dim, tokens, tiles = step
    hw = Hardware(
        engine=engine,
        n_engines=2 if engine == "ce_array" else 1,
        aux_rows=4 if engine == "tt_gemm" else 0,
        aux_cols=4 if engine == "tt_gemm" else 0,
        pe_rows=rows,
        pe_cols=cols,
        ifmap_sram_kb=16.0,
        filter_sram_kb=64.0,
        ofmap_sram_kb=32.0,
        dram_bw_bytes_per_cycle=16.0,
        dataflows=dataflows,
    )
    args = (gemm, token_dim, tokens, tiles, hw, a_buffer, b_buffer)
    kw = {"engines": engines, "objective": objective, "relayout": relayout}
    onchip_tiles.cache_clear()
    got = onchip_tiles(*args, **kw)  # type: ignore[arg-type]
    onchip_tiles.cache_clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(NO_JIT_ENV, "1")
        want = onchip_tiles(*args, **kw)  # type: ignore[arg-type]
    onchip_tiles.cache_clear()
    assert np.array_equal(got.stacked, want.stacked)
    assert np.array_equal(got.dataflow, want.dataflow)
    assert np.array_equal(got.macs, want.macs)
    assert got.dataflows == want.dataflows and got.pes == want.pes


def test_a_fold_timing_registered_elsewhere_keeps_the_numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A replaced fold timing is the one priced (here: every fold twice as long to stream)."""
    from analytical_models import _timing

    hw = Hardware(
        pe_rows=8,
        pe_cols=8,
        ifmap_sram_kb=16,
        filter_sram_kb=16,
        ofmap_sram_kb=16,
        dram_bw_bytes_per_cycle=16,
        dataflows=("ws",),
    )
    gemm = Gemm(m=64, n=32, k=16)
    onchip_tiles.cache_clear()
    plain = onchip_tiles(gemm, "m", 64, (16, 64), hw)
    onchip_tiles.cache_clear()
    slow = _timing.FOLD_CYCLES["ws"]
    monkeypatch.setitem(_timing.FOLD_CYCLES, "ws", lambda r, c, t: (2.0 * t, slow(r, c, t)[1]))
    twice = onchip_tiles(gemm, "m", 64, (16, 64), hw)
    onchip_tiles.cache_clear()
    assert np.array_equal(twice.compute, 2.0 * plain.compute)
    assert np.array_equal(twice.fill, plain.fill)


def test_every_call_shares_one_compiled_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the engine, buffers, token dimension, tiles or shaping, the compiled step is
    called with arguments of the same types and layouts (read-only tables included): numba
    compiles it once, not once per variant (each compile costs seconds of a fresh checkout)."""
    import analytical_models._onchip_kernel as kernel

    monkeypatch.delenv(NO_JIT_ENV, raising=False)
    engines = (("systolic", {}), ("ce_array", {"n_engines": 4}), ("tt_gemm", {"aux_rows": 4, "aux_cols": 4}))
    for engine, extra in engines:
        hw = Hardware(
            engine=engine,
            pe_rows=8,
            pe_cols=16,
            ifmap_sram_kb=32.0,
            filter_sram_kb=32.0,
            ofmap_sram_kb=32.0,
            dram_bw_bytes_per_cycle=16.0,
            dataflows=("ws", "os", "is"),
            **extra,  # type: ignore[arg-type]
        )
        for token_dim, relayout in (("", True), ("m", False), ("k", True), ("batch", False)):
            gemm = Gemm(m=64, n=24, k=48, batch=2, permute_a_elements=64 * 48 * 2 if relayout else 0)
            onchip_tiles.__wrapped__(gemm, token_dim, 16, (1, 4, 16), hw, "ofmap", "filter", relayout=relayout)
    assert len(kernel.tiles_kernel.signatures) == 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(*[st.integers(1, 400)] * 4, *[st.integers(0, 5000)] * 3), min_size=1),
    st.sampled_from(("systolic", "contraction_engine", "ce_array", "tt_gemm")),
    st.sampled_from((4.0, 16.0, 256.0)),
    st.sampled_from((1.0, 8.0, 64.0)),
    st.sampled_from(("overlapped", "serial")),
    st.sampled_from((8, 16)),
)
def test_dram_fed_floor_table_is_the_scalar_floor(
    rows: list[tuple[int, ...]], engine: str, kb: float, bw: float, timing: str, bits: int
) -> None:
    """:func:`analytical_models.dram_fed_floor_table` of many GEMMs (the tensor shaping of an
    engine that shapes through its buffers, or none) and :func:`dram_fed_bytes_table` are the
    scalar functions' bits, GEMM by GEMM, whether each re-laid-out operand fits its buffer or
    goes through DRAM."""
    from analytical_models import busy_floor, dram_fed_bytes, dram_fed_bytes_table, dram_fed_floor, dram_fed_floor_table

    hw = Hardware(
        engine=engine,
        n_engines=4 if engine == "ce_array" else 1,
        aux_rows=4 if engine == "tt_gemm" else 0,
        aux_cols=4 if engine == "tt_gemm" else 0,
        pe_rows=8,
        pe_cols=16,
        ifmap_sram_kb=kb,
        filter_sram_kb=kb * 2,
        ofmap_sram_kb=kb / 2,
        dram_bw_bytes_per_cycle=bw,
        memory_timing=timing,
        bits=bits,
    )
    gemms = [
        Gemm(m=m, n=n, k=k, batch=b, permute_a_elements=pa, permute_b_elements=pb, permute_c_elements=pc)
        for b, m, n, k, pa, pb, pc in rows
    ]
    dims = np.array([(g.batch, g.m, g.n, g.k) for g in gemms], dtype=np.int64)
    permutes = np.array([r[4:] for r in rows], dtype=np.int64)
    busy = np.array([busy_floor(g, hw) for g in gemms])
    got = dram_fed_floor_table(dims, permutes, hw, busy)
    assert got is not None
    assert got.tolist() == [dram_fed_floor(g, hw, busy=x) for g, x in zip(gemms, busy.tolist(), strict=True)]
    assert dram_fed_bytes_table(dims, hw).tolist() == [dram_fed_bytes(g, hw) for g in gemms]
