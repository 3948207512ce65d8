"""``execution: unfused`` (spill everything) reproduces the per-step model bit for bit.

``tests/data/golden_unfused_6693705.json`` holds the metrics of 27 sampled designs (quickstart,
edge ASIC, FPGA TT-BERT, TT-LSTM spaces) computed by commit 6693705, before execution schedules
existed, with ``tests/data/make_golden_unfused.py`` run on that commit. Their records carry no
``execution`` field, so they read back as ``unfused``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dse import Design, evaluate

GOLDEN: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "data" / "golden_unfused_6693705.json").read_text()
)


def test_golden_file_is_there() -> None:
    assert len(GOLDEN) == 27


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: f"{Path(c['study']).stem}")
def test_unfused_equals_the_per_step_model_bit_for_bit(case: dict[str, Any]) -> None:
    design = Design.from_dict(case["design"])
    assert design.execution == "unfused"
    metrics = evaluate(design)
    got = metrics.scalars()
    for key, value in case["metrics"].items():
        assert repr(got[key]) == value, key
    passes = [
        [p.layer, p.pass_name, repr(p.cost.cycles), repr(p.cost.energy_pj), repr(p.cost.dram_bytes)]
        for p in metrics.passes
    ]
    assert passes == case["passes"]
