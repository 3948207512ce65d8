"""``dse paths`` reaches every layer format; forward MACs against an independent oracle.

The oracle does not use TNN-DSE's networks or path optimizers: each format's forward network is
written here from its definition (index lists of the input and of every stored tensor, one
``--ranks`` value expanded as the issue states: tt ``1, r, .., r, 1`` over the 2d modes, tr a
closed ring of r, tucker r per mode, cp / lowrank / lora ``R``), and the fewest MACs over every
pairwise contraction order is found by brute force (a pairwise contraction costs the product of
the sizes of all indices of its two operands). Three-tensor networks also have their closed
form: ``min(b r (m + n), m n (b + r))``.
"""

from __future__ import annotations

import json
import math
from functools import cache

import pytest

from dse.cli import main

Net = tuple[tuple[frozenset[str], ...], frozenset[str], dict[str, int]]


def _paths(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    code = main(["paths", *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report: list[dict[str, object]] = json.loads(out)
    return report


def _min_macs(net: Net) -> int:
    """Fewest MACs over every order of pairwise contractions (outer products included)."""
    tensors, output, sizes = net

    @cache
    def best(state: tuple[frozenset[str], ...]) -> int:
        if len(state) == 1:
            return 0
        out = math.inf
        for i in range(len(state)):
            for j in range(i + 1, len(state)):
                rest = [t for k, t in enumerate(state) if k not in (i, j)]
                union = state[i] | state[j]
                keep = frozenset(x for x in union if x in output or any(x in t for t in rest))
                cost = math.prod(sizes[x] for x in union)
                out = min(out, cost + best(tuple(sorted([*rest, keep], key=sorted))))
        return int(out)

    return best(tuple(sorted(tensors, key=sorted)))


def _modes(ins: tuple[int, ...], outs: tuple[int, ...], b: int) -> tuple[dict[str, int], list[str], list[str]]:
    sizes = {"b": b}
    m = [f"m{k}" for k in range(len(ins))]
    n = [f"n{k}" for k in range(len(outs))]
    sizes.update(zip(m, ins, strict=True))
    sizes.update(zip(n, outs, strict=True))
    return sizes, m, n


def _tt(ins: tuple[int, ...], outs: tuple[int, ...], r: int, b: int) -> Net:
    """Cores G_k[r_{k-1}, mode_k, r_k] over the 2d modes m_1..m_d, n_1..n_d; r_0 = r_2d = 1."""
    sizes, m, n = _modes(ins, outs, b)
    modes = m + n
    cores = []
    for k, mode in enumerate(modes):
        idx = {mode}
        if k > 0:
            idx.add(f"r{k}")
        if k < len(modes) - 1:
            idx.add(f"r{k + 1}")
        cores.append(frozenset(idx))
    sizes.update({f"r{k}": r for k in range(1, len(modes))})
    return (frozenset({"b", *m}), *cores), frozenset({"b", *n}), sizes


def _ttm(ins: tuple[int, ...], outs: tuple[int, ...], r: int, b: int, *, ring: bool = False) -> Net:
    """Cores G_k[r_{k-1}, m_k, n_k, r_k]; open chain (r_0 = r_d = 1) or a closed ring of r."""
    sizes, m, n = _modes(ins, outs, b)
    d = len(ins)
    cores = []
    for k in range(d):
        idx = {m[k], n[k]}
        if k > 0 or ring:
            idx.add(f"r{k}")
        if k < d - 1:
            idx.add(f"r{k + 1}")
        elif ring:
            idx.add("r0")
        cores.append(frozenset(idx))
    sizes.update({f"r{k}": r for k in range(d)})
    return (frozenset({"b", *m}), *cores), frozenset({"b", *n}), sizes


def _tucker(ins: tuple[int, ...], outs: tuple[int, ...], r: int, b: int) -> Net:
    """Factors U_k[mode_k, s_k] for the 2d modes and a core C[s_1..s_2d], every s_k = r."""
    sizes, m, n = _modes(ins, outs, b)
    modes = m + n
    factors = [frozenset({mode, f"s{k}"}) for k, mode in enumerate(modes)]
    core = frozenset(f"s{k}" for k in range(len(modes)))
    sizes.update({f"s{k}": r for k in range(len(modes))})
    return (frozenset({"b", *m}), *factors, core), frozenset({"b", *n}), sizes


def _cp(ins: tuple[int, ...], outs: tuple[int, ...], r: int, b: int) -> Net:
    """Factors A_k[m_k, n_k, R] sharing one rank index."""
    sizes, m, n = _modes(ins, outs, b)
    sizes["R"] = r
    factors = [frozenset({m[k], n[k], "R"}) for k in range(len(ins))]
    return (frozenset({"b", *m}), *factors), frozenset({"b", *n}), sizes


def _lowrank_closed_form(m: int, n: int, r: int, b: int) -> int:
    """x[b, m] U[m, r] V[r, n]: (x U) V or x (U V)."""
    return min(b * r * (m + n), m * n * (b + r))


def _flags(ins: tuple[int, ...], outs: tuple[int, ...]) -> list[str]:
    return ["--in-shape", ",".join(map(str, ins)), "--out-shape", ",".join(map(str, outs))]


CASES = [
    ("tt", (2, 3, 4), (3, 2, 4), 5, 7, _tt),
    ("tt", (4, 8), (8, 4), 20, 16, _tt),
    ("ttm", (2, 3, 4), (4, 3, 2), 5, 7, _ttm),
    ("ttm", (12, 8, 8), (12, 16, 16), 16, 32, _ttm),
    ("tr", (2, 3, 4), (3, 2, 4), 3, 7, lambda i, o, r, b: _ttm(i, o, r, b, ring=True)),
    ("tr", (4, 8, 8), (4, 8, 8), 4, 16, lambda i, o, r, b: _ttm(i, o, r, b, ring=True)),
    ("tucker", (2, 3), (3, 4), 2, 5, _tucker),
    ("tucker", (4, 8), (8, 4), 3, 16, _tucker),
    ("cp", (2, 3, 4), (3, 2, 4), 4, 7, _cp),
    ("cp", (4, 8, 8), (4, 8, 8), 4, 32, _cp),
]


@pytest.mark.parametrize(("fmt", "ins", "outs", "r", "b", "oracle"), CASES, ids=lambda v: str(v))
def test_forward_macs_with_one_rank_value(
    fmt: str,
    ins: tuple[int, ...],
    outs: tuple[int, ...],
    r: int,
    b: int,
    oracle: object,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--format", fmt, *_flags(ins, outs), "--ranks", str(r), "--batch", str(b), "--pass", "forward"]
    (entry,) = _paths([*argv, "--optimizer", "exhaustive"], capsys)
    expected = _min_macs(oracle(ins, outs, r, b))  # type: ignore[operator]
    best, ref = entry["best"], entry["mac_optimal"]
    assert isinstance(best, dict) and isinstance(ref, dict)
    assert best["macs"] == expected
    assert ref["macs"] == expected
    (dp,) = _paths(argv, capsys)  # the default optimizer (dp) finds the same minimum
    assert isinstance(dp["best"], dict) and dp["best"]["macs"] == expected


@pytest.mark.parametrize(("m", "n", "r", "b"), [(64, 32, 4, 8), (4096, 11008, 16, 512), (256, 256, 64, 1)])
def test_lowrank_forward_macs_closed_form(m: int, n: int, r: int, b: int, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--format", "lowrank", "--in-features", str(m), "--out-features", str(n), "--ranks", str(r)]
    (entry,) = _paths([*argv, "--batch", str(b), "--pass", "forward"], capsys)
    assert isinstance(entry["best"], dict)
    assert entry["best"]["macs"] == _lowrank_closed_form(m, n, r, b)
    three = (frozenset({"b", "m"}), frozenset({"m", "r"}), frozenset({"r", "n"}))
    assert _min_macs((three, frozenset({"b", "n"}), {"b": b, "m": m, "n": n, "r": r})) == entry["best"]["macs"]


@pytest.mark.parametrize(("m", "n", "r", "b"), [(64, 32, 4, 8), (4096, 4096, 16, 2048)])
def test_lora_forward_is_the_dense_product_plus_the_adapter(
    m: int, n: int, r: int, b: int, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--format", "lora", "--in-features", str(m), "--out-features", str(n), "--ranks", str(r)]
    report = _paths([*argv, "--batch", str(b)], capsys)
    macs = {str(e["pass"]): e["best"]["macs"] for e in report if isinstance(e["best"], dict)}
    assert macs["forward.base"] == b * m * n
    assert macs["forward.adapter"] == _lowrank_closed_form(m, n, r, b)
    assert macs["dx.base"] == b * m * n
    assert set(macs) == {"forward.base", "forward.adapter", "dx.base", "dx.adapter", "dg1", "dg2"}  # no dW


def test_full_tt_rank_list_and_closed_ring(capsys: pytest.CaptureFixture[str]) -> None:
    shape = ["--in-shape", "2,3,4", "--out-shape", "3,2,4", "--batch", "7", "--pass", "forward"]
    (full,) = _paths(["--format", "tt", *shape, "--ranks", "1,5,5,5,5,5,1"], capsys)
    (one,) = _paths(["--format", "tt", *shape, "--ranks", "5"], capsys)
    assert full["einsum"] == one["einsum"]
    assert isinstance(full["best"], dict) and isinstance(one["best"], dict)
    assert full["best"]["macs"] == one["best"]["macs"]
    (ring,) = _paths(["--format", "tr", *shape, "--ranks", "3"], capsys)
    (chain,) = _paths(["--format", "ttm", *shape, "--ranks", "3"], capsys)
    assert isinstance(ring["best"], dict) and isinstance(chain["best"], dict)
    assert ring["best"]["macs"] > chain["best"]["macs"]  # r_0 = r_d = 3: a closed ring, not an open chain


TTM_CONV = ["--format", "ttm_conv", "--in-channels", "16", "--kernel", "3", "--image", "8", "--padding", "1"]
TTM_CONV += ["--in-shape", "4,4,9", "--out-shape", "2,4,4", "--ranks", "4", "--stride", "2"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--format", "conv", "--in-channels", "16", "--kernel", "3", "--image", "8", "--out-channels", "32"],
        ["--format", "conv", "--in-channels", "3", "--kernel", "3,5", "--image", "9,11", "--out-features", "8"],
        TTM_CONV,
        ["--format", "embedding", "--in-features", "1000", "--out-features", "64", "--batch", "32"],
        ["--format", "ttm_embedding", "--in-shape", "10,10,10", "--out-shape", "4,4,4", "--ranks", "8"],
        ["--format", "attention", "--in-features", "768", "--heads", "12", "--seq-len", "128", "--batch", "2"],
        ["--format", "attention", "--in-features", "4096", "--heads", "32", "--seq-len", "1", "--kv-len", "512"],
        ["--format", "dense", "--in-shape", "12,8,8", "--out-shape", "12,16,16"],
        ["--format", "dense", "--in-features", "100", "--out-features", "10"],
    ],
    ids=lambda a: a[1],
)
def test_every_format_is_reachable(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _paths(argv, capsys)


def test_conv_and_attention_macs(capsys: pytest.CaptureFixture[str]) -> None:
    conv = ["--format", "conv", "--in-channels", "16", "--kernel", "3", "--image", "8", "--out-channels", "32"]
    (fwd,) = _paths([*conv, "--padding", "1", "--batch", "2", "--pass", "forward"], capsys)
    assert isinstance(fwd["best"], dict) and fwd["best"]["macs"] == 2 * 8 * 8 * (16 * 9) * 32  # im2col GEMM
    att = ["--format", "attention", "--in-features", "768", "--heads", "12", "--seq-len", "128", "--kv-len", "64"]
    (qk,) = _paths([*att, "--batch", "2", "--pass", "forward.qk"], capsys)
    assert isinstance(qk["best"], dict) and qk["best"]["macs"] == 2 * 12 * 128 * 64 * 64  # b h s t e


BAD = [
    (["--format", "tt", "--in-shape", "4,8,8", "--out-shape", "4,8,8"], "--ranks"),
    (["--format", "tt", "--out-shape", "4,8,8", "--ranks", "3"], "--in-shape"),
    (["--format", "tt", "--in-shape", "4,8,8", "--ranks", "3"], "--out-shape"),
    (["--format", "tt", "--in-shape", "4,8,8", "--out-shape", "4,8", "--ranks", "3"], "--out-shape"),
    (["--format", "tt", "--in-shape", "4,8,8", "--out-shape", "4,8,8", "--ranks", "3,3"], "--ranks"),
    (["--format", "tt", "--in-shape", "4,x", "--out-shape", "4,8", "--ranks", "3"], "--in-shape"),
    (["--format", "tr", "--in-shape", "4,8,8", "--out-shape", "4,8,8", "--ranks", "2,3,4,5"], "--ranks"),
    (["--format", "cp", "--in-shape", "4,8", "--out-shape", "4,8", "--ranks", "3,4"], "--ranks"),
    (
        ["--format", "cp", "--in-features", "5", "--in-shape", "4,8", "--out-shape", "4,8", "--ranks", "3"],
        "--in-features",
    ),
    (["--format", "lowrank", "--in-features", "64", "--ranks", "3"], "--out-features"),
    (["--format", "lora", "--in-features", "64", "--out-features", "8", "--ranks", "0"], "--ranks"),
    (["--format", "dense", "--in-features", "64", "--out-features", "8", "--ranks", "3"], "--ranks"),
    (["--format", "conv", "--kernel", "3", "--image", "8", "--out-channels", "4"], "--in-channels"),
    (["--format", "conv", "--in-channels", "4", "--kernel", "3", "--image", "2", "--out-channels", "4"], "--kernel"),
    (
        ["--format", "conv", "--in-channels", "4", "--kernel", "3,3,3", "--image", "8", "--out-channels", "4"],
        "--kernel",
    ),
    (["--format", "conv", "--in-channels", "4", "--kernel", "3", "--image", "8"], "--out-channels"),
    (
        [
            "--format",
            "conv",
            "--in-channels",
            "4",
            "--kernel",
            "3",
            "--image",
            "8",
            "--out-channels",
            "4",
            "--padding",
            "-1",
        ],
        "--padding",
    ),
    (
        [
            "--format",
            "conv",
            "--in-channels",
            "4",
            "--kernel",
            "3",
            "--image",
            "8",
            "--out-channels",
            "4",
            "--in-shape",
            "2,2",
        ],
        "--in-shape",
    ),
    (["--format", "attention", "--in-features", "770", "--heads", "12"], "--heads"),
    (["--format", "attention", "--heads", "12"], "--in-features"),
    (["--format", "ttm", "--in-shape", "4,4", "--out-shape", "4,4", "--ranks", "2", "--heads", "2"], "--heads"),
    (["--format", "ttm", "--in-shape", "4,4", "--out-shape", "4,4", "--ranks", "2", "--kernel", "3"], "--kernel"),
    (["--format", "ttm", "--in-shape", "4,4", "--out-shape", "4,4", "--ranks", "2", "--seq-len", "0"], "--seq-len"),
    (
        [
            "--format",
            "ttm_conv",
            "--in-channels",
            "16",
            "--kernel",
            "3",
            "--image",
            "8",
            "--in-shape",
            "4,4,8",
            "--out-shape",
            "2,4,4",
            "--ranks",
            "4",
        ],
        "--in-shape",
    ),
    (["--format", "bogus", "--in-features", "4"], "--format"),
]


@pytest.mark.parametrize(("argv", "flag"), BAD, ids=lambda v: v if isinstance(v, str) else " ".join(v[:2]))
def test_bad_flag_is_one_line_naming_it(argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["paths", *argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {flag}: "), err
    assert "layer 'cli'" not in err
