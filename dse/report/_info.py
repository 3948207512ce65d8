"""Pure extraction of what a plot shows (no plotly here): small named tuples, easy to test.

Every ``*_info`` function reads a trials table (:func:`dse.outputs.trials_frame`), a study or
the :class:`~dse._design.Metrics` of a re-evaluated design and returns a named tuple; the figure
functions of :mod:`dse.report._figures` only draw those.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import optuna
import pandas as pd

from dse import Metrics, PassRecord
from dse._catalog import METRICS, axis_label, default_direction, rank_parameter, units
from dse.pareto import normalized_hypervolume, pareto_mask, relative_violation, to_minimization
from dse.report._optuna import _optuna_importance
from dse.report._schedule import schedule_summary

UNITS: dict[str, str] = units()
"""Unit of every metric (from the metric catalog)."""

CYCLE_COMPONENTS: tuple[str, ...] = ("compute", "fill_drain", "stall", "shaping")
"""Latency components of :meth:`analytical_models.Cost.cycle_breakdown`."""

ENERGY_COMPONENTS: tuple[str, ...] = (
    "mac",
    "ifmap_sram",
    "filter_sram",
    "ofmap_sram",
    "dram",
    "leakage",
)
"""Energy components of :meth:`analytical_models.Cost.energy_breakdown_pj`."""


# --------------------------------------------------------------------------- 2-D fronts
VIOLATION_PREFIX = "violation_"
"""Columns ``violation_<metric>`` of a trials table: metric minus bound, in the metric's unit."""

MAX_BACKGROUND = 2000
"""At most this many dominated trials are drawn behind a front (a seeded random sample beyond)."""
MAX_BACKGROUND_3D = 1000
"""The same for the 3-D front (drawn with WebGL)."""


class FrontInfo(NamedTuple):
    """A 2-D front of hardware cost (y) against a model-size measure (x), other trials behind.

    ``all_*`` are the trials off this 2-D front that are drawn behind it: all of them, or a
    seeded random sample of :data:`MAX_BACKGROUND` when there are more (``n_background`` says how
    many there are). Only the front carries hover text (its whole design); ``bounds`` holds the
    study's constraint bound of an axis metric (drawn as a line).
    """

    x_key: str
    y_key: str
    x_label: str
    y_label: str
    all_x: list[float]
    all_y: list[float]
    all_trials: list[int]
    all_feasible: list[bool]
    n_background: int
    front_x: list[float]
    front_y: list[float]
    front_trials: list[int]
    front_hover: list[str]
    bounds: dict[str, float]


class BreakdownInfo(NamedTuple):
    """Latency (cycles) or energy (pJ) components of the study's Pareto designs."""

    trials: list[int]
    components: dict[str, list[float]]
    quantity: str = "cycles"


def background_sample(positions: np.ndarray, cap: int = MAX_BACKGROUND, seed: int = 0) -> np.ndarray:
    """``positions`` when there are at most ``cap`` of them, else a seeded random ``cap`` of them
    (in their original order)."""
    if len(positions) <= cap:
        return positions
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(positions, size=cap, replace=False))


def feasible_mask(df: pd.DataFrame) -> np.ndarray:
    """``feasible`` column of a trials table (every row feasible without one)."""
    return df["feasible"].to_numpy(bool) if "feasible" in df else np.ones(len(df), dtype=bool)


def constraint_bounds(df: pd.DataFrame) -> dict[str, float]:
    """``metric -> bound`` of the study's constraints, read back from a trials table."""
    out: dict[str, float] = {}
    if df.empty:
        return out
    for col in df.columns:
        metric = col.removeprefix(VIOLATION_PREFIX)
        if col.startswith(VIOLATION_PREFIX) and metric in df:
            out[metric] = float(df[metric].iloc[0] - df[col].iloc[0])
    return out


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
        f"PE utilization {row['utilization']:.3f} (fraction)",
        f"engine {hw['engine']}, PE {hw['pe_rows']}x{hw['pe_cols']}, dataflow {'/'.join(hw['dataflows'])}",
        f"SRAM ifmap/filter/ofmap {hw['ifmap_sram_kb']:g}/{hw['filter_sram_kb']:g}/{hw['ofmap_sram_kb']:g} kB",
        f"DRAM {hw['dram_bw_bytes_per_cycle']:g} B/cycle, {hw['freq_mhz']:g} MHz, {hw['bits']}-bit, {hw['tech']}",
        f"{d['mode']}, paths {d['path_policy']}",
    ]
    for layer in d["workload"]["layers"]:
        if not layer.get("in_shape"):
            lines.append(f"{layer['name']}: {layer['format']} {layer['in_features']}x{layer['out_features']}")
        else:
            ins = "x".join(map(str, layer["in_shape"]))
            outs = "x".join(map(str, layer["out_shape"]))
            lines.append(f"{layer['name']}: {layer['format']} {ins} -> {outs}, ranks {layer['ranks']}")
    return "<br>".join(lines)


