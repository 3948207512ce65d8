"""Exhaustive enumeration of a small, discrete space (``dse run --exhaustive``), and what
``dse check`` reports about a space: its searched parameters and its number of designs."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import optuna
from optuna.trial import TrialState

from dse import ConfigError, Design
from dse.config import EXHAUSTIVE_LIMIT, StudyConfig, param_values
from dse.space import suggest
from dse.study._evaluator import Evaluator
from dse.study._run import RunSummary, _count, run_trials
from dse.workload import get_format


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
    timeout_s: float | None = None,
    evaluator: Evaluator | None = None,
) -> RunSummary:
    """Evaluate every design of the space not yet in the study (resumable).

    ``points`` is the space's enumeration when the caller already has it
    (:func:`enumerate_space`); otherwise it is enumerated here. ``timeout_s`` stops starting
    new batches after that many seconds (the rest stays queued for the next run).
    ``evaluator``: as :func:`run_trials`'s.
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
        timeout_s=timeout_s,
        evaluator=evaluator,
    )


@dataclass(frozen=True, slots=True)
class SearchedParameter:
    """One parameter a study searches, as ``dse check`` prints it.

    Attributes:
        name: the optuna parameter name (a column of ``trials.csv``).
        kind: ``categorical``, ``int`` or ``float``.
        values: what it takes: the choices, or ``low..high`` (with step / log).
        size: how many values (None for a real range).
    """

    name: str
    kind: str
    values: str
    size: int | None


@dataclass(frozen=True, slots=True)
class DesignCount:
    """The number of designs of a space.

    Attributes:
        n: the count, or an upper bound when ``exact`` is false (None: infinitely many, a
            real-valued range).
        exact: ``n`` is the exact count (every design enumerated).
        note: why the count is a bound.
    """

    n: int | None
    exact: bool
    note: str = ""

    def label(self) -> str:
        """``6,144 designs (exact)`` / ``at most 2,304,000,000 designs (upper bound: ...)``."""
        if self.n is None:
            return f"infinitely many designs ({self.note})"
        n = f"{self.n:,}" if self.n < 10**15 else f"about {self.n:.3g}"
        if self.exact:
            return f"{n} designs (exact)"
        return f"at most {n} designs (upper bound: {self.note})"


class _Forcing:
    """A stand-in trial: forced values for some parameters, the first value of the others;
    records every parameter it is asked for."""

    def __init__(self, forced: dict[str, Any]) -> None:
        self.forced = forced
        self.seen: dict[str, SearchedParameter] = {}

    def _take(self, param: SearchedParameter, first: Any) -> Any:
        self.seen.setdefault(param.name, param)
        return self.forced.get(param.name, first)

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        values = ", ".join(str(c) for c in choices)
        return self._take(SearchedParameter(name, "categorical", f"[{values}]", len(choices)), choices[0])

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        text = f"{low}..{high}" + (f" step {step}" if step != 1 else "") + (" (log)" if log else "")
        return int(self._take(SearchedParameter(name, "int", text, len(range(low, high + 1, step))), low))

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        text = f"{low:g}..{high:g} real" + (" (log)" if log else "")
        return float(self._take(SearchedParameter(name, "float", text, None), low))


def _branches(cfg: StudyConfig) -> list[dict[str, Any]]:
    """Forced values that visit every format and depth of every searched layer (one layer at a
    time), so that conditional parameters (``in_shape_d4@fc1``, ``path_t15@...``) are seen."""
    out: list[dict[str, Any]] = [{}]
    for ls in cfg.space.layers:
        at = f"@{ls.layer}"
        for fmt in param_values(ls.format):
            for d in param_values(ls.d) if get_format(fmt).knobs.depth else (None,):
                forced: dict[str, Any] = {"format" + at: fmt}
                if d is not None:
                    forced["d" + at] = d
                out.append(forced)
    return out


def _walk_branches(cfg: StudyConfig) -> list[dict[str, SearchedParameter]]:
    """The parameters each branch of :func:`_branches` asks for."""
    out = []
    for forced in _branches(cfg):
        walker = _Forcing(forced)
        suggest(cast(optuna.Trial, walker), cfg)
        out.append(walker.seen)
    return out


def conditional_parameters(cfg: StudyConfig) -> list[str]:
    """The searched parameters that only some designs have (under a searched depth or format)."""
    branches = _walk_branches(cfg)
    everywhere = set.intersection(*(set(b) for b in branches))
    seen: dict[str, None] = {}
    for branch in branches:
        for name in branch:
            if name not in everywhere:
                seen.setdefault(name)
    return list(seen)


def searched_parameters(cfg: StudyConfig) -> list[SearchedParameter]:
    """Every parameter the study's space searches, with its values, in suggestion order
    (conditional parameters included, after the parameter they depend on)."""
    seen: dict[str, SearchedParameter] = {}
    for branch in _walk_branches(cfg):
        for name, param in branch.items():
            seen.setdefault(name, param)
    return list(seen.values())


def count_designs(cfg: StudyConfig, limit: int = EXHAUSTIVE_LIMIT) -> DesignCount:
    """How many designs the study's space holds.

    Exact when every design has the same parameters (the product of their numbers of values),
    or when a conditional space (a searched depth or format) has at most ``limit`` designs
    (enumerated as ``dse run --exhaustive`` does); otherwise an upper bound (the product over
    every parameter of any branch). ``n`` is None for a space with a real-valued range.
    """
    branches = _walk_branches(cfg)
    params: dict[str, SearchedParameter] = {}
    for branch in branches:
        for name, param in branch.items():
            params.setdefault(name, param)
    real = [p.name for p in params.values() if p.size is None]
    if real:
        return DesignCount(None, False, f"{real[0]} is a real-valued range")
    bound = math.prod(p.size or 1 for p in params.values())
    if all(set(b) == set(branches[0]) for b in branches):
        return DesignCount(bound, True)
    if bound <= 100 * limit:  # a conditional space's bound over-counts: enumerate it if small
        try:
            return DesignCount(sum(1 for _ in enumerate_space(cfg, limit)), True)
        except ConfigError:
            pass  # more than `limit` designs
    note = (
        "the product of every searched parameter's number of values, conditional parameters "
        f"counted as if always searched; more than {limit:,} designs to enumerate"
    )
    return DesignCount(bound, False, note)


def first_design(cfg: StudyConfig) -> Design:
    """The space's first design: every searched parameter at its first value."""
    return suggest(cast(optuna.Trial, _Forcing({})), cfg)
