"""The one error type users see."""

from __future__ import annotations


class DSEError(Exception):
    """Base of every error TNN-DSE reports to a user (the CLI prints it and exits 2)."""


class ConfigError(DSEError):
    """A study, workload or search-space file is wrong.

    The message names the file, the field and what was expected, on one line.
    """

    def __init__(self, source: str, field: str, expected: str) -> None:
        self.source = source
        self.field = field
        self.expected = expected
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {expected}")
