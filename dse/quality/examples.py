"""A smoke-test accuracy: a tiny tensorized MLP trained in numpy on scikit-learn's digits.

**Smoke test, not a credible rank axis.** The bundled ``digits`` data set (1,797 images of
8 x 8 pixels, 10 classes; scikit-learn ships it, no download) is so easy that the front is
nearly flat: a TT-matrix hidden layer of rank 1 already reaches about 97-98%
(shared/research/fused_chains.md, section 5.2). What it shows is the plumbing: a layer
configuration goes in (format, shapes, ranks), a trained accuracy comes out, in seconds.

Model (the ``digits_mlp`` workload preset): ``x[64] -> fc1 (any linear format but lora,
64 -> 256) + bias -> ReLU -> head (dense 256 -> 10) + bias -> softmax``, trained with Adam on
softmax cross-entropy. ``fc1`` is trained *in its format*: its forward network and its ``dg<k>``
networks are the ones :mod:`dse.workload` builds for the hardware model, contracted here with
``np.einsum``, so the example also exercises those networks. Data: pixel values / 16, a
70/30 split drawn from the seed.

Needs scikit-learn (only for the data set): ``pip install scikit-learn``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dse.quality._errors import QualityError
from dse.workload import LayerSpec, TensorNetwork, WorkloadError, get_format, pass_kind, split_layer_error

DIGITS_FEATURES = 64
DIGITS_HIDDEN = 256
DIGITS_CLASSES = 10
DIGITS_LAYER = "fc1"
"""Name of the tensorized layer in the ``digits_mlp`` preset (what :func:`digits_quality` reads)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DigitsResult:
    """Outcome of one training run.

    Attributes:
        accuracy: test accuracy, a fraction in [0, 1].
        train_accuracy: accuracy on the training split.
        params: stored parameters of ``fc1`` in its format (elements).
        dense_params: parameters of a dense ``fc1`` (64 x 256).
        model_params: every trained parameter (``fc1``, the head and both biases).
        epochs: passes over the training split.
        seconds: wall-clock time of data loading, training and scoring [s].
    """

    accuracy: float
    train_accuracy: float
    params: int
    dense_params: int
    model_params: int
    epochs: int
    seconds: float


def _digits(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        raise QualityError("scikit-learn", "the digits example needs scikit-learn (pip install scikit-learn)") from None
    x, y = load_digits(return_X_y=True)
    x = np.asarray(x, dtype=np.float64) / 16.0
    y = np.asarray(y, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    cut = round(0.7 * len(y))
    train, test = order[:cut], order[cut:]
    return x[train], y[train], x[test], y[test]


def _layer(fmt: str, in_shape: Sequence[int], out_shape: Sequence[int], ranks: int | Sequence[int] | None) -> LayerSpec:
    try:
        layer_format = get_format(fmt)
    except WorkloadError as exc:
        raise QualityError("format", str(exc)) from None
    if layer_format.knobs.family != "linear" or fmt == "lora":
        raise QualityError("format", f"a linear format trained from scratch (not lora), got {fmt!r}")
    base = LayerSpec(name=DIGITS_LAYER, format="dense", in_features=DIGITS_FEATURES, out_features=DIGITS_HIDDEN)
    try:
        return layer_format.configure(base, in_shape=in_shape, out_shape=out_shape, rank=ranks)
    except WorkloadError as exc:
        field, text = split_layer_error(str(exc), DIGITS_LAYER)
        raise QualityError(field if field in ("in_shape", "out_shape") else "ranks", text) from None


class _Compiled:
    """One network as ``np.einsum`` with a precomputed contraction order."""

    def __init__(self, net: TensorNetwork, batch: int) -> None:
        self.net = net
        self.expr = net.einsum()
        sizes = {**net.size_dict, "b": batch}
        shapes = [tuple(sizes[i] for i in t) for t in net.inputs]
        dummies = [np.empty(s) for s in shapes]
        self.path = np.einsum_path(self.expr, *dummies, optimize="greedy")[0]

    def __call__(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.asarray(np.einsum(self.expr, *(arrays[n] for n in self.net.names), optimize=self.path))


def _total(nets: Sequence[_Compiled], arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """Sum of the forward networks (``lora``-like formats have more than one)."""
    out = nets[0](arrays)
    for net in nets[1:]:
        out = out + net(arrays)
    return out


def digits_accuracy(
    *,
    fmt: str = "ttm",
    in_shape: Sequence[int] = (4, 4, 4),
    out_shape: Sequence[int] = (4, 8, 8),
    ranks: int | Sequence[int] | None = 4,
    epochs: int = 30,
    batch_size: int = 64,
    learning_rate: float = 5e-3,
    seed: int = 0,
) -> DigitsResult:
    """Train the digits MLP with ``fc1`` in the given configuration; return its test accuracy.

    Args:
        fmt: format of ``fc1`` (any ``linear`` format but ``lora``: dense, ttm, tt, tucker, tr,
            cp, lowrank).
        in_shape: factors of the 64 input features (formats with modes).
        out_shape: factors of the 256 hidden features.
        ranks: one integer (the format's expansion) or the format's rank list.
        epochs: passes over the 1,258 training images.
        batch_size: images per Adam step.
        learning_rate: Adam step size.
        seed: seeds the split, the initialisation and the batch order.

    Returns:
        A :class:`DigitsResult` (about 1-3 s on two cores with the defaults).

    Raises:
        QualityError: scikit-learn missing, or a configuration ``fc1`` cannot take (one line
            naming the field).
    """
    spec = _layer(fmt, in_shape, out_shape, ranks)
    if epochs < 1 or batch_size < 1 or not learning_rate > 0:
        raise QualityError("epochs", "epochs and batch_size >= 1 and learning_rate > 0")
    start = time.perf_counter()
    x_train, y_train, x_test, y_test = _digits(seed)
    # a scikit-learn dependency; tiny products: threaded BLAS only adds synchronisation
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped, import-not-found, unused-ignore]

    with threadpool_limits(limits=1, user_api="blas"):
        result = _train(spec, x_train, y_train, x_test, y_test, epochs, batch_size, learning_rate, seed)
    return replace(result, seconds=time.perf_counter() - start)


def _train(
    spec: LayerSpec,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> DigitsResult:
    rng = np.random.default_rng(seed)
    layer_format = get_format(spec.format)
    nets = layer_format.networks(spec)
    forward = [_Compiled(n, batch_size) for n in nets if pass_kind(n.label) == "forward"]
    x_idx, y_idx = nets[0].inputs[0], nets[0].output
    sizes = nets[0].size_dict
    # every stored tensor of fc1, in the shapes its networks take (size-1 boundary ranks left out)
    shapes = {
        name: tuple(sizes[i] for i in idx)
        for net in nets
        if pass_kind(net.label) == "forward"
        for name, idx in zip(net.names[1:], net.inputs[1:], strict=True)
    }
    # the dg network of each tensor: the one whose output has its indices and that leaves it out
    grads: dict[str, _Compiled] = {}
    for net in nets:
        if pass_kind(net.label) != "dg":
            continue
        for net_f in nets:
            for name, idx in zip(net_f.names[1:], net_f.inputs[1:], strict=True):
                if idx == net.output and name not in net.names:
                    grads[name] = _Compiled(net, batch_size)
    params: dict[str, np.ndarray] = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
    # scale the factors so that the effective 64 x 256 weight has He variance 2 / 64
    eye = np.eye(DIGITS_FEATURES).reshape(DIGITS_FEATURES, *(sizes[i] for i in x_idx[1:]))
    w_eff = _total(forward, {**params, "x": eye})
    scale = (math.sqrt(2.0 / DIGITS_FEATURES) / float(np.std(w_eff))) ** (1.0 / len(params))
    params = {name: p * scale for name, p in params.items()}
    params["b1"] = np.zeros(DIGITS_HIDDEN)
    params["W2"] = rng.standard_normal((DIGITS_HIDDEN, DIGITS_CLASSES)) * math.sqrt(2.0 / DIGITS_HIDDEN)
    params["b2"] = np.zeros(DIGITS_CLASSES)
    moment1 = {k: np.zeros_like(v) for k, v in params.items()}
    moment2 = {k: np.zeros_like(v) for k, v in params.items()}
    x_shape = tuple(sizes[i] for i in x_idx[1:])
    y_shape = tuple(sizes[i] for i in y_idx[1:])

    def hidden(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xt = x.reshape(len(x), *x_shape)
        pre = _total(forward, {**params, "x": xt}).reshape(len(x), DIGITS_HIDDEN) + params["b1"]
        return xt, pre

    def predict(x: np.ndarray) -> np.ndarray:
        _, pre = hidden(x)
        return np.asarray(np.argmax(np.maximum(pre, 0.0) @ params["W2"] + params["b2"], axis=1))

    step = 0
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for _ in range(epochs):
        order = rng.permutation(len(y_train))
        for lo in range(0, len(order), batch_size):
            batch = order[lo : lo + batch_size]
            xb, yb = x_train[batch], y_train[batch]
            xt, pre = hidden(xb)
            h = np.maximum(pre, 0.0)
            logits = h @ params["W2"] + params["b2"]
            logits -= logits.max(axis=1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(axis=1, keepdims=True)
            prob[np.arange(len(yb)), yb] -= 1.0
            dlogits = prob / len(yb)
            dpre = (dlogits @ params["W2"].T) * (pre > 0)
            g: dict[str, np.ndarray] = {
                "W2": h.T @ dlogits,
                "b2": dlogits.sum(axis=0),
                "b1": dpre.sum(axis=0),
            }
            operands = {**params, "x": xt, "dy": dpre.reshape(len(yb), *y_shape)}
            for name, fn in grads.items():
                g[name] = fn(operands).reshape(params[name].shape)
            step += 1
            for name, grad in g.items():
                moment1[name] = beta1 * moment1[name] + (1 - beta1) * grad
                moment2[name] = beta2 * moment2[name] + (1 - beta2) * grad * grad
                m_hat = moment1[name] / (1 - beta1**step)
                v_hat = moment2[name] / (1 - beta2**step)
                params[name] = params[name] - learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    accuracy = float(np.mean(predict(x_test) == y_test))
    train_accuracy = float(np.mean(predict(x_train) == y_train))
    fc1 = layer_format.params(spec)
    return DigitsResult(
        accuracy=accuracy,
        train_accuracy=train_accuracy,
        params=fc1,
        dense_params=spec.dense_params,
        model_params=fc1 + DIGITS_HIDDEN + DIGITS_HIDDEN * DIGITS_CLASSES + DIGITS_CLASSES,
        epochs=epochs,
        seconds=0.0,
    )


def digits_quality(model: Mapping[str, Any]) -> float:
    """Test accuracy of the digits MLP for a model configuration (a quality callable).

    Args:
        model: a JSON-like model configuration with a ``layers`` list (or a mapping from layer
            name to layer) holding layer ``fc1`` as a mapping with ``format`` and, as its format
            needs, ``in_shape``, ``out_shape`` and ``ranks`` (the layer records of
            ``dse.Design.to_dict()["workload"]``; a full rank vector is taken as it is).

    Returns:
        The test accuracy in [0, 1] of :func:`digits_accuracy` with the default training settings.

    Raises:
        QualityError: no layer ``fc1``, or a configuration it cannot take.
    """
    layers = model.get("layers", model)
    layer: Any = None
    if isinstance(layers, Mapping):
        layer = layers.get(DIGITS_LAYER)
    elif isinstance(layers, Sequence):
        layer = next((item for item in layers if isinstance(item, Mapping) and item.get("name") == DIGITS_LAYER), None)
    if not isinstance(layer, Mapping) or "format" not in layer:
        raise QualityError("model", f"a layer {DIGITS_LAYER!r} with a format (the digits_mlp preset's hidden layer)")
    ranks = layer.get("ranks")
    return digits_accuracy(
        fmt=str(layer["format"]),
        in_shape=tuple(layer.get("in_shape", ())),
        out_shape=tuple(layer.get("out_shape", ())),
        ranks=list(ranks) if isinstance(ranks, (list, tuple)) and ranks else (ranks or None),
    ).accuracy
