"""``search_spaces/gemmini.yaml``: every design of the space is one Gemmini can build.

Every design of the space is enumerated: its hardware passes the Gemmini exporter's checks
(square power-of-two mesh, scratchpad and accumulator bank rows, OS/WS only, int8/int32). Every
hardware configuration, and a seeded sample of whole designs, is then evaluated and exported
with the real exporter.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from optuna.trial import FixedTrial

from dse import Design
from dse.config import load_study_config
from dse.evaluate import evaluate
from dse.export import get_exporter
from dse.export.gemmini import gemmini_sizes
from dse.space import suggest
from dse.study._enumerate import enumerate_space

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "studies" / "gemmini_tt_mlp.yaml"


@pytest.fixture(scope="module")
def designs() -> list[Design]:
    cfg = load_study_config(STUDY)
    return [suggest(FixedTrial(params), cfg) for params in enumerate_space(cfg, limit=100_000)]  # type: ignore[arg-type]


def test_every_design_has_a_gemmini_buildable_hardware(designs: list[Design]) -> None:
    assert len(designs) > 1000
    hardware = {d.hardware for d in designs}
    assert len(hardware) > 1  # the space searches the hardware too
    for hw in hardware:
        assert "is" not in hw.dataflows
        sizes = gemmini_sizes(next(d for d in designs if d.hardware == hw))
        assert sizes["dim"] == hw.pe_rows == hw.pe_cols


def test_every_hardware_and_a_sample_of_designs_export(designs: list[Design], tmp_path: Path) -> None:
    export = get_exporter("gemmini")
    first_per_hw: dict[object, Design] = {}
    for d in designs:
        first_per_hw.setdefault(d.hardware, d)
    sample = [*first_per_hw.values(), *random.Random(0).sample(designs, 12)]
    for i, design in enumerate(sample):
        files = export(design, evaluate(design), tmp_path, f"d{i}")
        assert [f.suffix for f in files] == [".scala", ".h"]
