"""Each format's approximation algorithm against a case with a known answer.

- lowrank: Eckart-Young on a matrix of known spectrum (the error is the discarded norm);
- tt, ttm, tucker: a weight built from random factors of exact ranks is recovered at those ranks
  (error ~1e-12) and not one rank lower (error clearly > 0, and at least the Eckart-Young error
  of the unfolding that rank constrains);
- tr: an exact ring is recovered by TR-SVD + TR-ALS; TR-SVD alone is *not* exact at the ring's
  ranks (tested) but obeys its error bound (tested);
- cp: a rank-R weight is recovered by ALS from a fixed seed.
Every approximation's factors, put into the format's forward network, give its matrix.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dse.quality import QualityError, approximate, weight_error
from dse.quality._decompose import ring_to_tensor, tr_svd, tt_svd
from dse.workload import LayerSpec, get_format

M, N = (3, 4, 2), (2, 3, 4)  # a 24 x 24 weight as 3 + 3 modes
EXACT = 1e-12


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _orthonormal(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return q


def _ttm_weight(ranks: tuple[int, ...], ring: bool = False, seed: int = 0) -> np.ndarray:
    """``W[(m_1..m_d), (n_1..n_d)]`` of TTM (or ring) cores ``G_k[r_{k-1}, m_k, n_k, r_k]``."""
    rng = _rng(seed)
    cores = [rng.standard_normal((ranks[k], M[k], N[k], ranks[k + 1])) for k in range(3)]
    close = "a" if ring else "d"
    w = np.einsum(f"aijb,bklc,cmn{close}->ikmjln", *cores)
    return w.reshape(math.prod(M), math.prod(N))


def _unfolding_tail(w: np.ndarray, rows: int, rank: int) -> float:
    """Relative Eckart-Young error of the tensor's unfolding with ``rows`` rows at ``rank``."""
    s = np.linalg.svd(w.reshape(rows, -1), compute_uv=False)
    return float(np.sqrt(np.sum(s[rank:] ** 2)) / np.linalg.norm(w))


# ---------------------------------------------------------------------------------- lowrank
@pytest.mark.parametrize(("m", "n", "r"), [(40, 30, 5), (30, 40, 1), (16, 16, 15)])
def test_lowrank_eckart_young(m: int, n: int, r: int) -> None:
    rng = _rng(1)
    k = min(m, n)
    sigma = np.geomspace(10.0, 0.01, k)
    w = _orthonormal(rng, m, k) @ np.diag(sigma) @ _orthonormal(rng, n, k).T
    res = weight_error(w, fmt="lowrank", ranks=r)
    expected = math.sqrt(float(np.sum(sigma[r:] ** 2))) / math.sqrt(float(np.sum(sigma**2)))
    assert abs(res.relative_error - expected) < 1e-10
    assert res.error_bound is not None and abs(res.error_bound - expected) < 1e-10
    assert (res.params, res.dense_params, res.ranks, res.ranks_used) == (r * (m + n), m * n, (r,), (r,))
    assert res.compression == m * n / (r * (m + n))


def test_lowrank_full_rank_is_exact_and_pads() -> None:
    w = _rng(2).standard_normal((6, 4))
    approx = approximate(w, fmt="lowrank", ranks=9)
    assert approx.ranks_used == (4,)
    assert approx.factors["U"].shape == (6, 9)
    np.testing.assert_allclose(approx.matrix, w, atol=1e-12)


# ---------------------------------------------------------------------------------- tt, ttm
def test_ttm_recovered_at_its_ranks_and_not_below() -> None:
    ranks = (1, 3, 4, 1)
    w = _ttm_weight(ranks)
    res = weight_error(w, fmt="ttm", in_shape=M, out_shape=N, ranks=[3, 4])
    assert res.relative_error < EXACT
    assert res.ranks == res.ranks_used == ranks
    assert res.params == get_format("ttm").params(
        LayerSpec(name="x", format="ttm", in_features=24, out_features=24, in_shape=M, out_shape=N, ranks=ranks)
    )
    # one rank lower at either internal position: an error no TT with those ranks can avoid
    interleaved = w.reshape(*M, *N).transpose(0, 3, 1, 4, 2, 5)
    for k, lower in ((1, [2, 4]), (2, [3, 3])):
        low = weight_error(w, fmt="ttm", in_shape=M, out_shape=N, ranks=lower)
        rows = math.prod(M[:k]) * math.prod(N[:k])
        floor = _unfolding_tail(interleaved, rows, lower[k - 1])
        assert low.relative_error > 1e-3
        assert low.relative_error >= floor - 1e-12
        assert low.error_bound is not None and low.relative_error <= low.error_bound + 1e-12


