"""Technology tables reproduce their published values; area and leakage add up."""

from __future__ import annotations

import itertools
import math

import pytest

from analytical_models import (
    Hardware,
    ModelInputError,
    area_mm2,
    get_tech,
    leakage_mw,
    tech_names,
)
from analytical_models._tech import loglog_interp


def test_shipped_profiles_have_sources() -> None:
    assert set(tech_names()) >= {"horowitz45", "accelergy45", "tpu7nm"}
    for name in tech_names():
        assert len(get_tech(name).source) > 40


@pytest.mark.parametrize(("kb", "pj_per_64b"), [(8, 10.0), (32, 20.0), (1024, 100.0)])
def test_horowitz_sram_points(kb: float, pj_per_64b: float) -> None:
    tech = get_tech("horowitz45")
    assert tech.sram_read_pj_per_bit(kb) * 64 == pytest.approx(pj_per_64b, rel=1e-12)


def test_horowitz_values() -> None:
    tech = get_tech("horowitz45")
    assert tech.mac_pj(8) == pytest.approx(0.2 + 0.03)
    assert tech.mac_pj(32) == pytest.approx(3.7 + 0.9)
    assert tech.dram_pj_per_bit * 64 == pytest.approx(1950.0)
    # Log-log midpoint of 8 KB (10 pJ) and 32 KB (20 pJ) is 16 KB -> 10 * sqrt(2).
    assert tech.sram_read_pj_per_bit(16) * 64 == pytest.approx(10 * math.sqrt(2))
    assert tech.sram_write_pj_per_bit(8) * 64 == pytest.approx(10.0)


def test_accelergy_and_tpu_values() -> None:
    acc = get_tech("accelergy45")
    assert acc.mac_pj(8) == pytest.approx(0.315)
    assert acc.sram_read_pj_per_bit(128) * 64 == pytest.approx(32.4)
    assert acc.dram_pj_per_bit == 8.0
    tpu = get_tech("tpu7nm")
    assert tpu.mac_pj(16) == pytest.approx(0.084)
    assert tpu.dram_pj_per_bit == pytest.approx(7.03, abs=0.01)


@pytest.mark.parametrize("name", ["horowitz45", "accelergy45", "tpu7nm"])
def test_energies_increase_with_size_and_bits(name: str) -> None:
    tech = get_tech(name)
    sizes = [0.5, 1, 8, 64, 128, 1024, 8192]
    e = [tech.sram_read_pj_per_bit(s) for s in sizes]
    assert all(a < b for a, b in itertools.pairwise(e))
    macs = [tech.mac_pj(b) for b in (4, 8, 16, 32)]
    assert all(a < b for a, b in itertools.pairwise(macs))
    assert tech.pe_area_mm2(8) < tech.pe_area_mm2(16)


def test_loglog_interp_power_law() -> None:
    table = ((1.0, 1.0), (10.0, 100.0))
    assert loglog_interp(table, 3.0) == pytest.approx(9.0)
    assert loglog_interp(table, 100.0) == pytest.approx(1e4)  # extrapolated
    with pytest.raises(ModelInputError):
        loglog_interp(table, 0.0)


def test_unknown_tech() -> None:
    with pytest.raises(ModelInputError, match="horowitz45"):
        get_tech("nope")


def test_area_and_leakage() -> None:
    hw = Hardware(
        pe_rows=16,
        pe_cols=8,
        ifmap_sram_kb=32,
        filter_sram_kb=16,
        ofmap_sram_kb=16,
        dram_bw_bytes_per_cycle=8,
    )
    tech = get_tech("horowitz45")
    assert area_mm2(hw) == pytest.approx(128 * (282 + 36) * 2e-6 + 64 * tech.sram_area_mm2_per_kb)
    assert leakage_mw(hw) == pytest.approx(128 * tech.leak_mw_per_pe + 64 * tech.leak_mw_per_kb)
    bigger = Hardware(
        pe_rows=32,
        pe_cols=8,
        ifmap_sram_kb=32,
        filter_sram_kb=16,
        ofmap_sram_kb=16,
        dram_bw_bytes_per_cycle=8,
    )
    assert area_mm2(bigger) > area_mm2(hw)
