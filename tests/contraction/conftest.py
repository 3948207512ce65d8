"""Shared fixtures of the contraction tests: layer networks and a tiny fake cost engine."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

# pytest puts tests/ on sys.path, where tests/analytical_models/ would shadow the package as a
# namespace package; make sure the repository root comes first and the real package is loaded.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path[:1]:
    sys.path.insert(0, _ROOT)
if getattr(sys.modules.get("analytical_models"), "__file__", "") is None:
    del sys.modules["analytical_models"]

import analytical_models  # noqa: E402  (registers the shipped engines)
from analytical_models._registry import (  # noqa: E402
    MappingResult,
    Objective,
    register_engine,
)
from analytical_models._types import Cost, Gemm, Hardware, Mapping  # noqa: E402
from dse.workload._layers import LayerSpec, get_format  # noqa: E402
from dse.workload._network import TensorNetwork  # noqa: E402

assert analytical_models.__file__ is not None

FAKE_ENGINE = "fake_contraction_test"


class FakeEngine:
    """Cycles: ceil(m/rows) * ceil(n/cols) * k * batch + re-layout elements / 4; 2 pJ per MAC."""

    name = FAKE_ENGINE

    def evaluate(self, gemm: Gemm, hw: Hardware, mapping: Mapping) -> Cost:
        folds = math.ceil(gemm.m / hw.pe_rows) * math.ceil(gemm.n / hw.pe_cols)
        shaping = (gemm.permute_a_elements + gemm.permute_b_elements + gemm.permute_c_elements) / 4
        return Cost(
            macs=gemm.macs,
            compute_cycles=float(folds * gemm.k * gemm.batch),
            shaping_cycles=shaping,
            mac_energy_pj=2.0 * gemm.macs,
            pe_busy_cycles=gemm.macs / hw.n_pes,
        )

    def search(self, gemm: Gemm, hw: Hardware, objective: Objective = "latency") -> MappingResult:
        mapping = Mapping(dataflow="ws", tile_m=gemm.m, tile_n=gemm.n, tile_k=gemm.k)
        cost = self.evaluate(gemm, hw, mapping)
        return MappingResult(mapping, cost, 1, ((mapping, cost),))


register_engine(FAKE_ENGINE, FakeEngine())


@pytest.fixture
def fake_hw() -> Hardware:
    return Hardware(
        engine=FAKE_ENGINE,
        pe_rows=16,
        pe_cols=16,
        ifmap_sram_kb=64,
        filter_sram_kb=64,
        ofmap_sram_kb=64,
        dram_bw_bytes_per_cycle=16,
    )


def ttm_spec(
    m: tuple[int, ...], n: tuple[int, ...], ranks: tuple[int, ...], batch: int
) -> LayerSpec:
    return LayerSpec(
        name="layer",
        format="ttm",
        in_features=math.prod(m),
        out_features=math.prod(n),
        in_shape=m,
        out_shape=n,
        ranks=ranks,
        tokens_per_step=batch,
    )


def dense_spec(m: int, n: int, batch: int) -> LayerSpec:
    return LayerSpec(
        name="layer", format="dense", in_features=m, out_features=n, tokens_per_step=batch
    )


def networks(spec: LayerSpec) -> tuple[TensorNetwork, ...]:
    return get_format(spec.format).networks(spec)


BERT_FFN = ((12, 8, 8), (12, 16, 16), (1, 16, 16, 1))
