"""Declarative search space -> define-by-run optuna: ``suggest(trial) -> Design``.

This is the only module that calls ``trial.suggest_*``. Parameter names are stable and
contextual (``pe_rows``, ``rank@fc1``, ``in_shape@fc1``); a conditional parameter whose choices
depend on another one gets the condition in its name (``in_shape_d4@fc1``), because optuna cannot
change a categorical's choices under one name. A rank whose meaning differs per format gets the
format in its name when several formats with ranks are searched (``rank_cp@fc1``; see
:mod:`dse.config._model_space`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from analytical_models import DATAFLOWS, ArrayEngine, Hardware, ModelInputError, get_engine
from dse._design import Design
from dse._errors import ConfigError
from dse.config import (
    TEMPLATE_KEYS,
    Categorical,
    Fixed,
    FloatRange,
    IntRange,
    LayerSpace,
    ParamSpec,
    SpaceConfig,
    StudyConfig,
)
from dse.evaluate import tree_count

if TYPE_CHECKING:
    import optuna
from dse.workload import PASS_DX, LayerSpec, Workload, get_format, pass_kind


def shape_label(shape: tuple[int, ...]) -> str:
    """``(4, 16, 16)`` -> ``"4x16x16"`` (how shapes appear as categorical choices)."""
    return "x".join(str(f) for f in shape)


def parse_shape_label(label: str) -> tuple[int, ...]:
    """Inverse of :func:`shape_label`."""
    return tuple(int(f) for f in label.split("x"))


def _suggest(trial: optuna.Trial, name: str, spec: ParamSpec) -> Any:
    if isinstance(spec, Fixed):
        return spec.value
    if isinstance(spec, Categorical):
        return trial.suggest_categorical(name, list(spec.choices))
    if isinstance(spec, IntRange):
        return trial.suggest_int(name, spec.low, spec.high, step=spec.step, log=spec.log)
    if isinstance(spec, FloatRange):
        return trial.suggest_float(name, spec.low, spec.high, log=spec.log)
    raise TypeError(spec)  # pragma: no cover


def suggest_hardware(trial: optuna.Trial, space: SpaceConfig) -> Hardware:
    """Sample the hardware part of the space. A template's own keys (:data:`TEMPLATE_KEYS`) are
    suggested only when the sampled engine declares them; otherwise they keep the engine's
    default (or the plain array's)."""
    specs = dict(space.hardware)
    v = {key: _suggest(trial, key, spec) for key, spec in space.hardware if key not in TEMPLATE_KEYS}
    engine = get_engine(v["engine"])
    knobs = dict(engine.knobs) if isinstance(engine, ArrayEngine) else {}
    template: dict[str, Any] = {
        key: int(_suggest(trial, key, specs[key])) if key in specs else default for key, default in knobs.items()
    }
    dataflow = v.pop("dataflow")
    return Hardware(
        **template,
        engine=v["engine"],
        pe_rows=int(v["pe_rows"]),
        pe_cols=int(v["pe_cols"]),
        ifmap_sram_kb=float(v["ifmap_sram_kb"]),
        filter_sram_kb=float(v["filter_sram_kb"]),
        ofmap_sram_kb=float(v["ofmap_sram_kb"]),
        dram_bw_bytes_per_cycle=float(v["dram_bw_bytes_per_cycle"]),
        freq_mhz=float(v["freq_mhz"]),
        bits=int(v["bits"]),
        tech=v["tech"],
        dataflows=DATAFLOWS if dataflow == "any" else (dataflow,),
        memory_timing=v["memory_timing"],
    )


def suggest_layer(
    trial: optuna.Trial, ls: LayerSpace, base: LayerSpec, *, rank_name: str = "", tied: bool = False
) -> LayerSpec:
    """Sample one layer's format, then the knobs that format has (depth and shapes, rank), and
    build it with the format's :meth:`~dse.workload.LayerFormat.configure` (its own rank
    expansion). ``rank_name`` overrides the rank's name; ``tied``: the rank is shared by every
    layer (``rank``, or ``rank_<format>`` when several formats with ranks are searched)."""
    at = f"@{ls.layer}"
    fmt = get_format(_suggest(trial, "format" + at, ls.format))
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    if fmt.knobs.depth:
        d = int(_suggest(trial, "d" + at, ls.d))
        ins, outs = ls.shapes_for(d)
        tag = "" if isinstance(ls.d, Fixed) else f"_d{d}"
        in_spec: ParamSpec = Fixed(ins[0]) if len(ins) == 1 else Categorical(tuple(map(shape_label, ins)))
        out_spec: ParamSpec = Fixed(outs[0]) if len(outs) == 1 else Categorical(tuple(map(shape_label, outs)))
        in_shape = _shape(_suggest(trial, f"in_shape{tag}{at}", in_spec))
        out_shape = _shape(_suggest(trial, f"out_shape{tag}{at}", out_spec))
    rank: int | tuple[int, ...] | None = None
    if fmt.knobs.rank:
        if ls.fixed_ranks:
            rank = ls.fixed_ranks
        else:
            name = rank_name or ls.rank_name(fmt.name, tied=tied)
            rank = int(_suggest(trial, name, ls.rank_spec(fmt.name)))
    return fmt.configure(base, in_shape=in_shape, out_shape=out_shape, rank=rank)


def _shape(value: Any) -> tuple[int, ...]:
    return parse_shape_label(value) if isinstance(value, str) else tuple(value)


def suggest(trial: optuna.Trial, cfg: StudyConfig) -> Design:
    """Sample one design of the study's joint space (model configuration x hardware x policy)."""
    space = cfg.space
    hw = suggest_hardware(trial, space)
    workload: Workload = cfg.workload
    for ls in space.layers:
        workload = workload.with_layer(suggest_layer(trial, ls, workload.layer(ls.layer), tied=space.tie_ranks))
    path_choices: tuple[tuple[str, int], ...] = ()
    if space.path_policy == "searched":
        path_choices = suggest_paths(trial, cfg, workload)
    return Design(
        workload=workload,
        hardware=hw,
        mode=cfg.mode,
        path_policy=space.path_policy,
        path_optimizer=space.path_optimizer,
        mapping_objective=space.mapping_objective,
        execution=space.execution,
        path_choices=path_choices,
    )


def suggest_paths(trial: optuna.Trial, cfg: StudyConfig, workload: Workload) -> tuple[tuple[str, int], ...]:
    """Sample a contraction-tree index for every network of every layer (``path@fc1/forward``).

    When a layer's depth or format is searched, its networks' input counts vary, so the name
    carries the tree count: ``path_t15@fc1/forward``.
    """
    searched = {ls.layer: not (isinstance(ls.d, Fixed) and isinstance(ls.format, Fixed)) for ls in cfg.space.layers}
    training = cfg.mode == "training"
    choices: list[tuple[str, int]] = []
    for n, spec in enumerate(workload.layers):
        fmt = get_format(spec.format)
        nets = fmt.networks(spec) if training else fmt.inference_networks(spec)
        for net in nets:
            if pass_kind(net.label) == PASS_DX and n == 0:
                continue
            count = tree_count(net.n_inputs)
            if count <= 1:
                continue
            tag = f"_t{count}" if searched.get(spec.name, False) else ""
            key = f"{spec.name}/{net.label}"
            choices.append((key, trial.suggest_int(f"path{tag}@{key}", 0, count - 1)))
    return tuple(sorted(choices))


class _Recorder:
    """A stand-in trial that takes the first value of every parameter and records its name."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        self.names.append(name)
        return choices[0]

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        self.names.append(name)
        return low

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        self.names.append(name)
        return low


def searched_parameters(cfg: StudyConfig) -> list[str]:
    """Names of the parameters :func:`suggest` searches for the first design of the space, once
    each (a rank tied across layers is one parameter).

    Counted by the same walk that suggests them, so shapes, tree indices and conditional
    parameters count exactly as the sampler sees them. A parameter that only exists under a
    condition needs a searched parent, so an empty list means every value is fixed.

    Raises:
        ConfigError: the space's first design is not a valid accelerator.
    """
    recorder = _Recorder()
    try:
        suggest(cast("optuna.Trial", recorder), cfg)
    except ModelInputError as exc:
        raise ConfigError(cfg.space.source, "hardware", str(exc)) from None
    return list(dict.fromkeys(recorder.names))  # a tied rank is one parameter
