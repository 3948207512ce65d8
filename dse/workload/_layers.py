"""Layer specifications and the registry of layer formats.

A format turns a :class:`LayerSpec` into its parameter count and the tensor networks of each
pass: ``forward``, ``dx`` (input gradient) and ``dg1 .. dgd`` (one per core / weight gradient).
It also declares its search knobs (:class:`FormatKnobs`) and expands one rank value to its rank
vector (:meth:`LayerFormat.expand_ranks`). New formats are one class plus one
:func:`register_format` line.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from analytical_models import Registry
from dse.workload._network import TensorNetwork, WorkloadError

PASS_FORWARD = "forward"
PASS_DX = "dx"


def grad_pass(k: int) -> str:
    """Label of the gradient pass of core (or weight) ``k`` (1-based): ``"dg<k>"``."""
    return f"dg{k}"


def pass_kind(label: str) -> str:
    """Kind of a network label: ``"forward"``, ``"dx"`` or ``"dg"``.

    Labels are ``forward``, ``dx``, ``dg<k>``, or ``<kind>.<what>`` when a layer has several
    networks of one kind (attention: ``forward.qk``, ``dx.v``, ...).
    """
    head = label.split(".", 1)[0]
    if head.startswith("dg") and head[2:].isdigit():
        return "dg"
    return head


@dataclass(frozen=True, slots=True)
class WeightRef:
    """Where a layer's trained weight is stored (the ``weights:`` key of a workload layer).

    Attributes:
        file: a ``.npz`` or ``.safetensors`` file (an absolute path once a workload is parsed;
            the YAML gives it relative to the workload or study file).
        key: the tensor's name in the file.
        transpose: the stored tensor is ``[out_features, in_features]`` (PyTorch
            ``nn.Linear.weight``); TNN-DSE's weight is ``W[in_features, out_features]``.

    ``str()`` names the file without its folder, so that a study's fingerprint does not change
    when its project folder moves.
    """

    file: str
    key: str
    transpose: bool = False

    def __str__(self) -> str:
        name = self.file.replace("\\", "/").rsplit("/", 1)[-1]
        return f"{name}:{self.key}" + (" (transposed)" if self.transpose else "")

    def to_dict(self) -> dict[str, object]:
        """``{"file", "key", "transpose"}`` (JSON-ready)."""
        return {"file": self.file, "key": self.key, "transpose": self.transpose}


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerSpec:
    """One linear-like layer of a model, before or after tensorization.

    Attributes:
        name: layer name, unique in the workload (used in parameter names: ``rank@<name>``).
        format: layer format in the registry (``dense``, ``ttm``, ...).
        in_features: input feature size.
        out_features: output feature size.
        in_shape: factorization of ``in_features`` (tensorized formats), product must match.
        out_shape: factorization of ``out_features``, same length as ``in_shape``.
        ranks: full rank vector ``(r_0, ..., r_d)`` (TT-like formats; ``r_0 = r_d = 1`` for TTM).
        tokens_per_step: rows of the activation per step (batch x sequence length).
        count: identical instances of this layer in the model (e.g. 12 encoder layers).
        heads: attention heads (format ``attention``; ``in_features`` = heads x head dim).
        seq_len: tokens per sequence (format ``attention``: the query and key length;
            ``tokens_per_step`` = sequences x ``seq_len``).
        in_channels: input channels of a convolution (``conv``, ``ttm_conv``; 0 = not a conv).
        kernel: convolution kernel ``(kh, kw)``; ``in_features = in_channels * kh * kw``.
        stride: convolution stride (both spatial dimensions).
        padding: convolution zero padding (both spatial dimensions).
        image: convolution input feature map ``(H, W)``; ``tokens_per_step`` of a convolution is
            batch x ``H_out`` x ``W_out`` (the rows of the im2col matrix).
        kv_len: keys (and values) each query attends to (format ``attention``); 0 means
            ``seq_len`` (self-attention over the sequence). Decoding one token with a KV cache
            is ``seq_len = 1``, ``kv_len`` = the context length.
        weights: the layer's trained weight (:class:`WeightRef`), for the ``weight_error``
            quality metric; ``None`` (the default) when the workload names none.
    """

    name: str
    format: str
    in_features: int
    out_features: int
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    ranks: tuple[int, ...] = ()
    tokens_per_step: int = 1
    count: int = 1
    heads: int = 1
    seq_len: int = 1
    in_channels: int = 0
    kernel: tuple[int, ...] = ()
    stride: int = 1
    padding: int = 0
    image: tuple[int, ...] = ()
    kv_len: int = 0
    weights: WeightRef | None = None

    @property
    def order(self) -> int:
        """Number of cores d (1 for a dense layer)."""
        return max(1, len(self.in_shape))

    @property
    def dense_params(self) -> int:
        """Parameters of the equivalent dense weight matrix."""
        return self.in_features * self.out_features


@dataclass(frozen=True, slots=True, kw_only=True)
class FormatKnobs:
    """What a search space may choose for a layer stored in one format.

    Attributes:
        family: what the layer computes; formats of one family compute the same function of
            the same operands and may replace each other in a search: ``"linear"``
            (``y = x W``: dense, the tensorized formats, lowrank, lora), ``"embedding"``
            (a table lookup), ``"conv"`` (an im2col GEMM) or ``"attention"`` (no weights).
        depth: the format factors ``in_features`` and ``out_features`` into ``d`` modes each
            (``in_shape``, ``out_shape``): the depth ``d`` and the factorizations are knobs.
        min_depth: the smallest ``d`` the format takes (when ``depth``).
        rank: the format takes ranks; the search chooses one integer ``r`` and
            :meth:`LayerFormat.expand_ranks` turns it into the format's rank vector.
        rank_structure: the rank vector in words (documentation and messages).
    """

    family: str
    depth: bool = False
    min_depth: int = 1
    rank: bool = False
    rank_structure: str = ""

    @property
    def searchable(self) -> bool:
        """The format has at least one knob (depth/shapes or rank)."""
        return self.depth or self.rank


def rank_values(value: int | Sequence[int]) -> int | tuple[int, ...]:
    """A ``ranks`` value as an int or a tuple of ints, every one ``>= 1``.

    Raises:
        WorkloadError: not an integer or a non-empty list of integers, or a value below 1.
    """
    if isinstance(value, bool):
        raise WorkloadError(f"ranks must be an integer or a list of integers, got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise WorkloadError(f"ranks must be >= 1, got {value}")
        return value
    try:
        ranks = tuple(value)
    except TypeError:
        raise WorkloadError(f"ranks must be an integer or a list of integers, got {value!r}") from None
    if not ranks or any(isinstance(r, bool) or not isinstance(r, int) for r in ranks):
        raise WorkloadError(f"ranks must be an integer or a non-empty list of integers, got {list(ranks)}")
    if any(r < 1 for r in ranks):
        raise WorkloadError(f"ranks must be >= 1, got {list(ranks)}")
    return ranks


def chain_ranks(value: int | Sequence[int], d: int, *, cores: int, fmt: str) -> tuple[int, ...]:
    """Open-chain ranks ``(1, r_1, .., r_{cores-1}, 1)`` from an int, internal or full ranks.

    Args:
        value: one rank ``r`` (every internal rank), ``cores - 1`` internal ranks, or
            ``cores + 1`` full ranks (boundaries included, kept as given for ``validate``).
        d: number of input modes (for the message).
        cores: number of cores of the chain (``d`` for ``ttm``, ``2d`` for ``tt``).
        fmt: format name (for the message).
    """
    v = rank_values(value)
    if isinstance(v, int):
        return (1, *([v] * (cores - 1)), 1)
    if len(v) == cores - 1:
        return (1, *v, 1)
    if len(v) == cores + 1:
        return v
    raise WorkloadError(
        f"format {fmt!r} takes one integer, {cores - 1} internal ranks or {cores + 1} full ranks "
        f"for d={d}, got {len(v)} values"
    )


class LayerFormat(ABC):
    """A way of storing a layer's weight, with the networks its passes contract.

    A format is a plug-in: it declares its search knobs (:attr:`knobs`), how one rank value
    expands to its rank vector (:meth:`expand_ranks`), its parameter counts (:meth:`params`,
    :meth:`trainable_params`) and the tensor networks of each pass (:meth:`networks`).

    Attributes:
        name: registry name.
        knobs: what a search space may choose for a layer of this format.
        has_weights: the layer stores weights (``False`` for ``attention``; its
            ``in_features x out_features`` is not a weight and counts 0 dense parameters).
    """

    name: str = ""
    knobs: FormatKnobs = FormatKnobs(family="linear")
    has_weights: bool = True

    @abstractmethod
    def validate(self, spec: LayerSpec) -> None:
        """Raise :class:`WorkloadError` naming the field when ``spec`` is inconsistent."""

    @abstractmethod
    def params(self, spec: LayerSpec) -> int:
        """Number of stored weight parameters (elements; trainable or frozen)."""

    def trainable_params(self, spec: LayerSpec) -> int:
        """Number of parameters a training step updates (elements); :meth:`params` by default."""
        return self.params(spec)

    @abstractmethod
    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        """The forward, input-gradient and weight-gradient networks, in that order."""

    def inference_networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        """Only the forward network."""
        return self.networks(spec)[:1]

    def expand_ranks(self, value: int | Sequence[int], d: int) -> tuple[int, ...]:
        """The full rank vector this format stores in :attr:`LayerSpec.ranks`.

        The one rank expansion of TNN-DSE: the YAML parser, the search space and the CLI all
        call it. ``value`` is one integer (the format's documented expansion) or a list (the
        lengths each format accepts); ``d`` is the number of input modes (``len(in_shape)``).

        Raises:
            WorkloadError: the value is not a positive integer or list of them, or has a length
                the format does not take; the message says what was expected and names no layer.
        """
        raise WorkloadError(f"format {self.name!r} takes no ranks")

    def configure(
        self,
        base: LayerSpec,
        *,
        in_shape: Sequence[int] = (),
        out_shape: Sequence[int] = (),
        rank: int | Sequence[int] | None = None,
    ) -> LayerSpec:
        """``base`` stored in this format with the given knob values, validated.

        The search space's (and the CLI's) one entry point: it sets ``format``, the shapes (only
        when :attr:`FormatKnobs.depth`; other formats drop them) and the ranks expanded by
        :meth:`expand_ranks` (only when :attr:`FormatKnobs.rank`; other formats drop them), then
        calls :meth:`validate`. Every other field of ``base`` is kept.

        Raises:
            WorkloadError: a knob value this format does not accept.
        """
        shapes_in = tuple(in_shape) if self.knobs.depth else ()
        shapes_out = tuple(out_shape) if self.knobs.depth else ()
        ranks: tuple[int, ...] = ()
        if self.knobs.rank:
            if rank is None:
                raise WorkloadError(f"layer {base.name!r}: ranks required by format {self.name!r}")
            ranks = self.expand_ranks(rank, max(1, len(shapes_in)))
        spec = replace(base, format=self.name, in_shape=shapes_in, out_shape=shapes_out, ranks=ranks)
        self.validate(spec)
        return spec


FORMATS: Registry[LayerFormat] = Registry("layer format", error=WorkloadError)
"""The layer-format registry (:func:`register_format`, :func:`get_format` are its shorthands)."""


def register_format(fmt: LayerFormat, *, replace: bool = False) -> LayerFormat:
    """Make a layer format available under ``fmt.name`` (a second one under a name is refused).

    Raises:
        RegistryError: ``fmt.name`` is empty, or already registered and ``replace`` is false.
    """
    return FORMATS.register(fmt.name, fmt, replace=replace)


def get_format(name: str) -> LayerFormat:
    """The layer format registered as ``name``.

    Raises:
        WorkloadError: unknown name; the message lists the registered ones.
    """
    return FORMATS.get(name)


def format_names(*, family: str | None = None, searchable: bool = False) -> tuple[str, ...]:
    """Registered format names, sorted.

    Args:
        family: only formats of this :attr:`FormatKnobs.family` (e.g. ``"linear"``).
        searchable: only formats with at least one knob (depth/shapes or rank).
    """
    return tuple(
        name
        for name, fmt in FORMATS.items()
        if (family is None or fmt.knobs.family == family) and (not searchable or fmt.knobs.searchable)
    )


def _check_positive(spec: LayerSpec) -> None:
    if spec.in_features < 1 or spec.out_features < 1:
        raise WorkloadError(
            f"layer {spec.name!r}: in_features and out_features must be >= 1, "
            f"got {spec.in_features} and {spec.out_features}"
        )
    if spec.tokens_per_step < 1:
        raise WorkloadError(f"layer {spec.name!r}: tokens_per_step must be >= 1")


Indices = tuple[str, ...]


def linear_networks(
    *,
    x: Indices,
    y: Indices,
    weights: Sequence[tuple[str, Indices]],
    sizes: Mapping[str, int],
    role: str = "core",
) -> tuple[TensorNetwork, ...]:
    """``forward``, ``dx`` and one ``dg<k>`` per weight tensor of a linear layer ``y = x W``.

    Args:
        x: indices of the layer input.
        y: indices of the layer output.
        weights: ``(name, indices)`` of every weight tensor, in ``dg`` order.
        sizes: size of every index.
        role: role of the weight tensors (``core`` for factors, ``weight`` for a dense matrix).
    """
    names = [n for n, _ in weights]
    idx = [i for _, i in weights]
    w = len(weights)
    nets = [
        TensorNetwork.build(
            inputs=[x, *idx],
            output=y,
            sizes=sizes,
            names=("x", *names),
            roles=("activation", *[role] * w),
            label=PASS_FORWARD,
        ),
        TensorNetwork.build(
            inputs=[y, *idx],
            output=x,
            sizes=sizes,
            names=("dy", *names),
            roles=("gradient", *[role] * w),
            label=PASS_DX,
        ),
    ]
    for k in range(w):
        nets.append(
            TensorNetwork.build(
                inputs=[x, y, *(t for j, t in enumerate(idx) if j != k)],
                output=idx[k],
                sizes=sizes,
                names=("x", "dy", *(n for j, n in enumerate(names) if j != k)),
                roles=("activation", "gradient", *[role] * (w - 1)),
                label=grad_pass(k + 1),
            )
        )
    return tuple(nets)


def x_indices(d: int) -> Indices:
    """``(b, m1, .., md)``."""
    return ("b", *(f"m{k + 1}" for k in range(d)))


def y_indices(d: int) -> Indices:
    """``(b, n1, .., nd)``."""
    return ("b", *(f"n{k + 1}" for k in range(d)))


def chain_cores(spec: LayerSpec, *, ring: bool = False) -> list[tuple[str, Indices]]:
    """``(name, indices)`` of the cores ``G_k[r_{k-1}, m_k, n_k, r_k]`` of a TTM (or, with
    ``ring``, a tensor ring whose boundary index ``r0`` joins ``G1`` and ``Gd``).

    Boundary ranks of an open chain have size 1 and are left out.
    """
    d = len(spec.in_shape)
    out: list[tuple[str, Indices]] = []
    for k in range(d):
        left = f"r{k}" if k > 0 else ("r0" if ring else "")
        right = f"r{k + 1}" if k < d - 1 else ("r0" if ring else "")
        out.append((f"G{k + 1}", tuple(i for i in (left, f"m{k + 1}", f"n{k + 1}", right) if i)))
    return out


def chain_params(spec: LayerSpec) -> int:
    """Parameters of the cores ``G_k[r_{k-1}, m_k, n_k, r_k]``: ``sum_k r_{k-1} m_k n_k r_k``."""
    r = spec.ranks
    return sum(r[k] * spec.in_shape[k] * spec.out_shape[k] * r[k + 1] for k in range(len(spec.in_shape)))


class DenseFormat(LayerFormat):
    """A plain weight matrix ``W[m, n]``: ``y = x W``."""

    name = "dense"
    knobs = FormatKnobs(family="linear")

    def validate(self, spec: LayerSpec) -> None:
        _check_positive(spec)

    def params(self, spec: LayerSpec) -> int:
        return spec.in_features * spec.out_features

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        self.validate(spec)
        sizes = {"b": spec.tokens_per_step, "m": spec.in_features, "n": spec.out_features}
        return linear_networks(x=("b", "m"), y=("b", "n"), weights=[("W", ("m", "n"))], sizes=sizes, role="weight")


class TTMFormat(LayerFormat):
    """Tensor-train matrix: cores ``G_k[r_{k-1}, m_k, n_k, r_k]``, ``r_0 = r_d = 1``.

    ``W[(m_1..m_d), (n_1..n_d)] = G_1 G_2 ... G_d``. Boundary ranks of size 1 are left out of
    the networks (they change no MAC count).
    """

    name = "ttm"
    knobs = FormatKnobs(
        family="linear",
        depth=True,
        min_depth=2,
        rank=True,
        rank_structure="(r_0, .., r_d) over the d cores G_k[r_{k-1}, m_k, n_k, r_k], r_0 = r_d = 1",
    )

    def expand_ranks(self, value: int | Sequence[int], d: int) -> tuple[int, ...]:
        """An int r: ``(1, r, .., r, 1)`` (d+1 entries); d-1 internal ranks; or d+1 full ranks."""
        return chain_ranks(value, d, cores=d, fmt=self.name)

    def validate(self, spec: LayerSpec) -> None:
        _check_positive(spec)
        d = len(spec.in_shape)
        if d < 2:
            raise WorkloadError(f"layer {spec.name!r}: in_shape needs at least 2 factors, got {spec.in_shape}")
        if len(spec.out_shape) != d:
            raise WorkloadError(
                f"layer {spec.name!r}: out_shape must have {d} factors like in_shape, got {spec.out_shape}"
            )
        if any(f < 1 for f in (*spec.in_shape, *spec.out_shape)):
            raise WorkloadError(f"layer {spec.name!r}: shape factors must be >= 1")
        if math.prod(spec.in_shape) != spec.in_features:
            raise WorkloadError(
                f"layer {spec.name!r}: in_shape {list(spec.in_shape)} multiplies to "
                f"{math.prod(spec.in_shape)}, expected in_features={spec.in_features}"
            )
        if math.prod(spec.out_shape) != spec.out_features:
            raise WorkloadError(
                f"layer {spec.name!r}: out_shape {list(spec.out_shape)} multiplies to "
                f"{math.prod(spec.out_shape)}, expected out_features={spec.out_features}"
            )
        if len(spec.ranks) != d + 1:
            raise WorkloadError(
                f"layer {spec.name!r}: ranks must have d+1={d + 1} entries (r_0..r_d), got {len(spec.ranks)}"
            )
        if spec.ranks[0] != 1 or spec.ranks[-1] != 1:
            raise WorkloadError(f"layer {spec.name!r}: TTM boundary ranks r_0 and r_d must be 1")
        if any(r < 1 for r in spec.ranks):
            raise WorkloadError(f"layer {spec.name!r}: ranks must be >= 1, got {list(spec.ranks)}")

    def params(self, spec: LayerSpec) -> int:
        self.validate(spec)
        return chain_params(spec)

    def networks(self, spec: LayerSpec) -> tuple[TensorNetwork, ...]:
        self.validate(spec)
        d = len(spec.in_shape)
        sizes: dict[str, int] = {"b": spec.tokens_per_step}
        for k in range(d):
            sizes[f"m{k + 1}"] = spec.in_shape[k]
            sizes[f"n{k + 1}"] = spec.out_shape[k]
        for k in range(1, d):
            sizes[f"r{k}"] = spec.ranks[k]
        return linear_networks(x=x_indices(d), y=y_indices(d), weights=chain_cores(spec), sizes=sizes)


register_format(DenseFormat())
register_format(TTMFormat())
