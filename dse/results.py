"""Study -> tables: one row per finished trial, and the Pareto front (units in column names)."""

from __future__ import annotations

import json
from typing import Any

import optuna
import pandas as pd

from dse.config import OBJECTIVE_SPECS, StudyConfig
from dse.pareto import pareto_mask, to_minimization
from dse.study import complete_trials

METRIC_COLUMNS: tuple[str, ...] = (
    "latency_ms",
    "latency_cycles",
    "energy_uj",
    "edp_uj_ms",
    "area_mm2",
    "power_mw",
    "params",
    "dense_params",
    "compression",
    "onchip_kb",
    "macs",
    "mac_optimal_macs",
    "utilization",
)


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per finished trial: metrics, feasibility, the sampled parameters, the design JSON."""
    rows: list[dict[str, Any]] = []
    for t in complete_trials(study):
        metrics = t.user_attrs["metrics"]
        row: dict[str, Any] = {"trial": t.number}
        row.update({k: metrics[k] for k in METRIC_COLUMNS if k in metrics})
        viol = t.user_attrs.get("constraints", [])
        row["feasible"] = bool(t.user_attrs.get("feasible", True))
        row["violation"] = float(sum(max(0.0, v) for v in viol))
        row.update({f"param:{k}": v for k, v in t.params.items()})
        row["design_json"] = json.dumps(t.user_attrs["design"], sort_keys=True)
        rows.append(row)
    return pd.DataFrame(rows)


def pareto_frame(df: pd.DataFrame, cfg: StudyConfig) -> pd.DataFrame:
    """Rows of ``df`` on the (constrained) Pareto front of the study's objectives, sorted."""
    if df.empty:
        return df.copy()
    values = to_minimization(df[list(cfg.objectives)].to_numpy(dtype=float), cfg.directions)
    mask = pareto_mask(values, df["violation"].to_numpy(dtype=float))
    front = df[mask].copy()
    return front.sort_values(list(cfg.objectives)).reset_index(drop=True)


def summary_table(front: pd.DataFrame, cfg: StudyConfig, *, limit: int = 12) -> str:
    """A short text table of the front: trial, objectives with units, the key hardware."""
    if front.empty:
        return "no finished trials"
    cols = ["trial", *cfg.objectives]
    extra = [c for c in ("param:pe_rows", "param:pe_cols", "param:dataflow") if c in front]
    extra += [c for c in front.columns if c.startswith(("param:rank@", "param:in_shape"))][:4]
    shown = front[cols + extra].head(limit)
    header = (
        ["trial"]
        + [f"{o} [{OBJECTIVE_SPECS[o].unit}]" for o in cfg.objectives]
        + [c.removeprefix("param:") for c in extra]
    )
    lines = [header]
    for _, r in shown.iterrows():
        cells = [str(int(r["trial"]))]
        for o in cfg.objectives:
            v = float(r[o])
            cells.append(f"{v:.4g}" if abs(v) < 1e6 else f"{v:.3e}")
        cells += [str(r[c]) for c in extra]
        lines.append(cells)
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    if len(front) > limit:
        out.append(f"... {len(front) - limit} more on the front (see pareto.csv)")
    return "\n".join(out)
