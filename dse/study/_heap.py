"""Garbage-collector policy of a process that evaluates many trials.

A study keeps its value caches (lowered steps, plans, mapping results, segment prices: millions
of objects, about 1 GB after a few hundred trials) for its whole run. CPython's cyclic collector
traverses every tracked object on each full collection, and those come more often as the heap
grows: measured on the 192-trial TT-BERT training study, 20 full collections took 17 s of its
110 s (all collections 22 s), and none of them freed a cache entry (the caches hold no reference
cycles; an evicted entry is freed by its reference count).

:func:`settle_heap`, called after each trial's evaluation, moves every object alive to the
collector's permanent generation (``gc.freeze()``, constant time), so later collections only
visit what the next trials allocate; every :data:`FULL_COLLECTION_TRIALS` trials it thaws the
heap and runs one full collection first, so cyclic garbage that was frozen is still freed, late.
``TNN_DSE_NO_GC_FREEZE`` (non-empty) turns it off.
"""

from __future__ import annotations

import gc
import os

NO_FREEZE_ENV = "TNN_DSE_NO_GC_FREEZE"
"""Environment variable: when set (non-empty), :func:`settle_heap` does nothing."""

FULL_COLLECTION_TRIALS = 1000
"""Trials between two full collections of the whole (thawed) heap. Each costs 1-2.5 s once the
caches are full; a TT-BERT training trial leaves about 60 objects of cyclic garbage (3-4.5k per
64 trials, measured), so a thousand trials hold a few MB of it at most."""

_since_full = 0


def settle_heap() -> bool:
    """After one trial: freeze what is alive (every ``FULL_COLLECTION_TRIALS`` calls, after a
    full collection of the thawed heap). Returns False when turned off by the environment."""
    global _since_full
    if os.environ.get(NO_FREEZE_ENV):
        return False
    _since_full += 1
    if _since_full >= FULL_COLLECTION_TRIALS:
        gc.unfreeze()
        gc.collect()
        _since_full = 0
    gc.freeze()
    return True
