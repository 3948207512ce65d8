"""Model against simulator, GEMM by GEMM: what ``dse validate`` measures.

Each lowered contraction step of a design is one GEMM ``C[M,N] = A[M,K] B[K,N]`` that runs
``batch x count`` times per step of the workload (a batched GEMM is that many SCALE-Sim topology
rows, as the SCALE-Sim export counts them). It is held, on the array the step runs on (the
plain array of the design's engine: ``pe_rows x pe_cols`` and its three buffers, as the
SCALE-Sim export writes it), with the step's dataflow and SCALE-Sim's bandwidth-limited memory
system (USER mode, the model's ``serial`` timing, the design's bandwidth in whole words per
cycle), to three numbers of one run:

* ``search``: the mapping search of the model (tiles, loop order; SCALE-Sim's own nest is one of
  its candidates, so it is never slower than ``pinned``);
* ``pinned``: the model with SCALE-Sim's own loop nest (``Hardware.mapping="scalesim"``), the
  like-with-like prediction of the simulator's "Total Cycles (incl. prefetch)";
* ``scalesim``: SCALE-Sim's "Total Cycles (incl. prefetch)".

A design's totals are the sums over its steps of runs x cycles, over the steps simulated;
``search`` against ``scalesim`` is how far the latency the study reports relies on a loop nest
SCALE-Sim does not run, ``pinned`` against ``scalesim`` checks the model's memory system.
Identical runs (same array, buffers, bandwidth, dataflow and GEMM) are simulated once, across
steps and designs, and remembered in the run folder (``.cache/scalesim_runs.jsonl``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from analytical_models import ArrayEngine, Gemm, Hardware, fold_cycles, get_engine, price, scalesim_words
from dse import Design, Metrics

MAX_CYCLES = 200_000
"""Default cap on one GEMM's SCALE-Sim cycles (its fold count times rows per fold, a lower
bound): SCALE-Sim takes about 0.2-7 ms per cycle (more with many partial-sum drains), so this
is a few minutes per run at most; larger GEMMs are skipped with a warning."""


@dataclass(frozen=True, slots=True, order=True)
class SimRun:
    """One SCALE-Sim run: a GEMM on an array, its buffers (kB), bandwidth (words/cycle) and
    dataflow, in USER mode."""

    m: int
    n: int
    k: int
    rows: int
    cols: int
    dataflow: str
    ifmap_kb: int
    filter_kb: int
    ofmap_kb: int
    bw_words: int

    @property
    def key(self) -> str:
        """Its key in the run folder's cache."""
        return (
            f"{self.m}x{self.n}x{self.k} {self.dataflow} {self.rows}x{self.cols} "
            f"{self.ifmap_kb}/{self.filter_kb}/{self.ofmap_kb}kB {self.bw_words}w"
        )

    @property
    def label(self) -> str:
        """``MxNxK df on RxC`` for progress lines."""
        return f"{self.m}x{self.n}x{self.k} {self.dataflow} on {self.rows}x{self.cols}"


@dataclass(frozen=True, slots=True)
class StepCheck:
    """One lowered step of one design: its GEMM, and the model's numbers for one run of it."""

    trial: int
    layer: str
    pass_name: str
    step: int
    runs: int
    """Runs of the GEMM per step of the workload (``batch x count``)."""
    design_cycles: float
    """The step's cycles in the design's own evaluation (its memory timing and schedule), all
    runs of one layer instance."""
    run: SimRun
    search_cycles: float
    pinned_cycles: float | None
    """None when the run is skipped (too large)."""


@dataclass(slots=True)
class DesignChecks:
    """The checks of one design and, once simulated, its totals."""

    trial: int
    design: Design
    steps: list[StepCheck] = field(default_factory=list)


def simulation_hardware(hw: Hardware, dataflow: str) -> Hardware:
    """The plain systolic array SCALE-Sim simulates for a step of ``hw`` with ``dataflow``:
    the engine's array (``array_view``), serial memory timing, the mapping search."""
    engine = get_engine(hw.engine)
    view = engine.array_view(hw) if isinstance(engine, ArrayEngine) else hw
    return replace(
        view,
        engine="systolic",
        dataflows=(dataflow,),
        memory_timing="serial",
        mapping="search",
        n_engines=1,
        aux_rows=0,
        aux_cols=0,
    )


