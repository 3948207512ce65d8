"""Where a study lives: the run folder's journal file (default) or a database URL.

Opening a study checks that the run folder holds the same study (its fingerprint), so a changed
study file never mixes with an old run.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Literal, cast

import optuna

from dse import ConfigError, DSEError
from dse._samplers import make_sampler as make_sampler_from
from dse.config import StudyConfig
from dse.study._journal import BatchSyncJournalFileBackend, JournalStudyStorage

JOURNAL_FILE = "study.journal"
FINGERPRINT_ATTR = "tnn_dse_fingerprint"


def quiet_optuna() -> None:
    """Keep optuna's per-trial INFO lines off the terminal (called when a study is opened)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def storage_url_or_default(cfg: StudyConfig, storage: str | None) -> str | optuna.storages.BaseStorage:
    """The storage of a study: a URL given by the user, or the journal file in the run folder."""
    if storage:
        if storage.startswith("sqlite:///"):
            Path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return storage
    return open_journal(cfg.run_dir / JOURNAL_FILE)


def sync_journal(cfg: StudyConfig) -> None:
    """fsync the run folder's journal file, if the study uses it."""
    path = cfg.run_dir / JOURNAL_FILE
    if path.is_file():
        BatchSyncJournalFileBackend.sync_path(str(path))


def make_sampler(cfg: StudyConfig) -> optuna.samplers.BaseSampler:
    """The optuna sampler the study names (NSGA-II by default; see :data:`dse.SAMPLERS`)."""
    return make_sampler_from(cfg.sampler)


def open_study(cfg: StudyConfig, storage: str | None = None, *, create: bool = True) -> optuna.Study:
    """Create the study or load it (resume). Refuses a run folder that holds a different study."""
    quiet_optuna()
    sampler = make_sampler(cfg)  # a sampler that cannot be made fails before anything is written
    if not create and storage and storage.startswith("sqlite:///"):
        db = Path(storage.removeprefix("sqlite:///"))
        if not db.is_file():  # reading a study must not create an empty database
            raise ConfigError(cfg.source, "(study)", f"a study in --storage {storage}, but {db} does not exist")
    url = storage_url_or_default(cfg, storage)
    directions = cast("list[Literal['minimize', 'maximize']]", cfg.directions)
    attempts = 6 if storage else 1
    for attempt in range(attempts):
        try:
            if create:
                study = optuna.create_study(
                    storage=url,
                    sampler=sampler,
                    study_name=cfg.name,
                    directions=directions,
                    load_if_exists=True,
                )
            else:
                study = optuna.load_study(study_name=cfg.name, storage=url, sampler=sampler)
            break
        except KeyError:
            raise ConfigError(
                cfg.source,
                "name",
                f"a study in {storage or cfg.run_dir}, but none called {cfg.name!r} has run there; "
                "start it with `dse run`",
            ) from None
        except (ImportError, ModuleNotFoundError) as exc:
            raise DSEError(f"storage {storage!r} needs a database driver that is not installed ({exc})") from None
        except ValueError as exc:  # a URL optuna does not take (e.g. redis://, removed in optuna 3.1)
            if not storage:
                raise
            raise DSEError(f"cannot open storage {storage!r}: {str(exc).splitlines()[0]}") from None
        except Exception as exc:  # database errors: bad URL, server down, a concurrent schema creation
            if not (storage and type(exc).__module__.startswith(("sqlalchemy", "psycopg"))):
                raise
            if attempt == attempts - 1:
                raise DSEError(f"cannot open storage {storage!r}: {str(exc).splitlines()[0]}") from None
            time.sleep(0.2 * 2**attempt)  # several workers creating the schema at once: retry
    claim_study(
        study,
        cfg.fingerprint(),
        create=create,
        source=cfg.source,
        mismatch=f"the same objectives, workload and space as the study stored in {storage or cfg.run_dir} "
        "(they changed); give the study a new name or delete that folder",
    )
    if create and "objectives" not in study.user_attrs:
        study.set_user_attr("objectives", list(cfg.objectives))
    if [d.name.lower() for d in study.directions] != cfg.directions:
        raise ConfigError(cfg.source, "objectives", f"the objectives stored in {storage or cfg.run_dir}")
    if create:
        name_metrics(study, cfg)
    return study


def name_metrics(study: optuna.Study, cfg: StudyConfig) -> None:
    """Give the study's objectives their metric-catalog names (``latency_ms``, ``energy_uj``,
    ...) for optuna-dashboard and ``study.trials_dataframe()``, if it has none yet."""
    if study.metric_names is None:
        with warnings.catch_warnings():  # set_metric_names is an "experimental" optuna API
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(cfg.objectives))


def check_run_dir(cfg: StudyConfig) -> None:
    """Refuse a run folder path that is not a folder (a file given to ``--run-dir``)."""
    if cfg.run_dir.exists() and not cfg.run_dir.is_dir():
        raise ConfigError(cfg.source, "run folder", f"a folder for the run, but {cfg.run_dir} is a file")


def missing_run(cfg: StudyConfig, study_file: str) -> ConfigError:
    """The error for a command that needs a finished run where there is none: where it looked
    and what to do."""
    check_run_dir(cfg)
    where = f"no run of study {cfg.name!r} in {cfg.run_dir}"
    if cfg.run_dir.is_dir():
        where += f" (the folder exists but holds no {JOURNAL_FILE})"
    return ConfigError(
        cfg.source,
        "(study)",
        f"{where}; start it with `dse run {study_file}`, or point at an existing run with --run-dir DIR "
        "(or --storage URL)",
    )


def claim_study(study: optuna.Study, fingerprint: str, *, create: bool, source: str, mismatch: str) -> None:
    """Record ``fingerprint`` on a new study, or check that a stored study carries it.

    Raises:
        ConfigError: (``source``, ``mismatch``) when the stored study has another fingerprint.
    """
    have = study.user_attrs.get(FINGERPRINT_ATTR)
    if have is None and create:
        study.set_user_attr(FINGERPRINT_ATTR, fingerprint)
    elif have is not None and have != fingerprint:
        raise ConfigError(source, "(study)", mismatch)


def open_journal(path: Path) -> optuna.storages.BaseStorage:
    """Journal storage on ``path`` (created with its folder), synced once per batch."""
    if path.parent.exists() and not path.parent.is_dir():
        raise DSEError(f"run folder {path.parent} is a file; give a folder (--run-dir)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStudyStorage(BatchSyncJournalFileBackend(str(path)))


def run_dir_exists(cfg: StudyConfig) -> bool:
    """Whether the run folder already holds a journal."""
    return Path(cfg.run_dir / JOURNAL_FILE).is_file()
