"""Create or resume studies; samplers; storage; batched ask-and-tell with parallel evaluation.

Three ways to spend a budget:

* :func:`run_trials` with ``n_trials``: run that many more trials (``dse run``);
* :func:`run_trials` with ``until_total``: run until the study holds that many completed trials,
  counting the trials other workers are running (``dse resume`` and ``dse worker``, which may
  run in many processes on one or many machines against one storage);
* :func:`run_exhaustive`: enumerate a small space completely (``dse run --exhaustive``).
"""

from __future__ import annotations

import datetime
import math
import os
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import optuna
from optuna.storages import JournalStorage
from optuna.trial import FrozenTrial, TrialState

from dse._design import Design, Metrics
from dse._errors import ConfigError, DSEError
from dse._storage import BatchSyncJournalFileBackend
from dse.config import EXHAUSTIVE_LIMIT, OBJECTIVE_SPECS, StudyConfig
from dse.evaluate import EvaluationError, evaluate
from dse.space import suggest

JOURNAL_FILE = "study.journal"
FINGERPRINT_ATTR = "tnn_dse_fingerprint"
WORKER_ATTR = "worker"
STALE_UNOWNED_S = 600.0
"""A running trial with no recorded worker is considered dead after this many seconds."""

BACKENDS: tuple[str, ...] = ("loky", "dask")

optuna.logging.set_verbosity(optuna.logging.WARNING)


def storage_url_or_default(cfg: StudyConfig, storage: str | None) -> str | optuna.storages.BaseStorage:
    """The storage of a study: a URL given by the user, or the journal file in the run folder."""
    if storage:
        if storage.startswith("sqlite:///"):
            Path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return storage
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    return JournalStorage(BatchSyncJournalFileBackend(str(cfg.run_dir / JOURNAL_FILE)))


def sync_journal(cfg: StudyConfig) -> None:
    """fsync the run folder's journal file, if the study uses it."""
    path = cfg.run_dir / JOURNAL_FILE
    if path.is_file():
        BatchSyncJournalFileBackend.sync_path(str(path))


def make_sampler(cfg: StudyConfig) -> optuna.samplers.BaseSampler:
    """The optuna sampler named by the study (NSGA-II by default).

    Constraints reach the samplers through ``Trial.set_constraint`` (optuna >= 5): NSGA-II/III
    apply constrained domination, TPE favours feasible trials.
    """
    s = cfg.sampler
    if s.name == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=s.population_size, seed=s.seed)
    if s.name == "nsga3":
        return optuna.samplers.NSGAIIISampler(population_size=s.population_size, seed=s.seed)
    if s.name == "tpe":
        return optuna.samplers.TPESampler(seed=s.seed, multivariate=True)
    if s.name == "qmc":
        return optuna.samplers.QMCSampler(seed=s.seed, scramble=True, warn_independent_sampling=False)
    if s.name == "bruteforce":
        return optuna.samplers.BruteForceSampler(seed=s.seed)
    return optuna.samplers.RandomSampler(seed=s.seed)


def open_study(cfg: StudyConfig, storage: str | None = None, *, create: bool = True) -> optuna.Study:
    """Create the study or load it (resume). Refuses a run folder that holds a different study."""
    url = storage_url_or_default(cfg, storage)
    directions = cast("list[Literal['minimize', 'maximize']]", cfg.directions)
    attempts = 6 if storage else 1
    for attempt in range(attempts):
        try:
            if create:
                study = optuna.create_study(
                    storage=url,
                    sampler=make_sampler(cfg),
                    study_name=cfg.name,
                    directions=directions,
                    load_if_exists=True,
                )
            else:
                study = optuna.load_study(study_name=cfg.name, storage=url, sampler=make_sampler(cfg))
            break
        except KeyError:
            raise ConfigError(cfg.source, "name", f"an existing study; none called {cfg.name!r} has run yet") from None
        except (ImportError, ModuleNotFoundError) as exc:
            raise DSEError(f"storage {storage!r} needs a database driver that is not installed ({exc})") from None
        except Exception as exc:  # database errors: bad URL, server down, a concurrent schema creation
            if not (storage and type(exc).__module__.startswith(("sqlalchemy", "psycopg"))):
                raise
            if attempt == attempts - 1:
                raise DSEError(f"cannot open storage {storage!r}: {str(exc).splitlines()[0]}") from None
            time.sleep(0.2 * 2**attempt)  # several workers creating the schema at once: retry
    fp = cfg.fingerprint()
    have = study.user_attrs.get(FINGERPRINT_ATTR)
    if have is None and create:
        study.set_user_attr(FINGERPRINT_ATTR, fp)
        study.set_user_attr("objectives", list(cfg.objectives))
    elif have is not None and have != fp:
        where = storage or str(cfg.run_dir)
        raise ConfigError(
            cfg.source,
            "(study)",
            f"the same objectives, workload and space as the study stored in {where} "
            "(they changed); give the study a new name or delete that folder",
        )
    if [d.name.lower() for d in study.directions] != cfg.directions:
        raise ConfigError(cfg.source, "objectives", f"the objectives stored in {storage or cfg.run_dir}")
    return study


