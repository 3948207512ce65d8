"""``staged_floors`` (every tree's pipelined busy floor at once, compiled or on numpy) is
``staged_floor`` row by row, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from analytical_models import NO_JIT_ENV
from dse.schedule._bounds import staged_floor, staged_floors


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("engines", [1, 2, 3, 8])
@pytest.mark.parametrize("cols", [1, 2, 5, 7, 12])
def test_every_row_is_the_scalar_floor(
    engines: int, cols: int, compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled, and on numpy (:data:`analytical_models.NO_JIT_ENV` set)."""
    if not compiled:
        monkeypatch.setenv(NO_JIT_ENV, "1")
    rng = np.random.default_rng(engines * 100 + cols)
    rows = 400
    # (cycle counts of many magnitudes, so that the order of the sums shows in the last bits)
    floors = rng.integers(1, 10**6, size=(rows, cols)) * 10.0 ** rng.integers(-3, 4, size=(rows, cols))
    floors[rng.random((rows, cols)) < 0.1] = 0.0
    one = floors * rng.uniform(1.0, engines, size=(rows, cols))  # (one array's work)
    stage = rng.random((rows, cols)) < rng.uniform(0.0, 1.0, size=(rows, 1))
    got = staged_floors(floors, one, stage, engines)
    want = [
        staged_floor(f, o, st, engines) for f, o, st in zip(floors.tolist(), one.tolist(), stage.tolist(), strict=True)
    ]
    assert got.tolist() == want
    stages = stage.sum(axis=1)
    assert (stages < 2).any()
    if cols >= 2:  # (rows of several stages, the pipelined floor deciding some)
        assert (stages >= 2).any()
    if cols >= 2 and engines > 1:
        assert (got < floors.sum(axis=1) * (1 - 1e-12)).any()
