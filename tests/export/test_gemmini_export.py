"""``gemmini`` target: the config snippet and header of a buildable design, and each refusal."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dse.export import ExportError, get_exporter
from tests.export.designs import small_design


def _export(tmp_path: Path, **hw: Any) -> dict[str, str]:
    design, metrics = small_design(**hw)
    files = get_exporter("gemmini")(design, metrics, tmp_path, "g")
    return {p.name: p.read_text() for p in files}


def _defines(header: str) -> dict[str, str]:
    return dict(re.findall(r"^#define (\w+) (.+)$", header, flags=re.M))


def test_accepts_square_pow2_design(tmp_path: Path) -> None:
    files = _export(tmp_path)
    assert set(files) == {"g_gemmini_config.scala", "g_gemmini_params.h"}
    scala = files["g_gemmini_config.scala"]
    assert "GemminiConfigs.defaultConfig.copy(" in scala
    for field in (
        "tileRows = 1",
        "tileColumns = 1",
        "meshRows = 16",
        "meshColumns = 16",
        "dataflow = Dataflow.BOTH",
        "sp_capacity = CapacityInKilobytes(256)",
        "acc_capacity = CapacityInKilobytes(64)",
        "sp_banks = 4",
        "acc_banks = 2",
        "inputType = SInt(8.W)",
        "accType = SInt(32.W)",
        "spatialArrayOutputType = SInt(20.W)",
    ):
        assert field in scala, field
    d = _defines(files["g_gemmini_params.h"])
    # 256 KiB / (4 banks * 16 * 1 B) = 4096 rows; 64 KiB / (16 * 4 B) = 1024 accumulator rows
    assert (d["DIM"], d["ADDR_LEN"], d["BANK_NUM"], d["BANK_ROWS"], d["ACC_ROWS"]) == (
        "16",
        "32",
        "4",
        "4096",
        "1024",
    )
    assert "typedef int8_t elem_t;" in files["g_gemmini_params.h"]
    assert "typedef int32_t acc_t;" in files["g_gemmini_params.h"]


@pytest.mark.parametrize(("dataflows", "expected"), [(("os",), "OS"), (("ws",), "WS")])
def test_single_dataflow(tmp_path: Path, dataflows: tuple[str, ...], expected: str) -> None:
    scala = _export(tmp_path, dataflows=dataflows)["g_gemmini_config.scala"]
    assert f"dataflow = Dataflow.{expected}" in scala


@pytest.mark.parametrize(
    ("hw", "reason"),
    [
        ({"pe_rows": 16, "pe_cols": 8}, "square"),
        ({"pe_rows": 12, "pe_cols": 12}, "not a power of two"),
        ({"ifmap_sram_kb": 96.0, "filter_sram_kb": 96.0}, "bank rows = 3072 .* not a power of two"),
        (
            {"pe_rows": 128, "pe_cols": 128, "ifmap_sram_kb": 16.0, "filter_sram_kb": 16.0},
            "bank rows = 64 is not a multiple of DIM = 128",
        ),
        ({"ofmap_sram_kb": 1.0}, "accumulator bank rows"),
        ({"dataflows": ("is",)}, "input-stationary"),
        ({"dataflows": ("is", "ws"), "pe_rows": 16, "pe_cols": 16}, None),
        ({"bits": 4, "acc_bits": 32}, "elem_t"),
        ({"acc_bits": 64}, "acc_t"),
    ],
)
def test_refusals(tmp_path: Path, hw: dict[str, Any], reason: str | None) -> None:
    design, metrics = small_design(**hw)
    uses_is = any(s.dataflow == "is" for p in metrics.passes for s in p.steps)
    if reason is None:  # IS allowed: refused only when a step actually maps to IS
        if not uses_is:
            get_exporter("gemmini")(design, metrics, tmp_path, "g")
            return
        reason = "input-stationary"
    with pytest.raises(ExportError, match=reason):
        get_exporter("gemmini")(design, metrics, tmp_path, "g")
    assert not list(tmp_path.iterdir()), "nothing is written for a refused design"
