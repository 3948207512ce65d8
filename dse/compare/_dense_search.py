"""The dense baseline's hardware: a hardware-only search of the study's space for the dense model.

So that a tensorized design is never compared with a dense model on worse hardware, ``dse
compare`` searches the study's hardware space (same constraints and mode) for the untensorized
model: first the hardware of every compared design, then TPE trials. The search is an optuna
study in ``<run dir>/compare_dense/study.journal``, opened, claimed and evaluated with the study
machinery of :mod:`dse.study` (so a later call resumes it).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal, NamedTuple, cast

import optuna
import pandas as pd
from optuna.trial import TrialState

from analytical_models import ArrayEngine, Hardware, get_engine
from dse import Design
from dse.compare._baselines import dense_workload
from dse.config import TEMPLATE_KEYS, Fixed, SamplerConfig, StudyConfig
from dse.space import suggest_hardware
from dse.study import (
    BatchSyncJournalFileBackend,
    claim_study,
    evaluate_for_trial,
    make_sampler,
    open_journal,
    quiet_optuna,
)

DENSE_DIR = "compare_dense"
DENSE_TRIALS = 48
"""Default budget of the dense hardware-only search (on top of the compared designs' hardware)."""
DENSE_OBJECTIVES: tuple[str, ...] = ("latency_ms", "energy_uj")


class DenseBest(NamedTuple):
    """The dense model on the best hardware its search found."""

    fastest: Design
    most_efficient: Design
    n_trials: int


def dense_base(cfg: StudyConfig, hw: Hardware) -> Design:
    """The study's dense model on ``hw`` (a ``searched`` path policy becomes hardware-aware)."""
    policy = cfg.space.path_policy if cfg.space.path_policy != "searched" else "hardware_aware"
    return Design(
        workload=dense_workload(cfg.workload),
        hardware=hw,
        mode=cfg.mode,
        path_policy=policy,
        path_optimizer=cfg.space.path_optimizer,
        mapping_objective=cfg.space.mapping_objective,
        execution=cfg.space.execution,
    )


def _complete(params: dict[str, object], searched: list[str], cfg: StudyConfig) -> bool:
    """Whether ``params`` holds every searched hardware key the row's engine uses (a template's
    own keys are absent, not missing, for the other engines)."""
    engine = get_engine(str(params.get("engine", _fixed(cfg, "engine"))))
    knobs = {k for k, _ in engine.knobs} if isinstance(engine, ArrayEngine) else set()
    return all(k in params for k in searched if k not in TEMPLATE_KEYS or k in knobs)


def _fixed(cfg: StudyConfig, key: str) -> object:
    spec = dict(cfg.space.hardware).get(key)
    return spec.value if isinstance(spec, Fixed) else None


def dense_search(cfg: StudyConfig, selected: pd.DataFrame, n_trials: int, seed: int) -> DenseBest | None:
    """Run (or resume) the dense hardware-only search.

    Args:
        cfg: the study whose hardware space, constraints and mode are searched.
        selected: rows of the trials table (their ``param:<hardware key>`` columns) whose
            hardware is evaluated first.
        n_trials: TPE trials on top of those (counted over every call).
        seed: TPE seed.

    Returns:
        the fastest and the lowest-energy feasible dense designs, or ``None`` when no trial is
        feasible under the study's constraints.
    """
    quiet_optuna()
    folder = cfg.run_dir / DENSE_DIR
    journal = folder / "study.journal"
    directions = cast("list[Literal['minimize', 'maximize']]", ["minimize", "minimize"])
    study = optuna.create_study(
        storage=open_journal(journal),
        study_name=f"{cfg.name}-dense",
        directions=directions,
        load_if_exists=True,
        sampler=make_sampler(replace(cfg, sampler=SamplerConfig(name="tpe", seed=seed))),
    )
    claim_study(
        study,
        cfg.fingerprint(),
        create=True,
        source=cfg.source,
        mismatch=f"a dense search of this study in {folder} (it holds another study's); delete that folder",
    )
    searched = [k for k, spec in cfg.space.hardware if not isinstance(spec, Fixed)]
    done_hw = {tuple(t.params.get(k) for k in searched) for t in study.get_trials(deepcopy=False)}
    queued = 0
    for _, row in selected.iterrows():
        params = {k: row[f"param:{k}"] for k in searched if f"param:{k}" in row and not pd.isna(row[f"param:{k}"])}
        key = tuple(params.get(k) for k in searched)
        if _complete(params, searched, cfg) and key not in done_hw:
            study.enqueue_trial({k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()})
            done_hw.add(key)
            queued += 1
    sampled = sum(1 for t in study.get_trials(deepcopy=False) if t.user_attrs.get("origin") == "sampled")
    cons = tuple((c.metric, c.max) for c in cfg.constraints)
    for n in range(queued + max(0, n_trials - sampled)):
        trial = study.ask()
        design = dense_base(cfg, suggest_hardware(trial, cfg.space))
        trial.set_user_attr("origin", "front_hardware" if n < queued else "sampled")
        out = evaluate_for_trial(design, DENSE_OBJECTIVES, cons)
        if out.values is None:
            trial.set_user_attr("fail_reason", out.reason)
            study.tell(trial, state=TrialState.FAIL)
            continue
        trial.set_user_attr("design", out.attrs["design"])
        trial.set_user_attr("feasible", out.attrs["feasible"])
        study.tell(trial, list(out.values))
    BatchSyncJournalFileBackend.sync_path(str(journal))
    feasible = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.user_attrs.get("feasible") and t.values is not None and all(math.isfinite(v) for v in t.values)
    ]
    if not feasible:
        return None
    fastest = min(feasible, key=lambda t: (t.values[0], t.values[1]))
    efficient = min(feasible, key=lambda t: (t.values[1], t.values[0]))
    return DenseBest(
        Design.from_dict(fastest.user_attrs["design"]),
        Design.from_dict(efficient.user_attrs["design"]),
        len(study.trials),
    )
