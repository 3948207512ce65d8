"""Workers sharing a study: who runs a trial, and recovery of the trials of dead workers."""

from __future__ import annotations

import datetime
import os
import socket

import optuna
from optuna.trial import TrialState

WORKER_ATTR = "worker"
STALE_UNOWNED_S = 600.0
"""A running trial with no recorded worker is considered dead after this many seconds."""


def worker_id() -> str:
    """``host:pid`` of this process, recorded on every trial it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_trials(study: optuna.Study) -> list[int]:
    """The running trials whose worker died (``kill -9``, power loss), without changing them.

    A trial is stale when its recorded worker runs on this host and its process is gone, or
    when no worker was recorded and it started more than :data:`STALE_UNOWNED_S` ago. Trials of
    live workers (here or on other hosts) are not stale.
    """
    host = socket.gethostname()
    now = datetime.datetime.now()
    stale = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = t.user_attrs.get(WORKER_ATTR)
        if owner is None:
            started = t.datetime_start
            dead = started is not None and (now - started).total_seconds() > STALE_UNOWNED_S
        else:
            owner_host, _, pid = str(owner).rpartition(":")
            dead = owner_host == host and pid.isdigit() and not _pid_alive(int(pid))
        if dead:
            stale.append(t.number)
    return stale


def recover_stale_trials(study: optuna.Study) -> list[int]:
    """Mark the :func:`stale_trials` as failed; returns their numbers."""
    failed = stale_trials(study)
    for number in failed:
        study.tell(number, state=TrialState.FAIL)
    return failed
