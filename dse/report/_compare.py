"""The ``dse compare`` table in the dashboard: info extraction, then figures, then a small page.

:func:`compare_info` reads the table ``compare.csv`` holds (columns of
:data:`dse.compare.CSV_COLUMNS`); :func:`plot_compare_ratios` draws every ratio of every design
per comparison; :func:`plot_compare_summary` a min / median / max table.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dse.compare import COMPARISONS

RATIO_COLUMNS: dict[str, str] = {
    "latency": "latency_ratio_ref_over_sub",
    "energy": "energy_ratio_ref_over_sub",
    "EDP": "edp_ratio_ref_over_sub",
    "working set": "working_set_ratio_ref_over_sub",
}
"""Metric label -> ratio column of ``compare.csv``."""


class CompareInfo(NamedTuple):
    """Every ratio of the comparison table, per comparison and metric.

    ``ratios[metric][comparison]`` lists the ratio (reference / subject) of each design, in the
    order of ``trials[comparison]``.
    """

    comparisons: list[str]
    descriptions: list[str]
    trials: dict[str, list[int]]
    ratios: dict[str, dict[str, list[float]]]
    n_designs: int


def compare_info(table: pd.DataFrame) -> CompareInfo:
    """Extract the ratios of a ``compare.csv`` table (comparisons in :data:`COMPARISONS` order)."""
    present = set(table["comparison"]) if not table.empty else set()
    keys = [k for k in COMPARISONS if k in present]
    trials: dict[str, list[int]] = {}
    ratios: dict[str, dict[str, list[float]]] = {m: {} for m in RATIO_COLUMNS}
    for key in keys:
        part = table[table["comparison"] == key]
        trials[key] = [int(t) for t in part["trial"]]
        for metric, col in RATIO_COLUMNS.items():
            ratios[metric][key] = [float(v) for v in part[col]]
    n = int(table["trial"].nunique()) if not table.empty else 0
    return CompareInfo(keys, [COMPARISONS[k][2] for k in keys], trials, ratios, n)


def plot_compare_ratios(info: CompareInfo, *, title: str = "co-design evidence: reference / subject") -> go.Figure:
    """One marker per design, comparison and metric (log axis; above 1: the subject is cheaper)."""
    fig = go.Figure()
    for metric, per in info.ratios.items():
        xs: list[str] = []
        ys: list[float] = []
        text: list[str] = []
        for key in info.comparisons:
            vals = per.get(key, [])
            xs += [key] * len(vals)
            ys += vals
            text += [f"trial {t}" for t in info.trials[key]]
        fig.add_trace(go.Box(x=xs, y=ys, name=metric, boxpoints="all", jitter=0.4, text=text, hoverinfo="y+text"))
    fig.add_hline(y=1.0, line_dash="dot", line_color="grey")
    fig.update_layout(
        title=title,
        boxmode="group",
        yaxis_type="log",
        yaxis_title="ratio reference / subject [x]",
        height=520,
        legend_title="metric",
    )
    return fig


def _stats(values: list[float]) -> tuple[float, float, float]:
    vals = sorted(v for v in values if not math.isnan(v))
    if not vals:
        return math.nan, math.nan, math.nan
    mid = len(vals) // 2
    median = vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2
    return vals[0], median, vals[-1]


def plot_compare_summary(info: CompareInfo) -> go.Figure:
    """Table: per comparison, min / median / max of every ratio over the designs."""
    header = ["comparison", "reference / subject"]
    cols: list[list[str]] = [info.comparisons, info.descriptions]
    for metric, per in info.ratios.items():
        header.append(f"{metric} ratio: min / median / max [x]")
        cells = []
        for key in info.comparisons:
            lo, med, hi = _stats(per.get(key, []))
            cells.append(f"{lo:.3g} / {med:.3g} / {hi:.3g}")
        cols.append(cells)
    fig = go.Figure(go.Table(header={"values": header}, cells={"values": cols, "align": "left"}))
    fig.update_layout(title=f"summary over {info.n_designs} design(s)", height=120 + 40 * len(info.comparisons))
    return fig


def compare_figures(info: CompareInfo) -> list[go.Figure]:
    """The figures of the comparison section."""
    return [plot_compare_summary(info), plot_compare_ratios(info)]


COMPARE_TEXT = (
    "From <code>dse compare</code> (<code>compare.csv</code>): each design against baselines evaluated in "
    "the same run; every ratio is reference / subject of two evaluations (above 1: the subject is cheaper). "
    "paths: MAC-optimal or left-to-right paths vs the design's hardware-aware paths; dense: the "
    "untensorized model on the same hardware, and on the hardware a dense hardware-only search found "
    "fastest / most energy-efficient; training vs inference; training with independent gradient networks "
    "vs the reuse schedule; systolic array (tensor shaping paid) vs contraction engine."
)


def write_compare_html(path: Path, info: CompareInfo, *, title: str) -> Path:
    """A small self-contained page with the comparison figures (plotly.js inline)."""
    frags = []
    for n, fig in enumerate(compare_figures(info)):
        frags.append(
            pio.to_html(fig, full_html=False, include_plotlyjs=n == 0, include_mathjax=False, div_id=f"cmp{n}")
        )
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f'<body style="font-family:sans-serif;max-width:1280px;margin:1.5em auto"><h1>{html.escape(title)}</h1>'
        f"<p>{COMPARE_TEXT}</p>{''.join(frags)}</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    return path