def _direction(key: str, directions: dict[str, str] | None) -> str:
    if directions and key in directions:
        return directions[key]
    return default_direction(key)


def _signs(keys: Sequence[str], directions: dict[str, str] | None) -> list[str]:
    return [_direction(k, directions) for k in keys]


def violation_total(df: pd.DataFrame) -> np.ndarray:
    """Unitless violation of every row of a trials table, for constrained domination (0 = feasible).

    Each ``violation_<metric>`` column (metric minus its bound, in the metric's unit) counts as a
    fraction of its bound (:func:`dse.pareto.relative_violation`; the bound is the metric column
    minus the violation column), so DSP slices, BRAM blocks and mm2 are never added together.
    A table without violation columns uses its ``feasible`` flag (1 for an infeasible row).
    """
    cols = [c for c in df.columns if c.startswith(VIOLATION_PREFIX) and c.removeprefix(VIOLATION_PREFIX) in df]
    if not cols or df.empty:
        if "feasible" in df:
            return np.where(df["feasible"].to_numpy(bool), 0.0, 1.0)
        return np.zeros(len(df))
    excess = df[cols].to_numpy(float)
    bounds = df[[c.removeprefix(VIOLATION_PREFIX) for c in cols]].to_numpy(float)[0] - excess[0]
    return relative_violation(excess, bounds.tolist())


def _front_mask(df: pd.DataFrame, keys: Sequence[str], directions: dict[str, str] | None) -> np.ndarray:
    vals = to_minimization(df[list(keys)].to_numpy(float), _signs(keys, directions))
    return pareto_mask(vals, violation_total(df))


def front_info(df: pd.DataFrame, x_key: str, y_key: str, directions: dict[str, str] | None = None) -> FrontInfo:
    """The 2-D non-dominated set of (x, y) (constrained domination), and the other trials.

    ``directions`` maps a metric to ``minimize``/``maximize`` (the study's choice); metrics not
    in it use their default direction. At most :data:`MAX_BACKGROUND` other trials are kept.
    """
    x_label, y_label = axis_label(x_key), axis_label(y_key)
    bounds = {k: v for k, v in constraint_bounds(df).items() if k in (x_key, y_key)}
    if df.empty:
        return FrontInfo(x_key, y_key, x_label, y_label, [], [], [], [], 0, [], [], [], [], bounds)
    mask = _front_mask(df, (x_key, y_key), directions)
    xs = df[x_key].to_numpy(float)
    ys = df[y_key].to_numpy(float)
    trials = df["trial"].to_numpy(int)
    feasible = feasible_mask(df)
    pos = np.flatnonzero(mask)
    sel = pos[np.lexsort((ys[pos], xs[pos]))]
    others = np.flatnonzero(~mask)
    back = background_sample(others)
    return FrontInfo(
        x_key=x_key,
        y_key=y_key,
        x_label=x_label,
        y_label=y_label,
        all_x=xs[back].tolist(),
        all_y=ys[back].tolist(),
        all_trials=trials[back].tolist(),
        all_feasible=feasible[back].tolist(),
        n_background=len(others),
        front_x=xs[sel].tolist(),
        front_y=ys[sel].tolist(),
        front_trials=trials[sel].tolist(),
        front_hover=[design_hover(df.iloc[i]) for i in sel],
        bounds=bounds,
    )


