"""The sampler registry: ``sampler: {name: ...}`` of a study -> an optuna sampler.

A sampler factory takes the study's :class:`~dse.config.SamplerConfig` and returns an optuna
sampler. Factories import optuna when called, so that validating a study file does not.
Constraints reach the samplers through ``Trial.set_constraint`` (optuna >= 5): NSGA-II/III
apply constrained domination, TPE favours feasible trials.
"""

from __future__ import annotations

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
"""Samplers that work in generations: a study asks one population per batch."""


def register_sampler(name: str, factory: SamplerFactory) -> SamplerFactory:
    """Make ``factory`` available as ``sampler: {name: <name>}``."""
    return SAMPLERS.register(name, factory)


def make_sampler(config: SamplerConfig) -> optuna.samplers.BaseSampler:
    """The optuna sampler a study's ``sampler:`` block names."""
    return SAMPLERS.get(config.name)(config)


def _nsga2(s: SamplerConfig) -> Any:
    import optuna

    return optuna.samplers.NSGAIISampler(population_size=s.population_size, seed=s.seed)


def _nsga3(s: SamplerConfig) -> Any:
    import optuna

    return optuna.samplers.NSGAIIISampler(population_size=s.population_size, seed=s.seed)


def _tpe(s: SamplerConfig) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=s.seed, multivariate=True)


def _qmc(s: SamplerConfig) -> Any:
    import optuna

    return optuna.samplers.QMCSampler(seed=s.seed, scramble=True, warn_independent_sampling=False)


def _bruteforce(s: SamplerConfig) -> Any:
    import optuna

    return optuna.samplers.BruteForceSampler(seed=s.seed)


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
