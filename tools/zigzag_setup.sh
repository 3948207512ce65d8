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
# shellcheck source=tools/_tool_venv.sh
. "$(dirname "$0")/_tool_venv.sh"

VENV="${TNN_DSE_ZIGZAG_VENV:-$HOME/.cache/tnn-dse/zigzag-venv}"
ZIGZAG_VERSION="${TNN_DSE_ZIGZAG_VERSION:-3.9.1}"

CHECK="
import sys
from importlib.metadata import version
from zigzag.api import get_hardware_performance_zigzag
sys.exit(0 if version('zigzag-dse') == '${ZIGZAG_VERSION}' else 1)
"

# zigzag-dse 3.9.1 imports `six` (parser/upgraded_validator.py) without declaring it.
ensure_tool_venv zigzag "$VENV" "${TNN_DSE_ZIGZAG_PYTHON:-}" "$CHECK" "zigzag-dse==${ZIGZAG_VERSION}" six
