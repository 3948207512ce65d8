"""Harness for running SCALE-Sim v3 as an external reference simulator.

SCALE-Sim lives in its own virtual environment (it needs ``numpy < 2.4`` and
pulls in numba), created by ``tools/scalesim_setup.sh`` at
``$TNN_DSE_SCALESIM_VENV`` (default ``~/.cache/tnn-dse/scalesim-venv``).  This
module never imports SCALE-Sim itself: every run is a subprocess using that
venv's interpreter, so the project venv stays free of its pins.

Input formats (read from the scalesim 3.0.0 sources):

* config ``.cfg`` — ``[general] run_name``; ``[architecture_presets]``
  ArrayHeight (rows), ArrayWidth (cols), ifmapsramszkB / filtersramszkB /
  ofmapsramszkB, Ifmap/Filter/OfmapOffset, Dataflow (os|ws|is),
  Read/WriteRequestBuffer, Bandwidth; ``[layout]`` custom-layout switches and
  SRAM bank parameters; ``[sparsity] SparsitySupport``; ``[run_presets]``
  InterfaceBandwidth (CALC|USER), UseRamulatorTrace.
* GEMM topology csv — header line, then ``name, M, N, K,`` (trailing comma
  required: the parser drops the last field).  SCALE-Sim turns it into a conv
  layer with ofmap pixels = M, window = K, filters = N, i.e. the same
  ``C[M,N] = A[M,K] @ B[K,N]`` convention as ``analytical_models.Gemm``.
* layout csv — must exist even when custom layouts are off; a header-only file
  is accepted.

Bandwidth modes: ``CALC`` (default, "estimate bandwidth") fetches operands
from an ideal backing store and reports the DRAM bandwidth it would need: no
stalls.  ``USER`` models a finite DRAM interface; note that in 3.0.0 the ofmap
drain bandwidth comes from ``Bandwidth`` while the ifmap and filter fill
bandwidths come from ``[layout] IfmapSRAMBankBandwidth`` /
``FilterSRAMBankBandwidth``, so :func:`run_scalesim` sets all three to the
requested words/cycle.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests._tools import SCALESIM

SCALESIM_VERSION = "3.0.0"

# Runs inside the SCALE-Sim venv.  ``scalesim.scale`` (the CLI) always saves
# full SRAM/DRAM traces, which dominates run time for larger GEMMs, so we drive
# the library directly with save_disk_space=True (reports are still written).
_DRIVER = r"""
import sys
from scalesim.scale_sim import scalesim
cfg, topo, layout, out = sys.argv[1:5]
s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo,
             layout=layout, input_type_gemm=True)