def breakdown_info(
    front: pd.DataFrame,
    breakdowns: dict[int, dict[str, float]],
    *,
    quantity: str = "cycles",
) -> BreakdownInfo:
    """Components of the front's designs (``breakdowns`` keyed by trial).

    ``quantity`` is ``cycles`` (components :data:`CYCLE_COMPONENTS`) or ``energy_pj``
    (:data:`ENERGY_COMPONENTS`).
    """
    trials = [int(t) for t in front.get("trial", [])]
    keys = CYCLE_COMPONENTS if quantity == "cycles" else ENERGY_COMPONENTS
    return BreakdownInfo(
        trials=trials,
        components={k: [float(breakdowns.get(t, {}).get(k, 0.0)) for t in trials] for k in keys},
        quantity=quantity,
    )


# --------------------------------------------------------------------------- 3-D front
class Front3DInfo(NamedTuple):
    """Three metrics: their 3-D non-dominated set (with hover) and the other trials (a sample
    of at most :data:`MAX_BACKGROUND_3D`, ``n_background`` in all)."""

    keys: tuple[str, str, str]
    labels: tuple[str, str, str]
    all_xyz: tuple[list[float], list[float], list[float]]
    all_trials: list[int]
    all_feasible: list[bool]
    n_background: int
    front_xyz: tuple[list[float], list[float], list[float]]
    front_trials: list[int]
    front_hover: list[str]


def front3d_keys(objectives: Sequence[str]) -> tuple[str, str, str]:
    """The study's first three objectives, or latency / energy / parameters."""
    if len(objectives) >= 3:
        return (objectives[0], objectives[1], objectives[2])
    return ("latency_ms", "energy_uj", "params")


def front3d_info(df: pd.DataFrame, keys: tuple[str, str, str], directions: dict[str, str] | None = None) -> Front3DInfo:
    """The non-dominated set of three metrics, and the other trials behind it."""
    labels = (axis_label(keys[0]), axis_label(keys[1]), axis_label(keys[2]))
    if df.empty:
        return Front3DInfo(keys, labels, ([], [], []), [], [], 0, ([], [], []), [], [])
    mask = _front_mask(df, keys, directions)
    cols = [df[k].to_numpy(float) for k in keys]
    trials = df["trial"].to_numpy(int)
    sel = np.flatnonzero(mask)
    others = np.flatnonzero(~mask)
    back = background_sample(others, MAX_BACKGROUND_3D)
    return Front3DInfo(
        keys=keys,
        labels=labels,
        all_xyz=(cols[0][back].tolist(), cols[1][back].tolist(), cols[2][back].tolist()),
        all_trials=trials[back].tolist(),
        all_feasible=feasible_mask(df)[back].tolist(),
        n_background=len(others),
        front_xyz=(cols[0][sel].tolist(), cols[1][sel].tolist(), cols[2][sel].tolist()),
        front_trials=trials[sel].tolist(),
        front_hover=[design_hover(df.iloc[i]) for i in sel],
    )


# --------------------------------------------------------------------------- parallel coordinates
class ParallelDimension(NamedTuple):
    """One axis of a parallel-coordinates plot; categoricals carry their codes' labels."""

    label: str
    values: list[float]
    tickvals: list[float] | None
    ticktext: list[str] | None


class ParallelInfo(NamedTuple):
    """Sampled parameters then objectives, one line per trial; ``on_front`` colours the lines.

    Every trial of the study's front is drawn, and the others (all of them, or a seeded random
    sample of :data:`MAX_PARALLEL_LINES`); ``n_trials`` is the number of finished trials. At most
    :data:`MAX_PARALLEL_PARAMS` parameters get an axis (the hardware first, then the model
    configuration in layer order); ``n_params`` is the number of searched parameters.
    """

    dimensions: list[ParallelDimension]
    on_front: list[int]
    trials: list[int]
    n_trials: int = 0
    n_params: int = 0


INACTIVE = "-"
"""How an inactive conditional parameter is shown."""

MAX_PARALLEL_LINES = 500
"""Lines of trials off the front in the parallel-coordinates plot (a random sample beyond)."""

MAX_PARALLEL_PARAMS = 16
"""Parameter axes of the parallel-coordinates plot (a per-layer space of a large model has
hundreds of parameters: every one is in ``trials.csv``)."""


