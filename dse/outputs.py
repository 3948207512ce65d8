"""Write a study's outputs into its run folder: tables, dashboard, exports of the front."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd

from dse._design import Design
from dse.config import StudyConfig
from dse.evaluate import evaluate
from dse.export import ExportError, get_exporter
from dse.report import hypervolume_info, write_dashboard
from dse.results import pareto_frame, trials_frame
from dse.study import complete_trials


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
