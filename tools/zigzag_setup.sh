#!/usr/bin/env bash
# Create (idempotently) the separate virtual environment that holds ZigZag (pip package
# `zigzag-dse`), used only by the external test tests/export/test_zigzag_export.py, which runs
# the designs exported with `dse export --target zigzag` in the real ZigZag.
#
# Location: $TNN_DSE_ZIGZAG_VENV (default ~/.cache/tnn-dse/zigzag-venv).
# Python:   $TNN_DSE_ZIGZAG_PYTHON (default python3.11, else python3).
#
# ZigZag pins its own numpy / networkx / onnx versions, so it never enters the project's venv.
set -euo pipefail

VENV="${TNN_DSE_ZIGZAG_VENV:-$HOME/.cache/tnn-dse/zigzag-venv}"
ZIGZAG_VERSION="${TNN_DSE_ZIGZAG_VERSION:-3.9.1}"

if [[ -n "${TNN_DSE_ZIGZAG_PYTHON:-}" ]]; then
    PY="$TNN_DSE_ZIGZAG_PYTHON"
elif command -v python3.11 >/dev/null 2>&1; then
    PY="python3.11"
else
    PY="python3"
fi

ready() {
    [[ -x "$VENV/bin/python" ]] || return 1
    "$VENV/bin/python" - "$ZIGZAG_VERSION" <<'PYEOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
from zigzag.api import get_hardware_performance_zigzag  # noqa: F401
sys.exit(0 if version("zigzag-dse") == sys.argv[1] else 1)
PYEOF
}

if ready; then
    echo "zigzag venv ready: $VENV"
    exit 0
fi

mkdir -p "$(dirname "$VENV")"
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# zigzag-dse 3.9.1 imports `six` (parser/upgraded_validator.py) without declaring it.
"$VENV/bin/python" -m pip install --quiet "zigzag-dse==${ZIGZAG_VERSION}" six

if ready; then
    echo "zigzag venv ready: $VENV"
else
    echo "zigzag venv at $VENV failed its import check" >&2
    exit 1
fi
