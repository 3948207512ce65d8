"""SCALE-Sim v3 as an external reference simulator: where it lives, and running one GEMM.

SCALE-Sim lives in its own virtual environment (it pins ``numpy < 2.4`` and pulls in numba),
created by ``bash tools/scalesim_setup.sh`` at ``$TNN_DSE_SCALESIM_VENV`` (default
``~/.cache/tnn-dse/scalesim-venv``). Nothing here imports SCALE-Sim: every run is a subprocess
of that environment's interpreter, so this environment keeps its own pins.

Input formats (read from the scalesim 3.0.0 sources): the ``.cfg`` written by
:func:`dse.export.scalesim.scalesim_cfg_text` (the exporter's writer); a GEMM topology
``Layer, M, N, K,`` (the trailing comma is required: the parser drops the last field), which
SCALE-Sim turns into a convolution with ofmap pixels = M, window = K, filters = N, i.e.
``C[M,N] = A[M,K] B[K,N]`` as :class:`analytical_models.Gemm`; a layout file, which must exist
even with custom layouts off (a header is enough).

Bandwidth modes: ``CALC`` fetches operands from an ideal backing store (no stalls); ``USER``
models a finite DRAM interface. In 3.0.0 the ofmap drain bandwidth comes from ``Bandwidth`` and
the ifmap / filter fill bandwidths from ``[layout] IfmapSRAMBankBandwidth`` /
``FilterSRAMBankBandwidth``; the writer sets all three to the requested words per cycle.
"""

from __future__ import annotations

import csv
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

SCALESIM_VERSION = "3.0.0"
"""The SCALE-Sim release ``tools/scalesim_setup.sh`` installs and this harness reads."""
SCALESIM_ENV_VAR = "TNN_DSE_SCALESIM_VENV"
"""Environment variable naming SCALE-Sim's virtual environment (overrides the default)."""
SCALESIM_DEFAULT_VENV = "scalesim-venv"
"""Its folder under ``~/.cache/tnn-dse`` otherwise."""
SCALESIM_SETUP = "bash tools/scalesim_setup.sh"
"""The command that creates it (from the repository root)."""
SCALESIM_IMPORT_CHECK = "from scalesim.scale_sim import scalesim"
"""A statement that succeeds inside a working environment."""

# Runs inside the SCALE-Sim venv. ``scalesim.scale`` (the CLI) always saves full SRAM/DRAM
# traces, which dominates run time for larger GEMMs, so the library is driven directly with
# save_disk_space=True (reports are still written).
DRIVER = r"""
import sys
from scalesim.scale_sim import scalesim
cfg, topo, layout, out = sys.argv[1:5]
s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo,
             layout=layout, input_type_gemm=True)
s.run_scale(top_path=out)
"""

DATAFLOWS = ("ws", "is", "os")
RUN_NAME = "tnn_dse_validation"


