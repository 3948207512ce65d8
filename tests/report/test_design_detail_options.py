"""Design detail for any trial (``--detail``) or every Pareto design (``--detail-all``)."""

from __future__ import annotations

import pytest

from dse._errors import DSEError
from dse.cli import main
from dse.report.dashboard import design_panels

from .conftest import QUICKSTART, SmallRun


def test_default_panels_are_the_knee_and_extremes(small_run: SmallRun) -> None:
    panels = design_panels(small_run.df, small_run.front, small_run.cfg)
    assert 1 <= len(panels) <= 1 + len(small_run.cfg.objectives)
    assert set(small_run.front["trial"]) >= {p.detail.trial for p in panels}


def test_requested_trial_off_the_front_gets_a_panel(small_run: SmallRun) -> None:
    off_front = sorted(set(small_run.df["trial"]) - set(small_run.front["trial"]))
    assert off_front, "the small study has trials off the front"
    panels = design_panels(small_run.df, small_run.front, small_run.cfg, [off_front[0]])
    roles = {p.detail.trial: p.detail.role for p in panels}
    assert roles[off_front[0]] == "requested"
    assert len(panels[-1].figures) == 2  # breakdown by layer/pass and the contraction trees


def test_all_front_designs(small_run: SmallRun) -> None:
    panels = design_panels(small_run.df, small_run.front, small_run.cfg, "all")
    assert {p.detail.trial for p in panels} == set(small_run.front["trial"])


def test_unknown_trial_is_a_user_error(small_run: SmallRun, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(DSEError):
        design_panels(small_run.df, small_run.front, small_run.cfg, [10**6])
    code = main(["dashboard", str(QUICKSTART), "--run-dir", str(small_run.run_dir), "--detail", "999999"])
    assert code == 2 and "999999" in capsys.readouterr().err
