"""Evaluation of sampled designs: in-process, in local loky processes or on a Dask cluster.

Local processes are one loky :class:`~joblib.externals.loky.ProcessPoolExecutor` per
:class:`Evaluator`, shut down by :meth:`Evaluator.close` (loky, unlike the standard library's
pools, does not re-import the user's ``__main__`` in its workers). Two settings of its workers
(:func:`_worker_init`):

* loky's memory-leak heuristic is off. With psutil installed, loky restarts a worker whose
  memory has grown by 300 MB since its first task; the model's by-value cost caches (bounded
  LRU caches, kept on purpose across trials) grow that much on a long run, so loky discarded
  them mid-run and printed "A worker stopped while some jobs were given to the executor" at
  the user.
* Workers ignore Ctrl-C: the main process handles it (the batch in flight is marked failed),
  so an interrupted run prints no worker tracebacks.
"""

from __future__ import annotations

import json
import math
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dse import Design, DSEError, Metrics
from dse._catalog import units
from dse.evaluate import EvaluationError, evaluate
from dse.study._heap import settle_heap, tune_collector
from dse.study._quality import ModelQuality

BACKENDS: tuple[str, ...] = ("loky", "dask")
"""``loky``: ``n_jobs`` local processes (in this process when 1); ``dask``: a Dask cluster."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """Result of evaluating one sampled design in a worker."""

    values: tuple[float, ...] | None
    attrs: dict[str, Any]
    reason: str = ""


_Key = tuple[Design, tuple[str, ...], tuple[tuple[str, float], ...]]
"""A design with the objectives and constraints it is evaluated for."""

UNITS: dict[str, str] = units()
"""Unit of every scalar metric (recorded on each trial for optuna-dashboard)."""


def total_violation(violations: Sequence[float]) -> float:
    """Sum of the positive constraint values (0 for a feasible design): optuna's and the Pareto
    filter's measure of how infeasible a design is."""
    return float(sum(max(0.0, v) for v in violations))


def evaluate_for_trial(
    design: Design,
    objectives: tuple[str, ...],
    constraints: tuple[tuple[str, float], ...],
    quality: ModelQuality | None = None,
) -> Outcome:
    """Evaluate one design into objective values and trial attributes (runs in workers).

    A design that breaks a constraint is a normal, completed trial with positive constraint
    values and an ``infeasible_reason``; a design that cannot be evaluated at all comes back
    with ``values=None`` and the reason. ``quality`` adds the model-quality metrics
    (``accuracy``, ``weight_error``: :mod:`dse.study._quality`), measured after the hardware
    model so that a design it cannot price costs no quality measurement.
    """
    tune_collector()  # fewer young collections while the evaluation allocates
    try:
        metrics: Metrics = evaluate(design)
    except (EvaluationError, DSEError, ValueError) as exc:
        return Outcome(None, {}, reason=str(exc))
    finally:
        settle_heap()  # the caches the evaluation filled leave the collector's sight
    scalars = metrics.scalars()
    if quality is not None:
        try:
            scalars.update(quality.measure(design.workload))
        except DSEError as exc:
            return Outcome(None, {}, reason=str(exc))
    values = tuple(scalars[o] for o in objectives)
    if not all(math.isfinite(v) for v in values):
        return Outcome(None, {}, reason=f"non-finite objective values {values}")
    viol = [scalars[m] - bound for m, bound in constraints]
    broken = [
        f"{m} {scalars[m]:.4g} > {bound:.4g} {UNITS.get(m, '')}".rstrip()
        for (m, bound), v in zip(constraints, viol, strict=True)
        if v > 0
    ]
    attrs: dict[str, Any] = {
        "metrics": scalars,
        "design": json.dumps(design.to_dict(), sort_keys=True),  # (as text: see dse.design_record)
        "constraints": viol,
        "feasible": not broken,
        "cycle_breakdown": metrics.total.cycle_breakdown(),
        "energy_breakdown_pj": metrics.total.energy_breakdown_pj(),
        "paths": json.dumps(metrics.paths(), sort_keys=True),
        "units": UNITS,
    }
    if broken:
        attrs["infeasible_reason"] = "; ".join(broken)
    return Outcome(values, attrs)


