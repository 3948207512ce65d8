"""SCALE-Sim's CALC-mode SRAM reads of one block in closed form against the pass-by-pass walk
it replaces (the walk is the oracle: one pass at a time, as SCALE-Sim's read loop goes)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from analytical_models._scalesim_reads import calc_block_reads


def _walk(block: int, repeats: int, reset: int, since_reset: int) -> tuple[int, int]:
    """One pass at a time: read the words not held; a reset inside a pass forgets the block."""
    missing = block
    read = 0
    for _ in range(repeats):
        if missing == 0:
            break
        if since_reset + missing < reset:
            read += missing
            since_reset += missing
            missing = 0
        else:
            read += block
            since_reset = (since_reset + block) % reset
            missing = block - since_reset
    return read, since_reset


@settings(max_examples=3000, deadline=None)
@given(
    block=st.integers(0, 5000),
    repeats=st.integers(0, 300),
    reset=st.integers(1, 3000),
    frac=st.floats(0, 1, exclude_max=True),
)
def test_closed_form_equals_the_walk(block: int, repeats: int, reset: int, frac: float) -> None:
    since = int(frac * reset)
    assert calc_block_reads(block, repeats, reset, since) == _walk(block, repeats, reset, since)


def test_edges() -> None:
    assert calc_block_reads(10, 3, 10, 0) == _walk(10, 3, 10, 0) == (30, 0)
    assert calc_block_reads(9, 3, 10, 1) == _walk(9, 3, 10, 1)
    assert calc_block_reads(9, 3, 10, 2) == _walk(9, 3, 10, 2) == (17, 9)
