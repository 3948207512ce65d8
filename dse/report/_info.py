"""Pure extraction of what a plot shows (no plotly here): small named tuples, easy to test."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dse.config import OBJECTIVE_SPECS
from dse.pareto import pareto_mask

AXIS_LABELS: dict[str, str] = {
    "latency_ms": "latency per step [ms]",
    "energy_uj": "energy per step [uJ]",
    "edp_uj_ms": "energy-delay product [uJ*ms]",
    "area_mm2": "area [mm2]",
    "params": "model parameters [count]",
    "compression": "compression vs dense [x]",
    "onchip_kb": "on-chip SRAM [kB]",
    "power_mw": "average power [mW]",
}


class FrontInfo(NamedTuple):
    """A 2-D front of hardware cost (y) against a model-size measure (x), all trials behind."""

    x_key: str
    y_key: str
    x_label: str
    y_label: str
    all_x: list[float]
    all_y: list[float]
    all_trials: list[int]
    all_hover: list[str]
    front_x: list[float]
    front_y: list[float]
    front_trials: list[int]
    front_hover: list[str]


class BreakdownInfo(NamedTuple):
    """Latency components (cycles) of the study's Pareto designs."""

    trials: list[int]
    components: dict[str, list[float]]


def design_hover(row: pd.Series) -> str:
    """Hover text: the whole design and its metrics, with units."""
    d: dict[str, Any] = json.loads(row["design_json"])
    hw = d["hardware"]
    lines = [
        f"<b>trial {int(row['trial'])}</b>",
        f"latency {row['latency_ms']:.4g} ms ({row['latency_cycles']:.4g} cycles)",
        f"energy {row['energy_uj']:.4g} uJ, EDP {row['edp_uj_ms']:.4g} uJ*ms",
        f"area {row['area_mm2']:.4g} mm2, power {row['power_mw']:.4g} mW",
        f"params {int(row['params']):,} (compression {row['compression']:.3g}x)",
        f"utilization {100 * row['utilization']:.1f} %",
        f"engine {hw['engine']}, PE {hw['pe_rows']}x{hw['pe_cols']}, dataflow {'/'.join(hw['dataflows'])}",
        f"SRAM ifmap/filter/ofmap {hw['ifmap_sram_kb']:g}/{hw['filter_sram_kb']:g}/{hw['ofmap_sram_kb']:g} kB",
        f"DRAM {hw['dram_bw_bytes_per_cycle']:g} B/cycle, {hw['freq_mhz']:g} MHz, {hw['bits']}-bit, {hw['tech']}",
        f"{d['mode']}, paths {d['path_policy']}",
    ]
    for layer in d["workload"]["layers"]:
        if layer["format"] == "dense":
            lines.append(f"{layer['name']}: dense {layer['in_features']}x{layer['out_features']}")
        else:
            ins = "x".join(map(str, layer["in_shape"]))
            outs = "x".join(map(str, layer["out_shape"]))
            lines.append(
                f"{layer['name']}: {layer['format']} {ins} -> {outs}, ranks {layer['ranks']}"
            )
    return "<br>".join(lines)


def _direction(key: str, directions: dict[str, str] | None) -> str:
    if directions and key in directions:
        return directions[key]
    spec = OBJECTIVE_SPECS.get(key)
    return spec.direction if spec else "minimize"


def front_info(
    df: pd.DataFrame, x_key: str, y_key: str, directions: dict[str, str] | None = None
) -> FrontInfo:
    """The 2-D non-dominated set of (x, y) among feasible trials, and every trial for context.

    ``directions`` maps a metric to ``minimize``/``maximize`` (the study's choice); metrics not
    in it use their default direction.
    """
    if df.empty:
        return FrontInfo(
            x_key,
            y_key,
            AXIS_LABELS.get(x_key, x_key),
            AXIS_LABELS.get(y_key, y_key),
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
    sign_x = -1.0 if _direction(x_key, directions) == "maximize" else 1.0
    sign_y = -1.0 if _direction(y_key, directions) == "maximize" else 1.0
    vals = np.column_stack([sign_x * df[x_key].to_numpy(float), sign_y * df[y_key].to_numpy(float)])
    mask = pareto_mask(vals, df["violation"].to_numpy(float))
    hover = [design_hover(r) for _, r in df.iterrows()]
    xs = df[x_key].to_numpy(float)
    ys = df[y_key].to_numpy(float)
    trials = df["trial"].to_numpy(int)
    pos = np.flatnonzero(mask)
    sel = pos[np.argsort(xs[pos], kind="stable")]
    return FrontInfo(
        x_key=x_key,
        y_key=y_key,
        x_label=AXIS_LABELS.get(x_key, x_key),
        y_label=AXIS_LABELS.get(y_key, y_key),
        all_x=xs.tolist(),
        all_y=ys.tolist(),
        all_trials=trials.tolist(),
        all_hover=hover,
        front_x=xs[sel].tolist(),
        front_y=ys[sel].tolist(),
        front_trials=trials[sel].tolist(),
        front_hover=[hover[i] for i in sel],
    )


def breakdown_info(
    front: pd.DataFrame, cycle_breakdowns: dict[int, dict[str, float]]
) -> BreakdownInfo:
    """Latency components of the front's designs (``cycle_breakdowns`` keyed by trial)."""
    trials = [int(t) for t in front["trial"]]
    keys = ("compute", "fill_drain", "stall", "shaping")
    return BreakdownInfo(
        trials=trials,
        components={
            k: [float(cycle_breakdowns.get(t, {}).get(k, 0.0)) for t in trials] for k in keys
        },
    )