def sim_run(gemm: Gemm, hw: Hardware) -> SimRun:
    """The SCALE-Sim run of one GEMM on ``hw`` (a :func:`simulation_hardware`): sizes as the
    SCALE-Sim export converts them (whole kB, whole words per cycle)."""
    zi, zf, zo, bw = scalesim_words(hw)
    df = hw.dataflows[0]
    return SimRun(gemm.m, gemm.n, gemm.k, hw.pe_rows, hw.pe_cols, df, zi // 1024, zf // 1024, zo // 1024, bw)


def predicted_cycles(run: SimRun) -> int:
    """SCALE-Sim's compute window without stalls (folds times rows per fold): a lower bound
    of its cycles, cheap, for the cost cap."""
    stream, fill = fold_cycles(Gemm(m=run.m, n=run.n, k=run.k), run.rows, run.cols, run.dataflow)
    return int(stream + fill)


def collect(trial: int, design: Design, metrics: Metrics, max_cycles: int) -> DesignChecks:
    """The checks of every lowered step of ``design`` (evaluated as ``metrics``)."""
    out = DesignChecks(trial, design)
    counts = {spec.name: spec.count for spec in design.workload.layers}
    for p in metrics.passes:
        for i, s in enumerate(p.steps):
            hw = simulation_hardware(design.hardware, s.dataflow)
            gemm = Gemm(m=s.m, n=s.n, k=s.k)
            run = sim_run(gemm, hw)
            search = price(gemm, hw).cost.cycles
            pinned = None
            if predicted_cycles(run) <= max_cycles:
                pinned = price(gemm, replace(hw, mapping="scalesim")).cost.cycles
            out.steps.append(
                StepCheck(
                    trial=trial,
                    layer=p.layer,
                    pass_name=p.pass_name,
                    step=i,
                    runs=s.batch * counts.get(p.layer, 1),
                    design_cycles=s.cycles,
                    run=run,
                    search_cycles=search,
                    pinned_cycles=pinned,
                )
            )
    return out


class RunCache:
    """SCALE-Sim results by run key, kept in a JSON-lines file of the run folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.results: dict[str, dict[str, Any]] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    rec = json.loads(line)
                    self.results[str(rec["key"])] = dict(rec["result"])
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line of an interrupted run

    def add(self, key: str, result: dict[str, Any]) -> None:
        self.results[key] = result
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keep = {k: v for k, v in result.items() if k != "report_dir"}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"key": key, "result": keep}) + "\n")


Simulate = Callable[[SimRun], dict[str, Any]]
"""Runs one GEMM in the simulator; returns its report (``total_cycles_incl_prefetch``, ...)."""
Progress = Callable[[int, int, SimRun, dict[str, Any] | None, str], None]
"""``(done, total, run, result or None, error text)`` after each simulated run."""


def simulate_all(
    runs: Sequence[SimRun], simulate: Simulate, cache: RunCache, *, jobs: int, progress: Progress | None = None
) -> dict[str, str]:
    """Simulate the runs the cache lacks (``jobs`` at a time), adding them to it; returns the
    error of each run that failed, by key."""
    todo = [r for r in runs if r.key not in cache.results]
    errors: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(simulate, r): r for r in todo}
        for done, fut in enumerate(as_completed(futures), 1):
            run = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # a failed or timed-out run is reported, the others go on
                errors[run.key] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                if progress:
                    progress(done, len(todo), run, None, errors[run.key])
                continue
            cache.add(run.key, result)
            if progress:
                progress(done, len(todo), run, result, "")
    return errors


def error_pct(model: float | None, sim: float | None) -> float | None:
    """``100 (model - sim) / sim``, None without both."""
    if model is None or sim is None or sim <= 0:
        return None
    return 100.0 * (model - sim) / sim


@dataclass(frozen=True, slots=True)
class DesignTotals:
    """A design's totals over its simulated steps (runs x cycles of one run)."""

    trial: int
    steps: int
    simulated_steps: int
    search_cycles: float
    pinned_cycles: float
    scalesim_cycles: float
    design_latency_cycles: float
    """The latency the study reports for the design (its own timing and schedule)."""

    @property
    def coverage(self) -> float:
        """Fraction of the steps simulated."""
        return self.simulated_steps / self.steps if self.steps else 0.0

    @property
    def search_err_pct(self) -> float | None:
        return error_pct(self.search_cycles, self.scalesim_cycles) if self.simulated_steps else None

    @property
    def pinned_err_pct(self) -> float | None:
        return error_pct(self.pinned_cycles, self.scalesim_cycles) if self.simulated_steps else None

    def flagged(self, threshold_pct: float) -> bool:
        """The model's (search mapping) total is more than ``threshold_pct`` off SCALE-Sim's."""
        err = self.search_err_pct
        return err is not None and abs(err) > threshold_pct


def scalesim_cycles(step: StepCheck, cache: RunCache) -> float | None:
    """SCALE-Sim's "Total Cycles (incl. prefetch)" of one run of the step (None: not simulated)."""
    res = cache.results.get(step.run.key)
    return None if res is None else float(res["total_cycles_incl_prefetch"])


def totals(checks: DesignChecks, cache: RunCache, latency_cycles: float) -> DesignTotals:
    """The design's totals over the steps SCALE-Sim ran."""
    search = pinned = sim = 0.0
    simulated = 0
    for s in checks.steps:
        measured = scalesim_cycles(s, cache)
        if measured is None or s.pinned_cycles is None:
            continue
        simulated += 1
        search += s.runs * s.search_cycles
        pinned += s.runs * s.pinned_cycles
        sim += s.runs * measured
    return DesignTotals(checks.trial, len(checks.steps), simulated, search, pinned, sim, latency_cycles)


CSV_COLUMNS: tuple[str, ...] = (
    "level",
    "trial",
    "layer",
    "pass",
    "step",
    "m",
    "n",
    "k",
    "dataflow",
    "runs",
    "rows",
    "cols",
    "ifmap_kb",
    "filter_kb",
    "ofmap_kb",
    "bw_words_per_cycle",
    "design_cycles",
    "search_cycles",
    "pinned_cycles",
    "scalesim_cycles",
    "search_err_pct",
    "pinned_err_pct",
    "coverage",
    "status",
    "flagged",
)
"""Columns of ``validate_scalesim.csv``: one ``step`` row per lowered step (cycles of one run;
``design_cycles`` the step's own cycles in the study, all runs), one ``design`` row per design
(sums of runs x cycles over the simulated steps; ``design_cycles`` the study's latency)."""


def _fmt(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.6g}"


def csv_rows(
    checks: Sequence[DesignChecks],
    design_totals: Sequence[DesignTotals],
    cache: RunCache,
    errors: dict[str, str],
    threshold_pct: float,
    max_cycles: int,
) -> list[dict[str, str]]:
    """The rows of ``validate_scalesim.csv`` (every value a string)."""
    out: list[dict[str, str]] = []
    for c, t in zip(checks, design_totals, strict=True):
        for s in c.steps:
            measured = scalesim_cycles(s, cache)
            if s.pinned_cycles is None:
                status = f"skipped: at least {predicted_cycles(s.run):,} cycles > --max-cycles {max_cycles:,}"
            elif measured is None:
                status = f"failed: {errors.get(s.run.key, 'not simulated')}"
            else:
                status = "ok"
            r = s.run
            out.append(
                {
                    "level": "step",
                    "trial": str(c.trial),
                    "layer": s.layer,
                    "pass": s.pass_name,
                    "step": str(s.step),
                    "m": str(r.m),
                    "n": str(r.n),
                    "k": str(r.k),
                    "dataflow": r.dataflow,
                    "runs": str(s.runs),
                    "rows": str(r.rows),
                    "cols": str(r.cols),
                    "ifmap_kb": str(r.ifmap_kb),
                    "filter_kb": str(r.filter_kb),
                    "ofmap_kb": str(r.ofmap_kb),
                    "bw_words_per_cycle": str(r.bw_words),
                    "design_cycles": _fmt(s.design_cycles),
                    "search_cycles": _fmt(s.search_cycles),
                    "pinned_cycles": _fmt(s.pinned_cycles),
                    "scalesim_cycles": _fmt(measured),
                    "search_err_pct": _fmt(error_pct(s.search_cycles, measured)),
                    "pinned_err_pct": _fmt(error_pct(s.pinned_cycles, measured)),
                    "coverage": "",
                    "status": status,
                    "flagged": "",
                }
            )
        out.append(
            {
                **dict.fromkeys(CSV_COLUMNS, ""),
                "level": "design",
                "trial": str(c.trial),
                "runs": str(sum(s.runs for s in c.steps)),
                "rows": str(c.design.hardware.pe_rows),
                "cols": str(c.design.hardware.pe_cols),
                "design_cycles": _fmt(t.design_latency_cycles),
                "search_cycles": _fmt(t.search_cycles),
                "pinned_cycles": _fmt(t.pinned_cycles),
                "scalesim_cycles": _fmt(t.scalesim_cycles if t.simulated_steps else None),
                "search_err_pct": _fmt(t.search_err_pct),
                "pinned_err_pct": _fmt(t.pinned_err_pct),
                "coverage": f"{t.coverage:.4g}",
                "status": "ok" if t.simulated_steps == t.steps else f"{t.simulated_steps} of {t.steps} steps simulated",
                "flagged": "yes" if t.flagged(threshold_pct) else "no",
            }
        )
    return out