# ----------------------------------------------------------------------------- workers
def worker_id() -> str:
    """``host:pid`` of this process, recorded on every trial it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_stale_trials(study: optuna.Study) -> list[int]:
    """Mark as failed the running trials whose worker died (``kill -9``, power loss).

    A trial is stale when its recorded worker runs on this host and its process is gone, or
    when no worker was recorded and it started more than :data:`STALE_UNOWNED_S` ago. Trials of
    live workers (here or on other hosts) are left alone. Returns the failed trial numbers.
    """
    host = socket.gethostname()
    now = datetime.datetime.now()
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = t.user_attrs.get(WORKER_ATTR)
        if owner is None:
            started = t.datetime_start
            stale = started is not None and (now - started).total_seconds() > STALE_UNOWNED_S
        else:
            owner_host, _, pid = str(owner).rpartition(":")
            stale = owner_host == host and pid.isdigit() and not _pid_alive(int(pid))
        if stale:
            study.tell(t.number, state=TrialState.FAIL)
            failed.append(t.number)
    return failed


# ----------------------------------------------------------------------------- evaluation
@dataclass(frozen=True, slots=True)
class Outcome:
    """Result of evaluating one sampled design in a worker."""

    values: tuple[float, ...] | None
    attrs: dict[str, Any]
    reason: str = ""


UNITS: dict[str, str] = {
    **{key: spec.unit for key, spec in OBJECTIVE_SPECS.items()},
    "latency_cycles": "cycles",
    "power_mw": "mW",
}
"""Unit of every scalar metric (recorded on each trial for optuna-dashboard)."""


def evaluate_for_trial(
    design: Design, objectives: tuple[str, ...], constraints: tuple[tuple[str, float], ...]
) -> Outcome:
    """Evaluate one design into objective values and trial attributes (runs in workers).

    A design that breaks a constraint is a normal, completed trial with positive constraint
    values and an ``infeasible_reason``; a design that cannot be evaluated at all comes back
    with ``values=None`` and the reason.
    """
    try:
        metrics: Metrics = evaluate(design)
    except (EvaluationError, DSEError, ValueError) as exc:
        return Outcome(None, {}, reason=str(exc))
    values = tuple(metrics.value(o) for o in objectives)
    if not all(math.isfinite(v) for v in values):
        return Outcome(None, {}, reason=f"non-finite objective values {values}")
    viol = [metrics.value(m) - bound for m, bound in constraints]
    broken = [
        f"{m} {metrics.value(m):.4g} > {bound:.4g} {UNITS.get(m, '')}".rstrip()
        for (m, bound), v in zip(constraints, viol, strict=True)
        if v > 0
    ]
    attrs: dict[str, Any] = {
        "metrics": metrics.scalars(),
        "design": design.to_dict(),
        "constraints": viol,
        "feasible": not broken,
        "cycle_breakdown": metrics.total.cycle_breakdown(),
        "energy_breakdown_pj": metrics.total.energy_breakdown_pj(),
        "paths": metrics.paths(),
        "units": UNITS,
    }
    if broken:
        attrs["infeasible_reason"] = "; ".join(broken)
    return Outcome(values, attrs)


def check_backend(backend: str, scheduler: str | None) -> None:
    """Raise :class:`DSEError` when the evaluation backend's options are incomplete."""
    if backend not in BACKENDS:
        raise DSEError(f"unknown backend {backend!r}; expected one of {list(BACKENDS)}")
    if backend == "dask" and not scheduler:
        raise DSEError("--backend dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")


class _Evaluator:
    """Evaluates a batch of designs in-process, in joblib processes or on a Dask cluster."""

    def __init__(self, n_jobs: int, backend: str, scheduler: str | None, seen_limit: int = 50_000) -> None:
        check_backend(backend, scheduler)
        self.kind = "inline"
        self.pool: Any = None
        self.seen: dict[tuple[Design, tuple[str, ...], tuple[tuple[str, float], ...]], Outcome] = {}
        self.seen_limit = seen_limit
        self.hits = 0
        if backend == "dask":
            try:
                from dask.distributed import Client
            except ImportError as exc:  # pragma: no cover - dask is a dependency
                raise DSEError(f"the dask backend needs dask.distributed ({exc})") from None
            try:
                self.pool = Client(scheduler, timeout=30)  # type: ignore[no-untyped-call]
            except OSError as exc:
                raise DSEError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
            self.kind = "dask"
        elif n_jobs > 1:
            from joblib import Parallel

            self.pool = Parallel(n_jobs=n_jobs, backend="loky")
            self.kind = "loky"

    def __call__(
        self, designs: list[Design], objectives: tuple[str, ...], cons: tuple[tuple[str, float], ...]
    ) -> list[Outcome]:
        """Outcomes of ``designs``, in order. A design seen before (samplers of discrete spaces
        propose exact repeats) is answered from this process's cache and not dispatched."""
        todo = list(dict.fromkeys(d for d in designs if (d, objectives, cons) not in self.seen))
        if self.kind == "inline":
            fresh = [evaluate_for_trial(d, objectives, cons) for d in todo]
        elif self.kind == "loky":
            from joblib import delayed

            fresh = list(self.pool(delayed(evaluate_for_trial)(d, objectives, cons) for d in todo))
        else:
            futures = self.pool.map(evaluate_for_trial, todo, objectives=objectives, constraints=cons, pure=False)
            fresh = list(self.pool.gather(futures))
        for d, out in zip(todo, fresh, strict=True):
            self.seen[(d, objectives, cons)] = out
        self.hits += len(designs) - len(todo)
        outcomes = [self.seen[(d, objectives, cons)] for d in designs]
        while len(self.seen) > self.seen_limit:  # oldest first, after this batch is answered
            self.seen.pop(next(iter(self.seen)))
        return outcomes

    def close(self) -> None:
        if self.kind == "dask":
            self.pool.close()


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one run / resume / worker invocation did."""

    finished_before: int
    completed: int
    failed: int
    elapsed_s: float
    interrupted: bool = False
    recovered: tuple[int, ...] = ()


class _Progress:
    """A tqdm bar when wanted, silent otherwise."""

    def __init__(self, total: int, enabled: bool, desc: str) -> None:
        self.bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="trial", desc=desc, mininterval=0.5, dynamic_ncols=True)

    def update(self, n: int, postfix: str) -> None:
        if self.bar is not None:
            self.bar.update(n)
            self.bar.set_postfix_str(postfix, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _count(study: optuna.Study, *states: TrialState) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


def run_trials(
    study: optuna.Study,
    cfg: StudyConfig,
    *,
    n_trials: int | None = None,
    until_total: int | None = None,
    timeout_s: float | None = None,
    n_jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool = True,
    batch_size: int | None = None,
) -> RunSummary:
    """Ask, evaluate and tell trials in batches (one batch per NSGA-II generation by default).

    Args:
        study: the study (from :func:`open_study`).
        cfg: its configuration.
        n_trials: run this many more trials.
        until_total: instead, run until the study holds this many completed trials, counting
            trials that other workers are running now (cooperative budget).
        timeout_s: stop starting new batches after this many seconds.
        n_jobs: evaluation processes (joblib ``loky``) when ``backend`` is ``loky``.
        backend: ``loky`` (local processes) or ``dask`` (a Dask cluster at ``scheduler``).
        scheduler: Dask scheduler address.
        progress: show a progress bar.
        batch_size: trials asked per batch (default: the NSGA population, else 4 x n_jobs).

    A design that cannot be evaluated is recorded as a failed trial with its reason in the
    ``fail_reason`` user attribute; the study goes on. Ctrl-C fails the batch in flight and
    returns with ``interrupted=True``; completed trials are kept.
    """
    if (n_trials is None) == (until_total is None):
        raise ValueError("give exactly one of n_trials and until_total")
    before = _count(study, TrialState.COMPLETE)
    recovered = tuple(recover_stale_trials(study))
    if batch_size is None:
        batch_size = cfg.sampler.population_size if cfg.sampler.name in ("nsga2", "nsga3") else 4 * max(1, n_jobs)
    cons = tuple((c.metric, c.max) for c in cfg.constraints)
    start = time.monotonic()
    done = failed = 0
    goal = n_trials if n_trials is not None else max(0, cast(int, until_total) - before)
    evaluator = _Evaluator(n_jobs, backend, scheduler)
    bar = _Progress(goal, progress, cfg.name)
    me = worker_id()
    pending: list[optuna.Trial] = []
    interrupted = False
    try:
        while True:
            if timeout_s is not None and time.monotonic() - start > timeout_s:
                break
            if n_trials is not None:
                size = min(batch_size, n_trials - done - failed)
            else:
                in_flight = _count(study, TrialState.COMPLETE, TrialState.RUNNING)
                size = min(batch_size, cast(int, until_total) - in_flight)
            if size <= 0:
                break
            pending = []
            for _ in range(size):
                trial = study.ask()
                trial.set_user_attr(WORKER_ATTR, me)
                pending.append(trial)
            designs = [suggest(t, cfg) for t in pending]
            outcomes = evaluator(designs, cfg.objectives, cons)
            for trial, out in zip(pending, outcomes, strict=True):
                if out.values is None:
                    trial.set_user_attr("fail_reason", out.reason)
                    study.tell(trial, state=TrialState.FAIL)
                    failed += 1
                else:
                    for key, value in out.attrs.items():
                        trial.set_user_attr(key, value)
                    for (metric, _), value in zip(cons, out.attrs["constraints"], strict=True):
                        trial.set_constraint(metric, value)
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
        evaluator.close()
    return RunSummary(before, done, failed, time.monotonic() - start, interrupted, recovered)


# ----------------------------------------------------------------------------- exhaustive
class _Enumerator:
    """A stand-in trial that walks a define-by-run space like an odometer.

    ``suggest(trial, cfg)`` is run once per design; each ``suggest_*`` call returns the value
    at the current position of that parameter, so conditional spaces enumerate exactly.
    """

    def __init__(self) -> None:
        self.prefix: list[int] = []
        self.sizes: list[int] = []
        self.pos = 0
        self.params: dict[str, Any] = {}

    def _pick(self, name: str, values: Sequence[Any]) -> Any:
        if self.pos == len(self.prefix):
            self.prefix.append(0)
            self.sizes.append(len(values))
        value = values[self.prefix[self.pos]]
        self.pos += 1
        self.params[name] = value
        return value

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self._pick(name, list(choices))

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return int(self._pick(name, range(low, high + 1, step)))

    def suggest_float(self, name: str, low: float, high: float, **_: Any) -> float:
        raise ConfigError("(space)", name, "a discrete parameter; --exhaustive cannot enumerate a real range")

    def advance(self) -> bool:
        """Move to the next design; False when the space is exhausted."""
        self.prefix = self.prefix[: self.pos]
        self.sizes = self.sizes[: self.pos]
        while self.prefix:
            self.prefix[-1] += 1
            if self.prefix[-1] < self.sizes[-1]:
                break
            self.prefix.pop()
            self.sizes.pop()
        self.pos = 0
        self.params = {}
        return bool(self.prefix)


def enumerate_space(cfg: StudyConfig, limit: int = EXHAUSTIVE_LIMIT) -> Iterator[dict[str, Any]]:
    """Every parameter assignment of the study's space (raises past ``limit`` designs)."""
    walker = _Enumerator()
    n = 0
    while True:
        suggest(cast(optuna.Trial, walker), cfg)
        n += 1
        if n > limit:
            raise ConfigError(
                cfg.space.source, "(space)", f"at most {limit} designs for --exhaustive (raise --exhaustive-limit)"
            )
        yield dict(walker.params)
        if not walker.advance():
            return


def run_exhaustive(
    study: optuna.Study,
    cfg: StudyConfig,
    *,
    limit: int = EXHAUSTIVE_LIMIT,
    points: Sequence[dict[str, Any]] | None = None,
    n_jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool = True,
) -> RunSummary:
    """Evaluate every design of the space not yet in the study (resumable).

    ``points`` is the space's enumeration when the caller already has it
    (:func:`enumerate_space`); otherwise it is enumerated here.
    """
    everything = list(enumerate_space(cfg, limit)) if points is None else points
    seen = {
        tuple(sorted(t.params.items()))
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.WAITING))
    }
    todo = [p for p in everything if tuple(sorted(p.items())) not in seen]
    for params in todo:
        study.enqueue_trial(params)
    waiting = _count(study, TrialState.WAITING)
    return run_trials(
        study,
        cfg,
        n_trials=waiting,
        n_jobs=n_jobs,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
        batch_size=max(64, 4 * n_jobs),
    )


def complete_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Finished trials that carry metrics."""
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if "metrics" in t.user_attrs]


def run_dir_exists(cfg: StudyConfig) -> bool:
    """Whether the run folder already holds a journal."""
    return Path(cfg.run_dir / JOURNAL_FILE).is_file()
