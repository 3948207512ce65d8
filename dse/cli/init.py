"""``dse init NAME``: write a commented study template and its search space for a new study.

Writes ``NAME.yaml`` (the study) and ``NAME_space.yaml`` (its search space) into ``--dir``
(default: the current directory), refusing to overwrite either. Every key is commented with
what it takes; the lists (objectives, samplers, engines, technology profiles, path policies,
layer formats, workload presets) come from the registries, so they are those of this version.
The template is valid as written: ``dse check NAME.yaml`` then ``dse run NAME.yaml``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from dse import DSEError


def add_parser(subparsers: Any) -> None:
    """Register ``dse init``."""
    p = subparsers.add_parser(
        "init",
        help="write a commented study template and its search space for a new study",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    p.add_argument("name", help="study name (also the file names and the run folder runs/<name>)")
    p.add_argument("--dir", default=".", help="folder to write the two files into (default: the current one)")
    p.set_defaults(func=run)


def _names(values: Any) -> str:
    return ", ".join(str(v) for v in values)


def study_template(name: str, space_file: str) -> str:
    """The commented study file of ``dse init``."""
    from dse._catalog import CONSTRAINT_KEYS, METRICS, OBJECTIVE_KEYS
    from dse._samplers import SAMPLERS
    from dse.config import MODES
    from dse.workload import format_names, preset_names

    objectives = "\n".join(
        f"#   {k:<12} {METRICS[k].label} [{METRICS[k].unit}], default {METRICS[k].direction}" for k in OBJECTIVE_KEYS
    )
    return f"""\
# Study {name!r}, written by `dse init`. Check it with `dse check {name}.yaml`, run it with
# `dse run {name}.yaml`; results go to runs/{name}/ of this project (the nearest folder above
# this file with runs/, pyproject.toml or .git; else next to this file).
name: {name}
description: A tensorized MLP trained on a small systolic array (edit me).

# The model: inline (as here), a workload YAML file, or a preset name
# ({_names(preset_names())}).
# Layer formats: {_names(format_names())}.
workload:
  batch: 16                    # sequences per step; tokens per layer = batch x seq_len
  seq_len: 1
  layers:
    - {{name: fc1, format: ttm, in_features: 256, out_features: 256}}   # searched by the space
    - {{name: fc2, format: dense, in_features: 256, out_features: 10}}

mode: training                 # one of {_names(MODES)}: forward only, or forward + dX + every dG_k
space: {space_file}            # the search space (a file next to this one, or an inline mapping)

# Objectives: a name (its default direction) or {{name: minimize|maximize}}. Available:
{objectives}
objectives: [latency_ms, energy_uj, {{params: maximize}}]   # params maximized: model capacity

# Optional upper bounds (constrained domination), any of {_names(CONSTRAINT_KEYS)}:
# constraints: {{area_mm2: 2.0}}

# Sampler: one of {_names(SAMPLERS.names())}; population_size only for nsga2 / nsga3.
sampler: {{name: nsga2, seed: 0, population_size: 16}}
n_trials: 64                   # trials per `dse run` (`dse resume`: the total budget)
# timeout_s: 600               # stop starting new batches after this many seconds
# run_dir: runs/{name}         # relative to this file (default: see the top of this file)
"""


def space_template(name: str) -> str:
    """The commented search-space file of ``dse init``."""
    from analytical_models import DATAFLOWS, MEMORY_TIMINGS, OBJECTIVES, engine_names, tech_names
    from dse.contraction import PATH_OPTIMIZERS
    from dse.evaluate import PATH_POLICIES

    return f"""\
# Search space of study {name!r}, written by `dse init`. A scalar fixes a value;
# {{choices: [...]}} is categorical; {{low, high, step?, log?}} an integer range (a real range
# for the kB / bandwidth / clock keys). `dse check` prints the size of the space.
name: {name}_space
description: Small systolic array, per-operand buffers, one dataflow per design (edit me).
hardware:
  engine: systolic             # one of {_names(engine_names())}
  tech: horowitz45             # energy / area profile, one of {_names(tech_names())}
  bits: 8                      # operand precision (at most the 32-bit accumulator)
  freq_mhz: 500
  pe_rows: {{choices: [8, 16, 32]}}
  pe_cols: {{choices: [8, 16, 32]}}
  ifmap_sram_kb: {{choices: [16, 32, 64]}}    # buffers are double-buffered: half holds a tile
  filter_sram_kb: {{choices: [16, 32, 64]}}
  ofmap_sram_kb: 32
  dram_bw_bytes_per_cycle: {{choices: [8, 16]}}
  dataflow: {{choices: [ws, os]}}              # {_names(DATAFLOWS)}, or any (chosen per GEMM)
  memory_timing: overlapped                   # one of {_names(MEMORY_TIMINGS)}
model:
  default:                     # every ttm layer of the workload (dense layers stay dense)
    format: ttm                # ttm or dense, or {{choices: [ttm, dense]}}
    d: 3                       # number of TT cores (>= 2), or {{choices: [3, 4]}}
    shape_top_k: 2             # the k most balanced factorizations of each feature size
    rank: {{choices: [2, 4, 8]}}
  # layers: {{fc1: {{rank: {{low: 2, high: 16}}}}}}   # per-layer overrides
  # tie_ranks: true            # one rank shared by every layer
policy:
  path: hardware_aware         # one of {_names(PATH_POLICIES.names())}
  path_optimizer: dp           # one of {_names(PATH_OPTIMIZERS.names())}
  mapping_objective: latency   # one of {_names(OBJECTIVES)}
"""


def run(args: argparse.Namespace) -> int:
    """Write the two templates (nothing when either exists) and say what to run next."""
    name = args.name
    if name.endswith((".yaml", ".yml")):
        raise DSEError(
            f"name: the study's name, without .yaml (the files are <name>.yaml and <name>_space.yaml), got {name!r}"
        )
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise DSEError(f"name: letters, digits, '_', '-' or '.', starting with a letter or digit; got {name!r}")
    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        raise DSEError(f"--dir: a folder, but {folder} is a file")
    study, space = folder / f"{name}.yaml", folder / f"{name}_space.yaml"
    for path in (study, space):
        if path.exists():
            raise DSEError(f"{path} exists; not overwritten (pick another name or --dir)")
    folder.mkdir(parents=True, exist_ok=True)
    space.write_text(space_template(name), encoding="utf-8")
    study.write_text(study_template(name, space.name), encoding="utf-8")
    print(f"wrote {study} and {space}\nnext: dse check {study}  then  dse run {study}")
    return 0
