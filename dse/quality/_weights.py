"""Weight matrices from ``.npz`` and ``.safetensors`` files, read with numpy only.

Layout: TNN-DSE's weight is ``W[in_features, out_features]`` (``y = x W``), the layout of every
layer format (``W[(m_1..m_d), (n_1..n_d)]`` for the tensorized ones). PyTorch stores an
``nn.Linear`` weight as ``[out_features, in_features]`` (``y = x W^T``): load it with
``transpose=True``. A PyTorch convolution kernel ``[C_out, C_in, kh, kw]`` is also accepted with
``transpose=True``: it is flattened to ``[C_out, C_in*kh*kw]`` first, which is the im2col layout
of the ``conv``/``ttm_conv`` formats (channels outermost).

safetensors (the format of the Hugging Face ``safetensors`` package): 8 bytes of little-endian
unsigned header length ``N``, ``N`` bytes of a UTF-8 JSON header mapping every tensor name to
``{"dtype", "shape", "data_offsets": [begin, end]}`` (byte offsets into the data that follows the
header; an optional ``"__metadata__"`` entry holds strings), then the little-endian data. Only
the requested tensor's bytes are read. Supported dtypes: ``F64``, ``F32``, ``F16``, ``BF16``
(bfloat16 is the upper half of a float32: widened by a 16-bit shift), ``I64``, ``I32``,
``I16``, ``I8``, ``U64``, ``U32``, ``U16``, ``U8``, ``BOOL``.
"""

from __future__ import annotations

import json
import math
import struct
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dse.quality._errors import QualityError

SAFETENSORS_DTYPES: Mapping[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}
"""safetensors dtype -> the numpy dtype its bytes are read as (``BF16`` is widened afterwards)."""

_MAX_HEADER_BYTES = 100_000_000
_SHOWN_KEYS = 20


