"""A design point (model configuration + hardware + policies) and its metrics."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from analytical_models import Cost, Hardware, quick_init
from dse._errors import DSEError
from dse.workload import LayerSpec, WeightRef, Workload

if TYPE_CHECKING:
    from dse.schedule import Schedule


def layer_to_dict(spec: LayerSpec) -> dict[str, Any]:
    """A layer as JSON-ready data (tuples as lists; ``weights`` only when the layer names some)."""
    out: dict[str, Any] = {}
    for f in fields(LayerSpec):
        value = getattr(spec, f.name)
        if f.name == "weights":
            if value is not None:
                out["weights"] = value.to_dict()
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def layer_from_dict(data: dict[str, Any], tokens: int) -> LayerSpec:
    """Inverse of :func:`layer_to_dict` (``tokens`` when the record has no ``tokens_per_step``)."""
    kinds = {f.name: f.type for f in fields(LayerSpec)}
    unknown = set(data) - set(kinds)
    if unknown:
        raise DSEError(f"unknown layer fields {sorted(unknown)}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "weights":
            values[key] = None if value is None else WeightRef(**value)
            continue
        values[key] = tuple(int(v) for v in value) if isinstance(value, list) else value
    values.setdefault("tokens_per_step", tokens)
    return LayerSpec(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class Design:
    """One candidate of a study.

    Attributes:
        workload: the tensorized model configuration (every layer's format, shapes, ranks).
        hardware: the accelerator.
        mode: ``inference`` (forward only) or ``training`` (forward, input and weight gradients).
        path_policy: ``hardware_aware`` (each network's path minimises the mapping objective on
            this hardware) or ``mac_optimal`` (fewest MACs, then priced on this hardware).
        path_optimizer: path optimizer used for the search (``dp``, ``exhaustive``, ``greedy``).
        mapping_objective: what each GEMM's mapping (and a hardware-aware path) minimises.
        path_choices: with ``path_policy="searched"``, the index of the contraction tree (in
            :func:`dse.contraction.enumerate_trees` order) of each ``"<layer>/<pass>"`` network.
        execution: how each layer pass runs (:data:`dse.schedule.EXECUTIONS`): ``unfused``
            (every intermediate through DRAM), ``fused`` (intermediates on chip, token tiles
            streamed) or ``auto`` (the better of the two, per pass). A design record without
            this field (written before schedules existed) reads back as ``unfused``, so it
            re-evaluates to the numbers it was exported with.
    """

    workload: Workload
    hardware: Hardware
    mode: str = "training"
    path_policy: str = "hardware_aware"
    path_optimizer: str = "dp"
    mapping_objective: str = "latency"
    path_choices: tuple[tuple[str, int], ...] = ()
    execution: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description; :meth:`from_dict` reads it back."""
        hw = asdict(self.hardware)
        hw["dataflows"] = list(self.hardware.dataflows)
        return {
            "mode": self.mode,
            "path_policy": self.path_policy,
            "path_optimizer": self.path_optimizer,
            "mapping_objective": self.mapping_objective,
            "execution": self.execution,
            "path_choices": {k: v for k, v in self.path_choices},
            "hardware": hw,
            "workload": {
                **{f.name: getattr(self.workload, f.name) for f in fields(Workload) if f.name != "layers"},
                "layers": [layer_to_dict(s) for s in self.workload.layers],
            },
        }

    @staticmethod
    def from_dict(data: dict[str, Any] | str, *, source: str = "design record") -> Design:
        """Inverse of :meth:`to_dict`; ``data`` may also be that dict as JSON text (what a study
        stores on each trial: :func:`design_record`). A malformed record raises
        :class:`~dse.ConfigError` (a :class:`DSEError`) naming ``source`` and the field
        (:mod:`dse._design_record`)."""
        from dse._design_record import check_design_record

        record = design_record(data, source)
        check_design_record(record, source)
        try:
            hw = dict(record["hardware"])
            hw["dataflows"] = tuple(hw["dataflows"])
            wl = record["workload"]
            tokens = int(wl["batch"]) * int(wl["seq_len"])
            layers = tuple(layer_from_dict(lay, tokens) for lay in wl["layers"])
            return Design(
                workload=Workload(**{**{k: v for k, v in wl.items() if k != "layers"}, "layers": layers}),
                hardware=Hardware(**hw),
                mode=record["mode"],
                path_policy=record["path_policy"],
                path_optimizer=record["path_optimizer"],
                mapping_objective=record["mapping_objective"],
                execution=str(record.get("execution", "unfused")),
                path_choices=tuple(sorted((str(k), int(v)) for k, v in record.get("path_choices", {}).items())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DSEError(f"malformed design record: {exc}") from None


@quick_init
@dataclass(frozen=True, slots=True)
class StepRecord:
    """One pairwise contraction step of a chosen plan, lowered to a GEMM and priced.

    ``lhs``/``rhs``/``out`` name tensors (inputs by name, intermediates ``t<id>``); ``batch, m,
    n, k`` are the GEMM ``C[b,m,n] = A[b,m,k] B[b,k,n]``; the tile sizes (elements) and loop order
    are the best mapping found; ``cycles`` and ``energy_pj`` its cost (one layer instance).

    A step of a fused segment (``fused``) runs on chip on token tiles of ``token_tile`` tokens
    (``n_tiles`` of them): its tiles are the tile GEMM's full dimensions, its ``cycles`` the busy
    cycles of all its tiles and its ``energy_pj`` their MAC and SRAM energy (the segment's DRAM,
    buffer fills and leakage are in the pass's cost, not in any step). ``segment`` numbers the
    pass's segments in execution order.
    """

    lhs: str
    rhs: str
    out: str
    batch: int
    m: int
    n: int
    k: int
    macs: int
    dataflow: str
    tile_m: int
    tile_n: int
    tile_k: int
    loop_order: str
    cycles: float
    energy_pj: float
    fused: bool = False
    segment: int = 0
    token_tile: int = 0
    n_tiles: int = 1


@quick_init
@dataclass(frozen=True, slots=True)
class PassRecord:
    """Cost of one pass (forward / dx / dg_k) of one layer, for all ``count`` instances.

    ``schedule`` is how one instance runs (spilled and on-chip intermediates, token tiles,
    segments); ``compulsory_bytes`` the DRAM bytes no schedule can avoid (inputs, cores and the
    output once), for all instances.
    """

    layer: str
    pass_name: str
    count: int
    einsum: str
    path: tuple[tuple[int, int], ...]
    macs: int
    mac_optimal_macs: int
    cost: Cost
    steps: tuple[StepRecord, ...]
    schedule: Schedule | None = None
    compulsory_bytes: float = 0.0


@dataclass(frozen=True, slots=True)
class Metrics:
    """What a design costs. Every name carries its unit.

    Latency and energy are per training (or inference) step of the whole workload: the sum
    over layers (times their count) and passes of the chosen plans' costs.
    """

    latency_cycles: float
    latency_ms: float
    energy_pj: float
    energy_uj: float
    edp_uj_ms: float
    area_mm2: float
    power_mw: float
    params: int
    dense_params: int
    compression: float
    onchip_kb: float
    dsp_count: int
    bram_blocks: int
    macs: int
    mac_optimal_macs: int
    utilization: float
    dram_mb: float
    compulsory_dram_mb: float
    dram_over_compulsory: float
    total: Cost
    passes: tuple[PassRecord, ...]

    def value(self, key: str) -> float:
        """A scalar metric by name (``latency_ms``, ``energy_uj``, ...)."""
        if key not in _SCALARS:
            raise KeyError(key)
        return float(getattr(self, key))

    def scalars(self) -> dict[str, float]:
        """All scalar metrics."""
        return {k: float(getattr(self, k)) for k in _SCALARS}

    def paths(self) -> dict[str, list[list[int]]]:
        """Chosen SSA path per ``layer/pass``."""
        return {f"{p.layer}/{p.pass_name}": [list(s) for s in p.path] for p in self.passes}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metrics: scalars, the cost breakdown, per-pass detail with paths."""
        return {
            **self.scalars(),
            "cycle_breakdown": self.total.cycle_breakdown(),
            "energy_breakdown_pj": self.total.energy_breakdown_pj(),
            "dram_bytes": self.total.dram_bytes,
            "passes": [
                {
                    "layer": p.layer,
                    "pass": p.pass_name,
                    "count": p.count,
                    "einsum": p.einsum,
                    "path": [list(s) for s in p.path],
                    "macs": p.macs,
                    "mac_optimal_macs": p.mac_optimal_macs,
                    "cycles": p.cost.cycles,
                    "energy_pj": p.cost.energy_pj,
                    "dram_bytes": p.cost.dram_bytes,
                    "compulsory_dram_bytes": p.compulsory_bytes,
                    "schedule": p.schedule.as_dict() if p.schedule is not None else None,
                    "steps": [asdict(s) for s in p.steps],
                }
                for p in self.passes
            ],
        }


_SCALARS = tuple(f.name for f in fields(Metrics) if f.name not in ("total", "passes"))


def design_record(data: dict[str, Any] | str, source: str = "design record") -> dict[str, Any]:
    """A design record (:meth:`Design.to_dict`) from itself or its JSON text. A study stores each
    trial's record as JSON text (``trial.user_attrs["design"]``: one string instead of a few
    hundred nested objects, which kept 10,000 trials above 1 GB in memory); earlier studies
    stored the dict itself, and both read the same."""
    if isinstance(data, str):
        try:
            parsed = json.loads(data)
        except json.JSONDecodeError as exc:
            raise DSEError(f"{source}: not a design record (invalid JSON: {exc})") from None
        if not isinstance(parsed, dict):
            raise DSEError(f"{source}: not a design record (JSON {type(parsed).__name__}, expected an object)")
        return parsed
    return data
