"""One self-contained, offline HTML dashboard of a study (plotly.js inlined once, no MathJax)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import optuna
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dse import Design, DSEError, PassRecord
from dse._catalog import QUALITY_KEYS, rank_parameter
from dse.compare import baseline_info
from dse.config import StudyConfig
from dse.evaluate import evaluate
from dse.report._figures import (
    plot_baselines,
    plot_breakdown,
    plot_front,
    plot_front_3d,
    plot_hypervolume,
    plot_importance,
    plot_parallel,
    plot_pass_breakdown,
    plot_trees,
    shared_template,
)
from dse.report._info import (
    MAX_BACKGROUND,
    MAX_IMPORTANCE_TRIALS,
    UNITS,
    DesignChoice,
    DesignDetailInfo,
    HypervolumeInfo,
    breakdown_info,
    constraint_bounds,
    design_detail_info,
    front3d_info,
    front3d_keys,
    front_info,
    hypervolume_info,
    importance_info,
    parallel_info,
    select_designs,
)
from dse.study import complete_trials

MODEL_AXES: tuple[str, ...] = ("params",)
COST_AXES: tuple[str, ...] = ("latency_ms", "energy_uj", "edp_uj_ms", "area_mm2")


class Section(NamedTuple):
    """A titled part of the page: a short explanation and its figures."""

    key: str
    title: str
    text: str
    figures: list[go.Figure]


class DesignPanel(NamedTuple):
    """The detail views of one chosen front design (shown one at a time by a selector)."""

    detail: DesignDetailInfo
    figures: list[go.Figure]


class Dashboard(NamedTuple):
    """Everything on the page, in order: sections before the design panels, the panels, the rest."""

    title: str
    description: str
    intro: str
    sections: list[Section]
    panels: list[DesignPanel]
    later: list[Section]


def front_figures(df: pd.DataFrame, directions: dict[str, str]) -> list[go.Figure]:
    """2-D fronts: each hardware cost against parameters, against each model-quality metric
    the study measures (``accuracy``, ``weight_error``) and against each rank; energy vs
    latency; each constrained metric (DSP slices, BRAM blocks, ...) against parameters with its
    bound drawn.

    A rank axis (``rank@<layer>``, or ``rank`` when tied across layers) takes the direction of
    ``params`` (more rank, more parameters).
    """
    dirs = dict(directions)
    params_dir = dirs.get("params", "minimize")
    quality = [k for k in QUALITY_KEYS if k in df.columns and df[k].notna().any()]
    figs = [plot_front(front_info(df, x, y, dirs)) for x in (*MODEL_AXES, *quality) for y in COST_AXES]
    figs.append(plot_front(front_info(df, "latency_ms", "energy_uj", dirs)))
    if "dram_over_compulsory" in df.columns and df["dram_over_compulsory"].notna().any():
        # distance from the data-movement limit: DRAM traffic over inputs + outputs + cores once
        figs.append(plot_front(front_info(df, MODEL_AXES[0], "dram_over_compulsory", dirs)))
        figs.append(plot_front(front_info(df, "dram_mb", "latency_ms", dirs)))
    for metric in constraint_bounds(df):
        if metric not in COST_AXES:
            figs.append(plot_front(front_info(df, MODEL_AXES[0], metric, dirs)))
    for col in [c for c in df.columns if c.startswith("param:") and rank_parameter(c)]:
        dirs[col] = params_dir
        figs.append(plot_front(front_info(df, col, "latency_ms", dirs)))
    return figs


KnownPasses = Callable[[int], Sequence[PassRecord] | None]
"""``trial -> its per-pass records`` when they are known without evaluating (``None`` otherwise)."""


def design_panels(
    df: pd.DataFrame,
    front: pd.DataFrame,
    cfg: StudyConfig,
    requested: Sequence[int] | str = (),
    known: KnownPasses | None = None,
) -> list[DesignPanel]:
    """Re-evaluate the knee and the per-objective extremes of the front, and draw their details.

    ``requested`` adds any finished trials by number, or ``"all"`` every design of the front;
    ``known`` spares the evaluation of designs whose per-pass records are at hand (a run's
    JSON exports).
    """
    panels = []
    position = {int(t): i for i, t in enumerate(df["trial"])} if not df.empty else {}
    choices = select_designs(front, cfg.objectives, cfg.directions)
    chosen = {c.trial for c in choices}
    if isinstance(requested, str):
        extra = [int(t) for t in front["trial"]] if requested == "all" else []
    else:
        extra = [int(t) for t in requested]
    for number in extra:
        if number not in position:
            raise DSEError(f"trial {number} is not a finished trial of study {cfg.name!r}")
        if number not in chosen:
            role = "on the front" if number in set(front.get("trial", [])) else "requested"
            choices.append(DesignChoice(number, role))
            chosen.add(number)
    for choice in choices:
        row = df.iloc[position[choice.trial]]
        passes = known(choice.trial) if known is not None else None
        if passes is None:
            passes = evaluate(Design.from_dict(json.loads(str(row["design_json"])))).passes
        detail = design_detail_info(choice, row, passes)
        head = f"trial {choice.trial} ({choice.role})"
        panels.append(
            DesignPanel(
                detail,
                [
                    plot_pass_breakdown(detail.breakdown, title=f"{head}: latency and energy by layer and pass"),
                    plot_trees(detail.trees, title=f"{head}: contraction trees (GEMM b m n k on each step)"),
                ],
            )
        )
    return panels


def build_dashboard(
    cfg: StudyConfig,
    study: optuna.Study,
    df: pd.DataFrame,
    front: pd.DataFrame,
    *,
    max_baselines: int = 16,
    detail: Sequence[int] | str = (),
    baseline_cache: dict[str, list[float]] | None = None,
    known: KnownPasses | None = None,
    hypervolume: HypervolumeInfo | None = None,
) -> Dashboard:
    """Extract every info and draw every figure of the dashboard (no file written), every
    figure with the shared template (:func:`~dse.report._figures.shared_template`).

    ``baseline_cache`` (design JSON -> baseline numbers, see :func:`dse.compare.baseline_info`)
    spares re-evaluating the baselines of designs seen before.
    """
    with shared_template():
        return _build_dashboard(cfg, study, df, front, max_baselines, detail, baseline_cache, known, hypervolume)


def _build_dashboard(
    cfg: StudyConfig,
    study: optuna.Study,
    df: pd.DataFrame,
    front: pd.DataFrame,
    max_baselines: int,
    detail: Sequence[int] | str,
    baseline_cache: dict[str, list[float]] | None,
    known: KnownPasses | None,
    hypervolume: HypervolumeInfo | None,
) -> Dashboard:
    directions = dict(zip(cfg.objectives, cfg.directions, strict=True))
    title = f"TNN-DSE: {cfg.name}"
    hv = hypervolume if hypervolume is not None else hypervolume_info(df, cfg.objectives, cfg.directions)
    hv_text = f" Normalized hypervolume {hv.hypervolume[-1]:.4f}." if hv.hypervolume else ""
    merged = sum(len(str(v).split()) for v in front.get("duplicate_trials", []) if isinstance(v, str))
    dup_text = f" ({merged} trials repeating a front design merged)" if merged else ""
    bounds = constraint_bounds(df)
    cons_text = ""
    if bounds and not df.empty:
        n_ok = int(df["feasible"].sum()) if "feasible" in df else len(df)
        limits = ", ".join(f"{k} &le; {v:g} {UNITS.get(k, '')}".rstrip() for k, v in bounds.items())
        cons_text = f" Constraints {html.escape(limits, quote=False)}: {n_ok} of {len(df)} trials meet them."
    intro = (
        f"Workload <b>{html.escape(cfg.workload.name)}</b>, mode <b>{html.escape(cfg.mode)}</b>, objectives "
        f"<b>{html.escape(', '.join(f'{o} ({d})' for o, d in directions.items()))}</b>. "
        f"{len(df)} finished trials, {len(front)} distinct designs on the Pareto front{dup_text}.{hv_text}"
        f"{cons_text} Hover a front point to see the whole design and its metrics."
    )
    sections = [
        Section(
            "fronts",
            "Pareto fronts: hardware cost vs model configuration",
            "Red: the 2-D non-dominated set of the two axes (the direction of parameters and ranks "
            "follows the study; constrained domination when the study has constraints). Grey: the "
            f"other finished trials (a random sample of {MAX_BACKGROUND:,} in large studies: the legend "
            "says how many); orange crosses: trials that break a constraint; dashed lines: the "
            "constraint bounds.",
            front_figures(df, directions),
        ),
        Section(
            "front3d",
            "3-D front",
            "Drag to rotate; red points are non-dominated in these three metrics.",
            [plot_front_3d(front3d_info(df, front3d_keys(cfg.objectives), directions))],
        ),
        Section(
            "parallel",
            "Parameters of the trials",
            "Categorical parameters are drawn as codes with their labels on the axis; '-' marks a "
            "conditional parameter that is inactive in a trial.",
            [plot_parallel(parallel_info(df, cfg.objectives, directions))],
        ),
    ]
    breakdowns = {t.number: t.user_attrs for t in complete_trials(study)}
    if not front.empty:
        cycles = {n: dict(a.get("cycle_breakdown", {})) for n, a in breakdowns.items()}
        energy = {n: dict(a.get("energy_breakdown_pj", {})) for n, a in breakdowns.items()}
        sections.append(
            Section(
                "breakdown",
                "Where the cycles and the energy go (Pareto designs)",
                "Totals per training / inference step of the whole workload.",
                [
                    plot_breakdown(breakdown_info(front, cycles)),
                    plot_breakdown(breakdown_info(front, energy, quantity="energy_pj")),
                ],
            )
        )
    panels = design_panels(df, front, cfg, detail, known)
    later: list[Section] = []
    if not front.empty:
        later.append(
            Section(
                "baselines",
                "Against baselines on the same hardware",
                "Each front design re-evaluated as the dense (untensorized) model and with MAC-optimal "
                "contraction paths instead of hardware-aware ones; same PE array, buffers and dataflow.",
                [plot_baselines(baseline_info(front, limit=max_baselines, cache=baseline_cache))],
            )
        )
    compare_csv = cfg.run_dir / "compare.csv"
    if compare_csv.is_file():  # written by `dse compare`
        from dse.report._compare import COMPARE_TEXT, compare_figures, compare_info

        later.append(
            Section(
                "compare",
                "Co-design evidence (dse compare)",
                COMPARE_TEXT,
                compare_figures(compare_info(pd.read_csv(compare_csv))),
            )
        )
    imp = importance_info(study, cfg.objectives, cfg.directions)
    progress = [plot_hypervolume(hv)]
    if imp.importances:
        progress.append(plot_importance(imp))
    skipped = "; ".join(f"{k}: {v}" for k, v in imp.skipped.items())
    later.append(
        Section(
            "progress",
            "Search progress and parameter importance",
            "Parameter importance is optuna's default evaluator, PED-ANOVA: for each objective, how far "
            "the values a parameter takes among the best 10 % of the trials depart from the values it "
            f"takes over all trials (at most {MAX_IMPORTANCE_TRIALS:,} trials, a random sample beyond; "
            "normalized to sum to 1 per objective). It tells which parameters the best designs agree on, "
            "not a share of variance. Each objective is scored only on the parameters that can change it: "
            "the parameter count and the compression on the model configuration (format, depth, shapes, "
            "ranks), area, on-chip SRAM and FPGA resources on the hardware, latency and energy on everything"
            + (f"; not available for {html.escape(skipped)}." if skipped else "."),
            progress,
        )
    )
    return Dashboard(title, cfg.description or "", intro, sections, panels, later)


_CSS = """
body{font-family:sans-serif;margin:1.5em auto;max-width:1280px;padding:0 1em;color:#222}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:1em}
.plot{margin-bottom:1em}
.summary{font-size:.85em;background:#f7f7f7;padding:.6em 1em;border-radius:4px;line-height:1.45}
select{font-size:1em;padding:.2em}
"""

_SELECT_JS = """
<script>
(function(){
  var sel = document.getElementById('design-select');
  if (!sel) { sel = {value: '', addEventListener: function(){}}; }
  function draw(g){
    var fig = JSON.parse(document.getElementById(g.id + '-json').textContent);
    g.classList.remove('lazy-plot');
    g.classList.add('plotly-graph-div');
    window.Plotly.react(g, fig.data, fig.layout, {displaylogo: false, responsive: true});
  }
  function show(){
    document.querySelectorAll('.design-panel').forEach(function(p){
      var on = p.id === sel.value;
      p.style.display = on ? 'block' : 'none';
      if (on && window.Plotly) { p.querySelectorAll('.lazy-plot').forEach(draw); }
      if (on && window.Plotly) {
        p.querySelectorAll('.plotly-graph-div').forEach(function(g){ window.Plotly.Plots.resize(g); });
      }
    });
  }
  sel.addEventListener('change', show);
  window.addEventListener('load', function(){
    show();
    if (window.Plotly) {
      document.querySelectorAll('.plotly-graph-div').forEach(function(g){
        if (g.offsetWidth > 0) { window.Plotly.Plots.resize(g); }
      });
    }
  });
})();
</script>
"""


class _Renderer:
    """Turns figures into HTML fragments; plotly.js is inlined with the first one only."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, fig: go.Figure) -> str:
        frag = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=self.n == 0,
            include_mathjax=False,
            div_id=f"plot{self.n}",
            config={"displaylogo": False, "responsive": True},
            validate=False,
        )
        self.n += 1
        return f'<div class="plot">{frag}</div>'

    def lazy(self, fig: go.Figure) -> str:
        """A figure drawn only when its design panel is first shown (the page opens faster): its
        JSON in a ``<script type="application/json">``, drawn by :data:`_SELECT_JS`."""
        div_id = f"plot{self.n}"
        self.n += 1
        payload = pio.to_json(fig, validate=False).replace("</", "<\\/")
        height = fig.layout.height or 450
        return (
            f'<div class="plot"><div id="{div_id}" class="lazy-plot" style="height:{height}px;width:100%"></div>'
            f'<script type="application/json" id="{div_id}-json">{payload}</script></div>'
        )


def _section_html(sec: Section, render: _Renderer) -> str:
    body = "".join(render(f) for f in sec.figures)
    if sec.key == "fronts":
        body = f'<div class="grid">{body}</div>'
    return f'<section id="{sec.key}"><h2>{html.escape(sec.title)}</h2><p>{sec.text}</p>{body}</section>'


def render_html(dash: Dashboard) -> str:
    """The whole page as one string (plotly.js inline: opens offline)."""
    render = _Renderer()
    parts = [_section_html(s, render) for s in dash.sections]
    if dash.panels:
        options = "".join(
            f'<option value="design-{p.detail.trial}">trial {p.detail.trial}: {html.escape(p.detail.role)}</option>'
            for p in dash.panels
        )
        hidden = ' style="display:none"'
        panels = "".join(
            f'<div class="design-panel" id="design-{p.detail.trial}"{hidden if n else ""}>'
            f'<p class="summary">{p.detail.summary}</p>'
            f"{''.join((render.lazy if n else render)(f) for f in p.figures)}</div>"
            for n, p in enumerate(dash.panels)
        )
        parts.append(
            '<section id="designs"><h2>Chosen front designs in detail</h2>'
            "<p>The knee of the front (closest to the ideal point after scaling each objective) and the "
            "best design for each objective, re-evaluated: latency and energy per layer and pass (forward, "
            "input gradient dx, core gradients dg<i>k</i>) by component, and the contraction tree of every "
            "pass. Design: "
            f'<select id="design-select">{options}</select></p>{panels}</section>'
        )
    parts += [_section_html(s, render) for s in dash.later]
    title = html.escape(dash.title)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{_CSS}</style>
</head><body>
<h1>{title}</h1>
<p>{html.escape(dash.description)}</p>
<p>{dash.intro}</p>
{"".join(parts)}
{_SELECT_JS}
</body></html>
"""


def write_dashboard(
    path: Path,
    cfg: StudyConfig,
    study: optuna.Study,
    *,
    df: pd.DataFrame,
    front: pd.DataFrame,
    max_baselines: int = 16,
    detail: Sequence[int] | str = (),
    baseline_cache: dict[str, list[float]] | None = None,
    known: KnownPasses | None = None,
    hypervolume: HypervolumeInfo | None = None,
) -> Path:
    """Write ``path``: HTML with plotly.js inline, no network needed to view it.

    ``df`` / ``front``: the study's trials table and Pareto front (:func:`dse.outputs.trials_frame`,
    :func:`dse.outputs.pareto_frame`).
    """
    dash = build_dashboard(
        cfg,
        study,
        df,
        front,
        max_baselines=max_baselines,
        detail=detail,
        baseline_cache=baseline_cache,
        known=known,
        hypervolume=hypervolume,
    )
    path.write_text(render_html(dash), encoding="utf-8")
    return path


def dashboard_figures(dash: Dashboard) -> list[go.Figure]:
    """Every figure of ``dash`` in page order."""
    figs = [f for s in dash.sections for f in s.figures]
    figs += [f for p in dash.panels for f in p.figures]
    figs += [f for s in dash.later for f in s.figures]
    return figs
