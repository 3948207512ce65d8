"""TNN-DSE: joint design-space exploration of tensorized neural networks and their accelerators.

The public API, for scripts (the ``dse`` command is built on the same functions)::

    import dse

    cfg = dse.load_study("studies/quickstart.yaml", n_trials=32, run_dir="runs/scripted")
    run = dse.run_study(cfg, progress=False)          # optuna study + what this call did
    out = dse.write_outputs(run.study, cfg)           # trials.csv, pareto.csv, dashboard, exports
    best = dse.Design.from_dict(run.study.best_trials[0].user_attrs["design"])
    metrics = dse.evaluate(best)                      # latency_ms, energy_uj, area_mm2, ...

Core types: :class:`Design` (model configuration + hardware + policies) and :class:`Metrics`
(what it costs, every name with its unit); :data:`METRICS` is the metric catalog. (The function
:func:`evaluate` is bound here eagerly: it shares its name with the module :mod:`dse.evaluate`.) Entry points:
:func:`load_study`, :func:`run_study`, :func:`resume_study`, :func:`evaluate`,
:func:`write_outputs`, :func:`trials_frame`, :func:`pareto_frame`. Plug-in registries:
:data:`SAMPLERS`, :data:`PATH_POLICIES`, :data:`PATH_OPTIMIZERS`, :data:`FORMATS`,
:data:`EXPORTERS` (engines and technology profiles are in :mod:`analytical_models`).
Errors: :class:`DSEError` (every user-facing error) and :class:`ConfigError` (a study, workload
or space file is wrong). The heavy parts (optuna, plotly, pandas) load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from dse._catalog import METRICS, MetricSpec
from dse._design import Design, Metrics, PassRecord, StepRecord, design_record
from dse._errors import ConfigError, DSEError
from dse.evaluate import PATH_POLICIES, EvaluationError, evaluate  # after the core types it uses

if TYPE_CHECKING:
    from dse._samplers import SAMPLERS
    from dse.config import StudyConfig, load_study
    from dse.contraction import PATH_OPTIMIZERS
    from dse.export import EXPORTERS
    from dse.outputs import Outputs, pareto_frame, trials_frame, write_outputs
    from dse.study import RunSummary, StudyRun, open_study, resume_study, run_study
    from dse.workload import FORMATS, LayerSpec, Workload

__version__ = "0.1.0"

_LAZY: dict[str, tuple[str, str]] = {
    "load_study": ("dse.config", "load_study"),
    "StudyConfig": ("dse.config", "StudyConfig"),
    "PATH_OPTIMIZERS": ("dse.contraction", "PATH_OPTIMIZERS"),
    "SAMPLERS": ("dse._samplers", "SAMPLERS"),
    "FORMATS": ("dse.workload", "FORMATS"),
    "LayerSpec": ("dse.workload", "LayerSpec"),
    "Workload": ("dse.workload", "Workload"),
    "EXPORTERS": ("dse.export", "EXPORTERS"),
    "run_study": ("dse.study", "run_study"),
    "resume_study": ("dse.study", "resume_study"),
    "open_study": ("dse.study", "open_study"),
    "StudyRun": ("dse.study", "StudyRun"),
    "RunSummary": ("dse.study", "RunSummary"),
    "write_outputs": ("dse.outputs", "write_outputs"),
    "Outputs": ("dse.outputs", "Outputs"),
    "trials_frame": ("dse.outputs", "trials_frame"),
    "pareto_frame": ("dse.outputs", "pareto_frame"),
}


def __getattr__(name: str) -> Any:
    """Load the heavier entry points (optuna, plotly, pandas) on first use."""
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'dse' has no attribute {name!r}") from None
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value


__all__ = [
    "EXPORTERS",
    "FORMATS",
    "METRICS",
    "PATH_OPTIMIZERS",
    "PATH_POLICIES",
    "SAMPLERS",
    "ConfigError",
    "DSEError",
    "Design",
    "EvaluationError",
    "LayerSpec",
    "MetricSpec",
    "Metrics",
    "Outputs",
    "PassRecord",
    "RunSummary",
    "StepRecord",
    "StudyConfig",
    "StudyRun",
    "Workload",
    "__version__",
    "design_record",
    "evaluate",
    "load_study",
    "open_study",
    "pareto_frame",
    "resume_study",
    "run_study",
    "trials_frame",
    "write_outputs",
]
