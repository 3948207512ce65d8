"""Fixtures of the exporter tests."""

from __future__ import annotations

import pytest

from dse import Design, Metrics
from tests._tools import require_tool
from tests.export.designs import small_design

__all__ = ["require_tool"]


@pytest.fixture(scope="session")
def design_metrics() -> tuple[Design, Metrics]:
    """The default small design (16 x 16, WS + OS, training) and its metrics."""
    return small_design()
