"""A network's merge floors are shared by every hardware of the same array (the same engine
dataflows, rows, columns and engines: ``analytical_models.untiled_key``), whatever its buffers,
bandwidth or clock, and equal to those computed on each hardware."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from analytical_models import Hardware, untiled_cycles_table, untiled_key
from dse.schedule._tree_tables import _pair_dims, _pair_floors, _pair_floors_on, _SameArray
from dse.workload import get_format
from tests.schedule.test_schedule_properties import _ttm_spec

BASE = Hardware(
    engine="ce_array",
    n_engines=4,
    pe_rows=16,
    pe_cols=8,
    ifmap_sram_kb=32.0,
    filter_sram_kb=32.0,
    ofmap_sram_kb=64.0,
    dram_bw_bytes_per_cycle=16.0,
)


@pytest.mark.parametrize(
    "other",
    [
        replace(BASE, ifmap_sram_kb=256.0, filter_sram_kb=8.0, ofmap_sram_kb=1024.0),
        replace(BASE, dram_bw_bytes_per_cycle=4.0, freq_mhz=200),
        replace(BASE, dataflows=("ws", "os", "is")),  # (what a ce_array allows whatever it is given)
    ],
)
def test_hardware_of_one_array_share_the_floors(other: Hardware) -> None:
    net = get_format("ttm").networks(_ttm_spec((4, 8, 4), (8, 4, 6), (1, 6, 6, 1), 64))[0]
    dims = _pair_dims(net)
    assert dims is not None
    assert untiled_key(other) == untiled_key(BASE)
    _pair_floors_on.cache_clear()
    _pair_floors.cache_clear()
    first = _pair_floors(net, BASE)
    assert first is not None
    assert _pair_floors(net, other) is first  # (shared)
    assert _pair_floors_on.cache_info().misses == 1
    busy = untiled_cycles_table(dims, other, engines=4)  # (computed on the other hardware)
    one = untiled_cycles_table(dims, other)
    assert first[0].tolist() == busy.tolist() and first[1].tolist() == one.tolist()


@pytest.mark.parametrize(
    "other",
    [replace(BASE, pe_rows=32), replace(BASE, n_engines=2), replace(BASE, engine="systolic", n_engines=1)],
)
def test_another_array_is_not_shared(other: Hardware) -> None:
    assert _SameArray(other) != _SameArray(BASE)
    net = get_format("ttm").networks(_ttm_spec((4, 8, 4), (8, 4, 6), (1, 6, 6, 1), 64))[0]
    a, b = _pair_floors(net, BASE), _pair_floors(net, other)
    assert a is not None and b is not None
    assert not np.array_equal(a[0], b[0]) or not np.array_equal(a[1], b[1])
