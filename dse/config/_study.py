"""Study YAML -> a validated :class:`StudyConfig` (workload, mode, space, objectives, budget).

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

from dse import ConfigError
from dse._catalog import CONSTRAINT_KEYS, OBJECTIVE_KEYS, default_direction
from dse._samplers import DISCRETE_SAMPLERS, POPULATION_SAMPLERS, SAMPLERS
from dse._yaml import as_float, as_int, as_mapping, as_str, check_keys, join, load_yaml
from dse.config._params import FloatRange
from dse.config._quality import QualityConfig, check_quality_sources, parse_quality
from dse.config._space import SpaceConfig, parse_space
from dse.workload import Workload, load_workload, parse_workload

MODES: tuple[str, ...] = ("inference", "training")
"""``inference``: forward only; ``training``: forward, input gradient and every weight gradient."""
EXHAUSTIVE_LIMIT = 20_000
"""Default largest space ``dse run --exhaustive`` enumerates (designs)."""
RUNS_FOLDER = "runs"
"""Folder of a project that holds the run folders of its studies (``runs/<study name>``)."""
PROJECT_MARKERS: tuple[str, ...] = (RUNS_FOLDER, "pyproject.toml", ".git")
"""What marks a project folder (the one whose ``runs/`` holds a study's default run folder)."""


def project_dir(study_file: Path) -> Path:
    """The project a study file belongs to: the nearest folder, from the study file's own
    folder upwards, that holds a ``runs/`` folder, a ``pyproject.toml`` or a ``.git``; the
    study file's folder when none does."""
    folder = study_file.resolve().parent
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    return folder


def default_run_dir(study_file: Path, name: str) -> Path:
    """Where a study's results go when neither ``--run-dir`` nor ``run_dir:`` says:
    ``<project>/runs/<name>`` (:func:`project_dir`), whatever the current directory.

    A run folder of an earlier version, ``./runs/<name>`` under the current directory, is still
    found when it holds a study and the project's does not.
    """
    folder = project_dir(study_file) / RUNS_FOLDER / name
    legacy = Path.cwd() / RUNS_FOLDER / name
    if not (folder / "study.journal").exists() and (legacy / "study.journal").exists():
        return legacy
    return folder


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
    quality: QualityConfig | None = None
    """The ``quality:`` block (metric ``accuracy``), or None (:mod:`dse.config._quality`)."""

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
    expected = f"a non-empty list of objectives from {sorted(OBJECTIVE_KEYS)}"
    if not isinstance(value, list) or not value:
        raise ConfigError(src, "objectives", expected)
    names: list[str] = []
    dirs: list[str] = []
    for n, item in enumerate(value):
        fld = join("objectives", n)
        if isinstance(item, dict) and len(item) == 1:
            ((name, direction),) = item.items()
            name = as_str(name, src, fld, choices=sorted(OBJECTIVE_KEYS))
            direction = as_str(direction, src, join(fld, name), choices=("minimize", "maximize"))
        else:
            name = as_str(item, src, fld, choices=sorted(OBJECTIVE_KEYS))
            direction = default_direction(name)
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
    "quality",
)


def load_study_config(
    path: str | Path, *, run_root: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> StudyConfig:
    """Read and validate a study YAML (and the workload and space files it names).

    Args:
        path: the study file.
        run_root: folder under which ``<name>/`` is the run folder (default: the ``runs/``
            folder of the study file's project, :func:`default_run_dir`); a ``run_dir`` in the
            file (relative to the file) wins, and ``overrides`` (``run_dir``) wins over both.
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
    sampler_name = as_str(smp.get("name", "nsga2"), src, "sampler.name", choices=SAMPLERS.names())
    if "population_size" in smp and sampler_name not in POPULATION_SAMPLERS:
        raise ConfigError(
            src,
            "sampler.population_size",
            f"no population size for sampler {sampler_name!r} (only {sorted(POPULATION_SAMPLERS)} take one)",
        )
    sampler = SamplerConfig(
        name=sampler_name,
        seed=seed,
        population_size=as_int(smp.get("population_size", 24), src, "sampler.population_size", minimum=2),
    )
    if sampler_name in DISCRETE_SAMPLERS:
        real = [key for key, spec in space.hardware if isinstance(spec, FloatRange)]
        if real:
            raise ConfigError(
                src,
                "sampler.name",
                f"a sampler that searches real ranges ({sampler_name!r} enumerates; "
                f"{space.source}: hardware.{real[0]} is a real range): give it choices or use another sampler",
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
        if not str(data["run_dir"]).strip():
            raise ConfigError(src, "run_dir", "a folder for the run (relative to this file), got an empty string")
        run_dir = base / as_str(data["run_dir"], src, "run_dir")
    elif run_root is not None:
        run_dir = run_root / name
    else:
        run_dir = default_run_dir(Path(path), name)
    quality = None if data.get("quality") is None else parse_quality(data["quality"], source=src, workload=workload)
    check_quality_sources(objectives, [c.metric for c in constraints], quality, workload, src)
    cfg = StudyConfig(
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
        quality=quality,
    )
    from dse.space import searched_parameters  # the space module builds on this one

    if not searched_parameters(cfg):
        raise ConfigError(cfg.space.source, "(space)", "at least one searched parameter; every value is fixed")
    return cfg


def load_study(path: str | Path, *, run_root: Path | None = None, **overrides: Any) -> StudyConfig:
    """:func:`load_study_config` with the overrides as keywords:
    ``load_study("studies/quickstart.yaml", n_trials=32, run_dir="runs/x", seed=1)``."""
    return load_study_config(path, run_root=run_root, overrides=overrides)
