"""Running and resuming a whole study in one call: what ``dse run`` and ``dse resume`` do, for
scripts (``dse.run_study`` / ``dse.resume_study``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from dse import ConfigError
from dse.config import EXHAUSTIVE_LIMIT, StudyConfig, load_study_config
from dse.study._enumerate import enumerate_space, run_exhaustive
from dse.study._evaluator import Evaluator, check_backend
from dse.study._run import RunSummary, run_trials
from dse.study._storage import check_run_dir, missing_run, name_metrics, open_study, run_dir_exists

OnOpen = Callable[[optuna.Study, bool], None]
"""Called once the study is open: ``(study, resuming)``."""


@dataclass(frozen=True, slots=True)
class StudyRun:
    """A study after :func:`run_study` or :func:`resume_study`.

    Attributes:
        study: the optuna study (every trial, with the metrics and the design as user attributes).
        config: the validated study configuration.
        summary: what this call did (trials completed and failed, wall time in s).
    """

    study: optuna.Study
    config: StudyConfig
    summary: RunSummary


def _config(study: StudyConfig | str | Path, overrides: dict[str, Any]) -> StudyConfig:
    if isinstance(study, StudyConfig):
        if overrides:
            raise ConfigError(study.source, "(call)", "overrides only with a study file path, not a StudyConfig")
        return study
    return load_study_config(study, overrides=overrides)


def run_study(
    study: StudyConfig | str | Path,
    *,
    n_trials: int | None = None,
    storage: str | None = None,
    n_jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool = True,
    exhaustive: bool = False,
    exhaustive_limit: int = EXHAUSTIVE_LIMIT,
    points: Sequence[dict[str, Any]] | None = None,
    on_open: OnOpen | None = None,
    evaluator: Evaluator | None = None,
    **overrides: Any,
) -> StudyRun:
    """Run ``n_trials`` more trials of a study (a new study, or the one in its run folder).

    Args:
        study: a study file (``studies/quickstart.yaml``) or a loaded :class:`StudyConfig`.
        n_trials: trials to run now (default: the study's ``n_trials``).
        storage: optuna storage URL (default: the journal file in the run folder).
        n_jobs: local evaluation processes.
        backend: ``loky`` (``n_jobs`` local processes) or ``dask`` (a cluster at ``scheduler``).
        scheduler: Dask scheduler address.
        progress: show a progress bar.
        exhaustive: evaluate every design of the (small, discrete) space instead.
        exhaustive_limit: the largest space ``exhaustive`` accepts (designs).
        points: with ``exhaustive``, the space's enumeration when the caller already has it
            (:func:`dse.study.enumerate_space`).
        on_open: called once the study is open, before any trial runs.
        evaluator: evaluation processes to run on, left open for the caller (pass them to
            :func:`dse.write_outputs`: its exports then run where the study's caches are);
            default: processes made and closed by this call.
        **overrides: with a study file, values replacing the file's (``run_dir``, ``seed``,
            ``timeout_s``).

    Nothing is written before the study, its workload and its space validate. Write the run
    folder's tables, dashboard and exports afterwards with :func:`dse.write_outputs`.
    """
    if n_trials is not None:
        overrides["n_trials"] = n_trials
    cfg = _config(study, overrides)
    check_backend(backend, scheduler, n_jobs)
    check_run_dir(cfg)
    if exhaustive and points is None:
        points = list(enumerate_space(cfg, exhaustive_limit))
    resuming = run_dir_exists(cfg) or bool(storage)
    opened = open_study(cfg, storage)
    if on_open is not None:
        on_open(opened, resuming and bool(opened.trials))
    common: dict[str, Any] = {
        "n_jobs": n_jobs,
        "backend": backend,
        "scheduler": scheduler,
        "progress": progress,
        "evaluator": evaluator,
    }
    if exhaustive:
        summary = run_exhaustive(opened, cfg, limit=exhaustive_limit, points=points, timeout_s=cfg.timeout_s, **common)
    else:
        summary = run_trials(opened, cfg, n_trials=cfg.n_trials, timeout_s=cfg.timeout_s, **common)
    return StudyRun(opened, cfg, summary)


def resume_study(
    study: StudyConfig | str | Path,
    *,
    storage: str | None = None,
    n_jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool = True,
    on_open: OnOpen | None = None,
    evaluator: Evaluator | None = None,
    **overrides: Any,
) -> StudyRun:
    """Continue a study until it holds ``n_trials`` completed trials (after a crash or ``kill -9``:
    trials of dead workers are marked failed first, nothing completed is lost).

    Arguments as :func:`run_study`; ``n_trials`` (in ``overrides``) is the total budget.

    Raises:
        ConfigError: there is no run of this study to resume.
    """
    cfg = _config(study, overrides)
    check_backend(backend, scheduler, n_jobs)
    if not storage and not run_dir_exists(cfg):
        raise missing_run(cfg, cfg.source)
    opened = open_study(cfg, storage, create=False)
    name_metrics(opened, cfg)
    if on_open is not None:
        on_open(opened, True)
    summary = run_trials(
        opened,
        cfg,
        until_total=cfg.n_trials,
        timeout_s=cfg.timeout_s,
        n_jobs=n_jobs,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
        evaluator=evaluator,
    )
    return StudyRun(opened, cfg, summary)
