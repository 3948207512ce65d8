"""Golden cycle counts of the SCALE-Sim fold model, computed by hand."""

from __future__ import annotations

import pytest

from analytical_models import SYSTOLIC, Gemm, Hardware, Mapping, fold_cycles


def _hw(rows: int, cols: int) -> Hardware:
    return Hardware(
        pe_rows=rows,
        pe_cols=cols,
        ifmap_sram_kb=4096,
        filter_sram_kb=4096,
        ofmap_sram_kb=4096,
        dram_bw_bytes_per_cycle=64,
        dataflows=("ws", "os", "is"),
    )


# (dataflow, R, C, M, N, K, batch, compute, fill_drain); see the comment of each case.
UNTILED = [
    # WS square: folds = ceil(64/32)*ceil(64/32) = 4; per fold 2*32+32+100-2 = 194 -> 776.
    ("ws", 32, 32, 100, 64, 64, 1, 4 * 100, 4 * 94),
    # WS non-square: Sr=K=40 on R=16, Sc=N=48 on C=8: 3*6 = 18 folds of 2*16+8+100-2 = 138.
    # (With the 2 on the columns it would be 2*8+16+98 = 130.)
    ("ws", 16, 8, 100, 48, 40, 1, 18 * 100, 18 * 38),
    # IS: Sr=K=33 on R=8 (5), Sc=M=20 on C=4 (5): 25 folds of 2*8+4+50-2 = 68 -> 1700.
    ("is", 8, 4, 20, 50, 33, 1, 25 * 50, 25 * 18),
    # OS: Sr=M=40 on R=16 (3), Sc=N=20 on C=8 (3): 9 folds of 16+8+30-2 = 52 -> 468.
    ("os", 16, 8, 40, 20, 30, 1, 9 * 30, 9 * 22),
    # OS tall array: Sr=M=40 on R=8 (5), Sc=N=20 on C=16 (2): 10 folds of 8+16+30-2 = 52.
    ("os", 8, 16, 40, 20, 30, 1, 10 * 30, 10 * 22),
    # Batch multiplies folds: 3 x the first case.
    ("ws", 32, 32, 100, 64, 64, 3, 3 * 4 * 100, 3 * 4 * 94),
    # One fold: 1x1 problem on a 4x4 WS array: 2*4+4+1-2 = 11 cycles.
    ("ws", 4, 4, 1, 1, 1, 1, 1, 10),
]


@pytest.mark.parametrize(("df", "r", "c", "m", "n", "k", "b", "compute", "fill"), UNTILED)
def test_untiled_fold_cycles(df: str, r: int, c: int, m: int, n: int, k: int, b: int, compute: int, fill: int) -> None:
    gemm = Gemm(m=m, n=n, k=k, batch=b)
    assert fold_cycles(gemm, r, c, df) == (compute, fill)
    cost = SYSTOLIC.evaluate(gemm, _hw(r, c), Mapping(dataflow=df, tile_m=m, tile_n=n, tile_k=k))
    assert (cost.compute_cycles, cost.fill_drain_cycles) == (compute, fill)


# Tiled: (dataflow, R, C, M, N, K, tile_m, tile_n, tile_k, compute, fill_drain).
TILED = [
    # WS, M split in two tiles of 50: each tile 4 folds of 2*32+32+50-2 -> 2*4*144 = 1152.
    ("ws", 32, 32, 100, 64, 64, 50, 64, 64, 400, 2 * 4 * 94),
    # WS, M split 64 + 36 (ragged): same folds, same total as two tiles.
    ("ws", 32, 32, 100, 64, 64, 64, 64, 64, 400, 2 * 4 * 94),
    # WS, K split 48 + 16: row folds 2 + 1 = 3, col folds 2 -> 6 folds of 194.
    ("ws", 32, 32, 100, 64, 64, 100, 64, 48, 600, 6 * 94),
    # OS, K split into 3 tiles of 10: 9 folds per tile, each 16+8+10-2 = 32 -> 27 * 32 = 864.
    ("os", 16, 8, 40, 20, 30, 40, 20, 10, 270, 27 * 22),
    # IS, N split 25 + 25: 25 folds per tile of 2*8+4+25-2 -> 2 * 25 * 18 fill.
    ("is", 8, 4, 20, 50, 33, 20, 25, 33, 25 * 50, 2 * 25 * 18),
]


@pytest.mark.parametrize(("df", "r", "c", "m", "n", "k", "tm", "tn", "tk", "compute", "fill"), TILED)
def test_tiled_fold_cycles(
    df: str,
    r: int,
    c: int,
    m: int,
    n: int,
    k: int,
    tm: int,
    tn: int,
    tk: int,
    compute: int,
    fill: int,
) -> None:
    cost = SYSTOLIC.evaluate(
        Gemm(m=m, n=n, k=k),
        _hw(r, c),
        Mapping(dataflow=df, tile_m=tm, tile_n=tn, tile_k=tk),
    )
    assert (cost.compute_cycles, cost.fill_drain_cycles) == (compute, fill)


def test_pe_busy_and_utilization() -> None:
    gemm = Gemm(m=100, n=64, k=64)
    cost = SYSTOLIC.evaluate(gemm, _hw(32, 32), Mapping(dataflow="ws", tile_m=100, tile_n=64, tile_k=64))
    assert cost.macs == 100 * 64 * 64
    assert cost.pe_busy_cycles == 100 * 64 * 64 / 1024
    assert cost.utilization == pytest.approx(cost.pe_busy_cycles / cost.cycles)
    assert 0 < cost.utilization < 1


@pytest.mark.parametrize(("order", "fills"), [("nkm", 2), ("knm", 2), ("mnk", 4), ("kmn", 4), ("mkn", 4)])
def test_one_fold_stationary_tile_fills_once_with_the_streamed_loop_innermost(order: str, fills: int) -> None:
    """Issue 13: 4096x16x16 on 16x16, WS, A in two m-tiles (its 64 kB does not fit a 32 kB half
    buffer), B in two n-tiles of one fold each. With the m loop innermost both m-tiles stream
    through each weight fold back to back (one fill/drain and one read of the weights into the
    array per n-tile), as SCALE-Sim streams all of M in one fold; with a loop over n inside
    the m loop, every tile refills the array."""
    hw = Hardware(
        pe_rows=16,
        pe_cols=16,
        ifmap_sram_kb=64,
        filter_sram_kb=64,
        ofmap_sram_kb=64,
        dram_bw_bytes_per_cycle=1e12,
        dataflows=("ws",),
    )
    gemm = Gemm(m=4096, n=16, k=16)
    mapping = Mapping(dataflow="ws", tile_m=2048, tile_n=8, tile_k=16, loop_order=order)
    cost = SYSTOLIC.evaluate(gemm, hw, mapping)
    assert cost.compute_cycles == 2 * 4096
    assert cost.fill_drain_cycles == fills * (2 * 16 + 16 - 2)
    assert SYSTOLIC.access_bytes(gemm, hw, mapping)["filter_rd_bytes"] == fills * 16 * 8
    best = SYSTOLIC.search(gemm, hw).cost.cycles
    assert best == pytest.approx(4096 + 46, abs=1e-3)  # SCALE-Sim's "Total Cycles" 4141, + 1
