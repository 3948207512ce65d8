"""Figures drawn from the info tuples of :mod:`dse.report._info`."""

from __future__ import annotations

import plotly.graph_objects as go

from dse.report._info import BreakdownInfo, FrontInfo


def plot_front(info: FrontInfo, *, title: str = "") -> go.Figure:
    """All trials faded, the Pareto front highlighted and joined; hover shows the design."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=info.all_x,
            y=info.all_y,
            mode="markers",
            name="all trials",
            marker={"color": "rgba(120,120,120,0.25)", "size": 6},
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
            marker={"color": "#d62728", "size": 9},
            line={"shape": "hv", "color": "#d62728"},
            text=info.front_hover,
            hovertemplate="%{text}<extra>Pareto front</extra>",
        )
    )
    fig.update_layout(
        title=title or f"{info.y_label} vs {info.x_label}",
        xaxis_title=info.x_label,
        yaxis_title=info.y_label,
        template="plotly_white",
        height=480,
        legend={"orientation": "h", "y": -0.2},
    )
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log")
    return fig


def plot_breakdown(info: BreakdownInfo) -> go.Figure:
    """Stacked latency components (cycles) of each Pareto design."""
    fig = go.Figure()
    labels = [f"trial {t}" for t in info.trials]
    for name, values in info.components.items():
        fig.add_trace(go.Bar(x=labels, y=values, name=name.replace("_", "/")))
    fig.update_layout(
        barmode="stack",
        title="Where the cycles go (Pareto designs)",
        yaxis_title="cycles per step",
        template="plotly_white",
        height=420,
    )
    return fig
