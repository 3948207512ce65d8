"""Figures drawn from the info tuples of :mod:`dse.report._info` (no data extraction here)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from dse.compare import BaselineInfo
from dse.report._info import (
    MAX_PARALLEL_PARAMS,
    UNITS,
    BreakdownInfo,
    Front3DInfo,
    FrontInfo,
    HypervolumeInfo,
    ImportanceInfo,
    ParallelInfo,
    PassBreakdownInfo,
    TreeInfo,
    describe_bounds,
)

TEMPLATE_NAME = "plotly_white"
TEMPLATE = pio.templates[TEMPLATE_NAME]
"""Shared template object (passing the name copies the template for every figure)."""

VALIDATE = False
"""Whether the figures' properties are validated as they are built. Plotly's validation coerces
and checks every property (about a quarter of a dashboard's time, 0.25 s of a 192-trial study's
1.1 s); the figures here are written in the canonical form it would produce (axis titles as
``{"text": ...}``, ...), which the tests check by building every figure both ways. The figures
the ``plot_*`` functions return are built so: a caller's later updates to one are not validated
either (``go.Figure(fig)`` gives a validated copy)."""


def figure(data: Any = None, layout: Any = None) -> go.Figure:
    """A figure of ``data`` (traces) and ``layout``, validated only when :data:`VALIDATE`."""
    return go.Figure(data=data, layout=layout, _validate=VALIDATE)


def trace(kind: Any, **props: Any) -> Any:
    """A trace of plotly class ``kind`` (e.g. ``go.Scatter``), validated only when :data:`VALIDATE`."""
    return kind(_validate=VALIDATE, **props)


@contextmanager
def shared_template() -> Iterator[None]:
    """Figures made inside take the shared template when they are created, as plotly's default
    (which plotly applies without validating it again), and :func:`style` leaves it: a figure
    made outside validates a copy in :func:`style` (about a quarter of a dashboard's time).
    Plotly's default is restored on exit."""
    old = pio.templates.default
    pio.templates.default = TEMPLATE_NAME
    try:
        yield
    finally:
        pio.templates.default = old


FRONT_COLOR = "#d62728"
FADED = "rgba(120,120,120,0.25)"
INFEASIBLE = "rgba(255,127,14,0.75)"
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


def tick_text(value: float) -> str:
    """A tick label written out in full: ``0.002``, ``50``, ``20k``, ``1.5M`` (never a bare
    mantissa such as plotly's ``2`` or ``5`` between decades)."""
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= 10 * scale or (suffix != "k" and abs(value) >= scale):
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def log_axis(values: Sequence[float]) -> dict[str, Any]:
    """A log axis over ``values`` (all > 0) whose every tick is labelled in full.

    Ticks at 1-2-5 of each decade (decades only when that makes more than 8 ticks, 1..9 when
    the range is too narrow for two); unlabelled minor ticks mark the other multiples.
    """
    vals = [v for v in values if v > 0 and math.isfinite(v)]
    if not vals:
        return {"type": "log"}
    lo, hi = min(vals) / 1.05, max(vals) * 1.05
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)

    def ticks(mantissas: tuple[int, ...]) -> list[float]:
        return [float(f"{m}e{d}") for d in decades for m in mantissas if lo <= float(f"{m}e{d}") <= hi]

    picked = ticks((1, 2, 5))
    if len(picked) > 8:
        picked = ticks((1,))
    elif len(picked) < 2:
        picked = ticks((1, 2, 3, 4, 5, 6, 7, 8, 9))
    return {
        "type": "log",
        "tickvals": picked,
        "ticktext": [tick_text(v) for v in picked],
        "minor": {"ticks": "outside", "ticklen": 3, "showgrid": False},
    }


def style(fig: go.Figure, title: str, *, height: int, margin: dict[str, int] | None = None) -> go.Figure:
    """Title on the left above the plot, plotly's toolbar upright in the right margin (it never
    covers the title), the shared template."""
    m = {"l": 60, "r": 50, "t": 60, "b": 40, **(margin or {})}
    m["r"] = max(m["r"], 45)
    template = {} if pio.templates.default == TEMPLATE_NAME else {"template": TEMPLATE}
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "xref": "paper", "y": 0.98, "yanchor": "top"},
        height=height,
        margin=m,
        modebar={"orientation": "v"},
        **template,
    )
    return fig