def parallel_info(
    df: pd.DataFrame, objectives: Sequence[str], directions: dict[str, str] | None = None
) -> ParallelInfo:
    """One dimension per ``param:`` column (categoricals, and parameters inactive in some
    trials, encoded as sorted codes with ``-`` for inactive), then the objectives."""
    if df.empty:
        return ParallelInfo([], [], [], 0, 0)
    mask = _front_mask(df, objectives, directions)
    rows = np.sort(np.concatenate([np.flatnonzero(mask), background_sample(np.flatnonzero(~mask), MAX_PARALLEL_LINES)]))
    sub = df.iloc[rows]
    dims: list[ParallelDimension] = []
    columns = [c for c in sub.columns if c.startswith("param:")]
    order = {"hardware": 0, "model": 1, "path": 2}
    shown = sorted(columns, key=lambda c: order[parameter_scope(c.removeprefix("param:"))])[:MAX_PARALLEL_PARAMS]
    for col in [c for c in columns if c in shown]:
        series = sub[col]
        label = col.removeprefix("param:")
        numeric = pd.to_numeric(series, errors="coerce")
        if numeric.notna().all():
            dims.append(ParallelDimension(label, numeric.astype(float).tolist(), None, None))
            continue
        shown = [INACTIVE if pd.isna(v) else str(v) for v in series]
        cats = sorted(set(shown), key=lambda c: (c != INACTIVE, c))
        code = {c: float(i) for i, c in enumerate(cats)}
        dims.append(ParallelDimension(label, [code[v] for v in shown], list(code.values()), cats))
    for key in objectives:
        dims.append(ParallelDimension(axis_label(key), sub[key].to_numpy(float).tolist(), None, None))
    return ParallelInfo(dims, [int(v) for v in mask[rows]], sub["trial"].astype(int).tolist(), len(df), len(columns))


# --------------------------------------------------------------------------- hypervolume
class HypervolumeInfo(NamedTuple):
    """Normalized hypervolume of the feasible front after each finished trial (in trial order).

    ``lower``/``upper`` are the objective bounds over all trials in minimisation form (maximised
    objectives negated); ``reference`` is the reference point in the objectives' own units (for
    a maximised objective it lies below its worst value and may be negative). ``best``/``worst``
    are the same bounds in the objectives' own units and directions: what a person reads.
    """

    objectives: list[str]
    directions: list[str]
    trials: list[int]
    hypervolume: list[float]
    lower: list[float]
    upper: list[float]
    reference: list[float]
    best: list[float]
    worst: list[float]


def hypervolume_info(df: pd.DataFrame, objectives: Sequence[str], directions: Sequence[str]) -> HypervolumeInfo:
    """Hypervolume (fraction of the 1.1^m box after scaling each objective to [0, 1]) over trials.

    The front is updated incrementally; the hypervolume is only recomputed when a trial enters
    it, so the cost grows with the number of front changes, not with the number of trials.
    """
    objs = list(objectives)
    if df.empty:
        return HypervolumeInfo(objs, list(directions), [], [], [], [], [], [], [])
    order = df.sort_values("trial")
    vals = to_minimization(order[objs].to_numpy(float), directions)
    feasible = violation_total(order) <= 0
    lower, upper = vals.min(axis=0), vals.max(axis=0)
    sign = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    reference = sign * (lower + 1.1 * (upper - lower))
    front = np.empty((0, len(objs)))
    current = 0.0
    hv: list[float] = []
    for i in range(len(order)):
        p = vals[i]
        if feasible[i] and not np.any(np.all(front <= p, axis=1)):
            keep = ~np.all(p <= front, axis=1)
            front = np.vstack([front[keep], p[None, :]])
            current = normalized_hypervolume(front, lower, upper)
        hv.append(float(current))
    return HypervolumeInfo(
        objectives=objs,
        directions=list(directions),
        trials=order["trial"].astype(int).tolist(),
        hypervolume=hv,
        lower=lower.tolist(),
        upper=upper.tolist(),
        reference=reference.tolist(),
        best=(sign * lower).tolist(),
        worst=(sign * upper).tolist(),
    )


