"""The run folder's journal storage (dse.study._journal) reads back exactly what optuna's own
journal storage reads: the same trials from a file written by another storage instance (another
process), a half-written last line left for the next read, lines longer than the read chunk,
a broken line in the middle refused; and its trial listings equal optuna's."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

import dse.study._journal as journal
from dse.study._storage import open_journal

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _fill(study: optuna.Study, n: int, seed: int = 0) -> None:
    for i in range(n):
        t = study.ask()
        x = t.suggest_float("x", 0.0, 1.0)
        t.suggest_categorical("c", ["a", "b"])
        t.set_user_attr("blob", "z" * (37 * i))  # (lines of many lengths)
        if i % 4 == 3:
            study.tell(t, state=TrialState.FAIL)
        elif i % 4 != 2:  # (every fourth left running)
            study.tell(t, x + seed)


def _seen(storage: Any) -> list[tuple[Any, ...]]:
    study_id = storage.get_study_id_from_name("s")
    return [
        (t.number, t.state, t.params, t.user_attrs, t.values) for t in storage.get_all_trials(study_id, deepcopy=False)
    ]


def _optunas(path: Path) -> JournalStorage:
    return JournalStorage(JournalFileBackend(str(path)))


def test_two_writers_and_optunas_reader_see_the_same_trials(tmp_path: Path) -> None:
    path = tmp_path / "study.journal"
    a = optuna.create_study(storage=open_journal(path), study_name="s")
    _fill(a, 6)
    b = optuna.load_study(study_name="s", storage=open_journal(path))  # (a second process, say)
    _fill(b, 5, seed=10)
    _fill(a, 3, seed=20)
    got_a, got_b, ref = _seen(a._storage), _seen(b._storage), _seen(_optunas(path))
    assert len(ref) == 14 and {t[1] for t in ref} == {TrialState.COMPLETE, TrialState.FAIL, TrialState.RUNNING}
    assert got_a == ref and got_b == ref


@pytest.mark.parametrize("states", [None, (TrialState.COMPLETE,), (TrialState.RUNNING, TrialState.FAIL)])
def test_listings_equal_optunas(tmp_path: Path, states: Any) -> None:
    path = tmp_path / "study.journal"
    study = optuna.create_study(storage=open_journal(path), study_name="s")
    _fill(study, 9)
    ours, theirs = study._storage, _optunas(path)
    sid = study._study_id
    want = [(t.number, t.state) for t in theirs.get_all_trials(sid, deepcopy=False, states=states)]
    assert [(t.number, t.state) for t in ours.get_all_trials(sid, deepcopy=False, states=states)] == want
    copied = ours.get_all_trials(sid, deepcopy=True, states=states)
    assert [(t.number, t.state) for t in copied] == want
    plain = ours.get_all_trials(sid, deepcopy=False, states=states)
    assert all(c is not t for c, t in zip(copied, plain, strict=True))
    with pytest.raises(KeyError):
        ours.get_all_trials(sid + 99)


def test_a_half_written_line_is_read_when_complete(tmp_path: Path) -> None:
    path = tmp_path / "study.journal"
    study = optuna.create_study(storage=open_journal(path), study_name="s")
    _fill(study, 2)
    line = json.dumps({"op_code": 4, "worker_id": "elsewhere", "study_id": 0, "datetime_start": None}) + "\n"
    with open(path, "ab") as f:
        f.write(line[:20].encode())
    assert len(_seen(study._storage)) == 2  # (the partial line waits)
    with open(path, "ab") as f:
        f.write(line[20:].encode())
    assert len(_seen(study._storage)) == 3
    assert _seen(study._storage) == _seen(_optunas(path))


def test_lines_longer_than_the_read_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "study.journal"
    _fill(optuna.create_study(storage=open_journal(path), study_name="s"), 8)
    monkeypatch.setattr(journal, "READ_CHUNK", 64)  # (most lines are longer)
    assert _seen(open_journal(path)) == _seen(_optunas(path))


def test_a_broken_line_in_the_middle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "study.journal"
    _fill(optuna.create_study(storage=open_journal(path), study_name="s"), 3)
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2][:-3]
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(json.JSONDecodeError):
        open_journal(path)
    with pytest.raises(json.JSONDecodeError):
        _optunas(path)


def test_a_broken_last_line_is_left_as_optuna_leaves_it(tmp_path: Path) -> None:
    path = tmp_path / "study.journal"
    _fill(optuna.create_study(storage=open_journal(path), study_name="s"), 3)
    data = path.read_bytes()
    path.write_bytes(data[:-4] + b"\n")  # (the last log cut short, its line ended)
    ours, theirs = _seen(open_journal(path)), _seen(_optunas(path))
    assert ours == theirs and len(ours) == 3


def test_its_own_flat_logs_come_back_unread_and_equal_to_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parameter's log, appended where the reader stands, is handed back without reading the
    file; a log with nested values (a user attribute), or one appended after another process's
    unread log, is read from the file. Every trial equals optuna's reading of the file."""
    path = tmp_path / "study.journal"
    a = optuna.create_study(storage=open_journal(path), study_name="s")
    b = optuna.load_study(study_name="s", storage=open_journal(path))
    reads: list[int] = []
    real = journal.os.pread
    monkeypatch.setattr(journal.os, "pread", lambda fd, n, at: reads.append(at) or real(fd, n, at))
    t = a.ask()
    reads.clear()
    t.suggest_float("x", 0.0, 1.0)
    t.suggest_int("n", 1, 9)
    t.suggest_categorical("c", ["a", "b", None])
    assert reads == []  # (handed back: no read)
    t.set_user_attr("nested", {"k": [1, 2]})
    assert len(reads) == 1
    u = b.ask()  # (another process appends; a's reader is behind it)
    reads.clear()
    t.suggest_float("y", -1.0, 1.0)
    assert len(reads) == 1  # (read from the file, b's log with it)
    u.suggest_float("x", 0.0, 1.0)
    a.tell(t, 0.5)
    b.tell(u, 0.25)
    ref = _seen(_optunas(path))
    assert _seen(a._storage) == ref and _seen(b._storage) == ref
    assert ref[0][2] == {"x": t.params["x"], "n": t.params["n"], "c": t.params["c"], "y": t.params["y"]}
    assert ref[0][3] == {"nested": {"k": [1, 2]}}


