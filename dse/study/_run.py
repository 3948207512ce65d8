"""Batched ask-and-tell: run trials until a count or a shared budget is reached.

Two ways to spend a budget:

* :func:`run_trials` with ``n_trials``: run that many more trials (``dse run``);
* :func:`run_trials` with ``until_total``: run until the study holds that many completed trials,
  counting the trials other workers are running (``dse resume`` and ``dse worker``, which may
  run in many processes on one or many machines against one storage).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

import optuna
from optuna.trial import FrozenTrial, TrialState

from dse._samplers import POPULATION_SAMPLERS, space_exhausted
from dse.config import StudyConfig
from dse.space import suggest
from dse.study._evaluator import Evaluator
from dse.study._heap import settle_heap, tune_collector
from dse.study._quality import model_quality
from dse.study._storage import sync_journal
from dse.study._workers import WORKER_ATTR, recover_stale_trials, worker_id


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one run / resume / worker invocation did.

    Attributes:
        finished_before: completed trials of the study before this call.
        completed: trials completed by this call.
        failed: trials of this call whose design could not be evaluated.
        elapsed_s: wall time in s.
        interrupted: Ctrl-C stopped the run.
        recovered: trials of dead workers marked failed first.
        fail_reasons: ``(reason, count)`` of this call's failed trials, most common first.
        exhausted: the sampler has tried every design of the space (``bruteforce``).
    """

    finished_before: int
    completed: int
    failed: int
    elapsed_s: float
    interrupted: bool = False
    recovered: tuple[int, ...] = ()
    fail_reasons: tuple[tuple[str, int], ...] = ()
    exhausted: bool = False

    @property
    def all_failed(self) -> bool:
        """Every trial of this call failed (and at least one ran)."""
        return self.failed > 0 and self.completed == 0


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


try:
    from optuna.study._tell import _tell_with_warning
except ImportError:  # pragma: no cover - optuna 5 has it
    _tell_with_warning = None  # type: ignore[assignment]


def tell(
    study: optuna.Study, trial: optuna.Trial, values: list[float] | None = None, state: TrialState | None = None
) -> None:
    """``study.tell(trial, values, state)`` without the copy of the told trial optuna makes for
    its return value (a deep copy of every parameter and attribute: ~1 ms a trial here, 10 s of
    the main process's CPU over a 10,000-trial study, taken from the evaluating processes on a
    two-core machine). The trial is told by optuna's own code (``optuna.study._tell``, what its
    ``Study.tell`` and ``Study.optimize`` call); with an optuna that lacks it, ``study.tell``."""
    if _tell_with_warning is None:  # pragma: no cover - optuna 5 has it
        study.tell(trial, values, state)
        return
    _tell_with_warning(study=study, trial=trial, value_or_values=values, state=state)


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
    evaluator: Evaluator | None = None,
) -> RunSummary:
    """Ask, evaluate and tell trials in batches (one batch per NSGA-II generation by default).
    Within a batch each design goes to the evaluator as soon as it is sampled (local processes
    start on it while the next is sampled) and the trials are told in order as their outcomes
    come back; the next batch is asked once the whole batch is told.

    Args:
        study: the study (from :func:`open_study`).
        cfg: its configuration.
        n_trials: run this many more trials.
        until_total: instead, run until the study holds this many completed trials, counting
            trials that other workers are running now (cooperative budget).
        timeout_s: stop starting new batches after this many seconds.
        n_jobs: local evaluation processes (``backend="loky"``; 1: in this process).
        backend: ``loky`` (local processes) or ``dask`` (a Dask cluster at ``scheduler``).
        scheduler: Dask scheduler address.
        progress: show a progress bar.
        batch_size: trials asked per batch (default: the NSGA population, else 4 x n_jobs).
        evaluator: evaluate on these processes (``n_jobs``, ``backend`` and ``scheduler`` are
            then theirs) and leave them open for the caller (e.g. for :func:`dse.write_outputs`,
            whose exports then run where the study's caches are); closed here only after Ctrl-C
            or an error. Default: processes made for this call and closed at its end.

    A design that cannot be evaluated is recorded as a failed trial with its reason in the
    ``fail_reason`` user attribute; the study goes on. Ctrl-C fails the batch in flight and
    returns with ``interrupted=True``; completed trials are kept. Any other exception also
    fails the batch in flight (reason ``crashed: ...``) before it propagates, so no trial of
    this process is left running.
    """
    if (n_trials is None) == (until_total is None):
        raise ValueError("give exactly one of n_trials and until_total")
    before = _count(study, TrialState.COMPLETE)
    recovered = tuple(recover_stale_trials(study))
    if batch_size is None:
        batch_size = cfg.sampler.population_size if cfg.sampler.name in POPULATION_SAMPLERS else 4 * max(1, n_jobs)
    cons = tuple((c.metric, c.max) for c in cfg.constraints)
    start = time.monotonic()
    done = failed = 0
    goal = n_trials if n_trials is not None else max(0, cast(int, until_total) - before)
    own = evaluator is None
    if evaluator is None:
        evaluator = Evaluator(n_jobs, backend, scheduler, quality=model_quality(cfg))
    bar = _Progress(goal, progress, cfg.name)
    tune_collector()  # (sampling and storage allocate many short-lived objects too)
    me = worker_id()
    pending: list[optuna.Trial] = []
    interrupted = exhausted = crashed = False
    reasons: Counter[str] = Counter()
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
            batch = evaluator.batch(cfg.objectives, cons)
            for _ in range(size):  # (each design starts evaluating while the next is sampled)
                trial = study.ask()
                trial.set_user_attr(WORKER_ATTR, me)
                pending.append(trial)
                batch.submit(suggest(trial, cfg))
            for trial, out in zip(pending, batch.outcomes(), strict=True):  # told in order, as they come
                if out.values is None:
                    trial.set_user_attr("fail_reason", out.reason)
                    tell(study, trial, state=TrialState.FAIL)
                    reasons[out.reason] += 1
                    failed += 1
                else:
                    for key, value in out.attrs.items():
                        trial.set_user_attr(key, value)
                    for (metric, bound), value in zip(cons, out.attrs["constraints"], strict=True):
                        # relative to the bound, so a sampler's constrained domination never adds
                        # DSP slices to BRAM blocks to mm2 (the sign, feasibility, is unchanged)
                        trial.set_constraint(metric, value / bound)
                    tell(study, trial, list(out.values))
                    done += 1
                bar.update(1, f"done={before + done} failed={failed}")
            pending = []
            sync_journal(cfg)
            settle_heap()  # (the study's trials, read back from its storage, leave the collector's sight)
            if space_exhausted(study.sampler):
                exhausted = True
                break
    except KeyboardInterrupt:
        interrupted = True
        _fail_pending(study, pending, "interrupted")
    except BaseException as exc:
        crashed = True
        _fail_pending(study, pending, f"crashed: {type(exc).__name__}: {exc}")
        raise
    finally:
        bar.close()
        if own or interrupted or crashed:
            evaluator.close(kill=interrupted or crashed)
    return RunSummary(
        before,
        done,
        failed,
        time.monotonic() - start,
        interrupted,
        recovered,
        tuple(reasons.most_common()),
        exhausted,
    )


def _fail_pending(study: optuna.Study, pending: list[optuna.Trial], reason: str) -> None:
    """Mark the trials this process asked and has not told as failed, with ``reason``."""
    for trial in pending:
        # a trial already told, or a storage that is gone: the next run's recovery
        # (recover_stale_trials) marks what is left
        with contextlib.suppress(Exception):
            trial.set_user_attr("fail_reason", reason)
            study.tell(trial, state=TrialState.FAIL)


def complete_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Finished trials that carry metrics."""
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if "metrics" in t.user_attrs]
