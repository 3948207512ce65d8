"""Validation of chosen designs against a cycle-level simulator (``dse validate``).

:mod:`dse.validate._scalesim` runs SCALE-Sim v3 in its own environment (one GEMM per run);
:mod:`dse.validate._checks` lowers designs to their GEMMs, prices each with the model (the
mapping search and SCALE-Sim's own loop nest, ``Hardware.mapping="scalesim"``), runs the distinct
ones once and sums them per design.
"""

from dse.validate._checks import (
    CSV_COLUMNS,
    MAX_CYCLES,
    DesignChecks,
    DesignTotals,
    Progress,
    RunCache,
    SimRun,
    Simulate,
    StepCheck,
    collect,
    csv_rows,
    error_pct,
    predicted_cycles,
    scalesim_cycles,
    sim_run,
    simulate_all,
    simulation_hardware,
    totals,
)
from dse.validate._scalesim import (
    DRIVER,
    SCALESIM_DEFAULT_VENV,
    SCALESIM_ENV_VAR,
    SCALESIM_IMPORT_CHECK,
    SCALESIM_SETUP,
    SCALESIM_VERSION,
    run_scalesim,
    scalesim_available,
    scalesim_python,
    scalesim_venv,
    write_inputs,
)

SIMULATORS: tuple[str, ...] = ("scalesim",)
"""Simulators ``dse validate --simulator`` runs."""

__all__ = [
    "CSV_COLUMNS",
    "DRIVER",
    "MAX_CYCLES",
    "SCALESIM_DEFAULT_VENV",
    "SCALESIM_ENV_VAR",
    "SCALESIM_IMPORT_CHECK",
    "SCALESIM_SETUP",
    "SCALESIM_VERSION",
    "SIMULATORS",
    "DesignChecks",
    "DesignTotals",
    "Progress",
    "RunCache",
    "SimRun",
    "Simulate",
    "StepCheck",
    "collect",
    "csv_rows",
    "error_pct",
    "predicted_cycles",
    "run_scalesim",
    "scalesim_available",
    "scalesim_cycles",
    "scalesim_python",
    "scalesim_venv",
    "sim_run",
    "simulate_all",
    "simulation_hardware",
    "totals",
    "write_inputs",
]