def test_tt_order_2d_recovered_at_its_ranks_and_not_below() -> None:
    rng = _rng(3)
    modes = (*M, *N)
    ranks = (1, 2, 3, 4, 3, 2, 1)
    cores = [rng.standard_normal((ranks[k], modes[k], ranks[k + 1])) for k in range(6)]
    w = ring_to_tensor(cores).reshape(24, 24)
    res = weight_error(w, fmt="tt", in_shape=M, out_shape=N, ranks=list(ranks))
    assert res.relative_error < EXACT
    assert res.ranks_used == ranks
    assert res.params == sum(ranks[k] * modes[k] * ranks[k + 1] for k in range(6))
    for k in range(1, 6):
        lower = list(ranks)
        lower[k] -= 1
        low = weight_error(w, fmt="tt", in_shape=M, out_shape=N, ranks=lower)
        floor = _unfolding_tail(w.reshape(modes), math.prod(modes[:k]), lower[k])
        assert low.relative_error > 1e-3, k
        assert low.relative_error >= floor - 1e-12, k


def test_tt_single_rank_expands_over_the_2d_modes_and_caps() -> None:
    w = _rng(4).standard_normal((24, 24))
    res = weight_error(w, fmt="tt", in_shape=M, out_shape=N, ranks=50)
    assert res.ranks == (1, 50, 50, 50, 50, 50, 1)
    assert res.ranks_used == (1, 3, 12, 24, 12, 4, 1)  # min(prod left modes, prod right modes)
    assert res.relative_error < EXACT


# ---------------------------------------------------------------------------------- tucker
def test_tucker_recovered_at_its_multilinear_rank_and_not_below() -> None:
    rng = _rng(5)
    modes = (*M, *N)
    ranks = (2, 3, 1, 2, 2, 3)
    core = rng.standard_normal(ranks)
    w = core
    for k, (size, r) in enumerate(zip(modes, ranks, strict=True)):
        w = np.moveaxis(np.tensordot(w, rng.standard_normal((size, r)), axes=([k], [1])), -1, k)
    w = w.reshape(24, 24)
    res = weight_error(w, fmt="tucker", in_shape=M, out_shape=N, ranks=list(ranks))
    assert res.relative_error < EXACT
    for k in (0, 1, 5):
        lower = list(ranks)
        lower[k] -= 1
        low = weight_error(w, fmt="tucker", in_shape=M, out_shape=N, ranks=lower)
        floor = _unfolding_tail(np.moveaxis(w.reshape(modes), k, 0), modes[k], lower[k])
        assert low.relative_error > 1e-3
        assert floor - 1e-12 <= low.relative_error
        assert low.error_bound is not None and low.relative_error <= low.error_bound + 1e-12


# ---------------------------------------------------------------------------------- tr
def test_tr_exact_ring_recovered_by_als() -> None:
    w = _ttm_weight((2, 3, 2, 2), ring=True)
    res = weight_error(w, fmt="tr", in_shape=M, out_shape=N, ranks=[2, 3, 2])
    assert res.ranks == (2, 3, 2, 2)
    assert res.relative_error < 1e-8
    assert 0 < res.iterations <= 100
    assert res.error_bound is not None and res.relative_error <= res.error_bound
    low = weight_error(w, fmt="tr", in_shape=M, out_shape=N, ranks=[2, 2, 2])
    assert low.relative_error > 1e-2


