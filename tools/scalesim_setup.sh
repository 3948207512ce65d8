#!/usr/bin/env bash
# Create (idempotently) the separate virtual environment that holds SCALE-Sim v3,
# used only by the validation tests in tests/validation and by
# benchmarks/bench_vs_scalesim.py.
#
# Location: $TNN_DSE_SCALESIM_VENV (default ~/.cache/tnn-dse/scalesim-venv).
# Python:   $TNN_DSE_SCALESIM_PYTHON (default python3.11, else python3).
#
# SCALE-Sim 3.0.0 does not work with numpy >= 2.4, so numpy is pinned below 2.4
# in this venv only; the project's own venv is untouched.
set -euo pipefail
# shellcheck source=tools/_tool_venv.sh
. "$(dirname "$0")/_tool_venv.sh"

VENV="${TNN_DSE_SCALESIM_VENV:-$HOME/.cache/tnn-dse/scalesim-venv}"
SCALESIM_VERSION="3.0.0"

CHECK="
import sys
from importlib.metadata import version
import numpy
from scalesim.scale_sim import scalesim
ok = version('scalesim') == '${SCALESIM_VERSION}'
ok = ok and tuple(int(x) for x in numpy.__version__.split('.')[:2]) < (2, 4)
sys.exit(0 if ok else 1)
"

ensure_tool_venv scalesim "$VENV" "${TNN_DSE_SCALESIM_PYTHON:-}" "$CHECK" \
    "scalesim==${SCALESIM_VERSION}" "numpy<2.4"
