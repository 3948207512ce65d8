"""Resume after kill -9, several workers on one study, exhaustive fronts, Dask and PostgreSQL."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from dse import Design
from dse.cli import main
from dse.config import StudyConfig, load_study_config
from dse.study import enumerate_space, open_study, run_trials
from tests._tools import require_tool

from .scaleout_study import write_study


def _journal_study(run_dir: Path) -> optuna.Study:
    storage = JournalStorage(JournalFileBackend(str(run_dir / "study.journal")))
    return optuna.load_study(study_name="scaleout", storage=storage)


def _dse(*args: str) -> list[str]:
    return [sys.executable, "-m", "dse.cli", *args]


def _complete(study: optuna.Study) -> dict[int, tuple[float, ...]]:
    return {t.number: tuple(t.values) for t in study.get_trials(states=(TrialState.COMPLETE,))}


KILL_BUDGET = 600
"""Trials of the killed study: enough that it is still running at the random moment it is killed
(a trial of this small space takes a few ms once its designs repeat)."""


def test_kill_9_then_resume_keeps_every_trial(tmp_path: Path) -> None:
    study_file = write_study(tmp_path, n_trials=KILL_BUDGET, population=4)
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        _dse("run", str(study_file), "--run-dir", str(run_dir), "--quiet"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (run_dir / "study.journal").exists():
            try:
                if len(_complete(_journal_study(run_dir))) >= 8:
                    break
            except KeyError:
                pass
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 0.5))  # a random moment, mid-batch or between batches
    assert proc.poll() is None, "the study finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = _complete(_journal_study(run_dir))
    assert 8 <= len(before) < KILL_BUDGET

    resumed = subprocess.run(
        _dse("resume", str(study_file), "--run-dir", str(run_dir), "--quiet"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    study = _journal_study(run_dir)
    after = _complete(study)
    assert len(after) == KILL_BUDGET  # the budget is reached exactly
    for number, values in before.items():  # nothing completed was lost or changed
        assert after[number] == values
    numbers = [t.number for t in study.trials]
    assert len(numbers) == len(set(numbers))
    assert not study.get_trials(states=(TrialState.RUNNING,))  # stale trials of the dead run were failed


def test_three_workers_share_one_journal(tmp_path: Path) -> None:
    study_file = write_study(tmp_path, n_trials=120)
    run_dir = tmp_path / "run"
    procs = [
        subprocess.Popen(
            _dse("worker", str(study_file), "--run-dir", str(run_dir), "--quiet"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    study = _journal_study(run_dir)
    done = study.get_trials(states=(TrialState.COMPLETE,))
    assert 120 <= len(done) <= 120 + 2 * 4  # cooperative budget; at most one batch of overshoot per other worker
    assert len({t.number for t in study.trials}) == len(study.trials)
    workers = {t.user_attrs["worker"] for t in done}
    assert len(workers) >= 2
    assert not study.get_trials(states=(TrialState.RUNNING,))


def test_exhaustive_enumerates_whole_space_once(tmp_path: Path) -> None:
    study_file = write_study(tmp_path, n_trials=10)
    (tmp_path / "space.yaml").write_text(
        "hardware: {pe_rows: {choices: [8, 16]}, pe_cols: {choices: [8, 32]}, ifmap_sram_kb: 16,"
        " filter_sram_kb: 16, ofmap_sram_kb: 16, dram_bw_bytes_per_cycle: 8, dataflow: {choices: [ws, os]}}\n"
        "model: {default: {d: {choices: [2, 3]}, shape_top_k: 2, rank: {choices: [2, 8]}}}\n"
    )
    cfg = load_study_config(study_file, overrides={"run_dir": tmp_path / "ex"})
    points = list(enumerate_space(cfg))
    # oracle: 8 hardware points x sum over d of (in shapes x out shapes x ranks); fc2 stays dense
    from dse.workload import balanced_factorizations

    per_d = sum(len(balanced_factorizations(256, d, 2)) ** 2 * 2 for d in (2, 3))
    assert len(points) == 8 * per_d
    assert len({tuple(sorted(p.items())) for p in points}) == len(points)
    assert main(["run", str(study_file), "--run-dir", str(tmp_path / "ex"), "--exhaustive", "--quiet"]) == 0
    study = _journal_study(tmp_path / "ex")
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == len(points)
    # running it again adds nothing
    assert main(["run", str(study_file), "--run-dir", str(tmp_path / "ex"), "--exhaustive", "--quiet"]) == 0
    assert len(_journal_study(tmp_path / "ex").trials) == len(points)


def test_parallel_joblib_matches_inline(tmp_path: Path) -> None:
    study_file = write_study(tmp_path, n_trials=16)
    cfg = load_study_config(study_file, overrides={"run_dir": tmp_path / "a"})
    inline = open_study(cfg)
    run_trials(inline, cfg, n_trials=16, progress=False)
    cfg_b = load_study_config(study_file, overrides={"run_dir": tmp_path / "b"})
    par = open_study(cfg_b)
    run_trials(par, cfg_b, n_trials=16, n_jobs=2, progress=False)
    assert _complete(inline) == _complete(par)  # same seed, same designs, same numbers


def test_dask_backend(tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    study_file = write_study(tmp_path, n_trials=16)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code = main(
            [
                "run",
                str(study_file),
                "--run-dir",
                str(tmp_path / "dask"),
                "--quiet",
                "--backend",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
            ]
        )
    assert code == 0
    cfg = load_study_config(study_file, overrides={"run_dir": tmp_path / "inline"})
    inline = open_study(cfg)
    run_trials(inline, cfg, n_trials=16, progress=False)
    assert _complete(_journal_study(tmp_path / "dask")) == _complete(inline)


def test_dask_without_scheduler_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study_file = write_study(tmp_path, n_trials=4)
    assert main(["run", str(study_file), "--run-dir", str(tmp_path / "x"), "--backend", "dask", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()  # refused before anything is written


# ----------------------------------------------------------------------------- PostgreSQL
def _pg_bin() -> Path | None:
    for base in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (base / "initdb").exists():
            return base
    return None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    pg = _pg_bin()
    require_tool(
        pg is not None and shutil.which("runuser") is not None,
        "PostgreSQL server binaries (.ci/run installs the Debian package)",
    )
    assert pg is not None
    pytest.importorskip("psycopg")
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="tnn-dse-pg-"))  # not under pytest's 0700 folder
    os.chmod(base, 0o755)
    data, sock = base / "data", base / "sock"
    data.mkdir()
    sock.mkdir()
    as_root = os.geteuid() == 0
    user = "postgres" if as_root else os.environ.get("USER", "postgres")
    if as_root:
        subprocess.run(["chown", "-R", "postgres:postgres", str(data), str(sock)], check=True)

    def run_pg(*cmd: str) -> subprocess.CompletedProcess[str]:
        full = ["runuser", "-u", "postgres", "--", *cmd] if as_root else list(cmd)
        return subprocess.run(full, capture_output=True, text=True, timeout=120)

    res = run_pg(str(pg / "initdb"), "-D", str(data), "-A", "trust", "-U", user)
    assert res.returncode == 0, res.stderr
    import socket as _socket

    with _socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = run_pg(
        str(pg / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(data / "log"),
        "-w",
        "-o",
        f"-p {port} -k {sock} -h 127.0.0.1 -c max_connections=50",
        "start",
    )
    assert res.returncode == 0, res.stderr + (data / "log").read_text() if (data / "log").exists() else res.stderr
    try:
        res = run_pg(str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user, "dse")
        assert res.returncode == 0, res.stderr
        yield f"postgresql://{user}@127.0.0.1:{port}/dse"
    finally:
        run_pg(str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.external
def test_three_workers_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    study_file = write_study(tmp_path, n_trials=45)
    procs = [
        subprocess.Popen(
            _dse("worker", str(study_file), "--storage", postgres_url, "--quiet", "--run-dir", str(tmp_path / "run")),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    study = optuna.load_study(study_name="scaleout", storage=postgres_url)
    done = study.get_trials(states=(TrialState.COMPLETE,))
    assert 45 <= len(done) <= 45 + 2 * 4
    assert len({t.number for t in study.trials}) == len(study.trials)
    assert len({t.user_attrs["worker"] for t in done}) >= 2
    # the CLI reads the same study back from PostgreSQL
    assert main(["status", str(study_file), "--storage", postgres_url, "--run-dir", str(tmp_path / "run")]) == 0


def _sampled(tmp_path: Path, n: int) -> tuple[StudyConfig, list[Design]]:
    """The scale-out study's configuration and its first ``n`` sampled designs."""
    from dse.space import suggest

    cfg = load_study_config(write_study(tmp_path, n_trials=4), overrides={"run_dir": tmp_path / "r"})
    st = open_study(cfg)
    return cfg, [suggest(st.ask(), cfg) for _ in range(n)]


