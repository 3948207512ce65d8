"""Hashes computed once for the frozen value types used as cache keys.

A frozen dataclass hashes the tuple of its fields on every call, and the model's caches look
up the same hardware, GEMM or chain thousands of times per design (a hardware instance has
~30 fields; a chain nests its steps' GEMMs). :class:`CachedHash` keeps the first result in a
slot that is not a field (not compared, not printed, not pickled: a copy recomputes it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from operator import attrgetter
from typing import Any


class CachedHash:
    """Base of a frozen, slotted dataclass whose hash is computed once per instance.

    The subclass must set ``__hash__ = CachedHash.__hash__`` in its body (a dataclass replaces
    an inherited ``__hash__``); the value equals the dataclass's own (the hash of the tuple of
    its compared fields), so equal instances hash equal.
    """

    __slots__ = ("_cached_hash",)
    _cached_hash: int

    def __hash__(self) -> int:
        try:
            return self._cached_hash
        except AttributeError:
            getter = _GETTERS.get(type(self)) or _getter(type(self))
            h = hash(getter(self))
            object.__setattr__(self, "_cached_hash", h)
            return h


_FIELDS: dict[type, tuple[str, ...]] = {}
_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _hashed_fields(cls: type[Any]) -> tuple[str, ...]:
    got = _FIELDS.get(cls)
    if got is None:
        got = tuple(f.name for f in fields(cls) if (f.hash if f.hash is not None else f.compare))
        _FIELDS[cls] = got
    return got


def _getter(cls: type[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of ``cls``'s hashed fields of an instance, in one C call (``attrgetter`` of two
    fields or more; a tuple is built around one field, or none)."""
    names = _hashed_fields(cls)

    def few(obj: Any) -> tuple[Any, ...]:
        return tuple(getattr(obj, name) for name in names)

    got: Callable[[Any], tuple[Any, ...]] = attrgetter(*names) if len(names) >= 2 else few
    _GETTERS[cls] = got
    return got


HARDWARE_CACHE_ENTRIES = 4096
"""Bound of the value caches keyed by a hardware whose values are a few numbers (bounds, floors,
fold times, per-step DP costs): their entries are reused within one design's evaluation and the
next few designs, then almost never (a study rarely meets the same hardware again). Replaying
2,500 designs of a 10,000-trial TT-BERT training study, their hit rates at 4k and 16k entries
were within 0.4 points of each other. The caches of larger values keyed by a hardware
(mapping searches, on-chip step prices, segment prices, shaping costs) keep 16k entries: with
those at 4k as well, the 192-trial study's evaluation took 3-5 % longer though no hit rate
moved by more than 0.5 points (measured side by side; most likely the cost of freeing the
evicted values)."""
