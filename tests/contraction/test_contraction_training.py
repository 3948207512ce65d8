from __future__ import annotations

import pytest

from dse.contraction import build_plan, left_to_right_path, optimize_network, training_macs
from dse.workload._layers import LayerSpec
from tests.contraction._helpers import BERT_FFN, dense_spec, networks, ttm_spec


def test_bert_ffn_training_golden() -> None:
    spec = ttm_spec(*BERT_FFN, 32)
    t = training_macs(spec)
    assert t.forward == 92_798_976
    assert t.dx == optimize_network(networks(spec)[1]).macs
    assert len(t.dg) == 3
    assert t.independent == t.forward + t.dx + sum(t.dg) == 463_994_880
    assert t.reuse_forward == t.forward
    assert t.reuse_backward == 2 * t.forward
    assert t.reuse == 3 * 92_798_976 == 278_396_928
    # the classic left-to-right sweep schedule: exactly 3x the sweep's forward MACs
    assert t.sweep == 3 * build_plan(networks(spec)[0], left_to_right_path(4)).macs == 353_894_400
    assert t.reuse <= t.sweep <= t.independent
    assert t.saving == pytest.approx(463_994_880 / 278_396_928)


@pytest.mark.parametrize(
    "spec",
    [
        ttm_spec(*BERT_FFN, 1),
        ttm_spec((4, 8, 8, 4), (4, 8, 8, 4), (1, 8, 8, 8, 1), 100),
        ttm_spec((4, 4, 4), (4, 4, 4), (1, 4, 4, 1), 8),
        ttm_spec((8, 8, 12), (12, 8, 8), (1, 20, 20, 1), 4096),
        ttm_spec((2, 3, 4), (3, 2, 5), (1, 3, 2, 1), 5),
        dense_spec(64, 96, 16),
    ],
)
def test_reuse_is_three_forwards_and_never_worse(spec: LayerSpec) -> None:
    t = training_macs(spec)
    assert t.reuse == t.reuse_forward + t.reuse_backward == 3 * t.forward
    assert t.reuse <= t.independent
    assert t.reuse <= t.sweep


def test_ttm_1024_golden() -> None:
    t = training_macs(ttm_spec((4, 8, 8, 4), (4, 8, 8, 4), (1, 8, 8, 8, 1), 100))
    assert t.independent == 6 * 52_559_872
    assert t.reuse == 3 * 52_559_872
    assert t.sweep == 3 * 111_411_200


def test_dense_training() -> None:
    t = training_macs(dense_spec(64, 96, 16))
    assert t.forward == t.dx == t.dg[0] == 64 * 96 * 16
    assert t.reuse == t.independent == t.sweep == 3 * 64 * 96 * 16