def describe_bounds(info: HypervolumeInfo, *, sep: str = "; ") -> str:
    """The normalization of a hypervolume in the user's terms: each objective's best and worst
    value over all trials, in its own unit and direction (never negated); empty without trials."""
    if not info.best:
        return ""
    parts = []
    for key, direction, best, worst in zip(info.objectives, info.directions, info.best, info.worst, strict=True):
        unit_text = f" {UNITS[key]}" if UNITS.get(key) else ""
        parts.append(f"{key} ({direction}d): best {best:.4g}, worst {worst:.4g}{unit_text}")
    return sep.join(parts)


# --------------------------------------------------------------------------- parameter importance
class ImportanceInfo(NamedTuple):
    """Optuna parameter importances per objective; objectives that could not be scored, and why.

    ``considered`` names, per objective, the parameters it was scored on: only those that can
    change it (the model configuration for parameter counts, the hardware for area and FPGA
    resources, every parameter otherwise). ``n_trials`` is the number of trials scored.
    """

    objectives: list[str]
    importances: dict[str, dict[str, float]]
    skipped: dict[str, str]
    considered: dict[str, str]
    n_trials: int


MAX_IMPORTANCE_TRIALS = 500
"""Importance is scored on at most this many finished trials (a seeded random sample beyond)."""


def parameter_scope(name: str) -> str:
    """``model`` (format, depth, shapes, ranks: ``rank``, ``rank_<format>`` (tied),
    ``<knob>@<layer>``), ``path`` (``path@<layer>/<pass>``: a contraction tree) or ``hardware``
    (everything else)."""
    if name.startswith("path"):
        return "path"
    if rank_parameter(name) or "@" in name:
        return "model"
    return "hardware"


def _scoped(key: str, names: Sequence[str]) -> tuple[list[str], str]:
    scope = METRICS[key].scope if key in METRICS else "design"
    if scope == "model":
        return [n for n in names if parameter_scope(n) == "model"], "model-configuration parameters only"
    if scope == "hardware":
        return [n for n in names if parameter_scope(n) == "hardware"], "hardware parameters only"
    return list(names), "every parameter"


def importance_info(
    study: optuna.Study,
    objectives: Sequence[str],
    directions: Sequence[str],
    *,
    min_trials: int = 4,
    max_trials: int = MAX_IMPORTANCE_TRIALS,
) -> ImportanceInfo:
    """Optuna's importance of each parameter for each objective (maximised ones negated), with its
    default evaluator, PED-ANOVA: how far the distribution of a parameter's values among the best
    10 % of the trials for that objective departs from its distribution over all trials
    (normalized to sum to 1 per objective). It says which parameters the best designs agree on,
    not how much of the objective's variance a parameter explains.

    Only parameters that can change an objective are scored on it (:func:`parameter_scope` and
    the metric's catalog scope): the parameter count is scored on the model configuration only,
    never on the PE array or the DRAM bandwidth. Trials are a seeded random sample of
    ``max_trials`` in large studies. Any failure (too few trials, a parameter space the
    evaluator cannot handle) is recorded in ``skipped`` instead of raised.
    """
    importances: dict[str, dict[str, float]] = {}
    skipped: dict[str, str] = {}
    considered: dict[str, str] = {}
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(done) < min_trials:
        for key in objectives:
            skipped[key] = f"{len(done)} finished trials (needs {min_trials})"
        return ImportanceInfo(list(objectives), importances, skipped, considered, len(done))
    target_study = study
    if len(done) > max_trials:
        picked = background_sample(np.arange(len(done)), max_trials)
        target_study = optuna.create_study(directions=study.directions)
        target_study.add_trials(  # parameters and values only: the trials' attributes are large
            [
                optuna.trial.create_trial(params=t.params, distributions=t.distributions, values=t.values)
                for t in (done[int(i)] for i in picked)
            ]
        )
    n_fit = min(len(done), max_trials)
    names = sorted({name for t in done for name in t.params})  # conditional parameters included
    for i, (key, direction) in enumerate(zip(objectives, directions, strict=True)):
        params, what = _scoped(key, names)
        considered[key] = what
        if not params:
            skipped[key] = f"no searched parameter can change it ({what})"
            continue
        sign = -1.0 if direction == "maximize" else 1.0

        def target(t: optuna.trial.FrozenTrial, i: int = i, sign: float = sign) -> float:
            values = t.values
            return sign * float(values[i]) if values is not None else math.nan

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                imp = _optuna_importance().get_param_importances(target_study, target=target, params=params)
        except Exception as exc:  # optuna raises several types here; the dashboard goes on
            skipped[key] = f"{type(exc).__name__}: {exc}"
            continue
        if not imp:
            skipped[key] = "no parameters to score"
            continue
        importances[key] = {str(k): float(v) for k, v in imp.items()}
    return ImportanceInfo(list(objectives), importances, skipped, considered, n_fit)


# --------------------------------------------------------------------------- chosen designs
class DesignChoice(NamedTuple):
    """A front design picked for the detail views and why (``knee``, ``best latency_ms``...)."""

    trial: int
    role: str


def select_designs(front: pd.DataFrame, objectives: Sequence[str], directions: Sequence[str]) -> list[DesignChoice]:
    """The knee of the front (closest to the ideal point after scaling each objective to [0, 1])
    and the best design for each objective; a design with several roles appears once."""
    if front.empty:
        return []
    vals = to_minimization(front[list(objectives)].to_numpy(float), directions)
    lo, hi = vals.min(axis=0), vals.max(axis=0)
    scaled = (vals - lo) / np.maximum(hi - lo, 1e-300)
    trials = front["trial"].astype(int).tolist()
    roles: dict[int, list[str]] = {}
    knee = int(np.argmin(np.linalg.norm(scaled, axis=1)))
    roles.setdefault(trials[knee], []).append("knee")
    for j, key in enumerate(objectives):
        col = np.lexsort((scaled.sum(axis=1), vals[:, j]))
        word = "highest" if directions[j] == "maximize" else "lowest"
        roles.setdefault(trials[int(col[0])], []).append(f"{word} {key}")
    return [DesignChoice(t, ", ".join(r)) for t, r in roles.items()]


# --------------------------------------------------------------------------- one design in detail
class PassBreakdownInfo(NamedTuple):
    """Latency (cycles) and energy (pJ) of one design per layer and pass, by component."""

    layers: list[str]
    passes: list[str]
    cycles: dict[str, list[float]]
    energy_pj: dict[str, list[float]]


def pass_breakdown_info(metrics: Metrics | Sequence[PassRecord]) -> PassBreakdownInfo:
    """One entry per (layer, pass) of ``metrics.passes`` (all ``count`` instances of a layer)."""
    passes = metrics.passes if isinstance(metrics, Metrics) else tuple(metrics)
    cyc = [p.cost.cycle_breakdown() for p in passes]
    eng = [p.cost.energy_breakdown_pj() for p in passes]
    return PassBreakdownInfo(
        layers=[p.layer for p in passes],
        passes=[p.pass_name for p in passes],
        cycles={k: [float(c.get(k, 0.0)) for c in cyc] for k in CYCLE_COMPONENTS},
        energy_pj={k: [float(e.get(k, 0.0)) for e in eng] for k in ENERGY_COMPONENTS},
    )


class TreeInfo(NamedTuple):
    """A contraction tree laid out for drawing: leaves (input tensors) at y = 0, root on top.

    Edges are flattened into ``edge_x``/``edge_y`` with ``None`` separators (one polyline).
    Internal nodes are the pairwise steps, labelled with their GEMM shape ``(b, m, n, k)``.
    """

    layer: str
    pass_name: str
    einsum: str
    node_x: list[float]
    node_y: list[float]
    node_label: list[str]
    node_hover: list[str]
    node_is_leaf: list[bool]
    edge_x: list[float | None]
    edge_y: list[float | None]
    gemms: list[tuple[int, int, int, int]]


def _einsum_terms(einsum: str) -> tuple[list[str], str]:
    lhs, _, out = einsum.partition("->")
    return lhs.split(","), out


