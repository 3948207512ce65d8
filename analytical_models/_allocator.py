"""glibc allocator tuning for processes that run many mapping searches.

Nothing here runs at import: an entry point that runs searches (a ``dse`` command, a
benchmark) calls :func:`tune_allocator` once when it starts.
"""

from __future__ import annotations

import ctypes
import os

NO_TUNING_ENV = "TNN_DSE_NO_MALLOC_TUNING"
"""Environment variable: when set to a non-empty value, :func:`tune_allocator` does nothing."""

_tuned: bool | None = None
"""Result of the call that tuned the allocator; None until one did."""


def tune_allocator(*, mmap_threshold_bytes: int = 32 << 20, trim_threshold_bytes: int = 128 << 20) -> bool:
    """Stop glibc from returning the search's temporaries to the OS after every call.

    A search allocates and frees a few dozen arrays of 0.1 - 1 MB. With glibc's default
    (dynamic) thresholds those either are mmap-ed and unmapped each time or make the heap top
    be trimmed and regrown, and every call pays page faults for memory it just released: on
    the TT-BERT mix this doubles the search time. Raising the mmap and trim thresholds keeps
    that memory in the heap (at most ``trim_threshold_bytes`` of free memory stays mapped).

    Not called at import: entry points that run many searches call it once. Idempotent: the
    first call sets the thresholds, later calls return its result without touching the
    allocator (their arguments are then ignored). Does nothing and returns False while the
    environment variable ``TNN_DSE_NO_MALLOC_TUNING`` is set (non-empty), or off glibc.

    Args:
        mmap_threshold_bytes: allocations at least this large are mmap-ed (glibc
            ``M_MMAP_THRESHOLD``).
        trim_threshold_bytes: free memory at the heap top kept before trimming (glibc
            ``M_TRIM_THRESHOLD``).

    Returns:
        True when both thresholds were set (by this call or an earlier one).
    """
    global _tuned
    if _tuned is not None:
        return _tuned
    if os.environ.get(NO_TUNING_ENV):
        return False
    _tuned = _set_thresholds(mmap_threshold_bytes, trim_threshold_bytes)
    return _tuned


def _set_thresholds(mmap_threshold_bytes: int, trim_threshold_bytes: int) -> bool:
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc <malloc.h>
    return bool(mallopt(m_mmap_threshold, mmap_threshold_bytes)) and bool(
        mallopt(m_trim_threshold, trim_threshold_bytes)
    )
