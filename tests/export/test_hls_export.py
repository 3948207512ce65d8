"""``hls`` target: the header compiles (g++ -std=c++17) with code using its tables; Tcl clock."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dse import Design, Metrics
from dse.export import get_exporter
from tests.export.conftest import require_tool
from tests.export.designs import small_design

pytestmark = pytest.mark.external

USE_TABLES = """
#include "{header}"
namespace p = tnn_dse::{ns};
constexpr std::int64_t total_macs() {{
  std::int64_t macs = 0;
  for (int i = 0; i < p::N_PASSES; ++i)
    for (int s = 0; s < p::PASSES[i].n_steps; ++s) {{
      const tnn_dse::Gemm& g = p::PASSES[i].steps[s];
      macs += g.batch * g.m * g.n * g.k * p::PASSES[i].count;
    }}
  return macs;
}}
static_assert(total_macs() == {macs}LL, "schedule MACs");
static_assert(p::PE_ROWS == {rows} && p::PE_COLS == {cols}, "array");
static_assert(p::layer_fc1::IN_SHAPE[0] * p::layer_fc1::IN_SHAPE[1] * p::layer_fc1::IN_SHAPE[2]
              == p::layer_fc1::IN_FEATURES, "shape");
static_assert(p::layer_fc1::SCHEDULE_forward_STEPS == {fwd_steps}, "steps");
static_assert(p::IFMAP_BUFFER_BYTES == {ifmap_bytes}, "buffer");
int main() {{ return p::N_GEMMS > 0 ? 0 : 1; }}
"""


def _gxx() -> str:
    gxx = shutil.which("g++")
    require_tool(gxx is not None, "g++")
    assert gxx is not None
    return gxx


def test_header_compiles_and_tables_are_right(design_metrics: tuple[Design, Metrics], tmp_path: Path) -> None:
    gxx = _gxx()
    design, metrics = design_metrics
    header, top, _ = get_exporter("hls")(design, metrics, tmp_path, "trial_3")
    fwd = next(p for p in metrics.passes if p.layer == "fc1" and p.pass_name == "forward")
    src = tmp_path / "use.cpp"
    src.write_text(
        USE_TABLES.format(
            header=header.name,
            ns="trial_3",
            macs=sum(p.macs for p in metrics.passes),
            rows=design.hardware.pe_rows,
            cols=design.hardware.pe_cols,
            fwd_steps=len(fwd.steps),
            ifmap_bytes=int(design.hardware.ifmap_sram_kb * 1024),
        )
    )
    for cpp in (src, top):
        proc = subprocess.run(
            [
                gxx,
                "-std=c++17",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-Wno-unknown-pragmas",
                "-fsyntax-only",
                "-I",
                str(tmp_path),
                str(cpp),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr


def test_static_assert_catches_bad_shape(tmp_path: Path) -> None:
    """The header's own static_asserts fire when a shape table is tampered with."""
    gxx = _gxx()
    design, metrics = small_design()
    header, _, _ = get_exporter("hls")(design, metrics, tmp_path, "bad")
    text = header.read_text()
    tampered = text.replace("IN_SHAPE[] = {4, 4, 4}", "IN_SHAPE[] = {4, 4, 5}", 1)
    assert tampered != text
    header.write_text(tampered)
    proc = subprocess.run(
        [gxx, "-std=c++17", "-fsyntax-only", "-x", "c++", str(header)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0 and "in_shape product" in proc.stderr


@pytest.mark.parametrize("freq_mhz", [400.0, 333.0, 1000.0])
def test_tcl_clock_matches_frequency(freq_mhz: float, tmp_path: Path) -> None:
    design, metrics = small_design(freq_mhz=freq_mhz)
    _, _, tcl = get_exporter("hls")(design, metrics, tmp_path, "d")
    text = tcl.read_text()
    for cmd in ("open_project", "set_top", "add_files", "open_solution", "set_part", "csynth_design"):
        assert re.search(rf"^{cmd}\b", text, flags=re.M), cmd
    period = float(re.search(r"^create_clock -period (\S+)", text, flags=re.M).group(1))  # type: ignore[union-attr]
    assert period == pytest.approx(1000.0 / freq_mhz, rel=1e-5)


RUN_SCHEDULE = """
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "{top}"

// Runs every step of the schedule through the exported top with the step's mapping and checks
// C against a plain triple loop.
int main() {{
  unsigned seed = 7;
  int bad = 0, steps = 0;
  for (int i = 0; i < p::N_PASSES; ++i)
    for (int s = 0; s < p::PASSES[i].n_steps; ++s) {{
      const tnn_dse::Gemm& g = p::PASSES[i].steps[s];
      const int m = static_cast<int>(g.m), n = static_cast<int>(g.n), k = static_cast<int>(g.k);
      std::vector<elem_t> a(static_cast<std::size_t>(m) * k), b(static_cast<std::size_t>(k) * n);
      std::vector<acc_t> c(static_cast<std::size_t>(m) * n, 0), ref(static_cast<std::size_t>(m) * n, 0);
      for (auto& v : a) {{ seed = seed * 1103515245u + 12345u; v = static_cast<elem_t>((seed >> 16) % 7u) - 3; }}
      for (auto& v : b) {{ seed = seed * 1103515245u + 12345u; v = static_cast<elem_t>((seed >> 16) % 7u) - 3; }}
      for (int r = 0; r < m; ++r)
        for (int q = 0; q < n; ++q)
          for (int x = 0; x < k; ++x) ref[r * n + q] += static_cast<acc_t>(a[r * k + x]) * b[x * n + q];
      tnn_dse_gemm(a.data(), b.data(), c.data(), m, n, k, static_cast<int>(g.tile_m), static_cast<int>(g.tile_n),
                   static_cast<int>(g.tile_k), static_cast<int>(g.loop_order), static_cast<int>(g.dataflow));
      bad += c != ref;
      ++steps;
    }}
  std::printf("%d steps, %d wrong\\n", steps, bad);
  return bad == 0 && steps > 0 ? 0 : 1;
}}
"""


@pytest.mark.parametrize(
    ("dataflows", "bits", "elem_t"),
    [(("ws", "os"), 8, "std::int8_t"), (("is",), 16, "std::int16_t"), (("os",), 12, "std::int16_t")],
)
def test_top_runs_every_step_with_its_mapping(
    dataflows: tuple[str, ...], bits: int, elem_t: str, tmp_path: Path
) -> None:
    """The generated top, compiled and run, computes every step of the schedule exactly with
    the step's dataflow, tiles and loop order; operand types follow the design's widths."""
    gxx = _gxx()
    # small buffers: several tiles per GEMM, and a C tile that spills for some steps
    design, metrics = small_design(
        dataflows=dataflows, bits=bits, ifmap_sram_kb=0.5, filter_sram_kb=0.5, ofmap_sram_kb=0.25
    )
    _, top, _ = get_exporter("hls")(design, metrics, tmp_path, "run")
    text = top.read_text()
    assert f"using elem_t = {elem_t};" in text and "ap_int<p::BITS>" in text
    for d in ("ws", "os", "is"):
        assert (f"static void block_{d}(" in text) == (d in dataflows)
    tiles = [(s.tile_m, s.tile_n, s.tile_k) for p in metrics.passes for s in p.steps]
    assert any(t != (s.m, s.n, s.k) for t, s in zip(tiles, [s for p in metrics.passes for s in p.steps], strict=True))
    src = tmp_path / "run_main.cpp"
    src.write_text(RUN_SCHEDULE.format(top=top.name))
    exe = tmp_path / "run"
    proc = subprocess.run(
        [
            gxx,
            "-std=c++17",
            "-O1",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wno-unknown-pragmas",
            "-I",
            str(tmp_path),
            str(src),
            "-o",
            str(exe),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 wrong" in run.stdout


def test_fpga_part_option_is_used_and_recorded(tmp_path: Path) -> None:
    from dse.export import DEFAULT_FPGA_PART, ExportOptions

    design, metrics = small_design()
    header, _, tcl = get_exporter("hls")(
        design, metrics, tmp_path, "d", ExportOptions(fpga_part="xczu7ev-ffvc1156-2-e")
    )
    assert re.search(r"^set_part \{xczu7ev-ffvc1156-2-e\}$", tcl.read_text(), flags=re.M)
    assert 'FPGA_PART = "xczu7ev-ffvc1156-2-e"' in header.read_text()
    _, _, tcl = get_exporter("hls")(design, metrics, tmp_path / "default", "d")
    assert f"set_part {{{DEFAULT_FPGA_PART}}}" in tcl.read_text()


def test_header_carries_the_execution_schedule(tmp_path: Path) -> None:
    """Fused steps are marked with their token tile, each pass lists the intermediates it keeps
    on chip, and the header still compiles (the buffer check skips steps on resident tensors)."""
    from tests.export.designs import small_design

    gxx = _gxx()
    design, metrics = small_design()
    fused = [s for p in metrics.passes for s in p.steps if s.fused]
    assert fused, "the small design fuses at least one pass"
    header, _, _ = get_exporter("hls")(design, metrics, tmp_path, "sched")
    text = header.read_text()
    assert ", true, " in text and "_ON_CHIP[]" in text
    for p in metrics.passes:
        assert p.schedule is not None
        for name in p.schedule.on_chip:
            assert f'"{name}"' in text
    src = tmp_path / "use.cpp"
    src.write_text(f'#include "{header.name}"\nint main() {{ return tnn_dse::sched::N_GEMMS > 0 ? 0 : 1; }}\n')
    proc = subprocess.run(
        [gxx, "-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I", str(tmp_path), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
