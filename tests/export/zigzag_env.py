"""Harness for running ZigZag (pip ``zigzag-dse``) as an external reference cost model.

ZigZag lives in its own virtual environment, created by ``tools/zigzag_setup.sh`` at
``$TNN_DSE_ZIGZAG_VENV`` (default ``~/.cache/tnn-dse/zigzag-venv``): it pins its own numpy,
onnx and networkx. This module never imports ZigZag; each run is a subprocess with that venv's
interpreter calling ``zigzag.api.get_hardware_performance_zigzag`` on the files written by
``dse export --target zigzag`` and printing one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SETUP_SCRIPT = REPO_ROOT / "tools" / "zigzag_setup.sh"

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


def zigzag_venv() -> Path:
    """Location of the ZigZag virtual environment."""
    env = os.environ.get("TNN_DSE_ZIGZAG_VENV")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "tnn-dse" / "zigzag-venv"


def zigzag_python() -> Path:
    return zigzag_venv() / "bin" / "python"


def zigzag_available() -> bool:
    """True if the venv exists and imports the ZigZag API (creates nothing)."""
    py = zigzag_python()
    if not py.is_file():
        return False
    proc = subprocess.run(
        [str(py), "-c", "from zigzag.api import get_hardware_performance_zigzag"],
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


def ensure_zigzag_venv() -> Path:
    """Create the ZigZag venv via tools/zigzag_setup.sh if needed; return its python."""
    if not zigzag_available():
        subprocess.run(["bash", str(SETUP_SCRIPT)], check=True)
    return zigzag_python()


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
    py = ensure_zigzag_venv()
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(py), "-c", _DRIVER, str(workload), str(accelerator), str(mapping),
         str(workdir / "zigzag_out"), opt],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=timeout_s,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("ZIGZAG_RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"ZigZag failed, rc={proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\n"
            f"stderr:\n{proc.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("ZIGZAG_RESULT "))
    return result
