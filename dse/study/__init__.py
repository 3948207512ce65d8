"""Create or resume studies and spend their budgets.

* :mod:`~dse.study._storage`: the run folder's journal (or a database URL), opening a study;
* :mod:`~dse.study._journal`: the journal file backend synced once per batch;
* :mod:`~dse.study._workers`: worker identity and recovery of the trials of dead workers;
* :mod:`~dse.study._evaluator`: evaluating designs inline, in processes or on Dask;
* :mod:`~dse.study._run`: batched ask-and-tell until a count or a shared budget is reached;
* :mod:`~dse.study._enumerate`: exhaustive enumeration of a small space; the size of a space;
* :mod:`~dse.study._quality`: model quality (``accuracy``, ``weight_error``) measured once per
  model configuration, cached in the run folder.
"""

from dse.study._api import StudyRun, resume_study, run_study
from dse.study._enumerate import (
    DesignCount,
    SearchedParameter,
    conditional_parameters,
    count_designs,
    enumerate_space,
    first_design,
    run_exhaustive,
    searched_parameters,
)
from dse.study._evaluator import (
    BACKENDS,
    UNITS,
    EvaluationBatch,
    Evaluator,
    Outcome,
    check_backend,
    evaluate_for_trial,
    total_violation,
)
from dse.study._journal import BatchSyncJournalFileBackend
from dse.study._quality import QUALITY_CACHE_FILE, ModelQuality, model_configuration, model_quality
from dse.study._run import RunSummary, complete_trials, run_trials
from dse.study._storage import (
    FINGERPRINT_ATTR,
    JOURNAL_FILE,
    check_run_dir,
    claim_study,
    make_sampler,
    missing_run,
    name_metrics,
    open_journal,
    open_study,
    quiet_optuna,
    run_dir_exists,
    storage_url_or_default,
    sync_journal,
)
from dse.study._workers import STALE_UNOWNED_S, WORKER_ATTR, recover_stale_trials, stale_trials, worker_id

__all__ = [
    "BACKENDS",
    "FINGERPRINT_ATTR",
    "JOURNAL_FILE",
    "QUALITY_CACHE_FILE",
    "STALE_UNOWNED_S",
    "UNITS",
    "WORKER_ATTR",
    "BatchSyncJournalFileBackend",
    "DesignCount",
    "EvaluationBatch",
    "Evaluator",
    "ModelQuality",
    "Outcome",
    "RunSummary",
    "SearchedParameter",
    "StudyRun",
    "check_backend",
    "check_run_dir",
    "claim_study",
    "complete_trials",
    "conditional_parameters",
    "count_designs",
    "enumerate_space",
    "evaluate_for_trial",
    "first_design",
    "make_sampler",
    "missing_run",
    "model_configuration",
    "model_quality",
    "name_metrics",
    "open_journal",
    "open_study",
    "quiet_optuna",
    "recover_stale_trials",
    "resume_study",
    "run_dir_exists",
    "run_exhaustive",
    "run_study",
    "run_trials",
    "searched_parameters",
    "stale_trials",
    "storage_url_or_default",
    "sync_journal",
    "total_violation",
    "worker_id",
]
