"""Harness for running SCALE-Sim v3 as an external reference simulator in the tests.

The harness itself is :mod:`dse.validate` (``dse validate`` uses it too): SCALE-Sim lives in its
own virtual environment (it needs ``numpy < 2.4`` and pulls in numba), created by
``tools/scalesim_setup.sh`` at ``$TNN_DSE_SCALESIM_VENV`` (default
``~/.cache/tnn-dse/scalesim-venv``), and every run is a subprocess of that environment's
interpreter. Input formats and bandwidth modes are described in :mod:`dse.validate._scalesim`.
Here the tests create the environment when it is missing (:func:`ensure_scalesim_venv`).
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

from dse.validate import DRIVER, SCALESIM_VERSION
from dse.validate import run_scalesim as _run_scalesim
from tests._tools import SCALESIM

_DRIVER = DRIVER
__all__ = ["SCALESIM_VERSION", "ensure_scalesim_venv", "run_scalesim", "scalesim_available", "scalesim_venv"]

# where SCALE-Sim's environment lives, and creating it: one implementation for every tool venv
scalesim_venv = SCALESIM.venv
scalesim_python = SCALESIM.python
scalesim_available = SCALESIM.available
ensure_scalesim_venv = SCALESIM.ensure


def run_scalesim(
    m: int,
    n: int,
    k: int,
    rows: int,
    cols: int,
    dataflow: str,
    ifmap_kb: int,
    filter_kb: int,
    ofmap_kb: int,
    bw_words: int | None,
    workdir: str | os.PathLike[str],
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """:func:`dse.validate.run_scalesim` with the environment created first if missing
    (``bw_words=None``: CALC mode, ideal bandwidth; else USER mode, words per cycle)."""
    py = ensure_scalesim_venv()
    return _run_scalesim(
        m, n, k, rows, cols, dataflow, ifmap_kb, filter_kb, ofmap_kb, bw_words, workdir, timeout_s, python=py
    )


if __name__ == "__main__":  # quick manual check: python -m tests.validation.scalesim_env
    import json

    with tempfile.TemporaryDirectory() as td:
        res = run_scalesim(32, 16, 24, 8, 8, sys.argv[1] if len(sys.argv) > 1 else "ws", 256, 256, 128, None, td)
        print(json.dumps({k: v for k, v in res.items() if k != "report_dir"}, indent=1))
