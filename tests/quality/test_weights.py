"""Weight files read with numpy only: safetensors written by hand here, npz, PyTorch layout."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from dse.quality import (
    QualityError,
    as_weight_matrix,
    load_weight,
    read_tensor,
    weight_keys,
    weights_file_error,
)

RNG = np.random.default_rng(0)


def write_safetensors(path: Path, tensors: dict[str, tuple[str, np.ndarray]], *, metadata: bool = True) -> None:
    """The safetensors layout, by hand: u64 LE header length, JSON header, then the raw bytes.

    ``tensors`` maps a name to ``(dtype, array)``; the array's bytes are written as they are
    (for ``BF16`` pass the uint16 bit patterns).
    """
    header: dict[str, object] = {"__metadata__": {"format": "pt"}} if metadata else {}
    blobs: list[bytes] = []
    offset = 0
    for name, (dtype, arr) in tensors.items():
        blob = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the reference writer pads the header to 8 bytes
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def _bf16_bits(x: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns of float32 values (truncation: the upper 16 bits)."""
    return (x.astype("<f4").view("<u4") >> 16).astype("<u2")


@pytest.fixture
def st_file(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    f32 = RNG.standard_normal((6, 4)).astype("<f4")
    f16 = RNG.standard_normal((3, 5)).astype("<f2")
    f64 = RNG.standard_normal((2, 7))
    bf = RNG.standard_normal((8, 3)).astype("<f4")
    i8 = RNG.integers(-128, 127, size=(4, 4)).astype("i1")
    conv = RNG.standard_normal((5, 2, 3, 3)).astype("<f4")
    path = tmp_path / "model.safetensors"
    write_safetensors(
        path,
        {
            "fc.weight": ("F32", f32),
            "half": ("F16", f16),
            "double": ("F64", f64),
            "brain": ("BF16", _bf16_bits(bf)),
            "int8": ("I8", i8),
            "conv.weight": ("F32", conv),
            "bias": ("F32", np.zeros(4, dtype="<f4")),
        },
    )
    bf_expected = (_bf16_bits(bf).astype(np.uint32) << 16).view(np.float32)
    return path, {"fc.weight": f32, "half": f16, "double": f64, "brain": bf_expected, "int8": i8, "conv.weight": conv}


def test_safetensors_round_trip_every_dtype(st_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, expected = st_file
    assert weight_keys(path) == ("bias", "brain", "conv.weight", "double", "fc.weight", "half", "int8")
    for key, arr in expected.items():
        got = read_tensor(path, key)
        assert got.shape == arr.shape, key
        np.testing.assert_array_equal(got, arr, err_msg=key)
    assert read_tensor(path, "half").dtype == np.float16
    assert read_tensor(path, "brain").dtype == np.float32
    # bfloat16 really is the top half of float32: close to the original values, not equal
    brain = read_tensor(path, "brain")
    assert np.max(np.abs(brain - expected["brain"])) == 0.0
    w = load_weight(path, "double")
    assert w.dtype == np.float64 and w.shape == (2, 7)


def test_bf16_known_values(tmp_path: Path) -> None:
    path = tmp_path / "b.safetensors"
    bits = np.array([[0x3F80, 0xC000], [0x4049, 0x0000]], dtype="<u2")  # 1.0, -2.0, 3.140625, 0.0
    write_safetensors(path, {"w": ("BF16", bits)}, metadata=False)
    np.testing.assert_array_equal(load_weight(path, "w"), [[1.0, -2.0], [3.140625, 0.0]])


def test_pytorch_layout_needs_transpose(st_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, expected = st_file
    # an nn.Linear(in=4, out=6).weight is stored [out=6, in=4]
    np.testing.assert_array_equal(load_weight(path, "fc.weight", transpose=True), expected["fc.weight"].T)
    conv = load_weight(path, "conv.weight", transpose=True)  # [C_out, C_in, kh, kw] -> [C_in*kh*kw, C_out]
    np.testing.assert_array_equal(conv, expected["conv.weight"].reshape(5, 18).T)
    with pytest.raises(QualityError, match=r"key: tensor 'conv.weight' has shape \[5, 2, 3, 3\]; expected a 2-D"):
        load_weight(path, "conv.weight")
    with pytest.raises(QualityError, match=r"key: tensor 'bias' has shape \[4\]"):
        load_weight(path, "bias", transpose=True)
    # the quality measure on the PyTorch weight: in_shape names the transposed rows
    res = weights_file_error(path, "fc.weight", fmt="lowrank", ranks=4, transpose=True)
    assert res.relative_error < 1e-6 and res.dense_params == 24
    with pytest.raises(QualityError, match=r"in_shape: .* needs transpose"):
        weights_file_error(path, "fc.weight", fmt="ttm", in_shape=(2, 2), out_shape=(2, 3), ranks=2)
    assert weights_file_error(path, "fc.weight", fmt="ttm", in_shape=(2, 2), out_shape=(2, 3), ranks=2, transpose=True)


def test_unknown_key_lists_the_available_keys(st_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = st_file
    with pytest.raises(QualityError) as err:
        load_weight(path, "fc.wieght")
    assert err.value.field == "key"
    assert "no tensor 'fc.wieght'" in str(err.value)
    assert "'fc.weight'" in str(err.value) and "'brain'" in str(err.value)
    assert "__metadata__" not in str(err.value)


def test_many_keys_are_shortened(tmp_path: Path) -> None:
    path = tmp_path / "many.npz"
    np.savez(path, **{f"layer{i:02d}": np.ones((2, 2)) for i in range(30)})
    with pytest.raises(QualityError, match=r"available: \['layer00', .*'layer19', \.\.\. \(30 in all\)\]"):
        load_weight(path, "x")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x01\x02", "shorter than 8 bytes"),
        (struct.pack("<Q", 10**6) + b"{}", "header length 1000000"),
        (struct.pack("<Q", 4) + b"nope", "header is not JSON"),
        (struct.pack("<Q", 2) + b"[]", "not a JSON object"),
    ],
)
def test_malformed_safetensors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(QualityError, match=message) as err:
        load_weight(path, "w")
    assert err.value.field == "weights"


def test_unsupported_dtype_and_bad_offsets(tmp_path: Path) -> None:
    path = tmp_path / "f8.safetensors"
    write_safetensors(path, {"w": ("F8_E4M3", np.zeros((2, 2), dtype="u1"))})
    with pytest.raises(QualityError, match="dtype F8_E4M3; supported: F64, F32, F16, BF16"):
        load_weight(path, "w")
    bad = tmp_path / "offsets.safetensors"
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}).encode()
    bad.write_bytes(struct.pack("<Q", len(header)) + header + bytes(16))
    with pytest.raises(QualityError, match=r"data_offsets \[0, 12\] do not hold"):
        load_weight(bad, "w")