def _count(n: int, shown: int, what: str) -> str:
    return f"{what} ({n:,})" if shown == n else f"{what} (random {shown:,} of {n:,})"


def plot_front(info: FrontInfo, *, title: str = "") -> go.Figure:
    """Trials off the front faded (infeasible ones as orange crosses), the Pareto front
    highlighted and joined, constraint bounds as dashed lines; hover on the front shows the
    whole design. Large studies draw a random sample of the other trials (the legend says so)."""
    fig = figure()
    feasible = np.asarray(info.all_feasible, dtype=bool)
    xs = np.asarray(info.all_x, dtype=np.float32)
    ys = np.asarray(info.all_y, dtype=np.float32)
    trials = np.asarray(info.all_trials, dtype=np.int32)
    n_shown = len(info.all_x)
    tip = f"trial %{{customdata}}<br>{info.x_label}: %{{x:.4g}}<br>{info.y_label}: %{{y:.4g}}"
    for keep, name, marker in (
        (feasible, "other trials", {"color": FADED, "size": 5}),
        (~feasible, "infeasible trials", {"color": INFEASIBLE, "size": 6, "symbol": "x"}),
    ):
        if not keep.any():
            continue
        label = _count(info.n_background, n_shown, name) if name == "other trials" else name
        fig.add_trace(
            trace(
                go.Scatter,
                x=xs[keep],
                y=ys[keep],
                customdata=trials[keep],
                mode="markers",
                name=label,
                marker=marker,
                hovertemplate=tip + f"<extra>{name}</extra>",
            )
        )
    fig.add_trace(
        trace(
            go.Scatter,
            x=np.asarray(info.front_x, dtype=float),
            y=np.asarray(info.front_y, dtype=float),
            mode="markers+lines",
            name="Pareto front",
            marker={"color": FRONT_COLOR, "size": 8},
            line={"shape": "hv", "color": FRONT_COLOR},
            text=info.front_hover,
            hovertemplate="%{text}<extra>Pareto front</extra>",
        )
    )
    for key, bound in info.bounds.items():
        text = f"bound {bound:g} {UNITS.get(key, '')}".rstrip()
        line = {"dash": "dash", "color": INFEASIBLE, "width": 1.5}
        if key == info.y_key:
            fig.add_hline(y=bound, line=line, annotation_text=text, annotation_position="top left")
        else:
            fig.add_vline(x=bound, line=line, annotation_text=text, annotation_position="top right")
    style(fig, title or f"{info.y_label} vs {info.x_label}", height=440)
    fig.update_layout(
        xaxis_title_text=info.x_label, yaxis_title_text=info.y_label, legend={"orientation": "h", "y": -0.22}
    )
    xs_all = [*info.all_x, *info.front_x, *[b for k, b in info.bounds.items() if k == info.x_key]]
    ys_all = [*info.all_y, *info.front_y, *[b for k, b in info.bounds.items() if k == info.y_key]]
    if xs_all and all(v > 0 for v in xs_all):
        fig.update_xaxes(**log_axis(xs_all))
    if ys_all and all(v > 0 for v in ys_all):
        fig.update_yaxes(**log_axis(ys_all))
    return fig


