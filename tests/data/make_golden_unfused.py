"""Golden metrics of sampled designs under the per-step (``unfused``) model.

    python tests/data/make_golden_unfused.py [SOURCE.json] OUT.json

The designs are the 27 that ``tests/data/golden_unfused_6693705.json`` held (that file, the
metrics of commit 6693705, was replaced by ``golden_unfused.json`` for issue 13): sampled (optuna's
RandomSampler, seed 11) from the quickstart, edge-ASIC, FPGA TT-BERT and TT-LSTM studies by commit
6693705, before execution schedules existed; their records carry no ``execution`` field (nor
``hardware.mapping``), so they read back as ``unfused`` (and ``search``), which the test also
pins. This script re-prices them with the current code and writes the same records with the
new metrics and per-pass costs: it reads the designs from ``SOURCE.json`` (default: the golden
file itself) and keeps them as they are.

``tests/data/golden_unfused.json`` was last written by this script in the commit that changed
the per-step model for issue 13 (serial timing drains partial sums beside compute, one
fill/drain per one-fold stationary tile when the streamed loop is innermost, SCALE-Sim's own
loop nest a candidate of the mapping search); ``tests/schedule/test_golden_unfused.py`` checks
that ``execution="unfused"`` reproduces it bit for bit, and
``tests/schedule/test_unfused_identity.py`` that every unfused pass is the sum of
:func:`analytical_models.price` over its steps. Regenerate it only when the per-step model is
meant to change, and say which numbers changed and why in the commit.
"""

import json
import sys
from pathlib import Path

from dse import Design
from dse.evaluate import evaluate

GOLDEN = Path(__file__).with_name("golden_unfused.json")


def main() -> None:
    args = sys.argv[1:]
    source = Path(args[0]) if len(args) == 2 else GOLDEN
    out_path = Path(args[-1]) if args else GOLDEN
    out = []
    for case in json.loads(source.read_text()):
        design = Design.from_dict(case["design"])
        m = evaluate(design)
        passes = [
            [p.layer, p.pass_name, repr(p.cost.cycles), repr(p.cost.energy_pj), repr(p.cost.dram_bytes)]
            for p in m.passes
        ]
        metrics = {k: repr(v) for k, v in m.scalars().items()}
        out.append({"study": case["study"], "design": case["design"], "metrics": metrics, "passes": passes})
    out_path.write_text(json.dumps(out, indent=0))
    print(len(out))


if __name__ == "__main__":
    main()
