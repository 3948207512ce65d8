"""Two checkouts of the code on the same designs at once: which evaluates them in less CPU time.

    python benchmarks/bench_ab.py OTHER_CHECKOUT [--study studies/tt_bert_training.yaml]
                                  [--designs 96] [--rounds 4] [--seed 123]

The machine this project is measured on is shared, and its speed moves by 10-20 % from one
minute to the next: two codes timed one after the other compare the minutes more than the codes.
This benchmark samples ``--designs`` designs of the study's space (random sampler, ``--seed``),
then, each round, evaluates them in order with this checkout and with ``OTHER_CHECKOUT`` at the
same time, one process each pinned to its own core (swapped every round), every value cache
kept from one design to the next as in a study. It prints each round's CPU seconds of
evaluation (``time.process_time``, so the other process does not count), their ratio, and
whether both codes found the same results (a digest of every design's metrics, which must
match when a change is meant to keep results bit for bit). Each process first evaluates the
first design once, cold, so that numba's compiled loops are loaded (or compiled) outside the
timed loop.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Literal, cast

ROOT = Path(__file__).resolve().parents[1]


def _child(designs_file: str) -> None:
    """Evaluate the pickled designs in order (caches kept) and print JSON: CPU s and digest."""
    from dse.evaluate import clear_caches, evaluate
    from dse.study._heap import settle_heap

    designs = pickle.loads(Path(designs_file).read_bytes())
    evaluate(designs[0])  # (numba's loops loaded or compiled, outside the timed loop)
    clear_caches()
    digest = hashlib.sha1()
    t0 = time.process_time()
    for d in designs:
        try:
            metrics = evaluate(d)
            digest.update(repr(sorted(metrics.scalars().items())).encode())
        except Exception as exc:  # (a design that fails fails the same way in both codes)
            digest.update(f"{type(exc).__name__}: {exc}".encode())
        settle_heap()
    print(json.dumps({"cpu_s": time.process_time() - t0, "digest": digest.hexdigest()[:12]}))


def _designs(study: str, n: int, seed: int) -> list[object]:
    import optuna

    import dse.study as study_mod
    from dse.config import SamplerConfig, load_study_config
    from dse.space import suggest

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cfg = load_study_config(study, overrides={"run_dir": Path(tempfile.mkdtemp(prefix="tnn-dse-ab-"))})
    sampler_cfg = replace(cfg, sampler=SamplerConfig(name="random", seed=seed))
    directions = cast(list[Literal["minimize", "maximize"]], list(cfg.directions))
    probe = optuna.create_study(sampler=study_mod.make_sampler(sampler_cfg), directions=directions)
    return [suggest(probe.ask(), cfg) for _ in range(n)]


def _run(checkout: Path, designs_file: str, core: int | None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", designs_file]
    preexec = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
    return subprocess.Popen(cmd, cwd=checkout, env=env, stdout=subprocess.PIPE, text=True, preexec_fn=preexec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("other", nargs="?", help="the other checkout (a git worktree of another commit)")
    ap.add_argument("--study", default=str(ROOT / "studies" / "tt_bert_training.yaml"))
    ap.add_argument("--designs", type=int, default=96)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child)
        return
    if not args.other:
        ap.error("give the other checkout (e.g. `git worktree add /tmp/before HEAD~3`)")
    other = Path(args.other).resolve()
    if not (other / "dse" / "__init__.py").is_file():
        ap.error(f"{other} is not a checkout of this project (no dse/__init__.py)")
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pinned = len(cores) >= 2
    with tempfile.TemporaryDirectory(prefix="tnn-dse-ab-") as tmp:
        designs_file = str(Path(tmp) / "designs.pkl")
        Path(designs_file).write_bytes(pickle.dumps(_designs(args.study, args.designs, args.seed)))
        print(
            f"{args.designs} designs of {Path(args.study).name} (random, seed {args.seed}), caches kept; "
            f"this checkout ({ROOT}) against {other}, {'one core each' if pinned else 'unpinned'}"
        )
        ratios = []
        for r in range(args.rounds):
            a_core, b_core = (cores[r % 2], cores[(r + 1) % 2]) if pinned else (None, None)
            procs = [_run(ROOT, designs_file, a_core), _run(other, designs_file, b_core)]
            outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
            if any(p.returncode for p in procs):
                raise SystemExit("a checkout failed to evaluate the designs (see above)")
            this, that = outs
            ratios.append(this["cpu_s"] / that["cpu_s"])
            same = "same results" if this["digest"] == that["digest"] else "RESULTS DIFFER"
            print(
                f"round {r + 1}: this {this['cpu_s']:.2f} s, other {that['cpu_s']:.2f} s of CPU "
                f"(this / other {ratios[-1]:.3f}); digests {this['digest']} / {that['digest']}: {same}"
            )
        print(f"this / other, per round: {min(ratios):.3f}-{max(ratios):.3f} (below 1: this checkout is faster)")


if __name__ == "__main__":
    main()