def test_tr_svd_alone_obeys_its_bound_but_is_not_exact_at_the_ring_ranks() -> None:
    """The honest statement of TR-SVD: bounded by the discarded norms, not exact for a ring."""
    w = _ttm_weight((2, 3, 2, 2), ring=True)
    x = w.reshape(*M, *N).transpose(0, 3, 1, 4, 2, 5).reshape(6, 12, 8)
    cores, _, discarded = tr_svd(x, (2, 3, 2, 2))
    error = float(np.linalg.norm(x - ring_to_tensor(cores)))
    assert error <= math.sqrt(sum(e * e for e in discarded)) + 1e-9
    assert error / np.linalg.norm(x) > 1e-3  # the first step's basis mixes r_0 and r_1
    # with r_0 = 1 the ring is an open train and TR-SVD is TT-SVD: exact
    open_w = _ttm_weight((1, 3, 2, 1))
    x1 = open_w.reshape(*M, *N).transpose(0, 3, 1, 4, 2, 5).reshape(6, 12, 8)
    cores1, _, _ = tr_svd(x1, (1, 3, 2, 1))
    tt_cores, _, _ = tt_svd(x1, (1, 3, 2, 1))
    np.testing.assert_allclose(ring_to_tensor(cores1), x1, atol=1e-11)
    np.testing.assert_allclose(ring_to_tensor(tt_cores), x1, atol=1e-11)


# ---------------------------------------------------------------------------------- cp
@pytest.mark.parametrize("rank", [1, 3, 5])
def test_cp_als_recovers_a_rank_r_weight_from_a_fixed_seed(rank: int) -> None:
    rng = _rng(6)
    factors = [rng.standard_normal((M[k], N[k], rank)) for k in range(3)]
    w = np.einsum("ijr,klr,mnr->ikmjln", *factors).reshape(24, 24)
    res = weight_error(w, fmt="cp", in_shape=M, out_shape=N, ranks=rank)
    assert res.relative_error < 1e-8
    assert res.params == rank * sum(m * n for m, n in zip(M, N, strict=True))
    again = weight_error(w, fmt="cp", in_shape=M, out_shape=N, ranks=rank)
    assert again == res  # deterministic
    if rank > 1:
        assert weight_error(w, fmt="cp", in_shape=M, out_shape=N, ranks=rank - 1).relative_error > 1e-2


def test_cp_iteration_cap() -> None:
    w = _rng(7).standard_normal((24, 24))
    res = weight_error(w, fmt="cp", in_shape=M, out_shape=N, ranks=4, max_iterations=3, tol=0.0)
    assert res.iterations == 3
    assert "3 sweeps of at most 3" in res.algorithm


# ---------------------------------------------------------------------------------- all formats
FORMAT_CASES = [
    ("dense", (), (), None),
    ("lowrank", (), (), 3),
    ("lora", (), (), 3),
    ("tt", M, N, 2),
    ("ttm", M, N, 3),
    ("tucker", M, N, 2),
    ("tr", M, N, 2),
    ("tr", M, N, [1, 3, 2]),
    ("cp", M, N, 3),
]


@pytest.mark.parametrize(("fmt", "ins", "outs", "ranks"), FORMAT_CASES)
def test_factors_are_what_the_formats_networks_contract(
    fmt: str, ins: tuple[int, ...], outs: tuple[int, ...], ranks: int | list[int] | None
) -> None:
    """The factors, named and laid out as the format's forward network(s) take them, give W_hat."""
    w = _rng(8).standard_normal((24, 24))
    approx = approximate(w, fmt=fmt, in_shape=ins, out_shape=outs, ranks=ranks, max_iterations=5)
    layer_format = get_format(fmt)
    spec = LayerSpec(
        name="w",
        format=fmt,
        in_features=24,
        out_features=24,
        in_shape=ins,
        out_shape=outs,
        ranks=approx.ranks,
        tokens_per_step=24,
    )
    total = np.zeros((24, 24))
    for net in layer_format.inference_networks(spec):
        operands = {"x": np.eye(24), **approx.factors}
        ops = [operands[name].reshape(shape) for name, shape in zip(net.names, net.shapes(), strict=True)]
        total += net.contract_einsum(ops).reshape(24, 24)
    np.testing.assert_allclose(total, approx.matrix, atol=1e-10)
    res = weight_error(w, fmt=fmt, in_shape=ins, out_shape=outs, ranks=ranks, max_iterations=5)
    assert res.params == layer_format.params(spec)
    assert res.trainable_params == layer_format.trainable_params(spec)
    assert 0.0 <= res.relative_error <= 1.0 + 1e-12
    data = res.to_dict()
    assert {"relative_error", "params", "compression", "ranks", "algorithm"} <= set(data)
    assert data["compression"] == res.dense_params / res.params


