"""Figures drawn from the info tuples of :mod:`dse.report._info` (no data extraction here)."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from dse.compare import BaselineInfo
from dse.report._info import (
    UNITS,
    BreakdownInfo,
    Front3DInfo,
    FrontInfo,
    HypervolumeInfo,
    ImportanceInfo,
    ParallelInfo,
    PassBreakdownInfo,
    TreeInfo,
)

TEMPLATE = pio.templates["plotly_white"]
"""Shared template object (passing the name copies the template for every figure)."""
FRONT_COLOR = "#d62728"
FADED = "rgba(120,120,120,0.25)"
COMPONENT_COLORS: dict[str, str] = {
    "compute": "#1f77b4",
    "fill_drain": "#ff7f0e",
    "stall": "#d62728",
    "shaping": "#9467bd",
    "mac": "#2ca02c",
    "ifmap_sram": "#17becf",
    "filter_sram": "#bcbd22",
    "ofmap_sram": "#8c564b",
    "dram": "#e377c2",
    "leakage": "#7f7f7f",
}


def _label(component: str) -> str:
    return component.replace("_", "/") if component == "fill_drain" else component.replace("_", " ")


def _grid(titles: list[str], cols: int, *, hgap: float = 0.04, vgap: float = 0.1) -> dict[str, Any]:
    """Layout of a subplot grid (axes ``x``/``y``, ``x2``/``y2``, ... row-major) with titles.

    Cheaper than ``make_subplots`` (which validates every property of the layout it builds).
    """
    n = max(1, len(titles))
    rows = math.ceil(n / cols)
    width = (1 - hgap * (cols - 1)) / cols
    height = (1 - vgap * (rows - 1)) / rows
    layout: dict[str, Any] = {"annotations": []}
    for i in range(n):
        r, c = divmod(i, cols)
        x0 = c * (width + hgap)
        y1 = 1 - r * (height + vgap)
        suffix = "" if i == 0 else str(i + 1)
        layout[f"xaxis{suffix}"] = {"domain": [max(0.0, x0), min(1.0, x0 + width)], "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"domain": [max(0.0, y1 - height), min(1.0, y1)], "anchor": f"x{suffix}"}
        if i < len(titles):
            layout["annotations"].append(
                {
                    "text": titles[i],
                    "x": x0 + width / 2,
                    "y": y1,
                    "xref": "paper",
                    "yref": "paper",
                    "xanchor": "center",
                    "yanchor": "bottom",
                    "showarrow": False,
                    "font": {"size": 14},
                }
            )
    return layout


def plot_front(info: FrontInfo, *, title: str = "") -> go.Figure:
    """All trials faded, the Pareto front highlighted and joined; hover shows the design."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=info.all_x,
            y=info.all_y,
            mode="markers",
            name="all trials",
            marker={"color": FADED, "size": 6},
            text=info.all_hover,
            hovertemplate="%{text}<extra>all trials</extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=info.front_x,
            y=info.front_y,
            mode="markers+lines",
            name="Pareto front",
            marker={"color": FRONT_COLOR, "size": 9},
            line={"shape": "hv", "color": FRONT_COLOR},
            text=info.front_hover,
            hovertemplate="%{text}<extra>Pareto front</extra>",
        )
    )
    fig.update_layout(
        title=title or f"{info.y_label} vs {info.x_label}",
        xaxis_title=info.x_label,
        yaxis_title=info.y_label,
        template=TEMPLATE,
        height=440,
        legend={"orientation": "h", "y": -0.22},
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )
    if all(v > 0 for v in info.all_x):
        fig.update_xaxes(type="log")
    if all(v > 0 for v in info.all_y):
        fig.update_yaxes(type="log")
    return fig


