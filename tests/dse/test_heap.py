"""The collector policy of trial evaluation (``dse.study._heap``): what is alive after a trial
leaves the collector's sight, and cyclic garbage frozen with it is still freed at the next full
collection."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

import dse.study._heap as heap
from dse.study._evaluator import evaluate_for_trial


@pytest.fixture(autouse=True)
def _thawed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(heap.NO_FREEZE_ENV, raising=False)
    monkeypatch.setattr(heap, "_since_full", 0)
    monkeypatch.setattr(heap, "_next_full", heap.FULL_COLLECTION_TRIALS)
    gc.unfreeze()
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()  # the rest of the test session runs with the default collector
    gc.set_threshold(*thresholds)


def test_the_young_threshold_is_raised_and_the_others_kept() -> None:
    gc.set_threshold(700, 11, 12)
    assert heap.tune_collector()
    assert gc.get_threshold() == (heap.YOUNG_COLLECTION_OBJECTS, 11, 12)
    gc.set_threshold(10 * heap.YOUNG_COLLECTION_OBJECTS, 11, 12)  # the caller's higher one stays
    heap.tune_collector()
    assert gc.get_threshold() == (10 * heap.YOUNG_COLLECTION_OBJECTS, 11, 12)
    gc.set_threshold(0, 11, 12)  # automatic collection off stays off
    heap.tune_collector()
    assert gc.get_threshold() == (0, 11, 12)


def test_young_collections_run_once_per_threshold_objects() -> None:
    """With the raised threshold, allocating 5x the default's threshold of containers that stay
    alive runs no young collection (the default runs several)."""
    gc.set_threshold(700, 10, 10)
    heap.tune_collector()
    gc.collect()  # (the young generation's count starts from 0)
    before = gc.get_stats()[0]["collections"]
    kept = [[] for _ in range(5 * 700)]
    assert gc.get_stats()[0]["collections"] == before
    gc.set_threshold(700, 10, 10)
    more = [[] for _ in range(5 * 700)]
    assert gc.get_stats()[0]["collections"] > before
    assert len(kept) == len(more)


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_settle_freezes_what_is_alive_and_frees_frozen_cycles_at_the_full_collection() -> None:
    node = _Node()
    ref = weakref.ref(node)
    assert heap.settle_heap()
    assert gc.get_freeze_count() > 0
    del node
    gc.collect()
    assert ref() is not None  # frozen: a collection does not visit it
    for _ in range(heap.FULL_COLLECTION_TRIALS - 2):
        heap.settle_heap()
    assert ref() is not None
    heap.settle_heap()  # the FULL_COLLECTION_TRIALS-th trial: thaw, collect, freeze again
    assert ref() is None
    assert gc.get_freeze_count() > 0


def test_full_collections_come_after_doubling_intervals_up_to_the_largest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first full collection after FULL_COLLECTION_TRIALS trials, each next one after twice
    as many as the last, never more than MAX_COLLECTION_TRIALS apart."""
    runs: list[int] = []
    real = gc.collect
    monkeypatch.setattr(gc, "collect", lambda *a: runs.append(1) or real(*a))
    monkeypatch.setattr(heap, "_next_full", 3)
    monkeypatch.setattr(heap, "MAX_COLLECTION_TRIALS", 12)
    at = []
    for trial in range(1, 61):
        before = len(runs)
        heap.settle_heap()
        if len(runs) > before:
            at.append(trial)
    assert at == [3, 3 + 6, 3 + 6 + 12, 3 + 6 + 12 * 2, 3 + 6 + 12 * 3, 3 + 6 + 12 * 4]


def test_the_environment_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(heap.NO_FREEZE_ENV, "1")
    gc.set_threshold(700, 10, 10)
    assert not heap.settle_heap()
    assert not heap.tune_collector()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == (700, 10, 10)


def test_a_trial_evaluation_settles_the_heap_even_when_it_fails() -> None:
    from dse import Design
    from tests.export.designs import small_hardware, small_workload

    good = Design(workload=small_workload(), hardware=small_hardware(), mode="inference")
    bad = Design(
        workload=small_workload(),
        hardware=small_hardware(),
        mode="inference",
        path_policy="searched",
        path_choices=(("fc1/forward", 10_000),),  # no such tree: the evaluation fails
    )
    for design, fails in ((good, False), (bad, True)):
        gc.unfreeze()
        gc.set_threshold(700, 10, 10)
        out = evaluate_for_trial(design, ("latency_ms",), ())
        assert gc.get_threshold()[0] == heap.YOUNG_COLLECTION_OBJECTS
        assert (out.values is None) == fails, out.reason
        assert gc.get_freeze_count() > 0


def test_a_study_run_settles_its_own_heap_after_each_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process running the ask-and-tell loop freezes what is alive after each batch (its
    storage holds every trial told), whoever evaluates the designs (here a stand-in that does
    not touch the collector), and raises its young threshold."""
    import dse.study._run as run
    from dse.config import load_study_config
    from dse.study import Outcome, open_study, run_trials
    from tests.dse.tiny_study import write_study

    cfg = load_study_config(write_study(tmp_path, n_trials=12), overrides={"run_dir": tmp_path / "r"})

    def outcome(design: object, objectives: tuple[str, ...], cons: object, quality: object = None) -> Outcome:
        return Outcome((1.0, 2.0, 3.0)[: len(objectives)], {"constraints": []})

    monkeypatch.setattr("dse.study._evaluator.evaluate_for_trial", outcome)
    freezes: list[int] = []
    real = run.settle_heap
    monkeypatch.setattr(run, "settle_heap", lambda: freezes.append(gc.get_freeze_count()) or real())
    gc.set_threshold(700, 10, 10)
    run_trials(open_study(cfg), cfg, n_trials=12, batch_size=4, progress=False)
    assert len(freezes) == 3  # (one per batch of 4)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == heap.YOUNG_COLLECTION_OBJECTS
