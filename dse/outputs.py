"""A study's outputs: its tables (one row per trial, the Pareto front, a text summary) and the
files of its run folder (``trials.csv``, ``pareto.csv``, ``hypervolume.csv``, ``dashboard.html``,
``exports/trial_<n>.json``). Units are in the column names."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from dse._catalog import COLUMN_KEYS, unit
from dse._design import Design
from dse.config import StudyConfig
from dse.evaluate import evaluate
from dse.export import ExportError, get_exporter
from dse.pareto import pareto_mask, to_minimization
from dse.report import hypervolume_info, write_dashboard
from dse.study import complete_trials, total_violation

METRIC_COLUMNS: tuple[str, ...] = COLUMN_KEYS
"""Metric columns of ``trials.csv`` and ``pareto.csv`` (from the metric catalog)."""


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per finished trial: metrics, feasibility, the sampled parameters, the design JSON."""
    rows: list[dict[str, Any]] = []
    for t in complete_trials(study):
        metrics = t.user_attrs["metrics"]
        row: dict[str, Any] = {"trial": t.number}
        row.update({k: metrics[k] for k in METRIC_COLUMNS if k in metrics})
        viol = t.user_attrs.get("constraints", [])
        row["feasible"] = bool(t.user_attrs.get("feasible", True))
        row["violation"] = total_violation(viol)
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
    header = ["trial"] + [f"{o} [{unit(o)}]" for o in cfg.objectives] + [c.removeprefix("param:") for c in extra]
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


@dataclass(frozen=True, slots=True)
class Outputs:
    """Paths written by :func:`write_outputs`, and the tables behind them."""

    trials_csv: Path
    pareto_csv: Path
    dashboard_html: Path
    exports: tuple[Path, ...]
    trials: pd.DataFrame
    front: pd.DataFrame


def _csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns=lambda c: c.removeprefix("param:"))


def export_designs(
    study: optuna.Study,
    trial_numbers: list[int],
    target: str,
    out_dir: Path,
    refused: dict[int, str] | None = None,
) -> list[Path]:
    """Re-evaluate the given trials' designs and export each with ``target``.

    A design the target cannot build raises :class:`ExportError`; when ``refused`` is given, it
    collects ``trial -> reason`` instead and the other designs are still exported.
    """
    by_number = {t.number: t for t in complete_trials(study)}
    exporter = get_exporter(target)
    written: list[Path] = []
    for number in trial_numbers:
        design = Design.from_dict(by_number[number].user_attrs["design"])
        try:
            written += exporter(design, evaluate(design), out_dir, f"trial_{number}")
        except ExportError as exc:
            if refused is None:
                raise
            refused[number] = str(exc)
    return written


def write_hypervolume(path: Path, df: pd.DataFrame, cfg: StudyConfig) -> Path:
    """``hypervolume.csv``: normalized hypervolume of the feasible front after each finished trial.

    The header comments give the bounds used for the normalization and the reference point (1.1
    in every normalized objective), in the objectives' own units.
    """
    hv = hypervolume_info(df, cfg.objectives, cfg.directions)
    lines = [
        f"# objectives: {', '.join(f'{o} ({d})' for o, d in zip(hv.objectives, hv.directions, strict=True))}",
        f"# normalization bounds (minimization form, maximized objectives negated): lower={hv.lower} upper={hv.upper}",
        f"# reference point (objective units): {hv.reference}; hypervolume is a fraction of the 1.1^m box",
        "trial,hypervolume_normalized",
    ]
    lines += [f"{t},{v:.6f}" for t, v in zip(hv.trials, hv.hypervolume, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_outputs(
    study: optuna.Study, cfg: StudyConfig, *, dashboard: bool = True, detail: Sequence[int] | str = ()
) -> Outputs:
    """``trials.csv``, ``pareto.csv``, ``dashboard.html`` and ``exports/trial_<n>.json``."""
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    df = trials_frame(study)
    front = pareto_frame(df, cfg)
    trials_csv = run_dir / "trials.csv"
    pareto_csv = run_dir / "pareto.csv"
    _csv_frame(df).to_csv(trials_csv, index=False)
    _csv_frame(front).to_csv(pareto_csv, index=False)
    html = run_dir / "dashboard.html"
    if dashboard:
        write_dashboard(html, cfg, study, df=df, front=front, detail=detail)
    write_hypervolume(run_dir / "hypervolume.csv", df, cfg)
    exports_dir = run_dir / "exports"
    if exports_dir.is_dir():
        for old in exports_dir.glob("trial_*.json"):
            old.unlink()
    exports = export_designs(study, [int(t) for t in front.get("trial", [])], "json", exports_dir)
    return Outputs(trials_csv, pareto_csv, html, tuple(exports), df, front)
