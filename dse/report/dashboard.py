"""One self-contained, offline HTML dashboard of a study (plotly.js inlined once)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dse.config import StudyConfig
from dse.report._figures import plot_breakdown, plot_front
from dse.report._info import breakdown_info, front_info

MODEL_AXES: tuple[str, ...] = ("params",)
COST_AXES: tuple[str, ...] = ("latency_ms", "energy_uj", "edp_uj_ms")


def dashboard_figures(
    df: pd.DataFrame,
    front: pd.DataFrame,
    cycle_breakdowns: dict[int, dict[str, float]],
    directions: dict[str, str] | None = None,
) -> list[go.Figure]:
    """The dashboard's figures, in page order (``directions``: the study's objective directions)."""
    figs = [plot_front(front_info(df, x, y, directions)) for x in MODEL_AXES for y in COST_AXES]
    figs.append(
        plot_front(front_info(df, "latency_ms", "energy_uj", directions), title="energy vs latency")
    )
    if not front.empty:
        figs.append(plot_breakdown(breakdown_info(front, cycle_breakdowns)))
    return figs


def write_dashboard(
    path: Path,
    cfg: StudyConfig,
    df: pd.DataFrame,
    front: pd.DataFrame,
    cycle_breakdowns: dict[int, dict[str, float]],
) -> Path:
    """Write ``path`` (HTML with plotly.js inline: opens offline, no network needed)."""
    figs = dashboard_figures(
        df, front, cycle_breakdowns, dict(zip(cfg.objectives, cfg.directions, strict=True))
    )
    parts = []
    for n, fig in enumerate(figs):
        parts.append(
            pio.to_html(
                fig,
                full_html=False,
                include_plotlyjs=(n == 0),
                div_id=f"plot{n}",
                config={"displaylogo": False},
            )
        )
    title = html.escape(f"TNN-DSE: {cfg.name}")
    desc = html.escape(cfg.description or "")
    n_trials, n_front = len(df), len(front)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:1.5em;max-width:1200px}} .plot{{margin-bottom:2em}}</style>
</head><body>
<h1>{title}</h1>
<p>{desc}</p>
<p>Workload <b>{html.escape(cfg.workload.name)}</b>, mode <b>{cfg.mode}</b>, objectives
<b>{", ".join(cfg.objectives)}</b>. {n_trials} finished trials, {n_front} on the Pareto front.
Hover a point to see the whole design.</p>
{"".join(f'<div class="plot">{p}</div>' for p in parts)}
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