s.run_scale(top_path=out)
"""

_DATAFLOWS = ("ws", "is", "os")

# where SCALE-Sim's environment lives, and creating it: one implementation for every tool venv
scalesim_venv = SCALESIM.venv
scalesim_python = SCALESIM.python
scalesim_available = SCALESIM.available
ensure_scalesim_venv = SCALESIM.ensure


def _write_cfg(
    path: Path,
    *,
    rows: int,
    cols: int,
    dataflow: str,
    ifmap_kb: int,
    filter_kb: int,
    ofmap_kb: int,
    bw_words: int | None,
) -> None:
    from dse.export.scalesim import scalesim_cfg_text

    text = scalesim_cfg_text(
        run_name="tnn_dse_validation",
        rows=rows,
        cols=cols,
        ifmap_kb=ifmap_kb,
        filter_kb=filter_kb,
        ofmap_kb=ofmap_kb,
        dataflow=dataflow,
        bw_words=10 if bw_words is None else bw_words,
        interface="CALC" if bw_words is None else "USER",
    )
    path.write_text(text)


def _read_report(path: Path) -> dict[str, str]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header = [h.strip() for h in rows[0] if h.strip()]
    values = [v.strip() for v in rows[1] if v.strip()]
    return dict(zip(header, values, strict=False))


def _num(value: str) -> float:
    return float(value)


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
    dram_bw_bytes_per_cycle: int | None,
    workdir: str | os.PathLike[str],
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Simulate ``C[m,n] = A[m,k] @ B[k,n]`` on a rows x cols array in SCALE-Sim v3.

    ``dram_bw_bytes_per_cycle=None`` selects SCALE-Sim's CALC (ideal/estimate
    bandwidth) mode; an integer selects USER mode with that many words per cycle
    per operand interface (SCALE-Sim uses 1-byte words, so bytes == words).

    Returned keys: ``total_cycles`` (SCALE-Sim "Total Cycles": compute + stalls
    after the first prefetch), ``total_cycles_incl_prefetch``, ``stall_cycles``,
    ``compute_cycles`` (= total - stall), ``overall_util_pct``,
    ``mapping_eff_pct``, ``compute_util_pct``, ``sram_{ifmap,filter}_reads``,
    ``sram_ofmap_writes``, ``dram_{ifmap,filter}_reads``, ``dram_ofmap_writes``,
    the bandwidth report averages ``avg_*_bw`` (words/cycle), the DRAM activity windows
    ``dram_{ifmap,filter,ofmap}_{start,stop}_cycle`` (``incl. prefetch`` is the ofmap stop minus
    the earlier of the two read starts), ``wall_s`` and ``report_dir``.

    ``timeout_s`` bounds the simulation's wall time (``subprocess.TimeoutExpired`` past it).
    """
    if dataflow not in _DATAFLOWS:
        raise ValueError(f"dataflow must be one of {_DATAFLOWS}, got {dataflow!r}")
    py = ensure_scalesim_venv()
    wd = Path(workdir)
    tag = f"m{m}_n{n}_k{k}_{rows}x{cols}_{dataflow}_sram{ifmap_kb}-{filter_kb}-{ofmap_kb}_bw{dram_bw_bytes_per_cycle}"
    wd.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=tag + "_", dir=wd))
    cfg = run_dir / "scale.cfg"
    topo = run_dir / "gemm.csv"
    layout = run_dir / "layout.csv"
    out = run_dir / "out"
    _write_cfg(
        cfg,
        rows=rows,
        cols=cols,
        dataflow=dataflow,
        ifmap_kb=ifmap_kb,
        filter_kb=filter_kb,
        ofmap_kb=ofmap_kb,
        bw_words=dram_bw_bytes_per_cycle,
    )
    topo.write_text(f"Layer, M, N, K,\ngemm0, {m}, {n}, {k},\n")
    layout.write_text("Layer,\n")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(py), "-c", _DRIVER, str(cfg), str(topo), str(layout), str(out)],
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
    rep = out / "tnn_dse_validation"
    comp = _read_report(rep / "COMPUTE_REPORT.csv")
    bw = _read_report(rep / "BANDWIDTH_REPORT.csv")
    det = _read_report(rep / "DETAILED_ACCESS_REPORT.csv")
    total = int(_num(comp["Total Cycles"]))
    stall = int(_num(comp["Stall Cycles"]))
    return {
        "total_cycles": total,
        "total_cycles_incl_prefetch": int(_num(comp["Total Cycles (incl. prefetch)"])),
        "stall_cycles": stall,
        "compute_cycles": total - stall,
        "overall_util_pct": _num(comp["Overall Util %"]),
        "mapping_eff_pct": _num(comp["Mapping Efficiency %"]),
        "compute_util_pct": _num(comp["Compute Util %"]),
        "sram_ifmap_reads": int(_num(det["SRAM IFMAP Reads"])),
        "sram_filter_reads": int(_num(det["SRAM Filter Reads"])),
        "sram_ofmap_writes": int(_num(det["SRAM OFMAP Writes"])),
        "dram_ifmap_reads": int(_num(det["DRAM IFMAP Reads"])),
        "dram_filter_reads": int(_num(det["DRAM Filter Reads"])),
        "dram_ofmap_writes": int(_num(det["DRAM OFMAP Writes"])),
        "avg_ifmap_sram_bw": _num(bw["Avg IFMAP SRAM BW"]),
        "avg_filter_sram_bw": _num(bw["Avg FILTER SRAM BW"]),
        "avg_ofmap_sram_bw": _num(bw["Avg OFMAP SRAM BW"]),
        "avg_ifmap_dram_bw": _num(bw["Avg IFMAP DRAM BW"]),
        "avg_filter_dram_bw": _num(bw["Avg FILTER DRAM BW"]),
        "avg_ofmap_dram_bw": _num(bw["Avg OFMAP DRAM BW"]),
        "dram_ifmap_start_cycle": int(_num(det["DRAM IFMAP Start Cycle"])),
        "dram_ifmap_stop_cycle": int(_num(det["DRAM IFMAP Stop Cycle"])),
        "dram_filter_start_cycle": int(_num(det["DRAM Filter Start Cycle"])),
        "dram_filter_stop_cycle": int(_num(det["DRAM Filter Stop Cycle"])),
        "dram_ofmap_start_cycle": int(_num(det["DRAM OFMAP Start Cycle"])),
        "dram_ofmap_stop_cycle": int(_num(det["DRAM OFMAP Stop Cycle"])),
        "wall_s": wall,
        "report_dir": str(rep),
    }


if __name__ == "__main__":  # quick manual check: python -m tests.validation.scalesim_env
    import json

    with tempfile.TemporaryDirectory() as td:
        res = run_scalesim(32, 16, 24, 8, 8, sys.argv[1] if len(sys.argv) > 1 else "ws", 256, 256, 128, None, td)
        print(json.dumps({k: v for k, v in res.items() if k != "report_dir"}, indent=1))
