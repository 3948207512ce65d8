"""The model part of a search space: how each layer's configuration is searched.

``model.default`` applies to every tensorized linear layer of the workload (a ``linear``-family
layer whose format has knobs: ``ttm``, ``tt``, ``tucker``, ``tr``, ``cp``, ``lowrank``,
``lora``); ``model.layers.<name>`` overrides it for one layer, and is the only way to search a
dense layer or a layer of another family (``conv``/``ttm_conv``, ``embedding``/``ttm_embedding``).

Keys of a layer space:

* ``format``: a format of the layer's family (:func:`dse.workload.format_names`) or
  ``{choices: [...]}`` of them, so that the format itself is searched. Default: the layer's own
  format when it has knobs, else the family's TT-matrix format (``ttm``, ``ttm_conv``,
  ``ttm_embedding``).
* ``d``, ``shape_top_k``: the depth (number of input = output modes) and how many of the most
  balanced factorizations of each feature size are candidates; used by the formats with a depth
  knob (:attr:`dse.workload.FormatKnobs.depth`). Defaults 3 and 4.
* ``rank``: one rank value (fixed, choices or a range), expanded by each format's own
  :meth:`~dse.workload.LayerFormat.expand_ranks` (tt: ``(1, r, .., r, 1)`` over 2d cores; tr: a
  closed ring of r; tucker: r per mode; cp, lowrank, lora: ``(r,)``). Or a mapping from format
  to its rank (``rank: {tt: {low: 2, high: 16}, cp: {low: 8, high: 128}}``) when the formats'
  scales differ. Default 8.
* ``search``: which of the workload's explicit values are searched: a list from
  ``[shapes, ranks]``. Without it, a knob is searched when the layer space names it (``d`` or
  ``shape_top_k`` for the shapes, ``rank`` for the ranks) or when the workload gives no value
  for it; the workload's values of the other knobs are kept. A knob named by the space that
  replaces values the workload gives produces a notice (:attr:`SpaceConfig.notices`, printed by
  ``dse check`` and ``dse run``) until ``search`` says so; ``search: []`` keeps every value the
  workload gives.

Parameter names (stable, one distribution each): ``format@<layer>``, ``d@<layer>``,
``in_shape@<layer>`` / ``out_shape@<layer>`` (``in_shape_d4@<layer>`` when the depth is
searched), ``rank@<layer>`` (``rank`` when ``tie_ranks``). When a layer's format choices hold
several formats with ranks, a rank means something different in each, so its name carries the
format: ``rank_tt@fc1``, ``rank_cp@fc1`` (``rank_tt``, ``rank_cp`` when tied). Depth and shapes
mean the same in every format that has them (factors of ``in_features`` and ``out_features``)
and keep one name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dse import ConfigError
from dse._yaml import as_int, as_mapping, as_str, check_keys, join
from dse.config._params import Fixed, ParamSpec, param_values, parse_param
from dse.workload import LayerSpec, Workload, WorkloadError, balanced_factorizations, format_names, get_format

LAYER_SPACE_KEYS: tuple[str, ...] = ("format", "d", "shape_top_k", "rank", "search")
"""Keys of ``model.default`` and ``model.layers.<name>``."""
SEARCH_KNOBS: tuple[str, ...] = ("shapes", "ranks")
"""What ``search:`` may name."""
DEFAULT_FORMATS: Mapping[str, str] = {"linear": "ttm", "conv": "ttm_conv", "embedding": "ttm_embedding"}
"""Format of a layer space that names none, for a layer whose own format has no knobs."""
DEFAULT_D = 3
DEFAULT_SHAPE_TOP_K = 4
DEFAULT_RANK = 8
_RANGE_KEYS = ("choices", "low", "high", "step", "log")


@dataclass(frozen=True, slots=True)
class LayerSpace:
    """How one layer's configuration is searched.

    Attributes:
        layer: layer name in the workload.
        format: layer format(s) of the layer's family, fixed or searched.
        d: depth (number of input = output modes) of the formats with a depth knob.
        shape_top_k: keep the k most balanced factorizations of each feature size.
        rank: the rank value (one integer, tied across cores; each format expands it).
        in_shapes: candidate input factorizations per depth d (the workload's own when kept).
        out_shapes: candidate output factorizations per depth d.
        ranks_by_format: per-format rank values (``rank: {tt: ..., cp: ...}``), overriding ``rank``.
        fixed_ranks: the workload's rank vector when it is kept (not searched).
        rank_tagged: rank parameter names carry the format (``rank_cp@fc1``): several formats
            with ranks are searched.
    """

    layer: str
    format: ParamSpec
    d: ParamSpec
    shape_top_k: int
    rank: ParamSpec
    in_shapes: tuple[tuple[int, tuple[tuple[int, ...], ...]], ...]
    out_shapes: tuple[tuple[int, tuple[tuple[int, ...], ...]], ...]
    ranks_by_format: tuple[tuple[str, ParamSpec], ...] = ()
    fixed_ranks: tuple[int, ...] = ()
    rank_tagged: bool = False

    def shapes_for(self, d: int) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
        """(input, output) shape candidates at depth ``d``."""
        return dict(self.in_shapes)[d], dict(self.out_shapes)[d]

    @property
    def formats(self) -> tuple[str, ...]:
        """Every format the layer may take."""
        return tuple(param_values(self.format))

    @property
    def rank_formats(self) -> tuple[str, ...]:
        """The formats among :attr:`formats` that take ranks."""
        return tuple(f for f in self.formats if get_format(f).knobs.rank)

    def rank_spec(self, fmt: str) -> ParamSpec:
        """The rank values searched for format ``fmt``."""
        return dict(self.ranks_by_format).get(fmt, self.rank)

    def rank_name(self, fmt: str, *, tied: bool = False) -> str:
        """Parameter name of the rank of format ``fmt``: ``rank@fc1``, ``rank_cp@fc1``, ``rank``
        (tied), ``rank_cp`` (tied, several formats)."""
        stem = f"rank_{fmt}" if self.rank_tagged else "rank"
        return stem if tied else f"{stem}@{self.layer}"


def parse_model_space(
    model: Mapping[str, Any], *, source: str, workload: Workload
) -> tuple[tuple[LayerSpace, ...], bool, tuple[str, ...]]:
    """``model:`` of a space -> (layer spaces, ``tie_ranks``, notices)."""
    check_keys(model, ("default", "layers", "tie_ranks"), source, "model")
    tie_ranks = model.get("tie_ranks", False)
    if not isinstance(tie_ranks, bool):
        raise ConfigError(source, "model.tie_ranks", f"true or false, got {tie_ranks!r}")
    default = as_mapping(model.get("default", {}) or {}, source, "model.default")
    check_keys(default, LAYER_SPACE_KEYS, source, "model.default")
    overrides = as_mapping(model.get("layers", {}) or {}, source, "model.layers")
    names = [s.name for s in workload.layers]
    for name in overrides:
        if name not in names:
            raise ConfigError(source, join("model.layers", name), f"a layer of the workload {names}")
    layers: list[LayerSpace] = []
    replaced: dict[str, list[tuple[str, list[str]]]] = {}
    for spec in workload.layers:
        fld_layer = join("model.layers", spec.name)
        over = as_mapping(overrides.get(spec.name, {}) or {}, source, fld_layer)
        check_keys(over, LAYER_SPACE_KEYS, source, fld_layer)
        own = get_format(spec.format)
        family = own.knobs.family
        if not format_names(family=family, searchable=True):
            if over:
                raise ConfigError(
                    source,
                    fld_layer,
                    f"a layer whose format family has formats with knobs (layer {spec.name!r} is "
                    f"{spec.format}, family {family!r})",
                )
            continue  # attention keeps the workload's configuration
        if not over and (family != "linear" or not own.knobs.searchable):
            continue  # dense layers and other families keep theirs unless a layer override says so
        merged = {**default, **over}
        fld = fld_layer if over else "model.default"
        ls, knobs = _layer_space(spec, merged, source, fld)
        layers.append(ls)
        if knobs:
            replaced.setdefault(fld, []).append((spec.name, knobs))
    layers = _tag_ranks(layers, tie_ranks, source)
    notices = tuple(
        f"{source}: {fld} replaces the {' and '.join(sorted({k for _, ks in which for k in ks}))} the workload "
        f"gives for {', '.join(name for name, _ in which)} with searched ones; write `search: [shapes, ranks]` "
        f"in {fld} to say so, or `search: []` to keep them"
        for fld, which in replaced.items()
    )
    return tuple(layers), tie_ranks, notices


def _tag_ranks(layers: list[LayerSpace], tie_ranks: bool, source: str) -> list[LayerSpace]:
    """Set :attr:`LayerSpace.rank_tagged`; with tied ranks, check each tied group's values."""
    if tie_ranks:
        union = {f for ls in layers if not ls.fixed_ranks for f in ls.rank_formats}
        tagged = len(union) > 1
        layers = [replace(ls, rank_tagged=tagged) for ls in layers]
        groups: dict[str, set[str]] = {}
        for ls in layers:
            if ls.fixed_ranks:
                continue
            for f in ls.rank_formats:
                groups.setdefault(ls.rank_name(f, tied=True), set()).add(repr(ls.rank_spec(f)))
        if any(len(specs) > 1 for specs in groups.values()):
            raise ConfigError(source, "model.tie_ranks", "the same rank range for every layer when ranks are tied")
        return layers
    return [replace(ls, rank_tagged=len(ls.rank_formats) > 1) for ls in layers]


def _search(
    data: Mapping[str, Any], spec: LayerSpec, source: str, fld: str, used: set[str]
) -> tuple[set[str], list[str]]:
    """The knobs searched (``shapes``, ``ranks``) and those replacing workload values implicitly;
    ``used``: the knobs some format of the layer space takes (the others need no value)."""
    if "search" in data:
        raw = data["search"]
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            raise ConfigError(source, join(fld, "search"), f"a list from {list(SEARCH_KNOBS)}, got {raw!r}")
        knobs = {as_str(v, source, join(join(fld, "search"), n), choices=SEARCH_KNOBS) for n, v in enumerate(raw)}
        for knob, given in (("shapes", spec.in_shape), ("ranks", spec.ranks)):
            if knob in used and knob not in knobs and not given:
                raise ConfigError(
                    source,
                    join(fld, "search"),
                    f"{knob!r} in the list: layer {spec.name!r} gives no {knob} in the workload to keep",
                )
        return knobs, []
    knobs = set()
    implicit = []
    if "d" in data or "shape_top_k" in data or not spec.in_shape:
        knobs.add("shapes")
        if spec.in_shape:
            implicit.append("shapes")
    if "rank" in data or not spec.ranks:
        knobs.add("ranks")
        if spec.ranks:
            implicit.append("ranks")
    return knobs, implicit


def _formats(data: Mapping[str, Any], spec: LayerSpec, source: str, fld: str) -> ParamSpec:
    own = get_format(spec.format)
    family = own.knobs.family
    default = spec.format if own.knobs.searchable else DEFAULT_FORMATS.get(family, spec.format)
    fmt = parse_param(data.get("format", default), source, join(fld, "format"), kind="str")
    allowed = format_names(family=family)
    for v in param_values(fmt):
        if v not in allowed:
            raise ConfigError(
                source,
                join(fld, "format"),
                f"formats of layer {spec.name!r}'s family ({family}: {', '.join(allowed)}), got {v!r}",
            )
    return fmt


def _rank(
    data: Mapping[str, Any], rank_formats: Sequence[str], source: str, fld: str
) -> tuple[ParamSpec, dict[str, ParamSpec]]:
    """The shared rank value and the per-format ones (``rank: {tt: ..., cp: ...}``)."""
    raw = data.get("rank", DEFAULT_RANK)
    fld_rank = join(fld, "rank")
    if isinstance(raw, dict) and raw and not any(k in _RANGE_KEYS for k in raw):
        by_format: dict[str, ParamSpec] = {}
        for key, value in raw.items():
            if key not in rank_formats:
                raise ConfigError(
                    source,
                    join(fld_rank, str(key)),
                    f"a format with ranks among the layer's format choices {list(rank_formats)} "
                    "(or a rank value: a number, {choices: [...]} or {low, high})",
                )
            by_format[key] = parse_param(value, source, join(fld_rank, key), kind="int")
        missing = [f for f in rank_formats if f not in by_format]
        if missing:
            raise ConfigError(source, fld_rank, f"a rank for every format with ranks; missing {missing}")
        return by_format[rank_formats[0]], by_format
    return parse_param(raw, source, fld_rank, kind="int"), {}


def _layer_space(spec: LayerSpec, data: Mapping[str, Any], source: str, fld: str) -> tuple[LayerSpace, list[str]]:
    """One layer's space, validated, and the knobs it replaces implicitly (for the notice)."""
    fmt = _formats(data, spec, source, fld)
    formats = param_values(fmt)
    depth_formats = [f for f in formats if get_format(f).knobs.depth]
    rank_formats = [f for f in formats if get_format(f).knobs.rank]
    used = {"shapes"} if depth_formats else set()
    used |= {"ranks"} if rank_formats else set()
    knobs, implicit = _search(data, spec, source, fld, used)
    implicit = [k for k in implicit if k in used]
    fixed_ranks: tuple[int, ...] = ()
    if "ranks" not in knobs and rank_formats:
        if formats != (spec.format,):
            raise ConfigError(
                source,
                join(fld, "search"),
                f"'ranks' in the list when the format is searched (layer {spec.name!r}'s workload ranks "
                f"{list(spec.ranks)} are those of format {spec.format!r})",
            )
        fixed_ranks = spec.ranks
    top_k = as_int(data.get("shape_top_k", DEFAULT_SHAPE_TOP_K), source, join(fld, "shape_top_k"), minimum=1)
    in_shapes: list[tuple[int, tuple[tuple[int, ...], ...]]] = []
    out_shapes: list[tuple[int, tuple[tuple[int, ...], ...]]] = []
    if "shapes" in knobs:
        d = parse_param(data.get("d", DEFAULT_D), source, join(fld, "d"), kind="int")
        for dv in param_values(d) if depth_formats else ():
            for f in depth_formats:
                low = get_format(f).knobs.min_depth
                if dv < low:
                    raise ConfigError(source, join(fld, "d"), f"depths >= {low} (format {f}), got {dv}")
            ins = tuple(balanced_factorizations(spec.in_features, dv, top_k))
            outs = tuple(balanced_factorizations(spec.out_features, dv, top_k))
            if not ins or not outs:
                bad = spec.in_features if not ins else spec.out_features
                raise ConfigError(
                    source,
                    join(fld, "d"),
                    f"a depth at which layer {spec.name!r} can be factorized; {bad} has no {dv} factors >= 2",
                )
            in_shapes.append((dv, ins))
            out_shapes.append((dv, outs))
    else:
        d = Fixed(len(spec.in_shape))
        for f in depth_formats:
            low = get_format(f).knobs.min_depth
            if len(spec.in_shape) < low:
                raise ConfigError(
                    source,
                    join(fld, "search"),
                    f"'shapes' in the list: format {f} needs at least {low} modes, layer {spec.name!r} "
                    f"gives {list(spec.in_shape)}",
                )
        in_shapes.append((len(spec.in_shape), (spec.in_shape,)))
        out_shapes.append((len(spec.out_shape), (spec.out_shape,)))
    rank, by_format = _rank(data, rank_formats, source, fld) if rank_formats else (Fixed(DEFAULT_RANK), {})
    ls = LayerSpace(
        layer=spec.name,
        format=fmt,
        d=d,
        shape_top_k=top_k,
        rank=rank,
        in_shapes=tuple(in_shapes),
        out_shapes=tuple(out_shapes),
        ranks_by_format=tuple(by_format.items()),
        fixed_ranks=fixed_ranks,
    )
    _check_configurations(ls, spec, source, fld)
    return ls, implicit


def _check_configurations(ls: LayerSpace, spec: LayerSpec, source: str, fld: str) -> None:
    """Every format at every depth takes its first shapes and its smallest rank (so that no
    trial fails on a configuration the space itself makes impossible)."""
    for f in ls.formats:
        layer_format = get_format(f)
        depths = param_values(ls.d) if layer_format.knobs.depth else (0,)
        for dv in depths:
            ins, outs = ls.shapes_for(dv) if dv else (((),), ((),))
            rank: Any = None
            if layer_format.knobs.rank:
                rank = ls.fixed_ranks or param_values(ls.rank_spec(f))[0]
            try:
                layer_format.configure(spec, in_shape=ins[0], out_shape=outs[0], rank=rank)
            except WorkloadError as exc:
                text = str(exc).removeprefix(f"layer {spec.name!r}: ")
                key = "rank" if "rank" in text else "d" if dv else "format"
                raise ConfigError(source, join(fld, key), f"a configuration format {f} takes ({text})") from None
