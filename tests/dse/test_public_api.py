"""The public API: what ``dse.__all__`` and ``analytical_models.__all__`` promise exists, the
README's API example runs, and no import has side effects."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

import analytical_models
import dse

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("name", dse.__all__)
def test_every_public_dse_name_resolves(name: str) -> None:
    assert getattr(dse, name) is not None


@pytest.mark.parametrize("name", analytical_models.__all__)
def test_every_public_model_name_resolves(name: str) -> None:
    assert getattr(analytical_models, name) is not None


def test_api_names_the_core_types_and_entry_points() -> None:
    need = {"Design", "Metrics", "evaluate", "load_study", "run_study", "resume_study", "write_outputs"}
    need |= {"DSEError", "ConfigError", "METRICS"}
    assert need <= set(dse.__all__)
    assert {"Hardware", "Gemm", "Cost", "price", "ENGINES", "TECHS", "Registry"} <= set(analytical_models.__all__)


def test_metric_catalog_covers_every_scalar_metric() -> None:
    from dse._catalog import QUALITY_KEYS

    scalars = {f.name for f in fields(dse.Metrics) if f.name not in ("total", "passes")}
    assert set(dse.METRICS) == scalars | set(QUALITY_KEYS)  # quality: measured by the study, not dse.evaluate
    assert not scalars & set(QUALITY_KEYS)
    for spec in dse.METRICS.values():
        assert spec.unit and spec.label and spec.direction in ("minimize", "maximize")


def test_import_has_no_side_effects() -> None:
    """``import dse`` loads neither optuna nor plotly and does not touch the allocator or
    optuna's logging (checked in a fresh interpreter)."""
    code = (
        "import sys, dse, analytical_models\n"
        "heavy = [m for m in ('optuna', 'plotly', 'pandas') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def _readme_api_example() -> str:
    """The API section's python blocks, in order (each goes on from the one before)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Scripting: the Python API") :]
    section = section[: section.index("\n## ", 3)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "the README's API section has its two python blocks"
    return "\n".join(blocks)


def test_readme_api_example_runs(tmp_path: Path) -> None:
    for folder in ("studies", "search_spaces"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    script = tmp_path / "example.py"
    script.write_text(_readme_api_example(), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600
    )
    assert out.returncode == 0, out.stderr
    assert "32 trials;" in out.stdout
    assert (tmp_path / "runs" / "api_demo" / "pareto.csv").is_file()
    lines = [line for line in out.stdout.splitlines() if " ms, " in line]
    assert len(lines) == 2 and lines[1].startswith("64x64:")
    assert "front designs exported on the study's processes" in out.stdout


def test_modules_stay_small_and_cross_package_imports_use_package_init() -> None:
    """No source module over 700 lines; a package imports another package's names through
    that package's ``__init__`` (never ``dse.<other>._private``)."""
    pattern = re.compile(r"^\s*from (dse\.[a-z_]+)\.(_[a-z_]+) import", re.M)
    for path in sorted((ROOT / "dse").rglob("*.py")) + sorted((ROOT / "analytical_models").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 700, path
        own = ".".join(path.relative_to(ROOT).with_suffix("").parts[:2])
        for package, _ in pattern.findall(text):
            assert package == own, f"{path.relative_to(ROOT)} imports a private module of {package}"
