"""``dse.study._run.tell``: the study holds what ``Study.tell`` leaves, trial for trial."""

from __future__ import annotations

import math
import warnings

import optuna
from optuna.trial import TrialState

from dse.study._run import tell


def _study(told_by_optuna: bool) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(
        directions=["minimize", "maximize"], sampler=optuna.samplers.NSGAIISampler(seed=3, population_size=4)
    )
    outcomes: list[tuple[list[float] | None, TrialState | None]] = [
        ([1.0, 2.0], None),
        (None, TrialState.FAIL),
        ([math.nan, 1.0], None),  # (not a number: told as failed, with optuna's warning)
        ([0.5, 3.0], TrialState.COMPLETE),
    ] * 4
    for values, state in outcomes:
        trial = study.ask()
        trial.suggest_float("x", 0.0, 1.0)
        trial.suggest_categorical("c", ["a", "b", "c"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if told_by_optuna:
                study.tell(trial, values, state)
            else:
                tell(study, trial, values, state)
    return study


def test_tell_leaves_what_study_tell_leaves() -> None:
    ours, theirs = (_study(by) for by in (False, True))
    got = [(t.state, t.values, t.params, t.system_attrs) for t in ours.get_trials()]
    want = [(t.state, t.values, t.params, t.system_attrs) for t in theirs.get_trials()]
    assert got == want
    complete, fail = TrialState.COMPLETE, TrialState.FAIL
    assert [state for state, *_ in got[:4]] == [complete, fail, fail, complete]
    assert len({t.params["x"] for t in ours.get_trials()}) > 1
