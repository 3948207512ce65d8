"""A design point (model configuration + hardware + policies) and its metrics."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from analytical_models import Cost, Hardware
from dse._errors import DSEError
from dse.workload import LayerSpec, Workload


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
    """

    workload: Workload
    hardware: Hardware
    mode: str = "training"
    path_policy: str = "hardware_aware"
    path_optimizer: str = "dp"
    mapping_objective: str = "latency"
    path_choices: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description; :meth:`from_dict` reads it back."""
        hw = asdict(self.hardware)
        hw["dataflows"] = list(self.hardware.dataflows)
        return {
            "mode": self.mode,
            "path_policy": self.path_policy,
            "path_optimizer": self.path_optimizer,
            "mapping_objective": self.mapping_objective,
            "path_choices": {k: v for k, v in self.path_choices},
            "hardware": hw,
            "workload": {
                "name": self.workload.name,
                "batch": self.workload.batch,
                "seq_len": self.workload.seq_len,
                "source": self.workload.source,
                "layers": [
                    {
                        "name": s.name,
                        "format": s.format,
                        "in_features": s.in_features,
                        "out_features": s.out_features,
                        "in_shape": list(s.in_shape),
                        "out_shape": list(s.out_shape),
                        "ranks": list(s.ranks),
                        "count": s.count,
                    }
                    for s in self.workload.layers
                ],
            },
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Design:
        """Inverse of :meth:`to_dict`. Raises :class:`DSEError` on a malformed record."""
        try:
            hw = dict(data["hardware"])
            hw["dataflows"] = tuple(hw["dataflows"])
            wl = data["workload"]
            tokens = int(wl["batch"]) * int(wl["seq_len"])
            layers = tuple(
                LayerSpec(
                    name=lay["name"],
                    format=lay["format"],
                    in_features=int(lay["in_features"]),
                    out_features=int(lay["out_features"]),
                    in_shape=tuple(int(v) for v in lay.get("in_shape", ())),
                    out_shape=tuple(int(v) for v in lay.get("out_shape", ())),
                    ranks=tuple(int(v) for v in lay.get("ranks", ())),
                    tokens_per_step=tokens,
                    count=int(lay.get("count", 1)),
                )
                for lay in wl["layers"]
            )
            return Design(
                workload=Workload(
                    name=wl["name"],
                    batch=int(wl["batch"]),
                    seq_len=int(wl["seq_len"]),
                    layers=layers,
                    source=wl.get("source", ""),
                ),
                hardware=Hardware(**hw),
                mode=data["mode"],
                path_policy=data["path_policy"],
                path_optimizer=data["path_optimizer"],
                mapping_objective=data["mapping_objective"],
                path_choices=tuple(sorted((str(k), int(v)) for k, v in data.get("path_choices", {}).items())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DSEError(f"malformed design record: {exc}") from None


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One pairwise contraction step of a chosen plan, lowered to a GEMM and priced.

    ``lhs``/``rhs``/``out`` name tensors (inputs by name, intermediates ``t<id>``); ``batch, m,
    n, k`` are the GEMM ``C[b,m,n] = A[b,m,k] B[b,k,n]``; the tile sizes (elements) and loop order
    are the best mapping found; ``cycles`` and ``energy_pj`` its cost (one layer instance).
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


@dataclass(frozen=True, slots=True)
class PassRecord:
    """Cost of one pass (forward / dx / dg_k) of one layer, for all ``count`` instances."""

    layer: str
    pass_name: str
    count: int
    einsum: str
    path: tuple[tuple[int, int], ...]
    macs: int
    mac_optimal_macs: int
    cost: Cost
    steps: tuple[StepRecord, ...]


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

    def breakdown(self) -> list[dict[str, Any]]:
        """One row per layer x pass with cycles, energy and their components."""
        rows = []
        for p in self.passes:
            row: dict[str, Any] = {
                "layer": p.layer,
                "pass": p.pass_name,
                "count": p.count,
                "macs": p.macs,
                "cycles": p.cost.cycles,
                "energy_pj": p.cost.energy_pj,
            }
            row.update({f"{k}_cycles": v for k, v in p.cost.cycle_breakdown().items()})
            row.update({f"{k}_energy_pj": v for k, v in p.cost.energy_breakdown_pj().items()})
            rows.append(row)
        return rows

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
                    "steps": [asdict(s) for s in p.steps],
                }
                for p in self.passes
            ],
        }


_SCALARS = tuple(f.name for f in fields(Metrics) if f.name not in ("total", "passes"))