def plot_front_3d(info: Front3DInfo) -> go.Figure:
    """The three metrics in 3-D: every trial faded, the 3-D front highlighted."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter3d(
            x=info.all_xyz[0],
            y=info.all_xyz[1],
            z=info.all_xyz[2],
            mode="markers",
            name="all trials",
            marker={"color": "rgba(110,110,110,0.5)", "size": 3},
            text=info.all_hover,
            hovertemplate="%{text}<extra>all trials</extra>",
        )
    )
    fig.add_trace(
        go.Scatter3d(
            x=info.front_xyz[0],
            y=info.front_xyz[1],
            z=info.front_xyz[2],
            mode="markers",
            name="Pareto front",
            marker={"color": FRONT_COLOR, "size": 5},
            text=info.front_hover,
            hovertemplate="%{text}<extra>Pareto front</extra>",
        )
    )
    axes: dict[str, Any] = {}
    for name, label, values in zip(("xaxis", "yaxis", "zaxis"), info.labels, info.all_xyz, strict=True):
        axes[name] = {"title": {"text": label}}
        if values and all(v > 0 for v in values):
            axes[name]["type"] = "log"
    fig.update_layout(
        title=f"3-D front: {', '.join(info.keys)}",
        scene=axes,
        template=TEMPLATE,
        height=620,
        legend={"orientation": "h", "y": -0.05},
        margin={"l": 0, "r": 0, "t": 50, "b": 20},
    )
    return fig


def plot_parallel(info: ParallelInfo) -> go.Figure:
    """Parallel coordinates of parameters and objectives; Pareto designs in red."""
    dims: list[dict[str, Any]] = []
    for d in info.dimensions:
        dim: dict[str, Any] = {"label": d.label, "values": d.values}
        if d.tickvals is not None:
            dim["tickvals"] = d.tickvals
            dim["ticktext"] = d.ticktext
        dims.append(dim)
    fig = go.Figure(
        go.Parcoords(
            dimensions=dims,
            line={
                "color": info.on_front,
                "colorscale": [[0.0, "rgba(150,150,150,0.35)"], [1.0, FRONT_COLOR]],
                "cmin": 0,
                "cmax": 1,
            },
            labelangle=-20,
            labelside="bottom",
        )
    )
    fig.update_layout(
        title="Parameters and objectives of every trial (Pareto designs in red; drag on an axis to filter)",
        template=TEMPLATE,
        height=520,
        margin={"l": 70, "r": 70, "t": 90, "b": 90},
    )
    return fig


def plot_hypervolume(info: HypervolumeInfo) -> go.Figure:
    """Normalized hypervolume after each trial, with the reference point written on the plot."""
    fig = go.Figure(
        go.Scatter(
            x=info.trials,
            y=info.hypervolume,
            mode="lines",
            line={"shape": "hv", "color": "#1f77b4"},
            name="hypervolume",
            hovertemplate="trial %{x}: %{y:.4f}<extra></extra>",
        )
    )
    if info.reference:
        ref = ", ".join(
            f"{k} = {v:.4g} {UNITS.get(k, '')}".rstrip() + (" (maximized)" if d == "maximize" else "")
            for k, v, d in zip(info.objectives, info.reference, info.directions, strict=True)
        )
        fig.add_annotation(
            text=(
                f"reference point: {ref}<br>(each objective scaled to [0, 1] over all trials; "
                "reference at 1.1; value = fraction of the 1.1^m box)"
            ),
            xref="paper",
            yref="paper",
            x=0.99,
            y=0.04,
            xanchor="right",
            yanchor="bottom",
            showarrow=False,
            align="right",
            bgcolor="rgba(255,255,255,0.85)",
            font={"size": 11},
        )
    fig.update_layout(
        title=f"Normalized hypervolume of the front ({', '.join(info.objectives)})",
        xaxis_title="trial",
        yaxis_title="normalized hypervolume",
        template=TEMPLATE,
        height=400,
    )
    return fig


def plot_importance(info: ImportanceInfo) -> go.Figure:
    """Horizontal bars: importance of each parameter for each objective (optuna's evaluator)."""
    fig = go.Figure()
    params: list[str] = []
    for imp in info.importances.values():
        params += [p for p in imp if p not in params]
    first = next(iter(info.importances.values()), {})
    params.sort(key=lambda p: first.get(p, 0.0))
    for key, imp in info.importances.items():
        fig.add_trace(
            go.Bar(
                x=[imp.get(p, 0.0) for p in params],
                y=params,
                orientation="h",
                name=key,
                hovertemplate="%{y}: %{x:.3f}<extra>" + key + "</extra>",
            )
        )
    title = "Parameter importance per objective"
    if info.skipped:
        title += " (skipped: " + ", ".join(info.skipped) + ")"
    fig.update_layout(
        title=title,
        barmode="group",
        xaxis_title="importance (fraction)",
        template=TEMPLATE,
        height=max(320, 60 + 22 * len(params) * max(1, len(info.importances))),
        margin={"l": 160},
    )
    return fig


def plot_breakdown(info: BreakdownInfo) -> go.Figure:
    """Stacked latency (cycles) or energy (uJ) components of each Pareto design."""
    fig = go.Figure()
    labels = [f"trial {t}" for t in info.trials]
    energy = info.quantity != "cycles"
    for name, values in info.components.items():
        ys = [v * 1e-6 for v in values] if energy else values
        fig.add_trace(go.Bar(x=labels, y=ys, name=_label(name), marker={"color": COMPONENT_COLORS.get(name)}))
    fig.update_layout(
        barmode="stack",
        title=f"Where the {'energy' if energy else 'cycles'} go (Pareto designs)",
        yaxis_title="energy per step [uJ]" if energy else "cycles per step",
        template=TEMPLATE,
        height=420,
    )
    return fig


def plot_pass_breakdown(info: PassBreakdownInfo, *, title: str = "") -> go.Figure:
    """Latency and energy of one design per layer and pass, stacked by component."""
    x = [info.layers, info.passes]
    traces: list[go.Bar] = []
    for name, values in info.cycles.items():
        traces.append(
            go.Bar(
                x=x,
                y=values,
                name=_label(name),
                legendgroup="cycles",
                legendgrouptitle={"text": "latency"},
                marker={"color": COMPONENT_COLORS.get(name)},
                hovertemplate="%{x}: %{y:,.0f} cycles<extra>" + _label(name) + "</extra>",
                xaxis="x",
                yaxis="y",
            )
        )
    for name, values in info.energy_pj.items():
        traces.append(
            go.Bar(
                x=x,
                y=[v * 1e-6 for v in values],
                name=_label(name),
                legendgroup="energy",
                legendgrouptitle={"text": "energy"},
                marker={"color": COMPONENT_COLORS.get(name)},
                hovertemplate="%{x}: %{y:.4g} uJ<extra>" + _label(name) + "</extra>",
                xaxis="x2",
                yaxis="y2",
            )
        )
    layout = _grid(["latency by layer / pass [cycles]", "energy by layer / pass [uJ]"], 2, hgap=0.1)
    fig = go.Figure(data=traces, layout=layout)
    fig.update_layout(
        barmode="stack",
        title=title or "Latency and energy by layer and pass",
        template=TEMPLATE,
        height=440,
        legend={"groupclick": "toggleitem"},
    )
    return fig


def plot_trees(trees: list[TreeInfo], *, cols: int = 3, title: str = "") -> go.Figure:
    """One subplot per layer and pass: the contraction tree, GEMM shape (b, m, n, k) per step."""
    n = max(1, len(trees))
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    axes = _grid([f"{t.layer} / {t.pass_name}" for t in trees], cols, vgap=0.35 / rows if rows > 1 else 0.1)
    traces: list[go.Scatter] = []
    for n_tree, tree in enumerate(trees):
        suffix = "" if n_tree == 0 else str(n_tree + 1)
        traces.append(
            go.Scatter(
                x=tree.edge_x,
                y=tree.edge_y,
                mode="lines",
                line={"color": "#999", "width": 1.5},
                hoverinfo="skip",
                showlegend=False,
                xaxis=f"x{suffix}",
                yaxis=f"y{suffix}",
            )
        )
        leaves = [i for i, leaf in enumerate(tree.node_is_leaf) if leaf]
        steps = [i for i, leaf in enumerate(tree.node_is_leaf) if not leaf]
        for idx, kind in ((leaves, "input tensor"), (steps, "contraction step")):
            traces.append(
                go.Scatter(
                    x=[tree.node_x[i] for i in idx],
                    y=[tree.node_y[i] for i in idx],
                    mode="markers+text",
                    text=[tree.node_label[i] for i in idx],
                    textposition="bottom center" if kind == "input tensor" else "top center",
                    textfont={"size": 10},
                    hovertext=[tree.node_hover[i] for i in idx],
                    hovertemplate="%{hovertext}<extra>" + f"{tree.layer}/{tree.pass_name}" + "</extra>",
                    marker={
                        "size": 10 if kind == "input tensor" else 13,
                        "color": "#1f77b4" if kind == "input tensor" else FRONT_COLOR,
                        "symbol": "square" if kind == "input tensor" else "circle",
                    },
                    name=kind,
                    showlegend=False,
                    xaxis=f"x{suffix}",
                    yaxis=f"y{suffix}",
                )
            )
        axes[f"xaxis{suffix}"].update(range=[-0.7, max(tree.node_x, default=0.0) + 0.7], visible=False)
        axes[f"yaxis{suffix}"].update(range=[-0.6, max(tree.node_y, default=0.0) + 0.6], visible=False)
    fig = go.Figure(data=traces, layout=axes)
    fig.update_layout(
        title=title or "Contraction trees (squares: input tensors; circles: steps, GEMM b m n k)",
        template=TEMPLATE,
        height=110 + 270 * rows,
        margin={"t": 80, "b": 20},
    )
    return fig


def _fmt(values: list[float], spec: str) -> list[str]:
    return ["-" if math.isnan(v) else format(v, spec) for v in values]


def plot_baselines(info: BaselineInfo) -> go.Figure:
    """Table: each front design against the dense model and the MAC-optimal paths, same hardware."""
    header = [
        "trial",
        "params",
        "compression [x]",
        "latency [ms]",
        "energy [uJ]",
        "dense latency [ms]",
        "speedup vs dense [x]",
        "energy ratio dense/design [x]",
        "MAC-opt latency [ms]",
        "speedup vs MAC-opt paths [x]",
        "energy ratio MAC-opt/design [x]",
        "MACs / MAC-opt MACs",
    ]
    cells = [
        [str(t) for t in info.trials],
        [f"{int(v):,}" for v in info.params],
        _fmt(info.compression, ".3g"),
        _fmt(info.latency_ms, ".4g"),
        _fmt(info.energy_uj, ".4g"),
        _fmt(info.dense_latency_ms, ".4g"),
        _fmt(info.dense_speedup, ".3f"),
        _fmt(info.dense_energy_ratio, ".3f"),
        _fmt(info.macopt_latency_ms, ".4g"),
        _fmt(info.macopt_speedup, ".3f"),
        _fmt(info.macopt_energy_ratio, ".3f"),
        _fmt(info.macs_over_macopt, ".3f"),
    ]

    def shade(values: list[float]) -> list[str]:
        return ["#fde0dd" if v < 0.995 else "#e5f5e0" if v > 1.005 else "white" for v in values]

    white = ["white"] * len(info.trials)
    fill = [white] * 6 + [
        shade(info.dense_speedup),
        shade(info.dense_energy_ratio),
        white,
        shade(info.macopt_speedup),
        shade(info.macopt_energy_ratio),
        white,
    ]
    fig = go.Figure(
        go.Table(
            header={"values": [f"<b>{h}</b>" for h in header], "fill": {"color": "#eeeeee"}, "align": "center"},
            cells={"values": cells, "fill": {"color": fill}, "align": "right", "height": 24},
            columnwidth=[50, 80, 80, 70, 70, 80, 80, 90, 80, 90, 100, 80],
        )
    )
    shown = len(info.trials)
    note = "" if shown == info.n_front else f" ({shown} of {info.n_front} front designs, evenly spread)"
    fig.update_layout(
        title=f"Front designs vs baselines on the same hardware{note}; ratios > 1 (green): design is better",
        height=min(900, 140 + 26 * max(1, shown)),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig
