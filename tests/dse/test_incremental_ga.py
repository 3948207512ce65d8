"""The genetic samplers' incremental bookkeeping (dse._samplers._incremental) samples exactly
what optuna's own NSGA-II / NSGA-III sample: same parameters, same generations, same parent
caches under the same storage keys, on batches that straddle generations, trials told out of
order, failed trials and a conditional parameter, in memory and in the run folder's journal;
and a study begun by optuna's sampler goes on identically under the incremental one."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from dse._samplers import make_sampler
from dse.config import SamplerConfig
from dse.study._storage import open_journal

optuna.logging.set_verbosity(optuna.logging.WARNING)
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # (NSGA-III)

PLAIN = {"nsga2": optuna.samplers.NSGAIISampler, "nsga3": optuna.samplers.NSGAIIISampler}


def _sampler(name: str, *, plain: bool, seed: int = 3, population: int = 6) -> optuna.samplers.BaseSampler:
    if plain:
        return PLAIN[name](population_size=population, seed=seed)
    return make_sampler(SamplerConfig(name=name, seed=seed, population_size=population))


def _drive(study: optuna.Study, batches: int, size: int, seed: int) -> None:
    """Ask ``size`` trials, tell them shuffled (some failed), ``batches`` times."""
    rng = random.Random(seed)
    for _ in range(batches):
        trials = [study.ask() for _ in range(size)]
        for t in trials:
            x = t.suggest_float("x", 0.0, 1.0)
            c = t.suggest_categorical("c", ["a", "b", "c"])
            k = t.suggest_int("k", 1, 9) if c == "a" else 5  # (a conditional parameter)
            t.set_user_attr("xk", x * k)
        rng.shuffle(trials)
        for t in trials:
            if rng.random() < 0.1:
                study.tell(t, state=TrialState.FAIL)
            else:
                x, k = t.params["x"], t.params.get("k", 5)
                study.tell(t, [x + 0.1 * k, (1 - x) ** 2 + 0.05 * k])


def _record(study: optuna.Study) -> Any:
    trials = [(t.number, t.state, t.params, t.system_attrs) for t in study.get_trials()]
    return trials, study._storage.get_study_system_attrs(study._study_id)


def _storage(kind: str, path: Path) -> Any:
    return optuna.storages.InMemoryStorage() if kind == "memory" else open_journal(path / "study.journal")


@pytest.mark.parametrize("name", sorted(PLAIN))
@pytest.mark.parametrize("size", [6, 5, 9])
@pytest.mark.parametrize("storage", ["memory", "journal"])
def test_the_incremental_sampler_samples_what_optunas_does(name: str, size: int, storage: str, tmp_path: Path) -> None:
    runs = []
    for plain in (True, False):
        where = tmp_path / f"plain{plain}"
        where.mkdir()
        study = optuna.create_study(
            storage=_storage(storage, where), sampler=_sampler(name, plain=plain), directions=["minimize"] * 2
        )
        _drive(study, batches=10, size=size, seed=11)
        runs.append(_record(study))
    (plain_trials, plain_attrs), (ours_trials, ours_attrs) = runs
    assert len(plain_trials) == 10 * size
    generations = {t[3].get(f"{PLAIN[name].__name__}:generation") for t in plain_trials}
    assert len(generations) >= 4  # (the run went through several generations)
    assert ours_trials == plain_trials
    assert ours_attrs == plain_attrs  # (the parent caches, under the same keys)


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_a_study_begun_by_optunas_sampler_goes_on_the_same(name: str, tmp_path: Path) -> None:
    runs = []
    for plain in (True, False):
        path = tmp_path / f"plain{plain}"
        path.mkdir()
        journal = path / "study.journal"
        first = optuna.create_study(
            storage=open_journal(journal), sampler=_sampler(name, plain=True), directions=["minimize"] * 2
        )
        _drive(first, batches=5, size=6, seed=5)
        resumed = optuna.load_study(
            study_name=first.study_name, storage=open_journal(journal), sampler=_sampler(name, plain=plain)
        )
        _drive(resumed, batches=5, size=6, seed=6)
        runs.append(_record(resumed))
    assert runs[1] == runs[0]
    assert len(runs[0][0]) == 60
