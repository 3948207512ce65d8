"""A study's outputs: its tables (one row per trial, the Pareto front, a text summary) and the
files of its run folder (``trials.csv``, ``pareto.csv``, ``hypervolume.csv``, ``dashboard.html``,
``exports/trial_<n>.json``). Units are in the column names."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial

from analytical_models import Cost
from dse._catalog import COLUMN_KEYS, HARDWARE_FIELDS, METRICS, MODEL_SIZE_KEYS, default_direction, rank_parameter
from dse._catalog import header as header_of
from dse._design import Design, PassRecord, StepRecord
from dse.compare import fill_baselines
from dse.config import StudyConfig
from dse.evaluate import evaluate
from dse.export import DEFAULT_EXPORT_OPTIONS, ExportError, ExportOptions, get_exporter
from dse.pareto import pareto_mask, to_minimization
from dse.report import HypervolumeInfo, describe_bounds, hypervolume_info, violation_total, write_dashboard
from dse.study import Evaluator, complete_trials

BASELINES = 16
"""Front designs (evenly spread) the dashboard compares with their dense and MAC-optimal
baselines."""

METRIC_COLUMNS: tuple[str, ...] = COLUMN_KEYS
"""Metric columns of ``trials.csv`` and ``pareto.csv`` (from the metric catalog)."""

VIOLATION_PREFIX = "violation_"
"""``violation_<metric>``: metric minus its bound, in the metric's unit (positive = over the bound).
Same prefix as :data:`dse.report.VIOLATION_PREFIX`."""


def _constraint_bounds(trial: FrozenTrial, cfg: StudyConfig | None) -> list[tuple[str, float]]:
    """``(metric, bound)`` of the study's constraints (from the trial's own record without ``cfg``)."""
    if cfg is not None:
        return [(c.metric, c.max) for c in cfg.constraints]
    metrics = trial.user_attrs.get("metrics", {})
    names = [k.split(":", 1)[1] for k in trial.system_attrs if k.startswith("constraints:")]
    return [(m, float(metrics[m]) - float(trial.system_attrs[f"constraints:{m}"])) for m in names if m in metrics]


def _integral(series: pd.Series) -> bool:
    values = series.dropna()
    if values.empty or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return False
    return bool((values.astype(float) % 1 == 0).all())


def _design_json(record: dict[str, Any] | str) -> str:
    """A trial's design record as sorted-key JSON text (the ``design_json`` column): what a study
    stores on the trial, or the dict an earlier study stored, dumped the same way."""
    return record if isinstance(record, str) else json.dumps(record, sort_keys=True)


def trials_frame(study: optuna.Study, cfg: StudyConfig | None = None) -> pd.DataFrame:
    """One row per finished trial: metrics, feasibility, the sampled parameters, the design JSON.

    Columns: ``trial``; the metrics (units in their names); ``feasible``; one
    ``violation_<metric>`` per study constraint (metric minus bound, in the metric's unit,
    positive = over the bound); ``duplicate_of`` (the first trial with the identical design,
    empty otherwise); ``param:<name>`` for every sampled parameter (empty where a conditional
    parameter is inactive; integer parameters stay integers); ``design_json``.
    """
    rows: list[dict[str, Any]] = []
    bounds: list[tuple[str, float]] | None = None
    for t in complete_trials(study):
        metrics = t.user_attrs["metrics"]
        row: dict[str, Any] = {"trial": t.number}
        row.update({k: metrics[k] for k in METRIC_COLUMNS if k in metrics})
        row["feasible"] = bool(t.user_attrs.get("feasible", True))
        if bounds is None:
            bounds = _constraint_bounds(t, cfg)
        for metric, bound in bounds:
            row[VIOLATION_PREFIX + metric] = float(metrics[metric]) - bound
        row.update({f"param:{k}": v for k, v in t.params.items()})
        row["design_json"] = _design_json(t.user_attrs["design"])
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    first = df.groupby("design_json", sort=False)["trial"].transform("min")
    duplicate_of = first.where(first != df["trial"]).astype("Int64")
    df.insert(list(df.columns).index("feasible") + 1 + len(bounds or ()), "duplicate_of", duplicate_of)
    for col in [c for c in df.columns if c.startswith("param:")]:
        if df[col].isna().any() and _integral(df[col]):
            df[col] = df[col].astype("Int64")
    return df


def model_size_key(cfg: StudyConfig) -> str:
    """The model-size metric a front is sorted by: the study's model-side objective, else params."""
    return next((o for o in cfg.objectives if o in MODEL_SIZE_KEYS), "params")


