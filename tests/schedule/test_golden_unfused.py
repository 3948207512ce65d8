"""``execution: unfused`` (spill everything) reproduces the per-step model bit for bit.

``tests/data/golden_unfused.json`` holds 27 design records sampled (quickstart, edge ASIC, FPGA
TT-BERT, TT-LSTM spaces) by commit 6693705, before execution schedules existed, and their
metrics and per-pass costs under the per-step model as it is since issue 13 (serial timing
draining partial sums beside compute, one fill/drain per one-fold stationary tile with the
streamed loop innermost, SCALE-Sim's own loop nest a candidate of the mapping search), written
by ``tests/data/make_golden_unfused.py`` in the commit that made that change. The records carry
no ``execution`` field (nor ``hardware.mapping``), so they read back as ``unfused`` (and
``search``). ``tests/schedule/test_unfused_identity.py`` holds the identity behind it on random
layers: every unfused pass is the sum of :func:`analytical_models.price` over its steps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dse import Design, evaluate

GOLDEN: list[dict[str, Any]] = json.loads((Path(__file__).parents[1] / "data" / "golden_unfused.json").read_text())


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
