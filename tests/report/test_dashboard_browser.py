"""The dashboard of a small study loaded in headless Chromium: no JavaScript error, every plot drawn.

Needs Chromium and chromedriver (Debian: ``chromium chromium-driver``) and ``selenium``; skips
without them, fails without them when ``CI=true``.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._tools import require_tool
from tests.report.conftest import SmallRun

pytestmark = pytest.mark.external

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-swiftshader",  # software WebGL for the 3-D and parallel-coordinates plots
    "--window-size=1400,1000",
)


def _missing() -> str:
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "chromium / chromedriver not installed (Debian: chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed (pip install selenium)"
    return ""


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    reason = _missing()
    require_tool(not reason, reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    try:
        yield drv
    finally:
        drv.quit()


_PLOTS_JS = """
return Array.from(document.querySelectorAll('.plotly-graph-div')).map(function (g) {
  return {id: g.id, traces: (g.data || []).length, svg: g.querySelectorAll('.main-svg').length,
          width: g.offsetWidth, panel: (g.closest('.design-panel') || {id: ''}).id};
});
"""


def _wait_for_plots(drv: Any, expected: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    plots: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        ready = drv.execute_script("return document.readyState") == "complete"
        plots = drv.execute_script(_PLOTS_JS)
        if ready and len(plots) == expected and all(p["svg"] > 0 for p in plots):
            break
        time.sleep(0.25)
    return plots


def test_dashboard_renders_in_chromium(driver: Any, small_run: SmallRun, tmp_path: Path) -> None:
    page = small_run.run_dir / "dashboard.html"
    expected = page.read_text(encoding="utf-8").count("Plotly.newPlot(")
    assert expected >= 10
    driver.get(page.resolve().as_uri())
    plots = _wait_for_plots(driver, expected)

    assert len(plots) == expected
    for p in plots:
        assert p["traces"] > 0 and p["svg"] > 0, p
    shown = [p for p in plots if not p["panel"] or p["panel"] == _default_panel(plots)]
    assert all(p["width"] > 0 for p in shown)

    # nothing fetched from the network: every resource is the file itself or inline data
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert not [u for u in urls if re.match(r"https?:", u)], urls

    # the design selector shows another design's panel, drawn at full width
    options = driver.execute_script(
        "return Array.from(document.querySelectorAll('#design-select option')).map(o => o.value)"
    )
    assert options
    driver.execute_script(
        "var s = document.getElementById('design-select'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('change'));",
        options[-1],
    )
    time.sleep(0.5)
    widths = driver.execute_script(
        "return Array.from(document.getElementById(arguments[0]).querySelectorAll('.plotly-graph-div'))"
        ".map(g => g.offsetWidth)",
        options[-1],
    )
    assert widths and all(w > 400 for w in widths)

    shot = tmp_path / "dashboard.png"
    driver.execute_script("document.getElementById('fronts').scrollIntoView()")
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert not severe, severe


def _default_panel(plots: list[dict[str, Any]]) -> str:
    """The design panel shown when the page opens (the first one)."""
    return next((p["panel"] for p in plots if p["panel"]), "")
