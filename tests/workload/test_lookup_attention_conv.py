"""Oracles for the non-linear-layer formats: embeddings (row gathers), attention, convolution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dse.workload import LayerSpec, get_format, parse_layer, pass_kind

from .test_format_oracles import Arrays, contract, numeric_grad, ttm_dense


# ------------------------------------------------------------------------------- embeddings
def test_dense_embedding_is_a_gather() -> None:
    rng = np.random.default_rng(1)
    vocab, dim, ids = 7, 4, np.array([3, 0, 3, 6, 1])
    spec = LayerSpec(
        name="emb",
        format="embedding",
        in_features=vocab,
        out_features=dim,
        tokens_per_step=len(ids),
    )
    fmt = get_format("embedding")
    assert fmt.params(spec) == vocab * dim
    fwd, dg = fmt.networks(spec)
    assert (fwd.label, dg.label) == ("forward", "dg1")
    assert fwd.n_inputs == 1 and fwd.inputs[0] == fwd.output  # a copy: zero MACs
    table = rng.standard_normal((vocab, dim))
    dy = rng.standard_normal((len(ids), dim))
    np.testing.assert_array_equal(contract(fwd, {"E_rows": table[ids]}), table[ids])
    grad = np.zeros_like(table)
    np.add.at(grad, ids, contract(dg, {"dy": dy}))

    def loss(a: Arrays) -> float:
        return float(np.sum(dy * a["E"][ids]))

    np.testing.assert_allclose(grad, numeric_grad(loss, {"E": table}, "E"), atol=1e-12)


@pytest.mark.parametrize(
    ("p", "q", "ranks"),
    [((3, 4), (2, 3), (1, 2, 1)), ((2, 3, 2), (2, 2, 3), (1, 2, 3, 1))],
)
def test_ttm_embedding_matches_table_rows(p: tuple[int, ...], q: tuple[int, ...], ranks: tuple[int, ...]) -> None:
    rng = np.random.default_rng(2)
    d = len(p)
    vocab, dim = math.prod(p), math.prod(q)
    ids = np.array([0, vocab - 1, 5, 5, 2])
    spec = LayerSpec(
        name="tt_emb",
        format="ttm_embedding",
        in_features=vocab,
        out_features=dim,
        in_shape=p,
        out_shape=q,
        ranks=ranks,
        tokens_per_step=len(ids),
    )
    fmt = get_format("ttm_embedding")
    cores: Arrays = {f"G{k + 1}": rng.standard_normal((ranks[k], p[k], q[k], ranks[k + 1])) for k in range(d)}
    assert fmt.params(spec) == sum(c.size for c in cores.values())
    table_of = ttm_dense(spec)  # E[(p_1..p_d), (q_1..q_d)], the same algebra as a TTM weight
    table = table_of(cores)
    digits = np.unravel_index(ids, p)
    # S<k>[b, r_{k-1}, q_k, r_k] = G_k[:, p_k(i_b), :, :]
    slices: Arrays = {f"S{k + 1}": np.moveaxis(cores[f"G{k + 1}"][:, digits[k], :, :], 1, 0) for k in range(d)}
    dy = rng.standard_normal((len(ids), dim))
    nets = fmt.networks(spec)
    assert [n.label for n in nets] == ["forward", *[f"dg{k + 1}" for k in range(d)]]
    assert not [n for n in nets if pass_kind(n.label) == "dx"]  # ids have no gradient
    got = contract(nets[0], slices).reshape(len(ids), dim)
    np.testing.assert_allclose(got, table[ids], rtol=1e-10)

    def loss(a: Arrays) -> float:
        return float(np.sum(dy * table_of(a)[ids]))

    for k in range(d):
        net = nets[1 + k]
        per_lookup = contract(net, {**slices, "dy": dy})
        per_lookup = per_lookup.reshape(len(ids), ranks[k], q[k], ranks[k + 1])
        grad = np.zeros_like(cores[f"G{k + 1}"])
        for b in range(len(ids)):
            grad[:, digits[k][b], :, :] += per_lookup[b]
        expected = numeric_grad(loss, cores, f"G{k + 1}")
        np.testing.assert_allclose(grad, expected, rtol=1e-8, atol=1e-9)


# ------------------------------------------------------------------------------- attention
def test_attention_products_per_head() -> None:
    rng = np.random.default_rng(3)
    batch, seq, heads, head_dim = 2, 3, 2, 4
    spec = LayerSpec(
        name="attn",
        format="attention",
        in_features=heads * head_dim,
        out_features=heads * head_dim,
        tokens_per_step=batch * seq,
        heads=heads,
        seq_len=seq,
    )
    fmt = get_format("attention")
    assert fmt.params(spec) == 0
    nets = {n.label: n for n in fmt.networks(spec)}
    assert sorted(nets) == ["dx.a", "dx.k", "dx.q", "dx.v", "forward.av", "forward.qk"]
    assert [pass_kind(n.label) for n in fmt.inference_networks(spec)] == ["forward", "forward"]
    # Q, K, V are projection outputs [tokens, width] reshaped to [b, s, h, e]
    q, k, v = (
        rng.standard_normal((batch * seq, heads * head_dim)).reshape(batch, seq, heads, head_dim) for _ in range(3)
    )
    a = rng.standard_normal((batch, heads, seq, seq))
    ds = rng.standard_normal((batch, heads, seq, seq))
    do = rng.standard_normal((batch, seq, heads, head_dim))
    arrays = {"Q": q, "K": k, "V": v, "A": a, "dS": ds, "dO": do}
    out = {label: contract(net, arrays) for label, net in nets.items()}
    for b in range(batch):
        for h in range(heads):
            qh, kh, vh = q[b, :, h, :], k[b, :, h, :], v[b, :, h, :]
            np.testing.assert_allclose(out["forward.qk"][b, h], qh @ kh.T, rtol=1e-10)
            np.testing.assert_allclose(out["forward.av"][b, :, h, :], a[b, h] @ vh, rtol=1e-10)

    # the dx networks are the operand gradients of the two products
    def qk_loss(t: Arrays) -> float:
        return float(np.sum(ds * np.einsum("bshe,bthe->bhst", t["Q"], t["K"])))

    def av_loss(t: Arrays) -> float:
        return float(np.sum(do * np.einsum("bhst,bthe->bshe", t["A"], t["V"])))

    for label, loss, name in [
        ("dx.q", qk_loss, "Q"),
        ("dx.k", qk_loss, "K"),
        ("dx.a", av_loss, "A"),
        ("dx.v", av_loss, "V"),
    ]:
        np.testing.assert_allclose(out[label], numeric_grad(loss, arrays, name), rtol=1e-8, atol=1e-9)


# ------------------------------------------------------------------------------- convolution
def im2col(images: np.ndarray, kh: int, kw: int, stride: int, padding: int) -> np.ndarray:
    """Rows (image, i, j); columns (c, ki, kj) row-major."""
    n, _, h, w = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out = (h + 2 * padding - kh) // stride + 1
    w_out = (w + 2 * padding - kw) // stride + 1
    rows = []
    for img in range(n):
        for i in range(h_out):
            for j in range(w_out):
                patch = padded[img, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                rows.append(patch.reshape(-1))
    return np.array(rows)


def direct_conv(images: np.ndarray, kernel: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """out[n, i, j, o] by explicit loops over the kernel taps."""
    n, _, h, w = images.shape
    c_out, _, kh, kw = kernel.shape
    padded = np.pad(images, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out = (h + 2 * padding - kh) // stride + 1
    w_out = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, h_out, w_out, c_out))
    for ki in range(kh):
        for kj in range(kw):
            window = padded[
                :, :, ki : ki + stride * (h_out - 1) + 1 : stride, kj : kj + stride * (w_out - 1) + 1 : stride
            ]
            out += np.einsum("ncij,oc->nijo", window, kernel[:, :, ki, kj])
    return out


@pytest.mark.parametrize(
    ("fmt", "extra"),
    [
        ("conv", {}),
        ("ttm_conv", {"in_shape": [4, 3], "out_shape": [3, 1], "ranks": 2}),
        ("ttm_conv", {"in_shape": [2, 6], "out_shape": [1, 3], "ranks": [1, 3, 1]}),
    ],
)
@pytest.mark.parametrize(("stride", "padding"), [(1, 1), (2, 0)])
def test_conv_im2col_gemm_equals_direct_convolution(
    fmt: str, extra: dict[str, object], stride: int, padding: int
) -> None:
    rng = np.random.default_rng(4)
    batch, c_in, c_out, kh, kw, h, w = 2, 2, 3, 2, 3, 5, 6
    spec = parse_layer(
        {
            "name": "c",
            "format": fmt,
            "in_channels": c_in,
            "out_channels": c_out,
            "kernel": [kh, kw],
            "image": [h, w],
            "stride": stride,
            "padding": padding,
            **extra,
        },
        source="test",
        field="layers[0]",
        tokens=batch,
    )
    h_out = (h + 2 * padding - kh) // stride + 1
    w_out = (w + 2 * padding - kw) // stride + 1
    assert spec.in_features == c_in * kh * kw
    assert spec.tokens_per_step == batch * h_out * w_out
    images = rng.standard_normal((batch, c_in, h, w))
    if fmt == "conv":
        tensors: Arrays = {"W": rng.standard_normal((spec.in_features, c_out))}
        gemm_w = tensors["W"]
    else:
        r = spec.ranks
        tensors = {
            f"G{k + 1}": rng.standard_normal((r[k], spec.in_shape[k], spec.out_shape[k], r[k + 1]))
            for k in range(len(spec.in_shape))
        }
        gemm_w = ttm_dense(spec)(tensors)
    kernel = gemm_w.T.reshape(c_out, c_in, kh, kw)
    x_col = im2col(images, kh, kw, stride, padding)
    fwd = get_format(fmt).networks(spec)[0]
    got = contract(fwd, {**tensors, "x": x_col}).reshape(batch, h_out, w_out, c_out)
    np.testing.assert_allclose(got, direct_conv(images, kernel, stride, padding), rtol=1e-10)
