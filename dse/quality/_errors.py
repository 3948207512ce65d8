"""The error type of the quality package."""

from __future__ import annotations

from dse._errors import DSEError


class QualityError(DSEError):
    """Bad input to a quality measure: a weight file, a key, a shape, ranks or an option.

    The message is one line, ``<field>: <what was expected>``; :attr:`field` names the argument
    (``weights``, ``key``, ``format``, ``in_shape``, ``out_shape``, ``ranks``, ...) so that a
    command line can name its flag instead.
    """

    def __init__(self, field: str, expected: str) -> None:
        self.field = field
        self.expected = expected
        super().__init__(f"{field}: {expected}")
