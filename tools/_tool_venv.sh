# shellcheck shell=bash
# Sourced by tools/*_setup.sh: create (idempotently) the separate virtual environment of a
# reference tool whose pinned dependencies differ from the project's.
#
#   ensure_tool_venv LABEL VENV PYTHON CHECK PACKAGE...
#
# PYTHON may be empty (python3.11 if present, else python3). CHECK is Python code run inside the
# venv that exits 0 when the venv is usable; PACKAGEs are pip requirement specifiers.
ensure_tool_venv() {
    local label="$1" venv="$2" py="$3" check="$4"
    shift 4
    if [[ -z "$py" ]]; then
        if command -v python3.11 >/dev/null 2>&1; then py="python3.11"; else py="python3"; fi
    fi
    if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
        echo "$label venv ready: $venv"
        return 0
    fi
    mkdir -p "$(dirname "$venv")"
    if [[ ! -x "$venv/bin/python" ]]; then
        "$py" -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "$@"
    if "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
        echo "$label venv ready: $venv"
    else
        echo "$label venv at $venv failed its import check" >&2
        return 1
    fi
}
