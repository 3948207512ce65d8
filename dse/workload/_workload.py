"""Workloads: a named list of layers, read from YAML (a file, a preset or an inline mapping)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dse._errors import ConfigError
from dse._yaml import (
    as_int,
    as_int_list,
    as_mapping,
    as_str,
    check_keys,
    join,
    load_yaml,
)
from dse.workload._formats_conv import conv_output
from dse.workload._layers import LayerSpec, WeightRef, format_names, get_format
from dse.workload._network import WorkloadError

PRESET_DIR = Path(__file__).parent / "presets"

_WORKLOAD_KEYS = ("name", "source", "description", "batch", "seq_len", "layers")
_LAYER_KEYS = (
    "name",
    "format",
    "in_features",
    "out_features",
    "in_shape",
    "out_shape",
    "ranks",
    "count",
    "heads",
    "seq_len",
    "in_channels",
    "out_channels",
    "kernel",
    "stride",
    "padding",
    "image",
    "kv_len",
    "weights",
)
_CONV_FORMATS = ("conv", "ttm_conv")


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    """A model as the accelerator sees it: layers, each with its tokens per step.

    Attributes:
        name: workload name.
        batch: sequences (or images) per step.
        seq_len: tokens per sequence (1 for an MLP); tokens per layer = batch x seq_len.
        layers: the layers, in order.
        source: where the configuration comes from (paper, model card), free text.
        description: what the workload is, free text.
    """

    name: str
    batch: int
    seq_len: int
    layers: tuple[LayerSpec, ...]
    source: str = ""
    description: str = ""

    @property
    def tokens_per_step(self) -> int:
        """Rows of every activation: batch x sequence length."""
        return self.batch * self.seq_len

    def layer(self, name: str) -> LayerSpec:
        """The layer called ``name``."""
        for spec in self.layers:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def with_layer(self, spec: LayerSpec) -> Workload:
        """A copy with the layer of the same name replaced by ``spec``."""
        return replace(self, layers=tuple(spec if s.name == spec.name else s for s in self.layers))

    def params(self) -> int:
        """Stored weight parameters of the whole model (counting repeated layers).

        Stored, trainable or not: a ``lora`` layer counts its frozen dense weight and its
        adapter (see :meth:`trainable_params`).
        """
        return sum(get_format(s.format).params(s) * s.count for s in self.layers)

    def trainable_params(self) -> int:
        """Parameters a training step updates (a ``lora`` layer: its adapter only)."""
        return sum(get_format(s.format).trainable_params(s) * s.count for s in self.layers)

    def dense_params(self) -> int:
        """Parameters of the same model with every layer dense.

        Layers without weights (``attention``: its ``in_features x out_features`` is the model
        width squared, not a weight) count 0.
        """
        total = 0
        for s in self.layers:
            if not get_format(s.format).has_weights:
                continue
            total += s.dense_params * s.count
        return total


def _pair(value: Any, source: str, field: str) -> tuple[int, ...]:
    """An int ``v`` -> ``(v, v)``, or a list of two ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        v = as_int(value, source, field, minimum=1)
        return v, v
    pair = as_int_list(value, source, field)
    if len(pair) != 2:
        raise ConfigError(source, field, f"an integer or two integers [H, W], got {list(pair)}")
    return pair


def _layer_ranks(value: Any, fmt: str, d: int, source: str, field: str) -> tuple[int, ...]:
    """The ``ranks:`` value expanded to the full rank vector of format ``fmt`` (its
    :meth:`~dse.workload.LayerFormat.expand_ranks`, the one rank expansion)."""
    layer_format = get_format(fmt)
    raw: int | tuple[int, ...]
    if isinstance(value, int) and not isinstance(value, bool):
        raw = as_int(value, source, field, minimum=1)
    else:
        raw = as_int_list(value, source, field)
    try:
        return layer_format.expand_ranks(raw, d)
    except WorkloadError as exc:
        raise ConfigError(source, field, str(exc)) from None


