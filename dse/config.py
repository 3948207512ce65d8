"""Study and search-space YAML -> frozen, validated configuration objects.

Everything a run needs is checked here, before any file is written: a mistake ends as one
:class:`~dse.ConfigError` naming the file, the field and what was expected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from analytical_models import DATAFLOWS, MEMORY_TIMINGS, OBJECTIVES, engine_names, tech_names
from dse._errors import ConfigError
from dse._yaml import (
    as_float,
    as_int,
    as_mapping,
    as_str,
    check_keys,
    join,
    load_yaml,
)
from dse.workload import (
    Workload,
    balanced_factorizations,
    load_workload,
    parse_workload,
)

MODES: tuple[str, ...] = ("inference", "training")
PATH_POLICIES: tuple[str, ...] = ("hardware_aware", "mac_optimal", "searched")
PATH_OPTIMIZERS: tuple[str, ...] = ("dp", "exhaustive", "greedy")
EXHAUSTIVE_LIMIT = 20_000
"""Default largest space ``dse run --exhaustive`` enumerates (designs)."""
SEARCHABLE_FORMATS: tuple[str, ...] = ("ttm", "dense")
"""Layer formats whose configuration (TT-matrix or dense, depth, shapes, rank) a space searches."""
SAMPLERS: tuple[str, ...] = ("nsga2", "nsga3", "tpe", "random", "qmc", "bruteforce")


@dataclass(frozen=True, slots=True)
class ObjectiveSpec:
    """A study objective: its metric key, direction and unit."""

    key: str
    direction: str
    unit: str
    label: str


OBJECTIVE_SPECS: dict[str, ObjectiveSpec] = {
    o.key: o
    for o in (
        ObjectiveSpec("latency_ms", "minimize", "ms", "latency per step"),
        ObjectiveSpec("energy_uj", "minimize", "uJ", "energy per step"),
        ObjectiveSpec("edp_uj_ms", "minimize", "uJ*ms", "energy-delay product"),
        ObjectiveSpec("area_mm2", "minimize", "mm2", "chip area"),
        ObjectiveSpec("params", "minimize", "parameters", "model parameters"),
        ObjectiveSpec("compression", "maximize", "x", "compression vs dense"),
        ObjectiveSpec("onchip_kb", "minimize", "kB", "on-chip SRAM"),
        ObjectiveSpec("dsp_count", "minimize", "DSP slices", "FPGA DSP slices"),
        ObjectiveSpec("bram_blocks", "minimize", "BRAM36 blocks", "FPGA block RAMs"),
    )
}
"""Objectives a study can choose, keyed by the metric name (which carries the unit)."""

CONSTRAINT_KEYS: tuple[str, ...] = (
    "area_mm2",
    "power_mw",
    "onchip_kb",
    "latency_ms",
    "energy_uj",
    "dsp_count",
    "bram_blocks",
)

HARDWARE_KEYS: tuple[str, ...] = (
    "engine",
    "pe_rows",
    "pe_cols",
    "ifmap_sram_kb",
    "filter_sram_kb",
    "ofmap_sram_kb",
    "dram_bw_bytes_per_cycle",
    "freq_mhz",
    "bits",
    "tech",
    "dataflow",
    "memory_timing",
)
_LAYER_SPACE_KEYS = ("format", "d", "shape_top_k", "rank")


# --------------------------------------------------------------------------- parameter specs
@dataclass(frozen=True, slots=True)
class Fixed:
    """A parameter held at one value."""

    value: Any


@dataclass(frozen=True, slots=True)
class Categorical:
    """A parameter chosen from a list."""

    choices: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class IntRange:
    """An integer parameter in ``[low, high]``."""

    low: int
    high: int
    step: int = 1
    log: bool = False


@dataclass(frozen=True, slots=True)
class FloatRange:
    """A real parameter in ``[low, high]``."""

    low: float
    high: float
    log: bool = False


ParamSpec = Fixed | Categorical | IntRange | FloatRange


def _param(value: Any, source: str, fld: str, *, kind: str) -> ParamSpec:
    """Parse a parameter: a scalar (fixed), ``{choices: [...]}`` or ``{low, high, step?, log?}``.

    ``kind`` is ``int``, ``float`` or ``str`` and checks the values.
    """

    def check(v: Any, f: str) -> Any:
        if kind == "int":
            return as_int(v, source, f, minimum=1)
        if kind == "float":
            return as_float(v, source, f, positive=True)
        return as_str(v, source, f)

    if not isinstance(value, dict):
        return Fixed(check(value, fld))
    if "choices" in value:
        check_keys(value, ("choices",), source, fld)
        raw = value["choices"]
        if not isinstance(raw, list) or not raw:
            raise ConfigError(source, join(fld, "choices"), "a non-empty list")
        choices = tuple(check(v, join(join(fld, "choices"), n)) for n, v in enumerate(raw))
        if len(set(choices)) != len(choices):
            raise ConfigError(source, join(fld, "choices"), "distinct values")
        return Fixed(choices[0]) if len(choices) == 1 else Categorical(choices)
    if kind == "str":
        raise ConfigError(source, fld, "a string or {choices: [...]}")
    check_keys(value, ("low", "high", "step", "log"), source, fld)
    for key in ("low", "high"):
        if key not in value:
            raise ConfigError(source, join(fld, key), "a value (a range needs low and high)")
    log = value.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(source, join(fld, "log"), f"true or false, got {log!r}")
    low, high = check(value["low"], join(fld, "low")), check(value["high"], join(fld, "high"))
    if high < low:
        raise ConfigError(source, join(fld, "high"), f"a value >= low ({low}), got {high}")
    if kind == "int":
        step = as_int(value.get("step", 1), source, join(fld, "step"), minimum=1)
        if log and step != 1:
            raise ConfigError(source, join(fld, "step"), "1 when log is true")
        return Fixed(low) if low == high else IntRange(low, high, step, log)
    if "step" in value:
        raise ConfigError(source, join(fld, "step"), "no step for a real-valued range")
    return Fixed(low) if low == high else FloatRange(float(low), float(high), log)


def param_values(spec: ParamSpec) -> tuple[Any, ...]:
    """Every value of a discrete parameter."""
    if isinstance(spec, Fixed):
        return (spec.value,)
    if isinstance(spec, Categorical):
        return spec.choices
    if isinstance(spec, IntRange):
        return tuple(range(spec.low, spec.high + 1, spec.step))
    raise ValueError("a real range has no finite list of values")


# --------------------------------------------------------------------------- search space
@dataclass(frozen=True, slots=True)
class LayerSpace:
    """How one tensorizable layer's configuration is searched.

    Attributes:
        layer: layer name in the workload.
        format: layer format (``ttm`` or ``dense``), fixed or searched.
        d: tensorization depth (number of cores), fixed or searched.
        shape_top_k: keep the k most balanced factorizations of each feature size.
        rank: the internal TT rank (tied across cores).
        in_shapes: candidate input factorizations per depth d.
        out_shapes: candidate output factorizations per depth d.
    """

    layer: str
    format: ParamSpec
    d: ParamSpec
    shape_top_k: int
    rank: ParamSpec
    in_shapes: tuple[tuple[int, tuple[tuple[int, ...], ...]], ...]
    out_shapes: tuple[tuple[int, tuple[tuple[int, ...], ...]], ...]

    def shapes_for(self, d: int) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
        """(input, output) shape candidates at depth ``d``."""
        return dict(self.in_shapes)[d], dict(self.out_shapes)[d]


@dataclass(frozen=True, slots=True)
class SpaceConfig:
    """A declarative search space (``search_spaces/*.yaml``), validated."""

    source: str
    hardware: tuple[tuple[str, ParamSpec], ...]
    layers: tuple[LayerSpace, ...]
    path_policy: str
    path_optimizer: str
    mapping_objective: str
    tie_ranks: bool = False

    @property
    def hardware_dict(self) -> dict[str, ParamSpec]:
        """Hardware parameters by name."""
        return dict(self.hardware)

    def n_searched(self) -> int:
        """How many parameters are actually searched (not fixed)."""
        n = sum(1 for _, p in self.hardware if not isinstance(p, Fixed))
        for ls in self.layers:
            n += sum(1 for p in (ls.format, ls.d, ls.rank) if not isinstance(p, Fixed))
        if self.path_policy == "searched":
            n += 1
            n += sum(1 for _, c in ls.in_shapes if len(c) > 1)
            n += sum(1 for _, c in ls.out_shapes if len(c) > 1)
        return n


_HW_KIND = {
    "engine": "str",
    "pe_rows": "int",
    "pe_cols": "int",
    "ifmap_sram_kb": "float",
    "filter_sram_kb": "float",
    "ofmap_sram_kb": "float",
    "dram_bw_bytes_per_cycle": "float",
    "freq_mhz": "float",
    "bits": "int",
    "tech": "str",
    "dataflow": "str",
    "memory_timing": "str",
}
_HW_DEFAULTS: dict[str, Any] = {
    "engine": "systolic",
    "freq_mhz": 500.0,
    "bits": 8,
    "tech": "horowitz45",
    "dataflow": "ws",
    "memory_timing": "overlapped",
}
_HW_CHOICES: dict[str, tuple[str, ...]] = {}


def _hw_choices() -> dict[str, tuple[str, ...]]:
    if not _HW_CHOICES:
        _HW_CHOICES.update(
            engine=engine_names(), tech=tech_names(), dataflow=(*DATAFLOWS, "any"), memory_timing=MEMORY_TIMINGS
        )
    return _HW_CHOICES


def parse_space(data: Mapping[str, Any], *, source: str, workload: Workload) -> SpaceConfig:
    """A search-space mapping -> :class:`SpaceConfig` for ``workload``."""
    check_keys(data, ("name", "description", "hardware", "model", "policy"), source, "")
    hw_raw = as_mapping(data.get("hardware", {}), source, "hardware")
    check_keys(hw_raw, HARDWARE_KEYS, source, "hardware")
    hardware: list[tuple[str, ParamSpec]] = []
    for key in HARDWARE_KEYS:
        fld = join("hardware", key)
        if key not in hw_raw and key not in _HW_DEFAULTS:
            raise ConfigError(source, fld, "a value or {choices: [...]} (required)")
        spec = _param(hw_raw.get(key, _HW_DEFAULTS.get(key)), source, fld, kind=_HW_KIND[key])
        allowed = _hw_choices().get(key)
        if allowed is not None:
            for v in param_values(spec):
                if v not in allowed:
                    raise ConfigError(source, fld, f"values from {list(allowed)}, got {v!r}")
        hardware.append((key, spec))

    model = as_mapping(data.get("model", {}), source, "model")
    check_keys(model, ("default", "layers", "tie_ranks"), source, "model")
    tie_ranks = model.get("tie_ranks", False)
    if not isinstance(tie_ranks, bool):
        raise ConfigError(source, "model.tie_ranks", f"true or false, got {tie_ranks!r}")
    default = as_mapping(model.get("default", {}), source, "model.default")
    check_keys(default, _LAYER_SPACE_KEYS, source, "model.default")
    overrides = as_mapping(model.get("layers", {}) or {}, source, "model.layers")
    names = [s.name for s in workload.layers]
    for name in overrides:
        if name not in names:
            raise ConfigError(source, join("model.layers", name), f"a layer of the workload {names}")
    layers: list[LayerSpace] = []
    for layer_spec in workload.layers:
        over = as_mapping(overrides.get(layer_spec.name, {}) or {}, source, join("model.layers", layer_spec.name))
        check_keys(over, _LAYER_SPACE_KEYS, source, join("model.layers", layer_spec.name))
        if layer_spec.format not in SEARCHABLE_FORMATS:
            if over:
                raise ConfigError(
                    source,
                    join("model.layers", layer_spec.name),
                    f"a layer whose format is one of {list(SEARCHABLE_FORMATS)} (this one is {layer_spec.format})",
                )
            continue  # attention, embeddings, convolutions keep the workload's configuration
        if layer_spec.format == "dense" and not over:
            continue  # dense layers of the workload stay dense unless a layer override says so
        merged = {**default, **over}
        fld = join("model.layers", layer_spec.name) if over else "model.default"
        layers.append(
            _layer_space(layer_spec.name, layer_spec.in_features, layer_spec.out_features, merged, source, fld)
        )

    if tie_ranks:
        specs = {repr(ls.rank) for ls in layers if "ttm" in param_values(ls.format)}
        if len(specs) > 1:
            raise ConfigError(source, "model.tie_ranks", "the same rank range for every layer when ranks are tied")
    policy = as_mapping(data.get("policy", {}) or {}, source, "policy")
    check_keys(policy, ("path", "path_optimizer", "mapping_objective"), source, "policy")
    cfg = SpaceConfig(
        source=source,
        hardware=tuple(hardware),
        layers=tuple(layers),
        path_policy=as_str(policy.get("path", "hardware_aware"), source, "policy.path", choices=PATH_POLICIES),
        path_optimizer=as_str(
            policy.get("path_optimizer", "dp"),
            source,
            "policy.path_optimizer",
            choices=PATH_OPTIMIZERS,
        ),
        tie_ranks=tie_ranks,
        mapping_objective=as_str(
            policy.get("mapping_objective", "latency"),
            source,
            "policy.mapping_objective",
            choices=OBJECTIVES,
        ),
    )
    if cfg.n_searched() == 0:
        raise ConfigError(source, "(space)", "at least one searched parameter; every value is fixed")
    return cfg


def _layer_space(name: str, in_f: int, out_f: int, data: Mapping[str, Any], source: str, fld: str) -> LayerSpace:
    fmt = _param(data.get("format", "ttm"), source, join(fld, "format"), kind="str")
    for v in param_values(fmt):
        if v not in ("ttm", "dense"):
            raise ConfigError(source, join(fld, "format"), f"ttm or dense, got {v!r}")
    d = _param(data.get("d", 3), source, join(fld, "d"), kind="int")
    if isinstance(d, FloatRange):  # pragma: no cover - kind=int never yields it
        raise ConfigError(source, join(fld, "d"), "integers")
    top_k = as_int(data.get("shape_top_k", 4), source, join(fld, "shape_top_k"), minimum=1)
    rank = _param(data.get("rank", 8), source, join(fld, "rank"), kind="int")
    in_shapes: list[tuple[int, tuple[tuple[int, ...], ...]]] = []
    out_shapes: list[tuple[int, tuple[tuple[int, ...], ...]]] = []
    if "ttm" in param_values(fmt):
        for dv in param_values(d):
            if dv < 2:
                raise ConfigError(source, join(fld, "d"), f"depths >= 2, got {dv}")
            ins = tuple(balanced_factorizations(in_f, dv, top_k))
            outs = tuple(balanced_factorizations(out_f, dv, top_k))
            if not ins or not outs:
                bad = in_f if not ins else out_f
                raise ConfigError(
                    source,
                    join(fld, "d"),
                    f"a depth at which layer {name!r} can be factorized; {bad} has no {dv} factors >= 2",
                )
            in_shapes.append((dv, ins))
            out_shapes.append((dv, outs))
    return LayerSpace(
        layer=name,
        format=fmt,
        d=d,
        shape_top_k=top_k,
        rank=rank,
        in_shapes=tuple(in_shapes),
        out_shapes=tuple(out_shapes),
    )


# --------------------------------------------------------------------------- study
@dataclass(frozen=True, slots=True)
class ConstraintSpec:
    """``metric <= max`` (feasible when ``metric - max <= 0``)."""

    metric: str
    max: float


@dataclass(frozen=True, slots=True)
class SamplerConfig:
    """Which optuna sampler, with its seed and population size."""

    name: str = "nsga2"
    seed: int | None = None
    population_size: int = 24


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyConfig:
    """A whole study, validated."""

    name: str
    source: str
    description: str
    workload: Workload
    mode: str
    space: SpaceConfig
    objectives: tuple[str, ...]
    objective_directions: tuple[str, ...]
    constraints: tuple[ConstraintSpec, ...]
    sampler: SamplerConfig
    n_trials: int
    timeout_s: float | None
    run_dir: Path
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    space_raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def directions(self) -> list[str]:
        """Optuna directions of the objectives (``minimize`` / ``maximize``)."""
        return list(self.objective_directions)

    def fingerprint(self) -> str:
        """Hash of what makes two runs the same study: objectives and their directions, mode,
        constraints, the workload's layers and the search space as the user wrote it.

        Built from user-visible values only (layer fields that differ from their defaults, the
        space file's data), so a new TNN-DSE version that adds a defaulted option does not
        orphan existing run folders. Budgets, seeds, samplers and descriptions may change.
        """
        payload = {
            "objectives": self.objectives,
            "directions": self.objective_directions,
            "mode": self.mode,
            "constraints": sorted((c.metric, c.max) for c in self.constraints),
            "workload": {
                "batch": self.workload.batch,
                "seq_len": self.workload.seq_len,
                "layers": [_non_default_fields(s) for s in self.workload.layers],
            },
            "space": self.space_raw,
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _non_default_fields(obj: Any) -> dict[str, Any]:
    """The dataclass fields of ``obj`` whose value differs from the field's default."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.default is not MISSING and value == f.default:
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def parse_objectives(value: Any, src: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Objectives: names (default direction) or one-key mappings ``{name: minimize|maximize}``.

    ``{params: maximize}`` makes the parameter count a capacity (accuracy proxy) to keep high,
    so the front shows the cheapest hardware at every model size.
    """
    expected = f"a non-empty list of objectives from {sorted(OBJECTIVE_SPECS)}"
    if not isinstance(value, list) or not value:
        raise ConfigError(src, "objectives", expected)
    names: list[str] = []
    dirs: list[str] = []
    for n, item in enumerate(value):
        fld = join("objectives", n)
        if isinstance(item, dict) and len(item) == 1:
            ((name, direction),) = item.items()
            name = as_str(name, src, fld, choices=sorted(OBJECTIVE_SPECS))
            direction = as_str(direction, src, join(fld, name), choices=("minimize", "maximize"))
        else:
            name = as_str(item, src, fld, choices=sorted(OBJECTIVE_SPECS))
            direction = OBJECTIVE_SPECS[name].direction
        names.append(name)
        dirs.append(direction)
    if len(set(names)) != len(names):
        raise ConfigError(src, "objectives", "distinct objectives")
    return tuple(names), tuple(dirs)


_STUDY_KEYS = (
    "name",
    "description",
    "workload",
    "mode",
    "space",
    "objectives",
    "constraints",
    "sampler",
    "n_trials",
    "timeout_s",
    "run_dir",
)


def load_study_config(
    path: str | Path, *, run_root: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> StudyConfig:
    """Read and validate a study YAML (and the workload and space files it names).

    Args:
        path: the study file.
        run_root: folder under which ``<name>/`` is the run folder (default ``./runs``);
            a ``run_dir`` in the file wins unless ``overrides`` sets one.
        overrides: values that replace the file's (``n_trials``, ``timeout_s``, ``seed``,
            ``run_dir``), from the command line.
    """
    src = str(path)
    data = load_yaml(path)
    base = Path(path).parent
    check_keys(data, _STUDY_KEYS, src, "")
    over = dict(overrides or {})
    for key in ("name", "workload", "space", "objectives"):
        if key not in data:
            raise ConfigError(src, key, "a value (required)")
    name = as_str(data["name"], src, "name")
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ConfigError(src, "name", f"a plain name usable as a folder, got {name!r}")

    wl_raw = data["workload"]
    if isinstance(wl_raw, str):
        workload = load_workload(wl_raw, base_dir=base, source=src)
    else:
        workload = parse_workload(as_mapping(wl_raw, src, "workload"), source=src)
    mode = as_str(data.get("mode", "training"), src, "mode", choices=MODES)

    sp_raw = data["space"]
    if isinstance(sp_raw, str):
        sp_path = base / sp_raw
        space_data = load_yaml(sp_path)
        space = parse_space(space_data, source=str(sp_path), workload=workload)
    else:
        space_data = as_mapping(sp_raw, src, "space")
        space = parse_space(space_data, source=src, workload=workload)
    space_data = {k: v for k, v in space_data.items() if k not in ("name", "description")}

    objectives, directions = parse_objectives(data["objectives"], src)

    cons_raw = as_mapping(data.get("constraints", {}) or {}, src, "constraints")
    check_keys(cons_raw, CONSTRAINT_KEYS, src, "constraints")
    constraints = tuple(
        ConstraintSpec(k, as_float(v, src, join("constraints", k), positive=True)) for k, v in cons_raw.items()
    )

    smp = as_mapping(data.get("sampler", {}) or {}, src, "sampler")
    check_keys(smp, ("name", "seed", "population_size"), src, "sampler")
    seed = smp.get("seed")
    seed = None if seed is None else as_int(seed, src, "sampler.seed", minimum=0)
    if over.get("seed") is not None:
        seed = as_int(over["seed"], "command line", "--seed", minimum=0)
    sampler = SamplerConfig(
        name=as_str(smp.get("name", "nsga2"), src, "sampler.name", choices=SAMPLERS),
        seed=seed,
        population_size=as_int(smp.get("population_size", 24), src, "sampler.population_size", minimum=2),
    )
    n_trials = as_int(data.get("n_trials", 100), src, "n_trials", minimum=1)
    if over.get("n_trials") is not None:
        n_trials = as_int(over["n_trials"], "command line", "--n-trials", minimum=1)
    timeout = data.get("timeout_s")
    timeout_s = None if timeout is None else as_float(timeout, src, "timeout_s", positive=True)
    if over.get("timeout_s") is not None:
        timeout_s = as_float(over["timeout_s"], "command line", "--timeout", positive=True)
    if "run_dir" in over and over["run_dir"] is not None:
        run_dir = Path(over["run_dir"])
    elif data.get("run_dir") is not None:
        run_dir = base / as_str(data["run_dir"], src, "run_dir")
    else:
        run_dir = (run_root or Path("runs")) / name
    return StudyConfig(
        name=name,
        source=src,
        description=str(data.get("description", "")),
        workload=workload,
        mode=mode,
        space=space,
        objectives=objectives,
        objective_directions=directions,
        constraints=constraints,
        sampler=sampler,
        n_trials=n_trials,
        timeout_s=timeout_s,
        run_dir=run_dir,
        raw=data,
        space_raw=space_data,
    )
