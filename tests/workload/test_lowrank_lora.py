"""The low-rank family: ``lowrank`` (W = U V) and ``lora`` (frozen W plus adapter A B).

Oracles: np.einsum of every network against the dense products written here; weight gradients
against central differences; exact MAC counts of the MAC-optimal path against a closed form.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dse import ConfigError
from dse.contraction import optimize_network
from dse.workload import (
    LayerSpec,
    TensorNetwork,
    WorkloadError,
    get_format,
    parse_workload,
    pass_kind,
)
from tests.workload.test_format_oracles import Arrays, contract, matrix_spec, numeric_grad


def _adapter_macs(b: int, m: int, n: int, r: int) -> int:
    """MAC-optimal cost of a three-operand low-rank product: the two orders of two GEMMs.

    Either the rank-r intermediate is formed from the token side (``b r m + b r n``), or the
    ``m x n`` side is formed first (``m n r + b m n``, or ``b m n + m n r`` for the weight
    gradients, the same sum). An outer product of operands sharing no index is never cheaper.
    """
    return min(b * r * (m + n), m * n * (r + b))


SIZES = [(3, 6, 5, 2), (1, 4, 3, 5), (20, 4, 3, 10), (7, 16, 9, 1)]


def _by_label(spec: LayerSpec) -> dict[str, TensorNetwork]:
    return {net.label: net for net in get_format(spec.format).networks(spec)}


@pytest.mark.parametrize(("b", "m", "n", "r"), SIZES)
def test_lowrank_exact_macs(b: int, m: int, n: int, r: int) -> None:
    spec = LayerSpec(name="L", format="lowrank", in_features=m, out_features=n, ranks=(r,), tokens_per_step=b)
    nets = _by_label(spec)
    assert list(nets) == ["forward", "dx", "dg1", "dg2"]
    for optimizer in ("dp", "exhaustive"):
        for label, net in nets.items():
            assert optimize_network(net, optimizer=optimizer).macs == _adapter_macs(b, m, n, r), label


@pytest.mark.parametrize(("b", "m", "n", "r"), SIZES)
def test_lora_exact_macs(b: int, m: int, n: int, r: int) -> None:
    spec = LayerSpec(name="L", format="lora", in_features=m, out_features=n, ranks=(r,), tokens_per_step=b)
    nets = _by_label(spec)
    assert list(nets) == ["forward.base", "forward.adapter", "dx.base", "dx.adapter", "dg1", "dg2"]
    expected = {
        "forward.base": b * m * n,
        "forward.adapter": _adapter_macs(b, m, n, r),
        "dx.base": b * m * n,
        "dx.adapter": _adapter_macs(b, m, n, r),
        "dg1": _adapter_macs(b, m, n, r),
        "dg2": _adapter_macs(b, m, n, r),
    }
    for label, net in nets.items():
        assert optimize_network(net, optimizer="dp").macs == expected[label], label
    forward = sum(optimize_network(n_).macs for n_ in get_format("lora").inference_networks(spec))
    assert forward == b * m * n + _adapter_macs(b, m, n, r)


def test_llama_sized_lora_macs() -> None:
    """A LLaMA-7B q projection (4096 x 4096) at 512 tokens, adapter rank 16: the closed form."""
    b, m, n, r = 512, 4096, 4096, 16
    spec = LayerSpec(name="q", format="lora", in_features=m, out_features=n, ranks=(r,), tokens_per_step=b)
    total = sum(optimize_network(net).macs for net in get_format("lora").networks(spec))
    assert total == 2 * b * m * n + 4 * b * r * (m + n)


def test_lora_networks_match_dense_and_gradients() -> None:
    spec = matrix_spec("lora", 6, 5, 2)
    rng = np.random.default_rng(11)
    t = spec.tokens_per_step
    tensors: Arrays = {
        "W": rng.standard_normal((6, 5)),
        "A": rng.standard_normal((6, 2)),
        "B": rng.standard_normal((2, 5)),
    }
    x = rng.standard_normal((t, 6))
    dy = rng.standard_normal((t, 5))
    arrays = {**tensors, "x": x, "dy": dy}
    nets = _by_label(spec)
    w_eff = tensors["W"] + tensors["A"] @ tensors["B"]
    fwd = contract(nets["forward.base"], arrays) + contract(nets["forward.adapter"], arrays)
    np.testing.assert_allclose(fwd, x @ w_eff, rtol=1e-12)
    np.testing.assert_allclose(contract(nets["forward.base"], arrays), x @ tensors["W"], rtol=1e-12)
    dx = contract(nets["dx.base"], arrays) + contract(nets["dx.adapter"], arrays)
    np.testing.assert_allclose(dx, dy @ w_eff.T, rtol=1e-12)

    def loss(a: Arrays) -> float:
        return float(np.sum(dy * (x @ (a["W"] + a["A"] @ a["B"]))))

    np.testing.assert_allclose(contract(nets["dg1"], arrays), numeric_grad(loss, tensors, "A"), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(contract(nets["dg2"], arrays), numeric_grad(loss, tensors, "B"), rtol=1e-8, atol=1e-9)
    # W is frozen: no network produces a gradient with W's indices, and none leaves W out
    dgs = [net for net in nets.values() if pass_kind(net.label) == "dg"]
    assert [net.output for net in dgs] == [("m", "r"), ("r", "n")]
    assert all("W" not in net.names for net in dgs)
    assert [pass_kind(n.label) for n in get_format("lora").inference_networks(spec)] == ["forward", "forward"]


def test_lowrank_gradients_by_finite_differences() -> None:
    """Covered for every stored tensor by the shared oracle; here the two factor gradients by name."""
    spec = matrix_spec("lowrank", 5, 4, 3)
    rng = np.random.default_rng(5)
    tensors: Arrays = {"U": rng.standard_normal((5, 3)), "V": rng.standard_normal((3, 4))}
    x = rng.standard_normal((spec.tokens_per_step, 5))
    dy = rng.standard_normal((spec.tokens_per_step, 4))
    arrays = {**tensors, "x": x, "dy": dy}
    nets = _by_label(spec)

    def loss(a: Arrays) -> float:
        return float(np.sum(dy * (x @ a["U"] @ a["V"])))

    np.testing.assert_allclose(contract(nets["forward"], arrays), x @ tensors["U"] @ tensors["V"], rtol=1e-12)
    np.testing.assert_allclose(contract(nets["dx"], arrays), dy @ (tensors["U"] @ tensors["V"]).T, rtol=1e-12)
    np.testing.assert_allclose(contract(nets["dg1"], arrays), numeric_grad(loss, tensors, "U"), rtol=1e-8)
    np.testing.assert_allclose(contract(nets["dg2"], arrays), numeric_grad(loss, tensors, "V"), rtol=1e-8)


@pytest.mark.parametrize(("m", "n", "r"), [(4096, 4096, 16), (4096, 11008, 64), (7, 3, 1)])
def test_params(m: int, n: int, r: int) -> None:
    low = LayerSpec(name="L", format="lowrank", in_features=m, out_features=n, ranks=(r,))
    lora = LayerSpec(name="L", format="lora", in_features=m, out_features=n, ranks=(r,))
    assert get_format("lowrank").params(low) == r * (m + n)
    assert get_format("lowrank").trainable_params(low) == r * (m + n)
    assert get_format("lora").params(lora) == m * n + r * (m + n)
    assert get_format("lora").trainable_params(lora) == r * (m + n)


def test_workload_params_and_trainable_params() -> None:
    w = parse_workload(
        {
            "name": "w",
            "batch": 2,
            "seq_len": 3,
            "layers": [
                {"name": "q", "format": "lora", "in_features": 64, "out_features": 64, "ranks": 4, "count": 2},
                {"name": "f", "format": "lowrank", "in_features": 64, "out_features": 32, "ranks": [8]},
            ],
        },
        source="w.yaml",
    )
    assert w.layer("q").ranks == (4,)
    assert w.layer("f").ranks == (8,)
    assert w.params() == 2 * (64 * 64 + 4 * 128) + 8 * 96
    assert w.trainable_params() == 2 * 4 * 128 + 8 * 96
    assert w.dense_params() == 2 * 64 * 64 + 64 * 32


@pytest.mark.parametrize("fmt", ["lowrank", "lora"])
@pytest.mark.parametrize(
    ("layer", "field"),
    [
        ({"in_shape": [8, 8], "out_shape": [8, 8], "ranks": 4}, "in_shape"),
        ({"ranks": [4, 4]}, "ranks"),
        ({"ranks": 0}, "ranks"),
    ],
)
def test_parser_errors(fmt: str, layer: dict[str, Any], field: str) -> None:
    data = {"name": "a", "format": fmt, "in_features": 64, "out_features": 64, **layer}
    with pytest.raises(ConfigError) as err:
        parse_workload({"layers": [data]}, source="w.yaml", field="")
    assert err.value.field == f"layers[0].{field}"
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("fmt", ["lowrank", "lora"])
def test_rank_left_to_the_space(fmt: str) -> None:
    w = parse_workload({"layers": [{"name": "a", "format": fmt, "in_features": 8, "out_features": 8}]}, source="w")
    assert w.layers[0].ranks == ()
    with pytest.raises(WorkloadError, match="ranks must have 1 entries"):
        get_format(fmt).networks(w.layers[0])
