"""Metrics of sampled designs under the per-step (unfused) model, computed by the code before
execution schedules existed (commit 6693705): ``python tests/data/make_golden_unfused.py OUT.json``
run on that commit wrote tests/data/golden_unfused_6693705.json, which
tests/schedule/test_golden_unfused.py checks ``execution="unfused"`` reproduces bit for bit."""

import json
import sys
from pathlib import Path

import optuna

from dse.config import load_study_config
from dse.evaluate import evaluate
from dse.space import suggest

STUDIES = (
    ("studies/quickstart.yaml", 12),
    ("studies/edge_asic_tt_mlp.yaml", 8),
    ("studies/fpga_tt_bert.yaml", 3),
    ("studies/compare_tt_lstm.yaml", 4),
)


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = []
    for study, n in STUDIES:
        cfg = load_study_config(study, overrides={"run_dir": "/tmp/golden_run"})
        st = optuna.create_study(directions=cfg.directions, sampler=optuna.samplers.RandomSampler(seed=11))
        for _ in range(n):
            d = suggest(st.ask(), cfg)
            try:
                m = evaluate(d)
            except Exception:  # a design the old code could not price is skipped
                continue
            passes = [
                [p.layer, p.pass_name, repr(p.cost.cycles), repr(p.cost.energy_pj), repr(p.cost.dram_bytes)]
                for p in m.passes
            ]
            metrics = {k: repr(v) for k, v in m.scalars().items()}
            out.append({"study": study, "design": d.to_dict(), "metrics": metrics, "passes": passes})
    Path(sys.argv[1]).write_text(json.dumps(out, indent=0))
    print(len(out))


if __name__ == "__main__":
    main()