def test_lora_and_dense_are_exact_and_lora_stores_more() -> None:
    w = _rng(9).standard_normal((24, 16))
    lora = weight_error(w, fmt="lora", ranks=4)
    assert lora.relative_error == 0.0
    assert (lora.params, lora.trainable_params, lora.dense_params) == (24 * 16 + 4 * 40, 4 * 40, 24 * 16)
    assert lora.compression < 1
    dense = weight_error(w, fmt="dense")
    assert (dense.relative_error, dense.params, dense.compression) == (0.0, 384, 1.0)


def test_conv_and_embedding_formats_use_their_matrix_layout() -> None:
    w = _ttm_weight((1, 2, 2, 1))
    assert weight_error(w, fmt="ttm_conv", in_shape=M, out_shape=N, ranks=2).relative_error < EXACT
    assert weight_error(w, fmt="ttm_embedding", in_shape=M, out_shape=N, ranks=2).relative_error < EXACT
    assert weight_error(w, fmt="conv").relative_error == 0.0


def test_zero_weight() -> None:
    res = weight_error(np.zeros((24, 24)), fmt="cp", in_shape=M, out_shape=N, ranks=2)
    assert res.relative_error == 0.0


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"fmt": "nope"}, "format", "unknown layer format 'nope'"),
        ({"fmt": "attention"}, "format", "format 'attention' has no weight matrix"),
        (
            {"fmt": "ttm", "in_shape": (4, 6), "out_shape": (4, 6), "ranks": 2},
            "in_shape",
            "multiplies to 24, but the weight has 48 rows",
        ),
        ({"fmt": "ttm", "in_shape": (6, 8), "out_shape": (4, 8), "ranks": 2}, "out_shape", "needs transpose"),
        ({"fmt": "ttm", "in_shape": (6, 8), "out_shape": (24,), "ranks": 2}, "out_shape", "at least 2 factors"),
        ({"fmt": "tt", "in_shape": (6, 8), "out_shape": (2, 3, 4), "ranks": 2}, "out_shape", "2 factors like in_shape"),
        ({"fmt": "tt", "in_shape": (6, 8), "out_shape": (4, 6), "ranks": [2, 2]}, "ranks", "format 'tt' takes one"),
        ({"fmt": "tt", "in_shape": (6, 8), "out_shape": (4, 6)}, "ranks", "required for format 'tt'"),
        ({"fmt": "tt", "in_shape": (6, 8), "out_shape": (4, 6), "ranks": [2, 2, 2, 2, 2]}, "ranks", "boundary"),
        ({"fmt": "tr", "in_shape": (6, 8), "out_shape": (4, 6), "ranks": [2, 3, 4]}, "ranks", "close the tensor ring"),
        ({"fmt": "dense", "ranks": 3}, "ranks", "format 'dense' takes no ranks"),
        ({"fmt": "lowrank", "ranks": 0}, "ranks", "ranks must be >= 1"),
        (
            {"fmt": "cp", "in_shape": (6, 8), "out_shape": (4, 6), "ranks": 2, "max_iterations": 0},
            "max_iterations",
            ">= 1",
        ),
        ({"fmt": "ttm", "in_shape": (6, 0), "out_shape": (4, 6), "ranks": 2}, "in_shape", "integers >= 1"),
    ],
)
def test_errors_are_one_line_naming_the_field(kwargs: dict[str, object], field: str, message: str) -> None:
    w = np.ones((48, 24))
    with pytest.raises(QualityError) as err:
        weight_error(w, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field
    assert message in str(err.value)
    assert str(err.value).startswith(f"{field}: ")
    assert "\n" not in str(err.value)
