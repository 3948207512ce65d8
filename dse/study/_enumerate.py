"""Exhaustive enumeration of a small, discrete space (``dse run --exhaustive``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

import optuna
from optuna.trial import TrialState

from dse import ConfigError
from dse.config import EXHAUSTIVE_LIMIT, StudyConfig
from dse.space import suggest
from dse.study._run import RunSummary, _count, run_trials


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
