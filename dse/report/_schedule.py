"""What a design's execution schedules keep on chip, for the design detail of the dashboard."""

from __future__ import annotations

from collections.abc import Sequence

from dse import PassRecord


def schedule_summary(passes: Sequence[PassRecord]) -> str:
    """Which intermediates stay on chip in each pass (HTML lines; empty without schedules)."""
    lines = []
    for p in passes:
        s = p.schedule
        if s is None or not (s.on_chip or s.spilled):
            continue
        on_chip = ", ".join(s.on_chip) or "none"
        tile = f", token tile {s.token_tile}" if s.token_tile else ""
        lines.append(
            f"{p.layer}/{p.pass_name}: on chip {on_chip}; through DRAM {', '.join(s.spilled) or 'none'}{tile}; "
            f"DRAM {s.dram_bytes / 1e6:.3g} MB (compulsory {s.compulsory_bytes / 1e6:.3g} MB)"
        )
    return "<br><b>execution schedules</b><br>" + "<br>".join(lines) if lines else ""
