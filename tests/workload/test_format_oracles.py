"""Numeric oracles: every network, contracted by np.einsum, computes what the dense layer does.

For a weight format with stored tensors ``cores`` the test builds the dense matrix ``W(cores)``
independently (sequential products written here, not the format's networks) and checks

- ``forward == x @ W``, ``dx == dy @ W.T``;
- ``dg<k>`` == the gradient of ``f = sum(dy * (x @ W(cores)))`` with respect to the k-th stored
  tensor, by central differences (``f`` is linear in each tensor, so they are exact up to
  rounding).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from dse.workload import LayerSpec, TensorNetwork, get_format, pass_kind

Arrays = dict[str, np.ndarray]
Builder = Callable[[Arrays], np.ndarray]

TOKENS = 3


# ----------------------------------------------------------------- dense builders (the oracle)
def ttm_dense(spec: LayerSpec, ring: bool = False) -> Builder:
    d = len(spec.in_shape)

    def build(t: Arrays) -> np.ndarray:
        r0 = spec.ranks[0]
        # acc[M, N, z, a]: rows so far, columns so far, ring start z, open rank a
        acc = np.eye(r0).reshape(1, 1, r0, r0)
        for k in range(d):
            g = t[f"G{k + 1}"]
            acc = np.einsum("MNza,amnb->MmNnzb", acc, g)
            s = acc.shape
            acc = acc.reshape(s[0] * s[1], s[2] * s[3], s[4], s[5])
        return np.asarray(np.einsum("MNzz->MN", acc)) if ring else acc[:, :, 0, 0]

    return build


def tt_dense(spec: LayerSpec) -> Builder:
    d = len(spec.in_shape)

    def chain(cores: list[np.ndarray]) -> np.ndarray:
        acc = np.eye(cores[0].shape[0])  # rows: (open left rank, modes so far)
        for g in cores:
            acc = np.einsum("Ma,amb->Mmb", acc, g).reshape(-1, g.shape[2])
        return acc

    def build(t: Arrays) -> np.ndarray:
        left = chain([t[f"G{k + 1}"] for k in range(d)])  # (M, r_d)
        right = chain([t[f"G{k + 1}"] for k in range(d, 2 * d)])  # (r_d * N, r_2d = 1)
        right = right.reshape(spec.ranks[d], -1)
        return np.asarray(left @ right)

    return build


def tucker_dense(spec: LayerSpec) -> Builder:
    d = len(spec.in_shape)

    def build(t: Arrays) -> np.ndarray:
        acc = t["C"]
        for k in range(2 * d):
            acc = np.moveaxis(np.tensordot(acc, t[f"U{k + 1}"], axes=([k], [1])), -1, k)
        return acc.reshape(spec.in_features, spec.out_features)

    return build


def cp_dense(spec: LayerSpec) -> Builder:
    d = len(spec.in_shape)

    def build(t: Arrays) -> np.ndarray:
        acc = np.ones((1, 1, spec.ranks[0]))
        for k in range(d):
            acc = np.einsum("MNr,mnr->MmNnr", acc, t[f"A{k + 1}"])
            s = acc.shape
            acc = acc.reshape(s[0] * s[1], s[2] * s[3], s[4])
        return np.asarray(acc.sum(axis=2))

    return build


# ----------------------------------------------------------------- stored tensor full shapes
def full_shapes(spec: LayerSpec) -> dict[str, tuple[int, ...]]:
    """Shapes of the stored tensors, boundary ranks of size 1 included."""
    m, n, r = spec.in_shape, spec.out_shape, spec.ranks
    d = len(m)
    if spec.format in ("ttm", "tr", "ttm_conv"):
        return {f"G{k + 1}": (r[k], m[k], n[k], r[k + 1]) for k in range(d)}
    if spec.format == "tt":
        modes = (*m, *n)
        return {f"G{k + 1}": (r[k], modes[k], r[k + 1]) for k in range(2 * d)}
    if spec.format == "tucker":
        modes = (*m, *n)
        shapes: dict[str, tuple[int, ...]] = {f"U{k + 1}": (modes[k], r[k]) for k in range(2 * d)}
        shapes["C"] = tuple(r)
        return shapes
    if spec.format == "cp":
        return {f"A{k + 1}": (m[k], n[k], r[0]) for k in range(d)}
    if spec.format == "lowrank":
        return {"U": (spec.in_features, r[0]), "V": (r[0], spec.out_features)}
    raise AssertionError(spec.format)


def builder(spec: LayerSpec) -> Builder:
    if spec.format in ("ttm", "ttm_conv"):
        return ttm_dense(spec)
    if spec.format == "tr":
        return ttm_dense(spec, ring=True)
    if spec.format == "lowrank":
        return lambda t: np.asarray(t["U"] @ t["V"])
    return {"tt": tt_dense, "tucker": tucker_dense, "cp": cp_dense}[spec.format](spec)


def spec_of(fmt: str, m: tuple[int, ...], n: tuple[int, ...], ranks: tuple[int, ...]) -> LayerSpec:
    return LayerSpec(
        name="L",
        format=fmt,
        in_features=math.prod(m),
        out_features=math.prod(n),
        in_shape=m,
        out_shape=n,
        ranks=ranks,
        tokens_per_step=TOKENS,
    )


def matrix_spec(fmt: str, m: int, n: int, rank: int) -> LayerSpec:
    """A layer of the low-rank family (``lowrank``, ``lora``): no modes, one rank."""
    return LayerSpec(
        name=f"L{m}x{n}r{rank}", format=fmt, in_features=m, out_features=n, ranks=(rank,), tokens_per_step=TOKENS
    )


CASES = [
    spec_of("ttm", (2, 3), (3, 2), (1, 3, 1)),
    spec_of("ttm", (2, 3, 2), (2, 2, 3), (1, 2, 3, 1)),
    spec_of("tt", (2, 3), (3, 2), (1, 2, 3, 2, 1)),
    spec_of("tt", (2, 2, 3), (3, 2, 2), (1, 2, 3, 2, 3, 2, 1)),
    spec_of("tt", (6,), (4,), (1, 3, 1)),
    spec_of("tucker", (2, 3), (3, 2), (2, 3, 2, 1)),
    spec_of("tucker", (2, 2, 3), (3, 2, 2), (2, 1, 3, 2, 2, 2)),
    spec_of("tr", (2, 3), (3, 2), (2, 3, 2)),
    spec_of("tr", (2, 2, 3), (3, 2, 2), (3, 2, 2, 3)),
    spec_of("tr", (2, 3), (3, 2), (1, 3, 1)),
    spec_of("cp", (2, 3), (3, 2), (3,)),
    spec_of("cp", (2, 2, 3), (3, 2, 2), (4,)),
    matrix_spec("lowrank", 6, 5, 2),
    matrix_spec("lowrank", 4, 3, 5),
    matrix_spec("lora", 6, 5, 2),
]
"""Every weight format's layers (``tests/contraction/test_every_format_paths.py`` runs every
optimizer on all of their networks)."""

SINGLE_FORWARD = [c for c in CASES if c.format != "lora"]
"""Formats whose weight is one network of stored tensors (``lora`` has its own oracle test)."""


def _ids(spec: LayerSpec) -> str:
    return (
        f"{spec.format}-d{len(spec.in_shape)}-r{'x'.join(map(str, spec.ranks))}-{spec.in_features}x{spec.out_features}"
    )


def contract(net: TensorNetwork, arrays: Arrays) -> np.ndarray:
    """Contract ``net`` with operands looked up by tensor name and reshaped to its shapes."""
    ops = [arrays[name].reshape(shape) for name, shape in zip(net.names, net.shapes(), strict=True)]
    return net.contract_einsum(ops)


def numeric_grad(f: Callable[[Arrays], float], arrays: Arrays, name: str) -> np.ndarray:
    base = arrays[name]
    grad = np.zeros_like(base)
    for pos in np.ndindex(base.shape):
        up, down = base.copy(), base.copy()
        up[pos] += 1.0
        down[pos] -= 1.0
        grad[pos] = (f({**arrays, name: up}) - f({**arrays, name: down})) / 2.0
    return grad


@pytest.mark.parametrize("spec", SINGLE_FORWARD, ids=_ids)
def test_weight_format_networks_match_dense(spec: LayerSpec) -> None:
    rng = np.random.default_rng(7)
    fmt = get_format(spec.format)
    nets = fmt.networks(spec)
    by_label = {net.label: net for net in nets}
    assert len(by_label) == len(nets)
    shapes = full_shapes(spec)
    tensors: Arrays = {name: rng.standard_normal(s) for name, s in shapes.items()}
    w_of = builder(spec)
    w = w_of(tensors)
    assert w.shape == (spec.in_features, spec.out_features)
    x = rng.standard_normal((TOKENS, spec.in_features))
    dy = rng.standard_normal((TOKENS, spec.out_features))
    arrays = {**tensors, "x": x, "dy": dy}

    fwd = by_label["forward"]
    # the documented dg order: G1..; A1..; U1..U<2d> then C (the order of full_shapes)
    assert list(fwd.names[1:]) == list(shapes)
    assert fmt.params(spec) == sum(int(np.prod(s)) for s in shapes.values())
    np.testing.assert_allclose(contract(fwd, arrays).reshape(TOKENS, -1), x @ w, rtol=1e-10)
    np.testing.assert_allclose(contract(by_label["dx"], arrays).reshape(TOKENS, -1), dy @ w.T, rtol=1e-10)

    def loss(a: Arrays) -> float:
        return float(np.sum(dy * (x @ w_of(a))))

    dgs = [net for net in nets if pass_kind(net.label) == "dg"]
    assert [net.label for net in dgs] == [f"dg{k + 1}" for k in range(len(shapes))]
    for k, net in enumerate(dgs):
        missing = [n for n in fwd.names[1:] if n not in net.names]
        assert missing == [fwd.names[1 + k]], "dg<k> is the gradient of the k-th stored tensor"
        name = missing[0]
        got = contract(net, arrays).reshape(shapes[name])
        np.testing.assert_allclose(got, numeric_grad(loss, tensors, name), rtol=1e-8, atol=1e-9)


def test_tr_with_unit_boundary_equals_ttm() -> None:
    tr = get_format("tr").networks(spec_of("tr", (2, 3, 2), (2, 2, 3), (1, 2, 3, 1)))
    ttm = get_format("ttm").networks(spec_of("ttm", (2, 3, 2), (2, 2, 3), (1, 2, 3, 1)))
    assert [(n.inputs, n.output, n.sizes) for n in tr] == [(n.inputs, n.output, n.sizes) for n in ttm]


def test_oracle_catches_a_wrong_network() -> None:
    """The oracle is not vacuous: the forward network with the input modes swapped fails it."""
    spec = spec_of("ttm", (3, 3), (2, 2), (1, 3, 1))
    fwd = get_format("ttm").networks(spec)[0]
    rng = np.random.default_rng(0)
    tensors: Arrays = {n: rng.standard_normal(s) for n, s in full_shapes(spec).items()}
    x = rng.standard_normal((TOKENS, 9))
    wrong = TensorNetwork.build(
        inputs=[("b", "m2", "m1"), *fwd.inputs[1:]],
        output=fwd.output,
        sizes=fwd.size_dict,
        names=fwd.names,
        roles=fwd.roles,
        label="forward",
    )
    expected = x @ ttm_dense(spec)(tensors)
    arrays = {**tensors, "x": x}
    np.testing.assert_allclose(contract(fwd, arrays).reshape(TOKENS, -1), expected, rtol=1e-10)
    assert not np.allclose(contract(wrong, arrays).reshape(TOKENS, -1), expected)
