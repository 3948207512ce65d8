"""The sampler registry: ``sampler: {name: ...}`` of a study -> an optuna sampler.

A sampler factory takes the study's :class:`~dse.config.SamplerConfig` and returns an optuna
sampler. Factories import optuna when called, so that validating a study file does not.
Constraints reach the samplers through ``Trial.set_constraint`` (optuna >= 5): NSGA-II/III
apply constrained domination, TPE favours feasible trials.

Every shipped sampler works from a clean install: ``qmc`` needs scipy (a dependency of
TNN-DSE), and optuna's :class:`~optuna.exceptions.ExperimentalWarning` about NSGA-III, QMC and
brute force is silenced where the sampler is created (those samplers are documented here; the
warning tells a user nothing they can act on). ``bruteforce`` marks itself
:func:`space_exhausted` once every design has been tried, and a run stops there.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from analytical_models import Registry
from dse._errors import DSEError

if TYPE_CHECKING:
    import optuna

    from dse.config import SamplerConfig

SamplerFactory = Callable[["SamplerConfig"], "optuna.samplers.BaseSampler"]
"""``(sampler config) -> optuna sampler``."""

SAMPLERS: Registry[SamplerFactory] = Registry("sampler", error=DSEError)
"""Samplers a study may name; each entry builds the optuna sampler."""

POPULATION_SAMPLERS: frozenset[str] = frozenset({"nsga2", "nsga3"})
"""Samplers that work in generations: a study asks one population per batch (the only ones
that take ``population_size``)."""

DISCRETE_SAMPLERS: frozenset[str] = frozenset({"bruteforce"})
"""Samplers that enumerate: they cannot search a real-valued range."""


def register_sampler(name: str, factory: SamplerFactory) -> SamplerFactory:
    """Make ``factory`` available as ``sampler: {name: <name>}``."""
    return SAMPLERS.register(name, factory)


def make_sampler(config: SamplerConfig) -> optuna.samplers.BaseSampler:
    """The optuna sampler a study's ``sampler:`` block names (optuna's experimental-feature
    warning about it silenced: the shipped samplers are documented and tested here)."""
    import optuna

    factory = SAMPLERS.get(config.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return factory(config)


def sampler_notes(name: str, conditional: list[str]) -> list[str]:
    """What a user should know about sampler ``name`` on a space whose parameters
    ``conditional`` exist only for some designs (empty: every design has the same parameters)."""
    if name == "qmc" and conditional:
        shown = ", ".join(conditional[:3]) + (", ..." if len(conditional) > 3 else "")
        return [
            f"sampler qmc: {len(conditional)} parameters exist only for some designs ({shown}); qmc draws "
            "them at random, not from its low-discrepancy sequence (nsga2, tpe or random suit such a space)"
        ]
    return []


def space_exhausted(sampler: Any) -> bool:
    """Whether ``sampler`` has tried every design of the space (``bruteforce``): a run stops."""
    return bool(getattr(sampler, "exhausted", False))


def _intersection(space: Any, study: Any) -> dict[str, Any]:
    """``space.calculate(study, use_cache=True)`` (optuna's ``IntersectionSearchSpace``: the
    distributions every finished trial shares, by name) without the deep copy of the result it
    makes for each trial asked (~0.6 ms a trial with this project's 33 parameters): the same
    incremental update of its state (``optuna.search_space.intersection._calculate``, what
    ``calculate`` calls), the distributions returned as they are kept (samplers read them, none
    changes them). With an optuna that lacks that function, ``calculate`` itself."""
    try:
        from optuna.search_space.intersection import _calculate
    except ImportError:  # pragma: no cover - optuna 5 has it
        found: dict[str, Any] = space.calculate(study, use_cache=True)
        return found
    if space._study_id is None:
        space._study_id = study._study_id
    elif space._study_id != study._study_id:
        raise ValueError("`IntersectionSearchSpace` cannot handle multiple studies.")
    space._search_space, space._cached_trial_number = _calculate(
        study._get_trials(deepcopy=False, use_cache=True),
        space._include_pruned,
        space._search_space,
        space._cached_trial_number,
    )
    return dict(sorted((space._search_space or {}).items(), key=lambda x: x[0]))


def _incremental(base: Any) -> Any:
    """``base`` (optuna's NSGA-II or NSGA-III sampler) with its per-trial bookkeeping made
    incremental, the samples unchanged.

    optuna's genetic samplers rescan the whole study for every new trial: the generation of a
    trial is found by reading the generation attribute of every completed trial, the parents by
    filtering every trial, and the intersection search space by fetching every trial once more.
    At 10,000 trials that was 15.2 ms of the main process's CPU per trial, taken from the two
    evaluation processes on a two-core machine (8.3 ms here). Here the completed trials'
    generations are tallied once each, a generation's parents are kept once read back from the
    study, and the search space reads the trial list the study already fetched for this trial
    without copying it (:func:`_intersection`; what is left is the storage's own listing of the
    trials, twice per trial). Each answer
    is the one the base class computes (same trials, same order); the storage keys are the base
    class's, so studies run before this change resume."""
    from optuna.trial import TrialState

    class Incremental(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._tally: tuple[object, dict[int, int], Counter[int]] | None = None
            self._parents: dict[int, tuple[list[int], list[Any]]] = {}

        def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
            # (the base class's, but on the trials the study fetched for this trial)
            space = _intersection(self._search_space, study)
            return {name: dist for name, dist in space.items() if not dist.single()}

        def get_trial_generation(self, study: Any, trial: Any) -> int:
            key = self._get_generation_key()
            generation = trial.system_attrs.get(key, None)
            if generation is not None:
                return int(generation)
            where = (study._storage, study._study_id)
            if self._tally is None or self._tally[0] != where:
                self._tally = (where, {}, Counter())
            _, seen, counts = self._tally
            complete = study._get_trials(deepcopy=False, states=[TrialState.COMPLETE], use_cache=True)
            if len(complete) != len(seen):  # (completed trials stay completed: equal sizes, equal sets)
                for t in complete:
                    if t._trial_id not in seen:
                        g = t.system_attrs.get(key, -1)
                        seen[t._trial_id] = g
                        counts[g] += 1
            top = max((g for g in counts if g >= 0), default=0)
            assert self._population_size is not None, "Population size must be set."
            generation = top if counts[top] < self._population_size else top + 1
            study._storage.set_trial_system_attr(trial._trial_id, key, generation)
            return generation

        def get_parent_population(self, study: Any, generation: int) -> list[Any]:
            if generation == 0:
                return []
            key = self._get_parent_cache_key_prefix() + str(generation)
            ids = study._storage.get_study_system_attrs(study._study_id).get(key, None)
            kept = self._parents.get(generation)
            if ids is not None and kept is not None and kept[0] == ids:
                return list(kept[1])
            parents: list[Any] = super().get_parent_population(study, generation)
            if ids is not None:  # (read back from the study, in its trial order: kept as is)
                self._parents[generation] = (list(ids), list(parents))
            return parents

    Incremental.__name__ = Incremental.__qualname__ = base.__name__
    Incremental._GENERATION_KEY = base._GENERATION_KEY
    Incremental._PARENT_CACHE_KEY_PREFIX = base._PARENT_CACHE_KEY_PREFIX
    return Incremental


def _nsga2(s: SamplerConfig) -> Any:
    import optuna

    return _incremental(optuna.samplers.NSGAIISampler)(population_size=s.population_size, seed=s.seed)


def _nsga3(s: SamplerConfig) -> Any:
    import optuna

    return _incremental(optuna.samplers.NSGAIIISampler)(population_size=s.population_size, seed=s.seed)


def _tpe(s: SamplerConfig) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=s.seed, multivariate=True)


class _DropConditionalNotice(logging.Filter):
    """Drop optuna's per-batch "QMCSampler assumes that the search space does not include any
    conditions" log line: ``dse run`` / ``dse check`` say it once, in their own words
    (:func:`sampler_notes`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "does not include any conditions" not in record.getMessage()


def _qmc(s: SamplerConfig) -> Any:
    import optuna

    if importlib.util.find_spec("scipy") is None:  # optuna imports it only when sampling
        raise DSEError("sampler 'qmc' needs scipy (optuna's QMCSampler uses it): pip install scipy")
    qmc_logger = logging.getLogger("optuna.samplers._qmc")
    if not any(isinstance(f, _DropConditionalNotice) for f in qmc_logger.filters):
        qmc_logger.addFilter(_DropConditionalNotice())
    return optuna.samplers.QMCSampler(
        seed=s.seed, scramble=True, warn_independent_sampling=False, warn_asynchronous_seeding=False
    )


def _bruteforce(s: SamplerConfig) -> Any:
    import optuna

    class BruteForce(optuna.samplers.BruteForceSampler):
        """optuna's brute force for ask-and-tell: when every design has been tried it sets
        ``exhausted`` (optuna's own ``study.stop()`` works only inside ``study.optimize``)."""

        exhausted = False

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            study.stop = self._stop  # an instance attribute shadows Study.stop for this call
            try:
                super().after_trial(study, trial, state, values)
            finally:
                del study.stop

        def _stop(self) -> None:
            self.exhausted = True

    return BruteForce(seed=s.seed)


def _random(s: SamplerConfig) -> Any:
    import optuna

    return optuna.samplers.RandomSampler(seed=s.seed)


for _name, _factory in (
    ("nsga2", _nsga2),
    ("nsga3", _nsga3),
    ("tpe", _tpe),
    ("random", _random),
    ("qmc", _qmc),
    ("bruteforce", _bruteforce),
):
    register_sampler(_name, _factory)