def plot_front_3d(info: Front3DInfo) -> go.Figure:
    """The three metrics in 3-D: other trials faded (a random sample in large studies),
    infeasible ones orange, the 3-D front highlighted with the whole design on hover."""
    fig = figure()
    feasible = np.asarray(info.all_feasible, dtype=bool)
    xyz = [np.asarray(v, dtype=np.float32) for v in info.all_xyz]
    trials = np.asarray(info.all_trials, dtype=np.int32)
    n_shown = len(info.all_trials)
    for keep, name, color in (
        (feasible, "other trials", "rgba(110,110,110,0.5)"),
        (~feasible, "infeasible trials", INFEASIBLE),
    ):
        if not keep.any():
            continue
        fig.add_trace(
            trace(
                go.Scatter3d,
                x=xyz[0][keep],
                y=xyz[1][keep],
                z=xyz[2][keep],
                customdata=trials[keep],
                mode="markers",
                name=_count(info.n_background, n_shown, name) if name == "other trials" else name,
                marker={"color": color, "size": 3},
                hovertemplate="trial %{customdata}<extra>" + name + "</extra>",
            )
        )
    fig.add_trace(
        trace(
            go.Scatter3d,
            x=np.asarray(info.front_xyz[0], dtype=float),
            y=np.asarray(info.front_xyz[1], dtype=float),
            z=np.asarray(info.front_xyz[2], dtype=float),
            mode="markers",
            name="Pareto front",
            marker={"color": FRONT_COLOR, "size": 5},
            text=info.front_hover,
            hovertemplate="%{text}<extra>Pareto front</extra>",
        )
    )
    axes: dict[str, Any] = {}
    for name, label, values, front in zip(
        ("xaxis", "yaxis", "zaxis"), info.labels, info.all_xyz, info.front_xyz, strict=True
    ):
        axes[name] = {"title": {"text": label}}
        both = [*values, *front]
        if both and all(v > 0 for v in both):
            axes[name].update(log_axis(both))
            axes[name].pop("minor", None)  # 3-D axes have no minor ticks
    style(fig, f"3-D front: {', '.join(info.keys)}", height=620, margin={"l": 0, "r": 45, "t": 60, "b": 20})
    fig.update_layout(scene=axes, legend={"orientation": "h", "y": -0.05})
    return fig


def plot_parallel(info: ParallelInfo) -> go.Figure:
    """Parallel coordinates of parameters and objectives; Pareto designs in red."""
    dims: list[dict[str, Any]] = []
    for d in info.dimensions:
        dim: dict[str, Any] = {"label": d.label, "values": np.asarray(d.values, dtype=np.float32)}
        if d.tickvals is not None:
            dim["tickvals"] = d.tickvals
            dim["ticktext"] = d.ticktext
        dims.append(dim)
    fig = figure(
        trace(
            go.Parcoords,
            dimensions=dims,
            line={
                "color": np.asarray(info.on_front, dtype=np.int8),
                "colorscale": [[0.0, "rgba(150,150,150,0.35)"], [1.0, FRONT_COLOR]],
                "cmin": 0,
                "cmax": 1,
            },
            labelangle=-20,
            labelside="bottom",
        )
    )
    n_lines = len(info.trials)
    shown = (
        f"every trial ({n_lines:,})"
        if n_lines >= info.n_trials
        else f"the Pareto designs and a random sample of the others ({n_lines:,} of {info.n_trials:,} trials)"
    )
    n_axes = min(info.n_params, MAX_PARALLEL_PARAMS)
    params = "" if info.n_params <= n_axes else f" ({n_axes} of {info.n_params} parameters: all are in trials.csv)"
    style(
        fig,
        f"Parameters{params} and objectives of {shown}; Pareto designs in red, drag on an axis to filter",
        height=520,
        margin={"l": 70, "r": 70, "t": 90, "b": 90},
    )
    return fig


