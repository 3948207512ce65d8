"""Plotly dashboards: pure info extraction (``_info``), then figure functions (``_figures``)."""

from dse.report._figures import plot_breakdown, plot_front
from dse.report._info import BreakdownInfo, FrontInfo, breakdown_info, design_hover, front_info
from dse.report.dashboard import dashboard_figures, write_dashboard

__all__ = [
    "BreakdownInfo",
    "FrontInfo",
    "breakdown_info",
    "dashboard_figures",
    "design_hover",
    "front_info",
    "plot_breakdown",
    "plot_front",
    "write_dashboard",
]
