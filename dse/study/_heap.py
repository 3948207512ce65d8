"""Garbage-collector policy of a process that evaluates many trials.

A study keeps its value caches (lowered steps, plans, mapping results, segment prices: millions
of objects, about 1 GB after a few hundred trials) for its whole run. CPython's cyclic collector
traverses every tracked object on each full collection, and those come more often as the heap
grows: measured on the 192-trial TT-BERT training study, 20 full collections took 17 s of its
110 s (all collections 22 s), and none of them freed a cache entry (the caches hold no reference
cycles; an evicted entry is freed by its reference count).

:func:`settle_heap`, called after each trial's evaluation, moves every object alive to the
collector's permanent generation (``gc.freeze()``, constant time), so later collections only
visit what the next trials allocate; after :data:`FULL_COLLECTION_TRIALS` trials, then after twice
as many each time (up to :data:`MAX_COLLECTION_TRIALS`), it thaws the heap and runs one full
collection first, so cyclic garbage that was frozen is still freed, late.

The process running a study's ask-and-tell loop (:func:`dse.study.run_trials`) does the same
once per batch (and raises its young threshold once): its storage holds every trial told (a
10,000-trial study's trials and attributes), which its full collections otherwise traverse
again and again (4.8 s of its CPU over such a study's sampling and storage, 1.2 s now).

:func:`tune_collector`, called before each trial's evaluation, raises the collector's first
threshold from CPython's 700 to :data:`YOUNG_COLLECTION_OBJECTS`: an evaluation allocates and
drops millions of short-lived containers (keys, tuples, small lists), and with the default a young
collection ran every 700 of them, about 4 % of the evaluation's time (the 96 replayed designs of
the 192-trial study: 4.86-4.90 s of CPU against 5.11 s, the two at once on the two cores, same
results). ``TNN_DSE_NO_GC_FREEZE`` (non-empty) turns both off.
"""

from __future__ import annotations

import gc
import os

NO_FREEZE_ENV = "TNN_DSE_NO_GC_FREEZE"
"""Environment variable: when set (non-empty), :func:`settle_heap` and :func:`tune_collector` do
nothing."""

FULL_COLLECTION_TRIALS = 1000
"""Trials before the first full collection of the whole (thawed) heap; each next one comes after
twice as many trials as the one before (up to :data:`MAX_COLLECTION_TRIALS`). Each costs 1-2.5 s
of CPU once the caches are full (and the two processes of a study reach it at the same trial):
a 10,000-trial study on two processes ran five a process every 1,000 trials, 3-4 s of wall
time each, and runs two now (after 1,000 and 3,000 trials). An evaluation leaves no cyclic
garbage (none in 60 replayed TT-BERT training
designs; the one source found, the path search's recursive closure, is cleared on return and
tested): what a failure or a registered model's code leaves is frozen with the trial and freed
here, late. With the raised young threshold little of it is collected before the freeze."""

YOUNG_COLLECTION_OBJECTS = 20_000
"""The collector's first threshold (container objects allocated and not yet freed since the last
young collection) while trials are evaluated; the other two thresholds are kept."""

MAX_COLLECTION_TRIALS = 16_000
"""The longest interval between two full collections, in trials (a long-lived worker still
collects)."""

_since_full = 0
_next_full = FULL_COLLECTION_TRIALS


def tune_collector() -> bool:
    """Before a trial: raise the collector's first threshold to :data:`YOUNG_COLLECTION_OBJECTS`
    (a lower one, not 0, i.e. automatic collection on; a higher one set by the caller is kept).
    Returns False when turned off by the environment."""
    if os.environ.get(NO_FREEZE_ENV):
        return False
    young, middle, old = gc.get_threshold()
    if 0 < young < YOUNG_COLLECTION_OBJECTS:
        gc.set_threshold(YOUNG_COLLECTION_OBJECTS, middle, old)
    return True


def settle_heap() -> bool:
    """After one trial: freeze what is alive (after a full collection of the thawed heap once
    the interval is reached: :data:`FULL_COLLECTION_TRIALS` calls, then twice the last interval,
    at most :data:`MAX_COLLECTION_TRIALS`). Returns False when turned off by the environment."""
    global _since_full, _next_full
    if os.environ.get(NO_FREEZE_ENV):
        return False
    _since_full += 1
    if _since_full >= _next_full:
        gc.unfreeze()
        gc.collect()
        _since_full = 0
        _next_full = min(2 * _next_full, MAX_COLLECTION_TRIALS)
    gc.freeze()
    return True