def _path(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise QualityError("weights", f"{str(p)!r}: file not found")
    if p.suffix not in (".npz", ".safetensors"):
        raise QualityError("weights", f"a .npz or .safetensors file, got {str(p)!r}")
    return p


def _keys_text(keys: tuple[str, ...]) -> str:
    shown = ", ".join(repr(k) for k in keys[:_SHOWN_KEYS])
    more = f", ... ({len(keys)} in all)" if len(keys) > _SHOWN_KEYS else ""
    return f"[{shown}{more}]"


def _safetensors_header(p: Path) -> tuple[dict[str, Any], int]:
    """The JSON header (tensor entries only) and the byte offset where the data starts."""
    size = p.stat().st_size
    with p.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise QualityError("weights", f"{str(p)!r}: not a safetensors file (shorter than 8 bytes)")
        (n,) = struct.unpack("<Q", head)
        if n > min(size - 8, _MAX_HEADER_BYTES):
            raise QualityError(
                "weights", f"{str(p)!r}: not a safetensors file (header length {n} of a {size}-byte file)"
            )
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QualityError("weights", f"{str(p)!r}: not a safetensors file (header is not JSON: {exc})") from None
    if not isinstance(header, dict):
        raise QualityError("weights", f"{str(p)!r}: not a safetensors file (header is not a JSON object)")
    header.pop("__metadata__", None)
    return header, 8 + n


def _read_safetensors(p: Path, key: str) -> np.ndarray:
    header, start = _safetensors_header(p)
    if key not in header:
        raise QualityError("key", f"no tensor {key!r} in {str(p)!r}; available: {_keys_text(tuple(sorted(header)))}")
    entry = header[key]
    try:
        dtype_name = str(entry["dtype"])
        shape = tuple(int(s) for s in entry["shape"])
        begin, end = (int(o) for o in entry["data_offsets"])
    except (KeyError, TypeError, ValueError):
        raise QualityError("weights", f"{str(p)!r}: malformed header entry for {key!r}: {entry!r}") from None
    if dtype_name not in SAFETENSORS_DTYPES:
        raise QualityError(
            "weights", f"tensor {key!r} has dtype {dtype_name}; supported: {', '.join(SAFETENSORS_DTYPES)}"
        )
    dtype = np.dtype(SAFETENSORS_DTYPES[dtype_name])
    nbytes = math.prod(shape) * dtype.itemsize
    if begin < 0 or end - begin != nbytes or start + end > p.stat().st_size:
        raise QualityError(
            "weights",
            f"{str(p)!r}: tensor {key!r} data_offsets [{begin}, {end}] do not hold {shape} x {dtype_name} "
            f"({nbytes} bytes) inside the file",
        )
    with p.open("rb") as f:
        f.seek(start + begin)
        buf = f.read(nbytes)
    arr = np.frombuffer(buf, dtype=dtype)
    if dtype_name == "BF16":
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    return arr.reshape(shape)


def _npz(p: Path) -> Any:
    try:
        return np.load(p, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise QualityError("weights", f"{str(p)!r}: not a readable .npz file ({exc})") from None


def weight_keys(path: str | Path) -> tuple[str, ...]:
    """Names of the tensors in a ``.npz`` or ``.safetensors`` file, sorted.

    Raises:
        QualityError: the file is missing, has another suffix, or is not a valid file of its kind.
    """
    p = _path(path)
    if p.suffix == ".npz":
        with _npz(p) as data:
            return tuple(sorted(data.files))
    return tuple(sorted(_safetensors_header(p)[0]))


def read_tensor(path: str | Path, key: str) -> np.ndarray:
    """The tensor ``key`` of a ``.npz`` or ``.safetensors`` file, as stored (dtype and shape).

    ``BF16`` comes back as float32 (exact: bfloat16 is a truncated float32).

    Raises:
        QualityError: missing file, unknown key (the message lists the available keys),
            unsupported dtype or a malformed file.
    """
    p = _path(path)
    if p.suffix == ".safetensors":
        return _read_safetensors(p, key)
    with _npz(p) as data:
        if key not in data.files:
            raise QualityError(
                "key", f"no array {key!r} in {str(p)!r}; available: {_keys_text(tuple(sorted(data.files)))}"
            )
        try:
            return np.asarray(data[key])
        except ValueError as exc:  # object arrays need pickle, which is refused
            raise QualityError("weights", f"{str(p)!r}: array {key!r} is not numeric ({exc})") from None


def as_weight_matrix(tensor: np.ndarray, *, transpose: bool = False, name: str = "weight") -> np.ndarray:
    """A tensor as the float64 matrix ``W[in_features, out_features]``.

    Args:
        tensor: a 2-D array ``[in, out]``, or with ``transpose`` a PyTorch weight ``[out, in]``
            (or ``[out, in, kh, kw]``: flattened to ``[out, in*kh*kw]`` before the transpose).
        transpose: the tensor is in PyTorch layout (``nn.Linear.weight`` is ``[out, in]``).
        name: what the tensor is, for messages.

    Raises:
        QualityError: not 2-D (or not at least 2-D with ``transpose``), empty, or not finite.
    """
    arr = np.asarray(tensor)
    if arr.dtype.kind not in "biuf":
        raise QualityError("key", f"{name} has dtype {arr.dtype}; expected a numeric weight")
    if transpose and arr.ndim > 2:
        arr = arr.reshape(arr.shape[0], -1)
    if arr.ndim != 2:
        hint = " (or >= 2-D with transpose, PyTorch layout)" if not transpose else ""
        raise QualityError("key", f"{name} has shape {list(arr.shape)}; expected a 2-D matrix{hint}")
    if arr.size == 0:
        raise QualityError("key", f"{name} has shape {list(arr.shape)}; expected a non-empty matrix")
    w = np.ascontiguousarray(arr.T if transpose else arr, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise QualityError("key", f"{name} has non-finite entries (inf or nan)")
    return w


def tensor_shape(path: str | Path, key: str) -> tuple[int, ...]:
    """The stored shape of tensor ``key``, read from the file's header only (no data is read).

    Raises:
        QualityError: missing file, unknown key (the message lists the available keys) or a
            malformed file.
    """
    p = _path(path)
    if p.suffix == ".safetensors":
        header, _ = _safetensors_header(p)
        if key not in header:
            raise QualityError(
                "key", f"no tensor {key!r} in {str(p)!r}; available: {_keys_text(tuple(sorted(header)))}"
            )
        try:
            return tuple(int(s) for s in header[key]["shape"])
        except (KeyError, TypeError, ValueError):
            raise QualityError("weights", f"{str(p)!r}: malformed header entry for {key!r}") from None
    try:
        with zipfile.ZipFile(p) as archive:
            names = {n.removesuffix(".npy"): n for n in archive.namelist()}
            if key not in names:
                raise QualityError(
                    "key", f"no array {key!r} in {str(p)!r}; available: {_keys_text(tuple(sorted(names)))}"
                )
            with archive.open(names[key]) as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, _ = read(f)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise QualityError("weights", f"{str(p)!r}: not a readable .npz file ({exc})") from None
    return tuple(int(s) for s in shape)


def weight_matrix_shape(path: str | Path, key: str, *, transpose: bool = False) -> tuple[int, int]:
    """``(in_features, out_features)`` of the weight :func:`load_weight` would return, from the
    header only.

    Raises:
        QualityError: see :func:`tensor_shape`; or a tensor that is no matrix.
    """
    shape = tensor_shape(path, key)
    if transpose and len(shape) > 2:
        shape = (shape[0], math.prod(shape[1:]))
    if len(shape) != 2:
        raise QualityError("key", f"tensor {key!r} has shape {list(shape)}; expected a 2-D matrix")
    return (shape[1], shape[0]) if transpose else (shape[0], shape[1])


def load_weight(path: str | Path, key: str, *, transpose: bool = False) -> np.ndarray:
    """The weight matrix ``W[in_features, out_features]`` (float64) stored as ``key`` in a file.

    Args:
        path: a ``.npz`` or ``.safetensors`` file.
        key: the array (npz) or tensor (safetensors) name, e.g. ``model.layers.0.mlp.up_proj.weight``.
        transpose: the stored tensor is in PyTorch layout ``[out_features, in_features]`` (every
            ``nn.Linear.weight``); it is transposed to ``[in, out]``.

    Raises:
        QualityError: see :func:`read_tensor` and :func:`as_weight_matrix`.
    """
    return as_weight_matrix(read_tensor(path, key), transpose=transpose, name=f"tensor {key!r}")