def check_backend(backend: str, scheduler: str | None, n_jobs: int = 1) -> None:
    """Raise :class:`DSEError` when the evaluation backend's options are incomplete, out of
    range or do not apply to the backend (``--scheduler`` without Dask, ``--n-jobs`` with it)."""
    if backend not in BACKENDS:
        raise DSEError(f"unknown backend {backend!r}; expected one of {list(BACKENDS)}")
    if backend == "dask" and not scheduler:
        raise DSEError("--backend dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    if backend != "dask" and scheduler:
        raise DSEError(f"--scheduler is for --backend dask (the backend is {backend!r})")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise DSEError(f"--n-jobs (n_jobs): at least 1 process, got {n_jobs!r}")
    if backend == "dask" and n_jobs != 1:
        raise DSEError("--n-jobs is for --backend loky (a Dask cluster evaluates on its own workers)")


def _worker_init() -> None:
    """Settings of a local worker process (see the module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from joblib.externals.loky import process_executor

    process_executor._USE_PSUTIL = False  # no "memory leak" restarts


def _process_pool(n_jobs: int) -> Any:
    from joblib.externals.loky import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=n_jobs, initializer=_worker_init)


class Evaluator:
    """Evaluates a batch of designs in-process, in local loky processes (one pool for the
    evaluator's lifetime: call :meth:`close`, or use it in a ``with`` block) or on a Dask
    cluster."""

    def __init__(
        self,
        n_jobs: int,
        backend: str,
        scheduler: str | None,
        seen_limit: int = 50_000,
        quality: ModelQuality | None = None,
    ) -> None:
        check_backend(backend, scheduler, n_jobs)
        self.quality = quality
        self.kind = "inline"
        self.pool: Any = None
        self.seen: dict[_Key, Outcome] = {}
        self.seen_limit = seen_limit
        self.hits = 0
        self.closed = False
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
            self.pool = _process_pool(n_jobs)
            self.kind = "loky"

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(
        self, designs: list[Design], objectives: tuple[str, ...], cons: tuple[tuple[str, float], ...]
    ) -> list[Outcome]:
        """Outcomes of ``designs``, in order (:meth:`batch`, every design submitted at once)."""
        batch = self.batch(objectives, cons)
        for d in designs:
            batch.submit(d)
        return list(batch.outcomes())

    def batch(self, objectives: tuple[str, ...], cons: tuple[tuple[str, float], ...]) -> EvaluationBatch:
        """A batch whose designs are dispatched one by one as they are submitted (workers start
        on the first while the sampler proposes the next) and read back in order."""
        return EvaluationBatch(self, objectives, cons)

    def _dispatch(self, design: Design, objectives: tuple[str, ...], cons: tuple[tuple[str, float], ...]) -> Any:
        """Start evaluating ``design`` in a worker: a future (None in-process: evaluated when read)."""
        if self.kind == "loky":
            return self.pool.submit(evaluate_for_trial, design, objectives, cons, self.quality)
        if self.kind == "dask":
            return self.pool.submit(
                evaluate_for_trial, design, objectives=objectives, constraints=cons, quality=self.quality, pure=False
            )
        return None

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any] | None:
        """``fn`` over ``items``, in order, on this evaluator's local processes (whose caches
        hold what the study evaluated there; in this process when it has none); None when its
        processes are not on this machine (Dask) or are closed. ``fn`` must be picklable."""
        if self.closed or self.kind == "dask":
            return None
        if self.kind == "loky":
            return list(self.pool.map(fn, items))
        return [fn(x) for x in items]

    def _remember(self, key: _Key, out: Outcome) -> None:
        self.seen[key] = out
        while len(self.seen) > self.seen_limit:  # oldest first
            self.seen.pop(next(iter(self.seen)))

    def close(self, *, kill: bool = False) -> None:
        """Release the workers: local processes once their evaluations end, or at once with
        ``kill`` (after Ctrl-C or an error: the batch in flight is dropped)."""
        if self.closed:
            return
        self.closed = True
        if self.kind == "dask":
            self.pool.close()
        elif self.kind == "loky":
            self.pool.shutdown(wait=True, kill_workers=kill)


class EvaluationBatch:
    """Designs evaluated by an :class:`Evaluator`: each dispatched when submitted, the outcomes
    read back in submission order (:meth:`outcomes`). A design seen before (samplers of discrete
    spaces propose exact repeats), in an earlier batch or in this one, is not dispatched again."""

    def __init__(self, evaluator: Evaluator, objectives: tuple[str, ...], cons: tuple[tuple[str, float], ...]) -> None:
        self.evaluator = evaluator
        self.objectives = objectives
        self.cons = cons
        self.keys: list[_Key] = []
        self.running: dict[_Key, Any] = {}
        self.known: dict[_Key, Outcome] = {}
        """Outcomes of this batch's designs known when submitted or read so far."""

    def submit(self, design: Design) -> None:
        """Add ``design`` (dispatched at once unless its outcome is known or already coming)."""
        key = (design, self.objectives, self.cons)
        self.keys.append(key)
        ev = self.evaluator
        seen = ev.seen.get(key)
        if seen is not None:
            self.known[key] = seen
        if key in self.known or key in self.running:
            ev.hits += 1
        else:
            self.running[key] = ev._dispatch(design, self.objectives, self.cons)

    def outcomes(self) -> Iterator[Outcome]:
        """The outcome of every submitted design, in submission order, each as soon as it is
        known (later designs go on evaluating meanwhile)."""
        ev = self.evaluator
        for key in self.keys:
            out = self.known.get(key)
            if out is None:
                future = self.running.pop(key)
                if future is None:
                    out = evaluate_for_trial(key[0], self.objectives, self.cons, ev.quality)
                else:
                    out = future.result()
                ev._remember(key, out)
                self.known[key] = out
            yield out