class _Op(enum.IntEnum):
    SET = 5


@pytest.mark.parametrize(
    ("log", "flat"),
    [
        ({"a": 1, "b": 2.5, "c": "s", "d": None, "e": True, "f": float("inf"), "g": _Op.SET}, True),
        ({"a": (1, 2)}, False),  # (a tuple parses back as a list)
        ({"a": {"b": 1}}, False),
        ({"a": np.float64(1.0)}, False),  # (parses back as a float)
        ({1: 1}, False),  # (a key parses back as a string)
    ],
)
def test_flat_logs_are_given_back_as_json_parses_them(log: dict[Any, Any], flat: bool) -> None:
    got = journal._as_parsed(log)
    assert (got is not None) == flat
    if got is not None:
        back = json.loads(json.dumps(log))
        assert [(k, v, type(v)) for k, v in got.items()] == [(k, v, type(v)) for k, v in back.items()]


def test_a_read_stopped_between_its_own_logs_goes_on_from_the_next(tmp_path: Path) -> None:
    """Its own logs handed back one by one: a reader that takes only the first reads the second
    from the file next time, equal to what parsing gives."""
    backend = journal.BatchSyncJournalFileBackend(str(tmp_path / "study.journal"))
    logs = [{"op_code": 5, "worker_id": "w", "trial_id": 0, "x": 1.5}, {"op_code": 5, "worker_id": "w", "y": None}]
    backend.append_logs(logs)
    first = next(backend.read_logs(0))
    assert first == logs[0]
    assert list(backend.read_logs(1)) == [logs[1]]
    backend.append_logs([{"op_code": 6, "z": "s"}])
    assert list(backend.read_logs(2)) == [{"op_code": 6, "z": "s"}]
    assert [json.loads(line) for line in (tmp_path / "study.journal").read_text().splitlines()] == [
        *logs,
        {"op_code": 6, "z": "s"},
    ]
