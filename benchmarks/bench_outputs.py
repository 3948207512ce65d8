"""How heavy are a large study's outputs: seconds to write them, megabytes of dashboard.

Builds a study of ``--trials`` finished trials (10,000 by default) without evaluating that many
designs: a pool of real trials (``--pool`` trials of ``--study`` run with ``dse run`` in a
subprocess, or the finished trials of an existing run folder with ``--pool-from``) is cloned,
each clone a distinct design (its clock moved by up to +-20 %, latency scaled with it, energy
jittered by up to +-5 %), into a new journal study. Then, in fresh processes (cold caches, as
after ``dse run``):

* ``write_outputs`` (trials.csv, pareto.csv, hypervolume.csv, dashboard.html, JSON exports);
* ``dse dashboard`` a second time (the exports and baselines of an unchanged front are reused).

    python benchmarks/bench_outputs.py [--study studies/quickstart.yaml] [--trials 10000] [--pool 160]
    python benchmarks/bench_outputs.py --study studies/tt_bert_training.yaml --pool-from runs/tt_bert_training

Prints one line per measure: seconds, megabytes, counts.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState, create_trial

from dse import design_record

ROOT = Path(__file__).resolve().parents[1]

_WRITE = """
import sys, time
from dse.config import load_study_config
from dse.study import open_study
from dse.outputs import write_outputs
cfg = load_study_config(sys.argv[1], overrides={"run_dir": sys.argv[2]})
study = open_study(cfg, create=False)
t0 = time.perf_counter()
out = write_outputs(study, cfg)
print(f"RESULT {time.perf_counter() - t0:.3f} {len(out.trials)} {len(out.front)} {len(out.exports)}")
"""


def _pool(study_file: Path, pool: int, pool_from: Path | None, work: Path) -> list[FrozenTrial]:
    from dse.config import load_study_config
    from dse.study import open_study

    run_dir = pool_from if pool_from is not None else work / "pool"
    if pool_from is None:
        cmd = ["dse", "run", str(study_file), "--run-dir", str(run_dir), "--n-trials", str(pool), "--quiet"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    cfg = load_study_config(study_file, overrides={"run_dir": str(run_dir)})
    study = open_study(cfg, create=False)
    return [t for t in study.get_trials(states=(TrialState.COMPLETE,)) if "metrics" in t.user_attrs]


def _clone(t: FrozenTrial, rng: np.random.Generator, objectives: tuple[str, ...]) -> FrozenTrial:
    attrs = copy.deepcopy(t.user_attrs)
    record = design_record(attrs["design"])  # (stored as JSON text, as a study stores it)
    hw = record["hardware"]
    f0 = float(hw["freq_mhz"])
    freq = round(f0 * (1.0 + rng.uniform(-0.2, 0.2)), 6)
    hw["freq_mhz"] = freq
    attrs["design"] = json.dumps(record, sort_keys=True)
    m = attrs["metrics"]
    m["latency_ms"] *= f0 / freq
    m["energy_uj"] *= 1.0 + rng.uniform(-0.05, 0.05)
    m["energy_pj"] = m["energy_uj"] * 1e6
    m["edp_uj_ms"] = m["energy_uj"] * m["latency_ms"]
    m["power_mw"] = m["energy_uj"] / m["latency_ms"] if m["latency_ms"] > 0 else 0.0
    return create_trial(
        params=t.params,
        distributions=t.distributions,
        values=[float(m[o]) for o in objectives],
        user_attrs=attrs,
        system_attrs={k: v for k, v in t.system_attrs.items() if k.startswith("constraints")},
    )


def _synthesize(study_file: Path, pool: list[FrozenTrial], n: int, run_dir: Path) -> None:
    from dse.config import load_study_config
    from dse.study import open_study, sync_journal

    cfg = load_study_config(study_file, overrides={"run_dir": str(run_dir)})
    study = open_study(cfg, create=True)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(pool), size=n)
    clones = [_clone(pool[int(i)], rng, cfg.objectives) for i in picks]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.add_trials(clones)
    sync_journal(cfg)


def _write(study_file: Path, run_dir: Path) -> tuple[float, str]:
    proc = subprocess.run(
        [sys.executable, "-c", _WRITE, str(study_file), str(run_dir)], capture_output=True, text=True, check=True
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    secs, n_trials, n_front, n_exports = line.split()[1:]
    return float(secs), f"{n_trials} trials, {n_front} front designs, {n_exports} JSON exports"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", default=str(ROOT / "studies" / "quickstart.yaml"))
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--pool", type=int, default=160, help="real trials to clone (run with dse run)")
    parser.add_argument("--pool-from", help="clone the finished trials of this run folder instead")
    parser.add_argument("--keep", help="build the study in this folder (default: a temporary one)")
    args = parser.parse_args()
    study_file = Path(args.study)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        pool = _pool(study_file, args.pool, Path(args.pool_from) if args.pool_from else None, work)
        print(f"pool: {len(pool)} real trials ({time.perf_counter() - t0:.1f} s)")
        big = work / "big"
        t0 = time.perf_counter()
        _synthesize(study_file, pool, args.trials, big)
        print(f"study: {args.trials} cloned trials written ({time.perf_counter() - t0:.1f} s)")
        secs, what = _write(study_file, big)
        size = (big / "dashboard.html").stat().st_size / 1e6
        print(f"write_outputs, cold process: {secs:.1f} s ({what})")
        print(f"dashboard.html: {size:.1f} MB")
        for name in ("trials.csv", "pareto.csv"):
            print(f"{name}: {(big / name).stat().st_size / 1e6:.1f} MB")
        secs, _ = _write(study_file, big)
        print(f"write_outputs again (front unchanged), cold process: {secs:.1f} s")


if __name__ == "__main__":
    main()
