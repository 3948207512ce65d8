"""Co-design evidence: a design against its baselines, every ratio from two evaluations.

For one design of a study, :func:`compare_design` evaluates the design and a set of baselines
and returns one :class:`ComparisonRow` per comparison. A row holds the two measurements it
compares (``reference`` and ``subject``, both evaluated in the same call) and its ratios are
``reference / subject`` of those two numbers, nothing else: above 1 means the subject is cheaper
(faster, less energy, smaller EDP, less memory).

Comparisons (the :data:`COMPARISONS` keys):

``path_mac_optimal``
    MAC-optimal contraction paths vs the design's paths (hardware-aware), same hardware.
``path_naive``
    the left-to-right sweep ``x G_1 G_2 ..`` (:func:`dse.contraction.left_to_right_path`) vs the
    design's paths, same hardware.
``dense_same_hw``
    the dense (untensorized) model vs the design, same hardware and policies.
``dense_best_hw_latency`` / ``dense_best_hw_energy``
    the dense model on the hardware a hardware-only search found best for it (lowest latency /
    lowest energy among its feasible designs) vs the design on its own hardware. Only when a
    dense baseline design is given.
``training_vs_inference``
    one training step (forward + input gradient + every core gradient, each an independent
    network, as :func:`dse.evaluate.evaluate` prices it) vs forward only, same hardware.
``training_reuse``
    the same training step with independent networks vs the **reuse schedule**
    (:func:`price_reuse_training`), same hardware.
``engine``
    the design on a plain systolic array (tensor shaping paid) vs the same array as a
    contraction engine (shaping free), ``dataclasses.replace(hw, engine=...)``.
``execution_unfused``
    the same design with every intermediate through DRAM (``execution="unfused"``, the per-step
    model) vs the design's own execution schedules (fused segments, token tiles).

Pure computation: designs in, rows out (no optuna, no files).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from analytical_models import Hardware
from dse import Design, Metrics
from dse.compare._baselines import dense_design, ratio
from dse.compare._reuse import ReuseTraining, price_reuse_training, step_kb
from dse.evaluate import evaluate

COMPARISONS: dict[str, tuple[str, str, str]] = {
    "path_mac_optimal": ("mac_optimal_paths", "design_paths", "paths: MAC-optimal / hardware-aware"),
    "path_naive": ("naive_paths", "design_paths", "paths: left-to-right sweep / hardware-aware"),
    "dense_same_hw": ("dense", "tensorized", "dense / tensorized, same hardware"),
    "dense_best_hw_latency": (
        "dense_on_its_fastest_hw",
        "tensorized_on_its_hw",
        "dense on its fastest hw / tensorized on its hw",
    ),
    "dense_best_hw_energy": (
        "dense_on_its_most_efficient_hw",
        "tensorized_on_its_hw",
        "dense on its lowest-energy hw / tensorized on its hw",
    ),
    "training_vs_inference": ("training", "inference", "training step (independent networks) / inference"),
    "training_reuse": ("training_independent", "training_reuse", "training: independent networks / reuse"),
    "engine": ("systolic", "contraction_engine", "systolic (shaping paid) / contraction engine"),
    "execution_unfused": (
        "every_intermediate_through_dram",
        "design_schedule",
        "unfused (every intermediate through DRAM) / the design's execution schedule",
    ),
}
"""``key -> (reference label, subject label, description)``; ratios are reference / subject."""

METRICS: tuple[tuple[str, str], ...] = (
    ("latency_ms", "latency"),
    ("energy_uj", "energy"),
    ("edp_uj_ms", "edp"),
    ("onchip_kb", "onchip"),
    ("working_set_kb", "working_set"),
    ("dram_mb", "dram"),
)
"""``(measured column, ratio stem)``: every measurement and the name of its ratio."""

CSV_COLUMNS: tuple[str, ...] = (
    "trial",
    "comparison",
    "reference",
    "subject",
    "params",
    "compression",
    *(f"{side}_{col}" for col, _ in METRICS for side in ("reference", "subject")),
    "reference_macs",
    "subject_macs",
    *(f"{stem}_ratio_ref_over_sub" for _, stem in METRICS),
    "macs_ratio_ref_over_sub",
)
"""Columns of ``compare.csv``, units in the names (ms, uJ, uJ*ms, kB)."""


# --------------------------------------------------------------------------- measurements
@dataclass(frozen=True, slots=True, kw_only=True)
class Measure:
    """One evaluation, reduced to what the table compares.

    Attributes:
        latency_ms: latency of one step of the whole workload.
        energy_uj: energy of one step.
        edp_uj_ms: energy x latency.
        onchip_kb: on-chip SRAM the hardware provides (all buffers).
        working_set_kb: largest on-chip footprint the schedule asks for: the largest step's two
            operands and result; for the reuse schedule, plus every forward intermediate it
            keeps for the backward steps (all layers' instances at once, the worst case).
        macs: multiply-accumulates of one step.
        dram_mb: DRAM traffic of one step, in MB.
    """

    latency_ms: float
    energy_uj: float
    edp_uj_ms: float
    onchip_kb: float
    working_set_kb: float
    macs: int
    dram_mb: float = 0.0


def measure(metrics: Metrics, hw: Hardware) -> Measure:
    """The :class:`Measure` of an evaluated design (``hw``: the hardware it ran on)."""
    ws = max((step_kb(s.batch, s.m, s.n, s.k, hw) for p in metrics.passes for s in p.steps), default=0.0)
    return Measure(
        latency_ms=metrics.latency_ms,
        energy_uj=metrics.energy_uj,
        edp_uj_ms=metrics.edp_uj_ms,
        onchip_kb=metrics.onchip_kb,
        working_set_kb=ws,
        macs=metrics.macs,
        dram_mb=metrics.dram_mb,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparisonRow:
    """Two measurements of one comparison for one design, and their ratios (reference / subject)."""

    trial: int
    comparison: str
    params: int
    compression: float
    reference: Measure
    subject: Measure

    def ratio(self, column: str) -> float:
        """``reference.<column> / subject.<column>`` (NaN when the subject is not positive)."""
        return ratio(float(getattr(self.reference, column)), float(getattr(self.subject, column)))

    def to_record(self) -> dict[str, Any]:
        """One CSV row (:data:`CSV_COLUMNS`)."""
        ref_label, sub_label, _ = COMPARISONS[self.comparison]
        out: dict[str, Any] = {
            "trial": self.trial,
            "comparison": self.comparison,
            "reference": ref_label,
            "subject": sub_label,
            "params": self.params,
            "compression": self.compression,
        }
        for col, _ in METRICS:
            out[f"reference_{col}"] = getattr(self.reference, col)
            out[f"subject_{col}"] = getattr(self.subject, col)
        out["reference_macs"] = self.reference.macs
        out["subject_macs"] = self.subject.macs
        for col, stem in METRICS:
            out[f"{stem}_ratio_ref_over_sub"] = self.ratio(col)
        out["macs_ratio_ref_over_sub"] = self.ratio("macs")
        return out


def _reuse_measure(reuse: ReuseTraining, hw: Hardware) -> Measure:
    latency_ms = reuse.cost.cycles / (hw.freq_mhz * 1e3)
    energy_uj = reuse.cost.energy_pj * 1e-6
    return Measure(
        latency_ms=latency_ms,
        energy_uj=energy_uj,
        edp_uj_ms=energy_uj * latency_ms,
        onchip_kb=hw.sram_kb,
        working_set_kb=reuse.working_set_kb,
        macs=reuse.macs,
        dram_mb=reuse.cost.dram_bytes / 1e6,
    )


# --------------------------------------------------------------------------- one design
def compare_design(
    design: Design,
    *,
    trial: int = -1,
    dense_fastest: Design | None = None,
    dense_most_efficient: Design | None = None,
) -> list[ComparisonRow]:
    """Every comparison of :data:`COMPARISONS` for ``design`` (see the module docstring).

    Args:
        design: the design as the study evaluated it (its mode, hardware and path policy).
        trial: trial number, carried into the rows.
        dense_fastest: the dense model on the hardware a dense search found fastest (omit to
            leave out ``dense_best_hw_latency``).
        dense_most_efficient: the same for the lowest energy (``dense_best_hw_energy``).

    Every row's two measurements come from evaluations made inside this call.
    """
    hw = design.hardware
    base = evaluate(design)
    base_m = measure(base, hw)
    params, compression = base.params, base.compression
    rows: list[ComparisonRow] = []

    def row(key: str, ref: Measure, sub: Measure) -> None:
        rows.append(
            ComparisonRow(
                trial=trial, comparison=key, params=params, compression=compression, reference=ref, subject=sub
            )
        )

    row("path_mac_optimal", measure(evaluate(replace(design, path_policy="mac_optimal")), hw), base_m)
    row("path_naive", measure(evaluate(replace(design, path_policy="naive")), hw), base_m)
    row("dense_same_hw", measure(evaluate(dense_design(design)), hw), base_m)
    if dense_fastest is not None:
        row("dense_best_hw_latency", measure(evaluate(dense_fastest), dense_fastest.hardware), base_m)
    if dense_most_efficient is not None:
        row("dense_best_hw_energy", measure(evaluate(dense_most_efficient), dense_most_efficient.hardware), base_m)
    inference = base if design.mode == "inference" else evaluate(replace(design, mode="inference"))
    training = base if design.mode == "training" else evaluate(replace(design, mode="training"))
    training_m = measure(training, hw)
    row("training_vs_inference", training_m, measure(inference, hw))
    row("training_reuse", training_m, _reuse_measure(price_reuse_training(design, training), hw))
    single = replace(hw, pe_cols=hw.pe_cols * hw.n_engines, n_engines=1, aux_rows=0, aux_cols=0)
    systolic_hw = replace(single, engine="systolic")
    ce_hw = replace(single, engine="contraction_engine")
    row(
        "engine",
        measure(evaluate(replace(design, hardware=systolic_hw)), systolic_hw),
        measure(evaluate(replace(design, hardware=ce_hw)), ce_hw),
    )
    unfused = base if design.execution == "unfused" else evaluate(replace(design, execution="unfused"))
    row("execution_unfused", measure(unfused, hw), base_m)
    return rows


def best_versus_best(rows: Sequence[ComparisonRow]) -> list[ComparisonRow]:
    """Each model on the best hardware found for it: the ``dense_best_hw_latency`` row of the
    fastest compared design and the ``dense_best_hw_energy`` row of the lowest-energy one."""
    out: list[ComparisonRow] = []
    for key, col in (("dense_best_hw_latency", "latency_ms"), ("dense_best_hw_energy", "energy_uj")):
        mine = [r for r in rows if r.comparison == key]
        if mine:
            out.append(min(mine, key=lambda r: float(getattr(r.subject, col))))
    return out


# --------------------------------------------------------------------------- summaries
@dataclass(frozen=True, slots=True)
class RatioSummary:
    """Spread of one ratio over the compared designs."""

    comparison: str
    metric: str
    n: int
    min: float
    median: float
    max: float


def summarize(rows: Sequence[ComparisonRow]) -> list[RatioSummary]:
    """Min / median / max of every ratio of every comparison over the designs (NaN skipped)."""
    out: list[RatioSummary] = []
    for key in COMPARISONS:
        mine = [r for r in rows if r.comparison == key]
        if not mine:
            continue
        for col, stem in (*METRICS, ("macs", "macs")):
            vals = [v for v in (r.ratio(col) for r in mine) if not math.isnan(v)]
            if vals:
                out.append(RatioSummary(key, stem, len(vals), min(vals), statistics.median(vals), max(vals)))
    return out


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "nan"
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.3e}"


def _grid(header: list[str], lines: list[list[str]]) -> str:
    table = [header, *lines]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    out = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def format_table(rows: Sequence[ComparisonRow], column: str = "latency_ms") -> str:
    """One line per design: its latency, then the ``column`` ratio (reference / subject) of
    every comparison."""
    keys = [k for k in COMPARISONS if any(r.comparison == k for r in rows)]
    by = {(r.trial, r.comparison): r for r in rows}
    first: dict[int, ComparisonRow] = {}
    for r in rows:
        first.setdefault(r.trial, r)
    lines = []
    for t, r0 in first.items():
        own = by.get((t, "path_mac_optimal"), r0).subject.latency_ms
        cells = [str(t), f"{r0.params:,}", _fmt(own)]
        cells += [_fmt(by[(t, k)].ratio(column)) if (t, k) in by else "" for k in keys]
        lines.append(cells)
    return _grid(["trial", "params", "latency_ms", *keys], lines)


def format_summary(summaries: Sequence[RatioSummary]) -> str:
    """One line per comparison: min / median / max of the latency and energy ratios, the median
    of the others (all reference / subject over the compared designs)."""
    by: dict[str, dict[str, RatioSummary]] = {}
    for s in summaries:
        by.setdefault(s.comparison, {})[s.metric] = s
    spread = ("latency", "energy")
    single = ("edp", "onchip", "working_set", "dram", "macs")
    lines = []
    for key, per in by.items():
        cells = [key, str(max(s.n for s in per.values()))]
        for m in spread:
            got = per.get(m)
            cells.append(f"{_fmt(got.min)} / {_fmt(got.median)} / {_fmt(got.max)}" if got else "")
        cells += [_fmt(per[m].median) if m in per else "" for m in single]
        lines.append(cells)
    header = ["comparison", "designs", "latency min/med/max", "energy min/med/max", *(f"{m} med" for m in single)]
    return _grid(header, lines)


def rows_frame(rows: Sequence[ComparisonRow]) -> pd.DataFrame:
    """The rows as ``compare.csv``'s table (:data:`CSV_COLUMNS`)."""
    return pd.DataFrame([r.to_record() for r in rows], columns=list(CSV_COLUMNS))
