"""Fixtures of the contraction tests."""

from __future__ import annotations

import pytest

from analytical_models import Hardware
from tests.contraction._helpers import FAKE_ENGINE


@pytest.fixture
def fake_hw() -> Hardware:
    return Hardware(
        engine=FAKE_ENGINE,
        pe_rows=16,
        pe_cols=16,
        ifmap_sram_kb=64,
        filter_sram_kb=64,
        ofmap_sram_kb=64,
        dram_bw_bytes_per_cycle=16,
    )
