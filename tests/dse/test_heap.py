"""The collector policy of trial evaluation (``dse.study._heap``): what is alive after a trial
leaves the collector's sight, and cyclic garbage frozen with it is still freed at the next full
collection."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

import dse.study._heap as heap
from dse.study._evaluator import evaluate_for_trial


@pytest.fixture(autouse=True)
def _thawed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(heap.NO_FREEZE_ENV, raising=False)
    monkeypatch.setattr(heap, "_since_full", 0)
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test session runs with the default collector


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


def test_the_environment_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(heap.NO_FREEZE_ENV, "1")
    assert not heap.settle_heap()
    assert gc.get_freeze_count() == 0


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
        out = evaluate_for_trial(design, ("latency_ms",), ())
        assert (out.values is None) == fails, out.reason
        assert gc.get_freeze_count() > 0
