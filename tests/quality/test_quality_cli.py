"""``dse quality``: exactness on weights of known structure, through the command line and files."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from dse.cli import main


def _quality(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code = main(["quality", *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report: dict[str, object] = json.loads(out)
    return report


def _known_spectrum(tmp: Path, m: int = 48, n: int = 32) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(1)
    u, _ = np.linalg.qr(rng.standard_normal((m, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = 1.5 ** -np.arange(n)
    path = tmp / "spectrum.npz"
    np.savez(path, w=(u * s) @ v.T)
    return path, s


@pytest.mark.parametrize("r", [1, 2, 5, 16, 31])
def test_lowrank_error_is_the_eckart_young_tail(r: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, s = _known_spectrum(tmp_path)
    report = _quality(["--weights", str(path), "--key", "w", "--format", "lowrank", "--ranks", str(r)], capsys)
    tail = math.sqrt(float(np.sum(s[r:] ** 2)) / float(np.sum(s**2)))
    assert report["relative_error"] == pytest.approx(tail, rel=1e-9, abs=1e-12)
    assert report["params"] == r * (48 + 32)
    assert report["compression"] == pytest.approx(48 * 32 / (r * 80))


def _ttm_weight(ins: tuple[int, ...], outs: tuple[int, ...], ranks: tuple[int, ...], seed: int = 2) -> np.ndarray:
    """W[(m_1..m_d), (n_1..n_d)] from random TT-matrix cores G_k[r_{k-1}, m_k, n_k, r_k]."""
    rng = np.random.default_rng(seed)
    cores = [
        rng.standard_normal((ranks[k], m, n, ranks[k + 1])) for k, (m, n) in enumerate(zip(ins, outs, strict=True))
    ]
    t = cores[0]
    for core in cores[1:]:
        t = np.tensordot(t, core, axes=([-1], [0]))
    t = t.reshape([s for m, n in zip(ins, outs, strict=True) for s in (m, n)])  # (m1, n1, m2, n2, ...)
    d = len(ins)
    t = t.transpose([2 * k for k in range(d)] + [2 * k + 1 for k in range(d)])
    return t.reshape(math.prod(ins), math.prod(outs))


def test_tt_matrix_is_recovered_at_its_ranks_and_not_below(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ins, outs, ranks = (4, 4, 4), (2, 4, 4), (1, 3, 5, 1)
    path = tmp_path / "ttm.npz"
    np.savez(path, fc=_ttm_weight(ins, outs, ranks))
    shape = ["--weights", str(path), "--key", "fc", "--format", "ttm", "--in-shape", "4,4,4", "--out-shape", "2,4,4"]
    exact = _quality([*shape, "--ranks", "1,3,5,1"], capsys)
    assert float(exact["relative_error"]) < 1e-10  # type: ignore[arg-type]
    assert exact["params"] == 1 * 4 * 2 * 3 + 3 * 4 * 4 * 5 + 5 * 4 * 4 * 1
    internal = _quality([*shape, "--ranks", "3,5"], capsys)  # the d-1 internal ranks
    assert float(internal["relative_error"]) < 1e-10  # type: ignore[arg-type]
    one_value = _quality([*shape, "--ranks", "5"], capsys)  # (1, 5, 5, 1) holds (1, 3, 5, 1)
    assert float(one_value["relative_error"]) < 1e-10  # type: ignore[arg-type]
    for below in ("1,2,5,1", "1,3,4,1", "3"):
        report = _quality([*shape, "--ranks", below], capsys)
        assert float(report["relative_error"]) > 1e-3, below  # type: ignore[arg-type]


def _safetensors(path: Path, name: str, array: np.ndarray) -> None:
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    header = json.dumps({name: {"dtype": "F32", "shape": list(array.shape), "data_offsets": [0, len(data)]}})
    raw = header.encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def test_pytorch_weight_is_given_with_transpose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = _ttm_weight((4, 4), (2, 4), (1, 3, 1))  # [in 16, out 8]
    path = tmp_path / "linear.safetensors"
    _safetensors(path, "layer.weight", w.T)  # PyTorch nn.Linear stores [out, in]
    argv = ["--weights", str(path), "--key", "layer.weight", "--format", "ttm", "--in-shape", "4,4"]
    report = _quality([*argv, "--out-shape", "2,4", "--ranks", "3", "--transpose"], capsys)
    assert float(report["relative_error"]) < 1e-6  # type: ignore[arg-type]  # float32 storage
    assert report["dense_params"] == 128 and report["transpose"] is True
    assert "not accuracy" in str(report["measure"])


def test_table_says_fidelity_not_accuracy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = _known_spectrum(tmp_path)
    argv = ["--weights", str(path), "--key", "w", "--format", "cp", "--in-shape", "6,8", "--out-shape", "4,8"]
    assert main(["quality", *argv, "--ranks", "3"]) == 0
    out = capsys.readouterr().out
    assert "relative Frobenius error" in out and "not the accuracy" in out and "CP-ALS" in out


def _bad_cases(tmp: Path) -> list[tuple[list[str], str]]:
    path, _ = _known_spectrum(tmp)
    (tmp / "weights.txt").write_text("not weights")
    w = ["--weights", str(path), "--key", "w"]
    return [
        (["--weights", str(tmp / "nope.npz"), "--key", "w", "--format", "dense"], "--weights"),
        (["--weights", str(tmp / "weights.txt"), "--key", "w", "--format", "dense"], "--weights"),
        (["--weights", str(path), "--key", "v", "--format", "dense"], "--key"),
        ([*w, "--format", "tq"], "--format"),
        ([*w, "--format", "attention"], "--format"),
        ([*w, "--format", "tt", "--in-shape", "6,8", "--out-shape", "4,4", "--ranks", "2"], "--out-shape"),
        ([*w, "--format", "tt", "--in-shape", "6,9", "--out-shape", "4,8", "--ranks", "2"], "--in-shape"),
        ([*w, "--format", "tt", "--in-shape", "6,x", "--out-shape", "4,8", "--ranks", "2"], "--in-shape"),
        ([*w, "--format", "tt", "--in-shape", "6,8", "--out-shape", "4,8"], "--ranks"),
        ([*w, "--format", "tt", "--in-shape", "6,8", "--out-shape", "4,8", "--ranks", "2,2"], "--ranks"),
        ([*w, "--format", "tt", "--in-shape", "6,8", "--out-shape", "4,8", "--ranks", "0"], "--ranks"),
        ([*w, "--format", "dense", "--ranks", "3"], "--ranks"),
        (
            [*w, "--format", "cp", "--in-shape", "6,8", "--out-shape", "4,8", "--ranks", "2", "--max-iterations", "0"],
            "--max-iterations",
        ),
        ([*w, "--format", "cp", "--in-shape", "6,8", "--out-shape", "4,8", "--ranks", "2", "--seed", "-1"], "--seed"),
        (["--weights", str(path), "--format", "dense"], "--key"),
    ]


def test_bad_values_are_one_line_naming_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv, flag in _bad_cases(tmp_path):
        code = main(["quality", *argv])
        out, err = capsys.readouterr()
        assert code == 2 and out == "", argv
        assert err.count("\n") == 1 and flag in err.split(":", 2)[1] + err, (argv, err)
        assert err.startswith(f"error: {flag}: ") or f"required: {flag}" in err, (argv, err)
