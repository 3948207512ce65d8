"""Fixtures of the exporter tests."""

from __future__ import annotations

import os

import pytest

from dse._design import Design, Metrics
from tests.export.designs import small_design


def require_tool(available: bool, what: str) -> None:
    """Skip when an outside tool is missing, except under ``CI=true`` where that fails."""
    if available:
        return
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{what} is missing (CI=true requires it)")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def design_metrics() -> tuple[Design, Metrics]:
    """The default small design (16 x 16, WS + OS, training) and its metrics."""
    return small_design()
