"""The embedded default storage: optuna's journal file format, synced once per batch.

optuna's :class:`JournalFileBackend` calls ``fsync`` on every operation (about 20 per trial:
ask, each parameter, each user attribute, tell), which dominated the wall time of a study here
(4.4 s of 9.2 s for 64 trials). This backend writes the same file format (so
``optuna-dashboard runs/<name>/study.journal`` and ``JournalFileBackend`` read it), flushes every
append to the operating system under an exclusive ``flock`` (several worker processes may share
the file), and lets the study call :meth:`sync` after each batch. A ``kill -9`` of the process
loses nothing that was appended (the data is in the kernel's page cache); only an operating
system crash can lose the trials of the last unsynced batch.

Every storage operation also reads back what was appended since the last one (its own log
among them: that is how optuna's journal storage applies it), about 50 times per trial. optuna's
reader opens the file, stats it and seeks each time; this one keeps the file open and reads the
new bytes with one ``pread`` (nothing at all when the file has not grown), and hands back a log
it has just appended itself without reading and parsing it again, when nothing else lies between
(:meth:`BatchSyncJournalFileBackend.append_logs`: most of a trial's logs, its parameters). And
:class:`JournalStudyStorage` lists a study's trials without a Python loop over them (optuna
walks every trial for every listing, several times per trial asked: at 10,000 trials ~1.3 ms a
listing).
"""

from __future__ import annotations

import copy
import enum
import fcntl
import itertools
import json
import os
from collections.abc import Container, Generator
from typing import Any, cast

from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import FrozenTrial, TrialState

READ_CHUNK = 16 * 2**20
"""Bytes read at once when replaying a journal (a 10,000-trial study's is ~190 MB)."""


class BatchSyncJournalFileBackend(JournalFileBackend):
    """Journal file backend that flushes each append and fsyncs on :meth:`sync`."""

    def __init__(self, file_path: str) -> None:
        super().__init__(file_path, lock_obj=JournalFileOpenLock(file_path))
        self.path = file_path
        self._fd: int | None = None
        self._logs_read = 0
        """Logs the sequential reader has handed out ..."""
        self._bytes_read = 0
        """... and where the next one starts in the file."""
        self._append_fd: int | None = None
        self._own: tuple[int, list[tuple[int, dict[str, Any]]]] | None = None
        """The logs this backend appended last, as the reader would parse them, each with where it
        ends in the file, and where the first starts, when that is where the reader stands
        (:meth:`append_logs`)."""

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_fd"] = state["_append_fd"] = None  # (a file descriptor means nothing in another process)
        return state

    def __del__(self) -> None:
        for name in ("_fd", "_append_fd"):
            fd = getattr(self, name, None)
            if fd is not None:
                os.close(fd)

    def read_logs(self, log_number_from: int) -> Generator[dict[str, Any], None, None]:
        """The logs from number ``log_number_from`` on (complete lines only: a line another
        process is still appending is read next time). Reading on from where the last read
        stopped (what optuna's journal storage does) is one ``pread`` of the new bytes; any
        other start goes through optuna's reader."""
        own, self._own = self._own, None
        if log_number_from != self._logs_read:
            yield from super().read_logs(log_number_from)
            last = max(self._log_number_offset)  # (optuna's reader's index: line number -> offset)
            self._logs_read, self._bytes_read = last, self._log_number_offset[last]
            return
        if own is not None and own[0] == self._bytes_read:  # (what it appended last, nothing before)
            for end, log in own[1]:
                self._logs_read += 1
                self._bytes_read = end
                yield log
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        chunk = READ_CHUNK
        while True:
            size = os.fstat(self._fd).st_size
            available = size - self._bytes_read
            if available <= 0:
                return
            data = os.pread(self._fd, min(available, chunk), self._bytes_read)
            end = data.rfind(b"\n") + 1
            if end == 0:
                if len(data) < available:
                    chunk *= 2  # (a line longer than the chunk)
                    continue
                return  # (a line still being appended)
            for line in data[: end - 1].split(b"\n"):
                try:
                    log = json.loads(line)
                except json.JSONDecodeError:
                    if self._bytes_read + len(line) + 1 < size:
                        raise  # (a broken line with more after it: optuna's reader raises too)
                    return  # (the last line, maybe half written: optuna's reader skips it for now)
                self._logs_read += 1
                self._bytes_read += len(line) + 1
                yield log

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        """Append ``logs`` as JSON lines, atomically with respect to other processes.

        When they start where the reader stands (it has read every log before them) and each is
        flat (what a parameter's log is: :func:`_as_parsed`), the next read hands them back as
        parsed without reading them from the file."""
        lines = [(json.dumps(log, separators=(",", ":")) + "\n").encode("utf-8") for log in logs]
        data = b"".join(lines)
        if self._append_fd is None:
            self._append_fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        fd = self._append_fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            end = os.lseek(fd, 0, os.SEEK_CUR)  # (appending: where this data ends in the file)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        start = end - len(data)
        self._own = None
        if start == self._bytes_read:
            parsed = [_as_parsed(log) for log in logs]
            if all(p is not None for p in parsed):
                ends = itertools.accumulate(len(line) for line in lines)  # (each log's end)
                flat = cast(list[dict[str, Any]], parsed)
                self._own = (start, [(start + e, log) for e, log in zip(ends, flat, strict=True)])

    def sync(self) -> None:
        """Force everything appended so far to disk."""
        self.sync_path(self.path)

    @staticmethod
    def sync_path(path: str) -> None:
        """fsync the journal file at ``path``."""
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_SCALARS = (str, int, float, bool, type(None))


def _as_parsed(log: dict[str, Any]) -> dict[str, Any] | None:
    """What parsing the JSON line of ``log`` gives, without writing and parsing it, when that is
    plain to see: a dict of string keys and scalar values (strings, integers, floats, booleans,
    None: JSON keeps them as they are, NaN and infinities included; an integer enum, such as
    optuna's operation codes, becomes its integer); None for any other log."""
    out: dict[str, Any] = {}
    for k, v in log.items():
        if type(k) is not str:
            return None
        if type(v) in _SCALARS:
            out[k] = v
        elif isinstance(v, enum.IntEnum):
            out[k] = int(v)
        else:
            return None
    return out


class JournalStudyStorage(JournalStorage):
    """optuna's journal storage, listing a study's trials without a Python loop over them."""

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        """Every trial of the study (in ``states``), as optuna's journal storage lists them."""
        with self._thread_lock:
            self._sync_with_backend()
            replay = self._replay_result
            ids = replay._study_id_to_trial_ids.get(study_id) if study_id in replay._studies else None
            if ids is not None:
                trials = list(map(replay._trials.__getitem__, ids))
        if ids is None:
            return super().get_all_trials(study_id, deepcopy, states)  # (its KeyError)
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials
