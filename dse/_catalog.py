"""The metric catalog: one entry per metric a design reports, and everything derived from it.

Every table header, CSV column, axis label, unit string, optuna metric name and the lists of
objectives and constraints a study may name come from :data:`METRICS`. A metric's key carries
its unit (``latency_ms``); :attr:`MetricSpec.unit` spells it for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["minimize", "maximize"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One scalar metric of :class:`dse.Metrics`.

    Attributes:
        key: the metric's name (the :class:`dse.Metrics` field, the CSV column, the optuna
            metric name).
        unit: its unit as shown to people (``ms``, ``uJ``, ``count``).
        label: what it measures, without the unit (``latency per step``).
        direction: the default direction when it is a study objective.
        objective: whether a study may name it in ``objectives:``.
        constraint: whether a study may bound it in ``constraints:`` (``metric <= value``).
        column: whether ``trials.csv`` / ``pareto.csv`` carry it as a column.
        scope: what can change it: ``model`` (the model configuration only: parameter counts),
            ``hardware`` (the accelerator only: area, buffers, FPGA resources) or ``design``
            (both, and the paths and mappings).
    """

    key: str
    unit: str
    label: str
    direction: Direction = "minimize"
    objective: bool = False
    constraint: bool = False
    column: bool = True
    scope: Literal["design", "model", "hardware"] = "design"

    @property
    def axis_label(self) -> str:
        """``label [unit]``: an axis title or a table header."""
        return f"{self.label} [{self.unit}]"


METRICS: dict[str, MetricSpec] = {
    m.key: m
    for m in (
        MetricSpec("latency_ms", "ms", "latency per step", objective=True, constraint=True),
        MetricSpec("latency_cycles", "cycles", "latency per step"),
        MetricSpec("energy_uj", "uJ", "energy per step", objective=True, constraint=True),
        MetricSpec("edp_uj_ms", "uJ*ms", "energy-delay product", objective=True),
        MetricSpec("area_mm2", "mm2", "chip area", objective=True, constraint=True, scope="hardware"),
        MetricSpec("power_mw", "mW", "average power", constraint=True),
        MetricSpec("params", "count", "model parameters", objective=True, scope="model"),
        MetricSpec("dense_params", "count", "dense model parameters", scope="model"),
        MetricSpec("compression", "x", "compression vs dense", "maximize", objective=True, scope="model"),
        MetricSpec("onchip_kb", "kB", "on-chip SRAM", objective=True, constraint=True, scope="hardware"),
        MetricSpec("macs", "count", "MACs per step"),
        MetricSpec("mac_optimal_macs", "count", "MACs per step with MAC-optimal paths"),
        MetricSpec("utilization", "fraction", "PE utilization"),
        MetricSpec("dsp_count", "DSP slices", "FPGA DSP slices", objective=True, constraint=True, scope="hardware"),
        MetricSpec(
            "bram_blocks", "BRAM36 blocks", "FPGA block RAMs", objective=True, constraint=True, scope="hardware"
        ),
        MetricSpec("energy_pj", "pJ", "energy per step", column=False),
        MetricSpec("dram_mb", "MB", "DRAM traffic per step", objective=True, constraint=True),
        MetricSpec("compulsory_dram_mb", "MB", "compulsory DRAM traffic per step"),
        MetricSpec("dram_over_compulsory", "x", "DRAM traffic / compulsory traffic", objective=True),
        MetricSpec("accuracy", "score", "model accuracy", "maximize", objective=True, scope="model"),
        MetricSpec(
            "weight_error",
            "rel. Frobenius",
            "weight error (post-training fidelity, not accuracy)",
            objective=True,
            constraint=True,
            scope="model",
        ),
    )
}
"""Every scalar metric, in table order."""

OBJECTIVE_KEYS: tuple[str, ...] = tuple(k for k, m in METRICS.items() if m.objective)
"""Metrics a study may optimize."""

CONSTRAINT_KEYS: tuple[str, ...] = tuple(k for k, m in METRICS.items() if m.constraint)
"""Metrics a study may bound (``constraints: {area_mm2: 2.0}``)."""

COLUMN_KEYS: tuple[str, ...] = tuple(k for k, m in METRICS.items() if m.column)
"""Metrics written as columns of ``trials.csv`` and ``pareto.csv``."""

MODEL_SIZE_KEYS: tuple[str, ...] = ("params", "compression")
"""Model-size metrics, in the order a table picks its model-size column from a study's objectives."""

QUALITY_KEYS: tuple[str, ...] = ("accuracy", "weight_error")
"""Model-quality metrics, measured by :mod:`dse.study` outside the hardware model (they depend on
the model configuration only) and present only when the study asks for them: ``accuracy`` (the
study's ``quality:`` callable or table; the value is the user's, e.g. a test accuracy in [0, 1])
and ``weight_error`` (the relative Frobenius error of the named layer weights in their format:
post-training fidelity, not accuracy)."""

HARDWARE_FIELDS: dict[str, MetricSpec] = {
    m.key: m
    for m in (
        MetricSpec("engine", "", "engine", column=False, scope="hardware"),
        MetricSpec("pe_array", "RxC", "PE array", column=False, scope="hardware"),
        MetricSpec("ifmap_sram_kb", "kB", "ifmap", column=False, scope="hardware"),
        MetricSpec("filter_sram_kb", "kB", "filter", column=False, scope="hardware"),
        MetricSpec("ofmap_sram_kb", "kB", "ofmap", column=False, scope="hardware"),
        MetricSpec("dram_bw_bytes_per_cycle", "B/cycle", "DRAM", column=False, scope="hardware"),
        MetricSpec("dataflow", "", "dataflow", column=False, scope="hardware"),
    )
}
"""The hardware of a design as tables show it, with units: the engine, the PE array (rows x
columns), the ifmap / filter / ofmap buffers, the DRAM bandwidth and the dataflows the array runs
(``/``-joined)."""


def unit(key: str) -> str:
    """Unit of a metric (empty for an unknown key)."""
    spec = METRICS.get(key)
    return spec.unit if spec else ""


def units() -> dict[str, str]:
    """``metric -> unit`` for every metric (recorded on each trial for optuna-dashboard)."""
    return {k: m.unit for k, m in METRICS.items()}


def header(key: str) -> str:
    """Table header of a metric or hardware field: ``key [unit]`` (``latency_ms [ms]``,
    ``ifmap [kB]``), the bare name when it has no unit."""
    spec = METRICS.get(key)
    if spec is not None:
        return f"{key} [{spec.unit}]"
    hw = HARDWARE_FIELDS.get(key)
    if hw is not None:
        return hw.axis_label if hw.unit else hw.label
    return key.removeprefix("param:")


def axis_label(key: str) -> str:
    """Axis title of a metric (``latency per step [ms]``) or of a ``param:<name>`` column."""
    spec = METRICS.get(key)
    if spec is not None:
        return spec.axis_label
    name = key.removeprefix("param:")
    if rank_parameter(name):
        return f"{name} [rank]"
    return name


def rank_parameter(name: str) -> bool:
    """A rank parameter of a search space (``param:`` prefix allowed): ``rank`` (tied),
    ``rank@<layer>``, and with several formats searched ``rank_<format>`` / ``rank_<format>@<layer>``."""
    name = name.removeprefix("param:")
    stem = name.split("@", 1)[0]
    return stem == "rank" or stem.startswith("rank_")


def default_direction(key: str) -> Direction:
    """The direction a metric is optimized in unless the study says otherwise."""
    spec = METRICS.get(key)
    return spec.direction if spec else "minimize"
