"""The package surface: public names, the engine and technology registries, no import side effects."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import analytical_models
from analytical_models import (
    ENGINES,
    SYSTOLIC,
    TECHS,
    Gemm,
    Hardware,
    ModelInputError,
    RegistryError,
    _allocator,
    area_mm2,
    engine_names,
    get_engine,
    get_tech,
    price,
    register_engine,
    register_tech,
    tech_names,
    tune_allocator,
)

PACKAGE = Path(analytical_models.__file__).parent


def test_all_is_importable_and_public() -> None:
    for name in analytical_models.__all__:
        assert not name.startswith("_"), name
        assert hasattr(analytical_models, name), name
    assert len(set(analytical_models.__all__)) == len(analytical_models.__all__)


def test_all_names_the_core_types_and_entry_points() -> None:
    expected = {
        "Hardware",
        "Gemm",
        "Mapping",
        "Cost",
        "ZERO_COST",
        "ModelInputError",
        "TechProfile",
        "Engine",
        "ArrayEngine",
        "MappingResult",
        "Objective",
        "OBJECTIVES",
        "DATAFLOWS",
        "MEMORY_TIMINGS",
        "price",
        "ENGINES",
        "register_engine",
        "get_engine",
        "engine_names",
        "TECHS",
        "register_tech",
        "get_tech",
        "tech_names",
        "area_mm2",
        "leakage_mw",
        "fold_cycles",
        "Registry",
        "RegistryError",
        "tune_allocator",
        "SYSTOLIC",
        "CONTRACTION_ENGINE",
    }
    assert expected <= set(analytical_models.__all__)


def test_internals_are_not_public() -> None:
    for name in ("loglog_interp", "FOLD_CYCLES", "ws_fold_cycles", "LOOP_ORDERS", "stage"):
        assert name not in analytical_models.__all__


def test_no_module_over_700_lines() -> None:
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 700, path.name


def test_shipped_engines_and_techs_are_registered() -> None:
    assert {"systolic", "contraction_engine"} <= set(engine_names())
    assert engine_names() == ENGINES.names()
    assert {"horowitz45", "accelergy45", "tpu7nm"} <= set(tech_names())
    assert tech_names() == TECHS.names()
    assert get_tech("tpu7nm") is TECHS.get("tpu7nm")


def test_engine_registry_rejects_duplicates_and_names_the_valid_ones() -> None:
    with pytest.raises(RegistryError, match="already registered"):
        register_engine("systolic", SYSTOLIC)
    assert get_engine("systolic") is SYSTOLIC
    with pytest.raises(ModelInputError, match=r"unknown engine 'systolc'.*'systolic'"):
        get_engine("systolc")


def test_tech_registry_rejects_duplicates_and_names_the_valid_ones() -> None:
    with pytest.raises(RegistryError, match="already registered"):
        register_tech(get_tech("horowitz45"))
    with pytest.raises(ModelInputError, match=r"unknown technology profile 'h45'.*'horowitz45'"):
        get_tech("h45")


def test_registered_tech_is_usable() -> None:
    profile = dataclasses.replace(get_tech("horowitz45"), name="test_am_api_tech", dram_pj_per_bit=1.0)
    assert register_tech(profile) is profile
    try:
        hw = Hardware(
            pe_rows=8, pe_cols=8, ifmap_sram_kb=8, filter_sram_kb=8, ofmap_sram_kb=8, dram_bw_bytes_per_cycle=16
        )
        mine = dataclasses.replace(hw, tech=profile.name)
        assert area_mm2(mine) == area_mm2(hw)
        gemm = Gemm(m=64, n=64, k=64)
        ours, theirs = price(gemm, mine).cost, price(gemm, hw).cost
        assert ours.cycles == theirs.cycles
        assert ours.dram_energy_pj < theirs.dram_energy_pj
    finally:
        TECHS.unregister(profile.name)


def test_import_has_no_allocator_side_effect() -> None:
    code = "import analytical_models, analytical_models._allocator as a; assert a._tuned is None"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tune_allocator_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []

    def fake(mmap_threshold_bytes: int, trim_threshold_bytes: int) -> bool:
        calls.append((mmap_threshold_bytes, trim_threshold_bytes))
        return True

    monkeypatch.setattr(_allocator, "_tuned", None)
    monkeypatch.setattr(_allocator, "_set_thresholds", fake)
    monkeypatch.delenv("TNN_DSE_NO_MALLOC_TUNING", raising=False)
    assert tune_allocator() is True
    assert tune_allocator(mmap_threshold_bytes=1) is True
    assert calls == [(32 << 20, 128 << 20)]


def test_tune_allocator_honours_the_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(_allocator, "_tuned", None)
    monkeypatch.setattr(_allocator, "_set_thresholds", lambda *a: calls.append(1) or True)
    monkeypatch.setenv("TNN_DSE_NO_MALLOC_TUNING", "1")
    assert tune_allocator() is False
    assert calls == []
    monkeypatch.delenv("TNN_DSE_NO_MALLOC_TUNING")
    assert tune_allocator() is True
    assert calls == [1]