def pareto_frame(df: pd.DataFrame, cfg: StudyConfig) -> pd.DataFrame:
    """The distinct designs of ``df`` on the (constrained) Pareto front, smallest model first.

    Trials with an identical design (same design JSON) are one row: the first trial, with the
    others in ``duplicate_trials`` (space-separated trial numbers). Rows are sorted by model
    size (:func:`model_size_key`; ascending parameters, or descending compression), then by the
    study's objectives. Constrained domination uses
    :func:`dse.report.violation_total` (violations as fractions of their bounds).
    """
    if df.empty:
        return df.copy()
    values = to_minimization(df[list(cfg.objectives)].to_numpy(dtype=float), cfg.directions)
    mask = pareto_mask(values, violation_total(df))
    front = df[mask].sort_values("trial")
    dups = front.groupby("design_json", sort=False)["trial"].agg(lambda t: " ".join(str(int(v)) for v in list(t)[1:]))
    front = front.drop_duplicates("design_json", keep="first").copy()
    front.insert(list(front.columns).index("design_json"), "duplicate_trials", front["design_json"].map(dups))
    key = model_size_key(cfg)
    ascending = default_direction(key) != "maximize"
    others = [o for o in cfg.objectives if o != key]
    front = front.sort_values([key, *others], ascending=[ascending] + [True] * len(others), kind="stable")
    return front.reset_index(drop=True)


def merged_duplicates(front: pd.DataFrame) -> int:
    """How many duplicate trials :func:`pareto_frame` merged into the rows of ``front``."""
    if "duplicate_trials" not in front:
        return 0
    return int(sum(len(str(v).split()) for v in front["duplicate_trials"] if isinstance(v, str)))


def hardware_fields(design_json: str) -> dict[str, str]:
    """The :data:`~dse._catalog.HARDWARE_FIELDS` of a design, as table cells."""
    hw = json.loads(design_json)["hardware"]
    return {
        "engine": str(hw["engine"]),
        "pe_array": f"{hw['pe_rows']}x{hw['pe_cols']}",
        "ifmap_sram_kb": f"{hw['ifmap_sram_kb']:g}",
        "filter_sram_kb": f"{hw['filter_sram_kb']:g}",
        "ofmap_sram_kb": f"{hw['ofmap_sram_kb']:g}",
        "dram_bw_bytes_per_cycle": f"{hw['dram_bw_bytes_per_cycle']:g}",
        "dataflow": "/".join(hw["dataflows"]),
    }


def _cell(value: Any, key: str = "") -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if METRICS.get(key) is not None and METRICS[key].unit == "count":
        return f"{round(float(value)):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        return f"{int(v)}" if v.is_integer() and abs(v) < 1e15 else f"{v:.4g}"
    return str(value)


RANK_COLUMNS_SHOWN = 8
"""At most this many rank columns in the printed table (all of them are in ``pareto.csv``)."""


