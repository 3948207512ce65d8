"""Create or resume studies; samplers; storage; batched ask-and-tell with parallel evaluation."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import optuna
from optuna.storages import JournalStorage
from optuna.trial import FrozenTrial, TrialState

from dse._design import Design, Metrics
from dse._errors import ConfigError, DSEError
from dse._storage import BatchSyncJournalFileBackend
from dse.config import StudyConfig
from dse.evaluate import EvaluationError, evaluate
from dse.space import suggest

JOURNAL_FILE = "study.journal"
FINGERPRINT_ATTR = "tnn_dse_fingerprint"

optuna.logging.set_verbosity(optuna.logging.WARNING)


def storage_url_or_default(
    cfg: StudyConfig, storage: str | None
) -> str | optuna.storages.BaseStorage:
    """The storage of a study: a URL given by the user, or the journal file in the run folder."""
    if storage:
        return storage
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    return JournalStorage(BatchSyncJournalFileBackend(str(cfg.run_dir / JOURNAL_FILE)))


def sync_journal(cfg: StudyConfig) -> None:
    """fsync the run folder's journal file, if the study uses it."""
    path = cfg.run_dir / JOURNAL_FILE
    if path.is_file():
        BatchSyncJournalFileBackend.sync_path(str(path))


def _constraints(trial: FrozenTrial) -> Sequence[float]:
    values: Sequence[float] = trial.user_attrs.get("constraints", ())
    return values


def make_sampler(cfg: StudyConfig) -> optuna.samplers.BaseSampler:
    """The optuna sampler named by the study (NSGA-II by default), with constraints wired in."""
    s = cfg.sampler
    cons: Callable[[FrozenTrial], Sequence[float]] | None = (
        _constraints if cfg.constraints else None
    )
    if s.name == "nsga2":
        return optuna.samplers.NSGAIISampler(
            population_size=s.population_size, seed=s.seed, constraints_func=cons
        )
    if s.name == "tpe":
        return optuna.samplers.TPESampler(seed=s.seed, constraints_func=cons, multivariate=True)
    return optuna.samplers.RandomSampler(seed=s.seed)


def open_study(
    cfg: StudyConfig, storage: str | None = None, *, create: bool = True
) -> optuna.Study:
    """Create the study or load it (resume). Refuses a run folder that holds a different study."""
    url = storage_url_or_default(cfg, storage)
    sampler = make_sampler(cfg)
    if create:
        study = optuna.create_study(
            storage=url,
            sampler=sampler,
            study_name=cfg.name,
            directions=cast("list[Literal['minimize', 'maximize']]", cfg.directions),
            load_if_exists=True,
        )
    else:
        try:
            study = optuna.load_study(study_name=cfg.name, storage=url, sampler=sampler)
        except KeyError:
            raise ConfigError(
                cfg.source, "name", f"an existing study; none called {cfg.name!r} has run yet"
            ) from None
    fp = cfg.fingerprint()
    have = study.user_attrs.get(FINGERPRINT_ATTR)
    if have is None and create:
        study.set_user_attr(FINGERPRINT_ATTR, fp)
        study.set_user_attr("objectives", list(cfg.objectives))
    elif have is not None and have != fp:
        raise ConfigError(
            cfg.source,
            "(study)",
            f"the same objectives, workload and space as the study stored in {cfg.run_dir} "
            "(they changed); give the study a new name or delete that folder",
        )
    if [d.name.lower() for d in study.directions] != cfg.directions:
        raise ConfigError(cfg.source, "objectives", f"the objectives stored in {cfg.run_dir}")
    return study


@dataclass(frozen=True, slots=True)
class Outcome:
    """Result of evaluating one sampled design in a worker."""

    values: tuple[float, ...] | None
    attrs: dict[str, Any]
    reason: str = ""