def parse_layer(data: Any, *, source: str, field: str, tokens: int, seq_len: int = 1) -> LayerSpec:
    """One layer mapping -> a validated :class:`LayerSpec`.

    Args:
        data: the layer mapping.
        source: file name, for errors.
        field: dotted path of the layer, for errors.
        tokens: tokens per step of the workload (batch x seq_len).
        seq_len: the workload's sequence length; ``tokens / seq_len`` is the batch. A layer's own
            ``seq_len:`` overrides it (its tokens become batch x its seq_len). Convolutions
            (``conv``, ``ttm_conv``) take ``in_channels``, ``kernel``, ``image`` and optional
            ``stride`` (1), ``padding`` (0); their ``in_features`` (in_channels x kh x kw) and
            ``out_features`` (or ``out_channels``) may be left out, and their tokens are
            batch x H_out x W_out.
    """
    data = as_mapping(data, source, field)
    check_keys(data, _LAYER_KEYS, source, field)
    for key in ("name", "format"):
        if key not in data:
            raise ConfigError(source, join(field, key), "a value (required)")
    name = as_str(data["name"], source, join(field, "name"))
    fmt = as_str(data["format"], source, join(field, "format"), choices=format_names())
    is_conv = fmt in _CONV_FORMATS
    batch = max(1, tokens // max(1, seq_len))
    layer_seq = seq_len
    if "seq_len" in data:
        layer_seq = as_int(data["seq_len"], source, join(field, "seq_len"), minimum=1)
        tokens = batch * layer_seq
    extra: dict[str, Any] = {"seq_len": layer_seq}
    if "heads" in data:
        extra["heads"] = as_int(data["heads"], source, join(field, "heads"), minimum=1)
    elif fmt == "attention":
        raise ConfigError(source, join(field, "heads"), "a value (required for attention)")
    if "kv_len" in data:
        if fmt != "attention":
            raise ConfigError(source, join(field, "kv_len"), "no kv_len (only for format 'attention')")
        extra["kv_len"] = as_int(data["kv_len"], source, join(field, "kv_len"), minimum=1)
    conv_keys = ("in_channels", "out_channels", "kernel", "stride", "padding", "image")
    if not is_conv:
        for key in conv_keys:
            if key in data:
                raise ConfigError(source, join(field, key), f"no {key} (only for formats {list(_CONV_FORMATS)})")
    if is_conv:
        for key in ("in_channels", "kernel", "image"):
            if key not in data:
                raise ConfigError(source, join(field, key), f"a value (required for {fmt})")
        in_ch = as_int(data["in_channels"], source, join(field, "in_channels"), minimum=1)
        kernel = _pair(data["kernel"], source, join(field, "kernel"))
        image = _pair(data["image"], source, join(field, "image"))
        stride = as_int(data.get("stride", 1), source, join(field, "stride"), minimum=1)
        padding = as_int(data.get("padding", 0), source, join(field, "padding"), minimum=0)
        h_out, w_out = conv_output(image, kernel, stride, padding)
        if h_out < 1 or w_out < 1:
            raise ConfigError(
                source,
                join(field, "kernel"),
                f"a kernel that fits the image {list(image)} (stride {stride}, padding {padding})",
            )
        tokens = batch * h_out * w_out
        taps = in_ch * kernel[0] * kernel[1]
        if "in_features" in data and data["in_features"] != taps:
            raise ConfigError(
                source,
                join(field, "in_features"),
                f"in_channels x kh x kw = {taps}, got {data['in_features']!r}",
            )
        data = {**data, "in_features": taps}
        if "out_channels" in data:
            out_ch = as_int(data["out_channels"], source, join(field, "out_channels"), minimum=1)
            if "out_features" in data and data["out_features"] != out_ch:
                raise ConfigError(
                    source,
                    join(field, "out_features"),
                    f"out_channels = {out_ch}, got {data['out_features']!r}",
                )
            data = {**data, "out_features": out_ch}
        extra.update(in_channels=in_ch, kernel=kernel, image=image, stride=stride, padding=padding)
    for key in ("in_features", "out_features"):
        if key not in data:
            hint = " (or out_channels)" if is_conv else ""
            raise ConfigError(source, join(field, key), f"a value (required){hint}")
    in_f = as_int(data["in_features"], source, join(field, "in_features"), minimum=1)
    out_f = as_int(data["out_features"], source, join(field, "out_features"), minimum=1)
    in_shape = as_int_list(data["in_shape"], source, join(field, "in_shape")) if "in_shape" in data else ()
    out_shape = as_int_list(data["out_shape"], source, join(field, "out_shape")) if "out_shape" in data else ()
    ranks: tuple[int, ...] = ()
    if "ranks" in data:
        ranks = _layer_ranks(data["ranks"], fmt, max(1, len(in_shape)), source, join(field, "ranks"))
    count = as_int(data.get("count", 1), source, join(field, "count"), minimum=1)
    if "weights" in data:
        extra["weights"] = parse_weights(data["weights"], source=source, field=join(field, "weights"), fmt=fmt)
    spec = LayerSpec(
        name=name,
        format=fmt,
        in_features=in_f,
        out_features=out_f,
        in_shape=in_shape,
        out_shape=out_shape,
        ranks=ranks,
        tokens_per_step=tokens,
        count=count,
        **extra,
    )
    layer_format = get_format(fmt)
    # a format with knobs may leave them to the search space (validated once they are set)
    if in_shape or ranks or not layer_format.knobs.searchable:
        try:
            layer_format.validate(spec)
        except WorkloadError as exc:
            raise ConfigError(source, _error_field(str(exc), name, field), str(exc)) from None
    return spec


def parse_weights(data: Any, *, source: str, field: str, fmt: str = "dense") -> WeightRef:
    """A layer's ``weights: {file, key, transpose?}`` -> :class:`WeightRef`.

    ``file`` (a ``.npz`` or ``.safetensors`` file) is relative to the file the layer is written
    in (``source``) and must exist; ``key`` names the tensor; ``transpose: true`` says the stored
    tensor is ``[out_features, in_features]`` (PyTorch). The tensor itself (key, shape) is
    checked when a study loads (:func:`dse.config.load_study_config`).
    """
    data = as_mapping(data, source, field)
    check_keys(data, ("file", "key", "transpose"), source, field)
    for key in ("file", "key"):
        if key not in data:
            raise ConfigError(source, join(field, key), "a value (required)")
    if not get_format(fmt).has_weights:
        raise ConfigError(source, field, f"no weights for format {fmt!r} (it stores none)")
    name = as_str(data["file"], source, join(field, "file"))
    path = Path(name).expanduser()
    if not path.is_absolute():
        path = Path(source).parent / path
    if path.suffix not in (".npz", ".safetensors"):
        raise ConfigError(source, join(field, "file"), f"a .npz or .safetensors file, got {name!r}")
    if not path.is_file():
        raise ConfigError(source, join(field, "file"), f"an existing file, {str(path)!r} not found")
    transpose = data.get("transpose", False)
    if not isinstance(transpose, bool):
        raise ConfigError(source, join(field, "transpose"), f"true or false, got {transpose!r}")
    return WeightRef(file=str(path.resolve()), key=as_str(data["key"], source, join(field, "key")), transpose=transpose)


def split_layer_error(message: str, name: str) -> tuple[str | None, str]:
    """The layer field a format's validation message is about, and the message without its layer.

    Format messages start ``layer '<name>': <key> ...`` when they are about one layer key
    (``in_shape``, ``ranks``, ``heads``, ...). A command line or an API that configures one layer
    names its own flag or argument instead: ``split_layer_error(str(exc), spec.name)`` gives
    ``("in_shape", "in_shape [4, 8] multiplies to 32, expected in_features=30")``. The field is
    ``None`` when the message names no layer key.
    """
    prefix = f"layer {name!r}: "
    if not message.startswith(prefix):
        return None, message
    text = message[len(prefix) :]
    words = text.split(maxsplit=1)
    if words and words[0] in (*_LAYER_KEYS, "tokens_per_step"):
        return ("seq_len" if words[0] == "tokens_per_step" else words[0]), text
    return None, text


def _error_field(message: str, name: str, field: str) -> str:
    """The layer key a format's message is about, as a dotted field, else the layer's field."""
    key, _ = split_layer_error(message, name)
    return join(field, key) if key else field


def parse_workload(data: Mapping[str, Any], *, source: str, field: str = "workload") -> Workload:
    """A workload mapping (as in a workload file or a study's ``workload:`` block) -> Workload."""
    data = as_mapping(data, source, field)
    check_keys(data, _WORKLOAD_KEYS, source, field)
    batch = as_int(data.get("batch", 1), source, join(field, "batch"), minimum=1)
    seq_len = as_int(data.get("seq_len", 1), source, join(field, "seq_len"), minimum=1)
    raw_layers = data.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise ConfigError(source, join(field, "layers"), "a non-empty list of layers")
    layers = tuple(
        parse_layer(
            item,
            source=source,
            field=join(join(field, "layers"), n),
            tokens=batch * seq_len,
            seq_len=seq_len,
        )
        for n, item in enumerate(raw_layers)
    )
    names = [spec.name for spec in layers]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(source, join(field, "layers"), f"unique layer names, {sorted(dup)} repeated")
    return Workload(
        name=as_str(data.get("name", Path(source).stem), source, join(field, "name")),
        batch=batch,
        seq_len=seq_len,
        layers=layers,
        source=str(data.get("source", "")),
        description=str(data.get("description", "")),
    )


def preset_names() -> tuple[str, ...]:
    """Names of the shipped workload presets."""
    return tuple(sorted(p.stem for p in PRESET_DIR.glob("*.yaml")))


def load_workload(ref: str, *, base_dir: Path | None = None, source: str = "") -> Workload:
    """A workload from a preset name or a YAML file path (relative to ``base_dir``)."""
    candidate = Path(ref)
    if base_dir is not None and not candidate.is_absolute():
        candidate = base_dir / candidate
    if ref.endswith((".yaml", ".yml")) or candidate.is_file():
        return parse_workload(load_yaml(candidate), source=str(candidate), field="")
    preset = PRESET_DIR / f"{ref}.yaml"
    if preset.is_file():
        return parse_workload(load_yaml(preset), source=str(preset), field="")
    raise ConfigError(
        source or ref,
        "workload",
        f"a preset name ({', '.join(preset_names()) or 'none shipped'}) or an existing YAML file, got {ref!r}",
    )
