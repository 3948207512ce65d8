"""Harness for running ZigZag (pip ``zigzag-dse``) as an external reference cost model.

ZigZag lives in its own virtual environment, created by ``tools/zigzag_setup.sh`` at
``$TNN_DSE_ZIGZAG_VENV`` (default ``~/.cache/tnn-dse/zigzag-venv``): it pins its own numpy,
onnx and networkx. This module never imports ZigZag; each run is a subprocess with that venv's
interpreter calling ``zigzag.api.get_hardware_performance_zigzag`` on the files written by
``dse export --target zigzag`` and printing one JSON line.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests._tools import ZIGZAG

# Runs inside the ZigZag venv. Latency is ZigZag's ``latency_total2`` (cycles, including
# on-/off-loading), energy ``energy_total`` (pJ); per-layer figures come from the CMEs.
_DRIVER = r"""
import json, logging, sys
logging.disable(logging.CRITICAL)
from zigzag.api import get_hardware_performance_zigzag
workload, accelerator, mapping, dump, opt = sys.argv[1:6]
energy, latency, cmes = get_hardware_performance_zigzag(
    workload, accelerator, mapping, opt=opt, dump_folder=dump, loma_show_progress_bar=False)
layers = [{"name": cme.layer.name, "latency_cycles": float(cme.latency_total2),
           "energy_pj": float(cme.energy_total)} for cme, _ in cmes[0][1]]
print("ZIGZAG_RESULT " + json.dumps({"energy_pj": float(energy), "latency_cycles": float(latency),
                                     "layers": layers}))
"""

# where ZigZag's environment lives, and creating it: one implementation for every tool venv
zigzag_venv = ZIGZAG.venv
zigzag_python = ZIGZAG.python
zigzag_available = ZIGZAG.available
ensure_zigzag_venv = ZIGZAG.ensure


def run_driver(
    driver: str,
    tag: str,
    workload: Path,
    accelerator: Path,
    mapping: Path,
    workdir: Path,
    *,
    opt: str,
    timeout_s: float = 900.0,
) -> dict[str, Any]:
    """Run ``driver`` (Python source run inside ZigZag's venv with the arguments workload,
    accelerator, mapping, dump folder, objective) and parse its last stdout line starting with
    ``tag``: the JSON after it."""
    py = ensure_zigzag_venv()
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(py), "-c", driver, str(workload), str(accelerator), str(mapping), str(workdir / "zigzag_out"), opt],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=timeout_s,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(tag + " ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"ZigZag failed, rc={proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(tag + " "))
    return result


def run_zigzag(
    workload: Path,
    accelerator: Path,
    mapping: Path,
    workdir: Path,
    *,
    opt: str = "latency",
    timeout_s: float = 900.0,
) -> dict[str, Any]:
    """Run ZigZag on exported files; ``{"latency_cycles", "energy_pj", "layers": [...]}``."""
    return run_driver(_DRIVER, "ZIGZAG_RESULT", workload, accelerator, mapping, workdir, opt=opt, timeout_s=timeout_s)