def summary_table(front: pd.DataFrame, cfg: StudyConfig, *, limit: int = 12) -> str:
    """The front as a text table that answers "what should I build for this model size".

    One row per distinct design, smallest model first: trial, the model-size objective, the
    other objectives (units in the headers), the hardware (engine, PE array, the three buffers
    in kB, DRAM bandwidth, dataflow), the searched layer formats (``format@<layer>``) and the rank
    parameters (tied ``rank``, ``rank@<layer>``, or ``rank_<format>@<layer>``).
    Inactive conditional parameters print as ``-``; merged duplicate designs are counted below.
    """
    if front.empty:
        return "no finished trials"
    key = model_size_key(cfg)
    metrics = [key, *[o for o in cfg.objectives if o != key]]
    formats = [c for c in front.columns if c.startswith("param:format@")]  # a searched layer format
    ranks = formats + [c for c in front.columns if c.startswith("param:") and rank_parameter(c)]
    shown_ranks = ranks[:RANK_COLUMNS_SHOWN]
    fields = list(HARDWARE_FIELDS)
    header = ["trial", *[header_of(m) for m in metrics], *[header_of(f) for f in fields]]
    header += [header_of(r) for r in shown_ranks]
    lines = [header]
    for _, r in front.head(limit).iterrows():
        hw = hardware_fields(str(r["design_json"]))
        cells = [str(int(r["trial"]))]
        cells += [_cell(r[m], m) for m in metrics]
        cells += [hw[f] for f in fields]
        cells += [_cell(r[c]) for c in shown_ranks]
        lines.append(cells)
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    notes: list[str] = []
    if len(front) > limit:
        notes.append(f"{len(front) - limit} more designs on the front (see pareto.csv)")
    if len(ranks) > len(shown_ranks):
        notes.append(f"{len(ranks) - len(shown_ranks)} more rank columns in pareto.csv")
    merged = merged_duplicates(front)
    if merged:
        notes.append(
            f"{merged} duplicate trial{'s' if merged > 1 else ''} merged (same design as a listed trial; "
            "pareto.csv column duplicate_trials)"
        )
    if cfg.constraints and "feasible" in front and not front["feasible"].all():
        notes.append("no design meets the constraints: these violate them least")
    sort_note = "largest compression first" if default_direction(key) == "maximize" else "smallest model first"
    return "\n".join([f"Pareto front: {len(front)} distinct designs, {sort_note}", *out, *[f"... {n}" for n in notes]])


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
    options: ExportOptions = DEFAULT_EXPORT_OPTIONS,
    evaluator: Evaluator | None = None,
) -> list[Path]:
    """Re-evaluate the given trials' designs and export each with ``target``.

    A design the target cannot build raises :class:`ExportError` (the first such design, in
    ``trial_numbers`` order); when ``refused`` is given, it collects ``trial -> reason`` instead
    and the other designs are still exported. A trial whose design is identical to an earlier
    one of ``trial_numbers`` is skipped (exported once). With ``evaluator`` (a study's open
    evaluation processes) the designs are evaluated and written on its local processes, where
    the study's caches are (on a Dask cluster, or closed: here, one by one).
    """
    get_exporter(target)  # (an unknown target fails before any evaluation)
    by_number = {t.number: t for t in complete_trials(study)}
    jobs: list[_ExportJob] = []
    seen: set[str] = set()
    for number in trial_numbers:
        key = _design_json(by_number[number].user_attrs["design"])
        if key in seen:  # an identical design is exported once, under its first trial
            continue
        seen.add(key)
        jobs.append((number, key, target, out_dir, options))
    done = evaluator.map(_export_one, jobs) if evaluator is not None and len(jobs) > 1 else None
    written: list[Path] = []
    for job, (paths, error) in zip(jobs, done if done is not None else map(_export_one, jobs), strict=True):
        if error is not None:
            if refused is None:
                raise ExportError(error)
            refused[job[0]] = error
        written += paths
    return written


_ExportJob = tuple[int, str, str, Path, ExportOptions]
"""``(trial number, design JSON, target, folder, options)`` of one export."""


def _export_one(job: _ExportJob) -> tuple[list[Path], str | None]:
    """Evaluate one design and export it: ``(written paths, None)``, or ``([], why)`` when the
    target cannot build it (runs in the study's evaluation processes)."""
    number, key, target, out_dir, options = job
    design = Design.from_dict(key)
    try:
        return get_exporter(target)(design, evaluate(design), out_dir, f"trial_{number}", options), None
    except ExportError as exc:
        return [], str(exc)


