"""``verilog`` target: the localparam file parses in Icarus Verilog and simulates its values."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dse import Design, Metrics
from dse.export import get_exporter
from dse.export.verilog import integer_params
from tests.export.conftest import require_tool

pytestmark = pytest.mark.external


def test_params_parse_and_simulate(design_metrics: tuple[Design, Metrics], tmp_path: Path) -> None:
    iverilog, vvp = shutil.which("iverilog"), shutil.which("vvp")
    require_tool(iverilog is not None and vvp is not None, "iverilog (apt-get install -y iverilog)")
    assert iverilog is not None and vvp is not None
    design, metrics = design_metrics
    (vh,) = get_exporter("verilog")(design, metrics, tmp_path, "trial_5")
    names = re.findall(r"^localparam integer (\w+)", vh.read_text(), flags=re.M)
    reals = re.findall(r"^localparam real\s+(\w+)", vh.read_text(), flags=re.M)
    expected = integer_params(design, metrics)
    assert names == list(expected)
    shows = "\n".join(f'    $display("{n}=%0d", {n});' for n in names)
    shows += "\n" + "\n".join(f'    $display("{n}=%f", {n});' for n in reals)
    top = tmp_path / "top.v"
    top.write_text(f'module top;\n`include "{vh.name}"\n  initial begin\n{shows}\n    $finish;\n  end\nendmodule\n')
    out = tmp_path / "top.vvp"
    comp = subprocess.run(
        [iverilog, "-g2012", "-Wall", "-I", str(tmp_path), "-o", str(out), str(top)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert comp.returncode == 0, comp.stderr
    sim = subprocess.run([vvp, "-n", str(out)], capture_output=True, text=True, check=False)
    assert sim.returncode == 0, sim.stderr
    got = dict(re.findall(r"^(\w+)=(\S+)$", sim.stdout, flags=re.M))
    hw = design.hardware
    assert {n: int(got[n]) for n in names} == expected
    assert expected["PE_ROWS"] == hw.pe_rows and expected["PE_COLS"] == hw.pe_cols
    assert expected["IFMAP_SRAM_BYTES"] == hw.ifmap_sram_kb * 1024
    assert expected["CLOCK_PERIOD_PS"] == round(1e6 / hw.freq_mhz)
    assert float(got["FREQ_MHZ"]) == pytest.approx(hw.freq_mhz)
    assert float(got["DRAM_BW_BYTES_PER_CYCLE"]) == pytest.approx(hw.dram_bw_bytes_per_cycle)
