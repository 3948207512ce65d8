"""Outside tools the tests run for real: where they live, and skip-or-fail when they are missing.

A test that needs an outside component skips on a developer machine that lacks it, and fails
when ``CI=true`` (``.ci/run`` installs everything).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").strip().lower() == "true"


def require_tool(available: bool, what: str) -> None:
    """Skip when an outside tool is missing, except under ``CI=true`` where that fails."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing (CI=true requires it)")
    pytest.skip(f"{what} is missing")


@dataclass(frozen=True)
class ToolVenv:
    """A reference tool kept in its own virtual environment (its pins differ from ours).

    Attributes:
        env_var: variable that overrides the location.
        default_name: folder under ``~/.cache/tnn-dse`` otherwise.
        import_check: Python statement that succeeds inside a working environment.
        setup_script: ``tools/*.sh`` script that creates it (idempotent).
    """

    env_var: str
    default_name: str
    import_check: str
    setup_script: Path

    def venv(self) -> Path:
        """Location of the environment."""
        env = os.environ.get(self.env_var)
        if env:
            return Path(env).expanduser()
        return Path.home() / ".cache" / "tnn-dse" / self.default_name

    def python(self) -> Path:
        """Its interpreter."""
        return self.venv() / "bin" / "python"

    def available(self) -> bool:
        """True if the environment exists and passes its import check (creates nothing)."""
        py = self.python()
        if not py.is_file():
            return False
        return subprocess.run([str(py), "-c", self.import_check], capture_output=True, check=False).returncode == 0

    def ensure(self) -> Path:
        """Create the environment with its setup script if needed; return its interpreter."""
        if not self.available():
            subprocess.run(["bash", str(self.setup_script)], check=True)
        return self.python()


SCALESIM = ToolVenv(
    env_var="TNN_DSE_SCALESIM_VENV",
    default_name="scalesim-venv",
    import_check="from scalesim.scale_sim import scalesim",
    setup_script=REPO_ROOT / "tools" / "scalesim_setup.sh",
)
ZIGZAG = ToolVenv(
    env_var="TNN_DSE_ZIGZAG_VENV",
    default_name="zigzag-venv",
    import_check="from zigzag.api import get_hardware_performance_zigzag",
    setup_script=REPO_ROOT / "tools" / "zigzag_setup.sh",
)
