"""One generic registry type for every plug-in point of TNN-DSE.

Engines, technology profiles, path optimizers, layer formats, exporters, samplers and path
policies are each a :class:`Registry`: a named table that refuses a second entry under a name it
already holds and, asked for a name it does not know, raises an error that lists the valid
names. It lives in the lowest layer (``analytical_models``) so that both packages can use it
without importing upwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class RegistryError(ValueError):
    """A name registered twice, or an empty name."""


class Registry(Generic[T]):
    """Named plug-ins of one kind.

    Args:
        kind: what the entries are, for messages (``"engine"``, ``"layer format"``).
        error: exception type raised by :meth:`get` for an unknown name (called with one
            message string); each package passes its own user-facing error type.

    Example::

        ENGINES: Registry[Engine] = Registry("engine", error=ModelInputError)
        ENGINES.register("systolic", SYSTOLIC)
        ENGINES.get("systolc")  # ModelInputError: unknown engine 'systolc'; expected one of [...]
    """

    __slots__ = ("_entries", "_error", "kind")

    def __init__(self, kind: str, *, error: Callable[[str], Exception] = KeyError) -> None:
        self.kind = kind
        self._error = error
        self._entries: dict[str, T] = {}

    def register(self, name: str, item: T, *, replace: bool = False) -> T:
        """Add ``item`` as ``name`` and return it.

        Raises:
            RegistryError: ``name`` is empty, or already registered and ``replace`` is false.
        """
        if not isinstance(name, str) or not name:
            raise RegistryError(f"a {self.kind} needs a non-empty name, got {name!r}")
        if name in self._entries and not replace:
            raise RegistryError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = item
        return item

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests and plug-ins that register temporarily)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """The entry registered as ``name``.

        Raises:
            the registry's error type, naming the valid entries, when ``name`` is unknown.
        """
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise self._error(self.unknown_message(name)) from None

    def unknown_message(self, name: object) -> str:
        """``unknown <kind> 'x'; expected one of [...]``."""
        return f"unknown {self.kind} {name!r}; expected one of {list(self.names())}"

    def names(self) -> tuple[str, ...]:
        """Registered names, sorted."""
        return tuple(sorted(self._entries))

    def items(self) -> tuple[tuple[str, T], ...]:
        """``(name, entry)`` pairs, sorted by name."""
        return tuple(sorted(self._entries.items()))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self.names())})"
