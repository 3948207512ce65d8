"""Metrics of sampled designs under the per-step (unfused) model, computed by the code before
execution schedules existed; tests/schedule/test_golden_unfused.py checks execution="unfused"
reproduces them bit for bit."""
import json, sys
import optuna
import dse
from dse.config import load_study_config
from dse.space import suggest
from dse.evaluate import evaluate
optuna.logging.set_verbosity(optuna.logging.WARNING)
out = []
for study, n in (("studies/quickstart.yaml", 12), ("studies/edge_asic_tt_mlp.yaml", 8), ("studies/fpga_tt_bert.yaml", 3), ("studies/compare_tt_lstm.yaml", 4)):
    cfg = load_study_config(study, overrides={"run_dir": "/tmp/golden_run"})
    st = optuna.create_study(directions=cfg.directions, sampler=optuna.samplers.RandomSampler(seed=11))
    for _ in range(n):
        d = suggest(st.ask(), cfg)
        try:
            m = evaluate(d)
        except Exception as exc:
            continue
        out.append({"study": study, "design": d.to_dict(), "metrics": {k: repr(v) for k, v in m.scalars().items()},
                    "passes": [[p.layer, p.pass_name, repr(p.cost.cycles), repr(p.cost.energy_pj), repr(p.cost.dram_bytes)] for p in m.passes]})
json.dump(out, open(sys.argv[1], "w"), indent=0)
print(len(out))