def test_npz_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    w = RNG.standard_normal((12, 8))
    np.savez(path, fc1=w, head=w[:, :2].astype(np.float32))
    assert weight_keys(path) == ("fc1", "head")
    np.testing.assert_array_equal(load_weight(path, "fc1"), w)
    np.testing.assert_array_equal(load_weight(path, "fc1", transpose=True), w.T)
    assert load_weight(path, "head").dtype == np.float64
    with pytest.raises(QualityError, match=r"key: no array 'fc2' in .*; available: \['fc1', 'head'\]"):
        load_weight(path, "fc2")
    res = weights_file_error(path, "fc1", fmt="ttm", in_shape=(3, 4), out_shape=(2, 4), ranks=8)
    assert res.relative_error < 1e-12  # rank 8 holds every 12 x 8 matrix in this shape


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(QualityError, match=r"weights: .*missing\.npz'?: file not found"):
        load_weight(tmp_path / "missing.npz", "w")
    other = tmp_path / "w.bin"
    other.write_bytes(b"0")
    with pytest.raises(QualityError, match=r"weights: a \.npz or \.safetensors file"):
        weight_keys(other)
    fake = tmp_path / "fake.npz"
    fake.write_bytes(b"not a zip")
    with pytest.raises(QualityError, match=r"weights: .*not a readable \.npz file"):
        load_weight(fake, "w")


def test_as_weight_matrix_checks() -> None:
    with pytest.raises(QualityError, match="non-finite"):
        as_weight_matrix(np.array([[1.0, np.nan]]))
    with pytest.raises(QualityError, match="expected a numeric weight"):
        as_weight_matrix(np.array([["a"]]))
    with pytest.raises(QualityError, match="non-empty"):
        as_weight_matrix(np.zeros((0, 3)))