def plot_hypervolume(info: HypervolumeInfo) -> go.Figure:
    """Normalized hypervolume after each trial (drawn at the trials where it changes), with the
    normalization written on the plot in the objectives' own units and directions."""
    hv = np.asarray(info.hypervolume, dtype=float)
    trials = np.asarray(info.trials, dtype=np.int64)
    if len(hv) > 2:  # a step line only needs the trials where the value changes, and the last
        keep = np.concatenate([[True], hv[1:] != hv[:-1]])
        keep[-1] = True
        hv, trials = hv[keep], trials[keep]
    fig = figure(
        trace(
            go.Scatter,
            x=trials,
            y=hv,
            mode="lines",
            line={"shape": "hv", "color": "#1f77b4"},
            name="hypervolume",
            hovertemplate="trial %{x}: %{y:.4f}<extra></extra>",
        )
    )
    if info.best:
        fig.add_annotation(
            text=(
                "each objective scaled to [0, 1] between its best and worst value over all trials:<br>"
                + describe_bounds(info, sep="<br>")
                + "<br>reference point 1.1 in every scaled objective (10 % beyond the worst value); "
                "value = fraction of the 1.1^m box"
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
    style(fig, f"Normalized hypervolume of the front ({', '.join(info.objectives)})", height=400)
    fig.update_layout(xaxis_title_text="trial", yaxis_title_text="normalized hypervolume [fraction]")
    return fig


def plot_importance(info: ImportanceInfo) -> go.Figure:
    """Horizontal bars: optuna's PED-ANOVA importance of each parameter for each objective (how
    strongly the objective's best trials concentrate on some of its values), each objective
    scored only on the parameters that can change it (the legend says which)."""
    fig = figure()
    params: list[str] = []
    for imp in info.importances.values():
        params += [p for p in imp if p not in params]
    first = next(iter(info.importances.values()), {})
    params.sort(key=lambda p: first.get(p, 0.0))
    for key, imp in info.importances.items():
        scope = info.considered.get(key, "")
        fig.add_trace(
            trace(
                go.Bar,
                x=[imp.get(p, float("nan")) for p in params],
                y=params,
                orientation="h",
                name=f"{key} ({scope})" if scope else key,
                hovertemplate="%{y}: %{x:.3f}<extra>" + key + "</extra>",
            )
        )
    title = "Parameter importance per objective (optuna PED-ANOVA: where the best 10 % of trials concentrate)"
    if info.skipped:
        title += "<br>not scored: " + "; ".join(f"{k}: {v}" for k, v in info.skipped.items())
    style(
        fig,
        title,
        height=max(340, 80 + 22 * len(params) * max(1, len(info.importances))),
        margin={"l": 160, "t": 80 if info.skipped else 60},
    )
    fig.update_layout(
        barmode="group", xaxis_title_text="importance [fraction, sums to 1 per objective]", legend={"orientation": "h"}
    )
    return fig


def plot_breakdown(info: BreakdownInfo) -> go.Figure:
    """Stacked latency (cycles) or energy (uJ) components of each Pareto design."""
    fig = figure()
    labels = [f"trial {t}" for t in info.trials]
    energy = info.quantity != "cycles"
    for name, values in info.components.items():
        ys = [v * 1e-6 for v in values] if energy else values
        fig.add_trace(trace(go.Bar, x=labels, y=ys, name=_label(name), marker={"color": COMPONENT_COLORS.get(name)}))
    style(fig, f"Where the {'energy' if energy else 'cycles'} go (Pareto designs)", height=420)
    fig.update_layout(
        barmode="stack", yaxis_title_text="energy per step [uJ]" if energy else "latency per step [cycles]"
    )
    return fig


def plot_pass_breakdown(info: PassBreakdownInfo, *, title: str = "") -> go.Figure:
    """Latency and energy of one design per layer and pass, stacked by component."""
    x = [info.layers, info.passes]
    traces: list[go.Bar] = []
    for name, values in info.cycles.items():
        traces.append(
            trace(
                go.Bar,
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
            trace(
                go.Bar,
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
    fig = figure(data=traces, layout=layout)
    style(fig, title or "Latency and energy by layer and pass", height=460, margin={"t": 80})
    fig.update_layout(barmode="stack", legend={"groupclick": "toggleitem"})
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
            trace(
                go.Scatter,
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
                trace(
                    go.Scatter,
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
    fig = figure(data=traces, layout=axes)
    style(
        fig,
        title or "Contraction trees (squares: input tensors; circles: steps, GEMM b m n k)",
        height=110 + 270 * rows,
        margin={"t": 90, "b": 20},
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
    fig = figure(
        trace(
            go.Table,
            header={"values": [f"<b>{h}</b>" for h in header], "fill": {"color": "#eeeeee"}, "align": "center"},
            cells={"values": cells, "fill": {"color": fill}, "align": "right", "height": 24},
            columnwidth=[50, 80, 80, 70, 70, 80, 80, 90, 80, 90, 100, 80],
        )
    )
    shown = len(info.trials)
    note = "" if shown == info.n_front else f" ({shown} of {info.n_front} front designs, evenly spread)"
    style(
        fig,
        f"Front designs vs baselines on the same hardware{note}; ratios > 1 (green): design is better",
        height=min(900, 140 + 26 * max(1, shown)),
        margin={"l": 10, "t": 50, "b": 10},
    )
    return fig
