"""Helpers of the contraction tests: layer specs, their networks and a tiny fake cost engine."""

from __future__ import annotations

import math

from analytical_models import Cost, Gemm, Hardware, Mapping, MappingResult, Objective, register_engine
from dse.workload._layers import LayerSpec, get_format
from dse.workload._network import TensorNetwork

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


def ttm_spec(m: tuple[int, ...], n: tuple[int, ...], ranks: tuple[int, ...], batch: int) -> LayerSpec:
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
    return LayerSpec(name="layer", format="dense", in_features=m, out_features=n, tokens_per_step=batch)


def networks(spec: LayerSpec) -> tuple[TensorNetwork, ...]:
    return get_format(spec.format).networks(spec)


BERT_FFN = ((12, 8, 8), (12, 16, 16), (1, 16, 16, 1))