def scalesim_venv() -> Path:
    """Location of SCALE-Sim's virtual environment."""
    env = os.environ.get(SCALESIM_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "tnn-dse" / SCALESIM_DEFAULT_VENV


def scalesim_python() -> Path:
    """Its interpreter."""
    return scalesim_venv() / "bin" / "python"


def scalesim_available() -> bool:
    """True when the environment exists and imports SCALE-Sim (creates nothing)."""
    py = scalesim_python()
    if not py.is_file():
        return False
    return subprocess.run([str(py), "-c", SCALESIM_IMPORT_CHECK], capture_output=True, check=False).returncode == 0


def write_inputs(
    run_dir: Path,
    m: int,
    n: int,
    k: int,
    *,
    rows: int,
    cols: int,
    dataflow: str,
    ifmap_kb: int,
    filter_kb: int,
    ofmap_kb: int,
    bw_words: int | None,
) -> tuple[Path, Path, Path]:
    """Write the ``.cfg`` (the exporter's writer), the one-row GEMM topology and the layout
    file of one run into ``run_dir``; ``bw_words=None`` selects CALC mode."""
    from dse.export.scalesim import scalesim_cfg_text

    cfg = run_dir / "scale.cfg"
    topo = run_dir / "gemm.csv"
    layout = run_dir / "layout.csv"
    cfg.write_text(
        scalesim_cfg_text(
            run_name=RUN_NAME,
            rows=rows,
            cols=cols,
            ifmap_kb=ifmap_kb,
            filter_kb=filter_kb,
            ofmap_kb=ofmap_kb,
            dataflow=dataflow,
            bw_words=10 if bw_words is None else bw_words,
            interface="CALC" if bw_words is None else "USER",
        )
    )
    topo.write_text(f"Layer, M, N, K,\ngemm0, {m}, {n}, {k},\n")
    layout.write_text("Layer,\n")
    return cfg, topo, layout


def _read_report(path: Path) -> dict[str, str]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header = [h.strip() for h in rows[0] if h.strip()]
    values = [v.strip() for v in rows[1] if v.strip()]
    return dict(zip(header, values, strict=False))


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
    python: Path | None = None,
) -> dict[str, Any]:
    """Simulate ``C[m,n] = A[m,k] @ B[k,n]`` on a ``rows x cols`` array in SCALE-Sim v3.

    ``bw_words=None`` selects SCALE-Sim's CALC (ideal bandwidth) mode; an integer selects USER
    mode with that many words per cycle per operand interface (SCALE-Sim's words are elements).

    Returned keys: ``total_cycles`` ("Total Cycles": the compute window), ``total_cycles_incl_
    prefetch``, ``stall_cycles``, ``compute_cycles`` (= total - stall), ``overall_util_pct``,
    ``mapping_eff_pct``, ``compute_util_pct``, ``sram_{ifmap,filter}_reads``,
    ``sram_ofmap_writes``, ``dram_{ifmap,filter}_reads``, ``dram_ofmap_writes``, the bandwidth
    report averages ``avg_*_bw`` (words/cycle), the DRAM activity windows
    ``dram_{ifmap,filter,ofmap}_{start,stop}_cycle``, ``wall_s`` and ``report_dir``.

    Raises:
        ValueError: unknown dataflow.
        RuntimeError: SCALE-Sim failed (its output's tail in the message).
        subprocess.TimeoutExpired: the run took longer than ``timeout_s``.
    """
    if dataflow not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {DATAFLOWS}, got {dataflow!r}")
    py = python or scalesim_python()
    wd = Path(workdir)
    tag = f"m{m}_n{n}_k{k}_{rows}x{cols}_{dataflow}_sram{ifmap_kb}-{filter_kb}-{ofmap_kb}_bw{bw_words}"
    wd.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=tag + "_", dir=wd))
    cfg, topo, layout = write_inputs(
        run_dir,
        m,
        n,
        k,
        rows=rows,
        cols=cols,
        dataflow=dataflow,
        ifmap_kb=ifmap_kb,
        filter_kb=filter_kb,
        ofmap_kb=ofmap_kb,
        bw_words=bw_words,
    )
    out = run_dir / "out"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(py), "-c", DRIVER, str(cfg), str(topo), str(layout), str(out)],
        capture_output=True,
        text=True,
        cwd=run_dir,
        check=False,
        timeout=timeout_s,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(
            f"SCALE-Sim failed ({tag}), rc={proc.returncode}\n"
            f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
        )
    rep = out / RUN_NAME
    comp = _read_report(rep / "COMPUTE_REPORT.csv")
    bw = _read_report(rep / "BANDWIDTH_REPORT.csv")
    det = _read_report(rep / "DETAILED_ACCESS_REPORT.csv")
    total = int(float(comp["Total Cycles"]))
    stall = int(float(comp["Stall Cycles"]))
    return {
        "total_cycles": total,
        "total_cycles_incl_prefetch": int(float(comp["Total Cycles (incl. prefetch)"])),
        "stall_cycles": stall,
        "compute_cycles": total - stall,
        "overall_util_pct": float(comp["Overall Util %"]),
        "mapping_eff_pct": float(comp["Mapping Efficiency %"]),
        "compute_util_pct": float(comp["Compute Util %"]),
        "sram_ifmap_reads": int(float(det["SRAM IFMAP Reads"])),
        "sram_filter_reads": int(float(det["SRAM Filter Reads"])),
        "sram_ofmap_writes": int(float(det["SRAM OFMAP Writes"])),
        "dram_ifmap_reads": int(float(det["DRAM IFMAP Reads"])),
        "dram_filter_reads": int(float(det["DRAM Filter Reads"])),
        "dram_ofmap_writes": int(float(det["DRAM OFMAP Writes"])),
        "avg_ifmap_sram_bw": float(bw["Avg IFMAP SRAM BW"]),
        "avg_filter_sram_bw": float(bw["Avg FILTER SRAM BW"]),
        "avg_ofmap_sram_bw": float(bw["Avg OFMAP SRAM BW"]),
        "avg_ifmap_dram_bw": float(bw["Avg IFMAP DRAM BW"]),
        "avg_filter_dram_bw": float(bw["Avg FILTER DRAM BW"]),
        "avg_ofmap_dram_bw": float(bw["Avg OFMAP DRAM BW"]),
        "dram_ifmap_start_cycle": int(float(det["DRAM IFMAP Start Cycle"])),
        "dram_ifmap_stop_cycle": int(float(det["DRAM IFMAP Stop Cycle"])),
        "dram_filter_start_cycle": int(float(det["DRAM Filter Start Cycle"])),
        "dram_filter_stop_cycle": int(float(det["DRAM Filter Stop Cycle"])),
        "dram_ofmap_start_cycle": int(float(det["DRAM OFMAP Start Cycle"])),
        "dram_ofmap_stop_cycle": int(float(det["DRAM OFMAP Stop Cycle"])),
        "wall_s": wall,
        "report_dir": str(rep),
    }
