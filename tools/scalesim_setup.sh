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

VENV="${TNN_DSE_SCALESIM_VENV:-$HOME/.cache/tnn-dse/scalesim-venv}"
SCALESIM_VERSION="3.0.0"
NUMPY_SPEC="numpy<2.4"

if [[ -n "${TNN_DSE_SCALESIM_PYTHON:-}" ]]; then
    PY="$TNN_DSE_SCALESIM_PYTHON"
elif command -v python3.11 >/dev/null 2>&1; then
    PY="python3.11"
else
    PY="python3"
fi

ready() {
    [[ -x "$VENV/bin/python" ]] || return 1
    "$VENV/bin/python" - "$SCALESIM_VERSION" <<'PYEOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
import numpy
from scalesim.scale_sim import scalesim  # noqa: F401
ok = version("scalesim") == sys.argv[1]
ok = ok and tuple(int(x) for x in numpy.__version__.split(".")[:2]) < (2, 4)
sys.exit(0 if ok else 1)
PYEOF
}

if ready; then
    echo "scalesim venv ready: $VENV"
    exit 0
fi

mkdir -p "$(dirname "$VENV")"
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "scalesim==${SCALESIM_VERSION}" "${NUMPY_SPEC}"

if ready; then
    echo "scalesim venv ready: $VENV"
else
    echo "scalesim venv at $VENV failed its import check" >&2
    exit 1
fi