def _count_evaluations(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The designs this process evaluates from now on (the evaluator's own function, wrapped)."""
    from dse.study import _evaluator

    calls: list[object] = []
    original = _evaluator.evaluate_for_trial

    def counting(*args: object) -> _evaluator.Outcome:
        calls.append(args[0])
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_evaluator, "evaluate_for_trial", counting)
    return calls


def test_repeated_designs_are_evaluated_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dse.study import Evaluator

    cfg, (design,) = _sampled(tmp_path, 1)
    calls = _count_evaluations(monkeypatch)
    ev = Evaluator(1, "loky", None, seen_limit=2)
    first = ev([design, design], cfg.objectives, ())
    again = ev([design], cfg.objectives, ())
    assert len(calls) == 1 and ev.hits == 2
    assert first[0] == first[1] == again[0] and first[0].values is not None


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_batch_reads_outcomes_in_order_and_dispatches_each_design_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n_jobs: int
) -> None:
    from dse.study import Evaluator, evaluate_for_trial

    cfg, (a, b, c) = _sampled(tmp_path, 3)
    assert len({a, b, c}) == 3
    inline = {d: evaluate_for_trial(d, cfg.objectives, ()) for d in (a, b, c)}
    calls = _count_evaluations(monkeypatch)
    ev = Evaluator(n_jobs, "loky", None, seen_limit=1)
    try:
        first = ev.batch(cfg.objectives, ())
        first.submit(a)
        assert [o.values for o in first.outcomes()] == [inline[a].values]
        # b and c are new, a is known; reading b and c evicts a from the evaluator's memory
        # (limit 1): the batch still answers a with what it knew when a was submitted
        second = ev.batch(cfg.objectives, ())
        for d in (b, c, a, b):
            second.submit(d)
        got = list(second.outcomes())
    finally:
        ev.close()
    assert [o.values for o in got] == [inline[d].values for d in (b, c, a, b)]
    assert ev.hits == 2  # a (known) and the second b (coming)
    if n_jobs == 1:  # (in-process: the evaluations are counted here)
        assert calls == [a, b, c]