def write_hypervolume(path: Path, df: pd.DataFrame, cfg: StudyConfig, hv: HypervolumeInfo | None = None) -> Path:
    """``hypervolume.csv``: normalized hypervolume of the feasible front after each finished trial.

    The header comments give the bounds used for the normalization (each objective's best and
    worst value, in its own unit and direction) and the reference point (1.1 in every normalized
    objective).
    """
    if hv is None:
        hv = hypervolume_info(df, cfg.objectives, cfg.directions)
    lines = [
        f"# objectives: {', '.join(f'{o} ({d})' for o, d in zip(hv.objectives, hv.directions, strict=True))}",
        f"# bounds over all trials, in the objectives' own units and directions: {describe_bounds(hv)}",
        f"# the same in minimization form (maximized objectives negated): lower={hv.lower} upper={hv.upper}",
        "# reference point: 1.1 in every objective scaled to [0, 1] (10 % beyond each worst value); "
        "hypervolume is a fraction of the 1.1^m box",
        "trial,hypervolume_normalized",
    ]
    lines += [f"{t},{v:.6f}" for t, v in zip(hv.trials, hv.hypervolume, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


CACHE_DIR = ".cache"
"""Folder of a run that keeps what re-writing the outputs may reuse (baseline evaluations)."""


def _load_cache(path: Path) -> dict[str, list[float]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): list(v) for k, v in data.items()} if isinstance(data, dict) else {}


def export_passes(path: Path) -> tuple[PassRecord, ...] | None:
    """The per-pass records of a ``json`` export (``None`` when the file is missing, or written
    by a version whose records do not match this one's)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return tuple(
            PassRecord(
                layer=p["layer"],
                pass_name=p["pass"],
                count=int(p["count"]),
                einsum=p["einsum"],
                path=tuple((int(a), int(b)) for a, b in p["path"]),
                macs=int(p["macs"]),
                mac_optimal_macs=int(p["mac_optimal_macs"]),
                cost=Cost(**p["cost"]),
                steps=tuple(StepRecord(**s) for s in p["steps"]),
            )
            for p in record["metrics"]["passes"]
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_outputs(
    study: optuna.Study,
    cfg: StudyConfig,
    *,
    dashboard: bool = True,
    detail: Sequence[int] | str = (),
    evaluator: Evaluator | None = None,
) -> Outputs:
    """``trials.csv``, ``pareto.csv``, ``hypervolume.csv``, ``dashboard.html`` and
    ``exports/trial_<n>.json`` (one per distinct front design).

    ``evaluator``: the study's evaluation processes, still open (:func:`dse.run_study`'s
    ``evaluator``): the front designs are re-evaluated and exported there, where the study's
    caches are, in parallel, and the dashboard's baselines evaluated there (a 10,000-trial
    TT-BERT study's 235 front designs: 4.8 s against about 15 s here, one by one from cold).

    Writing again is incremental: a front design whose JSON export exists is not re-evaluated
    (a trial's design never changes), exports of designs that left the front are removed, and
    the baseline evaluations of the dashboard are kept in ``.cache/baselines.json``.
    """
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    df = trials_frame(study, cfg)
    front = pareto_frame(df, cfg)
    trials_csv = run_dir / "trials.csv"
    pareto_csv = run_dir / "pareto.csv"
    _csv_frame(df).to_csv(trials_csv, index=False)
    _csv_frame(front).to_csv(pareto_csv, index=False)
    hv = hypervolume_info(df, cfg.objectives, cfg.directions)
    write_hypervolume(run_dir / "hypervolume.csv", df, cfg, hv)
    # exports first: they evaluate the front designs, which the dashboard's panels then find cached
    exports_dir = run_dir / "exports"
    numbers = [int(t) for t in front.get("trial", [])]
    wanted = {exports_dir / f"trial_{n}.json" for n in numbers}
    if exports_dir.is_dir():
        for old in exports_dir.glob("trial_*.json"):
            if old not in wanted:
                old.unlink()
    missing = [n for n in numbers if not (exports_dir / f"trial_{n}.json").is_file()]
    export_designs(study, missing, "json", exports_dir, evaluator=evaluator)
    exports = tuple(exports_dir / f"trial_{n}.json" for n in numbers)
    html = run_dir / "dashboard.html"
    if dashboard:
        cache_path = run_dir / CACHE_DIR / "baselines.json"
        cache = _load_cache(cache_path)
        if evaluator is not None:  # (the baselines evaluated on the study's processes too)
            fill_baselines(front, cache, evaluator.map, limit=BASELINES)
        write_dashboard(
            html,
            cfg,
            study,
            df=df,
            front=front,
            detail=detail,
            max_baselines=BASELINES,
            baseline_cache=cache,
            known=lambda n: export_passes(exports_dir / f"trial_{n}.json"),
            hypervolume=hv,
        )
        live = set(front.get("design_json", []))
        cache_path.parent.mkdir(exist_ok=True)
        cache_path.write_text(json.dumps({k: v for k, v in cache.items() if k in live}), encoding="utf-8")
    return Outputs(trials_csv, pareto_csv, html, exports, df, front)
