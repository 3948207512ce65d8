"""How close do samplers get to the exact Pareto front of a small joint space, and how fast?

Enumerates every design of ``studies/small_exact.yaml`` (the exact front), then runs NSGA-II,
TPE and random search with a budget of 10 % of the space and prints the normalized hypervolume
of their fronts against the exact one after every tenth of the budget.

    python benchmarks/bench_search.py [--study studies/small_exact.yaml] [--fraction 0.1] [--seeds 0 1 2]

Hypervolumes are normalized with the exhaustive min/max of each objective (maximized objectives
negated) and the reference point 1.1 in every normalized objective.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna

from analytical_models import tune_allocator
from dse.config import SamplerConfig, StudyConfig, load_study_config
from dse.pareto import normalized_hypervolume, pareto_mask, to_minimization
from dse.study import make_sampler, run_exhaustive, run_trials

ROOT = Path(__file__).resolve().parents[1]


def _study(cfg: StudyConfig) -> optuna.Study:
    return optuna.create_study(
        storage=optuna.storages.InMemoryStorage(), sampler=make_sampler(cfg), directions=cfg.directions
    )


def _values(study: optuna.Study, cfg: StudyConfig) -> np.ndarray:
    trials = sorted(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)), key=lambda t: t.number)
    return to_minimization(np.array([t.values for t in trials], dtype=float), cfg.directions)


def _hv(points: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    front = points[pareto_mask(points)]
    return normalized_hypervolume(front, lo, hi)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--study", default=str(ROOT / "studies" / "small_exact.yaml"))
    ap.add_argument("--fraction", type=float, default=0.10, help="budget as a fraction of the space")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    tune_allocator()  # as the dse entry points do: keep the search's temporaries in the heap
    cfg = load_study_config(args.study, overrides={"run_dir": "/tmp/tnn-dse-bench-search"})

    t0 = time.perf_counter()
    exact = _study(cfg)
    run_exhaustive(exact, cfg, progress=False)
    t_exact = time.perf_counter() - t0
    all_vals = _values(exact, cfg)
    lo, hi = all_vals.min(axis=0), all_vals.max(axis=0)
    hv_exact = _hv(all_vals, lo, hi)
    n_space = len(all_vals)
    budget = max(1, round(args.fraction * n_space))
    print(f"space: {n_space} designs, exhaustive evaluation {t_exact:.1f} s ({n_space / t_exact:.0f} designs/s)")
    print(f"exact front: {int(pareto_mask(all_vals).sum())} designs, normalized hypervolume {hv_exact:.4f}")
    print(f"bounds (minimization form) lower={lo.tolist()} upper={hi.tolist()}, reference point 1.1 normalized")
    print(f"budget per sampler: {budget} evaluations ({100 * budget / n_space:.1f} % of the space)\n")

    checkpoints = [max(1, int(budget * k / 10)) for k in range(1, 11)]
    header = "sampler  seed " + " ".join(f"{c:>6}" for c in checkpoints) + "   time_s"
    print("fraction of the exact hypervolume after N evaluations")
    print(header)
    finals: dict[str, list[float]] = {}
    for name in ("nsga2", "tpe", "random"):
        for seed in args.seeds:
            sampler = SamplerConfig(name=name, seed=seed, population_size=cfg.sampler.population_size)
            scfg = replace(cfg, sampler=sampler)
            study = _study(scfg)
            t1 = time.perf_counter()
            run_trials(study, scfg, n_trials=budget, progress=False)
            elapsed = time.perf_counter() - t1
            vals = _values(study, scfg)
            curve = [_hv(vals[:c], lo, hi) / hv_exact for c in checkpoints]
            finals.setdefault(name, []).append(curve[-1])
            print(f"{name:<7} {seed:>5} " + " ".join(f"{v:6.3f}" for v in curve) + f"   {elapsed:6.1f}")
    print()
    for name, vals in finals.items():
        print(
            f"{name:<7} mean {np.mean(vals):.3f} min {np.min(vals):.3f} of the exact hypervolume with "
            f"{budget} evaluations (target for nsga2: >= 0.95)"
        )


if __name__ == "__main__":
    main()