def _evaluate_for_trial(
    design: Design, objectives: tuple[str, ...], constraints: tuple[tuple[str, float], ...]
) -> Outcome:
    try:
        metrics: Metrics = evaluate(design)
    except (EvaluationError, DSEError, ValueError) as exc:
        return Outcome(None, {}, reason=str(exc))
    values = tuple(metrics.value(o) for o in objectives)
    if not all(math.isfinite(v) for v in values):
        return Outcome(None, {}, reason=f"non-finite objective values {values}")
    viol = [metrics.value(m) - bound for m, bound in constraints]
    attrs: dict[str, Any] = {
        "metrics": metrics.scalars(),
        "design": design.to_dict(),
        "constraints": viol,
        "feasible": all(v <= 0 for v in viol),
        "cycle_breakdown": metrics.total.cycle_breakdown(),
        "energy_breakdown_pj": metrics.total.energy_breakdown_pj(),
        "paths": metrics.paths(),
        "units": {
            "latency_ms": "ms",
            "energy_uj": "uJ",
            "edp_uj_ms": "uJ*ms",
            "area_mm2": "mm2",
            "power_mw": "mW",
            "onchip_kb": "kB",
            "latency_cycles": "cycles",
        },
    }
    return Outcome(values, attrs)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one ``dse run`` did."""

    finished_before: int
    completed: int
    failed: int
    elapsed_s: float
    interrupted: bool = False


class _Progress:
    """A tqdm bar when available and wanted, silent otherwise."""

    def __init__(self, total: int, enabled: bool, desc: str) -> None:
        self.bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, unit="trial", desc=desc, mininterval=0.5, dynamic_ncols=True
            )

    def update(self, n: int, postfix: str) -> None:
        if self.bar is not None:
            self.bar.update(n)
            self.bar.set_postfix_str(postfix, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_trials(
    study: optuna.Study,
    cfg: StudyConfig,
    *,
    n_trials: int,
    timeout_s: float | None = None,
    n_jobs: int = 1,
    progress: bool = True,
) -> RunSummary:
    """Ask, evaluate and tell ``n_trials`` trials in batches (a batch per NSGA-II generation).

    Evaluation runs in-process for ``n_jobs == 1`` (sharing the cost cache) or in ``n_jobs``
    joblib worker processes. A design that cannot be evaluated is recorded as a failed trial
    with its reason in the ``fail_reason`` user attribute; the study goes on.
    """
    before = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    batch = max(
        1, min(cfg.sampler.population_size if cfg.sampler.name == "nsga2" else 4 * n_jobs, n_trials)
    )
    cons = tuple((c.metric, c.max) for c in cfg.constraints)
    start = time.monotonic()
    done = failed = 0
    bar = _Progress(n_trials, progress, cfg.name)
    parallel: Any = None
    if n_jobs > 1:
        from joblib import Parallel

        parallel = Parallel(n_jobs=n_jobs, backend="loky")
    pending: list[optuna.Trial] = []
    interrupted = False
    try:
        while done + failed < n_trials:
            if timeout_s is not None and time.monotonic() - start > timeout_s:
                break
            size = min(batch, n_trials - done - failed)
            pending = [study.ask() for _ in range(size)]
            designs = [suggest(t, cfg) for t in pending]
            if parallel is None:
                outcomes = [_evaluate_for_trial(d, cfg.objectives, cons) for d in designs]
            else:
                from joblib import delayed

                outcomes = parallel(
                    delayed(_evaluate_for_trial)(d, cfg.objectives, cons) for d in designs
                )
            for trial, out in zip(pending, outcomes, strict=True):
                if out.values is None:
                    trial.set_user_attr("fail_reason", out.reason)
                    study.tell(trial, state=TrialState.FAIL)
                    failed += 1
                else:
                    for key, value in out.attrs.items():
                        trial.set_user_attr(key, value)
                    study.tell(trial, list(out.values))
                    done += 1
            pending = []
            sync_journal(cfg)
            bar.update(size, f"done={before + done} failed={failed}")
    except KeyboardInterrupt:
        interrupted = True
        for trial in pending:
            trial.set_user_attr("fail_reason", "interrupted")
            study.tell(trial, state=TrialState.FAIL)
    finally:
        bar.close()
    return RunSummary(before, done, failed, time.monotonic() - start, interrupted)


def run_study(
    cfg: StudyConfig,
    *,
    storage: str | None = None,
    n_trials: int | None = None,
    timeout_s: float | None = None,
    n_jobs: int = 1,
    progress: bool = True,
) -> tuple[optuna.Study, RunSummary]:
    """Open (create or resume) the study and run ``n_trials`` more trials."""
    study = open_study(cfg, storage)
    summary = run_trials(
        study,
        cfg,
        n_trials=n_trials if n_trials is not None else cfg.n_trials,
        timeout_s=timeout_s if timeout_s is not None else cfg.timeout_s,
        n_jobs=n_jobs,
        progress=progress,
    )
    return study, summary


def complete_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Finished trials that carry metrics."""
    return [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if "metrics" in t.user_attrs
    ]


def run_dir_exists(cfg: StudyConfig) -> bool:
    """Whether the run folder already holds a journal."""
    return Path(cfg.run_dir / JOURNAL_FILE).is_file()