def tree_info(record: PassRecord) -> TreeInfo:
    """Lay out the contraction tree of one pass: each step joins its two operands."""
    inputs, output = _einsum_terms(record.einsum)
    n_in = len(inputs)
    terms: dict[int, str] = dict(enumerate(inputs))
    names: dict[int, str] = {}
    children: dict[int, tuple[int, int]] = {}
    hover: dict[int, str] = {}
    label: dict[int, str] = {}
    gemms: list[tuple[int, int, int, int]] = []
    for s, (step, pair) in enumerate(zip(record.steps, record.path, strict=False)):
        i, j = int(pair[0]), int(pair[1])
        names.setdefault(i, step.lhs)
        names.setdefault(j, step.rhs)
        new = n_in + s
        alive = [t for k, t in terms.items() if k not in (i, j)] + [output]
        keep = set("".join(alive))
        idx = "".join(dict.fromkeys(c for c in terms.get(i, "") + terms.get(j, "") if c in keep))
        terms = {k: t for k, t in terms.items() if k not in (i, j)}
        terms[new] = idx
        names[new] = step.out
        children[new] = (i, j)
        gemms.append((step.batch, step.m, step.n, step.k))
        label[new] = f"b{step.batch} m{step.m} n{step.n} k{step.k}"
        hover[new] = "<br>".join(
            [
                f"<b>step {s + 1}: {step.lhs} x {step.rhs} -> {step.out}</b>",
                f"indices {idx or '(scalar)'}",
                f"GEMM (b, m, n, k) = ({step.batch}, {step.m}, {step.n}, {step.k})",
                f"MACs {step.macs:,}",
                f"dataflow {step.dataflow}, tiles m{step.tile_m} n{step.tile_n} k{step.tile_k}, "
                f"loop order {step.loop_order}",
                f"{step.cycles:,.0f} cycles, {step.energy_pj * 1e-6:.4g} uJ (one layer instance)",
            ]
        )
    for leaf in range(n_in):
        names.setdefault(leaf, f"in{leaf}")
        label[leaf] = names[leaf]
        hover[leaf] = f"<b>{names[leaf]}</b><br>indices {inputs[leaf]}"
    root = n_in + len(record.steps) - 1 if record.steps else 0
    x: dict[int, float] = {}
    y: dict[int, float] = {}
    next_leaf = [0.0]

    def place(node: int) -> None:
        if node not in children:
            x[node], y[node] = next_leaf[0], 0.0
            next_leaf[0] += 1.0
            return
        a, b = children[node]
        place(a)
        place(b)
        x[node] = (x[a] + x[b]) / 2
        y[node] = max(y[a], y[b]) + 1.0

    place(root)
    for leaf in range(n_in):  # inputs never contracted (degenerate plans) still get drawn
        if leaf not in x:
            x[leaf], y[leaf] = next_leaf[0], 0.0
            next_leaf[0] += 1.0
    order = sorted(x)
    edge_x: list[float | None] = []
    edge_y: list[float | None] = []
    for parent, (a, b) in children.items():
        for child in (a, b):
            edge_x += [x[child], x[parent], None]
            edge_y += [y[child], y[parent], None]
    return TreeInfo(
        layer=record.layer,
        pass_name=record.pass_name,
        einsum=record.einsum,
        node_x=[x[k] for k in order],
        node_y=[y[k] for k in order],
        node_label=[label[k] for k in order],
        node_hover=[hover[k] for k in order],
        node_is_leaf=[k not in children for k in order],
        edge_x=edge_x,
        edge_y=edge_y,
        gemms=gemms,
    )


class DesignDetailInfo(NamedTuple):
    """Everything the detail views show for one design."""

    trial: int
    role: str
    summary: str
    breakdown: PassBreakdownInfo
    trees: list[TreeInfo]


def design_detail_info(
    choice: DesignChoice, row: pd.Series, metrics: Metrics | Sequence[PassRecord]
) -> DesignDetailInfo:
    """Detail of one re-evaluated design (``row``: its line of the trials table; ``metrics``: its
    metrics, or only their per-pass records)."""
    passes = metrics.passes if isinstance(metrics, Metrics) else tuple(metrics)
    return DesignDetailInfo(
        trial=choice.trial,
        role=choice.role,
        summary=design_hover(row) + schedule_summary(passes),
        breakdown=pass_breakdown_info(passes),
        trees=[tree_info(p) for p in passes],
    )
